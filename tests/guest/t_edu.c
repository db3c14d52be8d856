// SPDX-License-Identifier: MIT
/*
 * The edu driver (kernel/edu/edu.c, /dev/kubuf-edu0): QEMU's edu PCI
 * device moves every byte with its DMA engine, 4 KiB at a time, about
 * 100 ms of virtual time per transfer. Both techniques for real: the
 * application's registered pages DMA-mapped for the device (through an
 * IOMMU, or bounced by swiotlb) and DMA driver buffers; revocation with
 * a transfer in flight (unregister, kill -9), and the device going away
 * (driver unbind, PCI removal, the host unplugging it from its slot)
 * while an application holds everything, 20 times each.
 *
 * Every case skips (77) where the guest has no edu device. The runner
 * fails a case whose kernel log shows an IOMMU fault (a DMA to memory
 * not mapped for the device) and checks the core's counters after each.
 */
#include <dirent.h>
#include <libgen.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "harness.h"
#include "kubuf.h"

#define PG		4096UL
#define RW		(KUBUF_ACCESS_DEV_READ | KUBUF_ACCESS_DEV_WRITE)
#define EDU_NODE	"/dev/kubuf-edu0"
#define EDU_DRIVER	"/sys/bus/pci/drivers/kubuf_edu"
#define GUARD		0x5a

/* The device, or skip: no edu device (or driver) in this guest. */
static struct kubuf *edu_open(void)
{
	struct kubuf *k;
	int ret;

	if (access(EDU_NODE, F_OK))
		kt_skip("no %s: the guest has no edu device", EDU_NODE);
	ret = kubuf_open(EDU_NODE, 0, &k);
	if (ret) {
		errno = -ret;
		kt_fail(__FILE__, __LINE__, "kubuf_open(%s)", EDU_NODE);
	}
	return k;
}

static char *map_anon(size_t len, int byte)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	KT_ASSERT(p != MAP_FAILED);
	memset(p, byte, len);
	return p;
}

/* Bytes of a cheap generator, so that data is not the device's pattern. */
static void fill_random(char *p, size_t len, uint32_t seed)
{
	size_t i;

	for (i = 0; i < len; i++) {
		seed = seed * 1103515245 + 12345;
		p[i] = (char)(seed >> 16);
	}
}

/* [p, p + len) all @byte? The first index that is not, or -1. */
static long first_not(const char *p, size_t len, int byte)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] != (unsigned char)byte)
			return (long)i;
	return -1;
}

/* The pattern of @seed over [p, p + len), byte by byte, with a message. */
static void check_pattern(const char *p, size_t len, uint32_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] != kubuf_pattern_byte(seed, i))
			kt_fail(__FILE__, __LINE__,
				"byte %zu of %zu: 0x%02x, pattern 0x%02x", i,
				len, (unsigned char)p[i],
				kubuf_pattern_byte(seed, i));
}

static int dev_cmd(struct kubuf *k, uint32_t op, uint32_t flags,
		   uint32_t kind, uint32_t id, uint64_t off, uint64_t len,
		   uint32_t seed, uint32_t repeat)
{
	struct kubuf_dev_cmd c;

	memset(&c, 0, sizeof(c));
	c.op = op;
	c.flags = flags;
	c.kind = kind;
	c.id = id;
	c.offset = off;
	c.len = len;
	c.seed = seed;
	c.repeat = repeat;
	return kubuf_dev_cmd(k, &c);
}

/* The PCI address of the edu device kubuf-edu0 is made for. */
static void edu_pci_addr(char *buf, size_t len)
{
	char link[256];
	ssize_t n = readlink("/sys/class/misc/kubuf-edu0/device", link,
			     sizeof(link) - 1);

	KT_ASSERT(n > 0);
	link[n] = '\0';
	snprintf(buf, len, "%s", basename(link));
}

/* Wait up to @ms for counter @s to come back to @want. */
static void wait_stat(enum kubuf_stat s, uint64_t want, unsigned int ms)
{
	unsigned int t;

	for (t = 0; t < ms && kt_stat(s) != want; t += 50)
		kt_msleep(50);
	KT_ASSERT_EQ(kt_stat(s), want);
}

KT_CASE(info)
{
	struct kubuf *k = edu_open();
	struct kubuf_info info;
	char addr[64], path[256], buf[64];
	const uint64_t want = KUBUF_FEAT_UBUF | KUBUF_FEAT_KBUF |
			      KUBUF_FEAT_KBUF_DMA | KUBUF_FEAT_EVENTS |
			      KUBUF_FEAT_DEVICE;

	KT_ASSERT_EQ(kubuf_get_info(k, &info), 0);
	KT_ASSERT_EQ(info.abi_version, KUBUF_ABI_VERSION);
	KT_ASSERT_EQ(info.page_size, PG);
	KT_ASSERT((info.features & want) == want);
	/* No read(), UCOPY or stream: the device only moves memory by DMA. */
	KT_ASSERT(!(info.features & KUBUF_FEAT_UCOPY));
	KT_ASSERT(!(info.features & KUBUF_FEAT_STREAM));

	/* The node belongs to a 1234:11e8 bound to kubuf_edu. */
	edu_pci_addr(addr, sizeof(addr));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", addr);
	KT_OK(kt_read_file(path, buf, sizeof(buf)));
	KT_ASSERT(!strcmp(buf, "0x1234\n"));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", addr);
	KT_OK(kt_read_file(path, buf, sizeof(buf)));
	KT_ASSERT(!strcmp(buf, "0x11e8\n"));
	snprintf(path, sizeof(path), EDU_DRIVER "/%s", addr);
	KT_OK(access(path, F_OK));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/msi_irqs", addr);
	kt_note("edu at %s, interrupts: %s", addr,
		access(path, F_OK) ? "INTx" : "MSI");
	kubuf_close(k);
}

/* A number in a file of debugfs or sysfs, or -1. */
static long long read_number(const char *path)
{
	char buf[64];

	if (kt_read_file(path, buf, sizeof(buf)))
		return -1;
	return strtoll(buf, NULL, 0);
}

#define TLB_USED	"/sys/kernel/debug/swiotlb/io_tlb_used"

/*
 * The lane's DMA path is the one it says (KUBUF_EDU_DMA in kernels.conf):
 * "iommu": the device is in an IOMMU group, and a registration takes
 * nothing from swiotlb; "swiotlb": no IOMMU, and a registration of pages
 * the device cannot reach takes bounce slots until it is unregistered.
 */
