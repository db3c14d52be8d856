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
#define KUBUF_FEAT_DEVICE	_BITULL(8)	/* the device's commands */
#define KUBUF_FEAT_RING		_BITULL(9)	/* shared rings, command rings */
#define KUBUF_FEAT_STREAM	_BITULL(10)	/* KUBUF_IOC_STREAM_START */
#define KUBUF_FEAT_STREAM_BARE	_BITULL(11)	/* KUBUF_STREAM_BARE */

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
 * @max_rings:		out: rings attached per open file.
 * @user_files:		out: files one user may hold open (module
 *			parameter max_user_files).
 * @user_rings:		out: rings one user may hold (max_user_rings).
 * @user_cmds:		out: device commands one user may have queued or
 *			running (max_user_cmds).
 * @user_kbuf_pages:	out: pages of driver buffers one user may hold,
 *			freed-but-mapped ones included (max_user_kbuf_mb).
 * @reserved:		out: zero.
 *
 * The per-user limits are read when the call is made; an administrator
 * may change them at any time (see "Limits" below).
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
	__u32 max_rings;
	__u32 user_files;
	__u32 user_rings;
	__u32 user_cmds;
	__u32 user_kbuf_pages;
	__u64 reserved[2];
};

/*
 * Limits. Any user who may open the device is treated as a possible
 * attacker: every number of every call below has a range, checked before
 * any work is done, and everything a user can make the module hold is
 * bounded per file and per user (the user id of the caller at creation,
 * who stays charged until the object is truly gone, in whatever process
 * that happens):
 *
 *   what                          bound                          errno
 *   open files                    max_user_files per user        -EMFILE
 *   registrations                 kubuf_info.max_ubufs per file  -ENOSPC
 *   pinned pages                  RLIMIT_MEMLOCK (no limit with  -ENOMEM
 *                                 CAP_IPC_LOCK), and
 *                                 KUBUF_MAX_PINNED_PAGES in all
 *   driver buffers                kubuf_info.max_kbufs per file  -ENOSPC
 *   driver buffer pages           max_user_kbuf_mb per user      -EDQUOT
 *                                 (until the last munmap); PAGES
 *                                 also the memory cgroup; DMA
 *                                 also RLIMIT_MEMLOCK (unless
 *                                 CAP_IPC_LOCK)                  -ENOMEM
 *   rings                         kubuf_info.max_rings per file  -ENOSPC
 *                                 max_user_rings per user        -EDQUOT
 *   device commands in flight     KUBUF_MAX_FILE_CMDS per file   -EBUSY
 *   (read()'s fill counts too)    max_user_cmds per user         -EDQUOT
 *
 * The max_user_* values are module parameters (root may change them in
 * /sys/module/kubuf_core/parameters/); kubuf_info reports them. A user is a
 * user id of the caller's user namespace as the kernel sees it (kuid):
 * who controls many ids (subordinate ids, user namespaces) gets the
 * limits of each. The device's work (commands, streams, command rings,
 * read()) runs on a fixed pool of kernel workers whatever users create, in slices of bounded length
 * taken in turn, so no user can hold the device away from the others,
 * and unregistering, revoking, detaching or closing waits at most for
 * the slice in progress. KUBUF_MAX_PINNED_PAGES bounds the pins kubuf
 * holds in all, so that no page's reference count (each pin of a small
 * page adds 1024 to it) can be driven towards overflow, however many
 * times one page is mapped and registered.
 */
