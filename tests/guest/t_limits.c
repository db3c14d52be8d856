/* SPDX-License-Identifier: MIT */
/*
 * Hostile numbers: every range the ABI documents, at its edges and far
 * beyond them, and the work a user can make the device do at those
 * edges. Each case names the defect it guards against; each failed on
 * the module before its fix (a panic, a hung CPU, a wrong errno, a
 * physical address handed out, a command ring that stalls).
 *
 * What one user can hold (files, rings, commands, driver memory) and
 * whether other users still get on is t_exhaust's.
 */
#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <kubuf/ring.h>

#include "harness.h"
#include "kubuf.h"

#define PG		4096UL
#define RW		(KUBUF_ACCESS_DEV_READ | KUBUF_ACCESS_DEV_WRITE)

/* A mapped driver buffer the application may write, to hold rings. */
struct kmem {
	uint32_t id;
	unsigned char *addr;
	size_t len;
};

static void kmem_new(int fd, struct kmem *m, size_t len)
{
	struct kubuf_kbuf_alloc a = {
		.size = len, .flags = KUBUF_KBUF_APP_WRITE,
	};

	KT_OK(ioctl(fd, KUBUF_IOC_KBUF_ALLOC, &a));
	m->id = a.id;
	m->len = len;
	m->addr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       a.mmap_offset);
	KT_ASSERT(m->addr != MAP_FAILED);
}

static uint32_t ring_attach(int fd, const struct kmem *m, uint64_t off,
			    uint32_t dir, uint32_t data_size, uint32_t reply)
{
	struct kubuf_ring_attach a = {
		.dir = dir, .kind = KUBUF_MEM_KBUF, .mem_id = m->id,
		.offset = off, .data_size = data_size, .eventfd = -1,
		.wake_records = dir == KUBUF_RING_TO_APP ? 1 : 0,
		.reply_id = reply,
	};

	KT_OK(ioctl(fd, KUBUF_IOC_RING_ATTACH, &a));
	return a.id;
}

static int stream(int fd, uint32_t ring, uint64_t rate, uint64_t count,
		  uint32_t flags)
{
	struct kubuf_stream s = {
		.ring_id = ring, .flags = flags, .rec_size = 64,
		.seed = 1, .rate = rate, .count = count,
	};

	return ioctl(fd, KUBUF_IOC_STREAM_START, &s);
}

static int id_ioctl(int fd, unsigned long cmd, uint32_t id)
{
	struct kubuf_id arg = { .id = id };

	return ioctl(fd, cmd, &arg);
}

static struct kubuf_ring_query ring_query(int fd, uint32_t id)
{
	struct kubuf_ring_query q = { .id = id };

	KT_OK(ioctl(fd, KUBUF_IOC_RING_QUERY, &q));
	return q;
}

/* Seconds one call of STREAM_STOP took. */
static double timed_stop(int fd, uint32_t ring)
{
	double t0 = kt_now();

	KT_OK(id_ioctl(fd, KUBUF_IOC_STREAM_STOP, ring));
	return kt_now() - t0;
}

/*
 * A watchdog: a child that sleeps 10 ms at a time on either CPU and
 * reports, through a pipe, the longest it ever waited for one of them.
 */
struct watchdog {
	pid_t pid;
	int rd;
};

static void watchdog_start(struct watchdog *w)
{
	int p[2];

	KT_OK(pipe(p));
	w->pid = KT_OK(fork());
	if (!w->pid) {
		double worst = 0, t = kt_now(), now;

		close(p[0]);
		kt_storm_child();
		for (;;) {
			kt_msleep(10);
			now = kt_now();
			if (now - t > worst) {
				worst = now - t;
				if (write(p[1], &worst, sizeof(worst)) < 0)
					_exit(1);
			}
			t = now;
		}
	}
	close(p[1]);
	w->rd = p[0];
}

/* Stop the watchdog: the longest sleep it saw, in seconds. */
static double watchdog_stop(struct watchdog *w)
{
	double worst = 0, v;

	kill(w->pid, SIGKILL);
	waitpid(w->pid, NULL, 0);
	while (read(w->rd, &v, sizeof(v)) == sizeof(v))
		worst = v;
	close(w->rd);
	return worst;
}

/* --- streams ---------------------------------------------------------------- */

