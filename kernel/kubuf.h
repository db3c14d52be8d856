/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kubuf internal API: what the files of the module share.
 *
 * Each concept of the design lives in its own file; this header is the
 * boundary between them. See main.c for the object model and lock order.
 *
 *   main.c    the device: open/release, ioctl and mmap dispatch
 *   ubuf.c    technique 1: registered application memory
 *   kbuf.c    technique 2: driver-allocated buffers and mmap
 *   copy.c    the caller-context variant and the copying baseline
 *   notify.c  the shared event: eventfd, pending events, poll
 *   ring.c    shared rings, the stream and the command ring
 *   sim.c     the simulated device: its workers and its commands
 *   limits.c  per-user limits and accounting
 */
#ifndef KUBUF_INTERNAL_H
#define KUBUF_INTERNAL_H

#include <linux/atomic.h>
#include <linux/build_bug.h>
#include <linux/completion.h>
#include <linux/list.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/sizes.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "compat.h"
#include "../include/uapi/linux/kubuf.h"
#include "../include/uapi/linux/kubuf_ring.h"

#define KUBUF_MAX_UBUFS		64		/* registrations per file */
#define KUBUF_MAX_KBUFS		64		/* driver buffers per file */
#define KUBUF_MAX_UBUF_SIZE	SZ_1G		/* bytes per registration */
#define KUBUF_MAX_KBUF_SIZE	SZ_256M		/* bytes per driver buffer */
#define KUBUF_MAX_CMDS		KUBUF_MAX_FILE_CMDS	/* per file, in flight */
#define KUBUF_MAX_RINGS		16		/* rings per file */

/* The ABI's layouts: a change here breaks applications. */
static_assert(sizeof(struct kubuf_info) == 80);
static_assert(KUBUF_MAX_PINNED_PAGES <= (1UL << 20));	/* see limits.c */
static_assert(sizeof(struct kubuf_stats) == 264);
static_assert(KUBUF_STAT_NR <= KUBUF_STATS_MAX);
static_assert(sizeof(struct kubuf_ubuf_reg) == 48);
static_assert(sizeof(struct kubuf_id) == 8);
static_assert(sizeof(struct kubuf_ubuf_query) == 56);
static_assert(sizeof(struct kubuf_ucopy) == 56);
static_assert(sizeof(struct kubuf_kbuf_alloc) == 56);
static_assert(sizeof(struct kubuf_dev_cmd) == 80);
static_assert(sizeof(struct kubuf_eventfd) == 8);
static_assert(sizeof(struct kubuf_events) == 24);
static_assert(sizeof(struct kubuf_ring_attach) == 64);
static_assert(sizeof(struct kubuf_ring_query) == 72);
static_assert(sizeof(struct kubuf_stream) == 48);
static_assert(sizeof(struct kubuf_ring_ctl) == KUBUF_RING_CTL_SIZE);
static_assert(offsetof(struct kubuf_ring_ctl, tail) == 128);
static_assert(offsetof(struct kubuf_ring_ctl, magic) == 192);
static_assert(sizeof(struct kubuf_rec) == 8);
static_assert(sizeof(struct kubuf_ring_cmd) == 40);
static_assert(sizeof(struct kubuf_ring_done) == 24);

/**
 * struct kubuf_notify - the shared event of one file (notify.c).
 * @lock:	protects @ctx and @pending; a leaf lock, any context.
 * @ctx:	the bound eventfd, one reference held, or NULL.
 * @pending:	KUBUF_EVENT_* bits not yet read by KUBUF_IOC_GET_EVENTS.
 * @wq:		poll() waiters.
 */
struct kubuf_notify {
	spinlock_t lock;		/* see above */
	struct eventfd_ctx *ctx;
	u32 pending;
	wait_queue_head_t wq;
};

/**
 * struct kubuf_file - the state of one open file description.
 * @ref:	the struct file holds one reference, each device command in
 *		flight another; freed when the last goes.
 * @lock:	serialises changes to the file's objects (see main.c).
 * @ubufs:	id -> struct kubuf_ubuf, protected by @lock.
 * @kbufs:	id -> struct kubuf_kbuf, protected by @lock.
 * @rings:	id -> struct kubuf_ring, protected by @lock.
 * @ubuf_next:	cursor for ids of @ubufs, protected by @lock.
 * @kbuf_next:	cursor for ids of @kbufs, protected by @lock.
 * @nr_ubufs:	registrations in @ubufs, protected by @lock.
 * @nr_kbufs:	buffers in @kbufs, protected by @lock.
 * @nr_rings:	rings in @rings, protected by @lock.
 * @released:	set once by release(): device commands of this file stop.
 * @nr_cmds:	device commands queued or running for this file.
 * @cmds:	those commands (struct kubuf_cmd), protected by @lock.
 * @notify:	the file's eventfd, pending events and poll waiters.
 * @user:	who opened it, charged for the open file (a reference).
 */
