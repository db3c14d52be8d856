// SPDX-License-Identifier: MIT
/*
 * Host tests of the ring of <kubuf/ring.h>, the code the module and the
 * library share, in plain memory:
 *
 *  - two threads, a producer and a consumer, over one ring: records of
 *    random sizes that wrap the data area many times, padding, a full
 *    ring (the producer retries, drops and counts, or sleeps until the
 *    consumer releases room: pair (4)), the sleep protocol with an
 *    eventfd or a futex, and a busy-polling consumer; every record is
 *    checked (sequence, checksum, data);
 *  - one thread playing a hostile peer: each check of the header returns
 *    -EPROTO with its KUBUF_RING_ERR_*, and random values in every word
 *    the peer can write never make either side touch memory outside the
 *    ring (ASan watches);
 *  - the library's stream verifier.
 *
 * Built three times (Makefile): under ThreadSanitizer, under ASan and
 * UBSan, and plain. KUBUF_TEST_SCALE (a percentage, default 100) scales
 * the two-thread tests: the sanitizer builds use less.
 */
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>

#include <kubuf/ring.h>

#include "harness.h"
#include "kubuf.h"

#ifndef KUBUF_TEST_SCALE
#define KUBUF_TEST_SCALE 100
#endif

/* --- the two-thread test ---------------------------------------------- */

enum wake_kind { WAKE_EVENTFD, WAKE_FUTEX, WAKE_SPIN };

struct ring_test {
	/* configuration */
	unsigned int size;	/* data area */
	unsigned int max_data;	/* largest data of a record */
	unsigned long long count;	/* stream records to send */
	int drop;		/* full ring: drop (1) or retry (0) */
	enum wake_kind wake;
	int slow_consumer;	/* the consumer dawdles now and then */
	int room_sleep;		/* full ring: sleep until kicked (pair (4)) */

	/* shared state, besides the ring */
	void *mem;
	int efd;
	unsigned int wake_seq;	/* futex word */
	unsigned int room_seq;	/* futex word of the producer's room sleep */
	int done;		/* the producer finished */

	/* producer's results */
	unsigned long long produced, dropped, retries, wakeups, user_recs;
	unsigned long long room_sleeps;
	/* consumer's results */
	unsigned long long consumed, sleeps, looks, user_seen, batches;
	unsigned long long kicks;
	uint64_t room_kicked;
	struct kubuf_stream_check check;
	const char *error;
};

static const uint32_t test_seed = 0x1234abcd;

/* Data bytes of stream record @seq: a spread of 0 to max_data. */
static uint32_t data_size(const struct ring_test *t, uint64_t seq)
{
	uint64_t h = (seq + 1) * 0x9E3779B97F4A7C15ULL;

	if ((h >> 60) == 0)
		return 0;
	if ((h >> 60) == 1)
		return t->max_data;
	return (uint32_t)((h >> 20) % (t->max_data + 1));
}

static void wake_consumer(struct ring_test *t)
{
	uint64_t one = 1;

	if (t->wake == WAKE_EVENTFD) {
		if (write(t->efd, &one, sizeof(one)) != sizeof(one))
			abort();
	} else if (t->wake == WAKE_FUTEX) {
		__atomic_fetch_add(&t->wake_seq, 1, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, &t->wake_seq, FUTEX_WAKE_PRIVATE, 1,
			NULL, NULL, 0);
	}
}

static void publish(struct ring_test *t, struct kubuf_ring_view *v)
{
	if (kubuf_ring_prod_publish(v)) {
		t->wakeups++;
		wake_consumer(t);
	}
}

/* Write stream record @seq into a reserved payload of 16 + d bytes. */
static void fill_record(void *p, uint64_t seq, uint32_t d)
{
	struct kubuf_stream_rec *h = p;

	h->csum = kubuf_stream_fill(h + 1, test_seed + (uint32_t)seq, seq, d);
	h->seq = seq;
}

static void dawdle(unsigned int n)
{
	volatile unsigned int i;

	for (i = 0; i < n; i++)
		;
}

/*
 * The ring is full for a record of @len payload bytes: the room
 * handshake (pair (4)). 0 when there is room (now or after a kick), -1
 * on a broken ring or after 20 s without a kick (a lost room wakeup).
 */
static int producer_wait_room(struct ring_test *t, struct kubuf_ring_view *v,
			      uint32_t len)
{
	unsigned int seq = __atomic_load_n(&t->room_seq, __ATOMIC_SEQ_CST);
	struct timespec ts = { .tv_sec = 20 };
	long long free = kubuf_ring_prod_wait_room(v, len);

	if (free < 0) {
		t->error = "producer: ring broken";
		return -1;
	}
	if ((uint64_t)free < kubuf_ring_prod_need(v, len)) {
		t->room_sleeps++;
		if (syscall(SYS_futex, &t->room_seq, FUTEX_WAIT_PRIVATE, seq,
			    &ts, NULL, 0) < 0 && errno == ETIMEDOUT) {
			t->error = "producer: lost room wakeup (20 s asleep)";
			return -1;
		}
	}
	kubuf_ring_prod_room_done(v);
	return 0;
}

