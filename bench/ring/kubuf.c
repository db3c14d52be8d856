// SPDX-License-Identifier: MIT
/*
 * kubuf's ring as the module and libkubuf use it: the producer reserves
 * a record in the ring, writes its payload there, commits it and
 * publishes (once per record, or once per burst); the consumer peeks at
 * the record in place, copies the payload out, moves past it and
 * releases (once per record, or once per burst), and looks at head
 * again only when it has consumed everything it saw.
 */
#include <stdlib.h>
#include <stdio.h>

#include <kubuf/ring.h>

#include "bench.h"

struct kring {
	struct kubuf_ring_view prod;
	struct kubuf_ring_view cons;
	void *mem;
};

static int kubuf_setup(struct job *j)
{
	struct kring *k = calloc(1, sizeof(*k));

	if (!k)
		return -1;
	k->mem = aligned_alloc(4096, KUBUF_RING_CTL_SIZE + BENCH_RING_BYTES);
	if (!k->mem) {
		free(k);
		return -1;
	}
	memset(k->mem, 0, KUBUF_RING_CTL_SIZE + BENCH_RING_BYTES);
	kubuf_ring_init(&k->prod, k->mem, BENCH_RING_BYTES);
	kubuf_ring_view_init(&k->cons, k->mem, BENCH_RING_BYTES);
	j->ring = k;
	return 0;
}

static void kubuf_teardown(struct job *j)
{
	struct kring *k = j->ring;

	free(k->mem);
	free(k);
}

static void broken(struct kubuf_ring_view *v, const char *side)
{
	fprintf(stderr, "ringbench: kubuf %s: ring broken (%u)\n", side, v->err);
	bench_abort("kubuf");
}

/*
 * Up to @n records; returns how many went in. @single (a constant where
 * this is inlined): one publish per record, else one per call.
 */
BENCH_STEP unsigned int kubuf_produce_some(struct job *j,
					      struct kubuf_ring_view *v,
					      uint64_t *seq, unsigned int n,
					      const int single)
{
	unsigned int i;
	void *p;

	for (i = 0; i < n; i++) {
		p = kubuf_ring_prod_reserve(v, (__u32)j->len, KUBUF_REC_USER);
		if (!p)
			break;
		bench_put(j, p, (*seq)++);
		kubuf_ring_prod_commit(v);
		if (single)
			kubuf_ring_prod_publish(v);
	}
	/* Also publishes padding queued by a reserve that found no room. */
	if (!single || !i)
		kubuf_ring_prod_publish(v);
	if (v->err)
		broken(v, "producer");
	return i;
}

/* Up to @n records; returns how many came out. @single: as above. */
BENCH_STEP unsigned int kubuf_consume_some(struct job *j,
					      struct kubuf_ring_view *v,
					      uint64_t *seq, unsigned int n,
					      const int single)
{
	__u64 start = v->pos;
	struct kubuf_rec rec;
	unsigned int i;
	const void *p;

	for (i = 0; i < n; i++) {
		p = kubuf_ring_cons_peek(v, &rec, (__u32)j->len);
		if (!p) {
			if (v->err || kubuf_ring_cons_avail(v) < 0)
				broken(v, "consumer");
			p = kubuf_ring_cons_peek(v, &rec, (__u32)j->len);
			if (!p)
				break;
		}
		bench_get(j, p, seq);
		kubuf_ring_cons_next(v);
		if (single)
			kubuf_ring_cons_release(v);
	}
	/* Once per burst; and padding skipped with no record after it. */
	if ((!single || !i) && v->pos != start)
		kubuf_ring_cons_release(v);
	return i;
}

BENCH_STEP unsigned int kubuf_produce_step(struct job *j, uint64_t *seq)
{
	struct kring *k = j->ring;

	if (j->burst == 1)
		return kubuf_produce_some(j, &k->prod, seq, 1, 1);
	return kubuf_produce_some(j, &k->prod, seq, j->burst, 0);
}

BENCH_STEP unsigned int kubuf_consume_step(struct job *j, uint64_t *seq)
{
	struct kring *k = j->ring;

	if (j->burst == 1)
		return kubuf_consume_some(j, &k->cons, seq, 1, 1);
	return kubuf_consume_some(j, &k->cons, seq, j->burst, 0);
}

static void *kubuf_produce(void *arg)
{
	return bench_produce_loop(arg, kubuf_produce_step);
}

static void *kubuf_consume(void *arg)
{
	return bench_consume_loop(arg, kubuf_consume_step);
}

static void kubuf_alternate(struct job *j, uint64_t n, unsigned int batch)
{
	bench_alternate_loop(j, n, batch, kubuf_produce_step,
			     kubuf_consume_step);
}

const struct design bench_kubuf = {
	.name		= "kubuf",
	.has_burst	= 1,
	.setup		= kubuf_setup,
	.teardown	= kubuf_teardown,
	.produce	= kubuf_produce,
	.consume	= kubuf_consume,
	.alternate	= kubuf_alternate,
};
