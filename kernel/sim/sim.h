/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The simulated device's files: sim.c (the device, its commands),
 * stream.c (its stream), copy.c (its part of UCOPY and read()).
 */
#ifndef KUBUF_SIM_H
#define KUBUF_SIM_H

#include <kubuf/core.h>
#include <linux/kubuf_ring.h>

/**
 * struct kubuf_sim_stream - a stream's state, in its ring (kubuf_ring_priv),
 * under the ring's producer lock.
 * @s:		the stream's parameters, as started.
 * @seq:	the next record's sequence number.
 * @start_ns:	when it started.
 * @room_ns:	a dropping stream's ring full: how long to wait before
 *		looking again; doubles while the consumer makes no room.
 *		(A lossless stream waits for the consumer's kick.)
 */
struct kubuf_sim_stream {
	struct kubuf_stream s;
	u64 seq;
	u64 start_ns;
	u64 room_ns;
};

int kubuf_sim_stream_start(struct kubuf_ring *r, const struct kubuf_stream *s);
u64 kubuf_sim_stream_burst(struct kubuf_ring *r);

int kubuf_sim_ucopy(struct kubuf_device *kd, u32 op, u32 seed, void *page,
		    u64 off, u32 n, u64 *sum);
int kubuf_sim_read(struct kubuf_device *kd, void *buf, size_t len);

#endif /* KUBUF_SIM_H */
