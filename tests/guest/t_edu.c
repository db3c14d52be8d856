// SPDX-License-Identifier: MIT
/*
 * The edu driver (kernel/edu/edu.c, /dev/kubuf-edu0): QEMU's edu PCI
 * device moves every byte with its DMA engine, 4 KiB at a time, about
 * 100 ms of virtual time per transfer. Both techniques for real: the
 * application's registered pages DMA-mapped for the device (through an
 * IOMMU, or bounced by swiotlb) and DMA driver buffers; revocation with
 * a transfer in flight (unregister, kill -9, unbind).
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
	/* No read() and no UCOPY: the device only moves memory by DMA. */
	KT_ASSERT(!(info.features & KUBUF_FEAT_UCOPY));

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

static char unbound_addr[64];

/* A failed unbind_rebind leaves the device bound, for the cases after. */
static void rebind_at_exit(void)
{
	if (unbound_addr[0] && access(EDU_NODE, F_OK))
		kt_write_file(EDU_DRIVER "/bind", unbound_addr);
}

/*
 * The driver unbound while an application has the device open with a
 * registration, a mapped DMA buffer and a FILL in flight: the FILL ends
 * at its transfer, the application is told (REMOVED, POLLHUP) and every
 * call fails with ENODEV; the mapping stays readable until unmapped.
 * Bound again, the device works on its new node.
 */
KT_CASE(unbind_rebind)
{
	struct kubuf *k = edu_open();
	size_t len = 64 * PG;
	char *p = map_anon(len, GUARD), addr[64], *m;
	struct pollfd pfd;
	struct kubuf_info info;
	uint32_t id, ik, ev;
	int efd = KT_OK(eventfd(0, EFD_CLOEXEC));
	uint64_t cnt;
	double t0, t;

	edu_pci_addr(addr, sizeof(addr));
	snprintf(unbound_addr, sizeof(unbound_addr), "%s", addr);
	atexit(rebind_at_exit);
	KT_ASSERT_EQ(kubuf_set_eventfd(k, efd), 0);
	KT_ASSERT_EQ(kubuf_ubuf_register(k, p, len, KUBUF_ACCESS_DEV_WRITE,
					 &id), 0);
	KT_ASSERT_EQ(kubuf_kbuf_alloc(k, PG, KUBUF_KBUF_DMA,
				      KUBUF_CACHE_CACHED, 0, &ik, NULL), 0);
	KT_ASSERT_EQ(kubuf_kbuf_map(k, ik, 0, PG, PROT_READ, (void **)&m), 0);
	KT_ASSERT_EQ(dev_cmd(k, KUBUF_DEV_FILL, 0, KUBUF_MEM_KBUF, ik, 0, PG,
			     6, 0), 0);
	KT_ASSERT_EQ(dev_cmd(k, KUBUF_DEV_FILL, KUBUF_DEV_NOWAIT,
			     KUBUF_MEM_UBUF, id, 0, len, 4, 0), 0);
	KT_ASSERT_EQ(wait_progress(p, PG, 4, 20000), 0);

	t0 = kt_now();
	KT_OK(kt_write_file(EDU_DRIVER "/unbind", addr));
	t = kt_now() - t0;
	KT_ASSERT(access(EDU_NODE, F_OK) && errno == ENOENT);
	check_stopped_fill(p, len, 4);

	pfd.fd = efd;
	pfd.events = POLLIN;
	KT_ASSERT_EQ(kt_poll(&pfd, 1, 10000), 1);
	KT_ASSERT_EQ(read(efd, &cnt, 8), 8);
	KT_ASSERT_EQ(kubuf_get_events(k, &ev), 0);
	KT_ASSERT(ev & KUBUF_EVENT_REMOVED);
	pfd.fd = kubuf_fd(k);
	pfd.events = POLLIN | POLLPRI;
	KT_ASSERT_EQ(kt_poll(&pfd, 1, 0), 1);
	KT_ASSERT(pfd.revents & POLLHUP);
	KT_ASSERT_EQ(kubuf_get_info(k, &info), 0);
	KT_ASSERT_EQ(kubuf_ubuf_unregister(k, id), -ENODEV);
	KT_ASSERT_EQ(dev_cmd(k, KUBUF_DEV_FILL, 0, KUBUF_MEM_KBUF, ik, 0, PG,
			     1, 0), -ENODEV);
	/* The driver buffer stays the application's while mapped. */
	check_pattern(m, PG, 6);
	KT_ASSERT_EQ(kubuf_kbuf_unmap(m, PG), 0);
	kubuf_close(k);
	close(efd);
	kt_note("unbind took %.3f s with a FILL in flight", t);

	/* Bound again: a new node, a working device. */
	KT_OK(kt_write_file(EDU_DRIVER "/bind", addr));
	k = edu_open();
	memset(p, GUARD, len);
	KT_ASSERT_EQ(kubuf_ubuf_register(k, p + 1, 2 * PG, RW, &id), 0);
	KT_ASSERT_EQ(dev_cmd(k, KUBUF_DEV_FILL, 0, KUBUF_MEM_UBUF, id, 0,
			     2 * PG, 10, 0), 0);
	check_pattern(p + 1, 2 * PG, 10);
	KT_ASSERT_EQ((unsigned char)p[0], GUARD);
	KT_ASSERT_EQ(first_not(p + 1 + 2 * PG, len - 1 - 2 * PG, GUARD), -1);
	kubuf_close(k);
}

KT_MAIN()
