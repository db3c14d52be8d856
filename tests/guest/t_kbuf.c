// SPDX-License-Identifier: MIT
/*
 * Technique 2: buffers the driver allocates and the application maps.
 * Allocation and its errnos, every mmap() rule, the lifetime of a buffer
 * across FREE, close, fork and munmap, the device using it, and the
 * memory cgroup limit.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "harness.h"
#include "kubuf.h"

#define PG		((size_t)sysconf(_SC_PAGESIZE))
#define OFF_SHIFT	28
#define RW		(PROT_READ | PROT_WRITE)

static uint64_t stat_of(int fd, enum kubuf_stat s)
{
	struct kubuf_stats st;

	memset(&st, 0, sizeof(st));
	KT_OK(ioctl(fd, KUBUF_IOC_GET_STATS, &st));
	return st.counters[s];
}

/* Allocate; returns the ioctl's result (-1 and errno on failure). */
static int kbuf_alloc(int fd, uint64_t size, uint32_t kind, uint32_t cache,
		      uint32_t flags, struct kubuf_kbuf_alloc *a)
{
	kt_poison(a, sizeof(*a));
	a->size = size;
	a->kind = kind;
	a->cache = cache;
	a->flags = flags;
	a->reserved[0] = 0;
	a->reserved[1] = 0;
	return ioctl(fd, KUBUF_IOC_KBUF_ALLOC, a);
}

/* A read-write PAGES buffer of @size bytes; returns its id. */
static uint32_t rw_buf(int fd, uint64_t size, struct kubuf_kbuf_alloc *a)
{
	KT_OK(kbuf_alloc(fd, size, KUBUF_KBUF_PAGES, KUBUF_CACHE_CACHED,
			 KUBUF_KBUF_APP_WRITE, a));
	return a->id;
}

static int kbuf_free(int fd, uint32_t id)
{
	struct kubuf_id arg = { .id = id };

	return ioctl(fd, KUBUF_IOC_KBUF_FREE, &arg);
}

static void *map(int fd, size_t len, int prot, uint64_t off)
{
	void *p = mmap(NULL, len, prot, MAP_SHARED, fd, (off_t)off);

	KT_ASSERT(p != MAP_FAILED);
	return p;
}

static int dev_cmd(int fd, uint32_t op, uint32_t id, uint64_t off,
		   uint64_t len, uint32_t seed, struct kubuf_dev_cmd *c)
{
	memset(c, 0, sizeof(*c));
	c->op = op;
	c->kind = KUBUF_MEM_KBUF;
	c->id = id;
	c->offset = off;
	c->len = len;
	c->seed = seed;
	return ioctl(fd, KUBUF_IOC_DEV_CMD, c);
}

static void check_pattern(const uint8_t *p, size_t len, uint32_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != kubuf_pattern_byte(seed, i))
			kt_fail(__FILE__, __LINE__, "byte %zu: %#x != %#x", i,
				p[i], kubuf_pattern_byte(seed, i));
}

static void check_zero(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			kt_fail(__FILE__, __LINE__, "byte %zu is %#x", i, p[i]);
}

/* --- allocation ------------------------------------------------------------ */

KT_CASE(alloc_pages)
{
	struct kubuf_kbuf_alloc a;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	KT_OK(kbuf_alloc(fd, 3 * PG + 1, KUBUF_KBUF_PAGES, KUBUF_CACHE_CACHED,
			 0, &a));
	KT_ASSERT(a.id != 0);
	KT_ASSERT_EQ(a.mmap_offset, (uint64_t)a.id << OFF_SHIFT);
	KT_ASSERT_EQ(a.reserved0, 0);
	KT_ASSERT_EQ(a.size, 3 * PG + 1);
	KT_ASSERT_EQ(a.reserved[0], 0);
	KT_ASSERT_EQ(a.reserved[1], 0);
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_KBUFS), 1);
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_KBUF_PAGES), 4);
	KT_OK(kbuf_free(fd, a.id));
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_KBUFS), 0);
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_KBUF_PAGES), 0);
	close(fd);
}

/*
 * DMA memory: zero-filled, mapped and used by the device; its device
 * address (the physical address here) never reaches user space.
 */
KT_CASE(alloc_dma)
{
	struct kubuf_kbuf_alloc a;
	struct kubuf_dev_cmd c;
	struct kubuf_info in;
	size_t len = 16 * PG;
	uint8_t *p;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	KT_OK(ioctl(fd, KUBUF_IOC_GET_INFO, &in));
	KT_ASSERT(in.features & KUBUF_FEAT_KBUF_DMA);
	KT_OK(kbuf_alloc(fd, len, KUBUF_KBUF_DMA, KUBUF_CACHE_CACHED,
			 KUBUF_KBUF_APP_WRITE, &a));
	KT_ASSERT(a.id != 0);
	KT_ASSERT_EQ(a.reserved0, 0);
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_KBUF_PAGES), 16);
	p = map(fd, len, RW, a.mmap_offset);
	check_zero(p, len);
	KT_OK(dev_cmd(fd, KUBUF_DEV_FILL, a.id, 0, len, 7, &c));
	check_pattern(p, len, 7);
	p[5] = 0;
	KT_OK(dev_cmd(fd, KUBUF_DEV_CHECKSUM, a.id, 0, len, 0, &c));
	KT_ASSERT(c.result == kubuf_checksum(KUBUF_CHECKSUM_INIT, p, len));
	KT_OK(kbuf_free(fd, a.id));
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_KBUF_PAGES), 16);
	KT_OK(munmap(p, len));
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_KBUF_PAGES), 0);
	close(fd);
}

