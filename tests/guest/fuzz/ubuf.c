// SPDX-License-Identifier: MIT
/*
 * Technique 1: the application's memory registered, unregistered and
 * queried; the caller-context variant (UCOPY) and the copying read().
 */
#include "fuzz.h"

/*
 * Boundaries: the address from bound_addr() (no memory there), the length
 * around 1, a page and kubuf_info.max_ubuf_size. Whatever the length, a
 * registration at no memory must fail.
 */
void op_register(int op)
{
	int i = slot_pick(), want;
	struct kubuf_ubuf_reg r, *argp;
	uint64_t len = rand_len(), end;
	struct id_ent *ent;
	struct log_ent *e;
	long ret;

	memset(&r, 0, sizeof(r));
	r.addr = bound_addr(rand_addr(&len));
	r.len = BOUND64(len, W.info.max_ubuf_size, PG);
	r.access = one_in(10) ? rand_bits(RW) : 1 + below(3);
	if (one_in(20))
		r.flags = rand_bits(0);
	if (one_in(30))
		r.reserved[below(2)] = rnd();
	argp = rand_argp(&r, sizeof(r));
	e = log_begin(op, "fd %d addr %#llx len %#llx access %#x flags %#x%s",
		      fd_of(i), (unsigned long long)r.addr,
		      (unsigned long long)r.len, r.access, r.flags,
		      argp != &r ? " argp hostile" : "");
	ret = ioctl(fd_of(i), KUBUF_IOC_UBUF_REGISTER, argp);
	want = ladder_mode(i, true);
	if (!want && argp == &r) {
		if (r.flags || r.reserved0 || r.reserved[0] || r.reserved[1] ||
		    !r.access || (r.access & ~RW) || !r.len)
			want = EINVAL;
		else if (r.len > W.info.max_ubuf_size)
			want = E2BIG;
		else if (__builtin_add_overflow(r.addr, r.len, &end))
			want = EFAULT;
	}
	if (!want && argp == &r && addr_is_bad(r.addr))
		expect_fail(e, ret, E_REGISTER);
	else
		expect_ladder(e, ret, want, E_REGISTER);
	count(op, ret);
	if (ret == 0 && argp == &r) {
		ent = id_add(W.ubufs, i, r.id);
		if (ent) {
			ent->off = r.addr;
			ent->len = r.len;
			ent->flags = r.access;
		}
		if (r.id > W.max_ubuf_id)
			W.max_ubuf_id = r.id;
	}
}

/* An id that can name nothing (0) must fail. */
void op_unregister(int op)
{
	int i;
	uint32_t id = bound_id(id_guess(W.ubufs, W.max_ubuf_id, &i),
			       W.max_ubuf_id);
	struct kubuf_id a = { .id = id, .flags = one_in(20) ? rand_bits(0) : 0 };
	struct kubuf_id *argp = rand_argp(&a, sizeof(a));
	struct log_ent *e = log_begin(op, "fd %d id %u flags %#x", fd_of(i),
				      id, a.flags);
	long ret = ioctl(fd_of(i), KUBUF_IOC_UBUF_UNREGISTER, argp);
	int j;

	if (argp == &a && id_impossible(id, false))
		expect_fail(e, ret, E_ID);
	else
		expect(e, ret, E_ID);
	count(op, ret);
	if (ret == 0)
		for (j = 0; j < MAX_IDS; j++)
			if (W.ubufs[j].live && W.ubufs[j].fdi == i &&
			    W.ubufs[j].id == id)
				W.ubufs[j].live = false;
}

