// SPDX-License-Identifier: MIT
/*
 * Technique 2: driver buffers allocated, freed, mapped, unmapped,
 * remapped, protected, advised and touched.
 */
#include "fuzz.h"

static const int E_QUOTA[] = { EDQUOT, ENOSPC, 0 };

/*
 * Boundaries: size (1 to kubuf_info.max_kbuf_size; around a page and the
 * user's quota of pages too), kind and cache. A buffer of pages larger
 * than the user's quota must fail, -EDQUOT (or -ENOSPC, if the file is
 * full first); other valid sizes stay within the fuzzer's budget. An
 * answer's reserved0 is zero, whatever the call found there.
 */
void op_alloc(int op)
{
	int i = slot_pick(), want;
	struct kubuf_kbuf_alloc a, *argp;
	bool wc = W.info.features & KUBUF_FEAT_KBUF_WC, over_quota;
	uint64_t quota = (uint64_t)W.info.user_kbuf_pages * PG;
	struct id_ent *ent;
	struct log_ent *e;
	long ret;

	memset(&a, 0, sizeof(a));
	a.size = below(8) ? (1 + below(16)) * PG - below(2) : rand_len();
	a.size = BOUND64(a.size, W.info.max_kbuf_size, PG, quota);
	a.kind = one_in(20) ? (uint32_t)rnd() : below(4) == 0;
	a.kind = BOUND32(a.kind, KUBUF_KBUF_DMA);
	a.cache = one_in(20) ? (uint32_t)rnd() : below(3) ? 0 : below(3);
	a.cache = BOUND32(a.cache, KUBUF_CACHE_UNCACHED);
	over_quota = quota && a.kind == KUBUF_KBUF_PAGES && a.size > quota;
	if (a.size && a.size <= W.info.max_kbuf_size && !over_quota &&
	    W.kbuf_bytes + a.size > KBUF_BUDGET)
		a.size = PG;
	a.flags = one_in(20) ? rand_bits(0) : below(2) * KUBUF_KBUF_APP_WRITE;
	if (one_in(30))
		a.reserved[below(2)] = rnd();
	if (below(2))
		a.reserved0 = 0xa5a5a5a5a5a5a5a5ULL;
	argp = rand_argp(&a, sizeof(a));
	e = log_begin(op, "fd %d size %#llx kind %u cache %u flags %#x%s",
		      fd_of(i), (unsigned long long)a.size, a.kind, a.cache,
		      a.flags, argp != &a ? " argp hostile" : "");
	ret = ioctl(fd_of(i), KUBUF_IOC_KBUF_ALLOC, argp);
	want = ladder_mode(i, true);
	if (!want && argp == &a) {
		if ((a.flags & ~KUBUF_KBUF_APP_WRITE) || a.reserved[0] ||
		    a.reserved[1] || a.kind > KUBUF_KBUF_DMA ||
		    a.cache > KUBUF_CACHE_UNCACHED || !a.size)
			want = EINVAL;
		else if (a.size > W.info.max_kbuf_size)
			want = E2BIG;
		else if (a.cache && (a.kind != KUBUF_KBUF_PAGES || !wc))
			want = EOPNOTSUPP;
		else if (over_quota)
			want = -1;
	}
	if (want < 0)
		expect_fail(e, ret, E_QUOTA);
	else
		expect_ladder(e, ret, want, E_ALLOC);
	count(op, ret);
	if (ret == 0 && argp == &a && a.reserved0)
		fuzz_fail("KBUF_ALLOC: reserved0 %#llx, not 0",
			  (unsigned long long)a.reserved0);
	if (ret == 0 && argp == &a) {
		ent = id_add(W.kbufs, i, a.id);
		if (ent) {
			ent->off = a.mmap_offset;
			ent->len = (a.size + PG - 1) & ~(PG - 1);
			ent->flags = a.flags;
			W.kbuf_bytes += ent->len;
		}
		if (a.id > W.max_kbuf_id)
			W.max_kbuf_id = a.id;
	}
}

