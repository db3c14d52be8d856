/* SPDX-License-Identifier: MIT */
/*
 * The kubuf program: what its source files share.
 */
#ifndef KUBUF_TOOL_H
#define KUBUF_TOOL_H

#include "kubuf.h"

extern const char *dev_path;	/* --device, NULL for /dev/kubuf */

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

/* Open the device, saying why on stderr when it fails; 0 or -errno. */
int open_dev(unsigned int flags, struct kubuf **k);
void print_info(const struct kubuf_info *in, int json);
void print_stats(const struct kubuf_stats *st, int json);

extern const char demo_usage[];
int cmd_demo(int argc, char **argv);
extern const char stream_usage[];
int cmd_stream(int argc, char **argv);

/* Memory a ring can live in: a registration or a mapped driver buffer. */
struct ring_mem {
	struct kubuf *k;
	unsigned int kind;	/* KUBUF_MEM_UBUF or KUBUF_MEM_KBUF */
	uint32_t id;
	void *addr;
	size_t len;
};

/* @len bytes (rounded up to pages) the device and the program may write. */
int ring_mem_new(struct kubuf *k, unsigned int kind, size_t len,
		 struct ring_mem *m);
void ring_mem_free(struct ring_mem *m);

#endif /* KUBUF_TOOL_H */
