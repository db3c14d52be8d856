// SPDX-License-Identifier: MIT
/*
 * Memory the fuzzer owns: regions of every kind the module may be asked
 * to register (anonymous, read-only, with holes, memfd, shared, hugetlb,
 * files), each between guard pages; and their operations.
 */
#include "fuzz.h"

static const char *const region_names[R_NR] = {
	"anon", "read-only", "prot-none", "hole", "memfd", "shared-anon",
	"hugetlb", "tmpfs-shared", "ramfs-shared", "file-private",
};

/* Reserve @len bytes between guards of @guard bytes, aligned to @guard. */
char *reserve(size_t len, size_t guard, char **res, size_t *res_len)
{
	size_t total = len + 3 * guard;
	char *p = mmap(NULL, total, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *start;

	if (p == MAP_FAILED)
		return NULL;
	start = (char *)(((uintptr_t)p + 2 * guard - 1) & ~(guard - 1));
	*res = p;
	*res_len = total;
	return start;
}

static int temp_file(const char *dir, size_t len)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "%s/kt_fuzz.%d.%llu", dir, getpid(),
		 (unsigned long long)below(1000000));
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	unlink(path);
	if (ftruncate(fd, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A new region of a random kind; NULL if none could be made. */
static struct region *region_new(void)
{
	struct region *r = NULL;
	size_t guard = PG, len;
	int i, kind, fd = -1, flags, prot = PROT_READ | PROT_WRITE;
	char *at, *p;

	for (i = 0; i < MAX_REGIONS && !r; i++)
		if (!W.regions[i].live)
			r = &W.regions[i];
	if (!r)
		return NULL;
	kind = below(R_NR);
	len = (1 + below(one_in(4) ? 256 : 16)) * PG;
	if (kind == R_HUGETLB) {
		if (!W.have_hugetlb)
			kind = R_ANON;
		else
			len = guard = HUGE_PG;
	}
	if (kind == R_HOLE)
		len = 3 * PG;
	if (W.region_bytes + len > REGION_BUDGET)
		return NULL;

	at = reserve(len, guard, &r->res, &r->res_len);
	if (!at)
		return NULL;
	flags = MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS;
	switch (kind) {
	case R_MEMFD:
		fd = memfd_create("kt_fuzz", MFD_CLOEXEC);
		if (fd >= 0 && ftruncate(fd, len)) {
			close(fd);
			fd = -1;
		}
		flags = MAP_FIXED | MAP_SHARED;
		break;
	case R_SHARED_ANON:
		flags = MAP_FIXED | MAP_SHARED | MAP_ANONYMOUS;
		break;
	case R_HUGETLB:
		flags |= MAP_HUGETLB;
		break;
	case R_TMPFS_SHARED:
	case R_RAMFS_SHARED:
	case R_FILE_PRIVATE:
		fd = temp_file(kind == R_RAMFS_SHARED ? RAMFS : "/tmp", len);
		flags = MAP_FIXED | (kind == R_FILE_PRIVATE ? MAP_PRIVATE :
				     MAP_SHARED);
		break;
	}
	if ((flags & MAP_ANONYMOUS) == 0 && fd < 0) {
		munmap(r->res, r->res_len);
		return NULL;
	}
	p = mmap(at, len, prot, flags, fd, 0);
	if (p == MAP_FAILED) {
		if (fd >= 0)
			close(fd);
		munmap(r->res, r->res_len);
		return NULL;
	}
	memset(p, (int)below(256), len);
	r->live = true;
	r->kind = kind;
	r->addr = p;
	r->len = len;
	r->prot = prot;
	r->touchable = true;
	r->huge_given_back = false;
	r->dontfork = false;
	r->fd = fd;
	switch (kind) {
	case R_RO:
		mprotect(p, len, PROT_READ);
		r->prot = PROT_READ;
		break;
	case R_NONE:
		mprotect(p, len, PROT_NONE);
		r->prot = PROT_NONE;
		r->touchable = false;
		break;
	case R_HOLE:
		mprotect(p, len, PROT_NONE);
		munmap(p + PG, PG);
		r->prot = PROT_NONE;
		r->touchable = false;
		break;
	}
	W.region_bytes += len;
	return r;
}

static void region_free(struct region *r)
{
	munmap(r->res, r->res_len);
	if (r->fd >= 0)
		close(r->fd);
	W.region_bytes -= r->len;
	r->live = false;
}

struct region *region_pick(void)
{
	int i, n = 0;
	struct region *pick = NULL;

	for (i = 0; i < MAX_REGIONS; i++)
		if (W.regions[i].live && below(++n) == 0)
			pick = &W.regions[i];
	return pick ? pick : region_new();
}

/* The live, touchable region holding [addr, addr + len), if any. */
struct region *region_of(uint64_t addr, size_t len)
{
	int i;

	for (i = 0; i < MAX_REGIONS; i++) {
		struct region *r = &W.regions[i];

		if (r->live && r->touchable && (r->prot & PROT_WRITE) &&
		    addr >= (uintptr_t)r->addr &&
		    addr + len <= (uintptr_t)r->addr + r->len)
			return r;
	}
	return NULL;
}

/* --- regions -------------------------------------------------------------- */

void op_region(int op)
{
	struct region *r;
	struct log_ent *e;
	int prot;
	long ret;

	switch (below(6)) {
	case 0:
		e = log_begin(op, "new");
		r = region_new();
		log_end(e, r ? 0 : -1, ENOMEM);
		if (r)
			snprintf(e->args, sizeof(e->args), "new %s %p len %#zx",
				 region_names[r->kind], r->addr, r->len);
		count(op, r ? 0 : -1);
		return;
	case 1:
		r = region_pick();
		if (!r)
			return;
		e = log_begin(op, "unmap %s %p len %#zx", region_names[r->kind],
			      r->addr, r->len);
		region_free(r);
		log_end(e, 0, 0);
		count(op, 0);
		return;
	case 2:
		r = region_pick();
		if (!r || r->kind == R_HOLE)
			return;
		prot = below(4);
		e = log_begin(op, "mprotect %s %p len %#zx prot %d",
			      region_names[r->kind], r->addr, r->len, prot);
		ret = log_end(e, mprotect(r->addr, r->len, prot), errno);
		count(op, ret);
		if (ret == 0) {
			r->prot = prot;
			r->touchable = (prot & PROT_READ) &&
				       !(me.depth && r->kind == R_HUGETLB) &&
				       !r->huge_given_back;
		}
		return;
	case 3:
		/*
		 * Truncate a memfd under its registrations, then regrow:
		 * only with no child, which could touch it meanwhile.
		 */
		r = region_pick();
		if (!r || r->kind != R_MEMFD || me.depth ||
		    W.kids[0] || W.kids[1] || W.kids[2] || W.kids[3])
			return;
		e = log_begin(op, "truncate memfd %p len %#zx", r->addr,
			      r->len);
		ret = ftruncate(r->fd, 0);
		if (!ret)
			ret = ftruncate(r->fd, r->len);
		log_end(e, ret, errno);
		count(op, ret);
		return;
	default:
		r = region_pick();
		if (!r || !r->touchable || !(r->prot & PROT_WRITE))
			return;
		e = log_begin(op, "write %s %p len %#zx", region_names[r->kind],
			      r->addr, r->len);
		memset(r->addr, (int)below(256), r->len);
		log_end(e, 0, 0);
		count(op, 0);
		return;
	}
}
