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
 */
#include <kubuf/core.h>

#include "sim.h"

static void kubuf_sim_pattern(u8 *p, u64 n, u32 seed, u64 off)
{
	u64 i;

	for (i = 0; i < n; i++)
		p[i] = kubuf_pattern_byte(seed, off + i);
}

/* One page of KUBUF_IOC_UCOPY, in the caller's context. */
int kubuf_sim_ucopy(struct kubuf_device *kd, u32 op, u32 seed, void *page,
		    u64 off, u32 n, u64 *sum)
{
	if (op == KUBUF_UCOPY_FILL)
		kubuf_sim_pattern(page, n, seed, off);
	else
		*sum = kubuf_checksum(*sum, page, n);
	return 0;
}

/* read(): the device fills the buffer, on its workers. */
int kubuf_sim_read(struct kubuf_device *kd, void *buf, size_t len)
{
	kubuf_sim_pattern(buf, len, 0, 0);
	return 0;
}
