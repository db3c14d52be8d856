// SPDX-License-Identifier: MIT
/*
 * ringbench's report: one table (stdout and ring.md), the targets of the
 * ring-alone part of "make bench" with met or missed beside each, and
 * the raw figures as JSON (ring.json).
 */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "report.h"

#define IR_TARGET	40.0	/* instructions per small record, both sides */
#define MEMCPY_TARGET	0.80	/* of memcpy's bytes/s, at 4 KiB */

struct target {
	char what[128];
	char target[32];
	char result[32];
	int met;		/* 1 met, 0 missed, -1 not measured */
};

static struct target targets[64];
static unsigned int ntargets;

static const char *mode(const struct row *r)
{
	return r->burst == 1 ? "single" : "burst 32";
}

static int row_of(const struct report *rep, const struct design *d,
		  unsigned int burst)
{
	int r;

	for (r = 0; r < NROWS; r++)
		if (rep->rows[r].d == d && rep->rows[r].burst == burst)
			return r;
	return -1;
}

static void add_target(const char *what, const char *target, double value,
		       const char *fmt, int met)
{
	struct target *t = &targets[ntargets++];

	snprintf(t->what, sizeof(t->what), "%s", what);
	snprintf(t->target, sizeof(t->target), "%s", target);
	if (met < 0)
		snprintf(t->result, sizeof(t->result), "not measured");
	else
		snprintf(t->result, sizeof(t->result), fmt, value);
	t->met = met;
}

static void make_targets(const struct report *rep)
{
	static const struct { unsigned int burst; const char *vs; int other; }
		cmp[] = { { 1, "ck_ring single", 0 },
			  { 1, "rte_ring single", 1 },
			  { BENCH_BURST, "ck_ring single", 0 },
			  { BENCH_BURST, "rte_ring burst 32", 1 } };
	char what[128];
	unsigned int s, c;
	int k, o;

	ntargets = 0;
	for (s = 0; s < 2; s++)
		for (c = 0; c < 2; c++) {
			double ir;

			k = row_of(rep, &bench_kubuf, c ? BENCH_BURST : 1);
			ir = rep->res[s][k].ir;
			snprintf(what, sizeof(what),
				 "instructions/record, kubuf %s, %zu B",
				 mode(&rep->rows[k]), rep->sizes[s]);
			add_target(what, "<= 40", ir, "%.1f",
				   !rep->callgrind ? -1 : ir <= IR_TARGET);
		}
	for (s = 0; s < NSIZES; s++)
		for (c = 0; c < sizeof(cmp) / sizeof(cmp[0]); c++) {
			double ratio;

			k = row_of(rep, &bench_kubuf, cmp[c].burst);
			o = cmp[c].other ?
			    row_of(rep, &bench_rte, cmp[c].burst) :
			    row_of(rep, &bench_ck, 1);
			ratio = rep->res[s][k].rps / rep->res[s][o].rps;
			snprintf(what, sizeof(what),
				 "records/s, kubuf %s / %s, %zu B",
				 mode(&rep->rows[k]), cmp[c].vs,
				 rep->sizes[s]);
			add_target(what, ">= 1.00", ratio, "%.2f",
				   ratio >= 1.0);
		}
	for (c = 0; c < 2; c++) {
		double frac;

		s = NSIZES - 1;
		k = row_of(rep, &bench_kubuf, c ? BENCH_BURST : 1);
		frac = rep->res[s][k].rps * (double)rep->sizes[s] /
		       rep->memcpy_bps[s];
		snprintf(what, sizeof(what),
			 "bytes/s, kubuf %s / memcpy, %zu B",
			 mode(&rep->rows[k]), rep->sizes[s]);
		add_target(what, ">= 80 %", 100 * frac, "%.0f %%",
			   frac >= MEMCPY_TARGET);
	}
}

static const char *met_word(int met)
{
	return met < 0 ? "-" : met ? "met" : "MISSED";
}

static void conditions(const struct report *rep, char *buf, size_t n)
{
	struct utsname u;

	uname(&u);
	snprintf(buf, n, "%s, %d CPUs online, producer on CPU 0 and consumer "
		 "on CPU 1%s; %s runs: median of %u run%s of %u ms each; "
		 "ring of %u KiB of payload",
		 u.machine, rep->ncpus, rep->ncpus < 2 ? " (not pinned)" : "",
		 rep->quick ? "quick" : "full", rep->reps,
		 rep->reps == 1 ? "" : "s", rep->ms, BENCH_RING_BYTES >> 10);
}