KT_CASE(dma_path)
{
	struct kubuf *k = edu_open();
	const char *want = getenv("KUBUF_EDU_DMA");
	size_t len = 16 * PG;
	char *p = map_anon(len, 1), addr[64], path[256];
	long long used0, used;
	bool group;
	uint32_t id;

	if (!want)
		kt_skip("KUBUF_EDU_DMA is not set: the lane does not say");
	edu_pci_addr(addr, sizeof(addr));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group",
		 addr);
	group = !access(path, F_OK);
	used0 = read_number(TLB_USED);
	KT_ASSERT_EQ(kubuf_ubuf_register(k, p, len, RW, &id), 0);
	used = read_number(TLB_USED);
	kt_note("DMA path: %s; swiotlb slots used: %lld, %lld with %zu "
		"bytes registered", group ? "IOMMU" : "direct", used0, used,
		len);
	if (!strcmp(want, "iommu")) {
		KT_ASSERT(group);
		KT_ASSERT(used == used0);
	} else if (!strcmp(want, "swiotlb")) {
		KT_ASSERT(!group);
		KT_ASSERT(used0 >= 0);
		KT_ASSERT(used > used0);
		KT_ASSERT_EQ(kubuf_dev_fill(k, KUBUF_MEM_UBUF, id, 0, len, 12),
			     0);
		check_pattern(p, len, 12);
	} else {
		kt_fail(__FILE__, __LINE__, "KUBUF_EDU_DMA=%s?", want);
	}
	KT_ASSERT_EQ(kubuf_ubuf_unregister(k, id), 0);
	KT_ASSERT_EQ(read_number(TLB_USED), used0);
	kubuf_close(k);
}

/*
 * A registration of 3 pages at an odd address (4 pages pinned), filled
 * by the device whole, then at an odd offset, then twice over (repeat):
 * every byte checked, and nothing around it touched.
 */
KT_CASE(fill_ubuf)
{
	struct kubuf *k = edu_open();
	size_t len = 3 * PG, off = 1000;
	char *p = map_anon(5 * PG, GUARD);
	char *b = p + off;
	uint32_t id;
	size_t i;

	KT_ASSERT_EQ(kubuf_ubuf_register(k, b, len, KUBUF_ACCESS_DEV_WRITE,
					 &id), 0);
	KT_ASSERT_EQ(dev_cmd(k, KUBUF_DEV_FILL, 0, KUBUF_MEM_UBUF, id, 0, len,
			     0xedu, 0), 0);
	check_pattern(b, len, 0xedu);
	KT_ASSERT_EQ(first_not(p, off, GUARD), -1);
	KT_ASSERT_EQ(first_not(b + len, 5 * PG - off - len, GUARD), -1);

	/* Part of it, from an odd offset across two page boundaries. */
	KT_ASSERT_EQ(dev_cmd(k, KUBUF_DEV_FILL, 0, KUBUF_MEM_UBUF, id, 777,
			     2 * PG + 5, 42, 0), 0);
	check_pattern(b + 777, 2 * PG + 5, 42);
	check_pattern(b, 777, 0xedu);
	for (i = 777 + 2 * PG + 5; i < len; i++)
		KT_ASSERT_EQ((unsigned char)b[i], kubuf_pattern_byte(0xedu, i));

	/* Passes: the same pattern again, over a small range. */
	KT_ASSERT_EQ(dev_cmd(k, KUBUF_DEV_FILL, 0, KUBUF_MEM_UBUF, id, 3,
			     100, 9, 2), 0);
	check_pattern(b + 3, 100, 9);
	KT_ASSERT_EQ(first_not(p, off, GUARD), -1);
	KT_ASSERT_EQ(first_not(b + len, 5 * PG - off - len, GUARD), -1);
	KT_ASSERT_EQ(kubuf_ubuf_unregister(k, id), 0);
	kubuf_close(k);
}

/* A DMA driver buffer: filled by the device, seen through the mapping. */
KT_CASE(fill_kbuf_dma)
{
	struct kubuf *k = edu_open();
	size_t len = 3 * PG;
	uint32_t id;
	char *m;

	KT_ASSERT_EQ(kubuf_kbuf_alloc(k, len, KUBUF_KBUF_DMA,
				      KUBUF_CACHE_CACHED, 0, &id, NULL), 0);
	KT_ASSERT_EQ(kubuf_kbuf_map(k, id, 0, len, PROT_READ, (void **)&m), 0);
	KT_ASSERT_EQ(first_not(m, len, 0), -1);
	KT_ASSERT_EQ(dev_cmd(k, KUBUF_DEV_FILL, 0, KUBUF_MEM_KBUF, id, 123,
			     2 * PG + 500, 7, 0), 0);
	KT_ASSERT_EQ(first_not(m, 123, 0), -1);
	check_pattern(m + 123, 2 * PG + 500, 7);
	KT_ASSERT_EQ(first_not(m + 123 + 2 * PG + 500, PG - 623, 0), -1);
	/* The whole buffer. */
	KT_ASSERT_EQ(dev_cmd(k, KUBUF_DEV_FILL, 0, KUBUF_MEM_KBUF, id, 0, len,
			     8, 0), 0);
	check_pattern(m, len, 8);
	KT_ASSERT_EQ(kubuf_kbuf_unmap(m, len), 0);
	KT_ASSERT_EQ(kubuf_kbuf_free(k, id), 0);
	kubuf_close(k);
}

/*
 * Data of the application's own (not the device's pattern) from a
 * registration into a DMA driver buffer, and from there into another
 * registration, at odd offsets: both directions of both techniques.
 */
KT_CASE(copy_ubuf_to_kbuf)
{
	struct kubuf *k = edu_open();
	size_t len = 2 * PG + 999;
	char *src = map_anon(4 * PG, 0), *dst = map_anon(4 * PG, GUARD);
	struct kubuf_dev_cmd c;
	uint32_t is, id, ik;
	char *m;

	fill_random(src, 4 * PG, 1);
	KT_ASSERT_EQ(kubuf_ubuf_register(k, src + 5, 3 * PG + 7,
					 KUBUF_ACCESS_DEV_READ, &is), 0);
	KT_ASSERT_EQ(kubuf_ubuf_register(k, dst + 2000, 3 * PG, RW, &id), 0);
	KT_ASSERT_EQ(kubuf_kbuf_alloc(k, 4 * PG, KUBUF_KBUF_DMA,
				      KUBUF_CACHE_CACHED, 0, &ik, NULL), 0);
	KT_ASSERT_EQ(kubuf_kbuf_map(k, ik, 0, 4 * PG, PROT_READ, (void **)&m),
		     0);

	/* registration src + 5 + 300 -> driver buffer + 1500 */
	memset(&c, 0, sizeof(c));
	c.op = KUBUF_DEV_COPY;
	c.kind = KUBUF_MEM_KBUF;
	c.id = ik;
	c.offset = 1500;
	c.src_kind = KUBUF_MEM_UBUF;
	c.src_id = is;
	c.src_offset = 300;
	c.len = len;
	KT_ASSERT_EQ(kubuf_dev_cmd(k, &c), 0);
	KT_ASSERT(!memcmp(m + 1500, src + 5 + 300, len));
	KT_ASSERT_EQ(first_not(m, 1500, 0), -1);
	KT_ASSERT_EQ(first_not(m + 1500 + len, 4 * PG - 1500 - len, 0), -1);

	/* and back: driver buffer + 1500 -> registration dst + 2000 + 33 */
	memset(&c, 0, sizeof(c));
	c.op = KUBUF_DEV_COPY;
	c.kind = KUBUF_MEM_UBUF;
	c.id = id;
	c.offset = 33;
	c.src_kind = KUBUF_MEM_KBUF;
	c.src_id = ik;
	c.src_offset = 1500;
	c.len = len;
	KT_ASSERT_EQ(kubuf_dev_cmd(k, &c), 0);
	KT_ASSERT(!memcmp(dst + 2000 + 33, src + 5 + 300, len));
	KT_ASSERT_EQ(first_not(dst, 2033, GUARD), -1);
	KT_ASSERT_EQ(first_not(dst + 2033 + len, 4 * PG - 2033 - len, GUARD),
		     -1);
	KT_ASSERT_EQ(kubuf_ubuf_unregister(k, is), 0);
	KT_ASSERT_EQ(kubuf_ubuf_unregister(k, id), 0);
	KT_ASSERT_EQ(kubuf_kbuf_unmap(m, 4 * PG), 0);
	kubuf_close(k);
}