static void *producer(void *arg)
{
	struct ring_test *t = arg;
	struct kubuf_ring_view v;
	unsigned int batch = 0;
	uint64_t seq;

	kubuf_ring_view_init(&v, t->mem, t->size);
	for (seq = 0; seq < t->count; seq++) {
		uint32_t d = data_size(t, seq);
		void *p;

		/* A device at a rate: a consumer can keep up, or not. */
		if (t->drop)
			dawdle(2000);

		while (!(p = kubuf_ring_prod_reserve(&v, 16 + d,
						     KUBUF_REC_STREAM))) {
			if (v.err) {
				t->error = "producer: ring broken";
				goto out;
			}
			/* Full: let the consumer see what there is. */
			if (kubuf_ring_prod_pending(&v)) {
				publish(t, &v);
				continue;
			}
			if (t->drop)
				break;
			t->retries++;
			if (!t->room_sleep) {
				sched_yield();
				continue;
			}
			/*
			 * Now and then late: the consumer may have released
			 * everything meanwhile and gone to sleep, which only
			 * the handshake's second look at tail notices.
			 */
			if (t->retries % 4 == 0)
				dawdle(50000);
			if (producer_wait_room(t, &v, 16 + d))
				goto out;
		}
		if (!p) {
			t->dropped++;
			kubuf_ring_prod_dropped(&v, t->dropped);
			continue;
		}
		fill_record(p, seq, d);
		kubuf_ring_prod_commit(&v);
		t->produced++;
		/* Now and then an empty record of another type. */
		if (seq % 97 == 0 &&
		    kubuf_ring_prod_reserve(&v, 0, KUBUF_REC_USER)) {
			kubuf_ring_prod_commit(&v);
			t->user_recs++;
		}
		/* Publish in batches of 1 to 16 records. */
		if (++batch >= 1 + seq % 16) {
			publish(t, &v);
			batch = 0;
		}
	}
out:
	publish(t, &v);
	__atomic_store_n(&t->done, 1, __ATOMIC_SEQ_CST);
	/* The end of the stream is news too (not a ring wakeup). */
	if (t->wake != WAKE_SPIN)
		wake_consumer(t);
	return NULL;
}

/* Sleep until woken; 0, or -1 if nothing came for 20 s (a lost wakeup). */
static int consumer_sleep(struct ring_test *t, unsigned int seq)
{
	struct timespec ts = { .tv_sec = 20 };
	struct pollfd pfd = { .fd = t->efd, .events = POLLIN };
	uint64_t cnt;

	if (t->wake == WAKE_EVENTFD) {
		if (kt_poll(&pfd, 1, 20000) <= 0)
			return -1;
		if (read(t->efd, &cnt, sizeof(cnt)) != sizeof(cnt))
			return -1;
		return 0;
	}
	if (syscall(SYS_futex, &t->wake_seq, FUTEX_WAIT_PRIVATE, seq, &ts,
		    NULL, 0) < 0 && errno == ETIMEDOUT)
		return -1;
	return 0;
}

/* Consume what is there, at most @max records; the count, or -1. */
static long consume_batch(struct ring_test *t, struct kubuf_ring_view *v,
			  unsigned int max)
{
	struct kubuf_rec rec;
	const void *p;
	long n = 0;
	uint64_t last_seq = ~0ULL, room, start = v->pos;

	if (kubuf_ring_cons_avail(v) < 0)
		return -1;
	while (n < (long)max &&
	       (p = kubuf_ring_cons_peek(v, &rec, 16 + t->max_data))) {
		if (rec.type == KUBUF_REC_USER) {
			if (rec.len != 0 || t->check.next_seq == 0 ||
			    (t->check.next_seq - 1) % 97 != 0 ||
			    last_seq == ~0ULL - 1) {
				t->error = "consumer: misplaced user record";
				return -1;
			}
			last_seq = ~0ULL - 1;
			t->user_seen++;
		} else {
			uint64_t seq;

			if (rec.len < 16) {
				t->error = "consumer: short record";
				return -1;
			}
			memcpy(&seq, p, sizeof(seq));
			t->check.rec_size = data_size(t, seq);
			if (kubuf_stream_verify(&t->check, &rec, p)) {
				t->error = "consumer: corrupt record";
				return -1;
			}
			last_seq = seq;
			/* Slow for a while, then fast: drops come in bursts. */
			if (t->slow_consumer && (seq >> 12) % 2 == 0)
				dawdle(20000);
		}
		kubuf_ring_cons_next(v);
		n++;
	}
	if (v->err)
		return -1;
	if (!t->room_sleep) {
		kubuf_ring_cons_release(v);
		return n;
	}
	/*
	 * Released: kick a producer asleep for this room, once (pair (4)).
	 * Only when something was consumed, as libkubuf does: a consumer
	 * that looked at room on every idle turn would hide a room wakeup
	 * lost by the handshake.
	 */
	if (v->pos == start)
		return n;
	room = kubuf_ring_cons_release_mb(v);
	if (kubuf_ring_room_due(v->pos, room) && room != t->room_kicked) {
		t->room_kicked = room;
		t->kicks++;
		__atomic_fetch_add(&t->room_seq, 1, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, &t->room_seq, FUTEX_WAKE_PRIVATE, 1, NULL,
			NULL, 0);
	}
	return n;
}

