/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * kubuf ring - a lock-free single-producer, single-consumer ring of
 * variable-length records in memory shared by the module and an
 * application. This header is the ring's ABI: its layout, its records
 * and the constants both sides use. The protocol (wakeups, memory
 * ordering, the checks each side makes) and the one implementation of
 * both sides, used as is by the module and by libkubuf, are
 * include/kubuf/ring.h in kubuf's sources; applications use a ring
 * through libkubuf (<kubuf.h>).
 *
 * Layout. A ring is KUBUF_RING_CTL_SIZE bytes of control followed by a
 * data area of a power-of-two size, placed anywhere (64-byte aligned) in
 * a registered buffer or a driver buffer (KUBUF_IOC_RING_ATTACH):
 *
 *   +0    producer's line   head, dropped, room  written by the producer only
 *   +64   (empty: keeps the two lines apart for adjacent-line prefetch)
 *   +128  consumer's line   tail, waiting      written by the consumer only
 *   +192  description       magic, data_size   written once, at attach
 *   +256  data area         records, size a power of two
 *
 * Positions. head and tail count bytes since the ring was attached; they
 * never wrap in practice (64 bits) and are reduced modulo the data size
 * only to address the data area. head - tail is the bytes in use: 0 is
 * empty, data_size is full. Only the producer moves head and only the
 * consumer moves tail; each side keeps its own position privately and
 * only publishes it, so neither ever trusts the other's copy of its own.
 *
 * Records. Every record starts 8-byte aligned with a struct kubuf_rec
 * header and takes kubuf_rec_size(len) bytes. A record is never split
 * across the end of the data area: when it would not fit before the end,
 * the producer first fills the rest with a KUBUF_REC_PAD record, which
 * the consumer skips. So a consumer always sees a record whole, in one
 * piece, at data + (tail % data_size).
 *
 * Full ring. The producer never overwrites what the consumer has not
 * released. A producer that cannot wait drops the record and counts it
 * in dropped (the simulated device's stream does this, unless it was
 * started lossless); records carry sequence numbers, so the consumer
 * sees where the gaps are. A producer that waits (a lossless stream)
 * sets room to the tail it needs: a consumer that releases up to room
 * or past it calls KUBUF_IOC_RING_KICK on the ring, once for each value
 * room takes, and the producer runs again at once. Room is a wakeup the
 * way data is: each side sleeps, and the other wakes it only when it
 * said it waits.
 */
#ifndef _UAPI_LINUX_KUBUF_RING_H
#define _UAPI_LINUX_KUBUF_RING_H

#include <linux/kubuf.h>
#include <linux/types.h>

#define KUBUF_RING_MAGIC	0x6b627267U	/* "kbrg" */
#define KUBUF_RING_CTL_SIZE	256
#define KUBUF_RING_ALIGN	64	/* ring start alignment, bytes */
#define KUBUF_RING_MIN_DATA	256	/* smallest data area, bytes */
#define KUBUF_RING_MAX_DATA	0x40000000U	/* largest data area: 1 GiB */

/**
 * struct kubuf_ring_ctl - the control block at the start of a ring.
 * @head:	producer: bytes published.
 * @dropped:	producer: records not produced for lack of space.
 * @room:	producer: 0, or the tail it waits for, the ring being too
 *		full (see "Full ring" above).
 * @pad0:	zero.
 * @tail:	consumer: bytes released.
 * @waiting:	consumer: non-zero when about to sleep until woken.
 * @pad1:	zero.
 * @magic:	KUBUF_RING_MAGIC, written at attach (informative only).
 * @data_size:	bytes of the data area, written at attach (informative:
 *		each side uses the size it was given, never this copy).
 * @pad2:	zero.
 */
struct kubuf_ring_ctl {
	__u64 head;
	__u64 dropped;
	__u64 room;
	__u64 pad0[13];
	__u64 tail;
	__u32 waiting;
	__u32 pad1[13];
	__u32 magic;
	__u32 data_size;
	__u64 pad2[7];
};

/* Record types, in kubuf_rec.type. */
#define KUBUF_REC_PAD		0	/* filler up to the end of the data */
#define KUBUF_REC_STREAM	1	/* device -> app: struct kubuf_stream_rec */
#define KUBUF_REC_CMD		2	/* app -> device: struct kubuf_ring_cmd */
#define KUBUF_REC_DONE		3	/* device -> app: struct kubuf_ring_done */
#define KUBUF_REC_USER		16	/* first type free for applications */
#define KUBUF_REC_TYPE_MAX	0xffff

/**
 * struct kubuf_rec - the header of every record.
 * @len:	bytes of payload after this header (padding not included).
 * @type:	KUBUF_REC_*.
 * @flags:	zero.
 */
struct kubuf_rec {
	__u32 len;
	__u16 type;
	__u16 flags;
};

/* Bytes a record with @len bytes of payload occupies in the data area. */
static __inline__ __u64 kubuf_rec_size(__u64 len)
{
	return (sizeof(struct kubuf_rec) + len + 7) & ~(__u64)7;
}

