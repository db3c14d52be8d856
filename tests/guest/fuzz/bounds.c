// SPDX-License-Identifier: MIT
/*
 * Boundary values for the numeric fields of kubuf's calls.
 *
 * Range checks go wrong at their edges: one off at the maximum, a sum or
 * product that wraps, a 64-bit value cut to 32 bits, a signed compare of
 * an unsigned field. So one operation in BOUNDS_ONE_IN draws its numbers
 * from the edges (bounds_on, set by run_ops()): each numeric field then
 * takes, one time in two, one of
 *
 *   0, 1, max - 1, max, max + 1, 2^31, 2^32, 2^63, UINT64_MAX
 *
 * cut to the field's width, where max is the field's largest valid value
 * (the width's largest when any value goes), or one of the field's other
 * documented limits, minus 1, exactly, or plus 1. The operations know
 * which of these the header says must fail, and check that they do.
 *
 * Addresses are the exception: an address the module may write must be
 * memory the fuzzer set aside for that or no memory at all, so they come
 * from a fixed list (bound_addr()) whose low entries are kept unmapped.
 */
#include "fuzz.h"

bool bounds_on;

/* The low addresses of the list, kept free of anything but a guard page. */
#define LOW_A	(1ULL << 31)
#define LOW_B	(1ULL << 32)

static bool low_reserved[2];

/*
 * Reserve a PROT_NONE page at 2^31 and at 2^32, so that nothing the
 * process maps later lands there and a write the module makes at either
 * address can only fault. Where something is already, the address is left
 * out of the list.
 */
void bounds_init(void)
{
	static const uint64_t at[2] = { LOW_A, LOW_B };
	void *p;
	int i;

	for (i = 0; i < 2; i++) {
		p = mmap((void *)(uintptr_t)at[i], PG, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
			 MAP_FIXED_NOREPLACE, -1, 0);
		low_reserved[i] = p == (void *)(uintptr_t)at[i];
		if (p != MAP_FAILED && !low_reserved[i])
			munmap(p, PG);
	}
}

bool bound_now(void)
{
	return bounds_on && one_in(2);
}

uint64_t bound_value(unsigned int bits, uint64_t max, const uint64_t *lim,
		     unsigned int n)
{
	uint64_t mask = bits >= 64 ? ~0ULL : (1ULL << bits) - 1, v;
	unsigned int k = below(9 + 3 * n);

	switch (k) {
	case 0:
		v = 0;
		break;
	case 1:
		v = 1;
		break;
	case 2:
		v = max - 1;
		break;
	case 3:
		v = max;
		break;
	case 4:
		v = max + 1;
		break;
	case 5:
		v = 1ULL << 31;
		break;
	case 6:
		v = 1ULL << 32;
		break;
	case 7:
		v = 1ULL << 63;
		break;
	case 8:
		v = ~0ULL;
		break;
	default:
		k -= 9;
		v = lim[k / 3] + k % 3 - 1;
	}
	return v & mask;
}

uint64_t bound(uint64_t v, unsigned int bits, uint64_t max,
	       const uint64_t *lim, unsigned int n)
{
	return bound_now() ? bound_value(bits, max, lim, n) : v;
}

/*
 * An id: 0 (never an id), the largest ids, 2^31, around the largest id
 * the fuzzer saw, and around 2^16 (driver buffers' ids stay below it).
 */
uint32_t bound_id(uint32_t id, uint32_t max_seen)
{
	return BOUND32(id, UINT32_MAX, max_seen, 1U << 16);
}

/* An id that can name nothing: 0, or, @kbuf, one of 2^16 and above. */
bool id_impossible(uint32_t id, bool kbuf)
{
	return !id || (kbuf && id >= 1U << 16);
}

/*
 * A descriptor number: -1, 0 to 2 (whatever the console is), around the
 * descriptor limit, INT_MAX, INT_MIN (2^31 cut to 32 bits).
 */
int32_t bound_fd(int32_t fd)
{
	struct rlimit rl;

	if (!bound_now())
		return fd;
	getrlimit(RLIMIT_NOFILE, &rl);
	return (int32_t)bound_value(32, INT32_MAX, (const uint64_t[]){
		(uint32_t)-1, 2, rl.rlim_cur }, 3);
}

/*
 * An address no operation may succeed with: the null page, the top of
 * user space and beyond, non-canonical and kernel addresses, and the two
 * reserved low pages.
 */
static const uint64_t bad_addrs[] = {
	0, 1, PG - 1, PG, PG + 1,
	(1ULL << 47) - 2, (1ULL << 47) - 1, 1ULL << 47, (1ULL << 47) + 1,
	1ULL << 63, ~0ULL - 1, ~0ULL,
	LOW_A, LOW_B,
};

#define NR_BAD_ADDRS	(sizeof(bad_addrs) / sizeof(bad_addrs[0]))

uint64_t bound_addr(uint64_t addr)
{
	uint64_t a;

	if (!bound_now())
		return addr;
	do
		a = bad_addrs[below(NR_BAD_ADDRS)];
	while ((a == LOW_A && !low_reserved[0]) ||
	       (a == LOW_B && !low_reserved[1]));
	return a;
}

bool addr_is_bad(uint64_t addr)
{
	size_t i;

	if ((addr == LOW_A && !low_reserved[0]) ||
	    (addr == LOW_B && !low_reserved[1]))
		return false;
	for (i = 0; i < NR_BAD_ADDRS; i++)
		if (addr == bad_addrs[i])
			return true;
	return false;
}
