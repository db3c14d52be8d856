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
 *                        meets it in callbacks and never keeps it beyond
 *                        the callback unless it holds a command of it;
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
 * none is called with a lock of the core held unless it says so. The
 * functions below say where they may be called from. kubuf_notify() may
 * be called from any context, hard interrupts included.
 *
 * Lifetime: after kubuf_device_destroy() returns, the core calls no
 * callback of that device again, holds no memory of the device's DMA
 * API, and the driver may unload; open files of the device live on, with
 * every call but GET_INFO and GET_EVENTS failing with -ENODEV, until
 * the application closes them.
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
 *		the registration's access) from registration until revoked;
 *		byte 0 of the buffer is @sgt_offset bytes into the first
 *		segment. NULL otherwise. With bounce buffers (swiotlb) the
 *		driver syncs, as the DMA API says (dma_sync_sgtable_*()).
 * @sgt_offset:	see @sgt.
 * @dma_addr:	a KUBUF_KBUF_DMA driver buffer: the device's address of
 *		byte 0 (never given to user space); else 0.
 * @kf:		private: the file the buffer belongs to.
 * @ubuf:	private: the registration, if it is one.
 * @kbuf:	private: the driver buffer, if it is one.
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
	bool app_write;
};

int kubuf_mem_get(struct kubuf_file *kf, u32 kind, u32 id, u32 access,
		  struct kubuf_mem *m);
bool kubuf_mem_alive(const struct kubuf_mem *m);
void kubuf_mem_written(struct kubuf_mem *m, u64 off, u64 len);
void kubuf_mem_will_read(struct kubuf_mem *m, u64 off, u64 len);
void kubuf_mem_put(struct kubuf_mem *m);

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

/* ->stream_burst() and the core's rings: "nothing due until kicked". */
#define KUBUF_RING_IDLE		U64_MAX

/**
 * struct kubuf_ops - the driver's part of a kubuf device.
 * @owner:	the driver's module (THIS_MODULE).
 * @flags:	KUBUF_DMA_UBUF: map each registration for the device's DMA
 *		when it is registered (the device given at create must be
 *		able to: its DMA mask set); a mapping that fails fails the
 *		registration (-ENOMEM, or the DMA API's errno).
 * @revoke:	registration @id of @kf is being revoked (the application
 *		unregisters or closes, or the driver revokes it): stop the
 *		device's use of it now (abort a DMA in flight). The core then
 *		waits for every hold to be given back, and unmaps and unpins
 *		it only after that. Process context, the file's lock held:
 *		call no function of the core. Optional. Not called for the
 *		revocations of kubuf_device_destroy(): before it, the driver
 *		stops its device and gives back its holds itself.
 * @cmd_check:	KUBUF_IOC_DEV_CMD or a command ring's record: check the
 *		fields of @a that the core does not know (op, seed, repeat,
 *		len) and say which buffers it uses, with what access
 *		(KUBUF_ACCESS_DEV_*): *@dst for (kind, id, offset, len), *@src
 *		for (src_kind, src_id, src_offset, len); 0: none. Return 0 or
 *		the errno the application gets. Process context, no lock.
 *		Without it the device has no commands (KUBUF_FEAT_DEVICE off).
 * @cmd_slice:	run a bounded part of @c (a few hundred KiB at most) with
 *		its buffers held in @dst and @src (zeroed when unused),
 *		checking kubuf_mem_alive() between pages. Return
 *		-EINPROGRESS to be called again after everyone else's turn,
 *		else the command's status. Process context (the device's
 *		workers), no lock held; may call kubuf_file_revoke().
 * @ucopy:	KUBUF_IOC_UCOPY, checked by the core: run it in the
 *		caller's context. Process context, no lock.
 * @read:	read() of the device. Process context, no lock.
 * @ring_priv:	bytes of per-ring state the driver wants (kubuf_ring_priv).
 * @stream_start: KUBUF_IOC_STREAM_START on @r, checked by the core: set
 *		up the stream's state. Process context, the ring's producer
 *		lock held (the same as ->stream_burst()).
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
	int (*ucopy)(struct kubuf_file *kf, struct kubuf_ucopy *a,
		     struct kubuf_ucopy __user *uarg);
	ssize_t (*read)(struct kubuf_file *kf, char __user *buf, size_t len);
	size_t ring_priv;
	int (*stream_start)(struct kubuf_ring *r, const struct kubuf_stream *s);
	u64 (*stream_burst)(struct kubuf_ring *r);
};

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

/* Events (KUBUF_EVENT_*): any context. */
void kubuf_notify(struct kubuf_file *kf, u32 events);

/* Work in the device's context, killable (for read()). Process context. */
int kubuf_call(struct kubuf_file *kf, int (*fn)(void *arg),
	       void (*drop)(void *arg), void *arg);

/* Stream rings, from ->stream_start() and ->stream_burst() only. */
void *kubuf_ring_priv(struct kubuf_ring *r);
u32 kubuf_ring_stream_state(const struct kubuf_ring *r);
bool kubuf_ring_alive(const struct kubuf_ring *r);
void *kubuf_ring_reserve(struct kubuf_ring *r, u32 len, u32 type);
void kubuf_ring_commit(struct kubuf_ring *r, u32 len);
void kubuf_ring_drop(struct kubuf_ring *r, u64 n);
void kubuf_ring_announce(struct kubuf_ring *r, u64 nr, bool force);
void kubuf_ring_stream_done(struct kubuf_ring *r, u64 nr);

#endif /* KUBUF_CORE_H */
