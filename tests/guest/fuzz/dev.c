// SPDX-License-Identifier: MIT
/*
 * The simulated device: FILL, CHECKSUM, COPY and RESET on any buffer the
 * fuzzer knows, or guesses.
 */
#include "fuzz.h"

/* Does [@off, @off + @len) run past every buffer there can be? */
static bool past_any_buffer(uint64_t off, uint64_t len)
{
	uint64_t end, max = W.info.max_ubuf_size > W.info.max_kbuf_size ?
			    W.info.max_ubuf_size : W.info.max_kbuf_size;

	return __builtin_add_overflow(off, len, &end) || end > max;
}

/*
 * Boundaries: op, ids, offset, source offset and length (any value; the
 * range must lie in the buffer), and for FILL the seed (any value) and
 * repeat (0 to KUBUF_DEV_MAX_REPEAT, and (repeat + 1) * len at most
 * KUBUF_DEV_MAX_WORK: around the repeat where the product crosses it
 * too). What no buffer can satisfy must fail: a range past the largest
 * buffer there can be, an id no buffer has, a repeat or a product out of
 * range; a length of 0 is -EINVAL.
 */
void op_dev_cmd(int op)
{
	struct kubuf_dev_cmd c;
	int i, src_i, want;
	bool ubuf = below(2), bad = false;
	uint64_t work;
	struct log_ent *e;
	long ret;

	memset(&c, 0, sizeof(c));
	c.op = one_in(20) ? (uint32_t)below(8) : 1 + below(4);
	c.op = BOUND32(c.op, KUBUF_DEV_RESET);
	c.flags = below(3) ? 0 : KUBUF_DEV_NOWAIT;
	if (one_in(20))
		c.flags = rand_bits(KUBUF_DEV_NOWAIT);
	c.kind = one_in(20) ? (uint32_t)below(4) :
		 ubuf ? KUBUF_MEM_UBUF : KUBUF_MEM_KBUF;
	c.id = id_guess(ubuf ? W.ubufs : W.kbufs,
			ubuf ? W.max_ubuf_id : W.max_kbuf_id, &i);
	c.id = bound_id(c.id, ubuf ? W.max_ubuf_id : W.max_kbuf_id);
	c.len = below(4) ? 1 + below(16 * PG) : rand_len();
	c.len = BOUND64(c.len, KUBUF_DEV_MAX_WORK, PG, W.info.max_kbuf_size,
			W.info.max_ubuf_size);
	c.offset = below(3) ? 0 : below(4) ? below(16 * PG) : rnd();
	c.offset = BOUND64(c.offset, UINT64_MAX, PG, W.info.max_kbuf_size,
			   W.info.max_ubuf_size);
	if (c.op == KUBUF_DEV_FILL) {
		c.seed = BOUND32((uint32_t)rnd(), UINT32_MAX);
		/* Synchronous work stays short; a NOWAIT writer may run on. */
		c.repeat = below(4) ? 0 : below(8);
		if ((c.flags & KUBUF_DEV_NOWAIT) && one_in(8))
			c.repeat = one_in(8) ? KUBUF_DEV_MAX_REPEAT :
				   below(KUBUF_DEV_MAX_REPEAT + 1);
		c.repeat = BOUND32(c.repeat, KUBUF_DEV_MAX_REPEAT,
				   c.len ? KUBUF_DEV_MAX_WORK / c.len - 1 : 0);
	}
	if (c.op == KUBUF_DEV_COPY) {
		bool su = below(2);

		c.src_kind = su ? KUBUF_MEM_UBUF : KUBUF_MEM_KBUF;
		c.src_id = id_guess(su ? W.ubufs : W.kbufs,
				    su ? W.max_ubuf_id : W.max_kbuf_id, &src_i);
		c.src_id = bound_id(c.src_id, su ? W.max_ubuf_id :
					      W.max_kbuf_id);
		c.src_offset = below(2) ? 0 : below(16 * PG);
		c.src_offset = BOUND64(c.src_offset, UINT64_MAX, PG,
				       W.info.max_kbuf_size,
				       W.info.max_ubuf_size);
		bad = past_any_buffer(c.src_offset, c.len) ||
		      id_impossible(c.src_id, c.src_kind == KUBUF_MEM_KBUF);
	}
	if (c.op == KUBUF_DEV_RESET && below(4)) {
		c.kind = c.id = 0;
		c.offset = c.len = 0;
	}
	if (one_in(30))
		c.reserved[below(2)] = rnd();
	e = log_begin(op, "fd %d op %u flags %#x kind %u id %u off %#llx len %#llx seed %#x repeat %u src %u/%u/%#llx",
		      fd_of(i), c.op, c.flags, c.kind, c.id,
		      (unsigned long long)c.offset, (unsigned long long)c.len,
		      c.seed, c.repeat, c.src_kind, c.src_id,
		      (unsigned long long)c.src_offset);
	ret = ioctl(fd_of(i), KUBUF_IOC_DEV_CMD, &c);
	want = ladder_mode(i, true);
	if (!want && ((c.flags & ~KUBUF_DEV_NOWAIT) || c.reserved[0] ||
		      c.reserved[1] || !c.op || c.op > KUBUF_DEV_RESET))
		want = EINVAL;
	if (!want && c.op != KUBUF_DEV_RESET) {
		if (!c.len)
			want = EINVAL;
		else if (past_any_buffer(c.offset, c.len) ||
			 id_impossible(c.id, c.kind == KUBUF_MEM_KBUF))
			bad = true;
		if (c.op == KUBUF_DEV_FILL &&
		    (c.repeat > KUBUF_DEV_MAX_REPEAT ||
		     __builtin_mul_overflow((uint64_t)c.repeat + 1, c.len,
					    &work) ||
		     work > KUBUF_DEV_MAX_WORK))
			bad = true;
	}
	if (!want && bad)
		expect_fail(e, ret, E_DEV);
	else
		expect_ladder(e, ret, want, E_DEV);
	count(op, ret);
}