/* DMA buffers are cached only: WC and UC are refused, never faked. */
KT_CASE(alloc_dma_wc_uc_refused)
{
	struct kubuf_kbuf_alloc a;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	KT_ERRNO(kbuf_alloc(fd, PG, KUBUF_KBUF_DMA, KUBUF_CACHE_WC, 0, &a),
		 EOPNOTSUPP);
	KT_ERRNO(kbuf_alloc(fd, PG, KUBUF_KBUF_DMA, KUBUF_CACHE_UNCACHED, 0,
			    &a), EOPNOTSUPP);
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_KBUFS), 0);
	close(fd);
}

/*
 * Write-combined and uncached pages: zeroed, the device's writes seen by
 * the application and the application's by the device, through mappings
 * that split, fork and outlive FREE like cached ones.
 */
static void cache_mode(uint32_t cache, uint64_t feature)
{
	struct kubuf_kbuf_alloc a;
	struct kubuf_dev_cmd c;
	struct kubuf_info in;
	size_t len = 8 * PG;
	int status;
	uint8_t *p;
	pid_t pid;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	KT_OK(ioctl(fd, KUBUF_IOC_GET_INFO, &in));
	if (!(in.features & feature)) {
		KT_ERRNO(kbuf_alloc(fd, PG, KUBUF_KBUF_PAGES, cache, 0, &a),
			 EOPNOTSUPP);
		kt_skip("cache mode %u not offered here (refused cleanly)",
			cache);
	}
	KT_OK(kbuf_alloc(fd, len, KUBUF_KBUF_PAGES, cache,
			 KUBUF_KBUF_APP_WRITE, &a));
	p = map(fd, len, RW, a.mmap_offset);
	check_zero(p, len);
	KT_OK(dev_cmd(fd, KUBUF_DEV_FILL, a.id, 0, len, 77, &c));
	check_pattern(p, len, 77);
	memset(p + PG, 0x11, PG);
	KT_OK(dev_cmd(fd, KUBUF_DEV_CHECKSUM, a.id, 0, len, 0, &c));
	KT_ASSERT(c.result == kubuf_checksum(KUBUF_CHECKSUM_INIT, p, len));
	KT_OK(mprotect(p, PG, PROT_READ));
	pid = KT_OK(fork());
	if (pid == 0) {
		KT_ASSERT_EQ(p[PG], 0x11);
		p[2 * PG] = 0x22;
		_exit(0);
	}
	KT_OK(waitpid(pid, &status, 0));
	KT_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	KT_ASSERT_EQ(p[2 * PG], 0x22);
	KT_OK(kbuf_free(fd, a.id));
	p[3 * PG] = 0x33;
	KT_OK(munmap(p, len));
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_KBUF_PAGES), 0);
	close(fd);
}

KT_CASE(pages_wc)
{
	cache_mode(KUBUF_CACHE_WC, KUBUF_FEAT_KBUF_WC);
}

KT_CASE(pages_uncached)
{
	cache_mode(KUBUF_CACHE_UNCACHED, KUBUF_FEAT_KBUF_UC);
}

/* WC pages go back to the allocator write-back: many rounds, no leak. */
KT_CASE(pages_wc_uc_cycle)
{
	struct kubuf_kbuf_alloc a;
	struct kubuf_info in;
	int i;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	KT_OK(ioctl(fd, KUBUF_IOC_GET_INFO, &in));
	if (!(in.features & KUBUF_FEAT_KBUF_WC))
		kt_skip("write-combined buffers not offered here");
	for (i = 0; i < 200; i++) {
		KT_OK(kbuf_alloc(fd, 16 * PG, KUBUF_KBUF_PAGES,
				 i & 1 ? KUBUF_CACHE_WC : KUBUF_CACHE_UNCACHED,
				 0, &a));
		KT_OK(kbuf_free(fd, a.id));
	}
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_KBUF_PAGES), 0);
	close(fd);
}

/* The guests boot with init_on_alloc=0 page_poison=1: zero means zeroed. */
KT_CASE(pages_zeroed)
{
	struct kubuf_kbuf_alloc a;
	size_t len = 4 << 20;
	uint8_t *p;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	/* Leave freed, dirty pages behind for the allocator to hand out. */
	p = mmap(NULL, len, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	KT_ASSERT(p != MAP_FAILED);
	memset(p, 0x5a, len);
	KT_OK(munmap(p, len));

	KT_OK(kbuf_alloc(fd, len, KUBUF_KBUF_PAGES, KUBUF_CACHE_CACHED, 0, &a));
	p = map(fd, len, PROT_READ, a.mmap_offset);
	check_zero(p, len);
	KT_OK(munmap(p, len));
	KT_OK(kbuf_free(fd, a.id));
	close(fd);
}

KT_CASE(alloc_einval)
{
	struct kubuf_kbuf_alloc a;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	KT_ERRNO(kbuf_alloc(fd, PG, KUBUF_KBUF_PAGES, 0, 1U << 1, &a), EINVAL);
	KT_ERRNO(kbuf_alloc(fd, PG, KUBUF_KBUF_PAGES, 0, 1U << 31, &a), EINVAL);
	KT_ERRNO(kbuf_alloc(fd, PG, 2, 0, 0, &a), EINVAL);
	KT_ERRNO(kbuf_alloc(fd, PG, ~0U, 0, 0, &a), EINVAL);
	KT_ERRNO(kbuf_alloc(fd, PG, KUBUF_KBUF_PAGES, 3, 0, &a), EINVAL);
	KT_ERRNO(kbuf_alloc(fd, 0, KUBUF_KBUF_PAGES, 0, 0, &a), EINVAL);
	KT_ERRNO(kbuf_alloc(fd, 0, KUBUF_KBUF_DMA, 0, 0, &a), EINVAL);

	memset(&a, 0, sizeof(a));
	a.size = PG;
	a.reserved[0] = 1;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_KBUF_ALLOC, &a), EINVAL);
	a.reserved[0] = 0;
	a.reserved[1] = 1ULL << 63;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_KBUF_ALLOC, &a), EINVAL);
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_KBUFS), 0);
	close(fd);
}

