// SPDX-License-Identifier: GPL-2.0
/*
 * The simulated device's part of the two copying paths, the reference
 * the zero-copy techniques are measured against (the core moves the
 * bytes to and from the application; see kernel/core/copy.c):
 *
 *   KUBUF_IOC_UCOPY, the article's "neither" method: FILL writes the
 *   pattern with the caller's seed, CHECKSUM sums what the caller gave;
 *
 *   read(), the "buffered" method: byte i of a read is
 *   kubuf_pattern_byte(0, i).
 *
 * For comparing these paths with a bare stream (bench/), the parameter
 * read_rec = N makes read() and FILL write what a bare stream of N data
 * bytes per record carries instead: records of a struct kubuf_stream_rec
 * (record k of the call: seq k, csum 0) and N data bytes, back to back
 * from the call's first byte. A kernel buffer cannot be handed out
 * unwritten, so the data bytes are zeroed, where a DMA card would have
 * written them without the CPU; bench/README.md says how that is
 * accounted for. It is read for each read() and for each page of a
 * UCOPY: a change during a UCOPY gives pages of both kinds, each whole.
 */
#include <linux/math64.h>
#include <linux/moduleparam.h>
#include <linux/string.h>

#include <kubuf/core.h>

#include "sim.h"

static unsigned int read_rec;

static int kubuf_sim_read_rec_set(const char *val,
				  const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 0, KUBUF_STREAM_MAX_REC);
}

static const struct kernel_param_ops kubuf_sim_read_rec_ops = {
	.set	= kubuf_sim_read_rec_set,
	.get	= param_get_uint,
};

module_param_cb(read_rec, &kubuf_sim_read_rec_ops, &read_rec, 0644);
MODULE_PARM_DESC(read_rec,
		 "0: read() and UCOPY fill write the pattern; N (at most 65536): bare stream records of N data bytes");

static void kubuf_sim_pattern(u8 *p, u64 n, u32 seed, u64 off)
{
	u64 i;

	for (i = 0; i < n; i++)
		p[i] = kubuf_pattern_byte(seed, off + i);
}

/*
 * Bytes [@off, @off + @n) of back-to-back bare records of @rec data
 * bytes into @p: zero, and the part of each header that falls there.
 */
static void kubuf_sim_bare(u8 *p, u64 n, u64 off, u32 rec)
{
	const u64 size = sizeof(struct kubuf_stream_rec) + rec;
	u64 k = div64_u64(off, size), end = off + n;

	memset(p, 0, n);
	for (; k * size < end; k++) {
		struct kubuf_stream_rec h = { .seq = k };
		u64 from = max(k * size, off);
		u64 to = min(k * size + sizeof(h), end);

		if (from < to)
			memcpy(p + (from - off), (u8 *)&h + (from - k * size),
			       to - from);
	}
}

/* What FILL and read() write: @n bytes from byte @off of the call. */
static void kubuf_sim_fill(u8 *p, u64 n, u32 seed, u64 off)
{
	u32 rec = READ_ONCE(read_rec);

	if (rec)
		kubuf_sim_bare(p, n, off, rec);
	else
		kubuf_sim_pattern(p, n, seed, off);
}

/* One page of KUBUF_IOC_UCOPY, in the caller's context. */
int kubuf_sim_ucopy(struct kubuf_device *kd, u32 op, u32 seed, void *page,
		    u64 off, u32 n, u64 *sum)
{
	if (op == KUBUF_UCOPY_FILL)
		kubuf_sim_fill(page, n, seed, off);
	else
		*sum = kubuf_checksum(*sum, page, n);
	return 0;
}

/* read(): the device fills the buffer, on its workers. */
int kubuf_sim_read(struct kubuf_device *kd, void *buf, size_t len)
{
	kubuf_sim_fill(buf, len, 0, 0);
	return 0;
}
