// SPDX-License-Identifier: GPL-2.0
/*
 * Shared rings: the device and the application stream records to each
 * other through memory both map, in the layout of
 * include/uapi/linux/kubuf_ring.h, with the protocol and checks of
 * include/kubuf/ring.h (one implementation, shared with libkubuf). This
 * file gives each ring its memory, its turns on the device's workers and
 * its wakeups; what a stream produces is the driver's
 * (kubuf_ops.stream_burst), through kubuf_ring_reserve(),
 * kubuf_ring_commit() and kubuf_ring_announce().
 *
 * Object model
 * ------------
 *
 *   kubuf_file --rings--> kubuf_ring --ubuf--> kubuf_ubuf  (looked up)
 *                            |   \----kmem--> kubuf_kbuf   (kref held)
 *                            +-- work, timer (the device's turn)
 *                            +-- evfd (eventfd_ctx, one reference)
 *                            +-- user (charged for the ring)
 *
 * A ring lives in the file's xarray from ATTACH to DETACH or release.
 * The device serves it with a work item on the device's workers (cmd.c:
 * a fixed pool, whatever the number of rings) and an hrtimer that queues
 * that work when something is due. Each run of the work is one bounded
 * burst; if more is due at once, the work queues itself again at the
 * tail, behind every other ring and command. Detach and release stop
 * both (kubuf_ring_stop) before the ring is freed, always without
 * kubuf_file.lock held, since the work takes that lock; nothing else
 * refers to a ring outside kubuf_file.lock.
 *
 *   TO_APP: the work is the driver's stream: it produces the records
 *           that are due, then sets the timer for when the next is due,
 *           or when a batched wakeup must go out; the reply ring of a
 *           command ring gets its completions from the core.
 *   TO_DEV: the work consumes commands and runs each, one slice per run
 *           (kubuf_cmd_slice), then produces its completion into the
 *           reply ring; when the ring is empty it says it is waiting and
 *           runs again only when kicked.
 *
 * Memory. A ring in a driver buffer holds a reference on the buffer for
 * its whole life (kmem): freeing the buffer does not free the memory, so
 * its kernel address stays valid. A ring in a registration cannot: a
 * registration's device users block its revocation. So the thread takes
 * the registration's device reference (kubuf_ubuf_dev_hold) for one
 * bounded burst at a time, under kubuf_file.lock, through ring->ubuf, and
 * revocation (kubuf_ring_revoked, under the same lock) clears ring->ubuf
 * and marks the ring DEAD, then waits for the burst to notice. A command
 * the ring is running holds its buffers as every command does (cmd.c).
 *
 * Trust. Every value read from the ring goes through the checks of
 * kubuf/ring.h; a command is copied out of the ring before it is looked
 * at. A failed check marks the ring BROKEN and the thread stops using it.
 * Each burst is bounded (records, bytes), so no application can keep a
 * worker in a loop; the driver's burst is bounded the same way.
 *
 * Driver code (->stream_start, ->stream_burst) runs inside the device's
 * SRCU section, never after kubuf_device_destroy().
 *
 * Lock order
 * ----------
 *
 *   kubuf_file.lock
 *     kubuf_ring.prod_lock (TO_APP: the producer's view, stream and
 *                           wakeup state; the stream thread and reply
 *                           producers, serialised)
 *       kubuf_ubuf.lock, kubuf_notify.lock
 *
 * The stream's work takes prod_lock without kubuf_file.lock, and never
 * takes kubuf_file.lock while it holds prod_lock or a device reference.
 *
 * Caches. The ring is accessed through the kernel's mapping of the pages;
 * on machines whose caches do not see one physical page through two
 * virtual addresses the same way (VIVT), the positions would need flushing
 * at every access. kubuf, like io_uring, relies on coherent mappings.
 */
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/hrtimer.h>
#include <linux/math64.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "internal.h"

#define KUBUF_RING_BURST_RECS	64		/* records per burst */
#define KUBUF_RING_BURST_BYTES	SZ_256K		/* payload bytes per burst */
#define KUBUF_RING_MAX_WAKE_US	10000000U
/* kubuf_ring_find(): a ring of either direction. */
#define KUBUF_RING_ANY		0
/* Waiting for room, and the application has never kicked: look this often. */
#define KUBUF_RING_ROOM_POLL_NS	(5 * NSEC_PER_MSEC)
#define KUBUF_RING_CMD_MAX	(sizeof(struct kubuf_ring_cmd) + \
				 KUBUF_RCMD_ECHO_MAX)

/**
 * struct kubuf_ring - one attached ring. Fields without a lock named are
 * set at attach and constant.
 * @id:		its id in kubuf_file.rings.
 * @dir:	KUBUF_RING_TO_APP or KUBUF_RING_TO_DEV.
 * @flags:	KUBUF_RING_BUSY_POLL or 0.
 * @kind:	KUBUF_MEM_UBUF or KUBUF_MEM_KBUF.
 * @offset:	where the ring starts in its buffer.
 * @data_size:	bytes of its data area.
 * @wake_records: TO_APP: announce after this many records.
 * @wake_ns:	TO_APP: or when the first unannounced one is this old (0: no).
 * @reply_id:	TO_DEV: the ring completions go to, or 0.
 * @kf:		the file (the file outlives the ring).
 * @ubuf:	UBUF: the registration, NULL once revoked; kubuf_file.lock.
 * @kmem:	KBUF: the buffer's memory, a reference held.
 * @evfd:	the eventfd wakeups go to (a reference), or NULL.
 * @user:	charged for the ring (a reference).
 * @work:	the device's turn: one burst, on kubuf_device.wq.
 * @timer:	queues @work when something is due.
 * @stopping:	set once by kubuf_ring_stop(): @work re-arms nothing.
 * @state:	KUBUF_RING_*; leaves ACTIVE once (cmpxchg), never returns.
 * @error:	KUBUF_RING_ERR_* when @state is BROKEN.
 * @prod_lock:	see the lock order above.
 * @view:	the device's view: producer (TO_APP, @prod_lock) or consumer
 *		(TO_DEV, the thread only).
 * @stream_state: KUBUF_STREAM_*; @prod_lock.
 * @streaming:	the driver's ->stream_start() succeeded and its
 *		->stream_stop() was not called yet; @prod_lock.
 * @priv:	the driver's state of the stream (kubuf_ops.ring_priv
 *		bytes); @prod_lock.
 * @held:	the memory, held during a turn of the stream.
 * @batch:	records published while the consumer was waiting and not
 *		yet announced; @prod_lock.
 * @batch_ns:	when the first of them was published; @prod_lock.
 * @woken:	the consumer was woken and has not released since; @prod_lock.
 * @woken_tail:	its tail when it was woken; @prod_lock.
 * @cons_waiting: TO_DEV: the work told the application it waits.
 * @scratch:	TO_DEV: a command copied out of the ring.
 * @cmd:	TO_DEV: the command running, when @cmd_busy.
 * @cmd_busy:	TO_DEV: @cmd was started and has not ended.
 * @done:	TO_DEV: the completion of @cmd, being built.
 * @echo_len:	TO_DEV: ECHO: payload bytes in @scratch to send back.
 * @records:	records produced or consumed (written by one side only).
 * @bytes:	their payload bytes.
 * @dropped:	records dropped for lack of room.
 * @wakeups:	wakeups sent (TO_APP) or received from kicks (TO_DEV).
 * @room_wait:	TO_APP: the producer said in the ring that it waits for
 *		room; @prod_lock (KICK reads it, for @room_wakeups).
 * @room_kicked: TO_APP: the application has kicked the ring: it keeps the
 *		room handshake, so a producer waiting for room need not look
 *		on a timer; set by KICK.
 * @room_wakeups: TO_APP: kicks that found the producer waiting for room.
 */