/* The device's checksum of what the application wrote is its own. */
KT_CASE(checksum)
{
	struct kubuf *k = edu_open();
	char *p = map_anon(4 * PG, 0);
	uint64_t sum = 0, want;
	uint32_t id, ik;
	char *m;

	fill_random(p, 4 * PG, 2);
	KT_ASSERT_EQ(kubuf_ubuf_register(k, p + 11, 3 * PG + 100,
					 KUBUF_ACCESS_DEV_READ, &id), 0);
	want = kubuf_checksum(KUBUF_CHECKSUM_INIT, p + 11 + 77, 2 * PG + 1000);
	KT_ASSERT_EQ(kubuf_dev_checksum(k, KUBUF_MEM_UBUF, id, 77,
					2 * PG + 1000, &sum), 0);
	KT_ASSERT(sum == want);
	/* One byte changed by the application is seen by the device. */
	p[11 + 77 + PG] ^= 1;
	KT_ASSERT_EQ(kubuf_dev_checksum(k, KUBUF_MEM_UBUF, id, 77,
					2 * PG + 1000, &sum), 0);
	KT_ASSERT(sum == kubuf_checksum(KUBUF_CHECKSUM_INIT, p + 11 + 77,
					2 * PG + 1000));
	KT_ASSERT(sum != want);

	/* A DMA driver buffer the application writes. */
	KT_ASSERT_EQ(kubuf_kbuf_alloc(k, 2 * PG, KUBUF_KBUF_DMA,
				      KUBUF_CACHE_CACHED, KUBUF_KBUF_APP_WRITE,
				      &ik, NULL), 0);
	KT_ASSERT_EQ(kubuf_kbuf_map(k, ik, 0, 2 * PG, PROT_READ | PROT_WRITE,
				    (void **)&m), 0);
	fill_random(m, 2 * PG, 3);
	KT_ASSERT_EQ(kubuf_dev_checksum(k, KUBUF_MEM_KBUF, ik, 1, 2 * PG - 1,
					&sum), 0);
	KT_ASSERT(sum == kubuf_checksum(KUBUF_CHECKSUM_INIT, m + 1,
					2 * PG - 1));
	KT_ASSERT_EQ(kubuf_kbuf_unmap(m, 2 * PG), 0);
	kubuf_close(k);
}

/* Driver buffers of pages have no bus address: the device refuses them. */
KT_CASE(pages_kbuf_refused)
{
	struct kubuf *k = edu_open();
	char *p = map_anon(PG, 0);
	struct kubuf_dev_cmd c;
	uint32_t ik, id;
	uint64_t sum;
	char *m;

	KT_ASSERT_EQ(kubuf_kbuf_alloc(k, PG, KUBUF_KBUF_PAGES,
				      KUBUF_CACHE_CACHED, 0, &ik, NULL), 0);
	KT_ASSERT_EQ(kubuf_kbuf_map(k, ik, 0, PG, PROT_READ, (void **)&m), 0);
	KT_ASSERT_EQ(dev_cmd(k, KUBUF_DEV_FILL, 0, KUBUF_MEM_KBUF, ik, 0, PG,
			     1, 0), -EOPNOTSUPP);
	KT_ASSERT_EQ(kubuf_dev_checksum(k, KUBUF_MEM_KBUF, ik, 0, PG, &sum),
		     -EOPNOTSUPP);
	KT_ASSERT_EQ(kubuf_ubuf_register(k, p, PG, RW, &id), 0);
	memset(&c, 0, sizeof(c));
	c.op = KUBUF_DEV_COPY;
	c.kind = KUBUF_MEM_KBUF;
	c.id = ik;
	c.src_kind = KUBUF_MEM_UBUF;
	c.src_id = id;
	c.len = PG;
	KT_ASSERT_EQ(kubuf_dev_cmd(k, &c), -EOPNOTSUPP);
	c.kind = KUBUF_MEM_UBUF;
	c.id = id;
	c.src_kind = KUBUF_MEM_KBUF;
	c.src_id = ik;
	KT_ASSERT_EQ(kubuf_dev_cmd(k, &c), -EOPNOTSUPP);
	KT_ASSERT_EQ(first_not(m, PG, 0), -1);
	KT_ASSERT_EQ(first_not(p, PG, 0), -1);
	KT_ASSERT_EQ(kubuf_kbuf_unmap(m, PG), 0);
	kubuf_close(k);
}

/* RESET revokes the file's registrations and tells the application. */
KT_CASE(reset_revokes)
{
	struct kubuf *k = edu_open();
	char *p = map_anon(2 * PG, 0);
	struct kubuf_ubuf_query q;
	uint32_t id, ev;

	KT_ASSERT_EQ(kubuf_ubuf_register(k, p, 2 * PG, RW, &id), 0);
	KT_ASSERT_EQ(kubuf_dev_reset(k), 0);
	KT_ASSERT_EQ(kubuf_get_events(k, &ev), 0);
	KT_ASSERT(ev & KUBUF_EVENT_REVOKED);
	KT_ASSERT_EQ(kubuf_ubuf_query(k, id, &q), 0);
	KT_ASSERT_EQ(q.state, KUBUF_UBUF_REVOKED);
	KT_ASSERT_EQ(dev_cmd(k, KUBUF_DEV_FILL, 0, KUBUF_MEM_UBUF, id, 0, PG,
			     1, 0), -ESHUTDOWN);
	KT_ASSERT_EQ(first_not(p, 2 * PG, 0), -1);
	KT_ASSERT_EQ(kubuf_ubuf_unregister(k, id), 0);
	kubuf_close(k);
}

/* Wait up to @ms until the first @n bytes of @p hold @seed's pattern. */
static int wait_progress(const char *p, size_t n, uint32_t seed,
			 unsigned int ms)
{
	unsigned int t;
	size_t i;

	for (t = 0; t < ms; t += 10) {
		for (i = 0; i < n; i++)
			if ((unsigned char)p[i] != kubuf_pattern_byte(seed, i))
				break;
		if (i == n)
			return 0;
		kt_msleep(10);
	}
	return -1;
}

/*
 * What a stopped FILL left in [p, p + len): the pattern up to some
 * point, the guard after it. Returns the bytes written.
 */
static size_t check_stopped_fill(const char *p, size_t len, uint32_t seed)
{
	size_t done;

	for (done = 0; done < len; done++)
		if ((unsigned char)p[done] != kubuf_pattern_byte(seed, done))
			break;
	if (done < len && first_not(p + done, len - done, GUARD) != -1)
		kt_fail(__FILE__, __LINE__,
			"written past the pattern's end (%zu of %zu): byte "
			"%ld after it", done, len,
			first_not(p + done, len - done, GUARD));
	return done;
}

