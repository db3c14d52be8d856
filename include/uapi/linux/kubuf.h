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
#define KUBUF_FEAT_UBUF		_BITULL(1)	/* technique 1: registration */
#define KUBUF_FEAT_UCOPY	_BITULL(2)	/* caller-context and copying I/O */
#define KUBUF_FEAT_KBUF		_BITULL(3)	/* technique 2: driver buffers */
#define KUBUF_FEAT_KBUF_DMA	_BITULL(4)	/* KUBUF_KBUF_DMA buffers */
#define KUBUF_FEAT_KBUF_WC	_BITULL(5)	/* KUBUF_CACHE_WC mappings */
#define KUBUF_FEAT_KBUF_UC	_BITULL(6)	/* KUBUF_CACHE_UNCACHED mappings */
#define KUBUF_FEAT_EVENTS	_BITULL(7)	/* eventfd binding, poll, events */
#define KUBUF_FEAT_DEVICE	_BITULL(8)	/* the simulated device's commands */

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

/* Who may touch a buffer, in kubuf_ubuf_reg.access. */
#define KUBUF_ACCESS_DEV_READ	_BITUL(0)	/* the device reads it */
#define KUBUF_ACCESS_DEV_WRITE	_BITUL(1)	/* the device writes it */

/*
 * Technique 1: the application's memory, registered with the module.
 *
 * The module pins the pages of [addr, addr + len) for the long term and
 * maps them into the kernel, so the device can use them from any context
 * until the registration ends. addr and len need not be page aligned; the
 * device only ever touches [addr, addr + len), but whole pages are pinned
 * and charged.
 *
 * Lifetime. A registration belongs to the open file, not to a process:
 *  - it ends on KUBUF_IOC_UBUF_UNREGISTER, or when the file is released
 *    (the last close of the last descriptor and the last mapping, in
 *    whatever process that happens, including exit and kill -9);
 *  - the driver may end the device's use of it first: it is then REVOKED
 *    (for example by KUBUF_DEV_RESET), the device never touches it again,
 *    its pages are unpinned at once, and the application is told
 *    (KUBUF_EVENT_REVOKED, eventfd, poll). The id stays valid, in state
 *    REVOKED, until it is unregistered;
 *  - unregister and release first stop the device's use of the pages
 *    (waiting for a command in progress to notice), then unpin them,
 *    marking them dirty if the device could write them.
 *
 * Accounting. Pinned pages are charged to RLIMIT_MEMLOCK of the user who
 * registered (unless that task had CAP_IPC_LOCK) and to the registering
 * process's VmPin, and returned to that same user and process whoever
 * drops the last reference. Concurrent registrations can never exceed the
 * limit.
 *
 * fork, dup, SCM_RIGHTS. Every holder of the file descriptor may use,
 * query and unregister the file's registrations; the pages stay those of
 * the process that registered them. After fork() the parent keeps the
 * pinned pages (and sees every device write); the child gets copies, or
 * nothing with MADV_DONTFORK, and never sees device writes.
 *
 * Memory. Anonymous private memory, shared anonymous memory, memfd/shmem,
 * hugetlbfs and transparent huge pages can be registered; private file
 * mappings too (written pages are the process's private copies). Shared
 * mappings of regular files cannot: long-term pins of page-cache pages
 * that the device writes would corrupt the filesystem. Overlapping and
 * identical ranges may be registered more than once; each registration
 * pins and charges its pages on its own.
 */

/**
 * struct kubuf_ubuf_reg - KUBUF_IOC_UBUF_REGISTER.
 * @addr:	in: start of the application's memory.
 * @len:	in: its length in bytes, 1 to kubuf_info.max_ubuf_size.
 * @access:	in: KUBUF_ACCESS_DEV_READ and/or KUBUF_ACCESS_DEV_WRITE.
 * @flags:	in: must be zero.
 * @id:		out: the registration's id in this file (never 0).
 * @reserved0:	in: must be zero.
 * @reserved:	in: must be zero.
 *
 * Errors:
 *   -EBADF	the fd is not open for reading and writing.
 *   -EINVAL	@len is 0, @access is 0 or has unknown bits, @flags or a
 *		reserved field is not zero.
 *   -E2BIG	@len is above kubuf_info.max_ubuf_size.
 *   -EFAULT	the range is not entirely mapped user memory, wraps, or
 *		is not writable while KUBUF_ACCESS_DEV_WRITE is asked.
 *   -EOPNOTSUPP part of the range is a shared mapping of a regular file.
 *   -ENOMEM	RLIMIT_MEMLOCK would be exceeded, or no memory.
 *   -ENOSPC	the file already holds kubuf_info.max_ubufs registrations.
 *   -EINTR	a fatal signal arrived while pinning.
 */