struct kubuf_ring {
	u32 id;
	u32 dir;
	u32 flags;
	u32 kind;
	u64 offset;
	u32 data_size;
	u32 wake_records;
	u64 wake_ns;
	u32 reply_id;
	struct kubuf_file *kf;
	struct kubuf_ubuf *ubuf;
	struct kubuf_mem kmem;
	struct eventfd_ctx *evfd;
	struct kubuf_user *user;
	struct work_struct work;
	struct hrtimer timer;
	bool stopping;
	u32 state;
	u32 error;
	struct mutex prod_lock;		/* see above */
	struct kubuf_ring_view view;
	u32 stream_state;
	bool streaming;
	void *priv;
	struct kubuf_mem held;
	u64 batch;
	u64 batch_ns;
	bool woken;
	u64 woken_tail;
	bool cons_waiting;
	void *scratch;
	struct kubuf_cmd cmd;
	bool cmd_busy;
	struct kubuf_ring_done done;
	u32 echo_len;
	u64 records;
	u64 bytes;
	u64 dropped;
	u64 wakeups;
	bool room_wait;
	bool room_kicked;
	u64 room_wakeups;
};

/* --- memory, state and wakeups --------------------------------------------- */

/*
 * Hold the ring's memory in @m: a driver buffer's is the ring's own (no
 * lock needed); a registration's is taken under kubuf_file.lock, which a
 * registration's ring needs held. -ESHUTDOWN once revoked.
 */
static int kubuf_ring_hold(struct kubuf_ring *r, struct kubuf_mem *m)
{
	if (r->kind == KUBUF_MEM_KBUF) {
		*m = r->kmem;
		m->kbuf = NULL;		/* the ring's reference, not the burst's */
		return 0;
	}
	if (!r->ubuf)
		return -ESHUTDOWN;
	return kubuf_ubuf_dev_hold(r->kf, r->ubuf, KUBUF_ACCESS_DEV_READ |
				   KUBUF_ACCESS_DEV_WRITE, m);
}

/*
 * The ring's memory for one burst: on success the view points into it
 * and it stays mapped until kubuf_ring_mem_put(). -ESHUTDOWN when it is
 * gone (the registration revoked) or the file is being released.
 */
static int kubuf_ring_mem_get(struct kubuf_ring *r, struct kubuf_mem *m)
{
	struct kubuf_file *kf = r->kf;
	int ret;

	if (r->kind == KUBUF_MEM_KBUF) {
		ret = kubuf_ring_hold(r, m);
	} else {
		mutex_lock(&kf->lock);
		ret = kubuf_ring_hold(r, m);
		mutex_unlock(&kf->lock);
	}
	if (ret)
		return ret;
	if (!kubuf_mem_alive(m)) {
		kubuf_mem_put(m);
		return -ESHUTDOWN;
	}
	return 0;
}

/*
 * Point the view at the memory held in @m (the address is the same every
 * time; it is only valid while held). TO_APP: under prod_lock.
 */
static void kubuf_ring_view_map(struct kubuf_ring *r,
				const struct kubuf_mem *m)
{
	r->view.ctl = m->vaddr + r->offset;
	r->view.data = m->vaddr + r->offset + KUBUF_RING_CTL_SIZE;
}

static void kubuf_ring_mem_put(struct kubuf_ring *r, struct kubuf_mem *m)
{
	kubuf_mem_written(m, r->offset, KUBUF_RING_CTL_SIZE + (u64)r->data_size);
	kubuf_mem_put(m);
}

/*
 * Add @n to one of the ring's counters. Only the ring's work (or the
 * caller holding prod_lock; for a TO_DEV ring's wakeups and a TO_APP
 * ring's room wakeups, KICK under kubuf_file.lock) writes them; QUERY
 * reads them without that lock, so each is stored whole.
 */
static void kubuf_ring_count(u64 *counter, u64 n)
{
	WRITE_ONCE(*counter, *counter + n);
}

/* Tell the application: its eventfd, or the file's event. */
static void kubuf_ring_signal(struct kubuf_ring *r, u32 event)
{
	if (r->evfd)
		kubuf_eventfd_signal(r->evfd);
	if (!r->evfd || event == KUBUF_EVENT_RING_STATE)
		kubuf_notify_event(&r->kf->notify, event);
}

/* Leave ACTIVE for @state, once: the first reason sticks. */
static void kubuf_ring_set_state(struct kubuf_ring *r, u32 state, u32 error)
{
	if (cmpxchg(&r->state, KUBUF_RING_ACTIVE, state) != KUBUF_RING_ACTIVE)
		return;
	WRITE_ONCE(r->error, error);
	kubuf_ring_signal(r, KUBUF_EVENT_RING_STATE);
}

/* The view found an impossible value: the ring is broken for good. */
static void kubuf_ring_broken(struct kubuf_ring *r)
{
	kubuf_ring_set_state(r, KUBUF_RING_BROKEN, r->view.err);
}

/**
 * kubuf_ring_announce() - publish what was committed, and wake the
 * consumer if the ring's wakeup policy says so.
 * @r:		the ring (TO_APP).
 * @nr:		records committed since the last announce.
 * @force:	wake a waiting consumer for any record, whatever the
 *		batch (wake_records, wake_usecs) says.
 *
 * Context: ->stream_burst(), or the core with the producer lock held.
 */