KT_CASE(alloc_e2big)
{
	struct kubuf_kbuf_alloc a;
	struct kubuf_info in;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	KT_OK(ioctl(fd, KUBUF_IOC_GET_INFO, &in));
	KT_ERRNO(kbuf_alloc(fd, in.max_kbuf_size + 1, KUBUF_KBUF_PAGES, 0, 0,
			    &a), E2BIG);
	KT_ERRNO(kbuf_alloc(fd, ~0ULL, KUBUF_KBUF_PAGES, 0, 0, &a), E2BIG);
	KT_ERRNO(kbuf_alloc(fd, in.max_kbuf_size + 1, KUBUF_KBUF_DMA, 0, 0,
			    &a), E2BIG);
	close(fd);
}

/* max_kbufs per file, then -ENOSPC; another file is unaffected. */
KT_CASE(alloc_enospc)
{
	struct kubuf_kbuf_alloc a;
	struct kubuf_info in;
	uint32_t i;
	int fd = KT_OK(kt_open_dev(O_RDWR));
	int fd2 = KT_OK(kt_open_dev(O_RDWR));

	KT_OK(ioctl(fd, KUBUF_IOC_GET_INFO, &in));
	for (i = 0; i < in.max_kbufs; i++)
		KT_OK(kbuf_alloc(fd, PG, KUBUF_KBUF_PAGES, 0, 0, &a));
	KT_ERRNO(kbuf_alloc(fd, PG, KUBUF_KBUF_PAGES, 0, 0, &a), ENOSPC);
	KT_OK(kbuf_alloc(fd2, PG, KUBUF_KBUF_PAGES, 0, 0, &a));
	/* A freed slot can be used again. */
	KT_OK(kbuf_free(fd, 1));
	KT_OK(kbuf_alloc(fd, PG, KUBUF_KBUF_PAGES, 0, 0, &a));
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_KBUFS), in.max_kbufs + 1);
	close(fd);
	close(fd2);
}

KT_CASE(alloc_free_rdonly_ebadf)
{
	struct kubuf_kbuf_alloc a;
	int fd = KT_OK(kt_open_dev(O_RDONLY));

	KT_ERRNO(kbuf_alloc(fd, PG, KUBUF_KBUF_PAGES, 0, 0, &a), EBADF);
	KT_ERRNO(kbuf_free(fd, 1), EBADF);
	close(fd);
	fd = KT_OK(kt_open_dev(O_WRONLY));
	KT_ERRNO(kbuf_alloc(fd, PG, KUBUF_KBUF_PAGES, 0, 0, &a), EBADF);
	close(fd);
}

KT_CASE(alloc_efault)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));

	KT_ERRNO(ioctl(fd, KUBUF_IOC_KBUF_ALLOC, NULL), EFAULT);
	KT_ERRNO(ioctl(fd, KUBUF_IOC_KBUF_FREE, NULL), EFAULT);
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_KBUFS), 0);
	close(fd);
}

/* Ids are never 0 and not reused at once. */
KT_CASE(alloc_ids_cyclic)
{
	struct kubuf_kbuf_alloc a;
	uint32_t first;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	first = rw_buf(fd, PG, &a);
	KT_ASSERT(first != 0);
	KT_OK(kbuf_free(fd, first));
	KT_ASSERT(rw_buf(fd, PG, &a) != first);
	close(fd);
}

KT_CASE(free_enoent)
{
	struct kubuf_kbuf_alloc a;
	struct kubuf_id arg = { .id = 1, .flags = 1 };
	uint32_t id;
	int fd = KT_OK(kt_open_dev(O_RDWR));
	int fd2 = KT_OK(kt_open_dev(O_RDWR));

	KT_ERRNO(kbuf_free(fd, 0), ENOENT);
	KT_ERRNO(kbuf_free(fd, 1), ENOENT);
	KT_ERRNO(kbuf_free(fd, ~0U), ENOENT);
	id = rw_buf(fd, PG, &a);
	KT_ERRNO(kbuf_free(fd2, id), ENOENT);
	arg.id = id;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_KBUF_FREE, &arg), EINVAL);
	KT_OK(kbuf_free(fd, id));
	KT_ERRNO(kbuf_free(fd, id), ENOENT);
	close(fd);
	close(fd2);
}

/* --- mmap rules ------------------------------------------------------------ */

KT_CASE(mmap_bad_offset)
{
	struct kubuf_kbuf_alloc a;
	int fd = KT_OK(kt_open_dev(O_RDWR));
	int fd2 = KT_OK(kt_open_dev(O_RDWR));

	KT_ERRNO(mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0), EINVAL);
	rw_buf(fd, 2 * PG, &a);
	KT_ERRNO(mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0), EINVAL);
	KT_ERRNO(mmap(NULL, PG, PROT_READ, MAP_SHARED, fd,
		      a.mmap_offset + (1 << OFF_SHIFT)), EINVAL);
	KT_ERRNO(mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, PG), EINVAL);
	/* Another file's offset names nothing in this one. */
	KT_ERRNO(mmap(NULL, PG, PROT_READ, MAP_SHARED, fd2, a.mmap_offset),
		 EINVAL);
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_MAPPINGS), 0);
	close(fd);
	close(fd2);
}