/* The table as markdown: the same text on stdout and in ring.md. */
static void table(FILE *f, const struct report *rep)
{
	unsigned int s, r;
	unsigned int t;

	fprintf(f, "| size | design | mode | Mrecords/s | MB/s | "
		"%% of memcpy | instructions/record |\n");
	fprintf(f, "|---:|---|---|---:|---:|---:|---:|\n");
	for (s = 0; s < NSIZES; s++) {
		fprintf(f, "| %zu B | memcpy | one core | %.2f | %.0f | 100 "
			"| |\n", rep->sizes[s],
			rep->memcpy_bps[s] / (double)rep->sizes[s] / 1e6,
			rep->memcpy_bps[s] / 1e6);
		for (r = 0; r < NROWS; r++) {
			const struct result *x = &rep->res[s][r];
			double bps = x->rps * (double)rep->sizes[s];

			fprintf(f, "| %zu B | %s | %s | %.2f | %.0f | %.0f | ",
				rep->sizes[s], rep->rows[r].d->name,
				mode(&rep->rows[r]), x->rps / 1e6, bps / 1e6,
				100 * bps / rep->memcpy_bps[s]);
			if (rep->callgrind)
				fprintf(f, "%.1f |\n", x->ir);
			else
				fprintf(f, "- |\n");
		}
	}
	if (rep->callgrind) {
		fprintf(f, "\nChecking every byte of a stream record, the "
			"device's side and the application's, instructions "
			"per record:\n\n| size | 8 bytes at a time (kubuf) | "
			"byte at a time | ratio |\n|---:|---:|---:|---:|\n");
		for (s = 0; s < NSIZES; s++)
			fprintf(f, "| %zu B | %.0f | %.0f | %.1fx |\n",
				rep->sizes[s], rep->check[s][0],
				rep->check[s][1],
				rep->check[s][1] / rep->check[s][0]);
	}
	fprintf(f, "\n| target | wanted | result | |\n|---|---:|---:|---|\n");
	for (t = 0; t < ntargets; t++)
		fprintf(f, "| %s | %s | %s | %s |\n", targets[t].what,
			targets[t].target, targets[t].result,
			met_word(targets[t].met));
}

static void json(FILE *f, const struct report *rep, const char *cond)
{
	unsigned int s, r, t;

	fprintf(f, "{\n  \"benchmark\": \"ring alone, native\",\n");
	fprintf(f, "  \"conditions\": \"%s\",\n", cond);
	fprintf(f, "  \"quick\": %s,\n  \"callgrind\": %s,\n",
		rep->quick ? "true" : "false",
		rep->callgrind ? "true" : "false");
	fprintf(f, "  \"memcpy\": [");
	for (s = 0; s < NSIZES; s++)
		fprintf(f, "%s\n    { \"size\": %zu, \"bytes_per_s\": %.0f }",
			s ? "," : "", rep->sizes[s], rep->memcpy_bps[s]);
	fprintf(f, "\n  ],\n  \"harness_instructions_per_record\": [");
	for (s = 0; s < NSIZES; s++)
		fprintf(f, "%s\n    { \"size\": %zu, \"fixed\": %.2f, "
			"\"slots\": %.2f }", s ? "," : "", rep->sizes[s],
			rep->callgrind ? rep->harness[s][0] : -1,
			rep->callgrind ? rep->harness[s][1] : -1);
	fprintf(f, "\n  ],\n  \"results\": [");
	for (s = 0; s < NSIZES; s++)
		for (r = 0; r < NROWS; r++) {
			const struct result *x = &rep->res[s][r];

			fprintf(f, "%s\n    { \"design\": \"%s\", "
				"\"burst\": %u, \"size\": %zu, "
				"\"records_per_s\": %.0f, "
				"\"bytes_per_s\": %.0f, "
				"\"memcpy_fraction\": %.3f, "
				"\"instructions_per_record\": ",
				s || r ? "," : "", rep->rows[r].d->name,
				rep->rows[r].burst, rep->sizes[s], x->rps,
				x->rps * (double)rep->sizes[s],
				x->rps * (double)rep->sizes[s] /
				rep->memcpy_bps[s]);
			if (rep->callgrind)
				fprintf(f, "%.2f }", x->ir);
			else
				fprintf(f, "null }");
		}
	fprintf(f, "\n  ],\n  \"stream_check_instructions_per_record\": [");
	for (s = 0; s < NSIZES; s++)
		fprintf(f, "%s\n    { \"size\": %zu, \"words\": %.1f, "
			"\"bytes\": %.1f }", s ? "," : "", rep->sizes[s],
			rep->callgrind ? rep->check[s][0] : -1,
			rep->callgrind ? rep->check[s][1] : -1);
	fprintf(f, "\n  ],\n  \"targets\": [");
	for (t = 0; t < ntargets; t++)
		fprintf(f, "%s\n    { \"what\": \"%s\", \"target\": \"%s\", "
			"\"result\": \"%s\", \"met\": %s }", t ? "," : "",
			targets[t].what, targets[t].target, targets[t].result,
			targets[t].met < 0 ? "null" :
			targets[t].met ? "true" : "false");
	fprintf(f, "\n  ]\n}\n");
}

int report_write(const struct report *rep, const char *outdir)
{
	char cond[512], path[4096];
	unsigned int t, met = 0, missed = 0;
	FILE *f;

	make_targets(rep);
	conditions(rep, cond, sizeof(cond));
	printf("\nkubuf ring alone: %s\n\n", cond);
	table(stdout, rep);
	for (t = 0; t < ntargets; t++) {
		met += targets[t].met == 1;
		missed += targets[t].met == 0;
	}
	printf("\ntargets: %u met, %u missed\n", met, missed);

	snprintf(path, sizeof(path), "%s/ring.md", outdir);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		return 1;
	}
	fprintf(f, "# kubuf ring alone, natively\n\n%s. "
		"How to read this: bench/README.md.\n\n", cond);
	table(f, rep);
	fprintf(f, "\nTargets: %u met, %u missed.\n", met, missed);
	fclose(f);

	snprintf(path, sizeof(path), "%s/ring.json", outdir);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		return 1;
	}
	json(f, rep, cond);
	fclose(f);
	printf("wrote %s/ring.md and %s/ring.json\n", outdir, outdir);
	return 0;
}