#define KUBUF_MAX_PINNED_PAGES	_BITUL(20)
#define KUBUF_MAX_FILE_CMDS	64

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
	KUBUF_STAT_RINGS,		/* rings attached */
	KUBUF_STAT_CMDS,		/* device commands queued or running */
	KUBUF_STAT_USERS,		/* users with anything charged */
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
 * They describe every user's activity, so only CAP_SYS_ADMIN may read
 * them (debugfs shows the same, in kubuf/stats). Each file can still
 * query its own objects (UBUF_QUERY, RING_QUERY).
 * Errors: -EPERM without CAP_SYS_ADMIN; -EINVAL if @flags is not zero;
 * -EFAULT. Works on any open fd.
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
 *   -ENOMEM	RLIMIT_MEMLOCK would be exceeded, kubuf would hold more
 *		than KUBUF_MAX_PINNED_PAGES pins in all, or no memory.
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
 * asynchronous context, and read() copies it out: at most 1 MiB per
 * call, any @len accepted. The fill counts as one of the file's and the
 * user's device commands while it is queued or running (-EBUSY, -EDQUOT
 * at their limits, as for KUBUF_IOC_DEV_CMD). read() waits for the
 * device killably: a fatal signal ends it with -EINTR; other signals do
 * not interrupt it.
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
 * from the DMA API (KUBUF_FEAT_KBUF_DMA), charged to RLIMIT_MEMLOCK of
 * the user who allocates it (unless CAP_IPC_LOCK) until it is freed,
 * after its last munmap; large sizes may fail with -ENOMEM. The device's
 * address of a buffer is the driver's business: it never reaches user
 * space, where it would name physical memory the application fills.
 * The memory of a DMA buffer is the device's: when the device is removed
 * (KUBUF_EVENT_REMOVED), it goes back with it, and a touch of a mapping
 * of it raises SIGBUS from then on; a PAGES buffer stays readable and
 * writable until unmapped.
 *
 * Every buffer, of either kind, counts against its user's
 * max_user_kbuf_mb until it is truly freed (after its last munmap), so
 * allocating, mapping and freeing in a loop cannot escape the limit.
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
 *   -ENOMEM	no memory for the page tables (a memory cgroup at its
 *		limit, say).
 * A mapping can never gain PROT_EXEC, nor PROT_WRITE on a read-only
 * buffer: mprotect() fails with -EACCES. It cannot grow: mremap() to a
 * larger size fails with -EFAULT. It can be moved, split by munmap() or
 * mprotect(), and is left out of core dumps. A page removed with
 * MADV_DONTNEED comes back, the same page with its contents, at the next
 * touch.
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
 * @reserved0:	out: zero (the device's address is never reported).
 * @reserved:	in: must be zero.
 *
 * Errors:
 *   -EBADF	the fd is not open for reading and writing.
 *   -EINVAL	@flags has unknown bits, a reserved field is not zero,
 *		@kind or @cache is unknown, or @size is 0.
 *   -E2BIG	@size is above kubuf_info.max_kbuf_size.
 *   -EOPNOTSUPP @cache is WC or UNCACHED and this kind cannot have it
 *		here (see above); or DMA where the device has none, off
 *		x86, or where memory is encrypted (SEV and TDX guests):
 *		KUBUF_FEAT_KBUF_DMA is not reported then.
 *   -ENOSPC	the file already holds kubuf_info.max_kbufs buffers.
 *   -EDQUOT	the user's buffers would exceed kubuf_info.user_kbuf_pages.
 *   -ENOMEM	no memory, the memory cgroup's limit is reached, or, DMA,
 *		RLIMIT_MEMLOCK would be exceeded.
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
	__u64 reserved0;
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
 * @seed:	in: FILL: the pattern's seed (any value).
 * @repeat:	in: FILL: extra passes over the range (a long-running
 *		writer), 0 to KUBUF_DEV_MAX_REPEAT, and (@repeat + 1) *
 *		@len at most KUBUF_DEV_MAX_WORK.
 * @src_kind:	in: COPY: the source's kind.
 * @src_id:	in: COPY: the source's id.
 * @src_offset:	in: COPY: first byte of the source.
 * @result:	out: CHECKSUM: the checksum (not with NOWAIT).
 * @reserved:	in: must be zero.
 *
 * @offset, @src_offset and @len may be any value: the range must lie in
 * the buffer (-ERANGE), which bounds them by the buffer's size.
 *
 * The device runs the command from its own workers, never in the
 * caller's context, in slices of bounded length taken in turn with every
 * other user's work; the caller waits for it unless KUBUF_DEV_NOWAIT.
 * Unregistering or revoking a registration the command uses, and
 * releasing the file, stop it at the end of the slice in progress
 * (-ESHUTDOWN); they never wait for a queued command.
 *
 * Errors: -EBADF (fd not O_RDWR), -EINVAL (@op, @flags, reserved, unused
 * fields not zero, @len 0, @kind, @repeat above KUBUF_DEV_MAX_REPEAT, a
 * COPY whose source and target overlap in one buffer), -ENOENT (no such
 * buffer), -ERANGE (@offset + @len beyond the buffer), -EACCES (the
 * registration does not allow that access to the device), -ESHUTDOWN
 * (the registration was revoked, before or during the command), -EINTR
 * (a fatal signal arrived while waiting: the command goes on), -EBUSY
 * (the file has KUBUF_MAX_FILE_CMDS commands queued or running), -EDQUOT
 * (the user has kubuf_info.user_cmds), -E2BIG ((@repeat + 1) * @len above
 * KUBUF_DEV_MAX_WORK), -EOPNOTSUPP (a device without commands, or one
 * that reaches memory only by DMA given a KUBUF_KBUF_PAGES buffer),
 * -ENODEV (the device was removed), -EIO (the device failed).
 */
#define KUBUF_DEV_MAX_REPEAT	255
#define KUBUF_DEV_MAX_WORK	(16ULL << 30)	/* bytes one command may touch */

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

/*
 * Events, in kubuf_events.pending. Each is raised (the bit set, the file's
 * eventfd signalled, poll() woken) when:
 *   REVOKED	the driver revoked a registration (KUBUF_DEV_RESET, or
 *		KUBUF_RCMD_RESET from a command ring, or its own reset or
 *		removal);
 *   DONE	a KUBUF_DEV_NOWAIT command finished;
 *   RING_DATA	a ring without an eventfd of its own has records for the
 *		application and the consumer said it is waiting (see
 *		<linux/kubuf_ring.h>);
 *   RING_STATE	a ring left KUBUF_RING_ACTIVE or its stream finished: look
 *		with KUBUF_IOC_RING_QUERY. A ring with its own eventfd has
 *		that eventfd signalled too;
 *   REMOVED	the device was removed (its driver unbound or unloaded):
 *		every registration is revoked and every ring dead, poll()
 *		reports POLLHUP, and every call but KUBUF_IOC_GET_INFO and
 *		KUBUF_IOC_GET_EVENTS fails with ENODEV, mmap() too. The
 *		memory of DMA driver buffers went with the device: a
 *		touch of their mappings raises SIGBUS; PAGES buffers
 *		stay usable until unmapped. Unmap them, close the file.
 */
#define KUBUF_EVENT_REVOKED	_BITUL(0)
#define KUBUF_EVENT_DONE	_BITUL(1)
#define KUBUF_EVENT_RING_DATA	_BITUL(2)
#define KUBUF_EVENT_RING_STATE	_BITUL(3)
#define KUBUF_EVENT_REMOVED	_BITUL(4)

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
 * Shared rings: streams of records between the device and the
 * application through memory both map, with almost no system calls. The
 * ring itself, its layout and its records, is <linux/kubuf_ring.h>; the
 * one implementation both sides use is include/kubuf/ring.h in kubuf's
 * sources, which applications use through libkubuf (<kubuf.h>). The
 * calls below create and drive a ring.
 *
 * KUBUF_IOC_RING_ATTACH makes [offset, offset + KUBUF_RING_CTL_SIZE +
 * data_size) of a registration or a driver buffer a ring, and resets its
 * control block. The memory must allow the device to read and write it
 * (a registration with both KUBUF_ACCESS_DEV_*, a driver buffer with
 * KUBUF_KBUF_APP_WRITE, since the application writes its position).
 *
 * Directions. KUBUF_RING_TO_APP: the device produces (the stream, the
 * completions of commands), the application consumes. KUBUF_RING_TO_DEV:
 * the application produces KUBUF_REC_CMD records, a device thread
 * consumes and executes them in order and, if the ring names a reply
 * ring (a TO_APP ring of the same file), produces a KUBUF_REC_DONE
 * completion there for each.
 *
 * Wakeups of the application (TO_APP). The device wakes the consumer only
 * when it said it is waiting, and then only once @wake_records records
 * are unannounced, or the oldest of them is @wake_usecs old (0: no time
 * limit), or the stream ends, whichever comes first; a completion wakes
 * at once. The wakeup signals @eventfd, or, if it is -1, raises
 * KUBUF_EVENT_RING_DATA on the file. With KUBUF_RING_BUSY_POLL the device
 * never wakes the consumer (it must poll).
 *
 * Wakeups of the device (TO_DEV). The device thread consumes until the
 * ring is empty, then says it is waiting and sleeps; the application,
 * after publishing, calls KUBUF_IOC_RING_KICK only if it sees the device
 * waiting. A busy command ring costs no system call.
 *
 * Lifetime. A ring lives until KUBUF_IOC_RING_DETACH or the release of the
 * file, which first stop the device's threads of the ring. It becomes
 * KUBUF_RING_DEAD (the device stops using it; KUBUF_EVENT_RING_STATE) when
 * its registration is revoked or unregistered; a ring in a driver buffer
 * keeps the buffer's memory alive until it is detached, even if the
 * buffer is freed. It becomes KUBUF_RING_BROKEN (same) when the device
 * finds an impossible value in it (KUBUF_RING_ERR_*): a hostile or buggy
 * application can break its own ring, never the module or another file.
 * Rings may overlap each other or other data; they then corrupt each
 * other's contents, which is the application's loss only.
 */
#define KUBUF_RING_TO_APP	1	/* the device produces */
#define KUBUF_RING_TO_DEV	2	/* the application produces commands */

#define KUBUF_RING_BUSY_POLL	_BITUL(0)	/* TO_APP: never wake the consumer */

/**
 * struct kubuf_ring_attach - KUBUF_IOC_RING_ATTACH.
 * @dir:	in: KUBUF_RING_TO_APP or KUBUF_RING_TO_DEV.
 * @flags:	in: TO_APP: KUBUF_RING_BUSY_POLL or 0; TO_DEV: 0.
 * @kind:	in: KUBUF_MEM_UBUF or KUBUF_MEM_KBUF.
 * @mem_id:	in: the registration's or driver buffer's id.
 * @offset:	in: where the ring starts in the buffer; the ring's address
 *		must be a multiple of KUBUF_RING_ALIGN.
 * @data_size:	in: bytes of the data area: a power of two from
 *		KUBUF_RING_MIN_DATA to KUBUF_RING_MAX_DATA.
 * @eventfd:	in: TO_APP: an eventfd to signal, or -1 (the file's event);
 *		-1 with KUBUF_RING_BUSY_POLL. TO_DEV: -1.
 * @wake_records: in: TO_APP: 1 to UINT32_MAX (0 with KUBUF_RING_BUSY_POLL);
 *		more than the ring holds means "when it is full".
 *		TO_DEV: 0.
 * @wake_usecs:	in: TO_APP: 0 (no time limit) to 10000000; 0 with
 *		KUBUF_RING_BUSY_POLL. TO_DEV: 0.
 * @reply_id:	in: TO_DEV: the TO_APP ring for completions, or 0. TO_APP: 0.
 * @id:		out: the ring's id in this file (never 0).
 * @reserved:	in: must be zero.
 *
 * Errors:
 *   -EBADF	the fd is not open for reading and writing; @eventfd is not
 *		an open descriptor.
 *   -EINVAL	a field above out of its range, a field unused by @dir not
 *		as stated, the ring's address misaligned, @eventfd not an
 *		eventfd, @reply_id a ring of the wrong direction.
 *   -ENOENT	no such buffer, or no such reply ring, in this file.
 *   -ESHUTDOWN	the registration was revoked.
 *   -EACCES	the memory does not let both sides write it (see above).
 *   -ERANGE	the ring runs past the end of the buffer.
 *   -ENOSPC	the file already holds kubuf_info.max_rings rings.
 *   -EDQUOT	the user already holds kubuf_info.user_rings rings.
 *   -ENOMEM	no memory.
 */
struct kubuf_ring_attach {
	__u32 dir;
	__u32 flags;
	__u32 kind;
	__u32 mem_id;
	__u64 offset;
	__u32 data_size;
	__s32 eventfd;
	__u32 wake_records;
	__u32 wake_usecs;
	__u32 reply_id;
	__u32 id;
	__u64 reserved[2];
};

/* States in kubuf_ring_query.state. */
#define KUBUF_RING_ACTIVE	1	/* in use */
#define KUBUF_RING_BROKEN	2	/* an impossible value was found */
#define KUBUF_RING_DEAD		3	/* its memory was revoked */

/* States of a TO_APP ring's stream, in kubuf_ring_query.stream. */
#define KUBUF_STREAM_IDLE	0	/* never started, or stopped */
#define KUBUF_STREAM_RUNNING	1
#define KUBUF_STREAM_DONE	2	/* produced (or dropped) all its records */

/**
 * struct kubuf_ring_query - KUBUF_IOC_RING_QUERY: one ring's state.
 * @id:		in: the ring.
 * @flags:	in: must be zero.
 * @state:	out: KUBUF_RING_*.
 * @error:	out: KUBUF_RING_ERR_* when BROKEN, else 0.
 * @dir:	out: as attached.
 * @stream:	out: TO_APP: KUBUF_STREAM_*; TO_DEV: 0.
 * @records:	out: records the device produced (TO_APP) or consumed.
 * @bytes:	out: payload bytes of those records.
 * @dropped:	out: TO_APP: records the stream dropped, the ring being full.
 * @wakeups:	out: TO_APP: times the device woke the consumer.
 *		TO_DEV: times a kick woke the device.
 * @room_wakeups: out: TO_APP: times a kick woke the device waiting for
 *		room (see "Full ring" in <linux/kubuf_ring.h>). TO_DEV: 0.
 * @reserved:	out: zero.
 *
 * Errors: -EINVAL (@flags), -ENOENT (no such ring in this file).
 */
struct kubuf_ring_query {
	__u32 id;
	__u32 flags;
	__u32 state;
	__u32 error;
	__u32 dir;
	__u32 stream;
	__u64 records;
	__u64 bytes;
	__u64 dropped;
	__u64 wakeups;
	__u64 room_wakeups;
	__u64 reserved;
};

#define KUBUF_STREAM_LOSSLESS	_BITUL(0)	/* wait for room, never drop */
#define KUBUF_STREAM_BARE	_BITUL(1)	/* write the header only */
#define KUBUF_STREAM_MAX_REC	65536		/* data bytes per record */
#define KUBUF_STREAM_MAX_RATE	100000000ULL	/* records per second */

/**
 * struct kubuf_stream - KUBUF_IOC_STREAM_START: the device streams records
 * into a TO_APP ring, like a data-acquisition card.
 * @ring_id:	in: the ring.
 * @flags:	in: KUBUF_STREAM_LOSSLESS, KUBUF_STREAM_BARE, both or 0.
 *		BARE: the device writes each record's header only (its
 *		sequence number, a checksum of 0) and leaves the data bytes
 *		as they were, as a card whose DMA writes them costs the CPU
 *		nothing: for measuring the path itself (bench/).
 * @rec_size:	in: data bytes per record, 0 to KUBUF_STREAM_MAX_REC; each
 *		record is a struct kubuf_stream_rec and then the data.
 * @seed:	in: the data's pattern seed (see struct kubuf_stream_rec).
 * @rate:	in: records per second, 0 to KUBUF_STREAM_MAX_RATE; 0: as
 *		fast as the consumer takes them, which needs
 *		KUBUF_STREAM_LOSSLESS.
 * @count:	in: records to stream (produced plus dropped), any value;
 *		0: until stopped.
 * @reserved:	in: must be zero.
 *
 * Record i is due at start + i / @rate. When it does not fit, it is
 * dropped (counted in the ring's dropped, its sequence number skipped),
 * or, LOSSLESS, the device waits for room: the consumer kicks it (see
 * "Full ring" in <linux/kubuf_ring.h>; libkubuf does). A consumer that
 * has never kicked for room is looked at every few milliseconds
 * instead. However far behind a
 * dropping stream falls, catching up is a single step: the records due
 * that find no room are dropped together. KUBUF_IOC_STREAM_STOP (struct
 * kubuf_id: the ring) stops the stream; detach and release stop it too.
 *
 * Errors: -EBADF (fd not O_RDWR), -EINVAL (@flags, reserved, @rec_size,
 * @rate above KUBUF_STREAM_MAX_RATE, @rate 0 without LOSSLESS, the ring
 * is TO_DEV), -ENOENT (no such ring),
 * -E2BIG (a record would not fit in the ring's data area), -EBUSY (a
 * stream is running on the ring), -ESHUTDOWN (the ring is not ACTIVE),
 * -EOPNOTSUPP (the device has no stream: KUBUF_FEAT_STREAM not reported;
 * or BARE, and KUBUF_FEAT_STREAM_BARE is not reported).
 * STOP errors: -EBADF, -EINVAL (@flags, TO_DEV ring), -ENOENT.
 */
struct kubuf_stream {
	__u32 ring_id;
	__u32 flags;
	__u32 rec_size;
	__u32 seed;
	__u64 rate;
	__u64 count;
	__u64 reserved[2];
};

/*
 * KUBUF_IOC_RING_DETACH (struct kubuf_id): stop the ring's device threads
 * and forget the ring; its memory is the application's again. A command
 * ring naming it as reply ring produces no more completions. Errors:
 * -EBADF, -EINVAL (@flags), -ENOENT.
 *
 * KUBUF_IOC_RING_KICK (struct kubuf_id): wake the device thread of a
 * ring: of a TO_DEV ring, to take the commands published; of a TO_APP
 * ring, to produce into the room released (a producer waiting for room
 * says so in the ring's room word). Errors: -EBADF, -EINVAL (@flags),
 * -ENOENT.
 */

/*
 * The device's data pattern and checksum, shared by the module, the
 * library and the tests so that each side can verify the other.
 */
static __inline__ __u8 kubuf_pattern_byte(__u32 seed, __u64 off)
{
	__u32 word = seed + (__u32)(off >> 2) * 0x9E3779B1U;

	return (__u8)(word >> ((off & 3) * 8));
}

/* Bytes 8k to 8k + 7 of the pattern, as a little-endian word. */
static __inline__ __u64 kubuf_pattern_word(__u32 seed, __u64 k)
{
	__u32 lo = seed + (__u32)(2 * k) * 0x9E3779B1U;

	return lo | (__u64)(__u32)(lo + 0x9E3779B1U) << 32;
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

#define KUBUF_IOC_RING_ATTACH	_IOWR(KUBUF_IOC_MAGIC, 0x40, struct kubuf_ring_attach)
#define KUBUF_IOC_RING_DETACH	_IOW(KUBUF_IOC_MAGIC, 0x41, struct kubuf_id)
#define KUBUF_IOC_RING_QUERY	_IOWR(KUBUF_IOC_MAGIC, 0x42, struct kubuf_ring_query)
#define KUBUF_IOC_RING_KICK	_IOW(KUBUF_IOC_MAGIC, 0x43, struct kubuf_id)
#define KUBUF_IOC_STREAM_START	_IOW(KUBUF_IOC_MAGIC, 0x44, struct kubuf_stream)
#define KUBUF_IOC_STREAM_STOP	_IOW(KUBUF_IOC_MAGIC, 0x45, struct kubuf_id)

#endif /* _UAPI_LINUX_KUBUF_H */
