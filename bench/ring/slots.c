// SPDX-License-Identifier: MIT
/*
 * The slot array behind the pointer rings, and the two harness-only
 * designs, whose cost under callgrind is subtracted from the designs'
 * figures: the same copies and checks with no ring at all, into one
 * batch's worth of places, the same each batch (subtracted from kubuf,
 * whose records are in the ring), or into the slots in turn (subtracted
 * from the pointer rings).
 */
#include <stdlib.h>

#include "bench.h"

size_t bench_entries(size_t len)
{
	size_t per = (len + 8 + 7) & ~(size_t)7;	/* kubuf's record size */
	size_t n = 1;

	while (n * 2 * per <= BENCH_RING_BYTES)
		n *= 2;
	return n;
}

int slots_init(struct job *j, size_t entries)
{
	j->stride = (j->len + 7) & ~(size_t)7;
	j->nslots = entries + BENCH_SLOT_SLACK;
	j->slots = aligned_alloc(4096, (j->stride * j->nslots + 4095) &
				 ~(size_t)4095);
	if (!j->slots)
		return -1;
	memset(j->slots, 0, j->stride * j->nslots);
	return 0;
}

void slots_free(struct job *j)
{
	free(j->slots);
}

static int null_setup(struct job *j)
{
	return slots_init(j, bench_entries(j->len));
}

static void null_teardown(struct job *j)
{
	slots_free(j);
}

/* The harness: copies and checks into the slots in turn, no ring. */
BENCH_STEP unsigned int slots_put_step(struct job *j, uint64_t *seq)
{
	bench_put(j, slot_next(j, &j->pslot), (*seq)++);
	return 1;
}

BENCH_STEP unsigned int slots_get_step(struct job *j, uint64_t *seq)
{
	bench_get(j, slot_next(j, &j->cslot), seq);
	return 1;
}

static void null_alternate(struct job *j, uint64_t n, unsigned int batch)
{
	bench_alternate_loop(j, n, batch, slots_put_step, slots_get_step);
}

const struct design bench_null_slots = {
	.name		= "harness+slots",
	.setup		= null_setup,
	.teardown	= null_teardown,
	.alternate	= null_alternate,
};

/* The harness: copies and checks into a batch's worth of places. */
BENCH_STEP unsigned int fixed_put_step(struct job *j, uint64_t *seq)
{
	bench_put(j, j->slots + (*seq % BENCH_BURST) * j->stride, *seq);
	(*seq)++;
	return 1;
}

BENCH_STEP unsigned int fixed_get_step(struct job *j, uint64_t *seq)
{
	bench_get(j, j->slots + (*seq % BENCH_BURST) * j->stride, seq);
	return 1;
}

static void fixed_alternate(struct job *j, uint64_t n, unsigned int batch)
{
	bench_alternate_loop(j, n, batch, fixed_put_step, fixed_get_step);
}

const struct design bench_null = {
	.name		= "harness",
	.setup		= null_setup,
	.teardown	= null_teardown,
	.alternate	= fixed_alternate,
};