/*
 * Defect: a rate near UINT64_MAX made the due-records computation divide
 * with a quotient above 64 bits: "divide error", a kernel panic. Every
 * rate above KUBUF_STREAM_MAX_RATE is now refused first.
 */
KT_CASE(stream_rate_range)
{
	static const uint64_t bad[] = {
		KUBUF_STREAM_MAX_RATE + 1, 1ULL << 31, 1ULL << 32,
		1000000000000ULL, 1ULL << 63, UINT64_MAX - 1, UINT64_MAX,
	};
	struct kubuf_ring_query q;
	struct kmem m;
	uint32_t ring;
	unsigned int i;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	kmem_new(fd, &m, 16 * PG);
	ring = ring_attach(fd, &m, 0, KUBUF_RING_TO_APP, 4096, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		KT_ERRNO(stream(fd, ring, bad[i], 0, KUBUF_STREAM_LOSSLESS),
			 EINVAL);
		KT_ERRNO(stream(fd, ring, bad[i], 0, 0), EINVAL);
	}
	q = ring_query(fd, ring);
	KT_ASSERT_EQ(q.stream, KUBUF_STREAM_IDLE);

	/* The edges that are valid run, and stop at once. */
	KT_OK(stream(fd, ring, KUBUF_STREAM_MAX_RATE, 0,
		     KUBUF_STREAM_LOSSLESS));
	kt_msleep(300);
	KT_ASSERT(timed_stop(fd, ring) < 5);
	q = ring_query(fd, ring);
	KT_ASSERT(q.records > 0);
	KT_ASSERT_EQ(q.dropped, 0);
	KT_OK(stream(fd, ring, 1, UINT64_MAX, 0));
	KT_ASSERT(timed_stop(fd, ring) < 5);
	KT_OK(stream(fd, ring, KUBUF_STREAM_MAX_RATE, UINT64_MAX, 0));
	kt_msleep(100);
	KT_ASSERT(timed_stop(fd, ring) < 5);
	close(fd);
}

/*
 * Defect: a dropping stream far behind its rate dropped one record per
 * loop, holding the ring's lock, without rescheduling. Where a record
 * costs more than 1/rate to drop, each burst is longer than the last:
 * at 1e12 records/s a CPU was locked for good (a soft lockup; the whole
 * guest hung), and even at the highest rate now allowed, under
 * emulation, STOP waited seconds for the burst to end. At that rate,
 * into a ring nobody reads, for seconds: the other CPU's tasks and this
 * one's get on, and STOP, which waits only for the burst in progress (64
 * records at most), is prompt.
 */
KT_CASE(stream_dropping_at_max_rate)
{
	struct kubuf_ring_query q;
	struct watchdog w;
	struct kmem m;
	uint32_t ring;
	double stop_s, worst;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	kmem_new(fd, &m, 16 * PG);
	ring = ring_attach(fd, &m, 0, KUBUF_RING_TO_APP, 4096, 0);
	watchdog_start(&w);
	KT_OK(stream(fd, ring, KUBUF_STREAM_MAX_RATE, 0, 0));
	kt_msleep(5000);
	q = ring_query(fd, ring);
	stop_s = timed_stop(fd, ring);
	worst = watchdog_stop(&w);
	kt_note("records %llu, dropped %llu, stop %.3f s, watchdog's worst %.3f s",
		(unsigned long long)q.records, (unsigned long long)q.dropped,
		stop_s, worst);
	KT_ASSERT_EQ(q.stream, KUBUF_STREAM_RUNNING);
	KT_ASSERT(q.records > 0);
	/* Five seconds at 1e8 records/s: most of them dropped. */
	KT_ASSERT(q.dropped > 1000000);
	/* Microseconds of work; a second is room for any emulator. */
	KT_ASSERT(stop_s < 1);
	KT_ASSERT(worst < 5);
	close(fd);
}