struct waiter {
	struct kubuf *k;
	uint32_t id;
	size_t len;
	int ret;
};

static void *fill_waiter(void *arg)
{
	struct waiter *w = arg;

	w->ret = dev_cmd(w->k, KUBUF_DEV_FILL, 0, KUBUF_MEM_UBUF, w->id, 0,
			 w->len, 5, 0);
	return NULL;
}

/*
 * Unregister with a transfer in flight: the call returns once the
 * transfer is over (a slice, two transfers at most), the command ends
 * with ESHUTDOWN, and the device writes nothing more (and, behind an
 * IOMMU, makes no DMA fault: the runner checks the log).
 */
KT_CASE(revoke_during_dma)
{
	struct kubuf *k = edu_open();
	size_t len = 64 * PG, done;
	char *p = map_anon(len, GUARD), *copy = malloc(len);
	struct waiter w = { .k = k, .len = len };
	pthread_t th;
	double t0, t;

	KT_ASSERT(copy);
	KT_ASSERT_EQ(kubuf_ubuf_register(k, p, len, KUBUF_ACCESS_DEV_WRITE,
					 &w.id), 0);
	KT_ASSERT_EQ(pthread_create(&th, NULL, fill_waiter, &w), 0);
	/* Under way: its first chunk is in memory. */
	KT_ASSERT_EQ(wait_progress(p, PG, 5, 20000), 0);
	t0 = kt_now();
	KT_ASSERT_EQ(kubuf_ubuf_unregister(k, w.id), 0);
	t = kt_now() - t0;
	memcpy(copy, p, len);
	KT_ASSERT_EQ(pthread_join(th, NULL), 0);
	KT_ASSERT_EQ(w.ret, -ESHUTDOWN);
	done = check_stopped_fill(p, len, 5);
	KT_ASSERT(done >= PG && done < len);
	/* Nothing more arrives, however long one waits. */
	kt_msleep(1000);
	KT_ASSERT(!memcmp(copy, p, len));
	kt_note("unregister waited %.3f s; the device had written %zu of %zu "
		"bytes", t, done, len);
	KT_ASSERT(t < 5.0);
	free(copy);
	kubuf_close(k);
}

/*
 * A process killed with a FILL of its registration in flight: its file
 * is released, which waits for the transfer, and everything it held
 * goes back (the runner checks every counter after the case, too).
 */
KT_CASE(kill9_during_dma)
{
	size_t len = 64 * PG;
	int pfd[2], status;
	pid_t pid;
	char c;

	if (access(EDU_NODE, F_OK))
		kt_skip("no %s: the guest has no edu device", EDU_NODE);
	KT_OK(pipe(pfd));
	pid = KT_OK(fork());
	if (!pid) {
		struct kubuf *k = edu_open();
		char *p = map_anon(len, GUARD);
		uint32_t id;

		close(pfd[0]);
		kt_storm_child();
		if (kubuf_ubuf_register(k, p, len, KUBUF_ACCESS_DEV_WRITE, &id) ||
		    dev_cmd(k, KUBUF_DEV_FILL, KUBUF_DEV_NOWAIT, KUBUF_MEM_UBUF,
			    id, 0, len, 3, 0) ||
		    wait_progress(p, PG, 3, 20000))
			_exit(1);
		if (write(pfd[1], "x", 1) != 1)
			_exit(1);
		kt_wait_for_kill();
	}
	close(pfd[1]);
	KT_ASSERT_EQ(read(pfd[0], &c, 1), 1);
	KT_OK(kill(pid, SIGKILL));
	KT_OK(waitpid(pid, &status, 0));
	KT_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	wait_stat(KUBUF_STAT_CMDS, 0, 10000);
	wait_stat(KUBUF_STAT_UBUFS, 0, 10000);
	wait_stat(KUBUF_STAT_PINNED_PAGES, 0, 10000);
	close(pfd[0]);
}

/*
 * fork() with a registration: the pages stay the registering process's
 * (the kernel gives the child copies of pinned pages), so a FILL the
 * child starts through the inherited descriptor is DMA into the
 * parent's memory, never into the child's copy.
 */
KT_CASE(fork_dma_goes_to_registrant)
{
	struct kubuf *k = edu_open();
	size_t len = 4 * PG;
	char *p = map_anon(len, GUARD);
	int status;
	uint32_t id;
	pid_t pid;

	KT_ASSERT_EQ(kubuf_ubuf_register(k, p, len, KUBUF_ACCESS_DEV_WRITE,
					 &id), 0);
	pid = KT_OK(fork());
	if (!pid) {
		p[0] = 'c';	/* the child's own copy, whatever else */
		if (dev_cmd(k, KUBUF_DEV_FILL, 0, KUBUF_MEM_UBUF, id, 0, len,
			    77, 0))
			_exit(1);
		/* Its copy: never the device's bytes. */
		_exit(p[0] == 'c' && first_not(p + 1, len - 1, GUARD) == -1 ?
		      0 : 2);
	}
	KT_OK(waitpid(pid, &status, 0));
	KT_ASSERT(WIFEXITED(status));
	KT_ASSERT_EQ(WEXITSTATUS(status), 0);
	check_pattern(p, len, 77);
	KT_ASSERT_EQ(kubuf_ubuf_unregister(k, id), 0);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_PINNED_PAGES), 0);
	kubuf_close(k);
	munmap(p, len);
}

/*
 * The descriptor passed (SCM_RIGHTS) to a process that never opened the
 * device, the registering process gone: the other drives DMA into the
 * pages the dead process registered (pinned, so still the device's),
 * has a FILL in flight when it closes, and the close waits for the
 * transfer and gives every page back.
 */
KT_CASE(passed_fd_outlives_registrant)
{
	size_t len = 16 * PG;
	int sv[2], status, fd;
	struct kubuf_id arg;
	uint64_t sum, result = 0;
	uint32_t id;
	pid_t pid;

	if (access(EDU_NODE, F_OK))
		kt_skip("no %s: the guest has no edu device", EDU_NODE);
	KT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = KT_OK(fork());
	if (!pid) {
		struct kubuf *k = edu_open();
		char *p = map_anon(len, 0);

		fill_random(p, len, 9);
		sum = kubuf_checksum(KUBUF_CHECKSUM_INIT, p, len);
		if (kubuf_ubuf_register(k, p, len, RW, &id))
			_exit(1);
		kt_send_fd(sv[1], kubuf_fd(k));
		if (write(sv[1], &id, sizeof(id)) != sizeof(id) ||
		    write(sv[1], &sum, sizeof(sum)) != sizeof(sum))
			_exit(1);
		_exit(0);
	}
	fd = kt_recv_fd(sv[0]);
	KT_ASSERT_EQ(read(sv[0], &id, sizeof(id)), sizeof(id));
	KT_ASSERT_EQ(read(sv[0], &sum, sizeof(sum)), sizeof(sum));
	KT_OK(waitpid(pid, &status, 0));
	KT_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_PINNED_PAGES), 16);

	/* The device reads what the dead process wrote. */
	KT_OK(kt_dev_cmd(fd, KUBUF_DEV_CHECKSUM, 0, KUBUF_MEM_UBUF, id, len, 0,
			 &result));
	KT_ASSERT(result == sum);
	/* Writes it, and is cut off by the close, mid-transfer. */
	KT_OK(kt_dev_cmd(fd, KUBUF_DEV_FILL, KUBUF_DEV_NOWAIT, KUBUF_MEM_UBUF,
			 id, len, 3, NULL));
	kt_msleep(300);
	close(fd);
	wait_stat(KUBUF_STAT_CMDS, 0, 10000);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_PINNED_PAGES), 0);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_UBUFS), 0);
	/* The id died with the file. */
	arg.id = id;
	arg.flags = 0;
	fd = KT_OK(open(EDU_NODE, O_RDWR | O_CLOEXEC));
	KT_ASSERT(ioctl(fd, KUBUF_IOC_UBUF_UNREGISTER, &arg) < 0 &&
		  errno == ENOENT);
	close(fd);
	close(sv[0]);
	close(sv[1]);
}