void op_query(int op)
{
	struct id_ent *ent = id_pick(W.ubufs);
	struct kubuf_ubuf_query q;
	struct log_ent *e;
	int i = ent ? ent->fdi : slot_pick();
	long ret;

	kt_poison(&q, sizeof(q));
	q.id = ent ? ent->id : (uint32_t)below(W.max_ubuf_id + 2);
	q.id = bound_id(q.id, W.max_ubuf_id);
	if (ent && q.id != ent->id)
		ent = NULL;
	q.flags = one_in(20) ? rand_bits(0) : 0;
	e = log_begin(op, "fd %d id %u flags %#x", fd_of(i), q.id, q.flags);
	ret = ioctl(fd_of(i), KUBUF_IOC_UBUF_QUERY, &q);
	if (id_impossible(q.id, false))
		expect_fail(e, ret, E_QUERY);
	else
		expect(e, ret, E_QUERY);
	count(op, ret);
	if (ret < 0)
		return;
	/* Ids are never reused in a file: an answer is about ours. */
	if (q.reserved[0] || q.reserved[1] ||
	    (q.state != KUBUF_UBUF_ACTIVE && q.state != KUBUF_UBUF_REVOKED) ||
	    (q.state == KUBUF_UBUF_REVOKED && q.nr_pages))
		fuzz_fail("QUERY: bad answer: state %u nr_pages %llu reserved %llx %llx",
			  q.state, (unsigned long long)q.nr_pages,
			  (unsigned long long)q.reserved[0],
			  (unsigned long long)q.reserved[1]);
	if (ent && (q.addr != ent->off || q.len != ent->len ||
		    q.access != ent->flags))
		fuzz_fail("QUERY of id %u: addr %#llx len %#llx access %#x, registered %#llx %#llx %#x",
			  q.id, (unsigned long long)q.addr,
			  (unsigned long long)q.len, q.access,
			  (unsigned long long)ent->off,
			  (unsigned long long)ent->len, ent->flags);
}

/*
 * The caller-context variant, anywhere: FILL writes only fuzz memory.
 * Boundaries: op, address, length (up to kubuf_info.max_ubuf_size: 0 is
 * -EINVAL, above -E2BIG), seed (any value). Once the other fields are
 * valid, a length out of range gets its errno, and no memory at the
 * address a failure.
 */
void op_ucopy(int op)
{
	int i = slot_pick(), want = 0;
	struct kubuf_ucopy u, *argp;
	uint64_t len = rand_len(), end;
	struct log_ent *e;
	long ret;

	memset(&u, 0, sizeof(u));
	u.op = one_in(10) ? (uint32_t)below(5) : 1 + below(2);
	u.op = BOUND32(u.op, KUBUF_UCOPY_CHECKSUM);
	u.addr = bound_addr(rand_addr(&len));
	u.len = BOUND64(len, W.info.max_ubuf_size, PG);
	if (u.op == KUBUF_UCOPY_FILL || one_in(20))
		u.seed = rnd();
	u.seed = BOUND32(u.seed, UINT32_MAX);
	if (one_in(20))
		u.flags = rand_bits(0);
	argp = rand_argp(&u, sizeof(u));
	e = log_begin(op, "fd %d op %u addr %#llx len %#llx seed %#x%s",
		      fd_of(i), u.op, (unsigned long long)u.addr,
		      (unsigned long long)u.len, u.seed,
		      argp != &u ? " argp hostile" : "");
	ret = ioctl(fd_of(i), KUBUF_IOC_UCOPY, argp);
	if (argp == &u && !u.flags && (u.op == KUBUF_UCOPY_FILL ||
				       (u.op == KUBUF_UCOPY_CHECKSUM && !u.seed))) {
		if (!u.len)
			want = EINVAL;
		else if (u.len > W.info.max_ubuf_size)
			want = E2BIG;
		else if (addr_is_bad(u.addr) ||
			 __builtin_add_overflow(u.addr, u.len, &end))
			want = -1;
	}
	if (want < 0)
		expect_fail(e, ret, E_UCOPY);
	else
		expect_ladder(e, ret, want, E_UCOPY);
	count(op, ret);
}

/*
 * Boundaries: the length (any value; at most 1 MiB is read), and an
 * address with no memory, where reading anything must fail.
 */
void op_read(int op)
{
	int i = slot_pick();
	uint64_t len = below(4) ? 1 + below(64 * PG) : rand_len();
	uint64_t addr = bound_addr(rand_addr(&len));
	struct log_ent *e;
	long ret;

	len = BOUND64(len, UINT64_MAX, 1ULL << 20, PG);
	e = log_begin(op, "fd %d buf %#llx len %#llx", fd_of(i),
		      (unsigned long long)addr, (unsigned long long)len);
	ret = read(fd_of(i), (void *)(uintptr_t)addr, len);
	if (len && addr_is_bad(addr))
		expect_fail(e, ret, E_READ);
	else
		expect(e, ret, E_READ);
	count(op, ret);
	if (ret > 0 && ((uint64_t)ret > len || ret > (1L << 20)))
		fuzz_fail("read of %llu bytes returned %ld",
			  (unsigned long long)len, ret);
}
