/* SPDX-License-Identifier: MIT */
/*
 * Failures no allocation failure reaches, injected through the module's
 * own fault injection point (debugfs kubuf/fail_cache_mode, the
 * kernel's fault_attr knobs: probability, times, space...). They exist where the kernel has
 * CONFIG_FAULT_INJECTION_DEBUG_FS, and the cache modes are read in the
 * kernel page-table dump (CONFIG_PTDUMP_DEBUGFS): the debug lane. Other
 * kernels cannot inject these faults, and the cases say so with a skip.
 *
 *   cache_mode_restored   a write-combined buffer whose cache-mode change
 *                         fails part-way: every page is write-back again
 *                         before it goes back to the allocator
 */
#include <sys/mman.h>

#include "harness.h"
#include "kubuf.h"

#define PG		4096UL
#define FF		"/sys/kernel/debug/kubuf/"
#define PTDUMP		"/sys/kernel/debug/page_tables/kernel"

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

KT_MAIN()