static void *consumer(void *arg)
{
	struct ring_test *t = arg;
	struct kubuf_ring_view v;
	unsigned int seq = 0;
	long n;

	kubuf_ring_view_init(&v, t->mem, t->size);
	kubuf_stream_check_init(&t->check, test_seed, 0);
	for (;;) {
		n = consume_batch(t, &v, 1 + t->batches % 64);
		if (n < 0) {
			if (!t->error)
				t->error = "consumer: ring broken";
			return NULL;
		}
		t->batches++;
		t->consumed += n;
		if (n)
			continue;
		t->looks++;
		if (__atomic_load_n(&t->done, __ATOMIC_SEQ_CST)) {
			if (kubuf_ring_cons_avail(&v) == 0)
				return NULL;
			continue;
		}
		if (t->wake == WAKE_SPIN) {
			sched_yield();
			continue;
		}
		/* The sleep protocol of kubuf/ring.h (pair (3)). */
		seq = __atomic_load_n(&t->wake_seq, __ATOMIC_SEQ_CST);
		if (kubuf_ring_cons_prepare_wait(&v) == 0 &&
		    !__atomic_load_n(&t->done, __ATOMIC_SEQ_CST)) {
			t->sleeps++;
			if (consumer_sleep(t, seq)) {
				t->error = "consumer: lost wakeup (20 s asleep)";
				return NULL;
			}
		}
		kubuf_ring_cons_done_wait(&v);
	}
}

static void run_two_threads(struct ring_test *t)
{
	pthread_t pt, ct;
	size_t bytes = KUBUF_RING_CTL_SIZE + t->size;
	unsigned long long want = t->count;

	t->count = t->count * KUBUF_TEST_SCALE / 100;
	if (t->count < 1000 && want >= 1000)
		t->count = 1000;
	t->mem = aligned_alloc(KUBUF_RING_ALIGN, bytes);
	KT_ASSERT(t->mem != NULL);
	memset(t->mem, 0x5a, bytes);
	{
		struct kubuf_ring_view init;

		kubuf_ring_init(&init, t->mem, t->size);
	}
	t->efd = KT_OK(eventfd(0, EFD_CLOEXEC));
	KT_ASSERT_EQ(pthread_create(&ct, NULL, consumer, t), 0);
	KT_ASSERT_EQ(pthread_create(&pt, NULL, producer, t), 0);
	KT_ASSERT_EQ(pthread_join(pt, NULL), 0);
	KT_ASSERT_EQ(pthread_join(ct, NULL), 0);
	close(t->efd);

	printf("# size %u, data 0..%u: %llu records (%llu dropped, %llu "
	       "retries), %llu bytes, %llu wakeups, %llu sleeps, %llu room "
	       "sleeps, %llu kicks\n",
	       t->size, t->max_data, t->produced, t->dropped, t->retries,
	       (unsigned long long)t->check.bytes, t->wakeups, t->sleeps,
	       t->room_sleeps, t->kicks);
	if (t->error)
		kt_fail(__FILE__, __LINE__, "%s (at seq %llu)", t->error,
			(unsigned long long)t->check.next_seq);
	/* Every record produced arrived, once, whole, in order. */
	KT_ASSERT_EQ(t->check.records, t->produced);
	KT_ASSERT_EQ(t->check.corrupt, 0);
	KT_ASSERT_EQ(t->produced + t->dropped, t->count);
	KT_ASSERT_EQ(t->user_seen, t->user_recs);
	/* A gap in the sequence is a drop, and every drop is a gap. */
	KT_ASSERT_EQ(t->check.missing + (t->count - t->check.next_seq),
		     t->dropped);
	KT_ASSERT_EQ(((struct kubuf_ring_ctl *)t->mem)->dropped, t->dropped);
	if (!t->drop)
		KT_ASSERT_EQ(t->dropped, 0);
	/* Each sleep was ended by a wakeup: none lost, none invented. */
	if (t->wake == WAKE_SPIN)
		KT_ASSERT_EQ(t->wakeups, 0);
	KT_ASSERT(t->sleeps <= t->wakeups + 1);
	KT_ASSERT(t->wakeups <= t->produced + t->retries + 1);
	free(t->mem);
}

/* Many wraps of a 16 KiB ring, records of 16 B to 2 KiB, eventfd wakeups. */
KT_CASE(two_threads_eventfd)
{
	struct ring_test t = {
		.size = 16384, .max_data = 2048, .count = 200000,
		.wake = WAKE_EVENTFD,
	};

	run_two_threads(&t);
	KT_ASSERT(t.check.bytes > 100ULL * t.size);
}

/* The same with a futex, a smaller ring and more padding. */
KT_CASE(two_threads_futex)
{
	struct ring_test t = {
		.size = 4096, .max_data = 700, .count = 200000,
		.wake = WAKE_FUTEX,
	};

	run_two_threads(&t);
}

/* Records up to 3/4 of the data area: they only fit from its start. */
KT_CASE(two_threads_big_records)
{
	struct ring_test t = {
		.size = 4096, .max_data = 3048, .count = 50000,
		.wake = WAKE_FUTEX,
	};

	run_two_threads(&t);
}

/* The smallest ring, full all the time. */
KT_CASE(two_threads_tiny_ring)
{
	struct ring_test t = {
		.size = KUBUF_RING_MIN_DATA, .max_data = 200, .count = 100000,
		.wake = WAKE_EVENTFD,
	};

	run_two_threads(&t);
	KT_ASSERT(t.retries > 0);
}