/* The reply ring's completions, by tag (1 to HOSTILE_N). */
#define HOSTILE_N	12

struct dones {
	struct kubuf_ring_done d[HOSTILE_N + 1];
	int n;
};

static int take_done(void *arg, const struct kubuf_rec *rec,
		     const void *payload)
{
	struct dones *ds = arg;
	struct kubuf_ring_done d;

	if (rec->type != KUBUF_REC_DONE || rec->len < sizeof(d))
		return -EPROTO;
	memcpy(&d, payload, sizeof(d));
	if (!d.tag || d.tag > HOSTILE_N)
		return -EPROTO;
	ds->d[d.tag] = d;
	ds->n++;
	return 0;
}

/*
 * A command ring of hostile numbers against the real device: offsets and
 * lengths at and around UINT64_MAX, ranges one byte past the end, wrong
 * kinds, ids and ops. Each completes with the errno the same command
 * gets from KUBUF_IOC_DEV_CMD, the device moves nothing for them (and
 * makes no DMA fault: the runner checks the log), and the valid commands
 * among them do their work. Then a record header the application
 * scribbles: the ring breaks, the device goes on working.
 */
KT_CASE(hostile_cmd_ring)
{
	KUBUF_RING_OPTS(o, .kind = KUBUF_MEM_KBUF);
	struct kubuf *k = edu_open();
	struct kubuf_ring *reply, *cmd;
	struct kubuf_ring_query rq;
	struct kubuf_ring_cmd c[HOSTILE_N];
	struct dones ds;
	char *u = map_anon(4 * PG, GUARD), *m, *rmem;
	uint32_t uid, kid, rid;
	int i, tries = 0;
	const uint64_t M = UINT64_MAX;
	volatile uint64_t *head;

	KT_ASSERT_EQ(kubuf_ubuf_register(k, u + PG, 2 * PG, RW, &uid), 0);
	KT_ASSERT_EQ(kubuf_kbuf_alloc(k, PG, KUBUF_KBUF_DMA,
				      KUBUF_CACHE_CACHED, 0, &kid, NULL), 0);
	KT_ASSERT_EQ(kubuf_kbuf_map(k, kid, 0, PG, PROT_READ, (void **)&m),
		     0);
	KT_ASSERT_EQ(kubuf_kbuf_alloc(k, (2 * (KUBUF_RING_CTL_SIZE + 4096)), KUBUF_KBUF_PAGES,
				      KUBUF_CACHE_CACHED, KUBUF_KBUF_APP_WRITE,
				      &rid, NULL), 0);
	KT_ASSERT_EQ(kubuf_kbuf_map(k, rid, 0, (2 * (KUBUF_RING_CTL_SIZE + 4096)),
				    PROT_READ | PROT_WRITE, (void **)&rmem), 0);
	o.mem_id = rid;
	o.data_size = 4096;
	o.dir = KUBUF_RING_TO_APP;
	o.wake_records = 1;
	KT_ASSERT_EQ(kubuf_ring_attach(k, rmem, &o, &reply), 0);
	o.dir = KUBUF_RING_TO_DEV;
	o.wake_records = 0;
	o.offset = KUBUF_RING_CTL_SIZE + 4096;
	o.reply_ring = reply;
	KT_ASSERT_EQ(kubuf_ring_attach(k, rmem + o.offset, &o, &cmd), 0);

	memset(c, 0, sizeof(c));
	for (i = 0; i < HOSTILE_N; i++) {
		c[i].op = KUBUF_RCMD_FILL;
		c[i].kind = KUBUF_MEM_UBUF;
		c[i].id = uid;
		c[i].seed = 50 + i;
		c[i].len = 1;
		c[i].tag = i + 1;
	}
	c[0].offset = M;				/* offset at the top */
	c[1].offset = 1, c[1].len = M;			/* length at the top */
	c[2].offset = 2 * PG;				/* one past the end */
	c[3].offset = PG, c[3].len = PG + 1;		/* ends one past */
	c[4].kind = 7;					/* no such kind */
	c[5].id = UINT32_MAX;				/* no such id */
	c[6].op = KUBUF_RCMD_CHECKSUM, c[6].kind = KUBUF_MEM_KBUF;
	c[6].id = kid, c[6].seed = 0;
	c[6].offset = M - PG + 1, c[6].len = PG;	/* wraps to 0 */
	c[7].len = 0;					/* nothing */
	c[8].op = 99;					/* no such op */
	c[9].offset = M - 1, c[9].len = 2;		/* wraps to 0 */
	c[10].kind = KUBUF_MEM_KBUF, c[10].id = kid;	/* valid: all of it */
	c[10].len = PG;
	c[11].len = 2 * PG;				/* valid: all of it */
	for (i = 0; i < HOSTILE_N; i++)
		KT_ASSERT_EQ(kubuf_ring_cmd(cmd, &c[i], NULL, 0), 0);
	KT_ASSERT(kubuf_ring_submit(cmd) >= 0);

	memset(&ds, 0, sizeof(ds));
	while (ds.n < HOSTILE_N) {
		int got = kubuf_ring_consume(reply, take_done, &ds, 0);

		KT_ASSERT(got >= 0);
		if (!got && kubuf_ring_wait(reply, 1000) == 0)
			KT_ASSERT(++tries < 60);
	}

	/* Each as KUBUF_IOC_DEV_CMD says; only the two valid ones work. */
	for (i = 0; i < HOSTILE_N; i++) {
		struct kubuf_dev_cmd d;
		int want;

		memset(&d, 0, sizeof(d));
		d.op = c[i].op == KUBUF_RCMD_CHECKSUM ? KUBUF_DEV_CHECKSUM :
		       c[i].op == KUBUF_RCMD_FILL ? KUBUF_DEV_FILL : c[i].op;
		d.kind = c[i].kind;
		d.id = c[i].id;
		d.offset = c[i].offset;
		d.len = c[i].len;
		d.seed = c[i].seed;
		want = i < 10 ? kubuf_dev_cmd(k, &d) : 0;
		if (ds.d[i + 1].status != want)
			kt_fail(__FILE__, __LINE__,
				"command %d: status %d, KUBUF_IOC_DEV_CMD %d",
				i, ds.d[i + 1].status, want);
		KT_ASSERT(i >= 10 || want < 0);
	}
	check_pattern(m, PG, 60);
	check_pattern(u + PG, 2 * PG, 61);
	KT_ASSERT_EQ(first_not(u, PG, GUARD), -1);
	KT_ASSERT_EQ(first_not(u + 3 * PG, PG, GUARD), -1);

	/* A record header of the application's making: the ring breaks. */
	head = (volatile uint64_t *)(rmem + o.offset);	/* ctl.head */
	memset(rmem + o.offset + KUBUF_RING_CTL_SIZE + *head % 4096, 0xff,
	       sizeof(struct kubuf_rec));
	*head += sizeof(struct kubuf_rec);
	ioctl(kubuf_fd(k), KUBUF_IOC_RING_KICK,
	      &(struct kubuf_id){ .id = kubuf_ring_id(cmd) });
	for (tries = 0; tries < 100; tries++) {
		KT_ASSERT_EQ(kubuf_ring_query(cmd, &rq), 0);
		if (rq.state != KUBUF_RING_ACTIVE)
			break;
		kt_msleep(50);
	}
	KT_ASSERT_EQ(rq.state, KUBUF_RING_BROKEN);
	KT_ASSERT_EQ(dev_cmd(k, KUBUF_DEV_FILL, 0, KUBUF_MEM_UBUF, uid, 0,
			     PG, 62, 0), 0);
	check_pattern(u + PG, PG, 62);

	kubuf_ring_detach(cmd);
	kubuf_ring_detach(reply);
	KT_ASSERT_EQ(kubuf_kbuf_unmap(m, PG), 0);
	KT_ASSERT_EQ(kubuf_kbuf_unmap(rmem, (2 * (KUBUF_RING_CTL_SIZE + 4096))), 0);
	kubuf_close(k);
	munmap(u, 4 * PG);
}

