// SPDX-License-Identifier: MIT
/*
 * Concurrency Kit's ck_ring, single producer and single consumer: a ring
 * of pointers with no burst call. The producer copies the payload into
 * the next slot and enqueues the slot's address; the consumer dequeues
 * it and copies the payload out. One record per call on both sides.
 */
#include <stdlib.h>

#include <ck_ring.h>

#include "bench.h"

struct cring {
	struct ck_ring ring;
	struct ck_ring_buffer *buf;
};

static int ck_setup(struct job *j)
{
	size_t entries = bench_entries(j->len);
	struct cring *c = aligned_alloc(64, sizeof(*c));

	if (!c)
		return -1;
	c->buf = aligned_alloc(64, entries * sizeof(*c->buf));
	if (!c->buf || slots_init(j, entries)) {
		free(c->buf);
		free(c);
		return -1;
	}
	ck_ring_init(&c->ring, (unsigned int)entries);
	j->ring = c;
	return 0;
}

static void ck_teardown(struct job *j)
{
	struct cring *c = j->ring;

	slots_free(j);
	free(c->buf);
	free(c);
}

/* One record: wait for room rather than stamp a slot twice. */
BENCH_STEP unsigned int ck_produce_step(struct job *j, uint64_t *seq)
{
	struct cring *c = j->ring;
	void *s = slot_next(j, &j->pslot);

	bench_put(j, s, (*seq)++);
	while (!ck_ring_enqueue_spsc(&c->ring, c->buf, s))
		bench_relax();
	return 1;
}

BENCH_STEP unsigned int ck_consume_step(struct job *j, uint64_t *seq)
{
	struct cring *c = j->ring;
	void *s;

	if (!ck_ring_dequeue_spsc(&c->ring, c->buf, &s))
		return 0;
	bench_get(j, s, seq);
	return 1;
}

static void *ck_produce(void *arg)
{
	return bench_produce_loop(arg, ck_produce_step);
}

static void *ck_consume(void *arg)
{
	return bench_consume_loop(arg, ck_consume_step);
}

static void ck_alternate(struct job *j, uint64_t n, unsigned int batch)
{
	bench_alternate_loop(j, n, batch, ck_produce_step, ck_consume_step);
}

const struct design bench_ck = {
	.name		= "ck_ring",
	.has_burst	= 0,
	.setup		= ck_setup,
	.teardown	= ck_teardown,
	.produce	= ck_produce,
	.consume	= ck_consume,
	.alternate	= ck_alternate,
};
