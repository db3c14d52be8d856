// SPDX-License-Identifier: MIT
/*
 * The simulated device: FILL, CHECKSUM, COPY and RESET on any buffer the
 * fuzzer knows, or guesses.
 */
#include "fuzz.h"

void op_dev_cmd(int op)
{
	struct kubuf_dev_cmd c;
	int i, src_i, want;
	bool ubuf = below(2);
	struct log_ent *e;
	long ret;

	memset(&c, 0, sizeof(c));
	c.op = one_in(20) ? (uint32_t)below(8) : 1 + below(4);
	c.flags = below(3) ? 0 : KUBUF_DEV_NOWAIT;
	if (one_in(20))
		c.flags = rand_bits(KUBUF_DEV_NOWAIT);
	c.kind = one_in(20) ? (uint32_t)below(4) :
		 ubuf ? KUBUF_MEM_UBUF : KUBUF_MEM_KBUF;
	c.id = id_guess(ubuf ? W.ubufs : W.kbufs,
			ubuf ? W.max_ubuf_id : W.max_kbuf_id, &i);
	c.len = below(4) ? 1 + below(16 * PG) : rand_len();
	c.offset = below(3) ? 0 : below(4) ? below(16 * PG) : rnd();
	if (c.op == KUBUF_DEV_FILL) {
		c.seed = rnd();
		/* Synchronous work stays short; a NOWAIT writer may run on. */
		c.repeat = below(4) ? 0 : below(8);
		if ((c.flags & KUBUF_DEV_NOWAIT) && one_in(8))
			c.repeat = one_in(8) ? ~0U : below(2000);
	}
	if (c.op == KUBUF_DEV_COPY) {
		bool su = below(2);

		c.src_kind = su ? KUBUF_MEM_UBUF : KUBUF_MEM_KBUF;
		c.src_id = id_guess(su ? W.ubufs : W.kbufs,
				    su ? W.max_ubuf_id : W.max_kbuf_id, &src_i);
		c.src_offset = below(2) ? 0 : below(16 * PG);
	}
	if (c.op == KUBUF_DEV_RESET && below(4)) {
		c.kind = c.id = 0;
		c.offset = c.len = 0;
	}
	if (one_in(30))
		c.reserved[below(2)] = rnd();
	e = log_begin(op, "fd %d op %u flags %#x kind %u id %u off %#llx len %#llx repeat %u src %u/%u/%#llx",
		      fd_of(i), c.op, c.flags, c.kind, c.id,
		      (unsigned long long)c.offset, (unsigned long long)c.len,
		      c.repeat, c.src_kind, c.src_id,
		      (unsigned long long)c.src_offset);
	ret = ioctl(fd_of(i), KUBUF_IOC_DEV_CMD, &c);
	want = ladder_mode(i, true);
	if (!want && ((c.flags & ~KUBUF_DEV_NOWAIT) || c.reserved[0] ||
		      c.reserved[1] || !c.op || c.op > KUBUF_DEV_RESET))
		want = EINVAL;
	expect_ladder(e, ret, want, E_DEV);
	count(op, ret);
}