/*
 * RLIMIT_MEMLOCK against the real device, as a user without
 * CAP_IPC_LOCK: registrations (pinned, DMA-mapped) and DMA driver
 * buffers count against it together, and what fits still works by DMA.
 */
KT_CASE(memlock_limit)
{
	int status;
	pid_t pid;

	if (access(EDU_NODE, F_OK))
		kt_skip("no %s: the guest has no edu device", EDU_NODE);
	KT_OK(chmod(EDU_NODE, 0666));
	pid = KT_OK(fork());
	if (!pid) {
		struct rlimit rl = { 16 * PG, 16 * PG };
		char *p = map_anon(32 * PG, GUARD);
		struct kubuf *k;
		uint32_t a, b, c;

		if (setrlimit(RLIMIT_MEMLOCK, &rl) || setgid(65534) ||
		    setuid(65534))
			_exit(3);
		k = edu_open();
		KT_ASSERT_EQ(kubuf_ubuf_register(k, p, 10 * PG,
						 KUBUF_ACCESS_DEV_WRITE, &a), 0);
		KT_ASSERT_EQ(kubuf_kbuf_alloc(k, 7 * PG, KUBUF_KBUF_DMA,
					      KUBUF_CACHE_CACHED, 0, &b, NULL),
			     -ENOMEM);
		KT_ASSERT_EQ(kubuf_kbuf_alloc(k, 6 * PG, KUBUF_KBUF_DMA,
					      KUBUF_CACHE_CACHED, 0, &b, NULL),
			     0);
		KT_ASSERT_EQ(kubuf_ubuf_register(k, p + 16 * PG, PG,
						 KUBUF_ACCESS_DEV_WRITE, &c),
			     -ENOMEM);
		KT_ASSERT_EQ(dev_cmd(k, KUBUF_DEV_FILL, 0, KUBUF_MEM_UBUF, a,
				     0, 10 * PG, 31, 0), 0);
		check_pattern(p, 10 * PG, 31);
		/* Freed memory is the user's again. */
		KT_ASSERT_EQ(kubuf_kbuf_free(k, b), 0);
		KT_ASSERT_EQ(kubuf_ubuf_register(k, p + 16 * PG, 6 * PG,
						 KUBUF_ACCESS_DEV_WRITE, &c), 0);
		kubuf_close(k);
		_exit(0);
	}
	KT_OK(waitpid(pid, &status, 0));
	chmod(EDU_NODE, 0600);
	KT_ASSERT(WIFEXITED(status));
	KT_ASSERT_EQ(WEXITSTATUS(status), 0);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_PINNED_PAGES), 0);
}

static char unbound_addr[64];

/*
 * The host plugs and unplugs the device for us (QEMU's device_del and
 * device_add, tests/vm/run.sh) where the lane says it can
 * (KUBUF_EDU_HOTPLUG=1): a line on the guest's third serial port.
 */
#define HOST_REQ	"/dev/ttyS2"

static bool host_hotplug(void)
{
	const char *v = getenv("KUBUF_EDU_HOTPLUG");

	return v && !strcmp(v, "1");
}