void kubuf_ring_announce(struct kubuf_ring *r, u64 nr, bool force)
{
	struct kubuf_ring_view *v = &r->view;
	u64 now = ktime_get_ns(), head = v->pos;
	bool waiting;

	waiting = kubuf_ring_prod_publish(v);
	if (kubuf_ring_prod_space(v) < 0) {
		kubuf_ring_broken(r);
		return;
	}
	if (r->flags & KUBUF_RING_BUSY_POLL)
		return;
	if (!waiting) {
		/* Awake: it will find these records itself. */
		r->batch = 0;
		r->woken = false;
		return;
	}
	if (r->woken) {
		/* Woken already: once per sleep, and it always consumes. */
		if (v->peer == r->woken_tail)
			return;
		r->woken = false;
	}
	if (nr && !r->batch)
		r->batch_ns = now;
	r->batch += nr;
	/*
	 * Forced, anything published counts, padding alone included: a
	 * producer about to wait for room needs the consumer to take it.
	 */
	if ((!r->batch && !(force && v->pos != head)) || v->peer == v->pos)
		return;
	if (!force && r->batch < r->wake_records &&
	    !(r->wake_ns && now - r->batch_ns >= r->wake_ns))
		return;
	/* Counted first: a consumer this wakes finds it counted. */
	kubuf_ring_count(&r->wakeups, 1);
	kubuf_ring_signal(r, KUBUF_EVENT_RING_DATA);
	r->woken = true;
	r->woken_tail = v->peer;
	r->batch = 0;
}
EXPORT_SYMBOL_GPL(kubuf_ring_announce);

/* --- TO_APP: the driver's stream ---------------------------------------------- */

/**
 * kubuf_ring_priv() - the driver's state of ring @r (kubuf_ops.ring_priv
 * bytes, zeroed at attach).
 * @r:	the ring.
 *
 * Context: ->stream_start() and ->stream_burst().
 */
void *kubuf_ring_priv(struct kubuf_ring *r)
{
	return r->priv;
}
EXPORT_SYMBOL_GPL(kubuf_ring_priv);

/**
 * kubuf_ring_file() - the file ring @r belongs to.
 * @r:	the ring.
 *
 * Context: any, while the ring is the driver's (stream callbacks).
 */
struct kubuf_file *kubuf_ring_file(const struct kubuf_ring *r)
{
	return r->kf;
}
EXPORT_SYMBOL_GPL(kubuf_ring_file);

/**
 * kubuf_ring_stream_state() - KUBUF_STREAM_RUNNING, IDLE (stopped) or
 * DONE.
 * @r:	the ring.
 *
 * Context: ->stream_burst().
 */
u32 kubuf_ring_stream_state(const struct kubuf_ring *r)
{
	return r->stream_state;
}
EXPORT_SYMBOL_GPL(kubuf_ring_stream_state);

/**
 * kubuf_ring_alive() - may the driver go on producing into @r?
 * @r:	the ring.
 *
 * False once the ring is broken or dead, its memory revoked, the file
 * released or the device removed: the burst returns.
 * Context: ->stream_burst().
 */
bool kubuf_ring_alive(const struct kubuf_ring *r)
{
	return READ_ONCE(r->state) == KUBUF_RING_ACTIVE &&
	       kubuf_mem_alive(&r->held);
}
EXPORT_SYMBOL_GPL(kubuf_ring_alive);

/**
 * kubuf_ring_reserve() - room for a record of @len payload bytes.
 * @r:		the ring.
 * @len:	payload bytes.
 * @type:	the record's type (KUBUF_REC_*).
 *
 * Context: ->stream_burst().
 * Return: where to write the payload, to be published by
 * kubuf_ring_commit(); NULL if the ring is full; ERR_PTR(-EPROTO) if the
 * application broke the ring (it is marked BROKEN and told).
 */
void *kubuf_ring_reserve(struct kubuf_ring *r, u32 len, u32 type)
{
	void *p = kubuf_ring_prod_reserve(&r->view, len, type);

	if (!p && r->view.err) {
		kubuf_ring_broken(r);
		return ERR_PTR(-EPROTO);
	}
	return p;
}
EXPORT_SYMBOL_GPL(kubuf_ring_reserve);

/**
 * kubuf_ring_commit() - the record reserved last is written.
 * @r:		the ring.
 * @len:	its payload bytes, as reserved.
 *
 * The application sees it at the next kubuf_ring_announce().
 * Context: ->stream_burst().
 */
void kubuf_ring_commit(struct kubuf_ring *r, u32 len)
{
	kubuf_ring_prod_commit(&r->view);
	kubuf_ring_count(&r->records, 1);
	kubuf_ring_count(&r->bytes, len);
}
EXPORT_SYMBOL_GPL(kubuf_ring_commit);

/**
 * kubuf_ring_wait_room() - a producer that does not drop found no room.
 * @r:		the ring (TO_APP).
 * @len:	payload bytes of the record that did not fit.
 *
 * Publishes what was committed (announcing it whatever the batch), then
 * asks the application, in the ring, to kick the ring
 * (KUBUF_IOC_RING_KICK) once it has released room for the record, and
 * half the data area at least; then looks at the room once more.
 * Context: ->stream_burst().
 * Return: what ->stream_burst() should return: 0 when room came
 * meanwhile (produce again at once); KUBUF_RING_IDLE to sleep until the
 * application's kick; for an application that has never kicked the ring,
 * a time a few milliseconds away, to look again then.
 */
u64 kubuf_ring_wait_room(struct kubuf_ring *r, u32 len)
{
	struct kubuf_ring_view *v = &r->view;
	long long free;

	lockdep_assert_held(&r->prod_lock);

	if (kubuf_ring_prod_pending(v))
		kubuf_ring_announce(r, 0, true);
	/* Before the ring says so: a kick it brings must find it set. */
	WRITE_ONCE(r->room_wait, true);
	free = kubuf_ring_prod_wait_room(v, len);
	if (free < 0) {
		kubuf_ring_broken(r);
		return KUBUF_RING_IDLE;
	}
	if ((u64)free >= kubuf_ring_prod_need(v, len)) {
		kubuf_ring_prod_room_done(v);
		WRITE_ONCE(r->room_wait, false);
		return 0;
	}
	if (READ_ONCE(r->room_kicked))
		return KUBUF_RING_IDLE;
	return ktime_get_ns() + KUBUF_RING_ROOM_POLL_NS;
}
EXPORT_SYMBOL_GPL(kubuf_ring_wait_room);