/* A slow consumer: the producer drops and counts, never overwrites. */
KT_CASE(two_threads_drop)
{
	struct ring_test t = {
		.size = 8192, .max_data = 512, .count = 100000,
		.drop = 1, .slow_consumer = 1, .wake = WAKE_EVENTFD,
	};

	run_two_threads(&t);
	KT_ASSERT(t.dropped > 0);
	/* How many get through depends on the machine's load: some do. */
	KT_ASSERT(t.produced > 0);
}

/*
 * Both sides sleep: the consumer until records come (pair (3)), the
 * producer, on a full ring, until the consumer releases the room it
 * asked for (pair (4)). A wakeup lost either way ends the test after
 * 20 s asleep.
 */
KT_CASE(two_threads_room_sleep)
{
	struct ring_test t = {
		.size = 4096, .max_data = 500, .count = 200000,
		.wake = WAKE_FUTEX, .room_sleep = 1, .slow_consumer = 1,
	};

	run_two_threads(&t);
	KT_ASSERT(t.room_sleeps > 0);
	/* Each sleep ends with a kick: none lost (above), none invented. */
	KT_ASSERT(t.room_sleeps <= t.kicks);
	/* Kicks only for a new room value: at most one per producer wait. */
	KT_ASSERT(t.kicks <= t.retries);
}

/* A busy-polling consumer never sets waiting: no wakeup at all. */
KT_CASE(two_threads_busy_poll)
{
	struct ring_test t = {
		.size = 16384, .max_data = 1024, .count = 100000,
		.wake = WAKE_SPIN,
	};

	run_two_threads(&t);
	KT_ASSERT_EQ(t.sleeps, 0);
}

/* --- one side against a hostile peer ------------------------------------- */

#define HSIZE 1024

struct hring {
	void *mem;
	struct kubuf_ring_ctl *ctl;
	unsigned char *data;
	struct kubuf_ring_view v;
};

static void hring_init(struct hring *h, unsigned int size)
{
	h->mem = aligned_alloc(KUBUF_RING_ALIGN, KUBUF_RING_CTL_SIZE + size);
	KT_ASSERT(h->mem != NULL);
	kubuf_ring_init(&h->v, h->mem, size);
	h->ctl = h->mem;
	h->data = (unsigned char *)h->mem + KUBUF_RING_CTL_SIZE;
}

/* What a producer would write: a record header at data offset @off. */
static void put_rec(struct hring *h, uint64_t off, uint32_t len,
		    uint16_t type, uint16_t flags)
{
	struct kubuf_rec r = { .len = len, .type = type, .flags = flags };

	memcpy(h->data + off, &r, sizeof(r));
}

/* The consumer takes a record that brings it to data offset @off. */
static void advance_to(struct hring *h, uint64_t off)
{
	struct kubuf_rec rec;

	put_rec(h, 0, off - 8, KUBUF_REC_USER, 0);
	h->ctl->head = off;
	KT_ASSERT(kubuf_ring_cons_avail(&h->v) > 0);
	KT_ASSERT(kubuf_ring_cons_peek(&h->v, &rec, HSIZE) != NULL);
	kubuf_ring_cons_next(&h->v);
	kubuf_ring_cons_release(&h->v);
	KT_ASSERT_EQ(h->v.pos, off);
}

static void expect_broken(struct kubuf_ring_view *v, unsigned int err)
{
	KT_ASSERT_EQ(v->err, err);
	/* Broken stays broken: every call refuses. */
	KT_LIBERR((int)kubuf_ring_cons_avail(v), EPROTO);
	KT_LIBERR((int)kubuf_ring_prod_space(v), EPROTO);
	KT_ASSERT(kubuf_ring_prod_reserve(v, 0, KUBUF_REC_USER) == NULL);
}

/* A producer publishes @n records of @len bytes. */
static void produce_n(struct hring *h, unsigned int n, uint32_t len)
{
	while (n--) {
		KT_ASSERT(kubuf_ring_prod_reserve(&h->v, len, KUBUF_REC_USER));
		kubuf_ring_prod_commit(&h->v);
	}
	kubuf_ring_prod_publish(&h->v);
}

/*
 * Positions a peer might publish: @ok is possible (the first look takes
 * it), @bad is not (the next look must break the ring with @err). The
 * producer has published @recs records of 16 bytes first.
 */
static const struct bad_pos {
	const char *what;
	int producer;
	unsigned int recs;
	uint64_t ok, bad;
	unsigned int err;
} bad_positions[] = {
	{ "tail beyond head", 1, 3, 48, 56, KUBUF_RING_ERR_TAIL },
	{ "tail going backwards", 1, 4, 32, 16, KUBUF_RING_ERR_TAIL },
	{ "tail far behind", 1, 1, 0, ~0ULL - 7, KUBUF_RING_ERR_TAIL },
	{ "head beyond tail + size", 0, 0, HSIZE, HSIZE + 8,
	  KUBUF_RING_ERR_HEAD },
	{ "head going backwards", 0, 0, 64, 56, KUBUF_RING_ERR_HEAD },
	{ "head far ahead", 0, 0, 0, ~0ULL - 7, KUBUF_RING_ERR_HEAD },
};

static long long look(struct hring *h, int producer)
{
	return producer ? kubuf_ring_prod_space(&h->v) :
			  kubuf_ring_cons_avail(&h->v);
}