/* An id that can name no buffer (0, 2^16 and above) must fail. */
void op_free(int op)
{
	int i, j;
	uint32_t id = bound_id(id_guess(W.kbufs, W.max_kbuf_id, &i),
			       W.max_kbuf_id);
	struct kubuf_id a = { .id = id, .flags = one_in(20) ? rand_bits(0) : 0 };
	struct kubuf_id *argp = rand_argp(&a, sizeof(a));
	struct log_ent *e = log_begin(op, "fd %d id %u flags %#x", fd_of(i),
				      id, a.flags);
	long ret = ioctl(fd_of(i), KUBUF_IOC_KBUF_FREE, argp);

	if (argp == &a && id_impossible(id, true))
		expect_fail(e, ret, E_ID);
	else
		expect(e, ret, E_ID);
	count(op, ret);
	if (ret == 0)
		for (j = 0; j < MAX_IDS; j++)
			if (W.kbufs[j].live && W.kbufs[j].fdi == i &&
			    W.kbufs[j].id == id) {
				W.kbufs[j].live = false;
				W.kbuf_bytes -= W.kbufs[j].len;
			}
}

static struct map *map_slot(void)
{
	int i;

	for (i = 0; i < MAX_MAPS; i++)
		if (!W.maps[i].live)
			return &W.maps[i];
	return NULL;
}

static struct map *map_pick(void)
{
	int i, n = 0;
	struct map *pick = NULL;

	for (i = 0; i < MAX_MAPS; i++)
		if (W.maps[i].live && below(++n) == 0)
			pick = &W.maps[i];
	return pick;
}

static void map_drop(struct map *m)
{
	munmap(m->res, m->res_len);
	m->live = false;
}

/* Put PROT_NONE back over [p, p + len) of a reservation. */
static void rereserve(char *p, size_t len)
{
	mmap(p, len, PROT_NONE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS |
	     MAP_NORESERVE, -1, 0);
}

/* mmap() of boundary lengths may fail in the kernel's checks too. */
static const int E_MMAP_BOUNDS[] = { EACCES, EINVAL, EPERM, ENOMEM,
				     EOVERFLOW, 0 };

/*
 * Boundaries of mmap(): the length (0, 1, a page, the buffer's, 256 MiB,
 * 2^31 and up) and the offset (around the buffer's start and end, its
 * window's end, beyond every window, unaligned). These are mapped where
 * the kernel likes, so that no length can reach the fuzzer's memory. Of
 * a known buffer, a mapping past its end must fail, as must a length of
 * 0, an unaligned offset, and one beyond the windows of ids below 2^16;
 * a mapping that works is unmapped at once.
 */
static void mmap_bounds(int op, struct id_ent *ent, int i)
{
	uint64_t base = ent ? ent->off : 0, blen = ent ? ent->len : PG;
	uint64_t off = ent ? base : below(W.max_kbuf_id + 2) << 28;
	uint64_t len = blen;
	int prot = below(2) ? PROT_READ | PROT_WRITE : PROT_READ;
	bool bad;
	struct log_ent *e;
	void *p;

	off = BOUND64(off, UINT64_MAX, base, base + blen, base + (1ULL << 28),
		      1ULL << 44);
	len = BOUND64(len, blen, PG, 1ULL << 28);
	bad = !len || (off & (PG - 1)) || off >= 1ULL << 44 ||
	      (ent && off >= base && off - base < 1ULL << 28 &&
	       (off - base > blen || len > blen - (off - base)));
	e = log_begin(op, "fd %d len %#llx prot %#x shared off %#llx (buffer %#llx len %#llx)",
		      fd_of(i), (unsigned long long)len, prot,
		      (unsigned long long)off, (unsigned long long)base,
		      (unsigned long long)blen);
	p = mmap(NULL, len, prot, MAP_SHARED, fd_of(i), off);
	if (bad)
		expect_fail(e, p == MAP_FAILED ? -1 : 0, E_MMAP_BOUNDS);
	else
		expect(e, p == MAP_FAILED ? -1 : 0, E_MMAP_BOUNDS);
	count(op, p == MAP_FAILED ? -1 : 0);
	if (p != MAP_FAILED)
		munmap(p, len);
}