/**
 * kubuf_ring_drop() - @n records were dropped for lack of room.
 * @r:	the ring.
 * @n:	how many.
 *
 * Counted, and told to the application in the ring's control block.
 * Context: ->stream_burst().
 */
void kubuf_ring_drop(struct kubuf_ring *r, u64 n)
{
	kubuf_ring_count(&r->dropped, n);
	kubuf_ring_prod_dropped(&r->view, r->dropped);
}
EXPORT_SYMBOL_GPL(kubuf_ring_drop);

/**
 * kubuf_ring_stream_done() - the stream produced its last record.
 * @r:	the ring.
 * @nr:	records committed since the last announce.
 *
 * Publishes them, then marks the stream DONE and tells the application.
 * Context: ->stream_burst().
 */
void kubuf_ring_stream_done(struct kubuf_ring *r, u64 nr)
{
	kubuf_ring_announce(r, nr, true);
	/*
	 * DONE only after the last record is published: pairs with the
	 * acquire in kubuf_ioc_ring_query(), so whoever sees DONE finds every
	 * record behind head.
	 */
	smp_store_release(&r->stream_state, KUBUF_STREAM_DONE);
	kubuf_ring_signal(r, KUBUF_EVENT_RING_STATE);
}
EXPORT_SYMBOL_GPL(kubuf_ring_stream_done);

/**
 * kubuf_ring_wake() - have stream ring @r's ->stream_burst() run soon.
 * @r:	the ring, between its ->stream_start() and ->stream_stop().
 *
 * For a driver whose data arrives by interrupt: its handler (or a timer)
 * wakes the ring, and the burst runs on the device's workers.
 * Context: any, raw contexts included.
 */
void kubuf_ring_wake(struct kubuf_ring *r)
{
	queue_work(r->kf->kd->wq, &r->work);
}
EXPORT_SYMBOL_GPL(kubuf_ring_wake);

/*
 * The stream ends for the driver (STOP, detach, release, removal), with
 * prod_lock held: ->stream_stop(), once per successful ->stream_start().
 */
static void kubuf_ring_drv_stop(struct kubuf_ring *r)
{
	struct kubuf_device *kd = r->kf->kd;
	int idx;

	lockdep_assert_held(&r->prod_lock);

	if (!r->streaming)
		return;
	r->streaming = false;
	if (!kubuf_dev_enter(kd, &idx))
		return;		/* removed: it was called then */
	if (kd->ops->stream_stop)
		kd->ops->stream_stop(r);
	kubuf_dev_exit(kd, idx);
}

/* One turn of a stream ring: the driver's burst, the memory held. */
static u64 kubuf_ring_stream_step(struct kubuf_ring *r)
{
	struct kubuf_device *kd = r->kf->kd;
	u64 next = KUBUF_RING_IDLE;
	int idx;

	if (READ_ONCE(r->state) != KUBUF_RING_ACTIVE)
		return KUBUF_RING_IDLE;
	if (kubuf_ring_mem_get(r, &r->held))
		return KUBUF_RING_IDLE;	/* kubuf_ring_revoked() marked it */

	mutex_lock(&r->prod_lock);
	kubuf_ring_view_map(r, &r->held);
	if (r->room_wait) {
		/* Kicked, or looking again: the burst waits again if it must. */
		kubuf_ring_prod_room_done(&r->view);
		WRITE_ONCE(r->room_wait, false);
	}
	if (!READ_ONCE(kd->closing) && kubuf_dev_enter(kd, &idx)) {
		/* The driver's burst only between its start and its stop. */
		if (kd->ops->stream_burst && r->streaming)
			next = kd->ops->stream_burst(r);
		else	/* a reply ring, or no stream: publish what is left */
			kubuf_ring_announce(r, 0, true);
		kubuf_dev_exit(kd, idx);
	}
	/* The wakeup a batch owes the consumer comes in time, too. */
	if (next && r->batch && r->wake_ns)
		next = min(next, r->batch_ns + r->wake_ns);
	mutex_unlock(&r->prod_lock);

	kubuf_ring_mem_put(r, &r->held);
	return next;
}

/* --- TO_DEV: commands -------------------------------------------------------- */

/*
 * Produce a completion into @kf's ring @reply_id, if it still is a
 * TO_APP ring; one that does not fit is dropped and counted there.
 */
static void kubuf_ring_complete(struct kubuf_file *kf, u32 reply_id,
				const struct kubuf_ring_done *done,
				const void *echo, u32 echo_len)
{
	u32 len = sizeof(*done) + echo_len;
	struct kubuf_mem m;
	struct kubuf_ring *rr;
	void *p;

	mutex_lock(&kf->lock);
	rr = xa_load(&kf->rings, reply_id);
	if (!rr || rr->dir != KUBUF_RING_TO_APP ||
	    READ_ONCE(rr->state) != KUBUF_RING_ACTIVE)
		goto out;
	if (kubuf_ring_hold(rr, &m))	/* kf->lock is held */
		goto out;
	mutex_lock(&rr->prod_lock);
	kubuf_ring_view_map(rr, &m);
	p = kubuf_ring_prod_reserve(&rr->view, len, KUBUF_REC_DONE);
	if (p) {
		memcpy(p, done, sizeof(*done));
		if (echo_len)
			memcpy(p + sizeof(*done), echo, echo_len);
		kubuf_ring_prod_commit(&rr->view);
		kubuf_ring_count(&rr->records, 1);
		kubuf_ring_count(&rr->bytes, len);
		kubuf_ring_announce(rr, 1, true);
	} else if (rr->view.err) {
		kubuf_ring_broken(rr);
	} else {
		kubuf_ring_count(&rr->dropped, 1);
		kubuf_ring_prod_dropped(&rr->view, rr->dropped);
	}
	mutex_unlock(&rr->prod_lock);
	kubuf_ring_mem_put(rr, &m);
out:
	mutex_unlock(&kf->lock);
}

/*
 * Start the command copied out of the ring (r->scratch, its header in
 * @rec): ECHO is done at once; the others become r->cmd, run a slice at
 * a time. Returns 0 when r->done holds a finished completion, 1 when
 * r->cmd was started.
 */