KT_CASE(mmap_freed)
{
	struct kubuf_kbuf_alloc a;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	rw_buf(fd, PG, &a);
	KT_OK(kbuf_free(fd, a.id));
	KT_ERRNO(mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, a.mmap_offset),
		 EINVAL);
	close(fd);
}

/* Past the end, from the start or from inside: never a partial map. */
KT_CASE(mmap_beyond_size)
{
	struct kubuf_kbuf_alloc a;
	uint8_t *p;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	rw_buf(fd, 4 * PG, &a);
	KT_ERRNO(mmap(NULL, 5 * PG, PROT_READ, MAP_SHARED, fd, a.mmap_offset),
		 EINVAL);
	KT_ERRNO(mmap(NULL, 2 * PG, PROT_READ, MAP_SHARED, fd,
		      a.mmap_offset + 3 * PG), EINVAL);
	KT_ERRNO(mmap(NULL, PG, PROT_READ, MAP_SHARED, fd,
		      a.mmap_offset + 4 * PG), EINVAL);
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_MAPPINGS), 0);
	/* The last page alone is fine. */
	p = map(fd, PG, PROT_READ, a.mmap_offset + 3 * PG);
	KT_OK(munmap(p, PG));
	close(fd);
}

/* A mapping from page k of the buffer sees the buffer from byte k * PG. */
KT_CASE(mmap_inner_offset)
{
	struct kubuf_kbuf_alloc a;
	struct kubuf_dev_cmd c;
	uint8_t *p;
	size_t i;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	rw_buf(fd, 4 * PG, &a);
	KT_OK(dev_cmd(fd, KUBUF_DEV_FILL, a.id, 0, 4 * PG, 3, &c));
	p = map(fd, 2 * PG, PROT_READ, a.mmap_offset + 2 * PG);
	for (i = 0; i < 2 * PG; i++)
		KT_ASSERT_EQ(p[i], kubuf_pattern_byte(3, 2 * PG + i));
	KT_OK(munmap(p, 2 * PG));
	close(fd);
}

KT_CASE(mmap_private_einval)
{
	struct kubuf_kbuf_alloc a;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	rw_buf(fd, PG, &a);
	KT_ERRNO(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, a.mmap_offset),
		 EINVAL);
	KT_ERRNO(mmap(NULL, PG, RW, MAP_PRIVATE, fd, a.mmap_offset), EINVAL);
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_MAPPINGS), 0);
	close(fd);
}

KT_CASE(mmap_exec_refused)
{
	struct kubuf_kbuf_alloc a;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	rw_buf(fd, PG, &a);
	KT_ERRNO(mmap(NULL, PG, PROT_READ | PROT_EXEC, MAP_SHARED, fd,
		      a.mmap_offset), EPERM);
	KT_ERRNO(mmap(NULL, PG, RW | PROT_EXEC, MAP_SHARED, fd,
		      a.mmap_offset), EPERM);
	close(fd);
}

KT_CASE(mprotect_exec_refused)
{
	struct kubuf_kbuf_alloc a;
	void *p;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	rw_buf(fd, PG, &a);
	p = map(fd, PG, PROT_READ, a.mmap_offset);
	KT_ERRNO(mprotect(p, PG, PROT_READ | PROT_EXEC), EACCES);
	KT_OK(munmap(p, PG));
	close(fd);
}

/* A buffer without KUBUF_KBUF_APP_WRITE is read-only, now and later. */
KT_CASE(readonly_buffer)
{
	struct kubuf_kbuf_alloc a;
	struct kubuf_dev_cmd c;
	uint8_t *p;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	KT_OK(kbuf_alloc(fd, 2 * PG, KUBUF_KBUF_PAGES, 0, 0, &a));
	KT_ERRNO(mmap(NULL, PG, RW, MAP_SHARED, fd, a.mmap_offset), EACCES);
	KT_ERRNO(mmap(NULL, PG, PROT_WRITE, MAP_SHARED, fd, a.mmap_offset),
		 EACCES);
	p = map(fd, 2 * PG, PROT_READ, a.mmap_offset);
	KT_ERRNO(mprotect(p, PG, RW), EACCES);
	KT_ERRNO(mprotect(p, 2 * PG, PROT_WRITE), EACCES);
	/* The device still writes it; the application reads. */
	KT_OK(dev_cmd(fd, KUBUF_DEV_FILL, a.id, 0, 2 * PG, 9, &c));
	check_pattern(p, 2 * PG, 9);
	KT_OK(munmap(p, 2 * PG));
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_MAPPINGS), 0);
	close(fd);
}

KT_CASE(readonly_buffer_dma)
{
	struct kubuf_kbuf_alloc a;
	void *p;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	KT_OK(kbuf_alloc(fd, PG, KUBUF_KBUF_DMA, 0, 0, &a));
	KT_ERRNO(mmap(NULL, PG, RW, MAP_SHARED, fd, a.mmap_offset), EACCES);
	p = map(fd, PG, PROT_READ, a.mmap_offset);
	KT_ERRNO(mprotect(p, PG, RW), EACCES);
	KT_ERRNO(mprotect(p, PG, PROT_READ | PROT_EXEC), EACCES);
	KT_OK(munmap(p, PG));
	close(fd);
}