/* The count is any 64-bit value; with a rate, the stream is DONE at it. */
KT_CASE(stream_count_range)
{
	struct kubuf_ring_query q;
	struct kmem m;
	uint32_t ring;
	int i, fd = KT_OK(kt_open_dev(O_RDWR));

	kmem_new(fd, &m, 16 * PG);
	ring = ring_attach(fd, &m, 0, KUBUF_RING_TO_APP, 4096, 0);
	KT_OK(stream(fd, ring, KUBUF_STREAM_MAX_RATE, 1ULL << 63, 0));
	KT_ASSERT(timed_stop(fd, ring) < 5);
	/*
	 * A count the ring cannot hold, dropping: DONE, every one counted
	 * (in a ring of its own: a ring's counters add up all its streams).
	 */
	KT_OK(id_ioctl(fd, KUBUF_IOC_RING_DETACH, ring));
	ring = ring_attach(fd, &m, 0, KUBUF_RING_TO_APP, 4096, 0);
	KT_OK(stream(fd, ring, KUBUF_STREAM_MAX_RATE, 100000, 0));
	for (i = 0; i < 2000; i++) {
		q = ring_query(fd, ring);
		if (q.stream == KUBUF_STREAM_DONE)
			break;
		kt_msleep(10);
	}
	KT_ASSERT_EQ(q.stream, KUBUF_STREAM_DONE);
	KT_ASSERT_EQ(q.records + q.dropped, 100000);
	close(fd);
}

/*
 * Defect: DETACH and UNREGISTER of id 0 erased index 0 of the file's
 * table, which its allocator keeps out of use, and the next ATTACH
 * returned ring id 0 (the ABI says ids are never 0). Id 0 is ENOENT and
 * changes nothing.
 */