static int kubuf_ring_start_cmd(struct kubuf_ring *r,
				const struct kubuf_rec *rec)
{
	const struct kubuf_ring_cmd *c = r->scratch;
	struct kubuf_dev_cmd *dc = &r->cmd.args;
	u32 extra = rec->len - sizeof(*c);
	int ret;

	memset(&r->done, 0, sizeof(r->done));
	r->done.tag = c->tag;
	r->done.op = c->op;
	r->echo_len = 0;
	r->done.status = -EINVAL;
	if (rec->type != KUBUF_REC_CMD || rec->len < sizeof(*c))
		return 0;
	if (c->op != KUBUF_RCMD_ECHO && extra)
		return 0;

	memset(&r->cmd, 0, sizeof(r->cmd));
	switch (c->op) {
	case KUBUF_RCMD_ECHO:
		if (c->kind || c->id || c->seed || c->offset || c->len)
			return 0;
		r->done.status = 0;
		r->echo_len = extra;
		return 0;
	case KUBUF_RCMD_FILL:
		dc->op = KUBUF_DEV_FILL;
		break;
	case KUBUF_RCMD_CHECKSUM:
		dc->op = KUBUF_DEV_CHECKSUM;
		break;
	case KUBUF_RCMD_RESET:
		dc->op = KUBUF_DEV_RESET;
		break;
	default:
		return 0;
	}
	/* kubuf_cmd_start() checks the rest, as for KUBUF_IOC_DEV_CMD. */
	dc->kind = c->kind;
	dc->id = c->id;
	dc->offset = c->offset;
	dc->len = c->len;
	dc->seed = c->seed;
	ret = kubuf_cmd_start(r->kf, &r->cmd);
	if (ret) {
		r->done.status = ret;
		return 0;
	}
	r->cmd_busy = true;
	return 1;
}

/*
 * Copy the next command out of the ring, with the memory held. Returns
 * 1 with *@rec and r->scratch filled, 0 if the ring is empty (and the
 * application now knows the device waits), -EAGAIN if only padding was
 * there (consumed: look again at the next turn), or -EPROTO (ring
 * unusable).
 */
static int kubuf_ring_take_cmd(struct kubuf_ring *r, struct kubuf_rec *rec)
{
	struct kubuf_ring_view *v = &r->view;
	const void *p;
	long long avail;
	int turns;

	if (r->cons_waiting) {
		kubuf_ring_cons_done_wait(v);
		WRITE_ONCE(r->cons_waiting, false);
	}
	for (turns = 0; ; turns++) {
		avail = kubuf_ring_cons_avail(v);
		if (avail == 0) {
			avail = kubuf_ring_cons_prepare_wait(v);
			if (avail == 0) {
				WRITE_ONCE(r->cons_waiting, true);
				return 0;
			}
			kubuf_ring_cons_done_wait(v);
		}
		if (avail < 0)
			return avail;

		p = kubuf_ring_cons_peek(v, rec, KUBUF_RING_CMD_MAX);
		if (p)
			break;
		if (v->err)
			return -EPROTO;
		/*
		 * Only padding was published: it is consumed. Release it
		 * and look again, so that the application, finding the
		 * ring empty, also finds the device waiting and kicks it.
		 * Once per turn: an application that keeps publishing bare
		 * padding gets one at a time, behind everyone else's work.
		 */
		kubuf_ring_cons_release(v);
		if (turns)
			return -EAGAIN;
	}
	/* Read once: the application may rewrite the record meanwhile. */
	memcpy(r->scratch, p, rec->len);
	barrier();
	kubuf_ring_cons_next(v);
	kubuf_ring_cons_release(v);
	kubuf_ring_count(&r->records, 1);
	kubuf_ring_count(&r->bytes, rec->len);
	return 1;
}

/* One turn of a command ring: a slice of its command, or the next one. */
static u64 kubuf_ring_cmd_step(struct kubuf_ring *r)
{
	const struct kubuf_ring_cmd *c = r->scratch;
	struct kubuf_mem m;
	struct kubuf_rec rec;
	int ret;

	if (r->cmd_busy) {
		ret = kubuf_cmd_slice(&r->cmd);
		if (ret == -EINPROGRESS)
			return 0;	/* the rest after the others' turn */
		kubuf_cmd_end(&r->cmd);
		r->cmd_busy = false;
		r->done.status = ret;
		r->done.result = r->cmd.result;
		goto complete;
	}

	if (READ_ONCE(r->state) != KUBUF_RING_ACTIVE)
		return KUBUF_RING_IDLE;
	if (kubuf_ring_mem_get(r, &m))
		return KUBUF_RING_IDLE;
	kubuf_ring_view_map(r, &m);
	ret = kubuf_ring_take_cmd(r, &rec);
	kubuf_ring_mem_put(r, &m);
	if (ret == -EAGAIN)
		return 0;
	if (ret < 0) {
		kubuf_ring_broken(r);
		return KUBUF_RING_IDLE;
	}
	if (!ret)
		return KUBUF_RING_IDLE;

	/* Memory given back first: running it takes kubuf_file.lock. */
	if (rec.len < sizeof(*c))
		memset(r->scratch + rec.len, 0, sizeof(*c) - rec.len);
	if (kubuf_ring_start_cmd(r, &rec))
		return 0;
complete:
	if (r->reply_id)
		kubuf_ring_complete(r->kf, r->reply_id, &r->done, c + 1,
				    r->echo_len);
	return 0;
}

/* --- the device's turn ----------------------------------------------------------- */

/*
 * One burst of the ring, on the device's workers. More due at once: run
 * again after the others' turn; due later: the timer brings it back;
 * nothing due: a kick (START, STOP, KICK, a completion) will.
 */
static void kubuf_ring_work(struct work_struct *work)
{
	struct kubuf_ring *r = container_of(work, struct kubuf_ring, work);
	u64 next;

	if (READ_ONCE(r->stopping))
		return;
	if (r->dir == KUBUF_RING_TO_APP)
		next = kubuf_ring_stream_step(r);
	else
		next = kubuf_ring_cmd_step(r);
	if (READ_ONCE(r->stopping) || next == KUBUF_RING_IDLE)
		return;
	if (!next)
		queue_work(r->kf->kd->wq, &r->work);
	else
		hrtimer_start_range_ns(&r->timer, ns_to_ktime(next),
				       5 * NSEC_PER_USEC, HRTIMER_MODE_ABS);
}

static enum hrtimer_restart kubuf_ring_timer(struct hrtimer *t)
{
	struct kubuf_ring *r = container_of(t, struct kubuf_ring, timer);

	queue_work(r->kf->kd->wq, &r->work);
	return HRTIMER_NORESTART;
}