void op_mmap(int op)
{
	struct id_ent *ent = id_pick(W.kbufs);
	struct map *m = map_slot();
	int i = ent ? ent->fdi : slot_pick();
	size_t pages, first, len;
	uint64_t off;
	int prot, flags;
	struct log_ent *e;
	char *at, *p;

	if (bounds_on && below(2)) {
		mmap_bounds(op, ent, i);
		return;
	}
	if (!m)
		return;
	if (ent) {
		pages = ent->len / PG;
		first = below(3) ? 0 : below(pages + 1);
		len = (below(3) ? pages - (first < pages ? first : 0) :
		       1 + below(pages + 1)) * PG;
		off = ent->off + first * PG;
	} else {
		len = (1 + below(8)) * PG;
		off = (below(W.max_kbuf_id + 2) << 28) + below(4) * PG;
		if (one_in(8))
			off = rnd() & ~(PG - 1) & ((1ULL << 62) - 1);
	}
	if (!len)
		len = PG;
	prot = below(3) ? PROT_READ | PROT_WRITE : PROT_READ;
	if (one_in(20))
		prot |= PROT_EXEC;
	if (one_in(30))
		prot = PROT_NONE;
	flags = one_in(20) ? MAP_PRIVATE : MAP_SHARED;
	at = reserve(len, PG, &m->res, &m->res_len);
	if (!at)
		return;
	e = log_begin(op, "fd %d len %#zx prot %#x %s off %#llx", fd_of(i),
		      len, prot, flags == MAP_SHARED ? "shared" : "private",
		      (unsigned long long)off);
	p = mmap(at, len, prot, flags | MAP_FIXED, fd_of(i), off);
	expect(e, p == MAP_FAILED ? -1 : 0, E_MMAP);
	count(op, p == MAP_FAILED ? -1 : 0);
	if (p == MAP_FAILED) {
		munmap(m->res, m->res_len);
		if ((flags == MAP_PRIVATE || (prot & PROT_EXEC)) &&
		    (errno != EACCES || W.fds[i].mode == O_RDWR) &&
		    errno != (flags == MAP_PRIVATE ? EINVAL : EPERM))
			fuzz_fail("mmap %s prot %#x: %s, not %s",
				  flags == MAP_PRIVATE ? "private" : "shared",
				  prot, strerror(errno),
				  flags == MAP_PRIVATE ? "EINVAL" : "EPERM");
		return;
	}
	if (flags == MAP_PRIVATE || (prot & PROT_EXEC))
		fuzz_fail("mmap %s prot %#x of the device worked",
			  flags == MAP_PRIVATE ? "private" : "shared", prot);
	*m = (struct map){ true, p, len, m->res, m->res_len, prot, false,
			   false };
	/* Every page is mapped at once. */
	if (prot & PROT_READ)
		for (first = 0; first < len; first += PG)
			(void)*(volatile char *)(p + first);
}

void op_munmap(int op)
{
	struct map *m = map_pick();
	struct log_ent *e;
	long ret;

	if (!m)
		return;
	if (m->len > PG && below(2)) {
		/* The head page only: the VMA shrinks. */
		e = log_begin(op, "%p head page of %#zx", m->addr, m->len);
		ret = log_end(e, munmap(m->addr, PG), errno);
		count(op, ret);
		if (ret)
			fuzz_fail("munmap of a page: %s", strerror(errno));
		rereserve(m->addr, PG);
		m->addr += PG;
		m->len -= PG;
		return;
	}
	e = log_begin(op, "%p len %#zx", m->addr, m->len);
	ret = log_end(e, munmap(m->addr, m->len), errno);
	count(op, ret);
	if (ret)
		fuzz_fail("munmap: %s", strerror(errno));
	map_drop(m);
}

void op_mremap(int op)
{
	struct map *m = map_pick();
	char *res, *at, *p;
	size_t res_len;
	struct log_ent *e;

	if (!m)
		return;
	switch (below(3)) {
	case 0:		/* grow: refused, VM_DONTEXPAND */
		e = log_begin(op, "%p grow %#zx to %#zx", m->addr, m->len,
			      m->len + PG);
		p = mremap(m->addr, m->len, m->len + PG, MREMAP_MAYMOVE);
		expect_errno(e, p == MAP_FAILED ? -1 : 0, EFAULT);
		count(op, -1);
		return;
	case 1:		/* shrink */
		if (m->len <= PG)
			return;
		e = log_begin(op, "%p shrink %#zx to %#zx", m->addr, m->len,
			      m->len - PG);
		p = mremap(m->addr, m->len, m->len - PG, 0);
		log_end(e, p == MAP_FAILED ? -1 : 0, errno);
		count(op, p == MAP_FAILED ? -1 : 0);
		if (p != m->addr)
			fuzz_fail("mremap shrink: %s", strerror(errno));
		m->len -= PG;
		rereserve(m->addr + m->len, PG);
		return;
	}
	at = reserve(m->len, PG, &res, &res_len);
	if (!at)
		return;
	e = log_begin(op, "%p move %#zx to %p", m->addr, m->len, at);
	p = mremap(m->addr, m->len, m->len, MREMAP_MAYMOVE | MREMAP_FIXED, at);
	expect(e, p == MAP_FAILED ? -1 : 0, (const int[]){ ENOMEM, 0 });
	count(op, p == MAP_FAILED ? -1 : 0);
	if (p == MAP_FAILED) {
		munmap(res, res_len);
		return;
	}
	munmap(m->res, m->res_len);
	m->addr = p;
	m->res = res;
	m->res_len = res_len;
}

