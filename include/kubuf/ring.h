/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * kubuf ring - the one implementation of both sides of the ring of
 * <linux/kubuf_ring.h>, used as is by the module (kernel/core/ring.c)
 * and by libkubuf (lib/src/ring.c): the protocol, its memory ordering
 * and its checks. <linux/kubuf_ring.h> is the ring's ABI: its layout,
 * its records and its constants. This header serves both the kernel and
 * user space (hence __u64 and __inline__, as in the ABI).
 *
 * Wakeups. A consumer that finds the ring empty and wants to sleep first
 * sets waiting, then looks at head once more (kubuf_ring_cons_prepare_wait),
 * and sleeps only if nothing came. The producer, after publishing head,
 * reads waiting (kubuf_ring_prod_publish) and wakes the consumer only if
 * it is set. A full barrier on each side between the store of one and the
 * load of the other guarantees that at least one of them sees the other's
 * store: either the consumer sees the new head and does not sleep, or the
 * producer sees waiting and wakes it. A consumer that keeps up never sets
 * waiting, so a busy stream costs no system call and no wakeup at all.
 * The producer may delay the wakeup to batch records (the ring's wake
 * knobs); a busy-polling consumer never sets waiting.
 *
 * Room is the same handshake the other way, for a producer that waits
 * for room rather than drop (kubuf_ring_prod_wait_room): it sets room to
 * the tail it needs, then looks at tail once more, and sleeps only if
 * the consumer has not released that far. The consumer, after releasing
 * tail, reads room (kubuf_ring_cons_release_mb) and kicks the producer
 * if it has released up to it. A consumer that keeps up never finds
 * room set: a stream with room to spare costs no kick.
 *
 * Barriers, by pairs (P: producer, C: consumer):
 *   (1) P: store-release head  after writing records  /
 *       C: load-acquire head   before reading them.
 *   (2) C: store-release tail  after reading records  /
 *       P: load-acquire tail   before overwriting that space.
 *   (3) C: store waiting; full barrier; load head      /
 *       P: store head; full barrier; load waiting.
 *   (4) P: store room; full barrier; load tail          /
 *       C: store tail; full barrier; load room.
 *
 * Trust. The other side may be hostile: it can write any value to any
 * word of the ring it can reach, at any time. Every function here reads a
 * shared word exactly once into a local, checks it before use, and never
 * computes an address from an unchecked value; each call does bounded
 * work. A check that fails returns -EPROTO (KUBUF_RING_ERR_* says which),
 * and the caller stops using the ring: the module marks it broken and
 * tells the application; the application's library reports it.
 *
 *   - tail read by the producer must lie in [last tail seen, head]: a
 *     consumer cannot release what was never published, nor take back
 *     what it released;
 *   - head read by the consumer must lie in [last head seen, tail +
 *     data_size];
 *   - a record header read by the consumer must have no flags, a
 *     payload no longer than the consumer accepts, and a whole size that
 *     fits both in what was published and before the end of the data
 *     area; padding is never followed by padding. The type is the
 *     caller's to check.
 *
 * The module only writes what it produces and never reads back its own
 * records, so scribbling on them can only corrupt the application's view.
 */
#ifndef KUBUF_RING_H
#define KUBUF_RING_H

#include <linux/errno.h>
#include <linux/kubuf_ring.h>

/*
 * Memory ordering, the same protocol on both sides of the ring. In the
 * kernel: the kernel's primitives. In user space: the compiler's atomics,
 * which is also what lets ThreadSanitizer check the protocol.
 */
#ifdef __KERNEL__
#define kubuf_ring_read(p)		READ_ONCE(*(p))
#define kubuf_ring_write(p, v)		WRITE_ONCE(*(p), (v))
/* The reading half of pairs (1) and (2): see the comment at the top. */
#define kubuf_ring_load_acquire(p)	smp_load_acquire(p)
/* The writing half of pairs (1) and (2): see the comment at the top. */
#define kubuf_ring_store_release(p, v)	smp_store_release((p), (v))
/*
 * Pair (3): a store-release, then a full barrier, then a load-acquire;
 * kubuf_ring_load_after_mb() is only ever used after kubuf_ring_store_mb().
 */