/*
 * Give the ring a turn now; kubuf_file.lock keeps the ring alive
 * meanwhile. A turn already queued or running sees what the caller did:
 * work queued while it is running is run once more.
 */
static void kubuf_ring_kick(struct kubuf_ring *r)
{
	/*
	 * A wakeup is a kick that found the device waiting, looked at
	 * before the kick: the work it queues may run at once (a ring in a
	 * driver buffer needs no lock) and say it waits again.
	 */
	bool waiting = READ_ONCE(r->cons_waiting);

	if (queue_work(r->kf->kd->wq, &r->work) &&
	    r->dir == KUBUF_RING_TO_DEV && waiting)
		kubuf_ring_count(&r->wakeups, 1);
}

/*
 * The ring is out of the xarray (or never was in it): no kick can come.
 * Stop its turns for good: after this, neither the work nor the timer
 * runs or is pending. The work re-arms nothing once it sees @stopping,
 * and a timer armed before that can only queue a work that returns.
 */
static void kubuf_ring_stop(struct kubuf_ring *r)
{
	WRITE_ONCE(r->stopping, true);
	cancel_work_sync(&r->work);
	hrtimer_cancel(&r->timer);
	cancel_work_sync(&r->work);
	if (r->cmd_busy) {
		kubuf_cmd_end(&r->cmd);
		r->cmd_busy = false;
	}
}

/* --- attach, detach, release ------------------------------------------------------ */

/* The ring is out of the xarray, or never was in it: stop and free it. */
static void kubuf_ring_free(struct kubuf_ring *r)
{
	/* The driver lets go first: no wake after this. */
	mutex_lock(&r->prod_lock);
	kubuf_ring_drv_stop(r);
	mutex_unlock(&r->prod_lock);
	kubuf_ring_stop(r);
	kubuf_mem_put(&r->kmem);	/* KBUF: the ring's reference */
	if (r->evfd) {
		eventfd_ctx_put(r->evfd);
		kubuf_stat_dec(KUBUF_STAT_EVENTFD_REFS);
	}
	if (r->user)
		kubuf_user_uncharge(r->user, KUBUF_LIMIT_RINGS, 1);
	kfree(r->scratch);
	kfree(r->priv);
	mutex_destroy(&r->prod_lock);
	kfree(r);
	kubuf_stat_dec(KUBUF_STAT_RINGS);
}

static int kubuf_ring_detach_id(struct kubuf_file *kf, u32 id, bool release)
{
	struct kubuf_ring *r;

	mutex_lock(&kf->lock);
	/*
	 * Once the device is closing, its rings stay until release():
	 * kubuf_ring_unplug() walks them without the lock.
	 */
	if (!release && READ_ONCE(kf->kd->closing)) {
		mutex_unlock(&kf->lock);
		return -ENODEV;
	}
	/* Not xa_erase(0): it would free the index ALLOC1 keeps out of use. */
	r = id ? xa_erase(&kf->rings, id) : NULL;
	if (r) {
		r->ubuf = NULL;
		kf->nr_rings--;
	}
	mutex_unlock(&kf->lock);
	if (!r)
		return -ENOENT;
	kubuf_ring_free(r);
	return 0;
}

/* A registration is being revoked (kubuf_file.lock held): its rings die. */
void kubuf_ring_revoked(struct kubuf_file *kf, struct kubuf_ubuf *ub)
{
	struct kubuf_ring *r;
	unsigned long id;

	lockdep_assert_held(&kf->lock);

	xa_for_each(&kf->rings, id, r) {
		if (r->ubuf != ub)
			continue;
		r->ubuf = NULL;
		kubuf_ring_set_state(r, KUBUF_RING_DEAD, 0);
	}
}

/*
 * The device is gone (kubuf_device_destroy): every ring of @kf dies and
 * stops for good; release() frees them. No ioctl takes a ring out of
 * @kf->rings once the device is closing (kubuf_ring_detach_id()), so
 * the walk without the lock meets only rings that live on.
 */
void kubuf_ring_unplug(struct kubuf_file *kf)
{
	struct kubuf_ring *r;
	unsigned long id;

	mutex_lock(&kf->lock);
	xa_for_each(&kf->rings, id, r) {
		r->ubuf = NULL;
		kubuf_ring_set_state(r, KUBUF_RING_DEAD, 0);
	}
	mutex_unlock(&kf->lock);
	/* Without the lock, which the rings' work takes. */
	xa_for_each(&kf->rings, id, r) {
		mutex_lock(&r->prod_lock);
		kubuf_ring_drv_stop(r);	/* callbacks still allowed */
		mutex_unlock(&r->prod_lock);
		kubuf_ring_stop(r);
	}
}

/* release(): no ioctl is left; detach every ring as DETACH would. */
void kubuf_ring_release_all(struct kubuf_file *kf)
{
	struct kubuf_ring *r;
	unsigned long id;

	xa_for_each(&kf->rings, id, r)
		kubuf_ring_detach_id(kf, id, true);
}

/* The validation ladder of ATTACH, before anything is looked up. */
static int kubuf_ring_check(const struct kubuf_ring_attach *a)
{
	if (a->reserved[0] || a->reserved[1])
		return -EINVAL;
	if (a->kind != KUBUF_MEM_UBUF && a->kind != KUBUF_MEM_KBUF)
		return -EINVAL;
	if (a->data_size < KUBUF_RING_MIN_DATA ||
	    a->data_size > KUBUF_RING_MAX_DATA ||
	    (a->data_size & (a->data_size - 1)))
		return -EINVAL;
	if (a->offset % KUBUF_RING_ALIGN)
		return -EINVAL;

	switch (a->dir) {
	case KUBUF_RING_TO_APP:
		if ((a->flags & ~KUBUF_RING_BUSY_POLL) || a->reply_id)
			return -EINVAL;
		if (a->flags & KUBUF_RING_BUSY_POLL)
			return a->wake_records || a->wake_usecs ||
			       a->eventfd != -1 ? -EINVAL : 0;
		if (!a->wake_records || a->wake_usecs > KUBUF_RING_MAX_WAKE_US)
			return -EINVAL;
		return 0;
	case KUBUF_RING_TO_DEV:
		if (a->flags || a->wake_records || a->wake_usecs ||
		    a->eventfd != -1)
			return -EINVAL;
		return 0;
	default:
		return -EINVAL;
	}
}

/*
 * Find the ring's memory and check it, with kubuf_file.lock held. On
 * success @r owns what it must keep (kmem, or the ubuf pointer) and the
 * ring's control block is reset.
 */
