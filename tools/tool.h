/* SPDX-License-Identifier: MIT */
/*
 * The kubuf program: what its source files share.
 */
#ifndef KUBUF_TOOL_H
#define KUBUF_TOOL_H

#include <limits.h>
#include <stdio.h>

#include "kubuf.h"

/* --device, or NULL: /dev/kubuf (for info: every kubuf device) */
extern const char *dev_path;
/* The node the commands open: --device, or /dev/kubuf. */
const char *dev_node(void);

/* "kubuf: @what: strerror", and for -ENOMEM what RLIMIT_MEMLOCK has to do with it. */
void report_error(const char *what, int err);
/* "kubuf CMD: message" and where its options are, on stderr; -EINVAL. */
__attribute__((format(printf, 2, 3)))
int usage_error(const char *cmd, const char *fmt, ...);
/*
 * A command's options when they are only --help and, with @json, --json:
 * 1 when --help was shown, 0, or -EINVAL (said on stderr).
 */
int parse_simple_opts(int argc, char **argv, const char *usage, int *json);

/*
 * Parse a size such as "4096", "64K", "16M", "1G" (powers of 1024) into
 * *@out. -EINVAL for an empty, malformed or negative string, -ERANGE when
 * the value does not fit in 64 bits.
 */
int parse_size(const char *s, uint64_t *out);

/* Open the device, saying why on stderr when it fails; 0 or -errno. */
int open_dev(unsigned int flags, struct kubuf **k);
/* What to do when kubuf_open() fails with @err: "" if nothing to say. */
const char *open_hint(int err);
/*
 * The info as lines, or with @json as the fields of a JSON object
 * ("abi_version": ..., no braces).
 */
void print_info(const struct kubuf_info *in, int json);
/* The names of the KUBUF_FEAT_* bits of @features, space-separated. */
void print_features(FILE *f, uint64_t features, int json);
void print_stats(const struct kubuf_stats *st, int json);

extern const char demo_usage[];
int cmd_demo(int argc, char **argv);
extern const char stream_usage[];
int cmd_stream(int argc, char **argv);

/*
 * A kubuf device's node and the device it belongs to (devices.c): what
 * sysfs says of it, never an address of memory.
 */
struct kubuf_node {
	char path[PATH_MAX];		/* its /dev node */
	char name[NAME_MAX + 1];	/* its misc device's name */
	char parent[NAME_MAX + 1];	/* the parent device's, "" if none */
	char bus[32];			/* the parent's bus: "pci", ... */
	char pci_id[16];		/* PCI: "vendor:device", else "" */
	int dma_mask_bits;		/* PCI: its DMA mask's width, else 0 */
	int iommu_group;		/* the parent's IOMMU group, or -1 */
	char iommu_type[32];		/* its type: DMA, DMA-FQ, identity */
};

/* The node at @path: 0, or -errno (-ENOTTY: not a character device). */
int node_of_path(const char *path, struct kubuf_node *n);
/*
 * Every misc device named kubuf or kubuf-*, in name order, in *@nodes
 * (free() it) and *@nr; not yet opened. 0 or -errno.
 */
int nodes_find(struct kubuf_node **nodes, size_t *nr);
/*
 * The parent and its DMA as lines, or with @json as the first fields of
 * a JSON object ("node": ..., "name": ..., "parent": ...).
 */
void node_print(const struct kubuf_node *n, int json);
/* Is the parent behind an IOMMU that translates its DMA? */
int node_iommu_translates(const struct kubuf_node *n);

#endif /* KUBUF_TOOL_H */
