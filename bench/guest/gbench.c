/* SPDX-License-Identifier: MIT */
/*
 * kubuf-bench: the whole path, in the guest (make bench; bench/README.md).
 *
 * Every design moves the same records, device to application, in the same
 * boot: a 16-byte header (struct kubuf_stream_rec: the sequence number,
 * then 0) and @size data bytes the producer does not write, as a card's
 * DMA would write them without the processor. The consumer reads each
 * header and checks the sequence. The designs:
 *
 *   kubuf-kbuf-poll  the simulated device's bare stream (KUBUF_STREAM_BARE,
 *   kubuf-kbuf-busy  lossless) into a ring in a driver buffer of pages,
 *   kubuf-ubuf-poll  or in a registration; the consumer sleeps on the
 *   kubuf-ubuf-busy  eventfd (poll) or spins (busy); libkubuf on both;
 *   read             read() of a batch of records (the module's read_rec
 *                    parameter): the device fills a kernel buffer on its
 *                    workers, read() copies it out;
 *   ucopy            KUBUF_IOC_UCOPY fill of a batch: the device writes
 *                    the caller's buffer through a bounce page, in the
 *                    caller's system call;
 *   bpf-ringbuf      a BPF program producing into a BPF_MAP_TYPE_RINGBUF
 *                    in one bpf(BPF_PROG_TEST_RUN) per batch, consumed
 *                    with libbpf's ring_buffer__consume() (bpfrb.c).
 *
 * The copying designs' device must write the data bytes (a kernel buffer
 * cannot be handed out unwritten): it zeroes them. What that costs is
 * measured here too ("zero": the same bytes cleared in this process the
 * way the guest kernel's memset clears them) and reported beside them,
 * so that the report can show the copying paths with and without it.
 *
 * Figures, per design and size (one JSON object per line, after "@json "):
 * ns of CLOCK_MONOTONIC for the whole run (booted with -icount shift=0,
 * one nanosecond is one instruction of the guest, kernel and application
 * together), system calls (counted by libkubuf, or by the loop itself),
 * wakeups (the module's), context switches (/proc/stat ctxt), bytes the
 * kernel copied to or from this process (/proc/self/io rchar and wchar;
 * UCOPY's, which that does not see, from its length). /proc/stat's
 * idle and busy ticks are no use here: under -icount they call busy time
 * idle.
 *
 * Quiet around each run: before it, a sleep of 20 ms (which costs the
 * host nothing under sleep=off: the guest's clock jumps) lets the work
 * the run before left to the kernel (RCU callbacks, workqueues, lazy
 * vfree) happen outside any window. That work is then counted for no
 * design, which favours those that leave most of it: the copying ones,
 * whose buffers are freed per call. After each line of output, the wait
 * for the serial port to send it (tcdrain), whose interrupts would
 * otherwise land in the next run.
 *
 * Also: commands application -> device through a command ring, busy and
 * idle (system calls per command); setup per MiB (registering, and
 * allocating and mapping a driver buffer, with 4 KiB and huge pages,
 * against copying the same bytes once); a long lossless stream through a
 * small ring whose consumer sleeps often, counting waits that timed out
 * (a lost wakeup); and on the edu device, interrupts and instructions
 * per transfer batch.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <kubuf.h>

#include "bpfrb.h"

#define HDR		((uint32_t)sizeof(struct kubuf_stream_rec))
#define READ_REC	"/sys/module/kubuf/parameters/read_rec"
#define MIB		(1024.0 * 1024.0)

static const uint32_t sizes[] = { 8, 64, 512, 4096, 65536 };
#define NSIZES	(sizeof(sizes) / sizeof(sizes[0]))

static int quick;
static uint64_t wake_records = 10000000;
static unsigned int failures;	/* runs with records wrong or missing */

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kubuf-bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* Output: flushed, and sent by the serial port before going on. */
static void out_flush(void)
{
	fflush(stdout);
	if (isatty(STDOUT_FILENO))
		tcdrain(STDOUT_FILENO);
}