/* The VFS refuses a writable shared mapping of a read-only fd. */
KT_CASE(rdonly_fd_write_refused)
{
	struct kubuf_kbuf_alloc a;
	char path[64];
	int fd = KT_OK(kt_open_dev(O_RDWR));
	int ro;

	rw_buf(fd, PG, &a);
	/* The same open file, reopened read-only, is a new file: no buffers. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = KT_OK(open(path, O_RDONLY | O_CLOEXEC));
	KT_ERRNO(mmap(NULL, PG, RW, MAP_SHARED, ro, a.mmap_offset), EACCES);
	KT_ERRNO(mmap(NULL, PG, PROT_READ, MAP_SHARED, ro, a.mmap_offset),
		 EINVAL);
	close(ro);
	close(fd);
}

/* --- mremap, munmap, mprotect: VMAs come and go, references balance -------- */

KT_CASE(mremap_grow_refused)
{
	struct kubuf_kbuf_alloc a;
	void *p;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	rw_buf(fd, 4 * PG, &a);
	p = map(fd, 2 * PG, RW, a.mmap_offset);
	KT_ASSERT(mremap(p, 2 * PG, 3 * PG, MREMAP_MAYMOVE) == MAP_FAILED);
	KT_ASSERT_EQ(errno, EFAULT);
	KT_ASSERT(mremap(p, 2 * PG, 3 * PG, 0) == MAP_FAILED);
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_MAPPINGS), 1);
	KT_OK(munmap(p, 2 * PG));
	close(fd);
}

KT_CASE(mremap_move_balanced)
{
	struct kubuf_kbuf_alloc a;
	struct kubuf_dev_cmd c;
	uint8_t *p, *q, *hole;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	rw_buf(fd, 4 * PG, &a);
	KT_OK(dev_cmd(fd, KUBUF_DEV_FILL, a.id, 0, 4 * PG, 11, &c));
	p = map(fd, 4 * PG, RW, a.mmap_offset);
	/* A free spot to move to. */
	hole = mmap(NULL, 4 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	KT_ASSERT(hole != MAP_FAILED);
	q = mremap(p, 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, hole);
	KT_ASSERT(q == hole);
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_MAPPINGS), 1);
	check_pattern(q, 4 * PG, 11);
	/* Shrinking is fine too, and splits nothing off that stays. */
	KT_ASSERT(mremap(q, 4 * PG, 2 * PG, 0) == q);
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_MAPPINGS), 1);
	KT_OK(kbuf_free(fd, a.id));
	KT_OK(munmap(q, 2 * PG));
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_MAPPINGS), 0);
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_KBUFS), 0);
	close(fd);
}

KT_CASE(partial_munmap_balanced)
{
	struct kubuf_kbuf_alloc a;
	uint8_t *p;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	rw_buf(fd, 4 * PG, &a);
	p = map(fd, 4 * PG, RW, a.mmap_offset);
	memset(p, 0x33, 4 * PG);
	KT_OK(munmap(p + PG, PG));	/* splits: two VMAs */
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_MAPPINGS), 2);
	KT_ASSERT_EQ(p[0], 0x33);
	KT_ASSERT_EQ(p[3 * PG - 1], 0x33);
	KT_OK(kbuf_free(fd, a.id));
	KT_OK(munmap(p, PG));
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_MAPPINGS), 1);
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_KBUFS), 1);
	KT_ASSERT_EQ(p[2 * PG], 0x33);
	KT_OK(munmap(p + 2 * PG, 2 * PG));
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_MAPPINGS), 0);
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_KBUFS), 0);
	close(fd);
}

KT_CASE(mprotect_half_balanced)
{
	struct kubuf_kbuf_alloc a;
	uint8_t *p;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	rw_buf(fd, 4 * PG, &a);
	p = map(fd, 4 * PG, RW, a.mmap_offset);
	KT_OK(mprotect(p + 2 * PG, 2 * PG, PROT_READ));
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_MAPPINGS), 2);
	p[0] = 1;
	KT_ASSERT_EQ(p[3 * PG], 0);
	KT_OK(mprotect(p + 2 * PG, 2 * PG, RW));	/* may merge again */
	p[3 * PG] = 2;
	KT_OK(munmap(p, 4 * PG));
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_MAPPINGS), 0);
	close(fd);
}

/*
 * A page the application zapped (MADV_DONTNEED) is the buffer's still:
 * the next touch maps it again, with what the buffer holds. (A DMA
 * buffer's mapping is raw PFNs, which MADV_DONTNEED refuses.)
 */
KT_CASE(zapped_page_maps_again)
{
	struct kubuf_kbuf_alloc a;
	volatile uint8_t *p;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	rw_buf(fd, 2 * PG, &a);
	p = map(fd, 2 * PG, RW, a.mmap_offset);
	p[PG] = 0x11;
	p[PG + 7] = 0x22;
	KT_OK(madvise((void *)(p + PG), PG, MADV_DONTNEED));
	p[0] = 1;
	KT_ASSERT_EQ(p[PG], 0x11);
	KT_ASSERT_EQ(p[PG + 7], 0x22);
	KT_OK(madvise((void *)p, 2 * PG, MADV_DONTNEED));
	KT_ASSERT_EQ(p[0], 1);
	KT_ASSERT_EQ(p[PG + 7], 0x22);
	KT_OK(munmap((void *)p, 2 * PG));
	KT_OK(kbuf_free(fd, a.id));
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_MAPPINGS), 0);
	close(fd);
}

/* --- lifetime ---------------------------------------------------------------- */

