/* SPDX-License-Identifier: MIT */
/*
 * Rings end to end through libkubuf: the device's stream checked record
 * by record (sequence, checksum, every byte) at several sizes and rates,
 * in both kinds of memory; commands through a TO_DEV ring and their
 * completions; what wakeups cost (batched, busy-polled); a consumer that
 * stops, one that is killed; eventfds replaced and closed, and poll
 * racing close, while the device signals.
 *
 * Each case is bounded to a few seconds under emulation.
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>

#include <kubuf/ring.h>

#include "harness.h"
#include "kubuf.h"

#define SEED	0x600dcafeU

/* A ring and the memory it lives in, made with the library. */
struct rig {
	struct kubuf *k;
	unsigned int kind;
	uint32_t mem_id;
	unsigned char *mem;
	size_t len;
	struct kubuf_ring *r;
};

/* @len bytes of @kind memory the device and the application may write. */
static void rig_mem(struct rig *g, unsigned int kind, size_t len)
{
	long page = sysconf(_SC_PAGESIZE);

	g->kind = kind;
	g->len = (len + page - 1) & ~(size_t)(page - 1);
	if (kind == KUBUF_MEM_UBUF) {
		g->mem = mmap(NULL, g->len, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		KT_ASSERT(g->mem != MAP_FAILED);
		KT_ASSERT_EQ(kubuf_ubuf_register(g->k, g->mem, g->len,
						 KUBUF_ACCESS_DEV_READ |
						 KUBUF_ACCESS_DEV_WRITE,
						 &g->mem_id), 0);
		return;
	}
	KT_ASSERT_EQ(kubuf_kbuf_alloc(g->k, g->len, KUBUF_KBUF_PAGES,
				      KUBUF_CACHE_CACHED, KUBUF_KBUF_APP_WRITE,
				      &g->mem_id, NULL), 0);
	KT_ASSERT_EQ(kubuf_kbuf_map(g->k, g->mem_id, 0, g->len,
				    PROT_READ | PROT_WRITE,
				    (void **)&g->mem), 0);
}

/* Open the device, make the memory, attach a TO_APP ring at its start. */
static void rig_new(struct rig *g, unsigned int kind, uint32_t data_size,
		    uint32_t flags, uint32_t wake_records, uint32_t wake_usecs)
{
	KUBUF_RING_OPTS(o, .dir = KUBUF_RING_TO_APP, .flags = flags,
			.kind = kind, .data_size = data_size,
			.wake_records = wake_records, .wake_usecs = wake_usecs);

	memset(g, 0, sizeof(*g));
	KT_ASSERT_EQ(kubuf_open(NULL, 0, &g->k), 0);
	rig_mem(g, kind, KUBUF_RING_CTL_SIZE + data_size);
	o.mem_id = g->mem_id;
	KT_ASSERT_EQ(kubuf_ring_attach(g->k, g->mem, &o, &g->r), 0);
}

static void rig_mem_free(struct rig *g)
{
	if (g->kind == KUBUF_MEM_UBUF)
		KT_ASSERT_EQ(kubuf_ubuf_unregister(g->k, g->mem_id), 0);
	else
		KT_ASSERT_EQ(kubuf_kbuf_free(g->k, g->mem_id), 0);
	KT_OK(munmap(g->mem, g->len));
}

static void rig_free(struct rig *g)
{
	if (g->r)
		KT_ASSERT_EQ(kubuf_ring_detach(g->r), 0);
	rig_mem_free(g);
	kubuf_close(g->k);
}

static void start(struct rig *g, uint32_t size, uint64_t rate,
		  uint64_t count, uint32_t flags)
{
	struct kubuf_stream s = {
		.flags = flags, .rec_size = size, .seed = SEED,
		.rate = rate, .count = count,
	};

	KT_ASSERT_EQ(kubuf_stream_start(g->r, &s), 0);
}

/*
 * kubuf_ring_wait(), which a handled signal ends with -EINTR (as
 * documented): wait again for what is left of @timeout_ms.
 */
static unsigned long ring_waits_interrupted, ring_waits_timed_out;

static int ring_wait(struct kubuf_ring *r, int timeout_ms)
{
	double end = kt_now() + timeout_ms / 1000.0;
	struct kubuf_ring_counters c0, c1;
	int n;

	for (;;) {
		kubuf_ring_counters(r, &c0);
		n = kubuf_ring_wait(r, timeout_ms);
		kubuf_ring_counters(r, &c1);
		/*
		 * A sleep that no wakeup ended: a signal, or the time ran out
		 * (a slow guest, the stream's end) even if records came
		 * meanwhile, too few to be worth a wakeup.
		 */
		if (c1.waits > c0.waits && c1.wakeups == c0.wakeups) {
			if (n == -EINTR)
				ring_waits_interrupted++;
			else
				ring_waits_timed_out++;
		}
		if (n != -EINTR)
			return n;
		timeout_ms = (int)((end - kt_now()) * 1000);
		if (timeout_ms < 0)
			timeout_ms = 0;
	}
}

/* A consumer that checks every record and fails the case on a bad one. */
static int check_rec(void *arg, const struct kubuf_rec *rec,
		     const void *payload)
{
	struct kubuf_stream_check *c = arg;
	uint64_t seq = c->next_seq;

	if (kubuf_stream_verify(c, rec, payload))
		kt_fail(__FILE__, __LINE__,
			"corrupt record (type %u, len %u) after seq %llu",
			rec->type, rec->len, (unsigned long long)seq);
	return 0;
}

/*
 * Consume with kubuf_ring_wait() until the stream is over and the ring
 * empty, within @secs. Returns the final query.
 *
 * @lossless: the stream is lossless, of that many records (0: any
 * stream). Then every record comes, and every sleep ends with a wakeup:
 * the device wakes a waiting consumer once its batch is due, the ring is
 * full or the stream ends. A sleep of 10 s that no wakeup ended is a
 * lost wakeup, and fails the case.
 */
static struct kubuf_ring_query consume_all(struct rig *g,
					   struct kubuf_stream_check *c,
					   double secs, uint64_t lossless)
{
	double end = kt_now() + secs;
	struct kubuf_ring_query q;
	unsigned long timed_out;
	int n;

	for (;;) {
		n = kubuf_ring_consume(g->r, check_rec, c, 0);
		KT_ASSERT(n >= 0);
		if (n)
			continue;
		if (lossless && c->next_seq >= lossless)
			break;
		if (kt_now() > end)
			kt_fail(__FILE__, __LINE__, "stream not over: %llu records",
				(unsigned long long)c->records);
		timed_out = ring_waits_timed_out;
		n = ring_wait(g->r, lossless ? 10000 : 500);
		KT_ASSERT(n >= 0);
		if (lossless && ring_waits_timed_out != timed_out)
			kt_fail(__FILE__, __LINE__,
				"no wakeup in 10 s, at %llu records of %llu",
				(unsigned long long)c->records,
				(unsigned long long)lossless);
		if (n || lossless)
			continue;
		KT_ASSERT_EQ(kubuf_ring_query(g->r, &q), 0);
		KT_ASSERT_EQ(q.state, KUBUF_RING_ACTIVE);
		if (q.stream != KUBUF_STREAM_RUNNING)
			break;
	}
	/* STOP waits for the device's last burst: then take the rest. */
	KT_ASSERT_EQ(kubuf_stream_stop(g->r), 0);
	KT_ASSERT(kubuf_ring_consume(g->r, check_rec, c, 0) >= 0);
	KT_ASSERT_EQ(kubuf_ring_query(g->r, &q), 0);
	return q;
}

/* The device gave out @count sequence numbers: each seen or dropped. */
static void assert_accounted(const struct kubuf_stream_check *c,
			     const struct kubuf_ring_query *q, uint64_t count)
{
	KT_ASSERT_EQ(c->corrupt, 0);
	KT_ASSERT_EQ(q->records + q->dropped, count);
	KT_ASSERT_EQ(c->records, q->records);
	KT_ASSERT_EQ(c->missing + (count - c->next_seq), q->dropped);
	KT_ASSERT_EQ(q->stream, KUBUF_STREAM_DONE);
}

/* --- integrity ------------------------------------------------------------- */

/* Lossless, as fast as consumed: every record of every size, in order. */
static void stream_sizes(unsigned int kind)
{
	static const struct { uint32_t size, count; } runs[] = {
		{ 0, 3000 }, { 8, 3000 }, { 64, 3000 }, { 4096, 300 },
		{ KUBUF_STREAM_MAX_REC, 24 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		struct kubuf_ring_counters rc;
		struct kubuf_stream_check c;
		struct kubuf_ring_query q;
		struct rig g;

		/* The largest records fill more than half the ring. */
		rig_new(&g, kind, runs[i].size > 4096 ? 128 << 10 : 64 << 10,
			0, 16, 20000);
		kubuf_stream_check_init(&c, SEED, runs[i].size);
		start(&g, runs[i].size, 0, runs[i].count,
		      KUBUF_STREAM_LOSSLESS);
		q = consume_all(&g, &c, 20, runs[i].count);
		assert_accounted(&c, &q, runs[i].count);
		KT_ASSERT_EQ(q.dropped, 0);
		KT_ASSERT_EQ(c.missing, 0);
		KT_ASSERT_EQ(q.bytes, (uint64_t)runs[i].count *
			     (sizeof(struct kubuf_stream_rec) + runs[i].size));
		kubuf_ring_counters(g.r, &rc);
		KT_ASSERT_EQ(rc.records, runs[i].count);
		KT_ASSERT_EQ(rc.bytes, q.bytes);
		rig_free(&g);
	}
}

KT_CASE(sizes_ubuf)
{
	stream_sizes(KUBUF_MEM_UBUF);
}

KT_CASE(sizes_kbuf)
{
	stream_sizes(KUBUF_MEM_KBUF);
}

/*
 * A fixed rate: the stream takes as long as the rate says (record i is
 * due at i / rate), and loses nothing that is not counted.
 */
static void stream_rate(unsigned int kind, uint32_t flags)
{
	const uint64_t rate = 4000, count = 1600;
	struct kubuf_stream_check c;
	struct kubuf_ring_query q;
	struct rig g;
	double t0, dt;

	rig_new(&g, kind, 64 << 10, 0, 32, 5000);
	kubuf_stream_check_init(&c, SEED, 64);
	t0 = kt_now();
	start(&g, 64, rate, count, flags);
	q = consume_all(&g, &c, 20,
			flags & KUBUF_STREAM_LOSSLESS ? count : 0);
	dt = kt_now() - t0;
	assert_accounted(&c, &q, count);
	if (flags & KUBUF_STREAM_LOSSLESS)
		KT_ASSERT_EQ(q.dropped, 0);
	/* The last record is due at (count - 1) / rate. */
	if (dt < (double)(count - 1) / rate * 0.95)
		kt_fail(__FILE__, __LINE__, "%llu records at %llu/s in %.3f s",
			(unsigned long long)count, (unsigned long long)rate, dt);
	rig_free(&g);
}

KT_CASE(rate_ubuf)
{
	stream_rate(KUBUF_MEM_UBUF, 0);
}

KT_CASE(rate_kbuf_lossless)
{
	stream_rate(KUBUF_MEM_KBUF, KUBUF_STREAM_LOSSLESS);
}

/* --- what waking costs ----------------------------------------------------- */

/*
 * wake_records = N: the device wakes a waiting consumer once per N
 * records at most (and once more when the stream ends); the library
 * sleeps once per wakeup. At 20000 records a second the program keeps
 * up and sleeps, so wakeups are due; one lost is a sleep of 10 s that
 * fails the case (consume_all()).
 */
KT_CASE(wakeups_batched)
{
	static const uint32_t batch[] = { 1, 32, 256 };
	const uint64_t count = 4000, rate = 20000;
	unsigned int i;

	for (i = 0; i < sizeof(batch) / sizeof(batch[0]); i++) {
		struct kubuf_ring_counters rc;
		struct kubuf_stream_check c;
		struct kubuf_ring_query q;
		struct rig g;

		rig_new(&g, KUBUF_MEM_KBUF, 256 << 10, 0, batch[i], 0);
		kubuf_stream_check_init(&c, SEED, 64);
		start(&g, 64, rate, count, KUBUF_STREAM_LOSSLESS);
		ring_waits_interrupted = 0;
		ring_waits_timed_out = 0;
		q = consume_all(&g, &c, 20, count);
		assert_accounted(&c, &q, count);
		kubuf_ring_counters(g.r, &rc);
		kt_note("wake_records %u: device wakeups %llu, library "
			"wakeups %llu, waits %llu (%lu timed out, %lu ended "
			"by a signal), syscalls %llu for %llu records",
			batch[i], (unsigned long long)q.wakeups,
			(unsigned long long)rc.wakeups,
			(unsigned long long)rc.waits, ring_waits_timed_out,
			ring_waits_interrupted,
			(unsigned long long)rc.syscalls,
			(unsigned long long)c.records);
		/*
		 * Every sleep was ended by a wakeup (none timed out: see
		 * consume_all()) or, under a signal storm, by a signal, which
		 * says nothing of the module: leave those out.
		 */
		KT_ASSERT_EQ(ring_waits_timed_out, 0);
		rc.waits -= ring_waits_interrupted;
		rc.syscalls -= ring_waits_interrupted;
		KT_ASSERT_EQ(rc.waits, rc.wakeups);
		KT_ASSERT(rc.waits >= 1);
		KT_ASSERT(q.wakeups <= count / batch[i] + 1);
		KT_ASSERT(q.wakeups <= count);
		/* The end of the stream signals too (RING_STATE). */
		KT_ASSERT(rc.wakeups <= q.wakeups + 2);
		if (batch[i] >= 32)
			KT_ASSERT(rc.syscalls * 16 < count);
		rig_free(&g);
	}
}

/*
 * Room is a wakeup: a lossless stream into a small ring, consumed a few
 * records at a time, fills the ring and waits; the library kicks the
 * device once it has released the room the device asked for (pair (4)
 * of kubuf/ring.h), and not at every release. Busy polling, so that no
 * data wakeup hides a lost room wakeup: once the ring was kicked, the
 * device no longer looks on a timer, and a kick lost on either side
 * stalls the stream, which fails the case.
 */
KT_CASE(room_wakeups)
{
	const uint64_t count = 20000;
	struct kubuf_ring_counters rc;
	struct kubuf_stream_check c;
	struct kubuf_ring_query q;
	struct rig g;
	double end;
	int n;

	/* 4 KiB of 32-byte records: 128, and a wait asks for 64 at least. */
	rig_new(&g, KUBUF_MEM_KBUF, 4096, KUBUF_RING_BUSY_POLL, 0, 0);
	kubuf_stream_check_init(&c, SEED, 8);
	start(&g, 8, 0, count, KUBUF_STREAM_LOSSLESS);
	end = kt_now() + 60;
	while (c.next_seq < count) {
		n = kubuf_ring_consume(g.r, check_rec, &c, 8);
		KT_ASSERT(n >= 0);
		if (n)
			continue;
		if (kt_now() > end)
			kt_fail(__FILE__, __LINE__,
				"stream stalled at %llu records of %llu",
				(unsigned long long)c.records,
				(unsigned long long)count);
		KT_ASSERT(kubuf_ring_wait(g.r, 100) >= 0);
	}
	KT_ASSERT_EQ(kubuf_ring_query(g.r, &q), 0);
	kubuf_ring_counters(g.r, &rc);
	KT_ASSERT_EQ(c.corrupt, 0);
	KT_ASSERT_EQ(c.missing, 0);
	KT_ASSERT_EQ(q.records, count);
	KT_ASSERT_EQ(q.dropped, 0);
	KT_ASSERT_EQ(q.wakeups, 0);
	/* The device waited, and the kicks woke it. */
	KT_ASSERT(q.room_wakeups > 0);
	KT_ASSERT(q.room_wakeups <= rc.kicks);
	/* Each kick is worth half the ring: not one per release (2500). */
	KT_ASSERT(rc.kicks <= count / 48);
	kt_note("%llu records, %llu kicks, %llu room wakeups",
		(unsigned long long)count, (unsigned long long)rc.kicks,
		(unsigned long long)q.room_wakeups);
	rig_free(&g);
}

/* No ring, and no memory for one, is left. */
static void nothing_held(void)
{
	static const enum kubuf_stat held[] = {
		KUBUF_STAT_RINGS, KUBUF_STAT_KBUFS, KUBUF_STAT_UBUFS,
		KUBUF_STAT_MAPPINGS, KUBUF_STAT_PINNED_PAGES,
	};
	unsigned int i;

	for (i = 0; i < sizeof(held) / sizeof(held[0]); i++)
		KT_ASSERT_EQ(kt_stat(held[i]), 0);
}

/*
 * kubuf_ring_create(): the library makes the ring's memory, of either
 * kind, and kubuf_ring_detach() gives it all back; the stream through it
 * is whole. Then each bad option, which leaves nothing behind.
 */
KT_CASE(ring_create)
{
	static const uint32_t kinds[] = { KUBUF_MEM_KBUF, KUBUF_MEM_UBUF };
	const uint64_t count = 1000;
	struct kubuf_stream_check c;
	struct kubuf_ring_query q;
	struct kubuf_ring *r;
	struct kubuf *k;
	unsigned int i;
	struct {
		struct kubuf_ring_opts o;
		uint64_t more;
	} big;

	KT_ASSERT_EQ(kubuf_open(NULL, 0, &k), 0);
	for (i = 0; i < 2; i++) {
		KUBUF_RING_OPTS(o, .dir = KUBUF_RING_TO_APP, .kind = kinds[i],
				.data_size = 8192, .wake_records = 16);
		struct kubuf_stream s = {
			.flags = KUBUF_STREAM_LOSSLESS, .rec_size = 40,
			.seed = SEED, .count = count,
		};

		KT_ASSERT_EQ(kubuf_ring_create(k, &o, &r), 0);
		KT_ASSERT_EQ(kt_stat(KUBUF_STAT_RINGS), 1);
		KT_ASSERT_EQ(kt_stat(i ? KUBUF_STAT_UBUFS : KUBUF_STAT_KBUFS), 1);
		KT_ASSERT_EQ(((struct kubuf_ring_ctl *)kubuf_ring_addr(r))->magic,
			     KUBUF_RING_MAGIC);
		kubuf_stream_check_init(&c, SEED, 40);
		KT_ASSERT_EQ(kubuf_stream_start(r, &s), 0);
		while (c.next_seq < count) {
			KT_ASSERT(kubuf_ring_consume(r, check_rec, &c, 0) >= 0);
			KT_ASSERT(ring_wait(r, 10000) >= 0);
		}
		KT_ASSERT_EQ(kubuf_ring_query(r, &q), 0);
		KT_ASSERT_EQ(q.records, count);
		KT_ASSERT_EQ(c.records, count);
		KT_ASSERT_EQ(c.corrupt, 0);
		KT_ASSERT_EQ(kubuf_ring_detach(r), 0);
		nothing_held();
	}

	/* Options of no size, too small, or bigger with unknown fields set. */
	{
		KUBUF_RING_OPTS(o, .dir = KUBUF_RING_TO_APP,
				.kind = KUBUF_MEM_KBUF, .data_size = 4096);

		o.sz = 0;
		KT_LIBERR(kubuf_ring_create(k, &o, &r), EINVAL);
		KT_LIBERR(kubuf_ring_attach(k, &o, &o, &r), EINVAL);
		o.sz = sizeof(o) - 1;
		KT_LIBERR(kubuf_ring_create(k, &o, &r), EINVAL);
		memset(&big, 0, sizeof(big));
		big.o = o;
		big.o.sz = sizeof(big);
		big.more = 1;
		KT_LIBERR(kubuf_ring_create(k, &big.o, &r), EOPNOTSUPP);
		/* Unknown fields left zero: as if they were not there. */
		big.more = 0;
		KT_ASSERT_EQ(kubuf_ring_create(k, &big.o, &r), 0);
		KT_ASSERT_EQ(kubuf_ring_detach(r), 0);
		KT_LIBERR(kubuf_ring_create(k, NULL, &r), EINVAL);
	}
	/* What create decides itself, and sizes the ring cannot have. */
	{
		static const uint32_t bad_sizes[] = {
			0, KUBUF_RING_MIN_DATA / 2, 4096 + 8, 3 << 12,
			KUBUF_RING_MAX_DATA * 2U, 0xffffffffU,
		};
		KUBUF_RING_OPTS(o, .dir = KUBUF_RING_TO_APP,
				.kind = KUBUF_MEM_KBUF, .data_size = 4096);

		o.mem_id = 1;
		KT_LIBERR(kubuf_ring_create(k, &o, &r), EINVAL);
		o.mem_id = 0;
		o.offset = 64;
		KT_LIBERR(kubuf_ring_create(k, &o, &r), EINVAL);
		o.offset = 0;
		o.kind = 7;
		KT_LIBERR(kubuf_ring_create(k, &o, &r), EINVAL);
		o.kind = KUBUF_MEM_UBUF;
		o.dir = 9;
		KT_LIBERR(kubuf_ring_create(k, &o, &r), EINVAL);
		o.dir = KUBUF_RING_TO_APP;
		for (i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
			o.data_size = bad_sizes[i];
			KT_LIBERR(kubuf_ring_create(k, &o, &r), EINVAL);
		}
	}
	nothing_held();
	kubuf_close(k);
}

/* A bare stream's record: its number, a checksum of 0, data untouched. */
struct bare_seen {
	uint64_t next;
	uint32_t data;
};

static int check_bare(void *arg, const struct kubuf_rec *rec,
		      const void *payload)
{
	const struct kubuf_stream_rec *sr = payload;
	const unsigned char *d = (const unsigned char *)(sr + 1);
	struct bare_seen *b = arg;
	uint32_t i;

	KT_ASSERT_EQ(rec->type, KUBUF_REC_STREAM);
	KT_ASSERT_EQ(rec->len, sizeof(*sr) + b->data);
	KT_ASSERT_EQ(sr->seq, b->next);
	KT_ASSERT_EQ(sr->csum, 0);
	for (i = 0; i < b->data; i++)
		if (d[i] != 0xa5)
			kt_fail(__FILE__, __LINE__, "record %llu: data byte %u written",
				(unsigned long long)b->next, i);
	b->next++;
	return 0;
}

/*
 * KUBUF_STREAM_BARE: the device writes each record's header only. The
 * records tile the data area exactly (64 bytes, no padding), so every
 * lap puts headers where headers were: the data bytes, poisoned before
 * the stream, must stay so through every lap.
 */
KT_CASE(bare_stream)
{
	const uint64_t count = 2000;
	struct bare_seen b = { .data = 64 - 8 - 16 };
	struct kubuf_ring_query q;
	struct rig g;

	rig_new(&g, KUBUF_MEM_KBUF, 8192, 0, 16, 0);
	memset(g.mem + KUBUF_RING_CTL_SIZE, 0xa5, 8192);
	start(&g, b.data, 0, count,
	      KUBUF_STREAM_LOSSLESS | KUBUF_STREAM_BARE);
	while (b.next < count) {
		KT_ASSERT(kubuf_ring_consume(g.r, check_bare, &b, 0) >= 0);
		KT_ASSERT(ring_wait(g.r, 10000) >= 0);
	}
	KT_ASSERT_EQ(kubuf_ring_query(g.r, &q), 0);
	KT_ASSERT_EQ(q.records, count);
	KT_ASSERT_EQ(q.dropped, 0);
	KT_ASSERT_EQ(q.bytes, count * (16 + b.data));
	rig_free(&g);
}

/* Busy polling: no eventfd, no epoll, no wakeup, every record. */
KT_CASE(busy_poll)
{
	const uint64_t count = 3000;
	struct kubuf_ring_counters rc;
	struct kubuf_stream_check c;
	struct kubuf_ring_query q;
	struct rig g;

	rig_new(&g, KUBUF_MEM_UBUF, 64 << 10, KUBUF_RING_BUSY_POLL, 0, 0);
	KT_LIBERR(kubuf_ring_fd(g.r), EINVAL);
	KT_LIBERR(kubuf_ring_arm(g.r), EINVAL);
	kubuf_stream_check_init(&c, SEED, 8);
	start(&g, 8, 0, count, KUBUF_STREAM_LOSSLESS);
	q = consume_all(&g, &c, 20, count);
	assert_accounted(&c, &q, count);
	kubuf_ring_counters(g.r, &rc);
	KT_ASSERT_EQ(q.wakeups, 0);
	KT_ASSERT_EQ(rc.wakeups, 0);
	KT_ASSERT_EQ(rc.waits, 0);
	rig_free(&g);
}

/* The caller's own loop: arm, poll the ring's fd, consume. */
KT_CASE(own_event_loop)
{
	const uint64_t count = 2000;
	struct kubuf_ring_counters rc;
	struct kubuf_stream_check c;
	struct kubuf_ring_query q;
	struct pollfd pfd;
	struct rig g;
	int polls = 0, n;

	rig_new(&g, KUBUF_MEM_KBUF, 16 << 10, 0, 64, 2000);
	pfd.fd = KT_OK(kubuf_ring_fd(g.r));
	pfd.events = POLLIN;
	kubuf_stream_check_init(&c, SEED, 100);
	start(&g, 100, 0, count, KUBUF_STREAM_LOSSLESS);
	while (c.next_seq < count) {
		n = kubuf_ring_arm(g.r);
		KT_ASSERT(n >= 0);
		if (n == 0) {
			KT_ASSERT(++polls < 10000);
			KT_ASSERT(KT_OK(kt_poll(&pfd, 1, 20000)) == 1);
		}
		KT_ASSERT(kubuf_ring_consume(g.r, check_rec, &c, 0) >= 0);
	}
	/*
	 * A wakeup the device decided on just before the last consume
	 * disarmed may still land after it (a documented spurious one). Once
	 * the stream is stopped none can come: one more arm and consume take
	 * whatever is queued, and the fd is quiet.
	 */
	KT_ASSERT_EQ(kubuf_stream_stop(g.r), 0);
	KT_ASSERT_EQ(kubuf_ring_arm(g.r), 0);
	KT_ASSERT_EQ(kubuf_ring_consume(g.r, check_rec, &c, 0), 0);
	KT_ASSERT_EQ(KT_OK(kt_poll(&pfd, 1, 0)), 0);
	KT_ASSERT_EQ(kubuf_ring_query(g.r, &q), 0);
	kubuf_ring_counters(g.r, &rc);
	KT_ASSERT_EQ(c.records, count);
	KT_ASSERT(rc.wakeups <= q.wakeups + 1);
	KT_ASSERT(rc.waits <= (uint64_t)polls + 1);
	rig_free(&g);
}

/* --- a consumer that stops --------------------------------------------------- */

/*
 * The consumer sleeps while a fast stream fills the ring: the device
 * drops and counts, and never overwrites. What the ring holds starts at
 * sequence 0 and verifies; every gap is a counted drop.
 */
KT_CASE(stalled_consumer)
{
	const uint64_t count = 3000;
	struct kubuf_stream_check c;
	struct kubuf_ring_query q;
	struct rig g;
	int i;

	rig_new(&g, KUBUF_MEM_UBUF, 4096, 0, 1, 0);
	kubuf_stream_check_init(&c, SEED, 64);
	start(&g, 64, 100000, count, 0);
	for (i = 0; i < 2000; i++) {
		KT_ASSERT_EQ(kubuf_ring_query(g.r, &q), 0);
		if (q.stream == KUBUF_STREAM_DONE)
			break;
		kt_msleep(10);
	}
	KT_ASSERT_EQ(q.stream, KUBUF_STREAM_DONE);
	/* The ring is full of the first records, untouched. */
	KT_ASSERT(kubuf_ring_consume(g.r, check_rec, &c, 1) == 1);
	KT_ASSERT_EQ(c.next_seq, 1);
	q = consume_all(&g, &c, 10, 0);
	assert_accounted(&c, &q, count);
	KT_ASSERT(q.dropped > 0);
	/* Nothing after the ring filled got in: the drops are at the end. */
	KT_ASSERT(c.next_seq < count);
	KT_ASSERT_EQ(((struct kubuf_ring_ctl *)g.mem)->dropped, q.dropped);
	rig_free(&g);
}

/* A producer that breaks the ring: consume says so, and which check. */
KT_CASE(broken_by_producer)
{
	struct kubuf_ring_ctl *ctl;
	struct kubuf_stream_check c;
	struct rig g;

	rig_new(&g, KUBUF_MEM_KBUF, 4096, 0, 1, 0);
	kubuf_stream_check_init(&c, SEED, 8);
	ctl = (struct kubuf_ring_ctl *)g.mem;
	/* The device never reads head: only this side's view is at stake. */
	ctl->head = 4096 + 8;
	KT_LIBERR(kubuf_ring_consume(g.r, check_rec, &c, 0), EPROTO);
	KT_ASSERT_EQ(kubuf_ring_error(g.r), KUBUF_RING_ERR_HEAD);
	KT_LIBERR(kubuf_ring_wait(g.r, 0), EPROTO);
	KT_LIBERR(kubuf_ring_consume(g.r, check_rec, &c, 0), EPROTO);
	rig_free(&g);
}

/* Every module counter, into @c (KUBUF_STAT_NR of them). */
static void stats_read(uint64_t *c)
{
	struct kubuf_stats st;
	struct kubuf *k;

	KT_ASSERT_EQ(kubuf_open(NULL, KUBUF_OPEN_RDONLY, &k), 0);
	KT_ASSERT_EQ(kubuf_get_stats(k, &st), 0);
	kubuf_close(k);
	memcpy(c, st.counters, KUBUF_STAT_NR * sizeof(*c));
}

/*
 * Every counter back at @base within two seconds (a file in use by
 * another thread is released when that thread lets go). The open-file
 * count includes the one stats_read() opens, in @base too.
 */
static void stats_back(const uint64_t *base)
{
	uint64_t now[KUBUF_STAT_NR];
	unsigned int i;
	int tries;

	for (tries = 0; tries < 200; tries++) {
		stats_read(now);
		for (i = 0; i < KUBUF_STAT_NR && now[i] == base[i]; i++)
			;
		if (i == KUBUF_STAT_NR)
			return;
		kt_msleep(10);
	}
	kt_fail(__FILE__, __LINE__, "counter %s: %llu, was %llu",
		kubuf_stat_name(i), (unsigned long long)now[i],
		(unsigned long long)base[i]);
}

/* --- a consumer that dies ---------------------------------------------------- */

static void child_stream(unsigned int kind, int report)
{
	struct kubuf_stream_check c;
	struct rig g;
	char one = 1;
	int n;

	rig_new(&g, kind, 16 << 10, 0, 8, 1000);
	kubuf_stream_check_init(&c, SEED, 512);
	start(&g, 512, 0, 0, KUBUF_STREAM_LOSSLESS);
	for (;;) {
		n = kubuf_ring_consume(g.r, check_rec, &c, 0);
		KT_ASSERT(n >= 0);
		if (!n)
			KT_ASSERT(ring_wait(g.r, 1000) >= 0);
		if (c.records >= 500 && report >= 0) {
			KT_ASSERT(write(report, &one, 1) == 1);
			report = -1;
		}
	}
}

/* kill -9 in the middle of a stream: everything goes back to zero. */
KT_CASE(kill_consumer)
{
	uint64_t base[KUBUF_STAT_NR];
	unsigned int kind;

	stats_read(base);
	for (kind = KUBUF_MEM_UBUF; kind <= KUBUF_MEM_KBUF; kind++) {
		int p[2], status;
		pid_t pid;
		char b;

		KT_OK(pipe(p));
		pid = KT_OK(fork());
		if (!pid) {
			close(p[0]);
			child_stream(kind, p[1]);
		}
		close(p[1]);
		/* Mid-stream: the child has checked 500 records. */
		KT_ASSERT_EQ(read(p[0], &b, 1), 1);
		KT_ASSERT(kt_stat(KUBUF_STAT_RINGS) >
			  base[KUBUF_STAT_RINGS]);
		KT_OK(kill(pid, SIGKILL));
		KT_OK(waitpid(pid, &status, 0));
		KT_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		close(p[0]);
	}
	stats_back(base);
}

/* --- commands ----------------------------------------------------------------- */

/* A command ring, its reply ring, and what each completion must say. */
struct cmd_test {
	struct kubuf_ring *cmd, *reply;
	uint64_t tag;		/* of the next command queued */
	uint64_t done_tag;	/* of the next completion expected */
	struct {
		struct kubuf_ring_done d;	/* tag unused */
		uint32_t echo_len;
	} want[256];				/* by tag % 256 */
	unsigned char echo[KUBUF_RCMD_ECHO_MAX];
	uint64_t submits;
};

static int take_done(void *arg, const struct kubuf_rec *rec,
		     const void *payload)
{
	struct cmd_test *t = arg;
	const struct kubuf_ring_done *w = &t->want[t->done_tag % 256].d;
	uint32_t echo_len = t->want[t->done_tag % 256].echo_len;
	const unsigned char *echo;
	struct kubuf_ring_done d;

	KT_ASSERT_EQ(rec->type, KUBUF_REC_DONE);
	KT_ASSERT(rec->len >= sizeof(d));
	memcpy(&d, payload, sizeof(d));
	echo = (const unsigned char *)payload + sizeof(d);
	KT_ASSERT_EQ(d.tag, t->done_tag);
	KT_ASSERT_EQ(d.op, w->op);
	KT_ASSERT_EQ(d.status, w->status);
	KT_ASSERT_EQ(d.result, w->result);
	if (d.op == KUBUF_RCMD_ECHO && !d.status) {
		KT_ASSERT_EQ(rec->len - sizeof(d), echo_len);
		KT_ASSERT(!memcmp(echo, t->echo, echo_len));
	} else {
		KT_ASSERT_EQ(rec->len, sizeof(d));
	}
	t->done_tag++;
	return 0;
}

/* Publish what is queued, and wait until all of it has completed. */
static void submit_and_wait(struct cmd_test *t)
{
	int tries = 0, n;

	KT_ASSERT(kubuf_ring_submit(t->cmd) >= 0);
	t->submits++;
	while (t->done_tag < t->tag) {
		n = kubuf_ring_consume(t->reply, take_done, t, 0);
		KT_ASSERT(n >= 0);
		if (!n) {
			KT_ASSERT(++tries < 50);
			KT_ASSERT(ring_wait(t->reply, 200) >= 0);
		}
	}
}

/* Queue @c (with @elen bytes of echo) expecting @status and @result. */
static void queue(struct cmd_test *t, struct kubuf_ring_cmd *c, uint32_t elen,
		  int status, uint64_t result)
{
	struct kubuf_ring_done *w = &t->want[t->tag % 256].d;
	int ret;

	c->tag = t->tag;
	w->op = c->op;
	w->status = status;
	w->result = result;
	t->want[t->tag % 256].echo_len = elen;
	ret = kubuf_ring_cmd(t->cmd, c, t->echo, elen);
	if (ret == -EAGAIN) {
		/* Full: let the device take what is there, then retry. */
		submit_and_wait(t);
		ret = kubuf_ring_cmd(t->cmd, c, t->echo, elen);
	}
	KT_ASSERT_EQ(ret, 0);
	t->tag++;
}

/* The checksum of @len bytes of the device's pattern for @seed. */
static uint64_t pattern_sum(uint32_t seed, uint64_t len)
{
	uint64_t sum = KUBUF_CHECKSUM_INIT, i;
	uint8_t b;

	for (i = 0; i < len; i++) {
		b = kubuf_pattern_byte(seed, i);
		sum = kubuf_checksum(sum, &b, 1);
	}
	return sum;
}

/*
 * Commands through a TO_DEV ring in memory of @kind, on a buffer of the
 * other kind, one to eight per submit: FILL and CHECKSUM of what it
 * wrote, ECHO of every size (returned byte for byte), a malformed
 * command, and RESET, which revokes the registration.
 */
static void commands(unsigned int kind)
{
	const uint32_t ring = 16 << 10, tlen = 64 << 10;
	unsigned int tkind = kind == KUBUF_MEM_UBUF ? KUBUF_MEM_KBUF :
						      KUBUF_MEM_UBUF;
	KUBUF_RING_OPTS(o, .kind = kind, .data_size = ring);
	static struct cmd_test t;
	struct kubuf_ring_counters rc;
	struct kubuf_ring_query q;
	struct kubuf_ring_cmd c;
	struct kubuf_ubuf_query uq;
	unsigned int i, j, n = 0;
	uint64_t fill_off = 0, fill_len = 0;
	uint32_t fill_seed = 0;
	struct rig g, tg;

	memset(&t, 0, sizeof(t));
	t.tag = t.done_tag = 1;
	for (i = 0; i < sizeof(t.echo); i++)
		t.echo[i] = (unsigned char)(i * 13 + 1);
	memset(&g, 0, sizeof(g));
	KT_ASSERT_EQ(kubuf_open(NULL, 0, &g.k), 0);
	rig_mem(&g, kind, 2 * (KUBUF_RING_CTL_SIZE + ring));
	tg = g;
	rig_mem(&tg, tkind, tlen);
	o.mem_id = g.mem_id;
	o.dir = KUBUF_RING_TO_APP;
	o.wake_records = 1;
	KT_ASSERT_EQ(kubuf_ring_attach(g.k, g.mem, &o, &t.reply), 0);
	o.dir = KUBUF_RING_TO_DEV;
	o.wake_records = 0;
	o.offset = KUBUF_RING_CTL_SIZE + ring;
	o.reply_ring = t.reply;
	KT_ASSERT_EQ(kubuf_ring_attach(g.k, g.mem + o.offset, &o, &t.cmd), 0);
	KT_LIBERR(kubuf_ring_wait(t.cmd, 0), EINVAL);
	KT_LIBERR(kubuf_ring_consume(t.cmd, take_done, &t, 0), EINVAL);
	KT_LIBERR(kubuf_ring_produce(t.reply, KUBUF_REC_USER, NULL, 0), EINVAL);
	KT_LIBERR(kubuf_ring_produce(t.cmd, KUBUF_REC_PAD, NULL, 0), EINVAL);
	memset(&c, 0, sizeof(c));
	KT_LIBERR(kubuf_ring_cmd(t.cmd, &c, t.echo, ring), EMSGSIZE);

	for (i = 0; i < 60; i++) {
		for (j = 0; j <= i % 8; j++, n++) {
			uint64_t off = (n * 509) % (tlen - 4096);
			uint64_t len = 1 + (n * 97) % 4096;

			memset(&c, 0, sizeof(c));
			switch (n % 4) {
			case 0:
				c.op = KUBUF_RCMD_FILL;
				c.kind = tkind;
				c.id = tg.mem_id;
				c.offset = off;
				c.len = len;
				c.seed = n;
				queue(&t, &c, 0, 0, 0);
				fill_off = off;
				fill_len = len;
				fill_seed = n;
				c.op = KUBUF_RCMD_CHECKSUM;
				c.seed = 0;
				queue(&t, &c, 0, 0, pattern_sum(n, len));
				break;
			case 1:
			case 2:
				c.op = KUBUF_RCMD_ECHO;
				queue(&t, &c, (n * 331) % (KUBUF_RCMD_ECHO_MAX + 1),
				      0, 0);
				break;
			default:	/* malformed: an ECHO naming a buffer */
				c.op = KUBUF_RCMD_ECHO;
				c.id = 1;
				queue(&t, &c, 0, -EINVAL, 0);
				break;
			}
		}
		submit_and_wait(&t);
	}
	/* The last FILL's bytes are in the buffer, seen by the application. */
	KT_ASSERT_EQ(kubuf_pattern_check(tg.mem + fill_off, fill_len,
					 fill_seed, NULL), 0);

	kubuf_ring_counters(t.cmd, &rc);
	KT_ASSERT_EQ(kubuf_ring_query(t.cmd, &q), 0);
	printf("# %llu commands in %llu submits: %llu kicks, device woken %llu "
	       "times\n", (unsigned long long)rc.records,
	       (unsigned long long)t.submits, (unsigned long long)rc.kicks,
	       (unsigned long long)q.wakeups);
	KT_ASSERT_EQ(rc.records, t.tag - 1);
	KT_ASSERT_EQ(q.records, t.tag - 1);
	KT_ASSERT(rc.kicks <= t.submits);
	KT_ASSERT(q.wakeups <= rc.kicks);
	KT_ASSERT_EQ(kubuf_ring_query(t.reply, &q), 0);
	KT_ASSERT_EQ(q.records, t.tag - 1);
	KT_ASSERT_EQ(q.dropped, 0);

	/* RESET: the registration is revoked (and a ring in it dies). */
	memset(&c, 0, sizeof(c));
	c.op = KUBUF_RCMD_RESET;
	if (kind == KUBUF_MEM_KBUF) {
		queue(&t, &c, 0, 0, 0);
		submit_and_wait(&t);
		KT_ASSERT_EQ(kubuf_ubuf_query(g.k, tg.mem_id, &uq), 0);
		KT_ASSERT_EQ(uq.state, KUBUF_UBUF_REVOKED);
	} else {
		queue(&t, &c, 0, 0, 0);
		KT_ASSERT(kubuf_ring_submit(t.cmd) >= 0);
		for (i = 0; i < 2000; i++) {
			KT_ASSERT_EQ(kubuf_ring_query(t.cmd, &q), 0);
			if (q.state == KUBUF_RING_DEAD)
				break;
			kt_msleep(10);
		}
		KT_ASSERT_EQ(q.state, KUBUF_RING_DEAD);
	}
	KT_ASSERT_EQ(kubuf_ring_detach(t.cmd), 0);
	KT_ASSERT_EQ(kubuf_ring_detach(t.reply), 0);
	rig_mem_free(&tg);
	rig_free(&g);
}

KT_CASE(commands_in_ubuf)
{
	commands(KUBUF_MEM_UBUF);
}

KT_CASE(commands_in_kbuf)
{
	commands(KUBUF_MEM_KBUF);
}

/* --- eventfds and poll while the device signals ------------------------------- */

/*
 * A consumer of a ring that wakes through whatever the file's eventfd
 * is at the moment: it sets waiting, naps, and takes what came, so the
 * device keeps signalling.
 */
struct napper {
	struct kubuf_ring_view v;
	struct kubuf_stream_check c;
	uint64_t count;
	int stop;
	int done;
};

static void *napper_run(void *arg)
{
	struct napper *n = arg;
	struct kubuf_rec rec;
	const void *p;
	double end = kt_now() + 20;

	while (n->c.next_seq < n->count && kt_now() < end &&
	       !__atomic_load_n(&n->stop, __ATOMIC_ACQUIRE)) {
		if (kubuf_ring_cons_prepare_wait(&n->v) == 0)
			kt_msleep(1);
		kubuf_ring_cons_done_wait(&n->v);
		if (kubuf_ring_cons_avail(&n->v) < 0)
			break;
		while ((p = kubuf_ring_cons_peek(&n->v, &rec, 1 << 16))) {
			check_rec(&n->c, &rec, p);
			kubuf_ring_cons_next(&n->v);
		}
		kubuf_ring_cons_release(&n->v);
	}
	__atomic_store_n(&n->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * The file's eventfd is replaced again and again, and each old one
 * closed, while a ring without an eventfd of its own signals through
 * it; then a ring's own eventfd is closed by the application while the
 * device goes on signalling it. Each reference is dropped exactly once.
 */
KT_CASE(eventfds_replaced_and_closed)
{
	uint64_t base = kt_stat(KUBUF_STAT_EVENTFD_REFS);
	struct kubuf_ring_attach a;
	struct kubuf_stream s = {
		.flags = KUBUF_STREAM_LOSSLESS, .rec_size = 32, .seed = SEED,
		.rate = 4000, .count = 6000,	/* 1.5 s: time for many swaps */
	};
	struct kubuf_ring_query q = { 0 };
	struct napper n;
	pthread_t th;
	struct rig g;
	int efd, round, i;

	for (round = 0; round < 2; round++) {
		memset(&g, 0, sizeof(g));
		KT_ASSERT_EQ(kubuf_open(NULL, 0, &g.k), 0);
		rig_mem(&g, round ? KUBUF_MEM_UBUF : KUBUF_MEM_KBUF,
			KUBUF_RING_CTL_SIZE + 4096);
		memset(&a, 0, sizeof(a));
		a.dir = KUBUF_RING_TO_APP;
		a.kind = g.kind;
		a.mem_id = g.mem_id;
		a.data_size = 4096;
		a.wake_records = 1;
		efd = KT_OK(eventfd(0, EFD_CLOEXEC));
		/* Round 0: the file's event; round 1: the ring's own, closed. */
		a.eventfd = round ? efd : -1;
		KT_OK(ioctl(kubuf_fd(g.k), KUBUF_IOC_RING_ATTACH, &a));
		if (round) {
			KT_ASSERT_EQ(kt_stat(KUBUF_STAT_EVENTFD_REFS), base + 1);
			close(efd);
		}
		memset(&n, 0, sizeof(n));
		kubuf_ring_view_init(&n.v, g.mem, 4096);
		kubuf_stream_check_init(&n.c, SEED, 32);
		n.count = s.count;
		s.ring_id = a.id;
		KT_OK(ioctl(kubuf_fd(g.k), KUBUF_IOC_STREAM_START, &s));
		KT_ASSERT_EQ(pthread_create(&th, NULL, napper_run, &n), 0);
		for (i = 0; !round && !__atomic_load_n(&n.done, __ATOMIC_ACQUIRE);
		     i++) {
			int e = KT_OK(eventfd(0, EFD_CLOEXEC));

			KT_ASSERT_EQ(kubuf_set_eventfd(g.k, e), 0);
			KT_ASSERT_EQ(kt_stat(KUBUF_STAT_EVENTFD_REFS), base + 1);
			close(efd);
			efd = e;
			kt_msleep(i % 3);
		}
		KT_ASSERT_EQ(pthread_join(th, NULL), 0);
		if (!round) {
			KT_ASSERT(i > 10);
			KT_ASSERT_EQ(kubuf_set_eventfd(g.k, -1), 0);
			close(efd);
		}
		q.id = a.id;
		KT_OK(ioctl(kubuf_fd(g.k), KUBUF_IOC_RING_QUERY, &q));
		printf("# round %d: %llu records, %llu wakeups\n", round,
		       (unsigned long long)n.c.records,
		       (unsigned long long)q.wakeups);
		KT_ASSERT_EQ(n.c.records, s.count);
		KT_ASSERT(q.wakeups > 0);
		KT_ASSERT_EQ(kt_stat(KUBUF_STAT_EVENTFD_REFS), base + round);
		KT_OK(ioctl(kubuf_fd(g.k), KUBUF_IOC_RING_DETACH,
			    &(struct kubuf_id){ .id = a.id }));
		KT_ASSERT_EQ(kt_stat(KUBUF_STAT_EVENTFD_REFS), base);
		rig_free(&g);
	}
}

struct poller {
	int epfd, fd;
	int stop;
	unsigned long polls;
};

/* poll() and epoll_wait() on the device, as fast as they return. */
static void *poller_run(void *arg)
{
	struct poller *p = arg;
	struct epoll_event ev;
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN | POLLPRI };
	unsigned long i;

	for (i = 0; !__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE); i++) {
		if (i % 2)
			kt_epoll_wait(p->epfd, &ev, 1, 5);
		else if (kt_poll(&pfd, 1, 5) > 0 && (pfd.revents & POLLNVAL))
			pfd.fd = -1;	/* closed: go on with epoll */
		if (pfd.fd >= 0 && i % 8 == 0) {
			struct kubuf_events e = { 0 };

			ioctl(p->fd, KUBUF_IOC_GET_EVENTS, &e);
		}
		__atomic_store_n(&p->polls, i + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/*
 * Close the device while one thread polls it (poll and epoll) and
 * another consumes a ring that signals through the file's event: the
 * poller returns, the file is released when the last user lets go, and
 * every counter goes back.
 */
KT_CASE(poll_racing_close)
{
	uint64_t base[KUBUF_STAT_NR];
	struct kubuf_stream s = {
		.flags = KUBUF_STREAM_LOSSLESS, .rec_size = 16, .seed = SEED,
		.rate = 20000,
	};
	struct kubuf_ring_attach a;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLPRI };
	unsigned int round, i;

	stats_read(base);
	for (round = 0; round < 6; round++) {
		struct poller p = { 0 };
		struct napper n;
		pthread_t tp, tn;
		struct rig g;

		memset(&g, 0, sizeof(g));
		KT_ASSERT_EQ(kubuf_open(NULL, 0, &g.k), 0);
		rig_mem(&g, KUBUF_MEM_UBUF, KUBUF_RING_CTL_SIZE + 4096);
		memset(&a, 0, sizeof(a));
		a.dir = KUBUF_RING_TO_APP;
		a.kind = g.kind;
		a.mem_id = g.mem_id;
		a.data_size = 4096;
		a.wake_records = 1 + round;
		a.eventfd = -1;
		KT_OK(ioctl(kubuf_fd(g.k), KUBUF_IOC_RING_ATTACH, &a));
		s.ring_id = a.id;
		KT_OK(ioctl(kubuf_fd(g.k), KUBUF_IOC_STREAM_START, &s));

		memset(&n, 0, sizeof(n));
		kubuf_ring_view_init(&n.v, g.mem, 4096);
		kubuf_stream_check_init(&n.c, SEED, 16);
		n.count = ~0ULL;
		p.fd = kubuf_fd(g.k);
		p.epfd = KT_OK(epoll_create1(EPOLL_CLOEXEC));
		KT_OK(epoll_ctl(p.epfd, EPOLL_CTL_ADD, p.fd, &ev));
		KT_ASSERT_EQ(pthread_create(&tn, NULL, napper_run, &n), 0);
		KT_ASSERT_EQ(pthread_create(&tp, NULL, poller_run, &p), 0);
		kt_msleep(20 + round * 15);
		/* However slow the guest: the close races polls under way. */
		for (i = 0; i < 10000 &&
		     __atomic_load_n(&p.polls, __ATOMIC_ACQUIRE) < 2; i++)
			kt_msleep(1);
		KT_ASSERT(__atomic_load_n(&p.polls, __ATOMIC_ACQUIRE) >= 2);
		kubuf_close(g.k);	/* while polled, streaming, consumed */
		kt_msleep(20);
		__atomic_store_n(&p.stop, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&n.stop, 1, __ATOMIC_RELEASE);
		KT_ASSERT_EQ(pthread_join(tp, NULL), 0);
		KT_ASSERT_EQ(pthread_join(tn, NULL), 0);
		KT_ASSERT_EQ(n.c.corrupt, 0);
		close(p.epfd);
		KT_OK(munmap(g.mem, g.len));
	}
	stats_back(base);
}

/* --- the kubuf program ---------------------------------------------------------- */

/*
 * Run program @name (in /kubuf/bin, or on the PATH) with @argv; its exit
 * status, and its output in @out. 126: it is not there.
 */
static int run_prog(const char *name, const char *const *argv, char *out,
		    size_t len)
{
	char path[64];
	int p[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	snprintf(path, sizeof(path), "/kubuf/bin/%s", name);
	KT_OK(pipe(p));
	pid = KT_OK(fork());
	if (!pid) {
		dup2(p[1], 1);
		execv(path, (char **)argv);
		execvp(name, (char **)argv);
		_exit(126);
	}
	close(p[1]);
	while (got + 1 < len && (n = read(p[0], out + got, len - 1 - got)) > 0)
		got += n;
	out[got] = 0;
	close(p[0]);
	KT_OK(waitpid(pid, &status, 0));
	KT_ASSERT(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* Run `kubuf stream ARGS --json --quiet`; its exit status and summary. */
static int run_tool(const char *const *args, char *out, size_t len)
{
	const char *argv[24] = { "kubuf", "stream", "--json", "--quiet" };
	int i, ret;

	for (i = 0; args[i]; i++)
		argv[4 + i] = args[i];
	ret = run_prog("kubuf", argv, out, len);
	if (ret == 126)
		kt_skip("the kubuf program is not installed");
	return ret;
}

/*
 * README's example program (examples/stream.c), as built against the
 * library: it checks every record of its stream and says so.
 */
KT_CASE(example_program)
{
	const char *argv[] = { "kubuf-example", "20000", NULL };
	char out[512];
	int ret;

	ret = run_prog("kubuf-example", argv, out, sizeof(out));
	if (ret == 126)
		kt_skip("the example program is not installed");
	kt_note("%s", out);
	KT_ASSERT_EQ(ret, 0);
	KT_ASSERT(strstr(out, "20000 records checked, 0 corrupt") != NULL);
}

/* A number from the program's JSON summary. */
static double json_num(const char *out, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = strstr(out, pat);
	if (!p)
		kt_fail(__FILE__, __LINE__, "no %s in: %s", key, out);
	return strtod(p + strlen(pat), NULL);
}

/*
 * kubuf stream with its defaults keeps to its target: every record, and
 * fewer than 0.01 system calls per record, setting up included. A rate
 * too high for a small ring drops records, counted: still a success.
 */
KT_CASE(kubuf_stream_program)
{
	static const char *const lossless[] = { "--count", "50000", NULL };
	static const char *const dropping[] = {
		"--count", "4000", "--rate", "400000", "--ring-size", "4K",
		"--kind", "ubuf", "--wake-records", "4000", NULL };
	static const char *const bad[] = { "--size", "100K", NULL };
	char out[2048];

	KT_ASSERT_EQ(run_tool(lossless, out, sizeof(out)), 0);
	printf("# %s", out);
	KT_ASSERT_EQ(json_num(out, "records"), 50000);
	KT_ASSERT_EQ(json_num(out, "corrupt"), 0);
	KT_ASSERT_EQ(json_num(out, "dropped"), 0);
	KT_ASSERT(json_num(out, "syscalls_per_record") < 0.01);
	KT_ASSERT(strstr(out, "\"ok\": true"));

	KT_ASSERT_EQ(run_tool(dropping, out, sizeof(out)), 0);
	printf("# %s", out);
	KT_ASSERT(json_num(out, "dropped") > 0);
	KT_ASSERT_EQ(json_num(out, "records") + json_num(out, "dropped"), 4000);
	KT_ASSERT_EQ(json_num(out, "lost"), 0);

	KT_ASSERT_EQ(run_tool(bad, out, sizeof(out)), 2);
}

KT_MAIN()
