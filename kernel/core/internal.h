/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kubuf core's own header: what the files of kubuf_core.ko share.
 * Drivers see include/kubuf/core.h only.
 *
 * Each concept of the core lives in its own file; this header is the
 * boundary between them. See device.c for the object model and lock
 * order.
 *
 *   device.c  kubuf devices and their files: create, destroy, open,
 *             release, read, mmap, poll; the counters
 *   ioctl.c   the ioctl table: one entry per ioctl of the ABI
 *   ubuf.c    technique 1: registered application memory
 *   kbuf.c    technique 2: driver-allocated buffers and mmap
 *   mem.c     the device's hold on memory (struct kubuf_mem)
 *   cmd.c     device commands and the device's workers
 *   ring.c    shared rings: streams and the command ring
 *   notify.c  the shared event: eventfd, pending events, poll
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

#include <linux/miscdevice.h>
#include <linux/srcu.h>

#include <kubuf/core.h>
#include <kubuf/ring.h>

#include "compat.h"

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
 * struct kubuf_device - one kubuf device: a /dev node of a driver.
 * @ref:	the driver's (until kubuf_device_destroy) and each open
 *		file's; freed with the last.
 * @misc:	the character device.
 * @name:	its name under /dev.
 * @ops:	the driver's part; called only inside @srcu, never once
 *		@gone is set and kubuf_device_destroy() returned.
 * @priv:	the driver's pointer.
 * @dev:	the driver's device (a reference), for DMA; or NULL.
 * @features:	KUBUF_FEAT_* of the device, fixed at create (GET_INFO
 *		answers after removal, when @ops may be gone).
 * @flags:	@ops->flags, for the same reason.
 * @can_read:	@ops->read is set, for the same reason.
 * @can_stream:	@ops->stream_burst is set, for the same reason.
 * @ring_priv:	@ops->ring_priv, for the same reason.
 * @wq:		the device's workers (cmd.c).
 * @srcu:	readers: every call into @ops (kubuf_dev_enter).
 * @closing:	set once by kubuf_device_destroy(): no call of the
 *		application's gets through any more, no memory is alive for
 *		the device, nothing new is made or started.
 * @gone:	set once by kubuf_device_destroy(), after @closing and the
 *		revocations: no callback is made any more (kubuf_dev_enter).
 * @lock:	protects @files.
 * @files:	the open files (kubuf_file.node).
 * @dma_lock:	protects @dma_kbufs.
 * @dma_kbufs:	driver buffers holding DMA memory of @dev (kbuf.c), which
 *		kubuf_device_destroy() frees before it returns.
 * @dma_holds:	the driver's holds (kubuf_mem_get()) on those buffers,
 *		which kubuf_device_destroy() waits for first.
 * @free_work:	frees it after the last reference (device.c).
 * @name_node:	in the list of names taken (device.c), create to destroy.
 */
struct kubuf_device {
	struct kref ref;
	struct miscdevice misc;
	char name[32];
	const struct kubuf_ops *ops;
	void *priv;
	struct device *dev;
	u64 features;
	unsigned int flags;
	bool can_read;
	bool can_stream;
	size_t ring_priv;
	struct workqueue_struct *wq;
	struct srcu_struct srcu;
	bool closing;
	bool gone;
	struct mutex lock;		/* see above */
	struct list_head files;
	struct mutex dma_lock;		/* see above */
	struct list_head dma_kbufs;
	atomic_t dma_holds;
	struct work_struct free_work;
	struct list_head name_node;
};

void kubuf_device_get(struct kubuf_device *kd);
void kubuf_device_put(struct kubuf_device *kd);

/*
 * Enter the device to call the driver: false once it is gone. Between a
 * true return and kubuf_dev_exit(), kubuf_device_destroy() waits, so the
 * driver's code may run.
 */
static inline bool kubuf_dev_enter(struct kubuf_device *kd, int *idx)
{
	*idx = srcu_read_lock(&kd->srcu);
	if (!READ_ONCE(kd->gone))
		return true;
	srcu_read_unlock(&kd->srcu, *idx);
	return false;
}

/*
 * Enter the device to make something of it (a DMA mapping, a buffer of
 * its DMA memory): false once it is closing. A removal waits for the
 * section, and after it nothing more is made.
 */
static inline bool kubuf_dev_enter_open(struct kubuf_device *kd, int *idx)
{
	*idx = srcu_read_lock(&kd->srcu);
	if (!READ_ONCE(kd->closing))
		return true;
	srcu_read_unlock(&kd->srcu, *idx);
	return false;
}

static inline void kubuf_dev_exit(struct kubuf_device *kd, int idx)
{
	srcu_read_unlock(&kd->srcu, idx);
}

/**
 * struct kubuf_file - the state of one open file description.
 * @ref:	the struct file holds one reference, each device command in
 *		flight another; freed when the last goes.
 * @lock:	serialises changes to the file's objects (see device.c).
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
 * @kd:		its device (a reference).
 * @node:	in kubuf_device.files until release(); kubuf_device.lock.
 * @mapping:	the address space its mappings are in (the struct file's
 *		f_mapping), while it is on kubuf_device.files.
 */
