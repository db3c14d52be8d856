// SPDX-License-Identifier: MIT
/*
 * libkubuf: the simulated device's stream, and the check of its records.
 */
#include <string.h>

#include "internal.h"

_Static_assert(sizeof(struct kubuf_stream) == 48, "kubuf_stream layout");
_Static_assert(sizeof(struct kubuf_stream_rec) == 16, "kubuf_stream_rec layout");

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
	uint32_t i, seed;
	uint64_t seq;

	if (rec->type != KUBUF_REC_STREAM ||
	    rec->len != sizeof(*h) + (uint64_t)c->rec_size)
		goto corrupt;
	/* The record is in shared memory: read what is checked once. */
	memcpy(&seq, &h->seq, sizeof(seq));
	if (seq < c->next_seq)
		goto corrupt;
	if (kubuf_checksum(kubuf_stream_csum_start(seq), data, c->rec_size) !=
	    h->csum)
		goto corrupt;
	seed = c->seed + (uint32_t)seq;
	for (i = 0; i < c->rec_size; i++)
		if (data[i] != kubuf_pattern_byte(seed, i))
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