/* FREE while mapped: the pages stay the application's until munmap. */
KT_CASE(free_while_mapped)
{
	struct kubuf_kbuf_alloc a;
	struct kubuf_dev_cmd c;
	uint8_t *p;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	rw_buf(fd, 8 * PG, &a);
	p = map(fd, 8 * PG, RW, a.mmap_offset);
	KT_OK(dev_cmd(fd, KUBUF_DEV_FILL, a.id, 0, 8 * PG, 5, &c));
	KT_OK(kbuf_free(fd, a.id));
	/* The id is dead for the device and for mmap... */
	KT_ERRNO(dev_cmd(fd, KUBUF_DEV_FILL, a.id, 0, PG, 5, &c), ENOENT);
	KT_ERRNO(mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, a.mmap_offset),
		 EINVAL);
	/* ...the memory is not. */
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_KBUF_PAGES), 8);
	check_pattern(p, 8 * PG, 5);
	memset(p, 0x77, 8 * PG);
	KT_ASSERT_EQ(p[8 * PG - 1], 0x77);
	KT_OK(munmap(p, 8 * PG));
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_KBUF_PAGES), 0);
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_KBUFS), 0);
	close(fd);
}

/* Close every descriptor while mapped: the buffer lives until munmap. */
KT_CASE(close_while_mapped)
{
	struct kubuf_kbuf_alloc a;
	uint8_t *p;
	int fd = KT_OK(kt_open_dev(O_RDWR));
	int q = KT_OK(kt_open_dev(O_RDONLY));

	rw_buf(fd, 4 * PG, &a);
	p = map(fd, 4 * PG, RW, a.mmap_offset);
	memset(p, 0x42, 4 * PG);
	KT_OK(close(fd));
	KT_ASSERT_EQ(stat_of(q, KUBUF_STAT_KBUFS), 1);
	KT_ASSERT_EQ(stat_of(q, KUBUF_STAT_KBUF_PAGES), 4);
	KT_ASSERT_EQ(p[4 * PG - 1], 0x42);
	p[0] = 0x43;
	KT_OK(munmap(p, 4 * PG));
	KT_ASSERT_EQ(stat_of(q, KUBUF_STAT_KBUFS), 0);
	KT_ASSERT_EQ(stat_of(q, KUBUF_STAT_MAPPINGS), 0);
	close(q);
}

/* fork after mmap: both share the pages; freed after the last unmap. */
static void fork_shared(uint32_t kind)
{
	struct kubuf_kbuf_alloc a;
	int to_child[2], to_parent[2];
	volatile uint8_t *p;
	int status;
	char ch;
	pid_t pid;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	KT_OK(kbuf_alloc(fd, 2 * PG, kind, 0, KUBUF_KBUF_APP_WRITE, &a));
	p = map(fd, 2 * PG, RW, a.mmap_offset);
	p[0] = 1;
	KT_OK(pipe(to_child));
	KT_OK(pipe(to_parent));
	pid = KT_OK(fork());
	if (pid == 0) {
		close(fd);
		KT_ASSERT_EQ(p[0], 1);
		p[1] = 2;
		KT_OK(write(to_parent[1], "a", 1));
		KT_OK(read(to_child[0], &ch, 1));
		KT_ASSERT_EQ(p[2], 3);	/* the parent's write, after FREE */
		p[3] = 4;
		KT_OK(munmap((void *)p, 2 * PG));
		_exit(0);
	}
	KT_OK(read(to_parent[0], &ch, 1));
	KT_ASSERT_EQ(p[1], 2);
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_MAPPINGS), 2);
	KT_OK(kbuf_free(fd, a.id));
	p[2] = 3;
	KT_OK(munmap((void *)p, 2 * PG));
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_KBUFS), 1);	/* the child's */
	KT_OK(write(to_child[1], "b", 1));
	KT_OK(waitpid(pid, &status, 0));
	KT_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_KBUFS), 0);
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_KBUF_PAGES), 0);
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_MAPPINGS), 0);
	close(fd);
}

KT_CASE(fork_shared_pages)
{
	fork_shared(KUBUF_KBUF_PAGES);
}

KT_CASE(fork_shared_dma)
{
	fork_shared(KUBUF_KBUF_DMA);
}

/* The child exits (no munmap) holding the last mapping. */
KT_CASE(fork_child_exit_frees)
{
	struct kubuf_kbuf_alloc a;
	void *p;
	int status;
	pid_t pid;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	rw_buf(fd, PG, &a);
	p = map(fd, PG, RW, a.mmap_offset);
	pid = KT_OK(fork());
	if (pid == 0)
		kt_wait_for_kill();
	KT_OK(munmap(p, PG));
	KT_OK(kbuf_free(fd, a.id));
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_KBUFS), 1);
	KT_OK(kill(pid, SIGKILL));
	KT_OK(waitpid(pid, &status, 0));
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_KBUFS), 0);
	close(fd);
}

static long module_refcnt(void)
{
	char buf[32] = "";
	int fd = KT_OK(open("/sys/module/kubuf_core/refcnt", O_RDONLY | O_CLOEXEC));

	KT_OK(read(fd, buf, sizeof(buf) - 1));
	close(fd);
	return strtol(buf, NULL, 10);
}

/* A mapping alone keeps the file, and so the module, from going away. */
KT_CASE(mapping_holds_module)
{
	struct kubuf_kbuf_alloc a;
	long base = module_refcnt();
	void *p;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	rw_buf(fd, PG, &a);
	p = map(fd, PG, RW, a.mmap_offset);
	KT_OK(close(fd));
	KT_ASSERT_EQ(module_refcnt(), base + 1);
	KT_OK(munmap(p, PG));
	KT_ASSERT_EQ(module_refcnt(), base);
}

