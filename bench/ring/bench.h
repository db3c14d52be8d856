/* SPDX-License-Identifier: MIT */
/*
 * The ring-alone benchmark: one producer thread and one consumer thread
 * move records of a fixed payload size through a single-producer,
 * single-consumer ring. Every design moves the same bytes: the producer
 * stamps a sequence number into its source record and copies the
 * payload into the ring's memory; the consumer copies it out and checks
 * the sequence number. kubuf's records carry the payload in the ring
 * itself; ck_ring and rte_ring pass pointers, so their producer copies
 * into a slot array and passes the slot's address (see slots_*()).
 *
 * Each design is one file providing a struct design; the harness
 * (main.c) times the threaded runs and, under callgrind, the
 * single-threaded alternating run (alternate()).
 */
#ifndef KUBUF_BENCH_RING_H
#define KUBUF_BENCH_RING_H

#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Every design's ring holds this many payload bytes (kubuf: data area). */
#define BENCH_RING_BYTES	(1u << 20)
#define BENCH_BURST		32
/* Slots beyond the pointer ring's entries: see slots_init(). */
#define BENCH_SLOT_SLACK	64

struct job {
	/* Set by the harness. */
	size_t len;			/* payload bytes per record */
	unsigned int burst;		/* records per publish: 1 or BENCH_BURST */
	unsigned char *src;		/* producer's record, 64-byte aligned */
	unsigned char *dst;		/* consumer's copy, 64-byte aligned */
	int go;				/* both threads start when set */
	int stop;			/* the producer stops when set */
	/* Producer -> consumer at the end: records produced in all. */
	uint64_t total;
	int done;
	/* Results. */
	uint64_t consumed;
	uint64_t bad;			/* sequence numbers out of order */
	uint64_t t_end_ns;		/* when the consumer had every record */
	/* The design's state. */
	void *ring;
	unsigned char *slots;
	size_t stride;
	size_t nslots;
	size_t pslot;			/* producer's next slot */
	size_t cslot;			/* harness consumer's next slot */
};

struct design {
	const char *name;
	int has_burst;
	int (*setup)(struct job *j);
	void (*teardown)(struct job *j);
	void *(*produce)(void *job);
	void *(*consume)(void *job);
	/* One thread: produce @batch records then consume them, @n in all. */
	void (*alternate)(struct job *j, uint64_t n, unsigned int batch);
};

extern const struct design bench_kubuf, bench_ck, bench_rte;
extern const struct design bench_null, bench_null_slots;

/*
 * Waiting for the other thread: spin, but yield now and then, so that a
 * thread whose peer was preempted on a busy machine gives its CPU back
 * rather than spinning out its time slice. The same for every design.
 */
static inline void bench_relax(void)
{
	static __thread unsigned int spins;

#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
	if (!(++spins & 1023))
		sched_yield();
}

static inline int bench_load(const int *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* What every producer does per record: stamp, then copy into the ring. */
static inline void bench_put(struct job *j, void *to, uint64_t seq)
{
	memcpy(j->src, &seq, sizeof(seq));
	memcpy(to, j->src, j->len);
}

/* What every consumer does per record: copy out, check the stamp. */
static inline void bench_get(struct job *j, const void *from, uint64_t *seq)
{
	uint64_t got;

	memcpy(j->dst, from, j->len);
	memcpy(&got, j->dst, sizeof(got));
	j->bad += got != *seq;
	(*seq)++;
}

/* Producer: no more records; @total were produced. */
static inline void bench_finish(struct job *j, uint64_t total)
{
	j->total = total;
	__atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
}

/* Consumer, on an empty ring: has the producer finished and all arrived? */
static inline int bench_all_in(struct job *j, uint64_t seq)
{
	return bench_load(&j->done) && seq == j->total;
}

/* check.c: @n stream records of @len bytes made and checked, by words or bytes. */
void check_run(int word, size_t len, uint64_t n);

uint64_t bench_now_ns(void);
void bench_consumed(struct job *j, uint64_t seq);

/*
 * The loops every design runs, around its own two steps: produce up to
 * j->burst records (returns how many went in, 0 if the ring is full) and
 * consume up to j->burst (returns how many came out). Always inlined,
 * with the steps known at compile time, so the steps inline too.
 */
typedef unsigned int (*bench_step)(struct job *j, uint64_t *seq);
#define BENCH_STEP static inline __attribute__((always_inline))

static inline __attribute__((always_inline)) void *
bench_produce_loop(struct job *j, bench_step produce)
{
	uint64_t seq = 0;

	while (!bench_load(&j->go))
		bench_relax();
	while (!__atomic_load_n(&j->stop, __ATOMIC_RELAXED))
		if (!produce(j, &seq))
			bench_relax();
	bench_finish(j, seq);
	return NULL;
}

static inline __attribute__((always_inline)) void *
bench_consume_loop(struct job *j, bench_step consume)
{
	uint64_t seq = 0;

	while (!bench_load(&j->go))
		bench_relax();
	for (;;) {
		if (consume(j, &seq))
			continue;
		if (bench_all_in(j, seq))
			break;
		bench_relax();
	}
	bench_consumed(j, seq);
	return NULL;
}

/* Single-threaded, for callgrind: @batch records in, then out; @n in all. */
void bench_abort(const char *what);

static inline __attribute__((always_inline)) void
bench_alternate_loop(struct job *j, uint64_t n, unsigned int batch,
		     bench_step produce, bench_step consume)
{
	uint64_t pseq = 0, cseq = 0;
	unsigned int i, k;

	while (pseq < n) {
		for (i = 0; i < batch; i += k)
			if (!(k = produce(j, &pseq)))
				bench_abort("ring full");
		for (i = 0; i < batch; i += k)
			if (!(k = consume(j, &cseq)))
				bench_abort("ring empty");
	}
	j->consumed = cseq;
}

/*
 * Pointer rings (and the harness-only design) hand out slots in order
 * from an array of ring entries + BENCH_SLOT_SLACK slots: a slot is
 * reused only after the ring has been filled and the consumer's burst
 * drained behind it, so the consumer is done with it. Each slot is the
 * payload rounded up to 8 bytes.
 */
int slots_init(struct job *j, size_t entries);
void slots_free(struct job *j);

static inline unsigned char *slot_next(struct job *j, size_t *i)
{
	unsigned char *s = j->slots + *i * j->stride;

	if (++*i == j->nslots)
		*i = 0;
	return s;
}

/* Ring entries of a pointer ring for this payload: a power of two. */
size_t bench_entries(size_t len);

#endif