#define kubuf_ring_store_mb(p, v)					\
	do {								\
		/* release: also pair (1) for head */			\
		smp_store_release((p), (v));				\
		/* pair (3): the store above before the load after */	\
		smp_mb();						\
	} while (0)
/* Pair (3), the load: only ever after kubuf_ring_store_mb(). */
#define kubuf_ring_load_after_mb(p)	smp_load_acquire(p)
#define kubuf_ring_slow			noinline
#define kubuf_ring_unused		__maybe_unused
#else
#define kubuf_ring_read(p)		__atomic_load_n((p), __ATOMIC_RELAXED)
#define kubuf_ring_write(p, v)		__atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define kubuf_ring_load_acquire(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define kubuf_ring_store_release(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define kubuf_ring_store_mb(p, v)	__atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define kubuf_ring_load_after_mb(p)	__atomic_load_n((p), __ATOMIC_SEQ_CST)
#define kubuf_ring_slow			__attribute__((__noinline__))
#define kubuf_ring_unused		__attribute__((__unused__))
#endif

/*
 * Per-record calls are always inlined (kubuf_ring_fast); what they leave
 * to a slow path (kubuf_ring_slow) never is, so that the fast paths stay
 * small enough to inline in every loop that calls them. The attribute is
 * spelled out for the kernel too: __always_inline would repeat the
 * __inline__ these functions have in both worlds.
 */
#define kubuf_ring_fast			__attribute__((__always_inline__))

#define kubuf_ring_unlikely(x)		__builtin_expect(!!(x), 0)

/**
 * struct kubuf_ring_view - one side's private view of a ring. Never in
 * shared memory: it is what that side trusts.
 * @ctl:	the control block.
 * @data:	the data area.
 * @size:	bytes of the data area (a power of two).
 * @mask:	@size - 1.
 * @pos:	this side's position: head as published for a producer,
 *		tail as consumed (released or not) for a consumer.
 * @peer:	the other side's position as last read and checked.
 * @at:		producer: where the next record goes, @pos plus the bytes
 *		committed since the last kubuf_ring_prod_publish().
 * @lim:	the fast paths' bound, derived from the above and never from
 *		shared memory: the producer may write up to @lim, the
 *		consumer read up to @lim, without another check of @peer or
 *		of the end of the data area. It is min(@peer + @size, end of
 *		the lap of @at) for a producer, min(@peer, end of the lap of
 *		@pos) for a consumer, and empties (@at or @pos) once @err is
 *		set, so that a broken view takes every slow path.
 * @rsv:	where the record reserved (producer) or peeked (consumer)
 *		last ends: @at once it is committed, @pos once it is done
 *		with. A failed check resets it with @lim, so that a commit
 *		or next after it cannot move past the bound.
 * @err:	KUBUF_RING_ERR_* of the first check that failed, or 0.
 */
struct kubuf_ring_view {
	struct kubuf_ring_ctl *ctl;
	unsigned char *data;
	__u64 size;
	__u64 mask;
	__u64 pos;
	__u64 peer;
	__u64 at;
	__u64 lim;
	__u64 rsv;
	__u32 err;
};

/*
 * Start a view of a ring of @size data bytes at @ring (control block
 * first). kubuf_ring_init() also resets the shared control block: only
 * the side that creates the ring (the module, at attach) calls it.
 */
static __inline__ void kubuf_ring_view_init(struct kubuf_ring_view *v,
					    void *ring, __u64 size)
{
	v->ctl = (struct kubuf_ring_ctl *)ring;
	v->data = (unsigned char *)ring + KUBUF_RING_CTL_SIZE;
	v->size = size;
	v->mask = size - 1;
	v->pos = 0;
	v->peer = 0;
	v->at = 0;
	v->lim = 0;
	v->rsv = 0;
	v->err = 0;
}