/*
 * A check that fails between reserve and commit, or between peek and
 * next (a driver that announces, or waits for room, in between; an
 * application's callback that waits on its own ring): the commit or the
 * next that follows must not take the view past its bound, or the next
 * fast path would take any record anywhere.
 */
KT_CASE(broken_between_calls)
{
	struct kubuf_ring_view c;
	struct kubuf_rec rec;
	struct hring h;
	const void *p;

	/* Producer: reserve, the consumer's tail goes wild, commit. */
	hring_init(&h, KUBUF_RING_MIN_DATA);
	produce_n(&h, 1, 8);
	KT_ASSERT(kubuf_ring_prod_reserve(&h.v, 8, KUBUF_REC_USER) != NULL);
	h.ctl->tail = 999;
	KT_LIBERR((int)kubuf_ring_prod_space(&h.v), EPROTO);
	kubuf_ring_prod_commit(&h.v);
	KT_ASSERT_EQ(h.v.at, h.v.pos);
	KT_ASSERT(kubuf_ring_prod_reserve(&h.v, 8, KUBUF_REC_USER) == NULL);
	KT_ASSERT(kubuf_ring_prod_reserve(&h.v, KUBUF_RING_MIN_DATA - 8,
					  KUBUF_REC_USER) == NULL);
	KT_ASSERT_EQ(kubuf_ring_prod_pending(&h.v), 0);
	free(h.mem);

	/* Consumer: peek, the producer's head goes wild, next. */
	hring_init(&h, KUBUF_RING_MIN_DATA);
	produce_n(&h, 2, 8);
	kubuf_ring_view_init(&c, h.mem, KUBUF_RING_MIN_DATA);
	KT_ASSERT(kubuf_ring_cons_avail(&c) > 0);
	KT_ASSERT(kubuf_ring_cons_peek(&c, &rec, 64) != NULL);
	h.ctl->head = ~0ULL;
	KT_LIBERR((int)kubuf_ring_cons_avail(&c), EPROTO);
	kubuf_ring_cons_next(&c);
	KT_ASSERT_EQ(c.pos, c.lim);
	/* A header that claims the whole area: refused, never handed out. */
	put_rec(&h, c.pos & c.mask, KUBUF_RING_MIN_DATA - 8, KUBUF_REC_USER, 0);
	p = kubuf_ring_cons_peek(&c, &rec, ~0U);
	KT_ASSERT(p == NULL);
	KT_ASSERT_EQ(c.err, KUBUF_RING_ERR_HEAD);
	free(h.mem);
}

KT_CASE(hostile_positions)
{
	const struct bad_pos *b;
	struct hring h;

	for (b = bad_positions;
	     b < bad_positions + sizeof(bad_positions) / sizeof(*b); b++) {
		__u64 *pos;

		hring_init(&h, HSIZE);
		pos = b->producer ? &h.ctl->tail : &h.ctl->head;
		produce_n(&h, b->recs, 8);
		*pos = b->ok;
		if (look(&h, b->producer) < 0)
			kt_fail(__FILE__, __LINE__, "%s: ok refused", b->what);
		*pos = b->bad;
		if (look(&h, b->producer) != -EPROTO || h.v.err != b->err)
			kt_fail(__FILE__, __LINE__, "%s: not caught", b->what);
		expect_broken(&h.v, b->err);
		free(h.mem);
	}
}

/* The waiting path checks head the same way. */
KT_CASE(hostile_head_on_wait)
{
	struct hring h;

	hring_init(&h, HSIZE);
	h.ctl->head = 2 * HSIZE;
	KT_LIBERR((int)kubuf_ring_cons_prepare_wait(&h.v), EPROTO);
	expect_broken(&h.v, KUBUF_RING_ERR_HEAD);
	free(h.mem);
}

/*
 * Record headers a producer might write, each impossible: the consumer,
 * at data offset @at, shown @head and up to two headers, must break the
 * ring with KUBUF_RING_ERR_REC (after taking @good records).
 */
static const struct bad_rec {
	const char *what;
	uint64_t at, head;
	uint32_t max_len;
	unsigned int good;
	struct { uint64_t off; struct kubuf_rec r; } rec[2];
} bad_recs[] = {
	{ "len beyond head", 0, 64, HSIZE, 0,
	  { { 0, { 64, KUBUF_REC_USER, 0 } } } },
	{ "len huge", 0, HSIZE, ~0U, 0,
	  { { 0, { 0xfffffff8, KUBUF_REC_USER, 0 } } } },
	{ "crossing the end", HSIZE - 16, HSIZE + 16, HSIZE, 0,
	  { { HSIZE - 16, { 24, KUBUF_REC_USER, 0 } } } },
	{ "unknown flags", 0, 16, HSIZE, 0,
	  { { 0, { 8, KUBUF_REC_USER, 1 } } } },
	{ "padding with flags", 0, 16, HSIZE, 0,
	  { { 0, { 8, KUBUF_REC_PAD, 0x8000 } } } },
	{ "padding after padding", HSIZE / 2, HSIZE + 8, HSIZE, 0,
	  { { HSIZE / 2, { HSIZE / 2 - 8, KUBUF_REC_PAD, 0 } },
	    { 0, { 0, KUBUF_REC_PAD, 0 } } } },
	{ "above max_len", 0, 56, 16, 1,
	  { { 0, { 16, KUBUF_REC_USER, 0 } },
	    { 24, { 17, KUBUF_REC_USER, 0 } } } },
};