struct kubuf_file {
	struct kref ref;
	struct kubuf_device *kd;
	struct list_head node;
	struct address_space *mapping;
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

int kubuf_file_reserve(struct kubuf_file *kf, u32 *nr, u32 max);
void kubuf_file_unreserve(struct kubuf_file *kf, u32 *nr);
int kubuf_id_from_user(const void __user *argp, u32 *id);

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

/* ioctl.c: the ioctl table; one handler per ioctl, in each file. */
long kubuf_fop_ioctl(struct file *file, unsigned int cmd,
		     unsigned long arg);
int kubuf_ioc_ubuf_register(struct kubuf_file *kf, void __user *argp);
int kubuf_ioc_ubuf_unregister(struct kubuf_file *kf, void __user *argp);
int kubuf_ioc_ubuf_query(struct kubuf_file *kf, void __user *argp);
int kubuf_ioc_kbuf_alloc(struct kubuf_file *kf, void __user *argp);
int kubuf_ioc_kbuf_free(struct kubuf_file *kf, void __user *argp);
int kubuf_ioc_dev_cmd(struct kubuf_file *kf, void __user *argp);
int kubuf_ioc_ring_attach(struct kubuf_file *kf, void __user *argp);
int kubuf_ioc_ring_detach(struct kubuf_file *kf, void __user *argp);
int kubuf_ioc_ring_query(struct kubuf_file *kf, void __user *argp);
int kubuf_ioc_ring_kick(struct kubuf_file *kf, void __user *argp);
int kubuf_ioc_stream_start(struct kubuf_file *kf, void __user *argp);
int kubuf_ioc_stream_stop(struct kubuf_file *kf, void __user *argp);
int kubuf_ioc_ucopy(struct kubuf_file *kf, void __user *argp);

/* copy.c: the copying paths. */
ssize_t kubuf_read(struct kubuf_file *kf, char __user *buf, size_t len);

/* ubuf.c: technique 1. The *_dev_get() lookups need kf->lock held. */
int kubuf_ubuf_dev_get(struct kubuf_file *kf, u32 id, u32 access,
		       struct kubuf_mem *m);
int kubuf_ubuf_dev_hold(struct kubuf_file *kf, struct kubuf_ubuf *ub,
			u32 access, struct kubuf_mem *m);
bool kubuf_ubuf_dev_alive(const struct kubuf_ubuf *ub);
void kubuf_ubuf_dev_put(struct kubuf_ubuf *ub);
void kubuf_ubuf_dev_written(struct kubuf_ubuf *ub, void *addr, u64 len);
void kubuf_ubuf_dev_will_read(struct kubuf_ubuf *ub, void *addr, u64 len);
void kubuf_ubuf_release_all(struct kubuf_file *kf);

/* kbuf.c: technique 2. */
int kubuf_kbuf_mmap(struct kubuf_file *kf, struct file *file,
		    struct vm_area_struct *vma);
int kubuf_kbuf_dev_get(struct kubuf_file *kf, u32 id,
		       struct kubuf_mem *m);
void kubuf_kbuf_dev_put(struct kubuf_kbuf *kb);
void kubuf_kbuf_dma_hold(struct kubuf_mem *m);
void kubuf_kbuf_dma_unhold(struct kubuf_kbuf *kb);
void kubuf_kbuf_release_all(struct kubuf_file *kf);
void kubuf_kbuf_unplug(struct kubuf_device *kd);
u64 kubuf_kbuf_features(const struct kubuf_device *kd);
void kubuf_kbuf_debugfs(struct dentry *dir);

/* mem.c: the device's hold on memory. */
int kubuf_mem_get_locked(struct kubuf_file *kf, u32 kind, u32 id,
			 u32 access, struct kubuf_mem *m);

/* cmd.c: device commands, on the device's workers. */
int kubuf_cmd_start(struct kubuf_file *kf, struct kubuf_cmd *c);
int kubuf_cmd_slice(struct kubuf_cmd *c);
void kubuf_cmd_end(struct kubuf_cmd *c);
void kubuf_cmd_revoked(struct kubuf_file *kf, struct kubuf_ubuf *ub);
int kubuf_call(struct kubuf_file *kf, int (*fn)(void *arg),
	       void (*drop)(void *arg), void *arg);

/* ring.c: shared rings. */
void kubuf_ring_revoked(struct kubuf_file *kf, struct kubuf_ubuf *ub);
void kubuf_ring_unplug(struct kubuf_file *kf);
void kubuf_ring_release_all(struct kubuf_file *kf);

/* notify.c: the shared event. */
void kubuf_notify_init(struct kubuf_notify *n);
void kubuf_notify_event(struct kubuf_notify *n, u32 events);
int kubuf_notify_set_eventfd(struct kubuf_notify *n, void __user *argp);
int kubuf_notify_get_events(struct kubuf_notify *n, void __user *argp);
__poll_t kubuf_notify_poll(struct kubuf_notify *n, struct file *file,
			   poll_table *pt);
void kubuf_notify_hangup(struct kubuf_notify *n);
void kubuf_notify_release(struct kubuf_notify *n);

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
