// SPDX-License-Identifier: MIT
/*
 * What checking every byte of a stream record costs, the device's side
 * and the application's together, for records of the benchmark's sizes:
 *
 *   word: as kubuf's stream does it, kubuf_stream_fill() (pattern and
 *         checksum, 8 bytes at a time) then kubuf_stream_verify() (every
 *         byte against the pattern and the checksum, in one pass);
 *   byte: the same check a byte at a time, pattern and FNV-1a on both
 *         sides, as the stream did before (kept here to compare).
 *
 * Single-threaded, in a buffer of its own: the cost of the check alone,
 * counted under callgrind (main.c).
 */
#include <stdio.h>
#include <stdlib.h>

#include <kubuf.h>

#include "bench.h"

static unsigned char rec[sizeof(struct kubuf_stream_rec) + 65536]
	__attribute__((aligned(64)));

static uint64_t fnv_start(uint64_t seq)
{
	uint64_t sum = KUBUF_CHECKSUM_INIT;
	unsigned int i;

	for (i = 0; i < 8; i++)
		sum = (sum ^ (uint8_t)(seq >> (8 * i))) * 0x100000001b3ULL;
	return sum;
}

static void __attribute__((noinline))
byte_record(uint32_t seed, uint64_t seq, size_t len)
{
	struct kubuf_stream_rec *h = (struct kubuf_stream_rec *)rec;
	uint8_t *d = rec + sizeof(*h);
	uint64_t sum = fnv_start(seq);
	size_t i;

	/* The device: the pattern and its checksum, byte by byte. */
	for (i = 0; i < len; i++) {
		d[i] = kubuf_pattern_byte(seed + (uint32_t)seq, i);
		sum = (sum ^ d[i]) * 0x100000001b3ULL;
	}
	h->seq = seq;
	h->csum = sum;
	/* The application: the checksum, then the pattern, byte by byte. */
	if (kubuf_checksum(fnv_start(seq), d, len) != h->csum)
		bench_abort("byte check: checksum");
	for (i = 0; i < len; i++)
		if (d[i] != kubuf_pattern_byte(seed + (uint32_t)seq, i))
			bench_abort("byte check: data");
}

static void __attribute__((noinline))
word_record(struct kubuf_stream_check *c, uint64_t seq, size_t len)
{
	struct kubuf_stream_rec *h = (struct kubuf_stream_rec *)rec;
	struct kubuf_rec r = {
		.len = (uint32_t)(sizeof(*h) + len), .type = KUBUF_REC_STREAM,
	};

	h->csum = kubuf_stream_fill(h + 1, c->seed + (uint32_t)seq, seq,
				    (uint32_t)len);
	h->seq = seq;
	if (kubuf_stream_verify(c, &r, h))
		bench_abort("word check");
}

void check_run(int word, size_t len, uint64_t n)
{
	struct kubuf_stream_check c;
	uint64_t seq;

	if (len > sizeof(rec) - sizeof(struct kubuf_stream_rec))
		bench_abort("check: record too large");
	kubuf_stream_check_init(&c, 0x5eed, (uint32_t)len);
	for (seq = 0; seq < n; seq++) {
		if (word)
			word_record(&c, seq, len);
		else
			byte_record(c.seed, seq, len);
	}
}