static int host_request(const char *what)
{
	int fd = open(HOST_REQ, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	char line[32];
	int n, ret;

	if (fd < 0)
		return -1;
	n = snprintf(line, sizeof(line), "%s\n", what);
	ret = write(fd, line, n) == n ? 0 : -1;
	close(fd);
	return ret;
}

#define EDU_KO		"/kubuf/kubuf_edu.ko"
#define EDU_MOD		"/sys/module/kubuf_edu"

static int load_edu(void)
{
	int fd = open(EDU_KO, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -1;
	ret = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	return ret;
}

/* A failed unplug leaves the device there again, for the cases after. */
static void replug_at_exit(void)
{
	unsigned int t;

	if (access(EDU_MOD, F_OK))
		load_edu();
	if (!unbound_addr[0] || !access(EDU_NODE, F_OK))
		return;
	kt_write_file(EDU_DRIVER "/bind", unbound_addr);
	kt_write_file("/sys/bus/pci/rescan", "1");
	if (access(EDU_NODE, F_OK) && host_hotplug())
		host_request("plug");
	for (t = 0; t < 30000 && access(EDU_NODE, F_OK); t += 50)
		kt_msleep(50);
}

/*
 * The PCI device at @addr gone within @ms after an unplug: its driver's
 * remove has returned (the node goes at its start). The host's unplug
 * (@again) is asked for again every UNPLUG_AGAIN_MS: QEMU's ACPI
 * hot-plug event, coming right after the one of the device's plug, is
 * now and then lost by the guest before any driver hears of it (its
 * remove is not even called), as a button press can be; the count of
 * those asked again is returned.
 */
#define UNPLUG_AGAIN_MS	5000

static int wait_unplugged(const char *addr, unsigned int ms, bool again)
{
	char path[128];
	unsigned int t;
	int asked = 0;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", addr);
	for (t = 0; t < ms && !access(path, F_OK); t += 20) {
		if (again && t && !(t % UNPLUG_AGAIN_MS)) {
			KT_OK(host_request("unplug"));
			asked++;
		}
		kt_msleep(20);
	}
	if (!access(path, F_OK) || !access(EDU_NODE, F_OK)) {
		/* Who waits on what: the blocked tasks, in the kernel log. */
		kt_write_file("/proc/sysrq-trigger", "w");
		kt_fail(__FILE__, __LINE__, "%s still there after %u ms",
			addr, ms);
	}
	return asked;
}

/* The node, back within @ms after a bind or a rescan. */
static void wait_node(unsigned int ms)
{
	unsigned int t;

	for (t = 0; t < ms && access(EDU_NODE, F_OK); t += 20)
		kt_msleep(20);
	KT_OK(access(EDU_NODE, F_OK));
}

/*
 * What an application holds when its device goes: a registration the
 * device is filling from a command ring (more commands queued behind),
 * another it reads, a DMA driver buffer mapped with a FILL of it queued
 * (KUBUF_IOC_DEV_CMD, no wait), the rings in a driver buffer of pages,
 * an eventfd.
 */
struct held {
	struct kubuf *k;
	int efd;
	char *p, *q, *m, *rmem;
	uint32_t pid, qid, mid, rid;
	struct kubuf_ring *reply, *cmd;
	uint32_t seed;
};

#define HELD_P		(64 * PG)
#define HELD_Q		(8 * PG)
#define HELD_M		(4 * PG)
#define HELD_DATA	4096
#define HELD_RINGS	(2 * (KUBUF_RING_CTL_SIZE + HELD_DATA))

static void hold_everything(struct held *h, uint32_t seed)
{
	KUBUF_RING_OPTS(o, .kind = KUBUF_MEM_KBUF);
	struct kubuf_ring_cmd c;
	int i;

	h->seed = seed;
	h->k = edu_open();
	h->efd = KT_OK(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	KT_ASSERT_EQ(kubuf_set_eventfd(h->k, h->efd), 0);
	h->p = map_anon(HELD_P, GUARD);
	KT_ASSERT_EQ(kubuf_ubuf_register(h->k, h->p, HELD_P,
					 KUBUF_ACCESS_DEV_WRITE, &h->pid), 0);
	h->q = map_anon(HELD_Q, 0);
	fill_random(h->q, HELD_Q, seed);
	KT_ASSERT_EQ(kubuf_ubuf_register(h->k, h->q, HELD_Q,
					 KUBUF_ACCESS_DEV_READ, &h->qid), 0);
	KT_ASSERT_EQ(kubuf_kbuf_alloc(h->k, HELD_M, KUBUF_KBUF_DMA,
				      KUBUF_CACHE_CACHED, KUBUF_KBUF_APP_WRITE,
				      &h->mid, NULL), 0);
	KT_ASSERT_EQ(kubuf_kbuf_map(h->k, h->mid, 0, HELD_M,
				    PROT_READ | PROT_WRITE, (void **)&h->m), 0);
	memset(h->m, GUARD, HELD_M);
	KT_ASSERT_EQ(kubuf_kbuf_alloc(h->k, HELD_RINGS, KUBUF_KBUF_PAGES,
				      KUBUF_CACHE_CACHED, KUBUF_KBUF_APP_WRITE,
				      &h->rid, NULL), 0);
	KT_ASSERT_EQ(kubuf_kbuf_map(h->k, h->rid, 0, HELD_RINGS,
				    PROT_READ | PROT_WRITE, (void **)&h->rmem),
		     0);
	o.mem_id = h->rid;
	o.data_size = HELD_DATA;
	o.dir = KUBUF_RING_TO_APP;
	o.wake_records = 1;
	KT_ASSERT_EQ(kubuf_ring_attach(h->k, h->rmem, &o, &h->reply), 0);
	o.dir = KUBUF_RING_TO_DEV;
	o.wake_records = 0;
	o.offset = KUBUF_RING_CTL_SIZE + HELD_DATA;
	o.reply_ring = h->reply;
	KT_ASSERT_EQ(kubuf_ring_attach(h->k, h->rmem + o.offset, &o, &h->cmd),
		     0);

	/* The ring: FILL the registration, then CHECKSUMs of the other. */
	memset(&c, 0, sizeof(c));
	c.op = KUBUF_RCMD_FILL;
	c.kind = KUBUF_MEM_UBUF;
	c.id = h->pid;
	c.seed = seed;
	c.len = HELD_P;
	c.tag = 1;
	KT_ASSERT_EQ(kubuf_ring_cmd(h->cmd, &c, NULL, 0), 0);
	for (i = 0; i < 4; i++) {
		memset(&c, 0, sizeof(c));
		c.op = KUBUF_RCMD_CHECKSUM;
		c.kind = KUBUF_MEM_UBUF;
		c.id = h->qid;
		c.len = HELD_Q;
		c.tag = 2 + i;
		KT_ASSERT_EQ(kubuf_ring_cmd(h->cmd, &c, NULL, 0), 0);
	}
	KT_ASSERT(kubuf_ring_submit(h->cmd) >= 0);
	/* And a command of the file's own, on the DMA buffer. */
	KT_ASSERT_EQ(dev_cmd(h->k, KUBUF_DEV_FILL, KUBUF_DEV_NOWAIT,
			     KUBUF_MEM_KBUF, h->mid, 0, HELD_M, seed + 1, 0),
		     0);
	/* Under way: the ring's FILL has its first chunk in memory. */
	KT_ASSERT_EQ(wait_progress(h->p, PG, seed, 30000), 0);
}

/*
 * After the device went: the DMA stopped before anything was unmapped,
 * the application was told, every call but GET_INFO and GET_EVENTS says
 * ENODEV, the DMA buffer's mapping is SIGBUS, the buffer of pages is the
 * application's still; then everything is let go.
 */
static void check_gone(struct held *h)
{
	struct kubuf_info info;
	struct pollfd pfd;
	uint32_t ev, id;
	uint64_t cnt;
	char *copy = malloc(HELD_P);
	size_t done;

	KT_ASSERT(copy);
	KT_ASSERT(access(EDU_NODE, F_OK) && errno == ENOENT);
	done = check_stopped_fill(h->p, HELD_P, h->seed);
	KT_ASSERT(done >= PG && done < HELD_P);
	memcpy(copy, h->p, HELD_P);

	pfd.fd = h->efd;
	pfd.events = POLLIN;
	KT_ASSERT_EQ(kt_poll(&pfd, 1, 10000), 1);
	KT_ASSERT_EQ(read(h->efd, &cnt, 8), 8);
	KT_ASSERT_EQ(kubuf_get_events(h->k, &ev), 0);
	KT_ASSERT((ev & (KUBUF_EVENT_REMOVED | KUBUF_EVENT_REVOKED)) ==
		  (KUBUF_EVENT_REMOVED | KUBUF_EVENT_REVOKED));
	pfd.fd = kubuf_fd(h->k);
	pfd.events = POLLIN | POLLPRI;
	KT_ASSERT_EQ(kt_poll(&pfd, 1, 0), 1);
	KT_ASSERT(pfd.revents & POLLHUP);

	KT_ASSERT_EQ(kubuf_get_info(h->k, &info), 0);
	KT_ASSERT_EQ(kubuf_ubuf_unregister(h->k, h->pid), -ENODEV);
	KT_ASSERT_EQ(kubuf_ubuf_register(h->k, h->q, PG,
					 KUBUF_ACCESS_DEV_READ, &id), -ENODEV);
	KT_ASSERT_EQ(dev_cmd(h->k, KUBUF_DEV_FILL, 0, KUBUF_MEM_UBUF, h->qid,
			     0, PG, 1, 0), -ENODEV);
	KT_ASSERT_EQ(kubuf_kbuf_alloc(h->k, PG, KUBUF_KBUF_PAGES,
				      KUBUF_CACHE_CACHED, 0, &id, NULL),
		     -ENODEV);
	KT_ASSERT_EQ(kubuf_kbuf_free(h->k, h->mid), -ENODEV);
	KT_ASSERT(ioctl(kubuf_fd(h->k), KUBUF_IOC_RING_KICK,
			&(struct kubuf_id){ .id = kubuf_ring_id(h->cmd) }) < 0 &&
		  errno == ENODEV);

	/* The device's memory is gone from the mapping; pages are not. */
	KT_ASSERT_EQ(kt_touch(h->m), SIGBUS);
	KT_ASSERT_EQ(kt_touch(h->m + HELD_M - 1), SIGBUS);
	KT_ASSERT_EQ(kt_touch(h->rmem), 0);
	KT_ASSERT_EQ(kt_touch(h->rmem + HELD_RINGS - 1), 0);

	/* Registrations were unpinned, commands ended, at removal. */
	wait_stat(KUBUF_STAT_CMDS, 0, 10000);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_PINNED_PAGES), 0);
	/* Nothing more arrives, however long one waits. */
	kt_msleep(300);
	KT_ASSERT(!memcmp(copy, h->p, HELD_P));
	free(copy);

	kubuf_ring_detach(h->cmd);
	kubuf_ring_detach(h->reply);
	KT_ASSERT_EQ(kubuf_kbuf_unmap(h->m, HELD_M), 0);
	KT_ASSERT_EQ(kubuf_kbuf_unmap(h->rmem, HELD_RINGS), 0);
	kubuf_close(h->k);
	close(h->efd);
	munmap(h->p, HELD_P);
	munmap(h->q, HELD_Q);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_UBUFS), 0);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_KBUFS), 0);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_KBUF_PAGES), 0);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_MAPPINGS), 0);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_RINGS), 0);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_EVENTFD_REFS), 0);
}