void op_mprotect(int op)
{
	struct map *m = map_pick();
	int prot;
	struct log_ent *e;
	long ret;

	if (!m)
		return;
	prot = below(4) ? (int)below(4) : PROT_READ | PROT_EXEC;
	e = log_begin(op, "%p len %#zx prot %#x", m->addr, m->len, prot);
	ret = mprotect(m->addr, m->len, prot);
	count(op, ret);
	if (prot & PROT_EXEC) {
		expect_errno(e, ret, EACCES);
		return;
	}
	expect(e, ret, (const int[]){ EACCES, ENOMEM, 0 });
	if (ret == 0)
		m->prot = prot;
}

void op_madvise(int op)
{
	static const int advice[] = {
		MADV_DONTNEED, MADV_DONTFORK, MADV_DOFORK, MADV_PAGEOUT,
		MADV_COLD, MADV_WILLNEED, MADV_RANDOM, MADV_HUGEPAGE,
		MADV_MERGEABLE, MADV_FREE, MADV_REMOVE, MADV_WIPEONFORK,
		MADV_NORMAL, 22 /* POPULATE_READ */, 23 /* POPULATE_WRITE */,
	};
	int a = advice[below(sizeof(advice) / sizeof(advice[0]))];
	struct map *m = below(2) ? map_pick() : NULL;
	struct region *r = m ? NULL : region_pick();
	char *addr = m ? m->addr : r ? r->addr : NULL;
	size_t len = m ? m->len : r ? r->len : 0;
	struct log_ent *e;
	long ret;

	if (!addr)
		return;
	e = log_begin(op, "%s %p len %#zx advice %d", m ? "map" : "region",
		      addr, len, a);
	/* Anything goes but a crash: these are the kernel's, not ours. */
	ret = log_end(e, madvise(addr, len, a), errno);
	count(op, ret);
	if (ret)
		return;
	if (m && (a == MADV_DONTNEED || a == MADV_PAGEOUT || a == MADV_COLD ||
		  a == MADV_FREE || a == MADV_REMOVE))
		m->zapped = true;
	/*
	 * A private hugetlb page given back is not reserved again: touching
	 * it later needs a free huge page, and raises SIGBUS when the pool
	 * (which forked copies of pinned pages also draw on) is empty.
	 */
	if (r && r->kind == R_HUGETLB &&
	    (a == MADV_DONTNEED || a == MADV_FREE || a == MADV_REMOVE ||
	     a == MADV_PAGEOUT)) {
		r->touchable = false;
		r->huge_given_back = true;
	}
	if (a == MADV_DONTFORK || a == MADV_DOFORK) {
		if (m)
			m->dontfork = a == MADV_DONTFORK;
		else
			r->dontfork = a == MADV_DONTFORK;
	}
}

/* Read every page of a mapping, write the writable ones. */
void op_touch(int op)
{
	struct map *m = map_pick();
	struct log_ent *e;
	size_t i;

	if (!m || m->zapped || !(m->prot & PROT_READ))
		return;
	e = log_begin(op, "map %p len %#zx%s", m->addr, m->len,
		      m->prot & PROT_WRITE ? " write" : "");
	for (i = 0; i < m->len; i += PG) {
		(void)*(volatile char *)(m->addr + i);
		if (m->prot & PROT_WRITE)
			m->addr[i + below(PG)] = (char)rnd();
	}
	log_end(e, 0, 0);
	count(op, 0);
}