static int kubuf_ring_bind(struct kubuf_file *kf, struct kubuf_ring *r,
			   const struct kubuf_ring_attach *a)
{
	struct kubuf_ring *reply;
	struct kubuf_mem m;
	int ret;

	lockdep_assert_held(&kf->lock);

	if (a->kind == KUBUF_MEM_UBUF)
		ret = kubuf_ubuf_dev_get(kf, a->mem_id, KUBUF_ACCESS_DEV_READ |
					 KUBUF_ACCESS_DEV_WRITE, &m);
	else
		ret = kubuf_kbuf_dev_get(kf, a->mem_id, &m);
	if (ret)
		return ret;

	if (!m.app_write)
		ret = -EACCES;
	else if (a->offset > m.len ||
		 m.len - a->offset < KUBUF_RING_CTL_SIZE + (u64)a->data_size)
		ret = -ERANGE;
	else if (((unsigned long)m.vaddr + a->offset) % KUBUF_RING_ALIGN)
		ret = -EINVAL;
	if (!ret && a->reply_id) {
		reply = xa_load(&kf->rings, a->reply_id);
		if (!reply)
			ret = -ENOENT;
		else if (reply->dir != KUBUF_RING_TO_APP)
			ret = -EINVAL;
	}
	if (ret) {
		kubuf_mem_put(&m);
		return ret;
	}

	kubuf_ring_init(&r->view, m.vaddr + a->offset, a->data_size);
	kubuf_mem_written(&m, a->offset, KUBUF_RING_CTL_SIZE);
	if (a->kind == KUBUF_MEM_KBUF) {
		r->kmem = m;		/* the ring keeps the buffer */
	} else {
		r->ubuf = m.ubuf;	/* looked at again under kf->lock */
		kubuf_mem_put(&m);
	}
	return 0;
}

int kubuf_ioc_ring_attach(struct kubuf_file *kf, void __user *argp)
{
	struct kubuf_ring_attach __user *uarg = argp;
	struct kubuf_ring_attach a;
	struct kubuf_ring *r;
	u32 id;
	int ret;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	ret = kubuf_ring_check(&a);
	if (ret)
		return ret;
	ret = kubuf_file_reserve(kf, &kf->nr_rings, KUBUF_MAX_RINGS);
	if (ret)
		return ret;

	r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r) {
		kubuf_file_unreserve(kf, &kf->nr_rings);
		return -ENOMEM;
	}
	r->dir = a.dir;
	r->flags = a.flags;
	r->kind = a.kind;
	r->offset = a.offset;
	r->data_size = a.data_size;
	r->wake_records = a.wake_records;
	r->wake_ns = (u64)a.wake_usecs * NSEC_PER_USEC;
	r->reply_id = a.reply_id;
	r->kf = kf;
	r->state = KUBUF_RING_ACTIVE;
	mutex_init(&r->prod_lock);
	INIT_WORK(&r->work, kubuf_ring_work);
	hrtimer_init(&r->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS);
	r->timer.function = kubuf_ring_timer;
	INIT_LIST_HEAD(&r->cmd.node);
	kubuf_stat_inc(KUBUF_STAT_RINGS);

	ret = kubuf_user_charge(KUBUF_LIMIT_RINGS, 1, &r->user);
	if (ret)
		goto err_free;

	if (a.eventfd >= 0) {
		r->evfd = eventfd_ctx_fdget(a.eventfd);
		if (IS_ERR(r->evfd)) {
			ret = PTR_ERR(r->evfd);
			r->evfd = NULL;
			goto err_free;
		}
		kubuf_stat_inc(KUBUF_STAT_EVENTFD_REFS);
	} else if (a.dir == KUBUF_RING_TO_APP &&
		   !(a.flags & KUBUF_RING_BUSY_POLL) && a.eventfd != -1) {
		ret = -EBADF;
		goto err_free;
	}
	if (a.dir == KUBUF_RING_TO_APP && kf->kd->ring_priv) {
		r->priv = kzalloc(kf->kd->ring_priv, GFP_KERNEL_ACCOUNT);
		if (!r->priv) {
			ret = -ENOMEM;
			goto err_free;
		}
	}
	if (a.dir == KUBUF_RING_TO_DEV) {
		r->scratch = kmalloc(KUBUF_RING_CMD_MAX, GFP_KERNEL_ACCOUNT);
		if (!r->scratch) {
			ret = -ENOMEM;
			goto err_free;
		}
	}
	mutex_lock(&kf->lock);
	/* Nothing new on a device being removed (its unplug is next). */
	ret = READ_ONCE(kf->kd->closing) ? -ENODEV : kubuf_ring_bind(kf, r, &a);
	if (!ret) {
		ret = xa_alloc(&kf->rings, &id, r, XA_LIMIT(1, U32_MAX),
			       GFP_KERNEL_ACCOUNT);
		if (ret) {
			kubuf_mem_put(&r->kmem);
			r->ubuf = NULL;
		} else {
			r->id = id;
			/* Under the lock: a DETACH guessing the id waits. */
			kubuf_ring_kick(r);
		}
	}
	mutex_unlock(&kf->lock);
	if (ret)
		goto err_free;

	if (put_user(id, &uarg->id)) {
		/*
		 * The caller cannot learn the id: undo it, unless another
		 * thread guessed it and detached it meanwhile (the id may
		 * even name another ring by now), or the device is closing
		 * (see kubuf_ring_detach_id(): release() frees it).
		 */
		mutex_lock(&kf->lock);
		if (READ_ONCE(kf->kd->closing)) {
			r = NULL;
		} else if (xa_cmpxchg(&kf->rings, id, r, NULL, 0) == r) {
			r->ubuf = NULL;
			kf->nr_rings--;
		} else {
			r = NULL;
		}
		mutex_unlock(&kf->lock);
		if (r)
			kubuf_ring_free(r);
		return -EFAULT;
	}
	return 0;

err_free:
	kubuf_ring_free(r);
	kubuf_file_unreserve(kf, &kf->nr_rings);
	return ret;
}

int kubuf_ioc_ring_detach(struct kubuf_file *kf, void __user *argp)
{
	u32 id;
	int ret;

	ret = kubuf_id_from_user(argp, &id);
	if (ret)
		return ret;
	return kubuf_ring_detach_id(kf, id, false);
}

