/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kubuf core: what a driver uses to share memory with applications.
 *
 * kubuf_core.ko owns a character device per kubuf device, its file
 * operations and the whole ABI of <linux/kubuf.h>: registrations
 * (technique 1), driver buffers (technique 2), events, rings, limits and
 * revocation. A driver ("client") creates a kubuf device for its own
 * struct device and supplies the device's part, the struct kubuf_ops
 * below: what a device command does to memory, what a stream produces,
 * what read() and UCOPY return. The simulated device (kubuf.ko) is one
 * such client; Documentation/driver-api.md is the guide, with a skeleton.
 *
 * Objects a driver sees:
 *
 *   struct kubuf_device  one /dev node; made by kubuf_device_create(),
 *                        gone after kubuf_device_destroy();
 *   struct kubuf_file    one open file description of it; the driver
 *                        meets it in callbacks and keeps it beyond the
 *                        callback only with a reference (kubuf_file_get);
 *   struct kubuf_cmd     one device command in flight (KUBUF_IOC_DEV_CMD
 *                        or a command ring's record), with its buffers;
 *   struct kubuf_mem     memory the device touches, held: while held, a
 *                        registration cannot be unpinned and a driver
 *                        buffer cannot be freed. Revocation waits for
 *                        every holder, so a holder checks
 *                        kubuf_mem_alive() between pages and lets go
 *                        promptly when it turns false;
 *   struct kubuf_ring    one attached ring; a driver produces into a
 *                        stream ring only from its ->stream_burst().
 *
 * Context rules: every callback runs in process context and may sleep;
 * none is called with a lock of the core held unless it says so. Each
 * function's kernel-doc, next to its code in kernel/core/, says where it
 * may be called from; the groups below repeat it. kubuf_notify() may be
 * called from interrupt handlers.
 *
 * What the core checks before the driver sees a call: every field of the
 * ABI it knows (flags, reserved fields, the buffers and ranges the driver
 * names, the limits of <linux/kubuf.h>). The driver checks the rest of a
 * command: its op, the fields its op uses (seed, repeat, len, including
 * its own bound on the work) and that the fields it does not use are 0.
 *
 * Lifetime: after kubuf_device_destroy() returns, the core calls no
 * callback of that device again and the driver may unload; open files of
 * the device live on, with every call but GET_INFO and GET_EVENTS
 * failing with -ENODEV, until the application closes them. The memory
 * of their DMA driver buffers went back to the DMA API inside
 * kubuf_device_destroy() (after the driver's own holds on it ended), and
 * their mappings raise SIGBUS; driver buffers of pages stay readable
 * until unmapped.
 */
#ifndef KUBUF_CORE_H
#define KUBUF_CORE_H

#include <linux/bits.h>
#include <linux/completion.h>
#include <linux/list.h>
#include <linux/refcount.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include <linux/kubuf.h>
#include <linux/kubuf_ring.h>

struct device;
struct module;
struct sg_table;
struct kubuf_device;
struct kubuf_file;
struct kubuf_ubuf;
struct kubuf_kbuf;
struct kubuf_ring;
struct kubuf_user;

/**
 * struct kubuf_mem - memory a device touches, and its hold.
 * @vaddr:	kernel address of the buffer's first byte.
 * @len:	bytes of the buffer.
 * @sgt:	a registration of a device with KUBUF_DMA_UBUF: its pages,
 *		DMA-mapped for the device (dma_map_sgtable(), direction from
 *		the registration's access, segments no longer than
 *		dma_max_mapping_size()) from registration until revoked. The
 *		first segment's bus address is the buffer's byte 0; its page
 *		holds that byte at @sgt_offset. NULL otherwise. Mapped without
 *		a CPU sync (DMA_ATTR_SKIP_CPU_SYNC): around each transfer the
 *		driver syncs its range (dma_sync_single_for_device() before
 *		the device reads, _for_cpu() after it writes), which bounce
 *		buffers (swiotlb) need.
 * @sgt_offset:	see @sgt.
 * @dma_addr:	a KUBUF_KBUF_DMA driver buffer: the device's address of
 *		byte 0 (never given to user space); else DMA_MAPPING_ERROR.
 * @kf:		private: the file the buffer belongs to.
 * @ubuf:	private: the registration, if it is one.
 * @kbuf:	private: the driver buffer, if it is one.
 * @dma_hold:	private: a driver's hold (kubuf_mem_get()) on a DMA driver
 *		buffer, which kubuf_device_destroy() waits for.
 * @app_write:	the application may write the memory too.
 */
struct kubuf_mem {
	void *vaddr;
	u64 len;
	struct sg_table *sgt;
	u32 sgt_offset;
	dma_addr_t dma_addr;
	struct kubuf_file *kf;
	struct kubuf_ubuf *ubuf;
	struct kubuf_kbuf *kbuf;
	bool dma_hold;
	bool app_write;
};

int kubuf_mem_get(struct kubuf_file *kf, u32 kind, u32 id, u32 access,
		  struct kubuf_mem *m);
bool kubuf_mem_alive(const struct kubuf_mem *m);
void kubuf_mem_written(struct kubuf_mem *m, u64 off, u64 len);
void kubuf_mem_will_read(struct kubuf_mem *m, u64 off, u64 len);
void kubuf_mem_put(struct kubuf_mem *m);
/*
 * Holds: kubuf_mem_get() and kubuf_mem_put() in process context, never
 * while the caller holds another registration of the same file (a
 * revocation holding the file's lock may be waiting for it);
 * kubuf_mem_alive() anywhere. kubuf_mem_written() and
 * kubuf_mem_will_read() are for the CPU's accesses through @vaddr; what
 * the device reads and writes by DMA is synced with the DMA API
 * (dma_sync_sgtable_*(), dma_sync_single_*()) on @sgt or @dma_addr.
 */

/**
 * struct kubuf_cmd - one device command in flight.
 * @args:	the command as the application gave it, checked by the core
 *		(flags, reserved fields, buffers and ranges) and by the
 *		driver's ->cmd_check(); read-only.
 * @kf:		the file it runs for.
 * @result:	the driver's result (CHECKSUM's sum), reported on success.
 * @drv:	the driver's progress between slices, zero at start.
 *
 * The rest is the core's.
 */
struct kubuf_cmd {
	struct kubuf_dev_cmd args;
	struct kubuf_file *kf;
	u64 result;
	u64 drv[3];
	/* private: */
	u32 dst_access;
	u32 src_access;
	struct kubuf_cmd_mem {
		u32 kind;
		u32 access;
		struct kubuf_ubuf *ubuf;
		struct kubuf_mem kmem;
	} dst, src;
	struct work_struct work;
	refcount_t ref;
	struct list_head node;
	struct kubuf_user *user;
	struct completion finished;
	int status;
};

/* kubuf_ops.flags */
#define KUBUF_DMA_UBUF		BIT(0)	/* DMA-map registrations for @dev */
#define KUBUF_DMA_ONLY		BIT(1)	/* ... and reach nothing but by DMA */

/* ->stream_burst() and the core's rings: "nothing due until kicked". */
#define KUBUF_RING_IDLE		U64_MAX

/**
 * struct kubuf_ops - the driver's part of a kubuf device.
 * @owner:	the driver's module (THIS_MODULE).
 * @flags:	KUBUF_DMA_UBUF: map each registration for the device's DMA
 *		when it is registered (the device given at create must be
 *		able to: its DMA mask set); if the mapping fails, so does
 *		the registration (-ENOMEM, or the DMA API's errno).
 *		KUBUF_DMA_ONLY: that, and the device reaches memory only by
 *		DMA: a command naming a driver buffer of plain pages (no bus
 *		address) fails with -EOPNOTSUPP before the driver sees it.
 * @revoke:	registration @id of @kf is being revoked (the application
 *		unregisters or closes, the driver revokes it, or the device
 *		is being removed): tell the device to stop using it now
 *		(abort a DMA in flight), without waiting for it. The core
 *		then waits for every hold to be given back, and unmaps and
 *		unpins only after that. Process context, the file's lock
 *		held: call no function of the core, and wait for nothing that
 *		a slice of the device may be doing. Optional.
 * @cmd_check:	KUBUF_IOC_DEV_CMD or a command ring's record: check the
 *		fields of @a that the core does not know (op, seed, repeat,
 *		len) and say which buffers it uses, with what access
 *		(KUBUF_ACCESS_DEV_*): *@dst for (kind, id, offset, len), *@src
 *		for (src_kind, src_id, src_offset, len); 0: none (the fields
 *		are then the driver's to check). Return 0 or the errno the
 *		application gets. Process context, no lock. Set with
 *		@cmd_slice, or neither: the device has no commands
 *		(KUBUF_FEAT_DEVICE off, KUBUF_IOC_DEV_CMD fails -EOPNOTSUPP).
 * @cmd_slice:	run a bounded part of @c (a few hundred KiB, or one
 *		transfer of the device) with its buffers held in @dst and
 *		@src (zeroed when unused), checking kubuf_mem_alive() between
 *		pages or transfers. Return -EINPROGRESS to be called again
 *		after everyone else's turn, else the command's status.
 *		Process context (one of the device's workers, which a slice
 *		waiting for its device's interrupt keeps busy meanwhile), no
 *		lock held. A command without buffers may call
 *		kubuf_file_revoke() (a reset).
 * @ucopy:	one page of KUBUF_IOC_UCOPY (checked by the core, which
 *		copies between the application and @page): FILL: write the
 *		device's bytes [@off, @off + @n) of the pattern @seed to
 *		@page; CHECKSUM: fold @page's @n bytes into *@sum. Return 0
 *		or an errno for the caller. Process context (the caller's),
 *		no lock. Without it: -EOPNOTSUPP, KUBUF_FEAT_UCOPY off.
 * @read:	read() of the device: write its first @len bytes to @buf
 *		(kernel memory; the core copies them out). Process context
 *		(the device's workers), no lock. Return 0 or an errno.
 *		Without it: -EINVAL.
 *
 * No callback ever touches the application's memory but through a hold
 * (struct kubuf_mem): the core does every copy from and to user space,
 * so that no callback waits on a page fault the application controls.
 * @ring_priv:	bytes of per-ring state the driver wants (kubuf_ring_priv).
 * @stream_start: KUBUF_IOC_STREAM_START on @r, checked by the core: set
 *		up the stream's state. Process context, the ring's producer
 *		lock held (the same as ->stream_burst()).
 * @stream_stop: the stream of @r ends for the driver (STOP, the ring
 *		detached, the file released, the device removed): after
 *		this returns, the driver wakes @r no more (kubuf_ring_wake).
 *		Once per successful ->stream_start(). Process context, the
 *		ring's producer lock held. Optional.
 * @stream_flags: the KUBUF_STREAM_* flags besides LOSSLESS that the
 *		stream honours: KUBUF_STREAM_BARE (write each record's header
 *		only) or 0. The core refuses the others with -EOPNOTSUPP and
 *		reports KUBUF_FEAT_STREAM_BARE.
 * @stream_burst: produce what is due into stream ring @r, a bounded
 *		burst (kubuf_ring_reserve/commit), then say when to be called
 *		again: an absolute CLOCK_MONOTONIC time in ns, 0 for "at once,
 *		after the others' turn", or KUBUF_RING_IDLE. Process context
 *		(the device's workers), the ring's memory held and its
 *		producer lock held: no sleeping on anything the application
 *		controls.
 */
struct kubuf_ops {
	struct module *owner;
	unsigned int flags;
	void (*revoke)(struct kubuf_file *kf, u32 id);
	int (*cmd_check)(struct kubuf_device *kd, const struct kubuf_dev_cmd *a,
			 u32 *dst, u32 *src);
	int (*cmd_slice)(struct kubuf_cmd *c, struct kubuf_mem *dst,
			 struct kubuf_mem *src);
	int (*ucopy)(struct kubuf_device *kd, u32 op, u32 seed, void *page,
		     u64 off, u32 n, u64 *sum);
	int (*read)(struct kubuf_device *kd, void *buf, size_t len);
	size_t ring_priv;
	int (*stream_start)(struct kubuf_ring *r, const struct kubuf_stream *s);
	void (*stream_stop)(struct kubuf_ring *r);
	u32 stream_flags;
	u64 (*stream_burst)(struct kubuf_ring *r);
};

/* The ABI's four commands (FILL, CHECKSUM, COPY, RESET), as a ->cmd_check. */
int kubuf_dev_cmd_check(struct kubuf_device *kd, const struct kubuf_dev_cmd *a,
			u32 *dst, u32 *src);

/* Devices. Process context. */
struct kubuf_device *kubuf_device_create(struct device *dev, const char *name,
					 const struct kubuf_ops *ops,
					 void *priv);
void kubuf_device_destroy(struct kubuf_device *kd);
void *kubuf_device_priv(const struct kubuf_device *kd);
struct device *kubuf_device_dev(const struct kubuf_device *kd);
struct kubuf_device *kubuf_file_device(const struct kubuf_file *kf);

/* Revocation, each telling the application. Process context, no hold. */
int kubuf_ubuf_revoke_id(struct kubuf_file *kf, u32 id);
void kubuf_file_revoke(struct kubuf_file *kf);
void kubuf_device_revoke(struct kubuf_device *kd);

/*
 * Events (KUBUF_EVENT_*): from any context a spinlock_t may be taken in:
 * process, softirq, timers, interrupt handlers of request_irq() (threaded
 * on PREEMPT_RT); not raw contexts (a hard hrtimer, irq_work, under a
 * raw spinlock). To raise one after its callback returned
 * (a transfer completing later), the driver keeps the file with
 * kubuf_file_get() and lets it go with kubuf_file_put() in process
 * context.
 */
void kubuf_notify(struct kubuf_file *kf, u32 events);
void kubuf_file_get(struct kubuf_file *kf);
void kubuf_file_put(struct kubuf_file *kf);

/*
 * Stream rings, from ->stream_start() and ->stream_burst() only; but
 * kubuf_ring_wake() from any context, between ->stream_start() and
 * ->stream_stop().
 */
void kubuf_ring_wake(struct kubuf_ring *r);
struct kubuf_file *kubuf_ring_file(const struct kubuf_ring *r);
void *kubuf_ring_priv(struct kubuf_ring *r);
u32 kubuf_ring_stream_state(const struct kubuf_ring *r);
bool kubuf_ring_alive(const struct kubuf_ring *r);
void *kubuf_ring_reserve(struct kubuf_ring *r, u32 len, u32 type);
void kubuf_ring_commit(struct kubuf_ring *r, u32 len);
void kubuf_ring_drop(struct kubuf_ring *r, u64 n);
u64 kubuf_ring_wait_room(struct kubuf_ring *r, u32 len);
void kubuf_ring_announce(struct kubuf_ring *r, u64 nr, bool force);
void kubuf_ring_stream_done(struct kubuf_ring *r, u64 nr);

#endif /* KUBUF_CORE_H */