struct kubuf_file {
	struct kref ref;
	struct kubuf_user *user;
	struct mutex lock;		/* see above */
	struct xarray ubufs;
	struct xarray kbufs;
	struct xarray rings;
	u32 ubuf_next;
	u32 kbuf_next;
	u32 nr_ubufs;
	u32 nr_kbufs;
	u32 nr_rings;
	bool released;
	atomic_t nr_cmds;
	struct list_head cmds;
	struct kubuf_notify notify;
};

void kubuf_file_get(struct kubuf_file *kf);
void kubuf_file_put(struct kubuf_file *kf);
int kubuf_file_reserve(struct kubuf_file *kf, u32 *nr, u32 max);
void kubuf_file_unreserve(struct kubuf_file *kf, u32 *nr);
int kubuf_id_from_user(const void __user *argp, u32 *id);

/* A state-changing call needs an fd opened for reading and writing. */
static inline bool kubuf_file_writable(const struct file *file)
{
	return (file->f_mode & (FMODE_READ | FMODE_WRITE)) ==
	       (FMODE_READ | FMODE_WRITE);
}

/**
 * struct kubuf_dev_mem - memory the device is using, and the reference
 * that keeps it there.
 * @vaddr:	kernel address of the buffer's first byte.
 * @len:	bytes the device may touch from @vaddr.
 * @kf:		the file the buffer belongs to.
 * @ubuf:	the registration, if the memory is one (else NULL).
 * @kbuf:	the driver buffer, if the memory is one (else NULL).
 * @app_write:	the application can write the memory too.
 *
 * Got by kubuf_ubuf_dev_get() or kubuf_kbuf_dev_get(); the device checks
 * kubuf_dev_mem_alive() between pages and stops when it turns false, and
 * gives the memory back with kubuf_dev_mem_put().
 */
struct kubuf_dev_mem {
	void *vaddr;
	u64 len;
	struct kubuf_file *kf;
	struct kubuf_ubuf *ubuf;
	struct kubuf_kbuf *kbuf;
	bool app_write;
};

bool kubuf_dev_mem_alive(const struct kubuf_dev_mem *m);
void kubuf_dev_mem_put(struct kubuf_dev_mem *m);
/* After the device wrote [off, off + len), before it reads it. */
void kubuf_dev_mem_written(struct kubuf_dev_mem *m, u64 off, u64 len);
void kubuf_dev_mem_will_read(struct kubuf_dev_mem *m, u64 off, u64 len);

/* limits.c: per-user limits and accounting. */
enum kubuf_limit {
	KUBUF_LIMIT_FILES,
	KUBUF_LIMIT_RINGS,
	KUBUF_LIMIT_CMDS,
	KUBUF_LIMIT_KBUF_PAGES,
	KUBUF_LIMIT_NR
};

struct kubuf_user;

/**
 * struct kubuf_memlock - pages charged to a user's RLIMIT_MEMLOCK.
 * @user:	who pays (a reference), or NULL (CAP_IPC_LOCK, or none).
 * @pages:	how many.
 */
struct kubuf_memlock {
	struct user_struct *user;
	unsigned long pages;
};

int kubuf_user_charge(enum kubuf_limit l, unsigned long n,
		      struct kubuf_user **up);
void kubuf_user_uncharge(struct kubuf_user *u, enum kubuf_limit l,
			 unsigned long n);
u32 kubuf_limit_info(enum kubuf_limit l);
int kubuf_memlock_charge(struct kubuf_memlock *ml, unsigned long nr);
void kubuf_memlock_uncharge(struct kubuf_memlock *ml);
int kubuf_pins_charge(unsigned long nr);
void kubuf_pins_uncharge(unsigned long nr);

/**
 * struct kubuf_cmd_mem - a buffer a device command uses, between slices.
 * @kind:	KUBUF_MEM_UBUF or KUBUF_MEM_KBUF; 0: none.
 * @access:	the access the command needs.
 * @ubuf:	UBUF: the registration, NULL once revoked; kubuf_file.lock.
 * @kmem:	KBUF: the buffer, its reference held for the whole command.
 *
 * A registration is held (its users count) only during a slice, so
 * revoking it never waits for a queued command.
 */
struct kubuf_cmd_mem {
	u32 kind;
	u32 access;
	struct kubuf_ubuf *ubuf;
	struct kubuf_dev_mem kmem;
};

