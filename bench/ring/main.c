// SPDX-License-Identifier: MIT
/*
 * ringbench: kubuf's ring against ck_ring and rte_ring, alone, natively.
 *
 *   ringbench [--quick] [--no-callgrind] [--out DIR]
 *
 * For each payload size: single-core memcpy bandwidth; then each design
 * and mode with the producer pinned to CPU 0 and the consumer to CPU 1,
 * records/s and payload bytes/s (median of the repetitions); then, under
 * valgrind --tool=callgrind (this program runs itself with --cg-child),
 * instructions per record with the harness's own cost subtracted, and
 * those of checking every byte of a stream record (check.c). Prints the
 * tables and the targets, and writes DIR/ring.json and DIR/ring.md.
 * bench/README.md says how to read them.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <valgrind/callgrind.h>

#include "bench.h"
#include "report.h"

static const size_t sizes[NSIZES] = { 8, 64, 512, 4096 };

static const struct row rows[NROWS] = {
	{ &bench_kubuf, 1 },
	{ &bench_kubuf, BENCH_BURST },
	{ &bench_ck, 1 },
	{ &bench_rte, 1 },
	{ &bench_rte, BENCH_BURST },
};

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bench_consumed(struct job *j, uint64_t seq)
{
	j->t_end_ns = bench_now_ns();
	j->consumed = seq;
}

void bench_abort(const char *what)
{
	fprintf(stderr, "ringbench: %s\n", what);
	abort();
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void *xalloc(size_t n)
{
	void *p = aligned_alloc(4096, (n + 4095) & ~(size_t)4095);

	if (!p)
		die("aligned_alloc");
	memset(p, 0x5a, n);
	return p;
}

static int ncpus;

static void pin(pthread_t t, int cpu)
{
	cpu_set_t set;

	if (ncpus < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(t, sizeof(set), &set);
}

static void job_init(struct job *j, size_t len, unsigned int burst)
{
	memset(j, 0, sizeof(*j));
	j->len = len;
	j->burst = burst;
	j->src = xalloc(len);
	j->dst = xalloc(len);
}

static void job_free(struct job *j)
{
	free(j->src);
	free(j->dst);
}

/* One threaded run of @ms milliseconds: records per second. */
static double run_threads(const struct design *d, size_t len,
			  unsigned int burst, unsigned int ms)
{
	struct timespec nap = { ms / 1000, (long)(ms % 1000) * 1000000 };
	pthread_t prod, cons;
	struct job j;
	uint64_t t0;
	double rate;

	job_init(&j, len, burst);
	if (d->setup(&j))
		die(d->name);
	if (pthread_create(&prod, NULL, d->produce, &j) ||
	    pthread_create(&cons, NULL, d->consume, &j))
		die("pthread_create");
	pin(prod, 0);
	pin(cons, 1);
	t0 = bench_now_ns();
	__atomic_store_n(&j.go, 1, __ATOMIC_RELEASE);
	nanosleep(&nap, NULL);
	__atomic_store_n(&j.stop, 1, __ATOMIC_RELAXED);
	pthread_join(prod, NULL);
	pthread_join(cons, NULL);
	if (j.bad || j.consumed != j.total) {
		fprintf(stderr, "ringbench: %s: %llu records out of order, "
			"%llu of %llu arrived\n", d->name,
			(unsigned long long)j.bad,
			(unsigned long long)j.consumed,
			(unsigned long long)j.total);
		exit(1);
	}
	rate = (double)j.consumed * 1e9 / (double)(j.t_end_ns - t0);
	d->teardown(&j);
	job_free(&j);
	return rate;
}