KT_CASE(hostile_records)
{
	const struct bad_rec *b;
	struct kubuf_rec rec;
	struct hring h;
	unsigned int i;

	for (b = bad_recs; b < bad_recs + sizeof(bad_recs) / sizeof(*b); b++) {
		hring_init(&h, HSIZE);
		if (b->at)
			advance_to(&h, b->at);
		for (i = 0; i < 2; i++)
			if (b->rec[i].r.len || b->rec[i].r.type)
				memcpy(h.data + b->rec[i].off, &b->rec[i].r,
				       sizeof(rec));
		h.ctl->head = b->head;
		KT_ASSERT(kubuf_ring_cons_avail(&h.v) > 0);
		for (i = 0; i < b->good; i++) {
			KT_ASSERT(kubuf_ring_cons_peek(&h.v, &rec, b->max_len));
			kubuf_ring_cons_next(&h.v);
		}
		if (kubuf_ring_cons_peek(&h.v, &rec, b->max_len) ||
		    h.v.err != KUBUF_RING_ERR_REC)
			kt_fail(__FILE__, __LINE__, "%s: not caught", b->what);
		expect_broken(&h.v, KUBUF_RING_ERR_REC);
		free(h.mem);
	}
}

/* Padding to the end, then a record at the start: what producers do. */
KT_CASE(pad_then_record)
{
	struct kubuf_rec rec;
	struct hring h;
	const unsigned char *p;

	hring_init(&h, HSIZE);
	advance_to(&h, HSIZE - 32);
	put_rec(&h, HSIZE - 32, 24, KUBUF_REC_PAD, 0);
	put_rec(&h, 0, 3, KUBUF_REC_USER + 1, 0);
	memcpy(h.data + 8, "abc", 3);
	h.ctl->head = HSIZE + 16;
	KT_ASSERT_EQ(kubuf_ring_cons_avail(&h.v), 48);
	p = kubuf_ring_cons_peek(&h.v, &rec, 3);
	KT_ASSERT(p == h.data + 8);
	KT_ASSERT_EQ(rec.len, 3);
	KT_ASSERT_EQ(rec.type, KUBUF_REC_USER + 1);
	KT_ASSERT(!memcmp(p, "abc", 3));
	kubuf_ring_cons_next(&h.v);
	KT_ASSERT(kubuf_ring_cons_peek(&h.v, &rec, 3) == NULL);
	KT_ASSERT_EQ(h.v.err, 0);
	kubuf_ring_cons_release(&h.v);
	KT_ASSERT_EQ(h.ctl->tail, HSIZE + 16);
	free(h.mem);
}

/*
 * A record of more than half the data area, due where it would need
 * padding: the padding is queued alone, and the record fits from the
 * start once the consumer took the padding.
 */
KT_CASE(big_record_after_wrap)
{
	struct kubuf_ring_view c;
	struct kubuf_rec rec;
	struct hring h;
	int tries;

	hring_init(&h, KUBUF_RING_MIN_DATA);
	kubuf_ring_view_init(&c, h.mem, KUBUF_RING_MIN_DATA);
	produce_n(&h, 1, 56);	/* 64 bytes: the next record is at 64 */
	KT_ASSERT(kubuf_ring_cons_avail(&c) > 0);
	KT_ASSERT(kubuf_ring_cons_peek(&c, &rec, 256) != NULL);
	kubuf_ring_cons_next(&c);
	kubuf_ring_cons_release(&c);
	/* 200 bytes: 192 are left before the end, 64 after it. */
	for (tries = 0; tries < 3; tries++) {
		void *p = kubuf_ring_prod_reserve(&h.v, 192, KUBUF_REC_USER);

		if (p) {
			kubuf_ring_prod_commit(&h.v);
			break;
		}
		KT_ASSERT_EQ(h.v.err, 0);
		kubuf_ring_prod_publish(&h.v);
		/* The consumer takes whatever there is. */
		KT_ASSERT(kubuf_ring_cons_avail(&c) >= 0);
		while (kubuf_ring_cons_peek(&c, &rec, 256))
			kubuf_ring_cons_next(&c);
		KT_ASSERT_EQ(c.err, 0);
		kubuf_ring_cons_release(&c);
	}
	KT_ASSERT(tries < 3);
	kubuf_ring_prod_publish(&h.v);
	KT_ASSERT(kubuf_ring_cons_avail(&c) > 0);
	KT_ASSERT(kubuf_ring_cons_peek(&c, &rec, 256) == h.data + 8);
	KT_ASSERT_EQ(rec.len, 192);
	free(h.mem);
}

/* A record that can never fit is refused without touching the ring. */
KT_CASE(record_larger_than_ring)
{
	struct hring h;

	hring_init(&h, KUBUF_RING_MIN_DATA);
	KT_ASSERT(kubuf_ring_prod_reserve(&h.v, KUBUF_RING_MIN_DATA - 7,
					  KUBUF_REC_USER) == NULL);
	KT_ASSERT(kubuf_ring_prod_reserve(&h.v, ~0U, KUBUF_REC_USER) == NULL);
	KT_ASSERT_EQ(h.v.err, 0);
	KT_ASSERT_EQ(kubuf_ring_prod_pending(&h.v), 0);
	KT_ASSERT(kubuf_ring_prod_reserve(&h.v, KUBUF_RING_MIN_DATA - 8,
					  KUBUF_REC_USER) != NULL);
	free(h.mem);
}