/* Technique 1 cannot pin a driver buffer's mapping: it is a device file. */
KT_CASE(register_kbuf_mapping_refused)
{
	struct kubuf_kbuf_alloc a;
	struct kubuf_ubuf_reg r;
	void *p;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	rw_buf(fd, 2 * PG, &a);
	p = map(fd, 2 * PG, RW, a.mmap_offset);
	memset(&r, 0, sizeof(r));
	r.addr = (uintptr_t)p;
	r.len = 2 * PG;
	r.access = KUBUF_ACCESS_DEV_READ | KUBUF_ACCESS_DEV_WRITE;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_UBUF_REGISTER, &r), EOPNOTSUPP);
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_PINNED_PAGES), 0);
	KT_OK(munmap(p, 2 * PG));
	close(fd);
}

/* The library's calls, end to end. */
KT_CASE(lib_alloc_map_free)
{
	struct kubuf_dev_cmd c;
	struct kubuf *k;
	uint64_t off;
	uint32_t id;
	uint8_t *p;

	KT_ASSERT_EQ(kubuf_open(NULL, 0, &k), 0);
	KT_ASSERT_EQ(kubuf_kbuf_alloc(k, 4 * PG, KUBUF_KBUF_PAGES,
				      KUBUF_CACHE_CACHED, KUBUF_KBUF_APP_WRITE,
				      &id, &off), 0);
	KT_ASSERT_EQ(off, (uint64_t)id << OFF_SHIFT);
	KT_LIBERR(kubuf_kbuf_alloc(k, 0, KUBUF_KBUF_PAGES, 0, 0, NULL, NULL),
		  EINVAL);
	KT_LIBERR(kubuf_kbuf_map(k, id, 0, 5 * PG, PROT_READ, (void **)&p),
		  EINVAL);
	KT_LIBERR(kubuf_kbuf_map(k, id + 1, 0, PG, PROT_READ, (void **)&p),
		  EINVAL);
	KT_ASSERT_EQ(kubuf_kbuf_map(k, id, PG, 3 * PG, PROT_READ | PROT_WRITE,
				    (void **)&p), 0);
	KT_OK(dev_cmd(kubuf_fd(k), KUBUF_DEV_FILL, id, PG, 3 * PG, 8, &c));
	check_pattern(p, 3 * PG, 8);
	KT_ASSERT_EQ(kubuf_kbuf_free(k, id), 0);
	KT_LIBERR(kubuf_kbuf_free(k, id), ENOENT);
	KT_ASSERT_EQ(kubuf_kbuf_unmap(p, 3 * PG), 0);
	kubuf_close(k);
}

static int race_fd;

/* Allocate, map, let the device write, free and unmap, in any order. */
static void *race_worker(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;
	struct kubuf_kbuf_alloc a;
	struct kubuf_dev_cmd c;
	int i;

	for (i = 0; i < 300; i++) {
		uint8_t *p;

		if (kbuf_alloc(race_fd, 2 * PG, KUBUF_KBUF_PAGES, 0,
			       KUBUF_KBUF_APP_WRITE, &a) < 0)
			continue;	/* ENOSPC while others hold slots */
		p = mmap(NULL, 2 * PG, RW, MAP_SHARED, race_fd, a.mmap_offset);
		/* Another thread may free any id: ENOENT is fine. */
		dev_cmd(race_fd, KUBUF_DEV_FILL, a.id, 0, 2 * PG, i, &c);
		kbuf_free(race_fd, (rand_r(&seed) % 70) + 1);
		if (p != MAP_FAILED) {
			p[0] = 1;
			munmap(p, 2 * PG);
		}
		kbuf_free(race_fd, a.id);
	}
	return NULL;
}

/* FREE, mmap and device commands racing on one file: counters balance. */
KT_CASE(race_alloc_map_free)
{
	pthread_t t[4];
	uintptr_t i;

	race_fd = KT_OK(kt_open_dev(O_RDWR));
	for (i = 0; i < 4; i++)
		KT_ASSERT_EQ(pthread_create(&t[i], NULL, race_worker,
					    (void *)(i + 1)), 0);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	KT_ASSERT_EQ(stat_of(race_fd, KUBUF_STAT_MAPPINGS), 0);
	close(race_fd);
	race_fd = KT_OK(kt_open_dev(O_RDONLY));
	KT_ASSERT_EQ(stat_of(race_fd, KUBUF_STAT_KBUFS), 0);
	KT_ASSERT_EQ(stat_of(race_fd, KUBUF_STAT_KBUF_PAGES), 0);
	close(race_fd);
}

/* --- the device ---------------------------------------------------------------- */