/* Single-core memcpy of @len-byte records into a ring-sized area: B/s. */
static double run_memcpy(size_t len, unsigned int ms)
{
	unsigned char *src = xalloc(len), *dst = xalloc(BENCH_RING_BYTES);
	size_t off = 0, step = (len + 7) & ~(size_t)7;
	uint64_t n = 0, t0, t1, end;
	cpu_set_t set, old;
	unsigned int i;

	sched_getaffinity(0, sizeof(old), &old);
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
	t0 = bench_now_ns();
	end = t0 + (uint64_t)ms * 1000000u;
	do {
		for (i = 0; i < 1024; i++) {
			memcpy(dst + off, src, len);
			/* Keep the compiler from dropping the copies. */
			__asm__ __volatile__("" : : "r"(dst) : "memory");
			off += step;
			if (off + step > BENCH_RING_BYTES)
				off = 0;
		}
		n += 1024;
		t1 = bench_now_ns();
	} while (t1 < end);
	sched_setaffinity(0, sizeof(old), &old);
	free(src);
	free(dst);
	return (double)n * (double)len * 1e9 / (double)(t1 - t0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median_threads(const struct row *r, size_t len,
			     unsigned int reps, unsigned int ms)
{
	double v[16];
	unsigned int i;

	for (i = 0; i < reps; i++)
		v[i] = run_threads(r->d, len, r->burst, ms);
	qsort(v, reps, sizeof(v[0]), cmp_double);
	return v[reps / 2];
}

/* Records per callgrind measurement: fewer for large payloads. */
static uint64_t cg_records(size_t len, int quick)
{
	uint64_t n = (16u << 20) / len;

	if (n > 100000)
		n = 100000;
	if (quick)
		n /= 16;
	/* Whole batches of BENCH_BURST records. */
	return n & ~(uint64_t)(BENCH_BURST - 1);
}

/* The measured part of a callgrind run, between zeroing and dumping. */
static void __attribute__((noinline))
cg_measure(const struct design *d, size_t len, unsigned int burst, int quick)
{
	char name[64];
	struct job j;

	job_init(&j, len, burst);
	if (d->setup(&j))
		die(d->name);
	/* Warm: first-call binding, first touch of the ring's lines. */
	d->alternate(&j, 4 * BENCH_BURST, BENCH_BURST);
	snprintf(name, sizeof(name), "%s/%u/%zu", d->name, burst, len);
	CALLGRIND_ZERO_STATS;
	d->alternate(&j, cg_records(len, quick), BENCH_BURST);
	CALLGRIND_DUMP_STATS_AT(name);
	if (j.bad || j.consumed != cg_records(len, quick)) {
		fprintf(stderr, "ringbench: %s: wrong records\n", name);
		exit(1);
	}
	d->teardown(&j);
	job_free(&j);
}

/* Stream records checked per size under callgrind (a tenth, quick). */
static uint64_t check_records(int quick)
{
	return quick ? 1000 : 10000;
}

/* The stream check's measured run: check-word/SIZE, check-byte/SIZE. */
static void __attribute__((noinline)) cg_check(int word, size_t len, int quick)
{
	char name[64];

	check_run(word, len, 16);	/* warm */
	snprintf(name, sizeof(name), "check-%s/%zu", word ? "word" : "byte",
		 len);
	CALLGRIND_ZERO_STATS;
	check_run(word, len, check_records(quick));
	CALLGRIND_DUMP_STATS_AT(name);
}

static void cg_child(int quick)
{
	unsigned int s, r;

	for (s = 0; s < NSIZES; s++) {
		cg_measure(&bench_null, sizes[s], 1, quick);
		cg_measure(&bench_null_slots, sizes[s], 1, quick);
		for (r = 0; r < NROWS; r++)
			cg_measure(rows[r].d, sizes[s], rows[r].burst, quick);
		cg_check(1, sizes[s], quick);
		cg_check(0, sizes[s], quick);
	}
}

/* Instructions of the dump named @name in @dir, or -1. */
static double cg_dump_ir(const char *dir, const char *name)
{
	char path[4096], line[512], want[128];
	struct dirent *e;
	double ir = -1;
	int hit;
	DIR *dp = opendir(dir);
	FILE *f;

	if (!dp)
		return -1;
	snprintf(want, sizeof(want), "desc: Trigger: Client Request: %s\n",
		 name);
	while (ir < 0 && (e = readdir(dp))) {
		if (strncmp(e->d_name, "cg.out", 6))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		hit = 0;
		while (fgets(line, sizeof(line), f)) {
			if (!strcmp(line, want))
				hit = 1;
			else if (hit && !strncmp(line, "totals: ", 8))
				ir = strtod(line + 8, NULL);
			else if (hit && !strncmp(line, "summary: ", 9))
				ir = strtod(line + 9, NULL);
		}
		fclose(f);
	}
	closedir(dp);
	return ir;
}

/* Run this program under callgrind; fill res[][]. Returns 0 if it ran. */
static int run_callgrind(const char *outdir, int quick,
			 struct result res[NSIZES][NROWS],
			 double harness[NSIZES][2], double check[NSIZES][2])
{
	char dir[4096], outfile[4096 + 16], name[64], cmd[8192];
	unsigned int s, r;
	int status;

	snprintf(dir, sizeof(dir), "%s/callgrind", outdir);
	mkdir(dir, 0755);
	snprintf(cmd, sizeof(cmd), "rm -f '%s'/cg.out*", dir);
	if (system(cmd))
		return -1;
	snprintf(outfile, sizeof(outfile), "%s/cg.out", dir);
	snprintf(cmd, sizeof(cmd),
		 "valgrind --tool=callgrind -q --callgrind-out-file='%s' "
		 "/proc/%d/exe --cg-child%s", outfile, (int)getpid(),
		 quick ? " --quick" : "");
	status = system(cmd);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "ringbench: callgrind run failed\n");
		return -1;
	}
	for (s = 0; s < NSIZES; s++) {
		double n = (double)cg_records(sizes[s], quick);

		snprintf(name, sizeof(name), "harness/1/%zu", sizes[s]);
		harness[s][0] = cg_dump_ir(dir, name) / n;
		snprintf(name, sizeof(name), "harness+slots/1/%zu", sizes[s]);
		harness[s][1] = cg_dump_ir(dir, name) / n;
		for (r = 0; r < NROWS; r++) {
			/* kubuf's records are in the ring: no slots. */
			double base = harness[s][rows[r].d != &bench_kubuf];

			snprintf(name, sizeof(name), "%s/%u/%zu",
				 rows[r].d->name, rows[r].burst, sizes[s]);
			res[s][r].ir = cg_dump_ir(dir, name) / n - base;
		}
		for (r = 0; r < 2; r++) {
			snprintf(name, sizeof(name), "check-%s/%zu",
				 r ? "byte" : "word", sizes[s]);
			check[s][r] = cg_dump_ir(dir, name) /
				      (double)check_records(quick);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct result res[NSIZES][NROWS];
	static double harness[NSIZES][2], check[NSIZES][2];
	struct report rep = { .sizes = sizes, .rows = rows, .res = res,
			      .harness = harness, .check = check };
	const char *outdir = "bench/results";
	int quick = 0, callgrind = 1, i;
	unsigned int s, r, reps, ms;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			quick = 1;
		else if (!strcmp(argv[i], "--no-callgrind"))
			callgrind = 0;
		else if (!strcmp(argv[i], "--out") && i + 1 < argc)
			outdir = argv[++i];
		else if (!strcmp(argv[i], "--cg-child"))
			callgrind = -1;
		else {
			fprintf(stderr, "usage: ringbench [--quick] "
				"[--no-callgrind] [--out DIR]\n");
			return 2;
		}
	}
	if (callgrind < 0) {
		cg_child(quick);
		return 0;
	}
	ncpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	reps = quick ? 1 : 3;
	ms = quick ? 150 : 700;
	rep.quick = quick;
	rep.reps = reps;
	rep.ms = ms;
	rep.ncpus = ncpus;
	if (mkdir(outdir, 0755) && errno != EEXIST)
		die(outdir);

	for (s = 0; s < NSIZES; s++) {
		fprintf(stderr, "ringbench: %zu B: memcpy", sizes[s]);
		rep.memcpy_bps[s] = run_memcpy(sizes[s], ms);
		for (r = 0; r < NROWS; r++) {
			fprintf(stderr, ", %s/%u", rows[r].d->name,
				rows[r].burst);
			res[s][r].rps = median_threads(&rows[r], sizes[s],
						       reps, ms);
			res[s][r].ir = -1;
		}
		fprintf(stderr, "\n");
	}
	if (callgrind) {
		fprintf(stderr, "ringbench: callgrind (%s)\n",
			quick ? "small counts" : "full counts");
		rep.callgrind = !run_callgrind(outdir, quick, res, harness,
						 check);
	}
	return report_write(&rep, outdir);
}
