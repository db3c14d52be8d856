// SPDX-License-Identifier: MIT
/*
 * libkubuf: the simulated device's stream, and the check of its records.
 */
#include <string.h>

#include "internal.h"

_Static_assert(sizeof(struct kubuf_stream) == 48, "kubuf_stream layout");
_Static_assert(sizeof(struct kubuf_stream_rec) == 16, "kubuf_stream_rec layout");
/* The library's own structures the caller allocates: frozen sizes. */
_Static_assert(sizeof(struct kubuf_stream_check) == 80, "kubuf_stream_check size");

KUBUF_API int kubuf_stream_start(struct kubuf_ring *r,
				 const struct kubuf_stream *s)
{
	struct kubuf_stream arg = *s;

	arg.ring_id = r->id;
	return kubuf_ring_ioctl(r, KUBUF_IOC_STREAM_START, &arg);
}

KUBUF_API int kubuf_stream_stop(struct kubuf_ring *r)
{
	struct kubuf_id arg = { .id = r->id };

	return kubuf_ring_ioctl(r, KUBUF_IOC_STREAM_STOP, &arg);
}

KUBUF_API void kubuf_stream_check_init(struct kubuf_stream_check *c,
				       uint32_t seed, uint32_t rec_size)
{
	memset(c, 0, sizeof(*c));
	c->seed = seed;
	c->rec_size = rec_size;
}

KUBUF_API int kubuf_stream_verify(struct kubuf_stream_check *c,
				  const struct kubuf_rec *rec,
				  const void *payload)
{
	const struct kubuf_stream_rec *h = payload;
	const uint8_t *data = (const uint8_t *)(h + 1);
	uint32_t i, n, seed;
	uint64_t seq, csum, sum, w, k;

	if (rec->type != KUBUF_REC_STREAM ||
	    rec->len != sizeof(*h) + (uint64_t)c->rec_size)
		goto corrupt;
	/* The record is in shared memory: read what is checked once. */
	memcpy(&seq, &h->seq, sizeof(seq));
	memcpy(&csum, &h->csum, sizeof(csum));
	if (seq < c->next_seq)
		goto corrupt;
	/* Every byte against the pattern, and the checksum, in one pass. */
	seed = c->seed + (uint32_t)seq;
	sum = kubuf_stream_csum_start(seq, c->rec_size);
	for (k = 0; k < c->rec_size / 8; k++) {
		w = kubuf_stream_load(data + 8 * k);
		if (w != kubuf_pattern_word(seed, k))
			goto corrupt;
		sum = kubuf_stream_csum_word(sum, w);
	}
	n = c->rec_size % 8;
	if (n) {
		for (w = 0, i = 0; i < n; i++)
			w |= (uint64_t)data[8 * k + i] << (8 * i);
		if (w != kubuf_stream_tail(seed, k, n))
			goto corrupt;
		sum = kubuf_stream_csum_word(sum, w);
	}
	if (sum != csum)
		goto corrupt;
	c->missing += seq - c->next_seq;
	c->next_seq = seq + 1;
	c->records++;
	c->bytes += c->rec_size;
	return 0;

corrupt:
	c->corrupt++;
	return -EBADMSG;
}