KT_CASE(id_zero_never_handed_out)
{
	struct kubuf_ubuf_reg reg;
	struct kmem m;
	uint32_t ring;
	void *buf;
	int i, fd = KT_OK(kt_open_dev(O_RDWR));

	kmem_new(fd, &m, 16 * PG);
	buf = mmap(NULL, PG, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	KT_ASSERT(buf != MAP_FAILED);
	for (i = 0; i < 3; i++) {
		KT_ERRNO(id_ioctl(fd, KUBUF_IOC_RING_DETACH, 0), ENOENT);
		ring = ring_attach(fd, &m, 0, KUBUF_RING_TO_APP, 4096, 0);
		KT_ASSERT(ring != 0);

		KT_ERRNO(id_ioctl(fd, KUBUF_IOC_UBUF_UNREGISTER, 0), ENOENT);
		memset(&reg, 0, sizeof(reg));
		reg.addr = (uintptr_t)buf;
		reg.len = PG;
		reg.access = RW;
		KT_OK(ioctl(fd, KUBUF_IOC_UBUF_REGISTER, &reg));
		KT_ASSERT(reg.id != 0);

		KT_ERRNO(id_ioctl(fd, KUBUF_IOC_KBUF_FREE, 0), ENOENT);
	}
	KT_ERRNO(id_ioctl(fd, KUBUF_IOC_RING_KICK, 0), ENOENT);
	KT_ERRNO(id_ioctl(fd, KUBUF_IOC_STREAM_STOP, 0), ENOENT);
	close(fd);
}

/* --- device commands ---------------------------------------------------------- */

static int fill(int fd, uint32_t kind, uint32_t id, uint64_t off,
		uint64_t len, uint32_t repeat, uint32_t flags)
{
	struct kubuf_dev_cmd c = {
		.op = KUBUF_DEV_FILL, .flags = flags, .kind = kind, .id = id,
		.offset = off, .len = len, .seed = 7, .repeat = repeat,
	};

	return ioctl(fd, KUBUF_IOC_DEV_CMD, &c);
}

/*
 * Defect: repeat was any 32-bit value, 2^32 passes over a buffer that
 * is never revoked: a command that ran for days and filled the device's
 * queue. Now at most KUBUF_DEV_MAX_REPEAT, and at most
 * KUBUF_DEV_MAX_WORK bytes in all, checked before anything is looked up.
 */
KT_CASE(dev_cmd_repeat_range)
{
	static const uint32_t bad[] = {
		KUBUF_DEV_MAX_REPEAT + 1, 1U << 16, 1U << 31, UINT32_MAX,
	};
	uint64_t most = KUBUF_DEV_MAX_WORK / (KUBUF_DEV_MAX_REPEAT + 1);
	struct kmem m;
	unsigned int i;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	kmem_new(fd, &m, 4 * PG);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		KT_ERRNO(fill(fd, KUBUF_MEM_KBUF, m.id, 0, PG, bad[i], 0),
			 EINVAL);
	/* Too much work in all: before the buffer is even looked up. */
	KT_ERRNO(fill(fd, KUBUF_MEM_KBUF, 0xdead, 0, most + 1,
		      KUBUF_DEV_MAX_REPEAT, 0), E2BIG);
	KT_ERRNO(fill(fd, KUBUF_MEM_KBUF, 0xdead, 0, KUBUF_DEV_MAX_WORK + 1,
		      0, 0), E2BIG);
	KT_ERRNO(fill(fd, KUBUF_MEM_KBUF, 0xdead, 0, UINT64_MAX, 0, 0),
		 E2BIG);
	/* At the limits: the work is done, every pass. */
	KT_ERRNO(fill(fd, KUBUF_MEM_KBUF, 0xdead, 0, most,
		      KUBUF_DEV_MAX_REPEAT, 0), ENOENT);
	KT_OK(fill(fd, KUBUF_MEM_KBUF, m.id, 0, 4 * PG, KUBUF_DEV_MAX_REPEAT,
		   0));
	KT_ASSERT_EQ(kubuf_pattern_check(m.addr, 4 * PG, 7, NULL), 0);
	/* Offsets at the far edges: -ERANGE, however they add up. */
	KT_ERRNO(fill(fd, KUBUF_MEM_KBUF, m.id, UINT64_MAX, 1, 0, 0), ERANGE);
	KT_ERRNO(fill(fd, KUBUF_MEM_KBUF, m.id, 1, UINT64_MAX / 2, 0, 0),
		 E2BIG);
	KT_ERRNO(fill(fd, KUBUF_MEM_KBUF, m.id, 4 * PG, 1, 0, 0), ERANGE);
	KT_ERRNO(fill(fd, KUBUF_MEM_KBUF, m.id, 1ULL << 63, 1ULL << 30, 0, 0),
		 ERANGE);
	close(fd);
}

/*
 * Defect: unregistering a registration that a long command used waited
 * for the whole command, holding the file's lock, and a command queued
 * behind others made it wait for all of them. Now the device holds a
 * registration only during a slice: unregister is prompt, and the
 * command ends with -ESHUTDOWN.
 */
struct long_fill {
	int fd;
	uint32_t id;
	size_t len;
	int err;
};

static void *long_fill_thread(void *arg)
{
	struct long_fill *lf = arg;

	lf->err = fill(lf->fd, KUBUF_MEM_UBUF, lf->id, 0, lf->len,
		       KUBUF_DEV_MAX_REPEAT, 0) ? errno : 0;
	return NULL;
}

KT_CASE(unregister_during_long_command)
{
	struct kubuf_ubuf_reg reg = { 0 };
	struct long_fill lf;
	pthread_t t;
	double t0;
	size_t len = 16UL << 20;
	void *buf;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	KT_ASSERT(buf != MAP_FAILED);
	reg.addr = (uintptr_t)buf;
	reg.len = len;
	reg.access = RW;
	KT_OK(ioctl(fd, KUBUF_IOC_UBUF_REGISTER, &reg));
	lf = (struct long_fill){ .fd = fd, .id = reg.id, .len = len };
	/* 4 GiB of writes: minutes of work under emulation. */
	KT_ASSERT_EQ(pthread_create(&t, NULL, long_fill_thread, &lf), 0);
	kt_msleep(500);
	t0 = kt_now();
	KT_OK(id_ioctl(fd, KUBUF_IOC_UBUF_UNREGISTER, reg.id));
	kt_note("unregister took %.3f s", kt_now() - t0);
	KT_ASSERT(kt_now() - t0 < 5);
	KT_ASSERT_EQ(pthread_join(t, NULL), 0);
	KT_ASSERT_EQ(lf.err, ESHUTDOWN);
	close(fd);
}

/* --- what an unprivileged caller may learn ------------------------------------------ */

/*
 * Defect: KBUF_ALLOC returned a DMA buffer's device address, here its
 * physical address, to any user: the address of memory that user fills.
 */
KT_CASE(dma_address_hidden)
{
	struct kubuf_kbuf_alloc a;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	kt_poison(&a, sizeof(a));
	a.size = 4 * PG;
	a.kind = KUBUF_KBUF_DMA;
	a.cache = KUBUF_CACHE_CACHED;
	a.flags = KUBUF_KBUF_APP_WRITE;
	a.reserved[0] = a.reserved[1] = 0;
	KT_OK(ioctl(fd, KUBUF_IOC_KBUF_ALLOC, &a));
	KT_ASSERT_EQ(a.reserved0, 0);		/* not even to root */
	close(fd);
}

/*
 * Defect: GET_STATS gave any opener the module-wide counters: every
 * user's activity. Now CAP_SYS_ADMIN only (-EPERM), and the same counters
 * are in debugfs, for root.
 */
KT_CASE(stats_need_sys_admin)
{
	struct kubuf_stats st;
	char buf[1024], line[64];
	int fd = KT_OK(kt_open_dev(O_RDWR));
	pid_t pid;
	int status;

	pid = KT_OK(fork());
	if (!pid) {
		KT_OK(kt_drop_cap(CAP_SYS_ADMIN));
		kt_poison(&st, sizeof(st));
		st.flags = 0;
		KT_ERRNO(ioctl(fd, KUBUF_IOC_GET_STATS, &st), EPERM);
		KT_ASSERT_EQ(st.nr_counters, 0xA5A5A5A5U);
		/* What a file holds, it may still query. */
		KT_ERRNO(id_ioctl(fd, KUBUF_IOC_UBUF_UNREGISTER, 1), ENOENT);
		_exit(0);
	}
	KT_OK(waitpid(pid, &status, 0));
	KT_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	memset(&st, 0, sizeof(st));
	KT_OK(ioctl(fd, KUBUF_IOC_GET_STATS, &st));
	KT_OK(kt_read_file("/sys/kernel/debug/kubuf/stats", buf, sizeof(buf)));
	snprintf(line, sizeof(line), "open_files %llu\n",
		 (unsigned long long)st.counters[KUBUF_STAT_OPEN_FILES]);
	KT_ASSERT(strstr(buf, line) != NULL);
	KT_ASSERT(strstr(buf, "users 1\n") != NULL);
	close(fd);
}

/* --- pins ------------------------------------------------------------------- */

/*
 * Defect: each pin of a small page adds 1024 to its reference count, and
 * nothing bounded how often one page could be pinned: one page mapped
 * 60000 times, registered again and again by a user without a memlock
 * limit, took the count past 2^31 (a WARN in GUP; a panic with
 * panic_on_warn). kubuf now holds at most KUBUF_MAX_PINNED_PAGES pins.
 */
KT_CASE(pin_count_bounded)
{
	enum { COPIES = 60000, MOST = 40 };
	struct kubuf_ubuf_reg reg;
	uint32_t ids[MOST];
	unsigned char *base;
	int n, i, memfd, fd = KT_OK(kt_open_dev(O_RDWR));
	long long pins0 = kt_pinned_pages();

	memfd = KT_OK(memfd_create("kt_pin", MFD_CLOEXEC));
	KT_OK(ftruncate(memfd, PG));
	base = mmap(NULL, COPIES * PG, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	KT_ASSERT(base != MAP_FAILED);
	for (i = 0; i < COPIES; i++)
		KT_ASSERT(mmap(base + i * PG, PG, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_FIXED, memfd, 0) !=
			  MAP_FAILED);
	base[0] = 1;
	for (i = 0; i < COPIES; i++)		/* one page, everywhere */
		if (base[i * PG] != 1)
			kt_fail(__FILE__, __LINE__, "copy %d of the page reads %d",
				i, base[i * PG]);

	for (n = 0; n < MOST; n++) {
		memset(&reg, 0, sizeof(reg));
		reg.addr = (uintptr_t)base;
		reg.len = COPIES * PG;
		reg.access = RW;
		if (ioctl(fd, KUBUF_IOC_UBUF_REGISTER, &reg)) {
			KT_ASSERT_EQ(errno, ENOMEM);
			break;
		}
		ids[n] = reg.id;
	}
	kt_note("%d registrations of %d copies of one page", n, COPIES);
	KT_ASSERT_EQ(n, KUBUF_MAX_PINNED_PAGES / COPIES);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_PINNED_PAGES), (uint64_t)n * COPIES);
	for (i = 0; i < n; i++)
		KT_OK(id_ioctl(fd, KUBUF_IOC_UBUF_UNREGISTER, ids[i]));
	KT_ASSERT_EQ(kt_pinned_pages(), pins0);
	/* Given back: as many again. */
	memset(&reg, 0, sizeof(reg));
	reg.addr = (uintptr_t)base;
	reg.len = COPIES * PG;
	reg.access = RW;
	KT_OK(ioctl(fd, KUBUF_IOC_UBUF_REGISTER, &reg));
	close(fd);
	close(memfd);
}

