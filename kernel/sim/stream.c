// SPDX-License-Identifier: GPL-2.0
/*
 * The simulated device's stream: a data-acquisition card producing
 * records into a ring the application consumes (KUBUF_IOC_STREAM_START).
 *
 * Record i is due at start + i / rate (all at once without a rate) and
 * carries its sequence number, size bytes of the pattern (seed + i) and
 * their checksum (kubuf_stream_fill()), so the application can check
 * every byte; a bare stream (KUBUF_STREAM_BARE) writes its sequence
 * number only, the cost of the path without the data's (bench/). The
 * core calls kubuf_sim_stream_burst() on its workers with the ring's
 * memory held: it produces what is due, a bounded burst at a time, and
 * says when it wants to run again. A lossless stream that finds the
 * ring full waits for room (kubuf_ring_wait_room: the application kicks
 * it when it has released enough); any other drops every record due at
 * once, in one step however far behind it is, and counts them.
 *
 * Numbers. The rate is at most KUBUF_STREAM_MAX_RATE (the core refuses
 * more), so the records due after any time, and the time any record is
 * due, are computed without overflow (kubuf_sim_due(),
 * kubuf_sim_due_ns()).
 */
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/sizes.h>

#include <kubuf/core.h>

#include "sim.h"

#define KUBUF_SIM_BURST_RECS	512		/* records per burst */
#define KUBUF_SIM_BURST_BYTES	SZ_256K		/* payload bytes per burst */
#define KUBUF_SIM_ALIVE_BYTES	PAGE_SIZE	/* looks at kubuf_ring_alive() */
#define KUBUF_SIM_ROOM_NS	(50 * NSEC_PER_USEC)	/* dropping: first look */
#define KUBUF_SIM_ROOM_MAX_NS	(5 * NSEC_PER_MSEC)	/* and slowest look */

/*
 * Write stream record @seq at @p: data, then its checksum; never read
 * back. A bare stream writes the header only.
 */
static void kubuf_sim_write_rec(void *p, u64 seq, const struct kubuf_stream *s)
{
	struct kubuf_stream_rec *sr = p;

	if (s->flags & KUBUF_STREAM_BARE)
		sr->csum = 0;
	else
		sr->csum = kubuf_stream_fill(sr + 1, s->seed + (u32)seq, seq,
					     s->rec_size);
	sr->seq = seq;
}

/*
 * Records of the stream due by @now (all of them without a rate): record
 * i is due at start + i / rate. With rate <= KUBUF_STREAM_MAX_RATE (1e8)
 * neither product below can overflow: (2^64 / 1e9) * 1e8 < 2^61, and
 * 1e9 * 1e8 < 2^57.
 */
static u64 kubuf_sim_due(const struct kubuf_sim_stream *st, u64 now)
{
	const struct kubuf_stream *s = &st->s;
	u64 due = s->count ? s->count : U64_MAX;
	u64 secs, n;
	u32 rem;

	BUILD_BUG_ON(KUBUF_STREAM_MAX_RATE > 100000000ULL);
	if (s->rate) {
		secs = div_u64_rem(now - st->start_ns, NSEC_PER_SEC, &rem);
		n = secs * s->rate + div_u64((u64)rem * s->rate, NSEC_PER_SEC);
		due = min(due, n + 1);
	}
	return due;
}

/*
 * When record @seq of a stream with a rate is due (ns, absolute), or
 * KUBUF_RING_IDLE if that is beyond any time a timer can name.
 */
static u64 kubuf_sim_due_ns(const struct kubuf_sim_stream *st, u64 seq)
{
	u64 rate = st->s.rate, rem, t;
	u64 secs = div64_u64_rem(seq, rate, &rem);

	/* rem < rate <= 1e8: rem * 1e9 fits. */
	if (check_mul_overflow(secs, (u64)NSEC_PER_SEC, &t) ||
	    check_add_overflow(t, div64_u64(rem * NSEC_PER_SEC, rate), &t) ||
	    check_add_overflow(t, st->start_ns, &t) || t > KTIME_MAX)
		return KUBUF_RING_IDLE;
	return t;
}