/* The device, back, works: a small FILL of a registration. */
static void check_works(void)
{
	struct kubuf *k;
	char *p = map_anon(3 * PG, GUARD);
	uint32_t id;

	wait_node(30000);
	k = edu_open();
	KT_ASSERT_EQ(kubuf_ubuf_register(k, p + 1, 2 * PG, RW, &id), 0);
	KT_ASSERT_EQ(dev_cmd(k, KUBUF_DEV_FILL, 0, KUBUF_MEM_UBUF, id, 0,
			     2 * PG, 10, 0), 0);
	check_pattern(p + 1, 2 * PG, 10);
	KT_ASSERT_EQ((unsigned char)p[0], GUARD);
	KT_ASSERT_EQ(first_not(p + 1 + 2 * PG, PG - 1, GUARD), -1);
	kubuf_close(k);
	munmap(p, 3 * PG);
}

/*
 * The device goes while an application holds everything (struct held)
 * with a DMA in flight, UNPLUGS times in a row, one way per case: the
 * driver unbound (/sys/bus/pci/drivers/kubuf_edu/unbind), the PCI device
 * removed (/sys/bus/pci/devices/ADDR/remove, the kernel's hot-unplug
 * path), or the device unplugged from its PCIe slot by the host (QEMU's
 * device_del, where the lane lets the host do it: the guest's ACPI
 * hot-plug driver removes it, then QEMU takes it away). Each time it
 * comes back (bind, rescan, device_add) and works. The DMA buffer's
 * memory is freed inside the driver's remove (the DMA API wants it back
 * while the device is there): the application's mapping of it is
 * SIGBUS from then on.
 */
#define UNPLUGS		20

enum unplug_by { BY_UNBIND, BY_REMOVE, BY_HOST };

static void unplug_storm(enum unplug_by by)
{
	static const char *const name[] = { "driver unbinds",
					    "PCI removals", "device_del" };
	double t0, t, worst = 0, total = kt_now();
	char addr[64], path[128], now[64];
	struct held h;
	int i, again = 0;

	if (access(EDU_NODE, F_OK))
		kt_skip("no %s: the guest has no edu device", EDU_NODE);
	if (by == BY_HOST && !host_hotplug())
		kt_skip("the lane's host does not plug (KUBUF_EDU_HOTPLUG)");
	edu_pci_addr(addr, sizeof(addr));
	snprintf(unbound_addr, sizeof(unbound_addr), "%s", addr);
	atexit(replug_at_exit);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/remove", addr);

	for (i = 0; i < UNPLUGS; i++) {
		hold_everything(&h, 100 + i);
		t0 = kt_now();
		if (by == BY_UNBIND) {
			/* Returns once the driver's remove has. */
			KT_OK(kt_write_file(EDU_DRIVER "/unbind", addr));
			KT_ASSERT(access(EDU_NODE, F_OK) && errno == ENOENT);
		} else {
			if (by == BY_REMOVE)
				KT_OK(kt_write_file(path, "1"));
			else
				KT_OK(host_request("unplug"));
			again += wait_unplugged(addr, 30000, by == BY_HOST);
		}
		t = kt_now() - t0;
		worst = t > worst ? t : worst;
		check_gone(&h);
		if (by == BY_UNBIND)
			KT_OK(kt_write_file(EDU_DRIVER "/bind", addr));
		else if (by == BY_REMOVE)
			KT_OK(kt_write_file("/sys/bus/pci/rescan", "1"));
		else
			KT_OK(host_request("plug"));
		check_works();
		/* The same function, back at the same address. */
		edu_pci_addr(now, sizeof(now));
		KT_ASSERT(!strcmp(now, addr));
	}
	kt_note("%d %s with a DMA in flight in %.1f s; the longest took "
		"%.3f s", UNPLUGS, name[by], kt_now() - total, worst);
	if (again)
		kt_note("the host's unplug was asked for again %d times", again);
}

/*
 * The driver's module unloaded while an application holds everything
 * with a DMA in flight: its files pin the core, not the driver, so
 * rmmod succeeds at once and the application sees the removal; the
 * module loads again and its device works.
 */
KT_CASE(unload_driver)
{
	struct held h;
	double t0;
	long r;

	if (access(EDU_NODE, F_OK) || access(EDU_KO, F_OK))
		kt_skip("no edu device, or no " EDU_KO " in this guest");
	edu_pci_addr(unbound_addr, sizeof(unbound_addr));
	atexit(replug_at_exit);
	hold_everything(&h, 7);
	t0 = kt_now();
	/* A worker's last reference may go a moment after the call. */
	while ((r = syscall(SYS_delete_module, "kubuf_edu", O_NONBLOCK)) < 0 &&
	       errno == EWOULDBLOCK && kt_now() - t0 < 2)
		kt_msleep(10);
	KT_OK(r);
	KT_ASSERT(access(EDU_MOD, F_OK) && errno == ENOENT);
	check_gone(&h);
	KT_OK(load_edu());
	check_works();
}

KT_CASE(unplug_unbind)
{
	unplug_storm(BY_UNBIND);
}

KT_CASE(unplug_pci_remove)
{
	unplug_storm(BY_REMOVE);
}

KT_CASE(unplug_device_del)
{
	unplug_storm(BY_HOST);
}

KT_MAIN()
