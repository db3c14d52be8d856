/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * kubuf - memory shared between a driver and an application.
 *
 * This is the whole user-space ABI of /dev/kubuf: ioctl numbers, their
 * argument structures and the errno each failure returns.
 *
 * Rules that hold for every ioctl below:
 *
 *  - Structures use fixed-width types only; user pointers travel as __u64;
 *    padding is explicit and every __u64 is 8-byte aligned, so 32-bit and
 *    64-bit callers share one ABI; the module and the library pin every
 *    layout with static assertions (kernel/kubuf.h, lib/src/kubuf.c).
 *  - Fields documented "in" are read by the module; reserved "in" fields
 *    and unknown flag bits must be zero, or the call fails with -EINVAL.
 *  - Fields documented "out" are written by the module; every byte of an
 *    output structure, reserved fields included, is written (reserved
 *    fields as zero), so no kernel memory can leak through padding.
 *  - Errors common to every ioctl:
 *      -ENOTTY  unknown command: wrong magic, number, direction or size.
 *      -EFAULT  the argument pointer cannot be read or written.
 *      -EINVAL  a reserved field or an unknown flag bit is non-zero.
 *      -EBADF   a call that changes state on an fd not opened O_RDWR.
 *
 * Feature discovery: KUBUF_IOC_GET_INFO reports the ABI version, the
 * features this module build supports (KUBUF_FEAT_*) and its limits.
 */
#ifndef _UAPI_LINUX_KUBUF_H
#define _UAPI_LINUX_KUBUF_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

#define KUBUF_DEVICE_NAME	"kubuf"
#define KUBUF_ABI_VERSION	1

/* ioctl magic; 0xBC is unassigned in ioctl-number.rst. */
#define KUBUF_IOC_MAGIC		0xBC

/* Feature bits reported in kubuf_info.features. */
#define KUBUF_FEAT_STATS	_BITULL(0)	/* KUBUF_IOC_GET_STATS */

/**
 * struct kubuf_info - KUBUF_IOC_GET_INFO: what this module offers.
 * @abi_version:	out: KUBUF_ABI_VERSION of the running module.
 * @page_size:		out: the kernel's page size in bytes.
 * @features:		out: KUBUF_FEAT_* bits.
 * @max_ubufs:		out: registrations allowed per open file.
 * @max_kbufs:		out: driver buffers allowed per open file.
 * @max_ubuf_size:	out: largest registration, in bytes.
 * @max_kbuf_size:	out: largest driver buffer, in bytes.
 * @nr_stats:		out: number of meaningful kubuf_stats.counters.
 * @reserved0:		out: zero.
 * @reserved:		out: zero.
 *
 * Errors: only the common ones (-EFAULT). Works on any open fd.
 */
struct kubuf_info {
	__u32 abi_version;
	__u32 page_size;
	__u64 features;
	__u32 max_ubufs;
	__u32 max_kbufs;
	__u64 max_ubuf_size;
	__u64 max_kbuf_size;
	__u32 nr_stats;
	__u32 reserved0;
	__u64 reserved[4];
};

/*
 * Module-wide counters, the indices of kubuf_stats.counters. Tests read
 * them before and after every case: each must return to its baseline.
 */
enum kubuf_stat {
	KUBUF_STAT_OPEN_FILES,		/* struct files open on /dev/kubuf */
	KUBUF_STAT_UBUFS,		/* live registrations (technique 1) */
	KUBUF_STAT_PINNED_PAGES,	/* pages pinned for registrations */
	KUBUF_STAT_KBUFS,		/* live driver buffers (technique 2) */
	KUBUF_STAT_KBUF_PAGES,		/* pages allocated for driver buffers */
	KUBUF_STAT_MAPPINGS,		/* VMAs mapping driver buffers */
	KUBUF_STAT_EVENTFD_REFS,	/* eventfd contexts held */
	KUBUF_STAT_NR			/* number of counters defined */
};

#define KUBUF_STATS_MAX		32	/* room in kubuf_stats.counters */

/**
 * struct kubuf_stats - KUBUF_IOC_GET_STATS: module-wide debug counters.
 * @flags:		in: must be zero.
 * @nr_counters:	out: number of valid entries in @counters
 *			(KUBUF_STAT_NR of the running module).
 * @counters:		out: indexed by enum kubuf_stat; unused entries zero.
 *
 * The counters are a snapshot: each is read atomically, not all together.
 * Errors: -EINVAL if @flags is not zero; -EFAULT. Works on any open fd.
 */
struct kubuf_stats {
	__u32 flags;
	__u32 nr_counters;
	__u64 counters[KUBUF_STATS_MAX];
};

#define KUBUF_IOC_GET_INFO	_IOR(KUBUF_IOC_MAGIC, 0x00, struct kubuf_info)
#define KUBUF_IOC_GET_STATS	_IOWR(KUBUF_IOC_MAGIC, 0x01, struct kubuf_stats)

#endif /* _UAPI_LINUX_KUBUF_H */