struct kubuf_ubuf_reg {
	__u64 addr;
	__u64 len;
	__u32 access;
	__u32 flags;
	__u32 id;
	__u32 reserved0;
	__u64 reserved[2];
};

/**
 * struct kubuf_id - names one object of this file.
 * @id:		in: the id returned when the object was created.
 * @flags:	in: must be zero.
 *
 * KUBUF_IOC_UBUF_UNREGISTER errors: -EBADF (fd not O_RDWR), -EINVAL
 * (@flags), -ENOENT (no such registration in this file: unknown, already
 * unregistered, or another file's). It may wait for a device command that
 * is using the registration to stop; it succeeds for a revoked one.
 */
struct kubuf_id {
	__u32 id;
	__u32 flags;
};

/* States in kubuf_ubuf_query.state. */
#define KUBUF_UBUF_ACTIVE	1	/* the device may use it */
#define KUBUF_UBUF_REVOKED	2	/* the driver let go: pages unpinned */

/**
 * struct kubuf_ubuf_query - KUBUF_IOC_UBUF_QUERY: one registration.
 * @id:		in: the registration.
 * @flags:	in: must be zero.
 * @state:	out: KUBUF_UBUF_ACTIVE or KUBUF_UBUF_REVOKED.
 * @access:	out: as registered.
 * @addr:	out: as registered.
 * @len:	out: as registered.
 * @nr_pages:	out: pages pinned for it (0 once revoked).
 * @reserved:	out: zero.
 *
 * Errors: -EINVAL (@flags), -ENOENT (no such registration).
 */
struct kubuf_ubuf_query {
	__u32 id;
	__u32 flags;
	__u32 state;
	__u32 access;
	__u64 addr;
	__u64 len;
	__u64 nr_pages;
	__u64 reserved[2];
};

/*
 * The caller-context variant and the copying baseline.
 *
 * KUBUF_IOC_UCOPY lets the device read or write the caller's memory only
 * inside this system call, with copy_to_user()/copy_from_user(), and no
 * pin: the article's "neither" method. read() on the device is the
 * copying ("buffered") baseline: the device fills a kernel buffer from
 * asynchronous context, and read() copies it out.
 */
#define KUBUF_UCOPY_FILL	1	/* write the pattern into the buffer */
#define KUBUF_UCOPY_CHECKSUM	2	/* checksum the buffer */

/**
 * struct kubuf_ucopy - KUBUF_IOC_UCOPY.
 * @op:		in: KUBUF_UCOPY_FILL or KUBUF_UCOPY_CHECKSUM.
 * @flags:	in: must be zero.
 * @addr:	in: the caller's buffer.
 * @len:	in: its length, up to kubuf_info.max_ubuf_size.
 * @seed:	in: FILL: the pattern's seed (see kubuf_pattern_byte()).
 * @reserved0:	in: must be zero.
 * @result:	out: CHECKSUM: kubuf_checksum() of the buffer.
 * @reserved:	in: must be zero.
 *
 * Errors: -EINVAL (@op, @flags, reserved, @len 0), -E2BIG (@len),
 * -EFAULT (the buffer cannot be read, or written for FILL; FILL may have
 * written part of it), -EINTR (a fatal signal arrived; nothing more is
 * done). Other signals do not interrupt it.
 */
struct kubuf_ucopy {
	__u32 op;
	__u32 flags;
	__u64 addr;
	__u64 len;
	__u32 seed;
	__u32 reserved0;
	__u64 result;
	__u64 reserved[2];
};

