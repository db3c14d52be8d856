/* SPDX-License-Identifier: MIT */
/*
 * Failures no allocation failure reaches, injected through the module's
 * own fault injection points (debugfs kubuf/fail_cache_mode and
 * kubuf/fail_dma_map, the kernel's fault_attr knobs: probability, times,
 * space...). They exist where the kernel has
 * CONFIG_FAULT_INJECTION_DEBUG_FS, and the cache modes are read in the
 * kernel page-table dump (CONFIG_PTDUMP_DEBUGFS): the debug lane. Other
 * kernels cannot inject these faults, and the cases say so with a skip.
 *
 *   cache_mode_restored   a write-combined buffer whose cache-mode change
 *                         fails part-way: every page is write-back again
 *                         before it goes back to the allocator
 *   dma_mmap_fails_vs_free a DMA mapping that fails part-way while
 *                         another thread frees the buffer: the memory is
 *                         never freed under the PTEs mapped so far
 */
#include <pthread.h>
#include <sys/mman.h>

#include "harness.h"
#include "kubuf.h"

#define PG		4096UL
#define FF		"/sys/kernel/debug/kubuf/"
#define PTDUMP		"/sys/kernel/debug/page_tables/kernel"
#define READ_AT		100	/* the byte the reader reads */

static void need(const char *path, const char *what)
{
	if (access(path, F_OK))
		kt_skip("no %s: %s not in this kernel (the debug lane has it)",
			path, what);
}

static void ff_write(const char *point, const char *file, const char *v)
{
	char path[256];

	snprintf(path, sizeof(path), FF "%s/%s", point, file);
	if (kt_write_file(path, v))
		kt_fail(__FILE__, __LINE__, "write %s to %s", v, path);
}

/* Make the @nth pass through injection point @point from now on fail. */
static void ff_inject(const char *point, unsigned int nth)
{
	char v[32];

	ff_write(point, "verbose", "0");
	ff_write(point, "probability", "100");
	ff_write(point, "interval", "1");
	/* should_fail() passes while "space" is above its size (1). */
	snprintf(v, sizeof(v), "%u", nth);
	ff_write(point, "space", v);
	ff_write(point, "times", "1");
}

static void ff_clear(const char *point)
{
	ff_write(point, "times", "0");
	ff_write(point, "space", "0");
}

/*
 * Bytes of the direct map ("Low Kernel Mapping") whose cache mode is not
 * write-back: PWT, PCD or PAT set.
 */
static unsigned long long direct_map_not_wb(void)
{
	FILE *f = fopen(PTDUMP, "r");
	unsigned long long total = 0, start, end;
	bool in = false;
	char line[512];

	KT_ASSERT(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "---[")) {
			in = strstr(line, "Low Kernel Mapping") != NULL;
			continue;
		}
		if (!in || sscanf(line, "0x%llx-0x%llx", &start, &end) != 2)
			continue;
		if (strstr(line, " PWT") || strstr(line, " PCD") ||
		    strstr(line, " PAT"))
			total += end - start;
	}
	fclose(f);
	return total;
}

static int kbuf_alloc(int fd, unsigned long pages, uint32_t kind,
		      uint32_t cache, struct kubuf_kbuf_alloc *a)
{
	memset(a, 0, sizeof(*a));
	a->size = pages * PG;
	a->kind = kind;
	a->cache = cache;
	a->flags = KUBUF_KBUF_APP_WRITE;
	return ioctl(fd, KUBUF_IOC_KBUF_ALLOC, a);
}

/*
 * The module sets a buffer's cache mode 512 pages at a time: the second
 * chunk's change fails after the first one's was made. Before the fix,
 * the first chunk's pages went back to the allocator write-combined.
 */
KT_CASE(cache_mode_restored)
{
	static const uint32_t modes[] = {
		KUBUF_CACHE_WC, KUBUF_CACHE_UNCACHED,
	};
	struct kubuf_kbuf_alloc a;
	unsigned long long base, now;
	unsigned int i, nth;
	int fd;

	need(FF "fail_cache_mode", "fault injection");
	need(PTDUMP, "the page-table dump");
	fd = KT_OK(kt_open_dev(O_RDWR));
	for (i = 0; i < 2; i++) {
		for (nth = 1; nth <= 3; nth++) {
			base = direct_map_not_wb();
			ff_inject("fail_cache_mode", nth);
			KT_ERRNO(kbuf_alloc(fd, 3 * 512, KUBUF_KBUF_PAGES,
					    modes[i], &a), ENOMEM);
			ff_clear("fail_cache_mode");
			now = direct_map_not_wb();
			if (now != base)
				kt_fail(__FILE__, __LINE__,
					"cache mode %u, chunk %u failed: %llu bytes of the direct map not write-back, %llu before",
					modes[i], nth, now, base);
			KT_ASSERT_EQ(kt_stat(KUBUF_STAT_KBUF_PAGES), 0);
		}
		/* And the same buffer without a fault: made, then undone. */
		KT_OK(kbuf_alloc(fd, 3 * 512, KUBUF_KBUF_PAGES, modes[i], &a));
		KT_ASSERT(direct_map_not_wb() >= base + 3 * 512 * PG);
		KT_OK(ioctl(fd, KUBUF_IOC_KBUF_FREE,
			    &(struct kubuf_id){ .id = a.id }));
		KT_ASSERT_EQ(direct_map_not_wb(), base);
	}
	close(fd);
}