static __inline__ void kubuf_ring_init(struct kubuf_ring_view *v, void *ring,
				       __u64 size)
{
	struct kubuf_ring_ctl *c = (struct kubuf_ring_ctl *)ring;
	unsigned int i;

	kubuf_ring_view_init(v, ring, size);
	for (i = 0; i < sizeof(*c) / sizeof(__u64); i++)
		kubuf_ring_write((__u64 *)c + i, 0);
	kubuf_ring_write(&c->magic, KUBUF_RING_MAGIC);
	kubuf_ring_write(&c->data_size, (__u32)size);
}

static __inline__ int kubuf_ring_fail(struct kubuf_ring_view *v, __u32 err)
{
	if (!v->err)
		v->err = err;
	/*
	 * Broken stays broken, whichever side's calls come next: both fast
	 * paths find no room and nothing published, and what was committed
	 * and not published is dropped.
	 */
	v->at = v->pos;
	v->lim = v->pos;
	v->rsv = v->pos;
	return -EPROTO;
}

/* Bytes from @p to the end of its lap of the data area (1 to size). */
static __inline__ __u64 kubuf_ring_to_end(const struct kubuf_ring_view *v,
					  __u64 p)
{
	return v->size - (p & v->mask);
}

/*
 * Either side's fast-path bound (see struct kubuf_ring_view): @n bytes
 * from @from, but not past the end of @from's lap; none once broken.
 */
static __inline__ void kubuf_ring_set_lim(struct kubuf_ring_view *v,
					  __u64 from, __u64 n)
{
	__u64 to_end = kubuf_ring_to_end(v, from);

	v->lim = from + (v->err ? 0 : n < to_end ? n : to_end);
}

/* A record header as the one 8-byte word both sides move it in. */
union kubuf_ring_hdr {
	struct kubuf_rec r;
	__u64 raw;
};

/* A header's type | flags << 16: on little-endian, its upper half. */
static __inline__ kubuf_ring_fast __u32
kubuf_ring_type_flags(union kubuf_ring_hdr h)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return (__u32)h.r.flags << 16 | h.r.type;
#else
	return (__u32)(h.raw >> 32);
#endif
}

/* Write a record header: one 8-byte store. */
static __inline__ kubuf_ring_fast void *
kubuf_ring_put(struct kubuf_ring_view *v, __u64 at, __u32 len, __u16 type)
{
	unsigned char *r = v->data + (at & v->mask);
	union kubuf_ring_hdr h;

	h.r.len = len;
	h.r.type = type;
	h.r.flags = 0;
	kubuf_ring_write((__u64 *)r, h.raw);
	return r + sizeof(h.r);
}

/* --- producer ------------------------------------------------------------ */

/* The producer's fast-path bound (see struct kubuf_ring_view). */
static __inline__ void kubuf_ring_prod_limit(struct kubuf_ring_view *v)
{
	kubuf_ring_set_lim(v, v->at, v->size - (v->at - v->peer));
}

/* Bytes committed and not yet published. */
static __inline__ __u64 kubuf_ring_prod_pending(const struct kubuf_ring_view *v)
{
	return v->at - v->pos;
}

/* Check tail as read by the producer; returns the bytes free, or -EPROTO. */
static __inline__ long long kubuf_ring_prod_check(struct kubuf_ring_view *v,
						  __u64 tail)
{
	if (v->err)
		return -EPROTO;
	/* Only what was published (pos) can have been released. */
	if (tail - v->peer > v->pos - v->peer)
		return kubuf_ring_fail(v, KUBUF_RING_ERR_TAIL);
	v->peer = tail;
	kubuf_ring_prod_limit(v);
	return (long long)(v->size - (v->at - tail));
}

/*
 * Bytes the producer may still write: reads tail (pair (2)) and checks it.
 * Returns -EPROTO if the consumer's tail is impossible.
 */