/*
 * Technique 2: buffers the driver allocates and the application maps.
 *
 * KUBUF_IOC_KBUF_ALLOC allocates a buffer and returns its id and the
 * offset that names it in mmap() of the same open file; the application
 * maps it with mmap(NULL, len, prot, MAP_SHARED, fd, mmap_offset + off),
 * and the device reads and writes it (KUBUF_IOC_DEV_CMD, KUBUF_MEM_KBUF).
 *
 * Kinds. KUBUF_KBUF_PAGES: zero-filled pages, charged to the caller's
 * memory cgroup (over its limit ALLOC fails with -ENOMEM; nothing is
 * OOM-killed). KUBUF_KBUF_DMA: zero-filled, physically contiguous memory
 * from the DMA API (KUBUF_FEAT_KBUF_DMA), whose device address is
 * reported in dma_addr; large sizes may fail with -ENOMEM.
 *
 * Cache modes. KUBUF_CACHE_CACHED works everywhere. KUBUF_CACHE_WC and
 * KUBUF_CACHE_UNCACHED work for KUBUF_KBUF_PAGES where the module can give
 * every mapping of the pages, its own included, the same attribute (x86:
 * KUBUF_FEAT_KBUF_WC/UC are reported); elsewhere, and for KUBUF_KBUF_DMA,
 * they fail with -EOPNOTSUPP rather than hand out a mapping whose
 * attributes differ from the ones asked for.
 *
 * Offsets. Buffer id owns the window [id << 28, (id << 28) + 256 MiB) of
 * the offset space; mmap_offset is id << 28, and mmap_offset + k * page
 * size maps the buffer from its page k on. Ids are below 1 << 16.
 *
 * mmap() errors, checked in this order; nothing is ever partly mapped:
 *   -EACCES	PROT_WRITE on an fd not opened for writing (the VFS).
 *   -EINVAL	MAP_PRIVATE.
 *   -EPERM	PROT_EXEC.
 *   -EINVAL	the offset names no live buffer of this file (unknown,
 *		freed, another file's), or the mapping runs past its end.
 *   -EACCES	PROT_WRITE on a buffer without KUBUF_KBUF_APP_WRITE.
 * A mapping can never gain PROT_EXEC, nor PROT_WRITE on a read-only
 * buffer: mprotect() fails with -EACCES. It cannot grow: mremap() to a
 * larger size fails with -EFAULT. It can be moved, split by munmap() or
 * mprotect(), and is left out of core dumps. Every page is mapped by
 * mmap(); a page removed with MADV_DONTNEED is not mapped again and
 * touching it raises SIGBUS.
 *
 * Lifetime. KUBUF_IOC_KBUF_FREE, and the release of the file, end the id
 * and its offset at once, but not the memory: a buffer still mapped stays
 * the application's, readable and writable as mapped, and is freed after
 * its last munmap (in whichever process; a command of the device that is
 * using it finishes first). Closing the fd keeps every mapping, and the
 * buffers, alive until munmap.
 *
 * fork(). Mappings are shared: parent and child see the same pages and
 * each other's and the device's writes; the buffer is freed after the
 * last unmap in either.
 */
#define KUBUF_KBUF_PAGES	0	/* zeroed order-0 pages */
#define KUBUF_KBUF_DMA		1	/* DMA-capable, physically contiguous */

#define KUBUF_CACHE_CACHED	0	/* normal write-back memory */
#define KUBUF_CACHE_WC		1	/* write-combined */
#define KUBUF_CACHE_UNCACHED	2	/* uncached */

#define KUBUF_KBUF_APP_WRITE	_BITUL(0)	/* the application may write */

