/* SPDX-License-Identifier: MIT */
/*
 * bpfrb - BPF ring buffer (BPF_MAP_TYPE_RINGBUF) benchmark.
 *
 * Measures the cost of moving records through a BPF ring buffer: a
 * BPF_PROG_TYPE_SYSCALL program (rb.bpf.c), run with BPF_PROG_TEST_RUN,
 * reserves and submits a batch of records in one system call; then the same
 * thread drains the ring with ring_buffer__consume() (mmap only, no system
 * call) and checks each record's sequence number and length.  Records are
 * submitted with BPF_RB_NO_WAKEUP: the consumer never sleeps, no epoll.
 *
 * Unlike a device's producer, this one runs synchronously in the caller's
 * own system call (same CPU, no interrupt, no concurrency with the consumer)
 * and writes only the 16-byte header { seq, 0 } of each record; the data
 * bytes are left unwritten and are not read by the consumer either.
 *
 * Build (from the repository root; libzstd.a is in libzstd-dev):
 *   mkdir -p build/bench
 *   clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu \
 *	-c bench/guest/rb.bpf.c -o build/bench/rb.bpf.o
 *   cc -O2 -Wall -Wextra -static -DBPFRB_OBJ='"build/bench/rb.bpf.o"' \
 *	-o build/bench/prog bench/guest/bpfrb.c main.c \
 *	-lbpf -lelf -lz -lzstd
 * The .incbin path is relative to the directory cc runs in.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfrb.h"

#ifndef BPFRB_OBJ
#error "define BPFRB_OBJ as the quoted path of rb.bpf.o"
#endif

__asm__("	.section .rodata\n"
	"	.balign 8\n"
	"bpfrb_obj:\n"
	"	.incbin \"" BPFRB_OBJ "\"\n"
	"bpfrb_obj_end:\n"
	"	.previous\n");

extern const char bpfrb_obj[] __attribute__((visibility("hidden")));
extern const char bpfrb_obj_end[] __attribute__((visibility("hidden")));

#define BPFRB_HDR	16		/* struct rb_hdr */
#define BPFRB_NSIZES	5

static const uint32_t bpfrb_sizes[BPFRB_NSIZES] = {
	8, 64, 512, 4096, 65536
};

/* Context of the produce_<size> programs, as in rb.bpf.c. */
struct bpfrb_ctx {
	uint64_t first_seq;
	uint32_t n;
	uint32_t flags;
	uint64_t produced;
};

struct bpfrb {
	struct bpf_object *obj;
	struct ring_buffer *ring;
	size_t rb_bytes;
	int prog_fd[BPFRB_NSIZES];
	/* state of the current run, for bpfrb_sample() */
	struct bpfrb_result *res;
	uint64_t next_seq;
	size_t len;
};

static int bpfrb_print(enum libbpf_print_level level, const char *fmt,
		       va_list ap)
{
	if (level != LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int bpfrb_sample(void *ctx, void *data, size_t len)
{
	struct bpfrb *b = ctx;
	uint64_t seq;

	b->res->records++;
	if (len != b->len) {
		b->res->bad++;
		b->next_seq++;
		return 0;
	}
	b->res->bytes += len - BPFRB_HDR;
	memcpy(&seq, data, sizeof(seq));
	if (seq != b->next_seq)
		b->res->bad++;
	b->next_seq = seq + 1;
	return 0;
}

static int bpfrb_fail(struct bpfrb *b, const char *what, int err)
{
	fprintf(stderr, "bpfrb: %s: %s\n", what, strerror(-err));
	bpfrb_close(b);
	return err;
}

int bpfrb_open(size_t rb_bytes, struct bpfrb **bp)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "bpfrb");
	struct bpf_program *prog;
	struct bpf_map *map;
	struct bpfrb *b;
	char name[32];
	int i, err;

	*bp = NULL;
	if (rb_bytes < (1 << 20) || rb_bytes > (1UL << 31) ||
	    (rb_bytes & (rb_bytes - 1))) {
		fprintf(stderr, "bpfrb: bad ring buffer size %zu\n", rb_bytes);
		return -EINVAL;
	}
	libbpf_set_print(bpfrb_print);
	b = calloc(1, sizeof(*b));
	if (!b)
		return bpfrb_fail(b, "calloc", -ENOMEM);
	b->rb_bytes = rb_bytes;
	b->obj = bpf_object__open_mem(bpfrb_obj, bpfrb_obj_end - bpfrb_obj,
				      &opts);
	if (!b->obj)
		return bpfrb_fail(b, "bpf_object__open_mem", -errno);
	map = bpf_object__find_map_by_name(b->obj, "rb");
	if (!map)
		return bpfrb_fail(b, "no map rb", -ENOENT);
	err = bpf_map__set_max_entries(map, rb_bytes);
	if (err)
		return bpfrb_fail(b, "bpf_map__set_max_entries", err);
	err = bpf_object__load(b->obj);
	if (err)
		return bpfrb_fail(b, "bpf_object__load", err);
	for (i = 0; i < BPFRB_NSIZES; i++) {
		snprintf(name, sizeof(name), "produce_%u", bpfrb_sizes[i]);
		prog = bpf_object__find_program_by_name(b->obj, name);
		if (!prog)
			return bpfrb_fail(b, name, -ENOENT);
		b->prog_fd[i] = bpf_program__fd(prog);
	}
	b->ring = ring_buffer__new(bpf_map__fd(map), bpfrb_sample, b, NULL);
	if (!b->ring)
		return bpfrb_fail(b, "ring_buffer__new", -errno);
	*bp = b;
	return 0;
}

int bpfrb_run(struct bpfrb *b, uint32_t size, uint64_t records,
	      uint32_t batch, struct bpfrb_result *res)
{
	struct bpfrb_ctx ctx;
	/* SYSCALL programs write their context back to ctx_in, not ctx_out */
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));
	uint64_t done = 0;
	size_t fit;
	int i, err;

	for (i = 0; i < BPFRB_NSIZES && bpfrb_sizes[i] != size; i++)
		;
	if (i == BPFRB_NSIZES || !batch)
		return -EINVAL;
	/* each record takes an 8-byte ring header, rounded up to 8 bytes */
	fit = b->rb_bytes / ((8 + BPFRB_HDR + size + 7) & ~7UL);
	if (batch > fit)
		batch = fit;

	memset(res, 0, sizeof(*res));
	b->res = res;
	b->next_seq = 0;
	b->len = BPFRB_HDR + size;
	while (done < records) {
		ctx.first_seq = done;
		ctx.n = records - done < batch ? records - done : batch;
		ctx.flags = BPF_RB_NO_WAKEUP;
		ctx.produced = 0;
		err = bpf_prog_test_run_opts(b->prog_fd[i], &opts);
		res->syscalls++;
		if (err)
			return err;
		err = ring_buffer__consume(b->ring);
		if (err < 0)
			return err;
		if (!ctx.produced)
			return -ENOSPC;
		done += ctx.produced;
	}
	return 0;
}

void bpfrb_close(struct bpfrb *b)
{
	if (!b)
		return;
	ring_buffer__free(b->ring);
	bpf_object__close(b->obj);
	free(b);
}
