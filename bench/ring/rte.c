// SPDX-License-Identifier: MIT
/*
 * DPDK's rte_ring, single producer and single consumer
 * (RING_F_SP_ENQ | RING_F_SC_DEQ): a ring of pointers, made with
 * rte_ring_init() on memory allocated here, so without rte_eal_init()
 * and without hugepages. The producer copies the payload into the next
 * slot and enqueues the slot's address; the consumer dequeues and copies
 * out. Single records: rte_ring_sp_enqueue()/rte_ring_sc_dequeue();
 * bursts: rte_ring_sp_enqueue_burst()/rte_ring_sc_dequeue_burst().
 */
#include <stdlib.h>

#include <rte_ring.h>

#include "bench.h"

static int rte_setup(struct job *j)
{
	size_t entries = bench_entries(j->len);
	ssize_t sz = rte_ring_get_memsize((unsigned int)entries);
	struct rte_ring *r;

	if (sz < 0)
		return -1;
	r = aligned_alloc(RTE_CACHE_LINE_SIZE,
			  ((size_t)sz + RTE_CACHE_LINE_SIZE - 1) &
			  ~(size_t)(RTE_CACHE_LINE_SIZE - 1));
	if (!r)
		return -1;
	if (rte_ring_init(r, "bench", (unsigned int)entries,
			  RING_F_SP_ENQ | RING_F_SC_DEQ) ||
	    slots_init(j, entries)) {
		free(r);
		return -1;
	}
	j->ring = r;
	return 0;
}

static void rte_teardown(struct job *j)
{
	slots_free(j);
	free(j->ring);
}

/* Fill a burst of slots, then enqueue them all, waiting for room. */
BENCH_STEP unsigned int rte_produce_step(struct job *j, uint64_t *seq)
{
	struct rte_ring *r = j->ring;
	void *s[BENCH_BURST];
	unsigned int i, in;

	for (i = 0; i < j->burst; i++) {
		s[i] = slot_next(j, &j->pslot);
		bench_put(j, s[i], (*seq)++);
	}
	if (j->burst == 1) {
		while (rte_ring_sp_enqueue(r, s[0]))
			bench_relax();
		return 1;
	}
	for (in = 0; in < j->burst; in += i) {
		i = rte_ring_sp_enqueue_burst(r, s + in, j->burst - in, NULL);
		if (!i)
			bench_relax();
	}
	return j->burst;
}

BENCH_STEP unsigned int rte_consume_step(struct job *j, uint64_t *seq)
{
	struct rte_ring *r = j->ring;
	void *s[BENCH_BURST];
	unsigned int i, got;

	if (j->burst == 1)
		got = !rte_ring_sc_dequeue(r, s);
	else
		got = rte_ring_sc_dequeue_burst(r, s, j->burst, NULL);
	for (i = 0; i < got; i++)
		bench_get(j, s[i], seq);
	return got;
}

static void *rte_produce(void *arg)
{
	return bench_produce_loop(arg, rte_produce_step);
}

static void *rte_consume(void *arg)
{
	return bench_consume_loop(arg, rte_consume_step);
}

static void rte_alternate(struct job *j, uint64_t n, unsigned int batch)
{
	bench_alternate_loop(j, n, batch, rte_produce_step, rte_consume_step);
}

const struct design bench_rte = {
	.name		= "rte_ring",
	.has_burst	= 1,
	.setup		= rte_setup,
	.teardown	= rte_teardown,
	.produce	= rte_produce,
	.consume	= rte_consume,
	.alternate	= rte_alternate,
};