/**
 * struct kubuf_cmd - one device command (sim.c), from KUBUF_IOC_DEV_CMD
 * or from a command ring.
 * @work:	runs one slice on the device's workers (ioctl commands).
 * @ref:	held by the workers and by a waiting caller.
 * @node:	in kubuf_file.cmds while in flight, protected by its lock.
 * @kf:		the file (a reference, for ioctl commands).
 * @user:	charged for the command (ioctl commands).
 * @args:	the command, validated.
 * @dst:	the target (not used by RESET).
 * @src:	COPY: the source.
 * @pass:	FILL: the pass in progress.
 * @done:	bytes of the pass (or of the command) done.
 * @sum:	CHECKSUM: the sum so far.
 * @finished:	completed when the command is over.
 * @status:	0 or -errno, valid after @finished.
 * @result:	CHECKSUM: the checksum, valid after @finished.
 */
struct kubuf_cmd {
	struct work_struct work;
	refcount_t ref;
	struct list_head node;
	struct kubuf_file *kf;
	struct kubuf_user *user;
	struct kubuf_dev_cmd args;
	struct kubuf_cmd_mem dst;
	struct kubuf_cmd_mem src;
	u32 pass;
	u64 done;
	u64 sum;
	struct completion finished;
	int status;
	u64 result;
};

/* ubuf.c: technique 1. The *_dev_get() lookups need kf->lock held. */
int kubuf_ubuf_ioctl(struct kubuf_file *kf, struct file *file,
		     unsigned int cmd, void __user *argp);
int kubuf_ubuf_dev_get(struct kubuf_file *kf, u32 id, u32 access,
		       struct kubuf_dev_mem *m);
int kubuf_ubuf_dev_hold(struct kubuf_file *kf, struct kubuf_ubuf *ub,
			u32 access, struct kubuf_dev_mem *m);
bool kubuf_ubuf_dev_alive(const struct kubuf_ubuf *ub);
void kubuf_ubuf_dev_put(struct kubuf_ubuf *ub);
void kubuf_ubuf_dev_written(struct kubuf_ubuf *ub, void *addr, u64 len);
void kubuf_ubuf_dev_will_read(struct kubuf_ubuf *ub, void *addr, u64 len);
int kubuf_ubuf_revoke_all(struct kubuf_file *kf);
void kubuf_ubuf_release_all(struct kubuf_file *kf);

/* kbuf.c: technique 2. */
int kubuf_kbuf_ioctl(struct kubuf_file *kf, struct file *file,
		     unsigned int cmd, void __user *argp);
int kubuf_kbuf_mmap(struct kubuf_file *kf, struct file *file,
		    struct vm_area_struct *vma);
int kubuf_kbuf_dev_get(struct kubuf_file *kf, u32 id,
		       struct kubuf_dev_mem *m);
void kubuf_kbuf_dev_put(struct kubuf_kbuf *kb);
void kubuf_kbuf_release_all(struct kubuf_file *kf);
u64 kubuf_kbuf_features(void);
void kubuf_kbuf_debugfs(struct dentry *dir);
int kubuf_kbuf_init(void);
void kubuf_kbuf_exit(void);

/* ring.c: shared rings and the device's stream. */
int kubuf_ring_ioctl(struct kubuf_file *kf, unsigned int cmd,
		     void __user *argp);
void kubuf_ring_revoked(struct kubuf_file *kf, struct kubuf_ubuf *ub);
void kubuf_ring_release_all(struct kubuf_file *kf);

/* copy.c: caller-context access and the copying baseline. */
int kubuf_copy_ioctl(struct kubuf_file *kf, void __user *argp);
ssize_t kubuf_copy_read(struct kubuf_file *kf, char __user *buf,
			size_t len);

/* notify.c: the shared event. */
void kubuf_notify_init(struct kubuf_notify *n);
void kubuf_notify_event(struct kubuf_notify *n, u32 events);
int kubuf_notify_ioctl(struct kubuf_notify *n, unsigned int cmd,
		       void __user *argp);
__poll_t kubuf_notify_poll(struct kubuf_notify *n, struct file *file,
			   poll_table *pt);
void kubuf_notify_release(struct kubuf_notify *n);

/* sim.c: the simulated device. */
extern struct workqueue_struct *kubuf_sim_wq;
int kubuf_sim_cmd_ioctl(struct kubuf_file *kf, void __user *argp);
int kubuf_sim_cmd_start(struct kubuf_file *kf, struct kubuf_cmd *c);
int kubuf_sim_cmd_slice(struct kubuf_cmd *c);
void kubuf_sim_cmd_end(struct kubuf_cmd *c);
void kubuf_sim_revoked(struct kubuf_file *kf, struct kubuf_ubuf *ub);
int kubuf_sim_call(struct kubuf_file *kf, int (*fn)(void *arg),
		   void (*drop)(void *arg), void *arg);
int kubuf_sim_init(void);
void kubuf_sim_exit(void);

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