int kubuf_ioc_ring_query(struct kubuf_file *kf, void __user *argp)
{
	struct kubuf_ring_query q;
	struct kubuf_ring *r;

	if (copy_from_user(&q, argp, sizeof(q)))
		return -EFAULT;
	if (q.flags)
		return -EINVAL;

	mutex_lock(&kf->lock);
	r = xa_load(&kf->rings, q.id);
	if (!r) {
		mutex_unlock(&kf->lock);
		return -ENOENT;
	}
	memset(&q, 0, sizeof(q));
	q.id = r->id;
	q.dir = r->dir;
	/* The thread updates these: a snapshot, each read once. */
	q.state = READ_ONCE(r->state);
	q.error = q.state == KUBUF_RING_BROKEN ? READ_ONCE(r->error) : 0;
	if (r->dir == KUBUF_RING_TO_APP)
		q.stream = smp_load_acquire(&r->stream_state);	/* see DONE */
	q.records = READ_ONCE(r->records);
	q.bytes = READ_ONCE(r->bytes);
	q.dropped = READ_ONCE(r->dropped);
	q.wakeups = READ_ONCE(r->wakeups);
	q.room_wakeups = READ_ONCE(r->room_wakeups);
	mutex_unlock(&kf->lock);

	if (copy_to_user(argp, &q, sizeof(q)))
		return -EFAULT;
	return 0;
}

/* Look up ring @id of direction @dir, kubuf_file.lock held. */
static struct kubuf_ring *kubuf_ring_find(struct kubuf_file *kf, u32 id,
					  u32 dir, int *err)
{
	struct kubuf_ring *r;

	lockdep_assert_held(&kf->lock);

	r = xa_load(&kf->rings, id);
	if (!r)
		*err = -ENOENT;
	else if (dir != KUBUF_RING_ANY && r->dir != dir)
		*err = -EINVAL;
	else
		return r;
	return NULL;
}

/*
 * KICK and STOP: apply @fn to the ring of direction @dir that the
 * struct kubuf_id at @argp names, with kubuf_file.lock held.
 */
static int kubuf_ring_id_call(struct kubuf_file *kf, void __user *argp,
			      u32 dir, void (*fn)(struct kubuf_ring *r))
{
	struct kubuf_ring *r;
	u32 id;
	int ret;

	ret = kubuf_id_from_user(argp, &id);
	if (ret)
		return ret;
	mutex_lock(&kf->lock);
	r = kubuf_ring_find(kf, id, dir, &ret);
	if (r)
		fn(r);
	mutex_unlock(&kf->lock);
	return ret;
}

static int kubuf_stream_check(const struct kubuf_stream *s)
{
	if ((s->flags & ~(KUBUF_STREAM_LOSSLESS | KUBUF_STREAM_BARE)) ||
	    s->reserved[0] ||
	    s->reserved[1])
		return -EINVAL;
	if (s->rec_size > KUBUF_STREAM_MAX_REC)
		return -EINVAL;
	if (s->rate > KUBUF_STREAM_MAX_RATE)
		return -EINVAL;
	if (!s->rate && !(s->flags & KUBUF_STREAM_LOSSLESS))
		return -EINVAL;
	return 0;
}

int kubuf_ioc_stream_start(struct kubuf_file *kf, void __user *argp)
{
	struct kubuf_device *kd = kf->kd;
	struct kubuf_stream s;
	struct kubuf_ring *r;
	u64 size;
	int ret, idx;

	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	ret = kubuf_stream_check(&s);
	if (ret)
		return ret;
	if (!kd->can_stream)
		return -EOPNOTSUPP;
	/* A flag the driver's stream does not honour (kubuf_ops). */
	if (s.flags & ~(KUBUF_STREAM_LOSSLESS | kd->ops->stream_flags))
		return -EOPNOTSUPP;

	size = kubuf_rec_size(sizeof(struct kubuf_stream_rec) + s.rec_size);
	mutex_lock(&kf->lock);
	r = kubuf_ring_find(kf, s.ring_id, KUBUF_RING_TO_APP, &ret);
	if (!r)
		goto out;
	mutex_lock(&r->prod_lock);
	if (READ_ONCE(r->state) != KUBUF_RING_ACTIVE)
		ret = -ESHUTDOWN;
	else if (size > r->data_size)
		ret = -E2BIG;
	else if (r->stream_state == KUBUF_STREAM_RUNNING)
		ret = -EBUSY;
	if (!ret && kubuf_dev_enter(kd, &idx)) {
		kubuf_ring_drv_stop(r);	/* a stream ended by DONE */
		if (kd->ops->stream_start)
			ret = kd->ops->stream_start(r, &s);
		r->streaming = !ret;
		kubuf_dev_exit(kd, idx);
	} else if (!ret) {
		ret = -ENODEV;
	}
	if (!ret)
		WRITE_ONCE(r->stream_state, KUBUF_STREAM_RUNNING);
	mutex_unlock(&r->prod_lock);
	if (!ret)
		kubuf_ring_kick(r);
out:
	mutex_unlock(&kf->lock);
	return ret;
}

/* After STOP returns, the stream produces nothing more. */
static void kubuf_ring_stream_stop(struct kubuf_ring *r)
{
	mutex_lock(&r->prod_lock);
	if (r->stream_state == KUBUF_STREAM_RUNNING)
		WRITE_ONCE(r->stream_state, KUBUF_STREAM_IDLE);
	kubuf_ring_drv_stop(r);
	mutex_unlock(&r->prod_lock);
	kubuf_ring_kick(r);	/* to announce what is left */
}

/*
 * KICK: a TO_DEV ring's commands were published; a TO_APP ring's
 * consumer released the room its producer waits for (pair (4) of
 * kubuf/ring.h). Any kick gives the ring a turn: a spurious one costs
 * one bounded burst, and the work runs once however many kicks came.
 */
static void kubuf_ring_kick_ioc(struct kubuf_ring *r)
{
	if (r->dir == KUBUF_RING_TO_APP) {
		WRITE_ONCE(r->room_kicked, true);
		if (READ_ONCE(r->room_wait) &&
		    queue_work(r->kf->kd->wq, &r->work))
			kubuf_ring_count(&r->room_wakeups, 1);
	}
	kubuf_ring_kick(r);
}

int kubuf_ioc_ring_kick(struct kubuf_file *kf, void __user *argp)
{
	return kubuf_ring_id_call(kf, argp, KUBUF_RING_ANY, kubuf_ring_kick_ioc);
}

int kubuf_ioc_stream_stop(struct kubuf_file *kf, void __user *argp)
{
	return kubuf_ring_id_call(kf, argp, KUBUF_RING_TO_APP,
				  kubuf_ring_stream_stop);
}
