/* SPDX-License-Identifier: MIT */
/*
 * bpfrb - BPF ring buffer (BPF_MAP_TYPE_RINGBUF) benchmark, see bpfrb.c.
 */
#ifndef BPFRB_H
#define BPFRB_H

#include <stddef.h>
#include <stdint.h>

struct bpfrb;

struct bpfrb_result {
	uint64_t records;	/* records consumed, checked */
	uint64_t bytes;		/* their data bytes (size each) */
	uint64_t syscalls;	/* system calls made during the run (test runs) */
	uint64_t bad;		/* records whose seq was not the one expected,
				 * or of the wrong length */
};

/*
 * Load the programs (object embedded in the binary), ring buffer of
 * @rb_bytes (power of two, >= 1 MiB, <= 2 GiB).  0 or -errno; on error *bp
 * is NULL and a message went to stderr.
 */
int bpfrb_open(size_t rb_bytes, struct bpfrb **bp);

/*
 * @size one of 8, 64, 512, 4096, 65536: produce @records records, @batch per
 * BPF_PROG_TEST_RUN call, and after each call consume all with
 * ring_buffer__consume(), checking each record's seq (consecutive from 0 for
 * this run) and length (16 + size).  If @batch records would not fit in the
 * ring buffer (8-byte ring header + 16 + size each, 8-aligned), @batch is
 * reduced to what fits.  @res is zeroed first.  0 or -errno (-EINVAL for
 * another size or a zero @batch, -ENOSPC if a call produced nothing).
 */
int bpfrb_run(struct bpfrb *b, uint32_t size, uint64_t records,
	      uint32_t batch, struct bpfrb_result *res);

void bpfrb_close(struct bpfrb *b);

#endif /* BPFRB_H */