/* --- the command ring --------------------------------------------------------- */

/*
 * Defect: a command ring whose published data ended with padding (the
 * application wrapped, and the record after the padding did not fit
 * yet) was left by the device with its tail before the padding and
 * without saying it waits: the application, seeing the device awake,
 * never kicked it again, and the ring stalled for good.
 */
KT_CASE(cmd_ring_padding_then_wait)
{
	enum { DATA = 256, REC = 8 + sizeof(struct kubuf_ring_cmd) };
	struct kubuf_ring_view cv, rv;
	struct kubuf_ring_cmd c;
	struct kubuf_rec rec;
	struct kmem m;
	uint32_t cring, rring;
	int i, n, got = 0, fd = KT_OK(kt_open_dev(O_RDWR));
	const void *p;
	void *w;

	kmem_new(fd, &m, 4 * PG);
	rring = ring_attach(fd, &m, 0, KUBUF_RING_TO_APP, 4096, 0);
	cring = ring_attach(fd, &m, 2 * PG, KUBUF_RING_TO_DEV, DATA, rring);
	kubuf_ring_view_init(&cv, m.addr + 2 * PG, DATA);
	kubuf_ring_view_init(&rv, m.addr, 4096);
	/* The device found the ring empty and waits. */
	for (i = 0; i < 1000 && !cv.ctl->waiting; i++)
		kt_msleep(10);
	KT_ASSERT(cv.ctl->waiting);

	/* Records up to the end but for less than one, not yet kicked. */
	memset(&c, 0, sizeof(c));
	c.op = KUBUF_RCMD_ECHO;
	for (n = 0; (n + 1) * REC <= DATA; n++) {
		c.tag = n;
		w = kubuf_ring_prod_reserve(&cv, sizeof(c), KUBUF_REC_CMD);
		KT_ASSERT(w != NULL);
		memcpy(w, &c, sizeof(c));
		kubuf_ring_prod_commit(&cv);
	}
	/* The next one: only its padding fits; it is published alone. */
	KT_ASSERT(kubuf_ring_prod_reserve(&cv, sizeof(c), KUBUF_REC_CMD) ==
		  NULL);
	KT_ASSERT_EQ(cv.err, 0);
	KT_ASSERT(kubuf_ring_prod_publish(&cv));
	KT_OK(id_ioctl(fd, KUBUF_IOC_RING_KICK, cring));

	/* Every completion comes; then the padding is released too. */
	for (i = 0; i < 2000 && got < n; i++) {
		KT_ASSERT(kubuf_ring_cons_avail(&rv) >= 0);
		while ((p = kubuf_ring_cons_peek(&rv, &rec, 1 << 16))) {
			KT_ASSERT_EQ(rec.type, KUBUF_REC_DONE);
			KT_ASSERT_EQ(((const struct kubuf_ring_done *)p)->tag,
				     got);
			got++;
			kubuf_ring_cons_next(&rv);
		}
		kubuf_ring_cons_release(&rv);
		if (got < n)
			kt_msleep(10);
	}
	KT_ASSERT_EQ(got, n);
	for (i = 0; i < 1000 && !cv.ctl->waiting; i++)
		kt_msleep(10);
	KT_ASSERT_EQ(cv.ctl->tail, (uint64_t)DATA);
	KT_ASSERT(cv.ctl->waiting);	/* so the application kicks */

	/* And the record that did not fit goes through, with a kick. */
	c.tag = 99;
	w = kubuf_ring_prod_reserve(&cv, sizeof(c), KUBUF_REC_CMD);
	KT_ASSERT(w != NULL);
	memcpy(w, &c, sizeof(c));
	kubuf_ring_prod_commit(&cv);
	if (kubuf_ring_prod_publish(&cv))
		KT_OK(id_ioctl(fd, KUBUF_IOC_RING_KICK, cring));
	for (i = 0; i < 2000; i++) {
		KT_ASSERT(kubuf_ring_cons_avail(&rv) >= 0);
		p = kubuf_ring_cons_peek(&rv, &rec, 1 << 16);
		if (p)
			break;
		kt_msleep(10);
	}
	KT_ASSERT(p != NULL);
	KT_ASSERT_EQ(((const struct kubuf_ring_done *)p)->tag, 99);
	close(fd);
}

KT_MAIN()
