// SPDX-License-Identifier: MIT
/*
 * The fuzzer's arguments: lengths, addresses in its regions or nowhere,
 * hostile argument pointers, flags with unknown bits.
 */
#include "fuzz.h"

uint64_t rand_len(void)
{
	switch (below(12)) {
	case 0:
		return 0;
	case 1:
		return 1 + below(PG);
	case 2:
		return W.info.max_ubuf_size + below(2);
	case 3:
		return 1ULL << (40 + below(24));
	case 4:
		return ~0ULL - below(PG);
	case 5:
		return (1 + below(64)) * PG + below(3) - 1;
	default:
		return (1 + below(16)) * PG;
	}
}

/*
 * An address to hand the module: mostly inside a region (a length from
 * rand_len() may run past its end, into the guard), sometimes one that
 * is no user memory at all. Never the fuzzer's own memory.
 */
uint64_t rand_addr(uint64_t *len)
{
	struct region *r;
	uint64_t off;

	switch (below(16)) {
	case 0:
		return below(2) ? 0 : below(PG);
	case 1:
		return KADDR + below(1 << 20) * PG;
	case 2:
		return 0x8000000000000000ULL + below(PG);	/* non-canonical */
	case 3:
		return (1ULL << 47) - PG * (1 + below(2));	/* top of user */
	case 4:
		return ~0ULL - below(2 * PG);
	}
	r = region_pick();
	if (!r)
		return KADDR;
	off = below(4) ? 0 : below(r->len);
	if (below(3) == 0 && *len > r->len - off)
		*len = r->len - off ? r->len - off : 1;
	return (uintptr_t)r->addr + off;
}

/*
 * A pointer for an ioctl's argument: mostly @good, sometimes hostile:
 * NULL, the kernel's, one straddling into a guard page, a region with
 * whatever it holds, or a read-only copy of @good, which the module can
 * read but not answer in (the call's undo path).
 */
void *rand_argp(void *good, size_t size)
{
	struct region *r;

	if (!one_in(16))
		return good;
	switch (below(5)) {
	case 0:
		return NULL;
	case 1:
		return (void *)KADDR;
	case 2:
		mprotect(W.ro_arg, PG, PROT_READ | PROT_WRITE);
		memcpy(W.ro_arg, good, size);
		mprotect(W.ro_arg, PG, PROT_READ);
		return W.ro_arg;
	default:
		r = region_pick();
		if (!r)
			return NULL;
		if (below(2) && r->len >= size)
			return r->addr + r->len - size / 2;
		return r->addr;
	}
}

/* Flags: mostly valid ones, sometimes with a bit outside @valid. */
uint32_t rand_bits(uint32_t valid)
{
	uint32_t x;

	switch (below(8)) {
	case 0:
		do
			x = rnd();
		while (!(x & ~valid));
		return x;
	case 1:
		do
			x = 1U << below(32);
		while (!(x & ~valid));
		return x;
	default:
		return valid & (uint32_t)rnd();
	}
}
