/* SPDX-License-Identifier: MIT */
/* ringbench's results: the table, the targets, ring.json and ring.md. */
#ifndef KUBUF_BENCH_REPORT_H
#define KUBUF_BENCH_REPORT_H

#include "bench.h"

#define NSIZES	4
#define NROWS	5

struct row {
	const struct design *d;
	unsigned int burst;
};

struct result {
	double rps;		/* records per second, two threads */
	double ir;		/* instructions per record, or < 0 */
};

struct report {
	const size_t *sizes;
	const struct row *rows;
	struct result (*res)[NROWS];
	double (*harness)[2];	/* per record: fixed place, slots */
	double (*check)[2];	/* a stream record checked: words, bytes */
	double memcpy_bps[NSIZES];
	int quick, callgrind, ncpus;
	unsigned int reps, ms;
};

int report_write(const struct report *rep, const char *outdir);

#endif