/* STREAM_START, checked by the core, under the ring's producer lock. */
int kubuf_sim_stream_start(struct kubuf_ring *r, const struct kubuf_stream *s)
{
	struct kubuf_sim_stream *st = kubuf_ring_priv(r);

	st->s = *s;
	st->seq = 0;
	st->start_ns = ktime_get_ns();
	st->room_ns = KUBUF_SIM_ROOM_NS;
	return 0;
}

/*
 * One burst of the stream, with the ring's memory and producer lock held:
 * produce the records that are due, at most a burst of them. Returns when
 * to look again (ns), 0 for at once, KUBUF_RING_IDLE for never unless
 * kicked.
 */
u64 kubuf_sim_stream_burst(struct kubuf_ring *r)
{
	struct kubuf_sim_stream *st = kubuf_ring_priv(r);
	const struct kubuf_stream *s = &st->s;
	u32 len = sizeof(struct kubuf_stream_rec) + s->rec_size;
	u64 now = ktime_get_ns(), due, nr = 0, bytes = 0, alive_at = 0;
	bool full = false, dropped = false;
	void *p;

	if (kubuf_ring_stream_state(r) != KUBUF_STREAM_RUNNING) {
		kubuf_ring_announce(r, 0, true);
		return KUBUF_RING_IDLE;
	}
	due = kubuf_sim_due(st, now);
	while (st->seq < due && nr < KUBUF_SIM_BURST_RECS &&
	       bytes < KUBUF_SIM_BURST_BYTES) {
		/*
		 * The core holds the ring's memory for the whole burst and a
		 * revocation waits for that: looking at every page of
		 * records (not every record) only bounds how soon it lets
		 * go, as kubuf_mem_alive() asks of a holder.
		 */
		if (bytes >= alive_at) {
			if (!kubuf_ring_alive(r))
				return KUBUF_RING_IDLE;	/* the core sees why */
			alive_at = bytes + KUBUF_SIM_ALIVE_BYTES;
		}
		p = kubuf_ring_reserve(r, len, KUBUF_REC_STREAM);
		if (IS_ERR(p))
			return KUBUF_RING_IDLE;	/* broken: marked so */
		if (!p) {
			if (s->flags & KUBUF_STREAM_LOSSLESS) {
				full = true;
				break;
			}
			/*
			 * No room: every record due now is dropped, at once.
			 * A stream far behind (a high rate, a consumer that
			 * never reads) catches up in one step, not one loop
			 * per record.
			 */
			kubuf_ring_drop(r, due - st->seq);
			st->seq = due;
			dropped = true;
			break;
		}
		kubuf_sim_write_rec(p, st->seq, s);
		kubuf_ring_commit(r, len);
		st->seq++;
		bytes += len;
		nr++;
	}

	if (s->count && st->seq >= s->count) {
		kubuf_ring_stream_done(r, nr);
		return KUBUF_RING_IDLE;
	}
	/* A full ring wakes the consumer whatever the batch knobs say. */
	kubuf_ring_announce(r, nr, full || dropped);
	if (!kubuf_ring_alive(r))
		return KUBUF_RING_IDLE;

	if (full)
		return kubuf_ring_wait_room(r, len);
	if (!dropped && (st->seq < due || !s->rate))
		return 0;	/* more is due already */
	if (dropped && !nr) {
		/*
		 * A stalled consumer costs the device less and less: a
		 * dropping stream drops what came due meanwhile, each time
		 * a little later.
		 */
		st->room_ns = min_t(u64, st->room_ns * 2, KUBUF_SIM_ROOM_MAX_NS);
		return now + st->room_ns;
	}
	st->room_ns = KUBUF_SIM_ROOM_NS;
	return kubuf_sim_due_ns(st, st->seq);
}
