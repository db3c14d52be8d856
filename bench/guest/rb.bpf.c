/* SPDX-License-Identifier: GPL-2.0 */
/*
 * BPF side of the ring buffer benchmark (see bpfrb.c).
 *
 * produce_<size>: a BPF_PROG_TYPE_SYSCALL program, run by BPF_PROG_TEST_RUN,
 * that reserves and submits ctx->n records of 16 + <size> bytes in one call
 * (bpf_loop).  Only the 16-byte header is written; the data bytes are left
 * as they are.  bpf_ringbuf_reserve() needs a constant size, hence one
 * program per size.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);	/* set from user space at load */
} rb SEC(".maps");

/* Context of a test run; written back to user space. */
struct rb_ctx {
	__u64 first_seq;
	__u32 n;
	__u32 flags;		/* 0 or BPF_RB_NO_WAKEUP */
	__u64 produced;
};

struct rb_hdr {
	__u64 seq;
	__u64 zero;
};

struct rb_loop {
	__u64 seq;
	__u64 flags;
	__u64 done;
};

#define RB_PRODUCE(size)						\
static long produce_one_##size(__u64 i, void *data)			\
{									\
	struct rb_loop *l = data;					\
	struct rb_hdr *h;						\
									\
	h = bpf_ringbuf_reserve(&rb, sizeof(*h) + (size), 0);		\
	if (!h)								\
		return 1;						\
	h->seq = l->seq + i;						\
	h->zero = 0;							\
	bpf_ringbuf_submit(h, l->flags);				\
	l->done++;							\
	return 0;							\
}									\
									\
SEC("syscall")								\
int produce_##size(struct rb_ctx *ctx)					\
{									\
	struct rb_loop l = {						\
		.seq = ctx->first_seq,					\
		.flags = ctx->flags,					\
	};								\
									\
	bpf_loop(ctx->n, produce_one_##size, &l, 0);			\
	ctx->produced = l.done;						\
	return 0;							\
}

RB_PRODUCE(8)
RB_PRODUCE(64)
RB_PRODUCE(512)
RB_PRODUCE(4096)
RB_PRODUCE(65536)