/* The wakeup handshake, step by step (pair (3)). */
KT_CASE(waiting_handshake)
{
	struct kubuf_ring_view c;
	struct hring h;

	hring_init(&h, HSIZE);
	kubuf_ring_view_init(&c, h.mem, HSIZE);
	KT_ASSERT_EQ(kubuf_ring_prod_publish(&h.v), 0);
	KT_ASSERT_EQ(kubuf_ring_cons_prepare_wait(&c), 0);
	KT_ASSERT_EQ(h.ctl->waiting, 1);
	produce_n(&h, 1, 0);
	KT_ASSERT_EQ(kubuf_ring_prod_publish(&h.v), 1);
	kubuf_ring_cons_done_wait(&c);
	KT_ASSERT_EQ(kubuf_ring_prod_publish(&h.v), 0);
	/* Records already there: preparing to wait says so. */
	KT_ASSERT_EQ(kubuf_ring_cons_prepare_wait(&c), 8);
	kubuf_ring_cons_done_wait(&c);
	free(h.mem);
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* A value a hostile peer might write: near the truth, or anything. */
static uint64_t hostile_value(uint64_t near)
{
	switch (rnd() % 4) {
	case 0:
		return rnd();
	case 1:
		return near + (rnd() % 64) * 8;
	case 2:
		return near - (rnd() % 64) * 8;
	default:
		return near + rnd() % 3000;
	}
}

/*
 * A consumer facing random heads and random record headers: whatever it
 * is shown, it reads only inside the data area (ASan checks: the ring is
 * allocated to the byte) and each call does bounded work.
 */
KT_CASE(fuzz_consumer)
{
	unsigned int round, i;
	struct hring h;

	for (round = 0; round < 2000; round++) {
		unsigned int size = KUBUF_RING_MIN_DATA << (round % 4);
		struct kubuf_rec rec;
		const unsigned char *p;
		uint64_t sum = 0;

		hring_init(&h, size);
		for (i = 0; i < size / 8; i++) {
			uint64_t w = rnd();

			if (rnd() % 2)	/* a plausible header */
				w = (rnd() % 3) << 32 |
				    (uint64_t)(rnd() % 16 == 0) << 48 |
				    rnd() % (size + 16);
			memcpy(h.data + 8 * i, &w, 8);
		}
		for (i = 0; i < 64 && !h.v.err; i++) {
			h.ctl->head = hostile_value(h.v.peer);
			if (kubuf_ring_cons_avail(&h.v) < 0)
				break;
			while ((p = kubuf_ring_cons_peek(&h.v, &rec, size))) {
				sum = kubuf_checksum(sum, p, rec.len);
				kubuf_ring_cons_next(&h.v);
			}
			KT_ASSERT(h.v.pos <= h.v.peer);
			kubuf_ring_cons_release(&h.v);
		}
		free(h.mem);
	}
}

/*
 * A producer facing random tails: it never writes outside the data area
 * and never over what it has not seen released.
 */
KT_CASE(fuzz_producer)
{
	unsigned int round, i;
	struct hring h;

	for (round = 0; round < 2000; round++) {
		unsigned int size = KUBUF_RING_MIN_DATA << (round % 4);

		hring_init(&h, size);
		for (i = 0; i < 256 && !h.v.err; i++) {
			uint32_t len = rnd() % size;
			unsigned char *p;

			if (rnd() % 3 == 0)
				h.ctl->tail = hostile_value(h.v.peer);
			p = kubuf_ring_prod_reserve(&h.v, len, KUBUF_REC_USER);
			if (p) {
				KT_ASSERT(p >= h.data + 8);
				KT_ASSERT(p + len <= h.data + size);
				memset(p, 0xee, len);
				kubuf_ring_prod_commit(&h.v);
				/* Never more in use than the ring holds. */
				KT_ASSERT(h.v.at - h.v.peer <=
					  size);
			}
			if (rnd() % 2)
				kubuf_ring_prod_publish(&h.v);
		}
		free(h.mem);
	}
}

/* --- the library's stream verifier ---------------------------------------- */

struct srec {
	struct kubuf_rec rec;
	struct kubuf_stream_rec h;
	uint8_t data[64];
};

static void make_srec(struct srec *s, uint64_t seq, uint32_t size)
{
	s->rec.len = sizeof(s->h) + size;
	s->rec.type = KUBUF_REC_STREAM;
	s->rec.flags = 0;
	fill_record(&s->h, seq, size);
}

KT_CASE(stream_verify)
{
	struct kubuf_stream_check c;
	struct srec s;

	kubuf_stream_check_init(&c, test_seed, 64);
	make_srec(&s, 0, 64);
	KT_ASSERT_EQ(kubuf_stream_verify(&c, &s.rec, &s.h), 0);
	make_srec(&s, 1, 64);
	KT_ASSERT_EQ(kubuf_stream_verify(&c, &s.rec, &s.h), 0);
	/* A gap is a drop, not an error. */
	make_srec(&s, 5, 64);
	KT_ASSERT_EQ(kubuf_stream_verify(&c, &s.rec, &s.h), 0);
	KT_ASSERT_EQ(c.missing, 3);
	KT_ASSERT_EQ(c.next_seq, 6);
	/* Going back, a repeat, a wrong byte, a wrong size or type. */
	make_srec(&s, 5, 64);
	KT_LIBERR(kubuf_stream_verify(&c, &s.rec, &s.h), EBADMSG);
	make_srec(&s, 6, 64);
	s.data[63] ^= 1;
	KT_LIBERR(kubuf_stream_verify(&c, &s.rec, &s.h), EBADMSG);
	make_srec(&s, 6, 64);
	s.h.csum ^= 1;
	KT_LIBERR(kubuf_stream_verify(&c, &s.rec, &s.h), EBADMSG);
	make_srec(&s, 6, 63);
	KT_LIBERR(kubuf_stream_verify(&c, &s.rec, &s.h), EBADMSG);
	make_srec(&s, 6, 64);
	s.rec.type = KUBUF_REC_DONE;
	KT_LIBERR(kubuf_stream_verify(&c, &s.rec, &s.h), EBADMSG);
	KT_ASSERT_EQ(c.corrupt, 5);
	/* A record whose checksum fits but whose data is another seed's. */
	kubuf_stream_check_init(&c, test_seed + 1, 64);
	make_srec(&s, 0, 64);
	KT_LIBERR(kubuf_stream_verify(&c, &s.rec, &s.h), EBADMSG);
	/* Size 0: the sequence number and its checksum only. */
	kubuf_stream_check_init(&c, test_seed, 0);
	make_srec(&s, 7, 0);
	KT_ASSERT_EQ(kubuf_stream_verify(&c, &s.rec, &s.h), 0);
	KT_ASSERT_EQ(c.records, 1);
	KT_ASSERT_EQ(c.bytes, 0);
	KT_ASSERT_EQ(c.missing, 7);
}

/*
 * kubuf_stream_fill() against its definition, byte by byte: data byte i
 * is kubuf_pattern_byte(seed, i); the checksum hashes the little-endian
 * 8-byte words of the data, the last one zero-extended. Every length
 * from 0 to 80 (every tail, several words) and a large one; every byte
 * and the checksum changed in turn is caught by kubuf_stream_verify(),
 * and kubuf_pattern_check() names the first wrong byte.
 */
KT_CASE(stream_fill_reference)
{
	static const uint32_t lens[] = { 4096 + 5, KUBUF_STREAM_MAX_REC };
	static uint8_t rec[sizeof(struct kubuf_stream_rec) + KUBUF_STREAM_MAX_REC + 8];
	struct kubuf_stream_rec *h = (struct kubuf_stream_rec *)rec;
	uint8_t *data = rec + sizeof(*h);
	struct kubuf_stream_check c;
	uint32_t len, i, j, seed;
	uint64_t sum, w, seq;
	struct kubuf_rec r;
	size_t bad;

	for (len = 0; len <= 80 + 2; len++) {
		uint32_t l = len <= 80 ? len : lens[len - 81];

		seq = 1000 + len;
		seed = test_seed + (uint32_t)seq;
		memset(data, 0xa5, l + 8);
		h->seq = seq;
		h->csum = kubuf_stream_fill(data, seed, seq, l);
		sum = kubuf_stream_csum_start(seq, l);
		for (i = 0; i < l; i += 8) {
			for (w = 0, j = 0; j < 8 && i + j < l; j++) {
				KT_ASSERT_EQ(data[i + j],
					     kubuf_pattern_byte(seed, i + j));
				w |= (uint64_t)kubuf_pattern_byte(seed, i + j)
				     << (8 * j);
			}
			sum = kubuf_stream_csum_word(sum, w);
		}
		KT_ASSERT_EQ(h->csum, sum);
		KT_ASSERT_EQ(data[l], 0xa5);	/* nothing written past it */
		KT_ASSERT_EQ(kubuf_pattern_check(data, l, seed, NULL), 0);

		r.len = sizeof(*h) + l;
		r.type = KUBUF_REC_STREAM;
		r.flags = 0;
		kubuf_stream_check_init(&c, test_seed, l);
		KT_ASSERT_EQ(kubuf_stream_verify(&c, &r, h), 0);
		if (l > 80)
			continue;
		for (i = 0; i < l; i++) {
			data[i] ^= 0x10;
			kubuf_stream_check_init(&c, test_seed, l);
			KT_LIBERR(kubuf_stream_verify(&c, &r, h), EBADMSG);
			KT_LIBERR(kubuf_pattern_check(data, l, seed, &bad),
				  EBADMSG);
			KT_ASSERT_EQ(bad, i);
			data[i] ^= 0x10;
		}
		h->csum ^= 1ULL << (len % 64);
		kubuf_stream_check_init(&c, test_seed, l);
		KT_LIBERR(kubuf_stream_verify(&c, &r, h), EBADMSG);
	}
	/* A sequence number or a length of its own: another checksum. */
	KT_ASSERT(kubuf_stream_csum_start(1, 8) != kubuf_stream_csum_start(2, 8));
	KT_ASSERT(kubuf_stream_csum_start(1, 8) != kubuf_stream_csum_start(1, 9));
}

KT_MAIN()