static __inline__ long long kubuf_ring_prod_space(struct kubuf_ring_view *v)
{
	return kubuf_ring_prod_check(v, kubuf_ring_load_acquire(&v->ctl->tail));
}

/*
 * kubuf_ring_prod_reserve() when the record does not fit below v->lim:
 * the end of the data area (padding first), a tail not read for a while,
 * a full ring, a record that can never fit, or a broken view.
 */
static kubuf_ring_slow kubuf_ring_unused void *
kubuf_ring_prod_reserve_slow(struct kubuf_ring_view *v, __u32 len, __u16 type)
{
	__u64 need = kubuf_rec_size(len);
	__u64 at = v->at;
	__u64 to_end = kubuf_ring_to_end(v, at);
	__u64 pad = need > to_end ? to_end : 0;
	__u64 space = v->size - (at - v->peer);
	long long now;

	if (need > v->size || v->err)
		return (void *)0;
	/*
	 * The tail checked last is enough when it shows room: the consumer
	 * only ever releases more. Read tail again (pair (2)) only when it
	 * does not, so a record costs no load of the consumer's line.
	 */
	if (space < pad + need) {
		now = kubuf_ring_prod_space(v);
		if (now < 0 || (__u64)now < pad)
			return (void *)0;
		space = (__u64)now;
	}
	if (pad) {
		kubuf_ring_put(v, at, (__u32)(pad - sizeof(struct kubuf_rec)),
			       KUBUF_REC_PAD);
		at += pad;
		v->at = at;
		space -= pad;
	}
	/* Never below at: commit must not take at past it. */
	kubuf_ring_prod_limit(v);
	/*
	 * Padding is queued even when the record does not fit after it: a
	 * record larger than half the data area may never fit behind the
	 * padding, even in an empty ring, but always fits at the start.
	 */
	if (space < need)
		return (void *)0;
	v->rsv = at + need;
	return kubuf_ring_put(v, at, len, type);
}

/*
 * Reserve room for a record of @len payload bytes of @type: returns a
 * pointer to its payload (write it, then kubuf_ring_prod_commit()), NULL
 * if the ring is full now (only the padding up to the end of the data
 * area may have been queued: publish it, so that the consumer can take
 * it), or NULL with v->err set if the consumer broke the ring. A record
 * larger than the data area can never fit: callers check
 * kubuf_rec_size(len) <= size first.
 *
 * The fast path is one test: the record fits below v->lim, which already
 * accounts for the tail checked last and the end of the data area.
 */
static __inline__ kubuf_ring_fast void *
kubuf_ring_prod_reserve(struct kubuf_ring_view *v, __u32 len, __u16 type)
{
	__u64 need = kubuf_rec_size(len);

	if (kubuf_ring_unlikely(need > v->lim - v->at))
		return kubuf_ring_prod_reserve_slow(v, len, type);
	v->rsv = v->at + need;
	return kubuf_ring_put(v, v->at, len, type);
}

/* The record reserved last is written: count it in what will be published. */
static __inline__ kubuf_ring_fast void
kubuf_ring_prod_commit(struct kubuf_ring_view *v)
{
	v->at = v->rsv;
}

/*
 * Publish every committed record (pair (1)); returns non-zero if the
 * consumer said it is waiting (pair (3)) and should be woken.
 */
static __inline__ int kubuf_ring_prod_publish(struct kubuf_ring_view *v)
{
	if (v->at != v->pos) {
		v->pos = v->at;
		kubuf_ring_store_mb(&v->ctl->head, v->pos);
	}
	return kubuf_ring_load_after_mb(&v->ctl->waiting) != 0;
}

/*
 * Free bytes a record of @len payload bytes needs at the write position:
 * its own, and the padding before it if it does not fit before the end.
 */
static __inline__ __u64
kubuf_ring_prod_need(const struct kubuf_ring_view *v, __u32 len)
{
	__u64 need = kubuf_rec_size(len);
	__u64 to_end = kubuf_ring_to_end(v, v->at);

	/* Padding to the end of the area first, if the record needs it. */
	return need > to_end ? need + to_end : need;
}