/**
 * struct kubuf_kbuf_alloc - KUBUF_IOC_KBUF_ALLOC.
 * @size:	in: bytes, 1 to kubuf_info.max_kbuf_size, rounded up to pages.
 * @kind:	in: KUBUF_KBUF_PAGES or KUBUF_KBUF_DMA.
 * @cache:	in: KUBUF_CACHE_*.
 * @flags:	in: KUBUF_KBUF_APP_WRITE or 0.
 * @id:		out: the buffer's id in this file (never 0).
 * @mmap_offset: out: the offset to pass to mmap() on this fd.
 * @dma_addr:	out: KUBUF_KBUF_DMA: the device's address of the buffer.
 * @reserved:	in: must be zero.
 *
 * Errors:
 *   -EBADF	the fd is not open for reading and writing.
 *   -EINVAL	@flags has unknown bits, a reserved field is not zero,
 *		@kind or @cache is unknown, or @size is 0.
 *   -E2BIG	@size is above kubuf_info.max_kbuf_size.
 *   -EOPNOTSUPP @cache is WC or UNCACHED and this kind cannot have it
 *		here (see above).
 *   -ENOSPC	the file already holds kubuf_info.max_kbufs buffers.
 *   -ENOMEM	no memory, or the memory cgroup's limit is reached.
 *   -EINTR	a fatal signal arrived while allocating.
 *
 * KUBUF_IOC_KBUF_FREE (struct kubuf_id) errors: -EBADF (fd not O_RDWR),
 * -EINVAL (@flags), -ENOENT (no such buffer in this file: unknown, already
 * freed, or another file's). It never waits: a mapped buffer is freed
 * after its last munmap.
 */
struct kubuf_kbuf_alloc {
	__u64 size;
	__u32 kind;
	__u32 cache;
	__u32 flags;
	__u32 id;
	__u64 mmap_offset;
	__u64 dma_addr;
	__u64 reserved[2];
};

/* The simulated device: commands, run from the device's own context. */
#define KUBUF_DEV_FILL		1	/* write the pattern into a buffer */
#define KUBUF_DEV_CHECKSUM	2	/* kubuf_checksum() of a buffer */
#define KUBUF_DEV_COPY		3	/* copy between two buffers */
#define KUBUF_DEV_RESET		4	/* revoke every registration of the file */

/* Kinds of memory a device command names, with the object's id. */
#define KUBUF_MEM_UBUF		1	/* a registration (technique 1) */
#define KUBUF_MEM_KBUF		2	/* a driver buffer (technique 2) */

/* Flags of a device command. */
#define KUBUF_DEV_NOWAIT	_BITUL(0)	/* return at once; KUBUF_EVENT_DONE */

/**
 * struct kubuf_dev_cmd - KUBUF_IOC_DEV_CMD: make the device do something.
 * @op:		in: KUBUF_DEV_*.
 * @flags:	in: KUBUF_DEV_NOWAIT or 0.
 * @kind:	in: the target's kind (KUBUF_MEM_*); unused by RESET.
 * @id:		in: the target's id; unused by RESET.
 * @offset:	in: first byte of the target.
 * @len:	in: bytes, from @offset; not 0.
 * @seed:	in: FILL: the pattern's seed.
 * @repeat:	in: FILL: extra passes over the range (a long-running writer).
 * @src_kind:	in: COPY: the source's kind.
 * @src_id:	in: COPY: the source's id.
 * @src_offset:	in: COPY: first byte of the source.
 * @result:	out: CHECKSUM: the checksum (not with NOWAIT).
 * @reserved:	in: must be zero.
 *
 * The device runs the command from its own kernel thread, never in the
 * caller's context; the caller waits for it unless KUBUF_DEV_NOWAIT. The
 * command holds its buffers: unregistering, revoking or releasing stops
 * it at the next page.
 *
 * Errors: -EBADF (fd not O_RDWR), -EINVAL (@op, @flags, reserved, unused
 * fields not zero, @len 0, @kind), -ENOENT (no such buffer), -ERANGE
 * (@offset + @len beyond the buffer), -EACCES (the registration does not
 * allow that access to the device), -ESHUTDOWN (the registration was
 * revoked, before or during the command), -EINTR (a fatal signal arrived
 * while waiting: the command goes on), -EBUSY (too many commands queued).
 */
struct kubuf_dev_cmd {
	__u32 op;
	__u32 flags;
	__u32 kind;
	__u32 id;
	__u64 offset;
	__u64 len;
	__u32 seed;
	__u32 repeat;
	__u32 src_kind;
	__u32 src_id;
	__u64 src_offset;
	__u64 result;
	__u64 reserved[2];
};

