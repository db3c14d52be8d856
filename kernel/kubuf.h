/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kubuf internal API: what the files of the module share.
 *
 * Each concept of the design lives in its own file; this header is the
 * boundary between them. See main.c for the object model and lock order.
 */
#ifndef KUBUF_INTERNAL_H
#define KUBUF_INTERNAL_H

#include <linux/atomic.h>
#include <linux/build_bug.h>
#include <linux/mutex.h>
#include <linux/sizes.h>
#include <linux/types.h>

#include "compat.h"
#include "../include/uapi/linux/kubuf.h"

#define KUBUF_MAX_UBUFS		64		/* registrations per file */
#define KUBUF_MAX_KBUFS		64		/* driver buffers per file */
#define KUBUF_MAX_UBUF_SIZE	SZ_1G		/* bytes per registration */
#define KUBUF_MAX_KBUF_SIZE	SZ_256M		/* bytes per driver buffer */

/* The ABI's layouts: a change here breaks applications. */
static_assert(sizeof(struct kubuf_info) == 80);
static_assert(sizeof(struct kubuf_stats) == 264);
static_assert(KUBUF_STAT_NR <= KUBUF_STATS_MAX);

/**
 * struct kubuf_file - the state of one open file description.
 * @lock:	serialises the file's state changes; see main.c for order.
 *
 * Allocated in open(), freed in release() once no mapping and no file
 * descriptor refers to it any more (the VFS guarantees both: every VMA on
 * the device holds a reference to the struct file).
 */
struct kubuf_file {
	struct mutex lock;	/* protects the file's objects */
};

/* Module-wide debug counters, exported by KUBUF_IOC_GET_STATS. */
extern atomic64_t kubuf_stats[KUBUF_STAT_NR];

static inline void kubuf_stat_add(enum kubuf_stat stat, s64 delta)
{
	atomic64_add(delta, &kubuf_stats[stat]);
}

static inline void kubuf_stat_inc(enum kubuf_stat stat)
{
	kubuf_stat_add(stat, 1);
}

static inline void kubuf_stat_dec(enum kubuf_stat stat)
{
	kubuf_stat_add(stat, -1);
}

#endif /* KUBUF_INTERNAL_H */