/*
 * The producer found no room for a record of @len payload bytes and will
 * sleep until the consumer has released enough: the record's room, and
 * at least half the data area, so that each wakeup is worth a burst.
 * Call it with everything committed published (the consumer can only
 * release what it was given). Says so in room, then looks at tail once
 * more (pair (4)). Returns the bytes free now: at least the record's
 * room (kubuf_ring_prod_need) means do not sleep: call
 * kubuf_ring_prod_room_done() and produce; less means sleep until
 * kicked; -EPROTO means tail is impossible.
 */
static __inline__ long long kubuf_ring_prod_wait_room(struct kubuf_ring_view *v,
						      __u32 len)
{
	__u64 need = kubuf_ring_prod_need(v, len);
	__u64 want;

	want = need > v->size / 2 ? need : v->size / 2;
	if (want > v->size)
		want = v->size;
	/* Free is size - (at - tail): this tail gives want free. */
	kubuf_ring_store_mb(&v->ctl->room, v->at + want - v->size);
	return kubuf_ring_prod_check(v, kubuf_ring_load_after_mb(&v->ctl->tail));
}

/* The producer waits for room no more (it was kicked, or found room). */
static __inline__ void kubuf_ring_prod_room_done(struct kubuf_ring_view *v)
{
	kubuf_ring_write(&v->ctl->room, 0);
}

/* Publish the producer's drop count. */
static __inline__ void kubuf_ring_prod_dropped(struct kubuf_ring_view *v,
					       __u64 dropped)
{
	kubuf_ring_write(&v->ctl->dropped, dropped);
}

/* --- consumer ------------------------------------------------------------ */

/* The consumer's fast-path bound (see struct kubuf_ring_view). */
static __inline__ void kubuf_ring_cons_limit(struct kubuf_ring_view *v)
{
	kubuf_ring_set_lim(v, v->pos, v->peer - v->pos);
}

/*
 * Bytes published and not yet consumed: reads head (pair (1)) and checks
 * it. Returns -EPROTO if the producer's head is impossible.
 */
static __inline__ long long kubuf_ring_cons_check(struct kubuf_ring_view *v,
						  __u64 head)
{
	if (v->err)
		return -EPROTO;
	if (head - v->peer > v->pos + v->size - v->peer)
		return kubuf_ring_fail(v, KUBUF_RING_ERR_HEAD);
	v->peer = head;
	kubuf_ring_cons_limit(v);
	return (long long)(head - v->pos);
}

static __inline__ long long kubuf_ring_cons_avail(struct kubuf_ring_view *v)
{
	return kubuf_ring_cons_check(v, kubuf_ring_load_acquire(&v->ctl->head));
}

/*
 * kubuf_ring_cons_peek() when the fast path declined: nothing published,
 * the end of the data area or of its lap (padding), or a header to fail.
 */
static kubuf_ring_slow kubuf_ring_unused const void *
kubuf_ring_cons_peek_slow(struct kubuf_ring_view *v, struct kubuf_rec *rec,
			  __u32 max_len)
{
	union kubuf_ring_hdr h;
	__u64 size;
	int pads;

	for (pads = 0; pads < 2; pads++) {
		kubuf_ring_cons_limit(v);
		if (v->lim == v->pos)	/* broken, or nothing published */
			return (void *)0;
		h.raw = kubuf_ring_read((__u64 *)(v->data +
						  (v->pos & v->mask)));
		size = kubuf_rec_size(h.r.len);
		/* Within what was published and before the end of the area. */
		if (size > v->lim - v->pos || h.r.flags) {
			kubuf_ring_fail(v, KUBUF_RING_ERR_REC);
			return (void *)0;
		}
		if (h.r.type != KUBUF_REC_PAD) {
			if (h.r.len > max_len) {
				kubuf_ring_fail(v, KUBUF_RING_ERR_REC);
				return (void *)0;
			}
			*rec = h.r;
			v->rsv = v->pos + size;
			return v->data + (v->pos & v->mask) + sizeof(h.r);
		}
		/* Padding runs to the end of the data area, never further. */
		v->pos += size;
		v->rsv = v->pos;
	}
	kubuf_ring_fail(v, KUBUF_RING_ERR_REC);	/* padding after padding */
	return (void *)0;
}