/* --- a failing DMA mapping, and FREE meanwhile ------------------------------ */

struct race {
	int fd;
	uint32_t id;
	unsigned char *at;		/* where the mapping goes */
	int pipe[2];
	volatile int go;
	volatile int stop;
	unsigned long poison_seen;
	unsigned long reads;
};

/*
 * Reads the mapping's first page while it exists, through a pipe (a page
 * not mapped is -EFAULT, not a signal). What it may ever see is the
 * pattern the device wrote: the page-poison byte 0xaa means memory freed
 * under a live PTE.
 */
static void *reader(void *arg)
{
	struct race *r = arg;
	unsigned char b;

	while (!r->stop) {
		if (!r->go)
			continue;
		if (write(r->pipe[1], r->at + READ_AT, 1) != 1)
			continue;
		if (read(r->pipe[0], &b, 1) != 1)
			continue;
		r->reads++;
		if (b == 0xaa)
			r->poison_seen++;
	}
	return NULL;
}

KT_CASE(dma_mmap_fails_vs_free)
{
	enum { PAGES = 512, ROUNDS = 60 };
	struct kubuf_kbuf_alloc a;
	struct kubuf_dev_cmd c;
	struct race r;
	pthread_t t;
	unsigned char *area;
	void *p;
	int round, freed_during = 0;

	need(FF "fail_dma_map", "fault injection");
	KT_ASSERT(kubuf_pattern_byte(1, READ_AT) != 0xaa);
	memset(&r, 0, sizeof(r));
	r.fd = KT_OK(kt_open_dev(O_RDWR));
	KT_OK(pipe(r.pipe));
	/* A place for the mapping, known before mmap() puts it there. */
	area = mmap(NULL, PAGES * PG, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	KT_ASSERT(area != MAP_FAILED);
	KT_OK(munmap(area, PAGES * PG));
	r.at = area;
	KT_ASSERT_EQ(pthread_create(&t, NULL, reader, &r), 0);

	for (round = 0; round < ROUNDS; round++) {
		KT_OK(kbuf_alloc(r.fd, PAGES, KUBUF_KBUF_DMA,
				 KUBUF_CACHE_CACHED, &a));
		/* Not 0xaa anywhere: the device writes a pattern. */
		memset(&c, 0, sizeof(c));
		c.op = KUBUF_DEV_FILL;
		c.kind = KUBUF_MEM_KBUF;
		c.id = a.id;
		c.len = PAGES * PG;
		c.seed = 1;
		KT_OK(ioctl(r.fd, KUBUF_IOC_DEV_CMD, &c));

		/* The last page fails; FREE comes while the rest is mapped. */
		ff_inject("fail_dma_map", PAGES);
		r.go = 1;
		if (!fork()) {
			kt_usleep(200 + 37 * round % 800);
			ioctl(r.fd, KUBUF_IOC_KBUF_FREE,
			      &(struct kubuf_id){ .id = a.id });
			_exit(0);
		}
		p = mmap(area, PAGES * PG, PROT_READ, MAP_SHARED | MAP_FIXED,
			 r.fd, a.mmap_offset);
		KT_ASSERT(p == MAP_FAILED);
		KT_ASSERT(errno == ENOMEM || errno == EINVAL);
		if (errno == ENOMEM)
			freed_during++;
		r.go = 0;
		KT_OK(wait(NULL));
		ff_clear("fail_dma_map");
		/* FREE after mmap gave up, if it came late. */
		ioctl(r.fd, KUBUF_IOC_KBUF_FREE, &(struct kubuf_id){ .id = a.id });
		KT_ASSERT_EQ(kt_stat(KUBUF_STAT_KBUFS), 0);
	}
	r.stop = 1;
	KT_ASSERT_EQ(pthread_join(t, NULL), 0);
	kt_note("%d rounds, %d failed mappings, %lu reads of the mapping, %lu of freed memory",
		ROUNDS, freed_during, r.reads, r.poison_seen);
	KT_ASSERT_EQ(r.poison_seen, 0);
	close(r.fd);
}

KT_MAIN()