/* Events, in kubuf_events.pending. */
#define KUBUF_EVENT_REVOKED	_BITUL(0)	/* a registration was revoked */
#define KUBUF_EVENT_DONE	_BITUL(1)	/* a NOWAIT command finished */

/**
 * struct kubuf_eventfd - KUBUF_IOC_SET_EVENTFD: the article's shared event.
 * @fd:		in: an eventfd, or -1 with KUBUF_EVENTFD_CLEAR.
 * @flags:	in: KUBUF_EVENTFD_CLEAR to drop the binding, or 0.
 *
 * The module takes its own reference to the eventfd now (a later reuse of
 * the number changes nothing) and signals it (adds 1) whenever an event
 * becomes pending; it drops the reference exactly once: when replaced,
 * cleared, or when the file is released. Signals are hints: read the
 * events with KUBUF_IOC_GET_EVENTS. poll() on the device reports EPOLLPRI
 * while events are pending.
 *
 * Errors: -EBADF (@fd is not an open descriptor), -EINVAL (@fd is not an
 * eventfd, @flags unknown, or CLEAR with @fd not -1).
 */
struct kubuf_eventfd {
	__s32 fd;
	__u32 flags;
};

#define KUBUF_EVENTFD_CLEAR	_BITUL(0)

/**
 * struct kubuf_events - KUBUF_IOC_GET_EVENTS: read and clear events.
 * @flags:	in: must be zero.
 * @pending:	out: KUBUF_EVENT_* bits pending since the last call.
 * @reserved:	out: zero.
 * Errors: -EINVAL (@flags).
 */
struct kubuf_events {
	__u32 flags;
	__u32 pending;
	__u64 reserved[2];
};

/*
 * The device's data pattern and checksum, shared by the module, the
 * library and the tests so that each side can verify the other.
 */
static __inline__ __u8 kubuf_pattern_byte(__u32 seed, __u64 off)
{
	__u32 word = seed + (__u32)(off >> 2) * 0x9E3779B1U;

	return (__u8)(word >> ((off & 3) * 8));
}

/* FNV-1a, 64 bits, continued from @sum (start with KUBUF_CHECKSUM_INIT). */
#define KUBUF_CHECKSUM_INIT	0xcbf29ce484222325ULL

static __inline__ __u64 kubuf_checksum(__u64 sum, const void *buf, __u64 len)
{
	const __u8 *p = (const __u8 *)buf;

	while (len--) {
		sum ^= *p++;
		sum *= 0x100000001b3ULL;
	}
	return sum;
}

#define KUBUF_IOC_GET_INFO	_IOR(KUBUF_IOC_MAGIC, 0x00, struct kubuf_info)
#define KUBUF_IOC_GET_STATS	_IOWR(KUBUF_IOC_MAGIC, 0x01, struct kubuf_stats)
#define KUBUF_IOC_SET_EVENTFD	_IOW(KUBUF_IOC_MAGIC, 0x02, struct kubuf_eventfd)
#define KUBUF_IOC_GET_EVENTS	_IOWR(KUBUF_IOC_MAGIC, 0x03, struct kubuf_events)

#define KUBUF_IOC_UBUF_REGISTER	_IOWR(KUBUF_IOC_MAGIC, 0x10, struct kubuf_ubuf_reg)
#define KUBUF_IOC_UBUF_UNREGISTER _IOW(KUBUF_IOC_MAGIC, 0x11, struct kubuf_id)
#define KUBUF_IOC_UBUF_QUERY	_IOWR(KUBUF_IOC_MAGIC, 0x12, struct kubuf_ubuf_query)
#define KUBUF_IOC_UCOPY		_IOWR(KUBUF_IOC_MAGIC, 0x18, struct kubuf_ucopy)

#define KUBUF_IOC_KBUF_ALLOC	_IOWR(KUBUF_IOC_MAGIC, 0x20, struct kubuf_kbuf_alloc)
#define KUBUF_IOC_KBUF_FREE	_IOW(KUBUF_IOC_MAGIC, 0x21, struct kubuf_id)

#define KUBUF_IOC_DEV_CMD	_IOWR(KUBUF_IOC_MAGIC, 0x30, struct kubuf_dev_cmd)

#endif /* _UAPI_LINUX_KUBUF_H */