static void settle(void)
{
	usleep(20000);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* --- what the system did: /proc ---------------------------------------- */

struct sys {
	uint64_t t;		/* ns */
	uint64_t ctxt;		/* context switches, all CPUs */
	uint64_t io;		/* rchar + wchar of this process */
};

static uint64_t proc_field(const char *path, const char *key, int word)
{
	char line[512];
	uint64_t v = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		die("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		size_t n = strlen(key);
		char *p = line + n;
		int i;

		if (strncmp(line, key, n))
			continue;
		for (i = 0; i < word; i++) {
			while (*p == ' ')
				p++;
			while (*p && *p != ' ')
				p++;
		}
		v = strtoull(p, NULL, 10);
		break;
	}
	fclose(f);
	return v;
}

static void stat_now(struct sys *s)
{
	char line[512];
	FILE *f = fopen("/proc/stat", "r");

	if (!f)
		die("/proc/stat: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		unsigned long long c;

		if (sscanf(line, "ctxt %llu", &c) == 1)
			s->ctxt = c;
	}
	fclose(f);
}

/*
 * rchar + wchar of this process, in one read of /proc/self/io kept open.
 * The read counts in rchar itself, after it returns: io_overhead, taken
 * once, is what an empty window measures, and is subtracted.
 */
static int io_fd = -1;
static uint64_t io_overhead;

static uint64_t io_now(void)
{
	char buf[512], *p;
	uint64_t sum = 0;
	ssize_t n;

	if (io_fd < 0)
		io_fd = open("/proc/self/io", O_RDONLY | O_CLOEXEC);
	n = io_fd < 0 ? -1 : pread(io_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		die("/proc/self/io: %s", strerror(errno));
	buf[n] = 0;
	p = strstr(buf, "rchar:");
	if (p)
		sum += strtoull(p + 6, NULL, 10);
	p = strstr(buf, "wchar:");
	if (p)
		sum += strtoull(p + 6, NULL, 10);
	return sum;
}

/*
 * Before a run and after it: the reads of /proc/stat (which count in
 * rchar) fall outside the window that rchar and wchar measure.
 */
static struct sys sys_begin(void)
{
	struct sys s;

	stat_now(&s);
	s.io = io_now();
	s.t = now_ns();
	return s;
}

static struct sys sys_end(void)
{
	struct sys s;

	s.t = now_ns();
	s.io = io_now();
	stat_now(&s);
	return s;
}

/* What an empty window copies: the reads of the measurement itself. */
static void io_calibrate(void)
{
	struct sys a = sys_begin(), b = sys_end();

	io_overhead = b.io - a.io;
}

/* One measurement of a stream design. */
struct run {
	const char *design;
	uint32_t size;
	uint64_t records;
	uint64_t syscalls;
	uint64_t wakeups;
	uint64_t kicks;
	int64_t pinned;		/* pages pinned while the records flowed */
	uint64_t copied;	/* bytes the kernel copied for the process */
	uint64_t bad;
	struct sys a, b;
};

static void emit_run(const struct run *r, const char *runs)
{
	failures += r->bad != 0;
	printf("@json {\"part\":\"stream\",\"design\":\"%s\",\"size\":%u,"
	       "\"records\":%" PRIu64 ",\"ns\":%" PRIu64 ",\"ns_runs\":[%s]"
	       ",\"syscalls\":%" PRIu64 ",\"wakeups\":%" PRIu64 ",\"kicks\":%" PRIu64
	       ",\"pinned\":%" PRId64 ",\"ctxt\":%" PRIu64 ",\"copied\":%" PRIu64
	       ",\"bad\":%" PRIu64 "}\n",
	       r->design, r->size, r->records, r->b.t - r->a.t, runs,
	       r->syscalls,
	       r->wakeups, r->kicks, r->pinned, r->b.ctxt - r->a.ctxt, r->copied,
	       r->bad);
	printf("  %-16s %6u B %8" PRIu64 " records %9.1f ns/record %8.5f "
	       "syscalls/record%s\n", r->design, r->size, r->records,
	       (double)(r->b.t - r->a.t) / r->records,
	       (double)r->syscalls / r->records, r->bad ? "  BAD RECORDS" : "");
	out_flush();
}

/* Records per run: enough bytes to count, few enough to stay short. */
static uint64_t records_for(uint32_t size)
{
	uint64_t n = (quick ? (4ULL << 20) : (64ULL << 20)) / (HDR + size);
	uint64_t max = quick ? 20000 : 200000;

	n = n > max ? max : n;
	return n < 200 ? 200 : n;
}

/*
 * Records per batch, the same for every design: per read() or UCOPY, per
 * BPF test run, and the records after which a sleeping kubuf consumer is
 * woken (wake_records): 256, or 1 MiB of them.
 */
static uint32_t batch_for(uint32_t size)
{
	uint32_t b = (1U << 20) / (HDR + size);

	return b > 256 ? 256 : b;
}

/* --- kubuf: the bare stream through a ring ------------------------------- */

struct seq_check {
	uint64_t next;
	uint64_t bad;
	uint32_t len;
};

static int on_rec(void *arg, const struct kubuf_rec *rec, const void *payload)
{
	struct seq_check *c = arg;
	const struct kubuf_stream_rec *sr = payload;

	if (rec->type != KUBUF_REC_STREAM || rec->len != c->len ||
	    sr->seq != c->next)
		c->bad++;
	c->next++;
	return 0;
}

/* Pages pinned now, the module's count (KUBUF_STAT_PINNED_PAGES). */
static uint64_t pinned_pages(struct kubuf *k)
{
	struct kubuf_stats st;

	if (kubuf_get_stats(k, &st))
		die("GET_STATS");
	return st.counters[KUBUF_STAT_PINNED_PAGES];
}

static void run_kubuf(struct kubuf *k, uint32_t kind, int busy, uint32_t size,
		      struct run *out)
{
	uint64_t count = records_for(size);
	uint32_t batch = batch_for(size), data = 1U << 20;
	KUBUF_RING_OPTS(o, .dir = KUBUF_RING_TO_APP,
			.flags = busy ? KUBUF_RING_BUSY_POLL : 0, .kind = kind,
			.wake_records = busy ? 0 : batch);
	struct kubuf_stream s = {
		.flags = KUBUF_STREAM_LOSSLESS | KUBUF_STREAM_BARE,
		.rec_size = size, .count = count,
	};
	struct seq_check c = { .len = HDR + size };
	struct kubuf_ring_counters c0, c1;
	struct kubuf_ring_query q;
	struct kubuf_ring *r;
	struct run run = { .size = size, .records = count };
	uint64_t pin0;
	int n;

	/* Room for four batches: the consumer is woken once per batch. */
	while (data < 4ULL * batch * (8 + HDR + size))
		data *= 2;
	o.data_size = data;
	run.design = kind == KUBUF_MEM_KBUF ?
		     (busy ? "kubuf-kbuf-busy" : "kubuf-kbuf-poll") :
		     (busy ? "kubuf-ubuf-busy" : "kubuf-ubuf-poll");
	n = kubuf_ring_create(k, &o, &r);
	if (n)
		die("ring_create: %s", strerror(-n));
	kubuf_ring_counters(r, &c0);
	pin0 = pinned_pages(k);
	run.a = sys_begin();
	n = kubuf_stream_start(r, &s);
	while (n >= 0 && c.next < count) {
		n = kubuf_ring_consume(r, on_rec, &c, 0);
		if (n == 0)
			n = kubuf_ring_wait(r, 60000);
		if (n == -EINTR)
			n = 0;
	}
	run.b = sys_end();
	if (n < 0)
		die("%s %u: %s", run.design, size, strerror(-n));
	kubuf_ring_counters(r, &c1);
	if (kubuf_ring_query(r, &q))
		die("ring_query");
	run.syscalls = c1.syscalls - c0.syscalls;
	run.wakeups = q.wakeups + q.room_wakeups;
	run.kicks = c1.kicks - c0.kicks;
	run.pinned = (int64_t)(pinned_pages(k) - pin0);
	run.copied = run.b.io - run.a.io - io_overhead;
	run.bad = c.bad + (q.records != count) + q.dropped;
	kubuf_ring_detach(r);
	*out = run;
}

/* --- the copying designs ----------------------------------------------------- */

static void read_rec_set(uint32_t n)
{
	FILE *f = fopen(READ_REC, "w");

	if (!f || fprintf(f, "%u\n", n) < 0 || fclose(f))
		die("%s: %s", READ_REC, strerror(errno));
}

/* A batch of @n records from record 0 at @p: count those out of place. */
static uint64_t check_batch(const unsigned char *p, uint32_t n, uint32_t size)
{
	uint64_t bad = 0;
	uint32_t i;

	for (i = 0; i < n; i++, p += HDR + size) {
		const struct kubuf_stream_rec *sr = (const void *)p;

		bad += sr->seq != i;
	}
	return bad;
}

static void run_copy(struct kubuf *k, int ucopy, uint32_t size,
		     struct run *out)
{
	uint64_t count = records_for(size), done = 0;
	uint32_t batch = batch_for(size);
	size_t len = (size_t)batch * (HDR + size);
	unsigned char *buf = malloc(len);
	struct run run = { .design = ucopy ? "ucopy" : "read", .size = size };

	if (!buf)
		die("malloc");
	memset(buf, 0, len);
	read_rec_set(size);
	run.a = sys_begin();
	while (done < count) {
		uint32_t n = count - done < batch ? count - done : batch;
		size_t l = (size_t)n * (HDR + size);

		if (ucopy) {
			int e = kubuf_ucopy_fill(k, buf, l, 0);

			if (e)
				die("ucopy: %s", strerror(-e));
		} else if (read(kubuf_fd(k), buf, l) != (ssize_t)l) {
			die("read: %s", strerror(errno));
		}
		run.bad += check_batch(buf, n, size);
		run.syscalls++;
		done += n;
	}
	run.b = sys_end();
	read_rec_set(0);
	run.records = count;
	run.copied = ucopy ? count * (HDR + size) :
		     run.b.io - run.a.io - io_overhead;
	*out = run;
	free(buf);
}

/*
 * What a copying design's simulated device spends zeroing the data, done
 * here as the guest kernel does it: its memset without erms is a loop of
 * eight 8-byte stores per 64 bytes (volatile: the compiler must not turn
 * it into vector stores, which count fewer instructions). Reported as its
 * own line ("zero").
 */
static void zero_like_kernel(unsigned char *p, size_t len)
{
	volatile uint64_t *q = (volatile uint64_t *)p;
	size_t i, n = len / 8;

	for (i = 0; i + 8 <= n; i += 8) {
		q[i] = 0;
		q[i + 1] = 0;
		q[i + 2] = 0;
		q[i + 3] = 0;
		q[i + 4] = 0;
		q[i + 5] = 0;
		q[i + 6] = 0;
		q[i + 7] = 0;
	}
	for (; i < n; i++)
		q[i] = 0;
	for (i = n * 8; i < len; i++)
		((volatile unsigned char *)p)[i] = 0;
}

static void run_zero(uint32_t size, struct run *out)
{
	uint64_t count = records_for(size), done = 0;
	uint32_t batch = batch_for(size);
	size_t len = (size_t)batch * (HDR + size);
	unsigned char *buf = malloc(len);
	struct run run = { .design = "zero", .size = size, .records = count };

	if (!buf)
		die("malloc");
	memset(buf, 1, len);
	run.a = sys_begin();
	while (done < count) {
		uint32_t n = count - done < batch ? count - done : batch;

		zero_like_kernel(buf, (size_t)n * (HDR + size));
		done += n;
	}
	run.b = sys_end();
	*out = run;
	free(buf);
}

static void run_bpf(struct bpfrb *b, uint32_t size, struct run *out)
{
	uint64_t count = records_for(size);
	struct run run = { .design = "bpf-ringbuf", .size = size };
	struct bpfrb_result res;
	int n;

	run.a = sys_begin();
	n = bpfrb_run(b, size, count, batch_for(size), &res);
	run.b = sys_end();
	if (n)
		die("bpf ring buffer, %u B: %s", size, strerror(-n));
	run.records = res.records;
	run.syscalls = res.syscalls;
	run.copied = run.b.io - run.a.io - io_overhead;
	run.bad = res.bad + (res.records != count);
	*out = run;
}

/* --- each design, each size: the median of a few runs ------------------- */

enum design { KBUF_POLL, KBUF_BUSY, UBUF_POLL, UBUF_BUSY, READ, UCOPY, ZERO,
	      BPF, NDESIGNS };

#define REPS	3

static void run_design(struct kubuf *k, struct bpfrb *b, enum design d,
		       uint32_t size, struct run *out)
{
	switch (d) {
	case KBUF_POLL:
	case KBUF_BUSY:
		run_kubuf(k, KUBUF_MEM_KBUF, d == KBUF_BUSY, size, out);
		break;
	case UBUF_POLL:
	case UBUF_BUSY:
		run_kubuf(k, KUBUF_MEM_UBUF, d == UBUF_BUSY, size, out);
		break;
	case READ:
	case UCOPY:
		run_copy(k, d == UCOPY, size, out);
		break;
	case ZERO:
		run_zero(size, out);
		break;
	default:
		run_bpf(b, size, out);
		break;
	}
}

/*
 * REPS runs of design @d at @size; the one of median time is reported,
 * with every run's time: a kernel thread of the guest's own (a timer, a
 * background scan) that lands in one run shows there, not in the figure.
 */
static void measure(struct kubuf *k, struct bpfrb *b, enum design d,
		    uint32_t size)
{
	struct run runs[REPS], t;
	char all[REPS * 24] = "";
	int i, j;

	for (i = 0; i < REPS; i++) {
		settle();
		run_design(k, b, d, size, &runs[i]);
	}
	for (i = 0; i < REPS; i++)
		snprintf(all + strlen(all), sizeof(all) - strlen(all),
			 "%s%" PRIu64, i ? "," : "", runs[i].b.t - runs[i].a.t);
	for (i = 1; i < REPS; i++)
		for (j = i; j > 0 && runs[j].b.t - runs[j].a.t <
				     runs[j - 1].b.t - runs[j - 1].a.t; j--) {
			t = runs[j];
			runs[j] = runs[j - 1];
			runs[j - 1] = t;
		}
	for (i = 0; i < REPS; i++)
		runs[REPS / 2].bad += i == REPS / 2 ? 0 : runs[i].bad;
	emit_run(&runs[REPS / 2], all);
}

/* --- commands, application -> device ------------------------------------------ */

struct done_count {
	uint64_t n;
	uint64_t bad;
};

static int on_done(void *arg, const struct kubuf_rec *rec, const void *payload)
{
	struct done_count *d = arg;
	const struct kubuf_ring_done *w = payload;

	if (rec->type != KUBUF_REC_DONE || w->tag != d->n + 1 || w->status)
		d->bad++;
	d->n++;
	return 0;
}

/*
 * @count ECHO commands of 8 bytes through a command ring with a reply
 * ring: busy, queueing while there is room and taking completions as they
 * come, woken after 256 of them (or 1 ms); idle, one command at a time,
 * waiting for its completion, woken for each.
 */
static void run_cmds(struct kubuf *k, int idle)
{
	uint64_t count = quick ? 2000 : 50000, sent = 0;
	KUBUF_RING_OPTS(ro, .dir = KUBUF_RING_TO_APP, .kind = KUBUF_MEM_KBUF,
			.data_size = 64 << 10, .wake_records = idle ? 1 : 256,
			.wake_usecs = idle ? 0 : 1000);
	KUBUF_RING_OPTS(co, .dir = KUBUF_RING_TO_DEV, .kind = KUBUF_MEM_KBUF,
			.data_size = 64 << 10);
	struct kubuf_ring_counters a0, a1, b0, b1;
	struct kubuf_ring *reply, *cmd;
	struct done_count d = { 0 };
	struct sys s0, s1;
	uint64_t echo = 0x5eed;
	int n;

	if (kubuf_ring_create(k, &ro, &reply))
		die("reply ring");
	co.reply_ring = reply;
	if (kubuf_ring_create(k, &co, &cmd))
		die("command ring");
	settle();
	kubuf_ring_counters(reply, &a0);
	kubuf_ring_counters(cmd, &b0);
	s0 = sys_begin();
	while (d.n < count) {
		uint64_t limit = idle ? d.n + 1 : count;

		while (sent < limit) {
			struct kubuf_ring_cmd c = {
				.op = KUBUF_RCMD_ECHO, .tag = sent + 1,
			};

			n = kubuf_ring_cmd(cmd, &c, &echo, sizeof(echo));
			if (n == -EAGAIN)
				break;
			if (n)
				die("ring_cmd: %s", strerror(-n));
			sent++;
		}
		n = kubuf_ring_submit(cmd);
		if (n < 0)
			die("submit: %s", strerror(-n));
		n = kubuf_ring_consume(reply, on_done, &d, 0);
		if (n == 0)
			n = kubuf_ring_wait(reply, 60000);
		if (n < 0 && n != -EINTR)
			die("completions: %s", strerror(-n));
	}
	s1 = sys_end();
	kubuf_ring_counters(reply, &a1);
	kubuf_ring_counters(cmd, &b1);
	printf("@json {\"part\":\"cmd\",\"mode\":\"%s\",\"commands\":%" PRIu64
	       ",\"ns\":%" PRIu64 ",\"syscalls\":%" PRIu64 ",\"kicks\":%" PRIu64
	       ",\"ctxt\":%" PRIu64 ",\"bad\":%" PRIu64 "}\n",
	       idle ? "idle" : "busy", count, s1.t - s0.t,
	       a1.syscalls - a0.syscalls + b1.syscalls - b0.syscalls,
	       b1.kicks - b0.kicks, s1.ctxt - s0.ctxt, d.bad);
	failures += d.bad != 0;
	printf("  commands, %s: %" PRIu64 " commands, %.4f system calls each\n",
	       idle ? "idle" : "busy", count,
	       (double)(a1.syscalls - a0.syscalls + b1.syscalls - b0.syscalls) /
	       count);
	out_flush();
	kubuf_ring_detach(cmd);
	kubuf_ring_detach(reply);
}

/* --- setup: per MiB, against copying once -------------------------------------- */

static uint64_t anon_huge_kb(void)
{
	return proc_field("/proc/self/smaps_rollup", "AnonHugePages:", 0);
}

/* @len bytes of anonymous memory, 2 MiB aligned, touched; huge or not. */
static unsigned char *anon(size_t len, int huge)
{
	size_t al = 2 << 20;
	unsigned char *p = mmap(NULL, len + al, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap %zu: %s", len, strerror(errno));
	p = (unsigned char *)(((uintptr_t)p + al - 1) & ~(uintptr_t)(al - 1));
	if (madvise(p, len, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		die("madvise: %s", strerror(errno));
	memset(p, 0x5a, len);
	return p;
}

static void emit_setup(const char *what, size_t len, uint64_t ns,
		       uint64_t huge_kb)
{
	printf("@json {\"part\":\"setup\",\"what\":\"%s\",\"bytes\":%zu,"
	       "\"ns\":%" PRIu64 ",\"huge_kb\":%" PRIu64 "}\n",
	       what, len, ns, huge_kb);
	printf("  setup %-16s %10.0f ns/MiB%s\n", what, ns / (len / MIB),
	       huge_kb ? " (huge pages)" : "");
	out_flush();
}

static void run_setup(struct kubuf *k)
{
	size_t len = quick ? (16 << 20) : (128 << 20);
	int huge;

	for (huge = 0; huge < 2; huge++) {
		unsigned char *a = anon(len, huge), *b = anon(len, huge);
		uint64_t t0, t1, t2, hk = huge ? anon_huge_kb() : 0;
		uint32_t id;

		t0 = now_ns();
		memcpy(b, a, len);
		__asm__ volatile("" : : "r"(b) : "memory");
		t1 = now_ns();
		emit_setup(huge ? "copy-huge" : "copy-4k", len, t1 - t0, hk);

		t0 = now_ns();
		if (kubuf_ubuf_register(k, a, len, KUBUF_ACCESS_DEV_READ |
					KUBUF_ACCESS_DEV_WRITE, &id))
			die("register %zu: %s", len, strerror(errno));
		t1 = now_ns();
		if (kubuf_ubuf_unregister(k, id))
			die("unregister");
		t2 = now_ns();
		emit_setup(huge ? "register-huge" : "register-4k", len,
			   t1 - t0, hk);
		emit_setup(huge ? "unregister-huge" : "unregister-4k", len,
			   t2 - t1, hk);
		munmap(a, len);
		munmap(b, len);
	}

	/* A driver buffer of pages: allocate, map, touch every page. */
	{
		uint64_t t0, t1, t2;
		unsigned char *p;
		size_t i;
		uint32_t id;

		t0 = now_ns();
		if (kubuf_kbuf_alloc(k, len, KUBUF_KBUF_PAGES,
				     KUBUF_CACHE_CACHED, KUBUF_KBUF_APP_WRITE,
				     &id, NULL))
			die("kbuf_alloc: %s", strerror(errno));
		if (kubuf_kbuf_map(k, id, 0, len, PROT_READ | PROT_WRITE,
				   (void **)&p))
			die("kbuf_map: %s", strerror(errno));
		for (i = 0; i < len; i += 4096)
			p[i] = 1;
		t1 = now_ns();
		kubuf_kbuf_unmap(p, len);
		kubuf_kbuf_free(k, id);
		t2 = now_ns();
		emit_setup("kbuf-alloc-map", len, t1 - t0, 0);
		emit_setup("kbuf-free", len, t2 - t1, 0);
	}
}

/* --- a long lossless stream, the consumer sleeping often -------------------------- */

static void run_wake(struct kubuf *k)
{
	uint64_t count = wake_records, timeouts = 0, step = count / 10;
	KUBUF_RING_OPTS(o, .dir = KUBUF_RING_TO_APP, .kind = KUBUF_MEM_KBUF,
			.data_size = 4096, .wake_records = 1);
	struct kubuf_stream s = {
		.flags = KUBUF_STREAM_LOSSLESS | KUBUF_STREAM_BARE,
		.rec_size = 8, .count = count,
	};
	struct seq_check c = { .len = HDR + 8 };
	struct kubuf_ring_counters rc;
	struct kubuf_ring_query q;
	struct kubuf_ring *r;
	uint64_t t0, t1;
	int n;

	if (kubuf_ring_create(k, &o, &r))
		die("ring_create");
	settle();
	t0 = now_ns();
	n = kubuf_stream_start(r, &s);
	while (n >= 0 && c.next < count) {
		uint64_t before = c.next;

		n = kubuf_ring_consume(r, on_rec, &c, 0);
		if (n == 0) {
			/*
			 * The stream never pauses: a wait of 10 s (guest
			 * time) that ends with nothing is a lost wakeup.
			 */
			n = kubuf_ring_wait(r, 10000);
			if (n == 0 && kubuf_ring_consume(r, on_rec, &c, 0) == 0 &&
			    c.next < count)
				timeouts++;
		}
		if (n == -EINTR)
			n = 0;
		if (step && before / step != c.next / step)
			printf("  wake: %" PRIu64 " of %" PRIu64 " records\n",
			       c.next, count), out_flush();
	}
	t1 = now_ns();
	if (n < 0)
		die("wake: %s", strerror(-n));
	kubuf_ring_counters(r, &rc);
	kubuf_ring_query(r, &q);
	printf("@json {\"part\":\"wake\",\"records\":%" PRIu64 ",\"ns\":%" PRIu64
	       ",\"waits\":%" PRIu64 ",\"wakeups\":%" PRIu64
	       ",\"room_wakeups\":%" PRIu64 ",\"kicks\":%" PRIu64
	       ",\"syscalls\":%" PRIu64 ",\"timeouts\":%" PRIu64
	       ",\"bad\":%" PRIu64 "}\n",
	       c.next, t1 - t0, rc.waits, (uint64_t)q.wakeups,
	       (uint64_t)q.room_wakeups, rc.kicks, rc.syscalls, timeouts,
	       c.bad + (uint64_t)q.dropped);
	failures += timeouts || c.bad || q.dropped;
	printf("  wake: %" PRIu64 " records, %" PRIu64 " waits, %" PRIu64
	       " timed out\n", c.next, rc.waits, timeouts);
	out_flush();
	kubuf_ring_detach(r);
}

/* --- edu: interrupts per transfer batch -------------------------------------------- */

static uint64_t edu_irqs(void)
{
	char line[1024];
	uint64_t sum = 0;
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f)
		die("/proc/interrupts");
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':');

		if (!p || !strstr(line, "edu"))
			continue;
		for (p++;;) {
			char *e;
			uint64_t v = strtoull(p, &e, 10);

			if (e == p)
				break;
			sum += v;
			p = e;
		}
	}
	fclose(f);
	return sum;
}

static void run_edu(void)
{
	static const uint32_t lens[] = { 4095, 16 << 10, 64 << 10 };
	const char *path = "/dev/kubuf-edu0";
	uint32_t kinds[2] = { KUBUF_MEM_UBUF, KUBUF_MEM_KBUF }, i, j;
	size_t len = 64 << 10;
	struct kubuf *k;
	unsigned char *u;
	uint32_t uid, kid;
	void *kp;
	int n;

	n = kubuf_open(path, 0, &k);
	if (n)
		die("%s: %s", path, strerror(-n));
	u = anon(len, 0);
	if (kubuf_ubuf_register(k, u, len, KUBUF_ACCESS_DEV_READ |
				KUBUF_ACCESS_DEV_WRITE, &uid))
		die("edu register: %s", strerror(errno));
	if (kubuf_kbuf_alloc(k, len, KUBUF_KBUF_DMA, KUBUF_CACHE_CACHED,
			     KUBUF_KBUF_APP_WRITE, &kid, NULL) ||
	    kubuf_kbuf_map(k, kid, 0, len, PROT_READ | PROT_WRITE, &kp))
		die("edu driver buffer: %s", strerror(errno));
	memset(kp, 0x3c, len);
	for (i = 0; i < 2; i++) {
		for (j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
			uint32_t dst = kinds[i], did = i ? kid : uid;
			uint32_t sid = i ? uid : kid, skind = kinds[!i];
			uint64_t i0 = edu_irqs(), t0 = now_ns(), t1, i1;

			if (kubuf_dev_copy(k, dst, did, 0, skind, sid, 0,
					   lens[j]))
				die("edu copy: %s", strerror(errno));
			t1 = now_ns();
			i1 = edu_irqs();
			if (memcmp(i ? kp : (void *)u, i ? (void *)u : kp,
				   lens[j]))
				die("edu copy: bytes differ");
			printf("@json {\"part\":\"edu\",\"into\":\"%s\","
			       "\"bytes\":%u,\"irqs\":%" PRIu64 ",\"ns\":%"
			       PRIu64 ",\"transfers\":%u}\n",
			       i ? "kbuf-dma" : "ubuf", lens[j], i1 - i0,
			       t1 - t0, 2 * ((lens[j] + 4094) / 4095));
			printf("  edu copy into %s, %u B: %" PRIu64
			       " interrupts\n", i ? "driver buffer" :
			       "registration", lens[j], i1 - i0);
			out_flush();
			memset(i ? kp : (void *)u, 0, len);
		}
	}
	kubuf_kbuf_unmap(kp, len);
	kubuf_kbuf_free(k, kid);
	kubuf_ubuf_unregister(k, uid);
	kubuf_close(k);
}

/* --- main ------------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: kubuf-bench [--quick] [--wake-records N] [PART...]\n"
"  The whole path in this guest: make bench boots it with -icount shift=0\n"
"  (one ns of guest time per instruction) and collects the \"@json\" lines.\n"
"  PART: stream (every design, every size), cmd, setup, wake, edu\n"
"        (default: stream cmd setup wake; edu needs /dev/kubuf-edu0)\n"
"  --quick            small counts (make bench-quick)\n"
"  --wake-records N   records of the lost-wakeup run (default 10000000)\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "wake-records", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int parts = 0, c, i, d;
	struct utsname u;
	struct kubuf *k;
	struct bpfrb *b;
	char *end;

	while ((c = getopt_long(argc, argv, "qw:h", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			quick = 1;
			break;
		case 'w':
			errno = 0;
			wake_records = strtoull(optarg, &end, 0);
			if (errno || *end || !wake_records)
				die("--wake-records: a number above 0, not %s",
				    optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	for (i = optind; i < argc; i++) {
		static const char *const names[] = {
			"stream", "cmd", "setup", "wake", "edu",
		};
		int j;

		for (j = 0; j < 5 && strcmp(argv[i], names[j]); j++)
			;
		if (j == 5) {
			usage(stderr);
			return 2;
		}
		parts |= 1 << j;
	}
	if (!parts)
		parts = 0xf;
	/*
	 * Huge pages only where asked for (setup asks): no background
	 * collapsing of the other runs' memory by khugepaged.
	 */
	{
		FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled",
				"w");

		if (f) {
			fputs("madvise\n", f);
			fclose(f);
		}
	}
	uname(&u);
	printf("@json {\"part\":\"env\",\"kernel\":\"%s\",\"quick\":%d,"
	       "\"libkubuf\":\"%s\"}\n", u.release, quick,
	       kubuf_version_string());
	if (parts & 0xf) {
		c = kubuf_open(NULL, 0, &k);
		if (c)
			die("/dev/kubuf: %s", strerror(-c));
	}
	io_calibrate();
	if (parts & 1) {
		c = bpfrb_open(16 << 20, &b);
		if (c)
			die("BPF ring buffer: %s", strerror(-c));
		for (i = 0; i < (int)NSIZES; i++) {
			uint32_t s = sizes[i];

			printf("# stream, %u-byte records\n", s);
			for (d = 0; d < NDESIGNS; d++)
				measure(k, b, d, s);
		}
		bpfrb_close(b);
	}
	if (parts & 2) {
		printf("# commands, application -> device\n");
		run_cmds(k, 0);
		run_cmds(k, 1);
	}
	if (parts & 4) {
		printf("# setup\n");
		run_setup(k);
	}
	if (parts & 8) {
		printf("# wakeups, %" PRIu64 " records\n", wake_records);
		run_wake(k);
	}
	if (parts & 0xf)
		kubuf_close(k);
	if (parts & 16) {
		printf("# edu\n");
		run_edu();
	}
	printf("@json {\"part\":\"end\"}\n");
	if (failures)
		printf("kubuf-bench: %u runs with records wrong or missing, or "
		       "waits timed out\n", failures);
	out_flush();
	return failures ? 1 : 0;
}
