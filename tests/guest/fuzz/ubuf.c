// SPDX-License-Identifier: MIT
/*
 * Technique 1: the application's memory registered, unregistered and
 * queried; the caller-context variant (UCOPY) and the copying read().
 */
#include "fuzz.h"

void op_register(int op)
{
	int i = slot_pick(), want;
	struct kubuf_ubuf_reg r, *argp;
	uint64_t len = rand_len(), end;
	struct id_ent *ent;
	struct log_ent *e;
	long ret;

	memset(&r, 0, sizeof(r));
	r.addr = rand_addr(&len);
	r.len = len;
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

void op_unregister(int op)
{
	int i;
	uint32_t id = id_guess(W.ubufs, W.max_ubuf_id, &i);
	struct kubuf_id a = { .id = id, .flags = one_in(20) ? rand_bits(0) : 0 };
	struct log_ent *e = log_begin(op, "fd %d id %u flags %#x", fd_of(i),
				      id, a.flags);
	long ret = ioctl(fd_of(i), KUBUF_IOC_UBUF_UNREGISTER,
			 rand_argp(&a, sizeof(a)));
	int j;

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
	q.flags = one_in(20) ? rand_bits(0) : 0;
	e = log_begin(op, "fd %d id %u flags %#x", fd_of(i), q.id, q.flags);
	ret = expect(e, ioctl(fd_of(i), KUBUF_IOC_UBUF_QUERY, &q), E_QUERY);
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

/* The caller-context variant, anywhere: FILL writes only fuzz memory. */
void op_ucopy(int op)
{
	int i = slot_pick();
	struct kubuf_ucopy u;
	uint64_t len = rand_len();
	struct log_ent *e;
	long ret;

	memset(&u, 0, sizeof(u));
	u.op = one_in(10) ? (uint32_t)below(5) : 1 + below(2);
	u.addr = rand_addr(&len);
	u.len = len;
	if (u.op == KUBUF_UCOPY_FILL || one_in(20))
		u.seed = rnd();
	if (one_in(20))
		u.flags = rand_bits(0);
	e = log_begin(op, "fd %d op %u addr %#llx len %#llx seed %#x",
		      fd_of(i), u.op, (unsigned long long)u.addr,
		      (unsigned long long)u.len, u.seed);
	ret = expect(e, ioctl(fd_of(i), KUBUF_IOC_UCOPY,
			      rand_argp(&u, sizeof(u))), E_UCOPY);
	count(op, ret);
}

void op_read(int op)
{
	int i = slot_pick();
	uint64_t len = below(4) ? 1 + below(64 * PG) : rand_len();
	uint64_t addr = rand_addr(&len);
	struct log_ent *e = log_begin(op, "fd %d buf %#llx len %#llx",
				      fd_of(i), (unsigned long long)addr,
				      (unsigned long long)len);
	long ret = read(fd_of(i), (void *)(uintptr_t)addr, len);

	expect(e, ret, E_READ);
	count(op, ret);
	if (ret > 0 && ((uint64_t)ret > len || ret > (1L << 20)))
		fuzz_fail("read of %llu bytes returned %ld",
			  (unsigned long long)len, ret);
}