/*
 * The next record, whole: copies its header to *@rec and returns a
 * pointer to its payload (rec->len bytes), skipping padding. Returns NULL
 * when nothing is published past the records already consumed (call
 * kubuf_ring_cons_avail() to look again), or NULL with v->err set when
 * the header is impossible. Only @max_len bytes of payload are accepted.
 *
 * The fast path reads the header at pos, one 8-byte load (the producer
 * writes headers in one 8-byte store), and takes the record only if it
 * fits below v->lim, which stands for both what was published and the
 * end of the data area, carries no flags, is no padding and is no longer
 * than @max_len. Anything else is the slow path's, an empty ring
 * included: with pos == v->lim no record fits, and the word read, which
 * may be one the producer is writing, is not used.
 */
static __inline__ kubuf_ring_fast const void *
kubuf_ring_cons_peek(struct kubuf_ring_view *v, struct kubuf_rec *rec,
		     __u32 max_len)
{
	__u64 off = v->pos & v->mask;
	union kubuf_ring_hdr h;
	__u64 size;

	h.raw = kubuf_ring_read((__u64 *)(v->data + off));
	size = kubuf_rec_size(h.r.len);
	/* flags == 0 and type != KUBUF_REC_PAD, in one test */
	if (kubuf_ring_unlikely(size > v->lim - v->pos || h.r.len > max_len ||
				kubuf_ring_type_flags(h) - 1 >=
				KUBUF_REC_TYPE_MAX))
		return kubuf_ring_cons_peek_slow(v, rec, max_len);
	*rec = h.r;
	v->rsv = v->pos + size;
	return v->data + off + sizeof(h.r);
}

/* The record returned by kubuf_ring_cons_peek() last is done with. */
static __inline__ kubuf_ring_fast void
kubuf_ring_cons_next(struct kubuf_ring_view *v)
{
	v->pos = v->rsv;
}

/* Release everything consumed so far to the producer (pair (2)). */
static __inline__ void kubuf_ring_cons_release(struct kubuf_ring_view *v)
{
	kubuf_ring_store_release(&v->ctl->tail, v->pos);
}

/*
 * Release everything consumed so far, then look at room (pair (4)): the
 * tail the producer waits for, if it waits, else 0. The caller kicks the
 * producer when it returns a tail it has reached (kubuf_ring_room_due),
 * once per value. A full barrier: once per batch, not per record.
 */
static __inline__ __u64 kubuf_ring_cons_release_mb(struct kubuf_ring_view *v)
{
	kubuf_ring_store_mb(&v->ctl->tail, v->pos);
	return kubuf_ring_load_after_mb(&v->ctl->room);
}

/* Has the consumer, at @pos, released the tail @room the producer wants? */
static __inline__ int kubuf_ring_room_due(__u64 pos, __u64 room)
{
	return room && (__s64)(pos - room) >= 0;
}

/*
 * About to sleep: say so, then look once more (pair (3)). Returns the
 * bytes now available (> 0: do not sleep, consume), 0 (sleep until woken),
 * or -EPROTO. Call kubuf_ring_cons_done_wait() after waking.
 */
static __inline__ long long kubuf_ring_cons_prepare_wait(struct kubuf_ring_view *v)
{
	kubuf_ring_store_mb(&v->ctl->waiting, 1);
	return kubuf_ring_cons_check(v,
				     kubuf_ring_load_after_mb(&v->ctl->head));
}

static __inline__ void kubuf_ring_cons_done_wait(struct kubuf_ring_view *v)
{
	kubuf_ring_write(&v->ctl->waiting, 0);
}

#endif /* KUBUF_RING_H */