/**
 * struct kubuf_stream_rec - a record of the simulated device's stream.
 * @seq:	0, 1, 2, ... for each record of the stream; a gap means
 *		records were dropped.
 * @csum:	the checksum of the data that follows (kubuf_stream_fill()).
 *
 * Followed by the record's data: byte i is kubuf_pattern_byte(seed + seq,
 * i), seed as given to KUBUF_IOC_STREAM_START.
 */
struct kubuf_stream_rec {
	__u64 seq;
	__u64 csum;
};

/**
 * struct kubuf_ring_cmd - a command for the device (KUBUF_REC_CMD).
 * @op:		KUBUF_RCMD_*.
 * @kind:	FILL, CHECKSUM: the buffer's kind (KUBUF_MEM_*).
 * @id:		FILL, CHECKSUM: the buffer's id.
 * @seed:	FILL: the pattern's seed.
 * @offset:	FILL, CHECKSUM: first byte.
 * @len:	FILL, CHECKSUM: bytes, not 0.
 * @tag:	the application's; returned in the completion.
 *
 * ECHO carries up to KUBUF_RCMD_ECHO_MAX bytes after this structure and
 * the completion returns them. Every other field of an op must be zero.
 */
struct kubuf_ring_cmd {
	__u32 op;
	__u32 kind;
	__u32 id;
	__u32 seed;
	__u64 offset;
	__u64 len;
	__u64 tag;
};

#define KUBUF_RCMD_FILL		1	/* as KUBUF_DEV_FILL */
#define KUBUF_RCMD_CHECKSUM	2	/* as KUBUF_DEV_CHECKSUM */
#define KUBUF_RCMD_ECHO		3	/* return the payload */
#define KUBUF_RCMD_RESET	4	/* as KUBUF_DEV_RESET */
#define KUBUF_RCMD_ECHO_MAX	4096

/**
 * struct kubuf_ring_done - the completion of a command (KUBUF_REC_DONE),
 * produced into the command ring's reply ring.
 * @tag:	the command's tag.
 * @status:	0 or -errno, as the matching KUBUF_IOC_DEV_CMD would return
 *		(-EINVAL for a malformed command).
 * @op:		the command's op.
 * @result:	CHECKSUM: the checksum.
 *
 * ECHO: followed by the payload.
 */
struct kubuf_ring_done {
	__u64 tag;
	__s32 status;
	__u32 op;
	__u64 result;
};

/* What failed when a ring call returns -EPROTO. */
#define KUBUF_RING_ERR_TAIL	1	/* tail outside [last tail, head] */
#define KUBUF_RING_ERR_HEAD	2	/* head outside [last head, tail+size] */
#define KUBUF_RING_ERR_REC	3	/* a record header is not valid */

/*
 * The stream record's data and checksum, 8 bytes at a time. The checksum
 * is a 64-bit multiply-rotate hash of the data read as little-endian
 * 8-byte words (the last 1 to 7 bytes zero-extended), started from the
 * sequence number and the length: a few instructions per word, so that
 * the device writes, and the application checks, every byte at close to
 * memory speed.
 */
#define KUBUF_STREAM_K1		0x9E3779B185EBCA87ULL
#define KUBUF_STREAM_K2		0xC2B2AE3D27D4EB4FULL

static __inline__ __u64 kubuf_stream_csum_start(__u64 seq, __u32 len)
{
	return ((seq + KUBUF_STREAM_K2) * KUBUF_STREAM_K1) ^ len;
}

static __inline__ __u64 kubuf_stream_csum_word(__u64 sum, __u64 w)
{
	sum ^= w * KUBUF_STREAM_K2;
	sum = (sum << 31) | (sum >> 33);
	return sum * KUBUF_STREAM_K1;
}

/* A word of memory as a little-endian number, whatever its alignment. */
static __inline__ __u64 kubuf_stream_load(const void *p)
{
	__u64 w;

	__builtin_memcpy(&w, p, sizeof(w));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

static __inline__ void kubuf_stream_store(void *p, __u64 w)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	__builtin_memcpy(p, &w, sizeof(w));
}

/* The last @n (1 to 7) bytes of the pattern from word @k on, zero-extended. */
static __inline__ __u64 kubuf_stream_tail(__u32 seed, __u64 k, __u32 n)
{
	return kubuf_pattern_word(seed, k) & ((1ULL << (8 * n)) - 1);
}

/*
 * Write the @len data bytes of stream record @seq (pattern seed @seed,
 * the stream's seed plus @seq) at @data; returns their checksum.
 */
static __inline__ __u64 kubuf_stream_fill(void *data, __u32 seed, __u64 seq,
					  __u32 len)
{
	__u8 *d = (__u8 *)data;
	__u64 sum = kubuf_stream_csum_start(seq, len), w, k;
	__u32 i;

	for (k = 0; k < len / 8; k++) {
		w = kubuf_pattern_word(seed, k);
		kubuf_stream_store(d + 8 * k, w);
		sum = kubuf_stream_csum_word(sum, w);
	}
	if (len % 8) {
		w = kubuf_stream_tail(seed, k, len % 8);
		for (i = 0; i < len % 8; i++)
			d[8 * k + i] = (__u8)(w >> (8 * i));
		sum = kubuf_stream_csum_word(sum, w);
	}
	return sum;
}

#endif /* _UAPI_LINUX_KUBUF_RING_H */