KT_CASE(dev_fill_checksum_copy)
{
	struct kubuf_kbuf_alloc a, b;
	struct kubuf_dev_cmd c;
	size_t len = 16 * PG;
	uint8_t *p, *q;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	rw_buf(fd, len, &a);
	rw_buf(fd, len, &b);
	p = map(fd, len, RW, a.mmap_offset);
	q = map(fd, len, PROT_READ | PROT_WRITE, b.mmap_offset);

	KT_OK(dev_cmd(fd, KUBUF_DEV_FILL, a.id, 0, len, 0x1234, &c));
	check_pattern(p, len, 0x1234);

	p[100] ^= 0xff;	/* the application writes, the device reads it */
	KT_OK(dev_cmd(fd, KUBUF_DEV_CHECKSUM, a.id, 0, len, 0, &c));
	KT_ASSERT(c.result == kubuf_checksum(KUBUF_CHECKSUM_INIT, p, len));

	memset(&c, 0, sizeof(c));
	c.op = KUBUF_DEV_COPY;
	c.kind = KUBUF_MEM_KBUF;
	c.id = b.id;
	c.offset = PG;
	c.len = len - PG;
	c.src_kind = KUBUF_MEM_KBUF;
	c.src_id = a.id;
	c.src_offset = 0;
	KT_OK(ioctl(fd, KUBUF_IOC_DEV_CMD, &c));
	check_zero(q, PG);
	KT_ASSERT(!memcmp(q + PG, p, len - PG));

	KT_ERRNO(dev_cmd(fd, KUBUF_DEV_FILL, a.id, 0, len + 1, 1, &c), ERANGE);
	KT_ERRNO(dev_cmd(fd, KUBUF_DEV_FILL, a.id, len, 1, 1, &c), ERANGE);
	KT_ERRNO(dev_cmd(fd, KUBUF_DEV_FILL, 999, 0, 1, 1, &c), ENOENT);
	KT_OK(munmap(p, len));
	KT_OK(munmap(q, len));
	close(fd);
}

/* The device writes asynchronously; FREE and munmap while it runs. */
KT_CASE(dev_fill_nowait_free)
{
	struct kubuf_kbuf_alloc a;
	struct kubuf_dev_cmd c;
	struct kubuf_events ev;
	size_t len = 64 * PG;
	uint8_t *p;
	int i;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	rw_buf(fd, len, &a);
	p = map(fd, len, RW, a.mmap_offset);
	memset(&c, 0, sizeof(c));
	c.op = KUBUF_DEV_FILL;
	c.flags = KUBUF_DEV_NOWAIT;
	c.kind = KUBUF_MEM_KBUF;
	c.id = a.id;
	c.len = len;
	c.seed = 21;
	c.repeat = 50;
	KT_OK(ioctl(fd, KUBUF_IOC_DEV_CMD, &c));
	KT_OK(kbuf_free(fd, a.id));
	KT_OK(munmap(p, len));
	/* The command holds the buffer until it is done. */
	for (i = 0; i < 1000; i++) {
		memset(&ev, 0, sizeof(ev));
		KT_OK(ioctl(fd, KUBUF_IOC_GET_EVENTS, &ev));
		if (ev.pending & KUBUF_EVENT_DONE)
			break;
		kt_msleep(10);
	}
	KT_ASSERT(ev.pending & KUBUF_EVENT_DONE);
	for (i = 0; i < 2000 && stat_of(fd, KUBUF_STAT_KBUFS); i++)
		kt_msleep(10);
	KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_KBUFS), 0);
	close(fd);
}

/* --- the memory cgroup --------------------------------------------------------- */

#define CG_ROOT "/sys/fs/cgroup"

/* Buffers are charged to the caller's memcg: over the limit, -ENOMEM. */
KT_CASE(memcg_limit_enomem)
{
	char buf[4096], dir[128], path[192];
	long long oom_kill = -1;
	int status;
	char *s;
	pid_t pid;

	if (access(CG_ROOT "/cgroup.controllers", F_OK) &&
	    mount("cgroup2", CG_ROOT, "cgroup2", 0, NULL))
		kt_skip("cannot mount cgroup2 at " CG_ROOT ": %s",
			strerror(errno));
	if (kt_read_file(CG_ROOT "/cgroup.controllers", buf, sizeof(buf)) ||
	    !strstr(buf, "memory"))
		kt_skip("the cgroup2 memory controller is not available");
	KT_OK(kt_write_file(CG_ROOT "/cgroup.subtree_control", "+memory"));
	snprintf(dir, sizeof(dir), CG_ROOT "/kt_kbuf_%d", getpid());
	KT_OK(mkdir(dir, 0755));
	snprintf(path, sizeof(path), "%s/memory.max", dir);
	KT_OK(kt_write_file(path, "16777216"));
	snprintf(path, sizeof(path), "%s/memory.swap.max", dir);
	kt_write_file(path, "0");	/* absent without swap accounting */

	pid = KT_OK(fork());
	if (pid == 0) {
		struct kubuf_kbuf_alloc a;
		char me[32];
		int fd;

		snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
		snprintf(me, sizeof(me), "%d", getpid());
		KT_OK(kt_write_file(path, me));
		fd = KT_OK(kt_open_dev(O_RDWR));
		KT_ERRNO(kbuf_alloc(fd, 64 << 20, KUBUF_KBUF_PAGES, 0, 0, &a),
			 ENOMEM);
		KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_KBUFS), 0);
		KT_ASSERT_EQ(stat_of(fd, KUBUF_STAT_KBUF_PAGES), 0);
		/* Below the limit it works. */
		KT_OK(kbuf_alloc(fd, 1 << 20, KUBUF_KBUF_PAGES, 0, 0, &a));
		close(fd);
		_exit(0);
	}
	KT_OK(waitpid(pid, &status, 0));
	KT_ASSERT(WIFEXITED(status));
	KT_ASSERT_EQ(WEXITSTATUS(status), 0);

	snprintf(path, sizeof(path), "%s/memory.events", dir);
	KT_OK(kt_read_file(path, buf, sizeof(buf)));
	s = strstr(buf, "oom_kill ");
	if (s)
		oom_kill = strtoll(s + 9, NULL, 10);
	KT_ASSERT_EQ(oom_kill, 0);
	KT_OK(rmdir(dir));
}

KT_MAIN()
