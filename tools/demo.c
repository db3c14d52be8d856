// SPDX-License-Identifier: MIT
/*
 * kubuf demo - a guided walk through what kubuf does.
 *
 * On any kubuf device. A part that needs a feature the device does not
 * report (kubuf_info.features) is skipped with a line saying which. A
 * device whose parent
 * is a PCI function moves memory by real DMA: the demo then uses a DMA
 * driver buffer (KUBUF_KBUF_DMA) for technique 2, says which way the
 * DMA goes (through an IOMMU, or directly with swiotlb bounce buffers),
 * and how long the device's engine took; never an address of memory.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

/* What the demo knows of the device: what it offers, where it sits. */
struct demo_dev {
	struct kubuf_info info;
	struct kubuf_node node;
	int dma;	/* on PCI: its commands move memory by real DMA */
};

static int demo_technique1(struct kubuf *k, const struct demo_dev *dev);
static int demo_stream(const struct demo_dev *dev);
static int demo_commands(const struct demo_dev *dev);

const char demo_usage[] =
	"usage: kubuf [--device PATH] demo\n"
	"Walk through kubuf step by step, explaining each step. On a PCI\n"
	"device, which moves memory by real DMA, it says which way the DMA\n"
	"goes (an IOMMU, or swiotlb bounce buffers) and uses DMA driver\n"
	"buffers. Parts needing what the device does not offer are skipped.\n";

/*
 * Has the device the features @need of the part @title? If not, a
 * heading says the part is skipped, and which of them it lacks.
 */
static int demo_has(const struct demo_dev *dev, uint64_t need,
		    const char *title)
{
	uint64_t missing = need & ~dev->info.features;

	if (!missing)
		return 1;
	printf("\n== %s: skipped, the device has no ", title);
	print_features(stdout, missing, 0);
	printf(" ==\n");
	return 0;
}

/* The heading of the part @title, if the device has its features @need. */
static int demo_part(const struct demo_dev *dev, uint64_t need,
		     const char *title)
{
	if (!demo_has(dev, need, title))
		return 0;
	printf("\n== %s ==\n\n", title);
	return 1;
}

static double demo_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "its 28-bit DMA mask", or without the width when sysfs does not say. */
static const char *demo_mask(const struct demo_dev *dev, char *buf,
			     size_t len)
{
	if (!dev->node.dma_mask_bits)
		return "its DMA mask";
	snprintf(buf, len, "its %d-bit DMA mask", dev->node.dma_mask_bits);
	return buf;
}

/* How the device's DMA reaches memory, as far as sysfs tells. */
static void demo_dma_intro(const struct demo_dev *dev)
{
	const struct kubuf_node *n = &dev->node;
	char mask[32];

	printf("\nThe device is a PCI function: what it moves below, its own DMA engine\n");
	if (node_iommu_translates(n))
		printf("moves, through the IOMMU (group %d, %s), which lets it reach only\n"
		       "the pages mapped for it.\n", n->iommu_group, n->iommu_type);
	else
		printf("moves, with no IOMMU translating: pages beyond %s\n"
		       "go through swiotlb bounce buffers.\n",
		       demo_mask(dev, mask, sizeof(mask)));
	printf("Bus addresses stay in the kernel: the ABI has none.\n");
}

/* Bounce slots swiotlb has in use (debugfs, root), or -1. */
static long long demo_swiotlb_used(void)
{
	FILE *f = fopen("/sys/kernel/debug/swiotlb/io_tlb_used", "re");
	long long used = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%lld", &used) != 1)
		used = -1;
	fclose(f);
	return used;
}

/* The registration's DMA mapping; swiotlb slots in use: @used0, then @used. */
static void demo_dma_mapped(const struct demo_dev *dev, long long used0,
			    long long used)
{
	char mask[32];

	printf("    For the device's DMA the core mapped them too: ");
	if (node_iommu_translates(&dev->node))
		printf("through the\n"
		       "    IOMMU, which lets the device reach these pages and no others.\n");
	else if (used0 < 0 || used < 0)
		printf("those beyond\n"
		       "    %s go through swiotlb bounce buffers.\n",
		       demo_mask(dev, mask, sizeof(mask)));
	else if (used > used0)
		printf("beyond\n"
		       "    %s, they take %lld swiotlb bounce slots.\n",
		       demo_mask(dev, mask, sizeof(mask)), used - used0);
	else
		printf("within\n"
		       "    %s, the device reaches them directly.\n",
		       demo_mask(dev, mask, sizeof(mask)));
}

/* Print the technique-2 counters, which must end at zero. */
static void demo_kbuf_counters(struct kubuf *k)
{
	struct kubuf_stats st;

	if (kubuf_get_stats(k, &st))
		return;
	printf("  counters: kbufs %llu, kbuf_pages %llu, mappings %llu\n",
	       (unsigned long long)st.counters[KUBUF_STAT_KBUFS],
	       (unsigned long long)st.counters[KUBUF_STAT_KBUF_PAGES],
	       (unsigned long long)st.counters[KUBUF_STAT_MAPPINGS]);
}

/* The device fills @id on its own, and says so with KUBUF_EVENT_DONE. */
static int demo_kbuf_fill(struct kubuf *k, uint32_t id, size_t len,
			  uint32_t seed)
{
	struct kubuf_dev_cmd c = {
		.op = KUBUF_DEV_FILL, .flags = KUBUF_DEV_NOWAIT,
		.kind = KUBUF_MEM_KBUF, .id = id, .len = len, .seed = seed,
	};
	struct pollfd pfd = { .fd = kubuf_fd(k), .events = POLLPRI };
	struct kubuf_events ev = { 0 };

	if (ioctl(kubuf_fd(k), KUBUF_IOC_DEV_CMD, &c) < 0)
		return -errno;
	printf("  the device is writing; the application waits in poll()\n");
	while (!(ev.pending & KUBUF_EVENT_DONE)) {
		if (poll(&pfd, 1, 10000) <= 0)
			return -ETIMEDOUT;
		if (ioctl(kubuf_fd(k), KUBUF_IOC_GET_EVENTS, &ev) < 0)
			return -errno;
	}
	return 0;
}

/*
 * Technique 2: the driver allocates the buffer, the application maps it.
 * For a device that does DMA, DMA memory (KUBUF_KBUF_DMA): the kind its
 * engine can reach.
 */
static int demo_kbuf(const struct demo_dev *dev)
{
	const size_t len = 16 * 4096;
	const uint32_t seed = 0x5eed;
	const uint32_t kind = dev->dma ? KUBUF_KBUF_DMA : KUBUF_KBUF_PAGES;
	uint64_t need = KUBUF_FEAT_KBUF | KUBUF_FEAT_DEVICE | KUBUF_FEAT_EVENTS;
	uint64_t offset;
	uint8_t *p;
	struct kubuf *k;
	uint32_t id;
	double t0;
	size_t i;
	int ret;

	if (dev->dma)
		need |= KUBUF_FEAT_KBUF_DMA;
	if (!demo_part(dev, need, "Technique 2: the driver provides the buffer"))
		return 0;
	if (open_dev(0, &k))
		return 1;

	if (dev->dma)
		printf("Step 1. Ask the driver for %zu KiB of DMA memory for its device\n"
		       "(KUBUF_IOC_KBUF_ALLOC, KUBUF_KBUF_DMA: the DMA API allocates it\n"
		       "for the device, zeroed, and keeps its bus address in the kernel);\n"
		       "the application may write it.\n\n", len >> 10);
	else
		printf("Step 1. Ask the driver for %zu KiB of zeroed pages the\n"
		       "application may write (KUBUF_IOC_KBUF_ALLOC).\n\n", len >> 10);
	ret = kubuf_kbuf_alloc(k, len, kind, KUBUF_CACHE_CACHED,
			       KUBUF_KBUF_APP_WRITE, &id, &offset);
	if (ret)
		goto err;
	printf("  buffer id %u, mmap offset %#llx\n", id,
	       (unsigned long long)offset);
	demo_kbuf_counters(k);

	printf("\nStep 2. Map it with mmap() at that offset: the application\n"
	       "and the driver now see the same pages.\n\n");
	ret = kubuf_kbuf_map(k, id, 0, len, PROT_READ | PROT_WRITE,
			     (void **)&p);
	if (ret)
		goto err_free;
	printf("  mapped at %p; first byte %u (the pages start zeroed)\n",
	       (void *)p, p[0]);

	printf("\nStep 3. The device writes a pattern into the buffer from its\n"
	       "own workers (KUBUF_IOC_DEV_CMD, FILL, NOWAIT); the application\n"
	       "waits for the DONE event and checks every byte.\n\n");
	t0 = demo_now();
	ret = demo_kbuf_fill(k, id, len, seed);
	if (ret)
		goto err_unmap;
	if (dev->dma)
		printf("  %zu KiB written by the device's DMA engine in %.1f s\n",
		       len >> 10, demo_now() - t0);
	for (i = 0; i < len; i++) {
		if (p[i] != kubuf_pattern_byte(seed, i)) {
			fprintf(stderr, "kubuf: byte %zu is wrong\n", i);
			ret = -EIO;
			goto err_unmap;
		}
	}
	printf("  all %zu bytes match kubuf_pattern_byte()\n", len);

	printf("\nStep 4. Free the buffer while it is still mapped\n"
	       "(KUBUF_IOC_KBUF_FREE). The id is gone, the memory is not: it\n"
	       "stays the application's until the last munmap().\n\n");
	ret = kubuf_kbuf_free(k, id);
	if (ret)
		goto err_unmap;
	p[0] ^= 0xff;
	printf("  still readable and writable through the mapping\n");
	demo_kbuf_counters(k);

	printf("\nStep 5. Unmap it: now the pages go back to the system.\n\n");
	kubuf_kbuf_unmap(p, len);
	demo_kbuf_counters(k);
	kubuf_close(k);
	return 0;

err_unmap:
	kubuf_kbuf_unmap(p, len);
err_free:
	kubuf_kbuf_free(k, id);
err:
	fprintf(stderr, "kubuf: technique 2 failed: %s\n", strerror(-ret));
	kubuf_close(k);
	return 1;
}

int cmd_demo(int argc, char **argv)
{
	struct kubuf_stats st;
	struct demo_dev dev;
	struct kubuf *k;
	int ret;

	ret = parse_simple_opts(argc, argv, demo_usage, NULL);
	if (ret)
		return ret < 0 ? 2 : 0;

	printf("== kubuf demo ==\n\n");
	printf("Step 1. Open the device. The module keeps one state object\n"
	       "per open file; it lives until the last descriptor and the\n"
	       "last mapping of that file are gone.\n\n");
	if (open_dev(0, &k))
		return 1;
	printf("  opened %s as fd %d\n\n", dev_node(), kubuf_fd(k));

	printf("Step 2. Ask what the module offers (KUBUF_IOC_GET_INFO), and\n"
	       "sysfs what the device is.\n\n");
	ret = kubuf_get_info(k, &dev.info);
	if (ret) {
		fprintf(stderr, "kubuf: GET_INFO failed: %s\n", strerror(-ret));
		kubuf_close(k);
		return 1;
	}
	node_of_path(dev_node(), &dev.node);	/* what sysfs knows, if any */
	dev.dma = !strcmp(dev.node.bus, "pci");
	node_print(&dev.node, 0);
	print_info(&dev.info, 0);
	if (dev.dma)
		demo_dma_intro(&dev);

	printf("\nStep 3. Read the module's counters (KUBUF_IOC_GET_STATS).\n"
	       "Every object the module holds for user space is counted;\n"
	       "the tests check that each returns to zero.\n\n");
	ret = kubuf_get_stats(k, &st);
	if (ret) {
		fprintf(stderr, "kubuf: GET_STATS failed: %s\n", strerror(-ret));
		kubuf_close(k);
		return 1;
	}
	print_stats(&st, 0);

	if (demo_technique1(k, &dev)) {
		kubuf_close(k);
		return 1;
	}

	printf("\nStep 4. Close the device: the module frees the file's state.\n");
	kubuf_close(k);
	if (demo_kbuf(&dev))
		return 1;
	if (demo_stream(&dev) || demo_commands(&dev))
		return 1;
	printf("\n== demo complete ==\n");
	return 0;
}

static int demo_fail(const char *what, int err)
{
	report_error(what, err);
	return 1;
}

/* Bytes of the application's own, not the device's pattern. */
static void demo_app_data(unsigned char *buf, size_t len)
{
	static const char text[] = "the application's own data; ";
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = text[i % (sizeof(text) - 1)];
}

/* Technique 1, the article's first story, with its hazard and its cure. */
static int demo_technique1(struct kubuf *k, const struct demo_dev *dev)
{
	size_t len = 64 * 1024;
	struct kubuf_ubuf_query q;
	struct pollfd pfd;
	uint32_t id, ev;
	uint64_t cnt, sum;
	unsigned char *buf;
	long long used0;
	int efd, ret;
	double t0;

	if (!demo_part(dev, KUBUF_FEAT_UBUF | KUBUF_FEAT_DEVICE |
		       KUBUF_FEAT_EVENTS, "Technique 1: the application's buffer"))
		return 0;
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return demo_fail("mmap", -errno);
	memset(buf, 0, len);
	printf("1a. The application allocates %zu KiB at %p.\n",
	       len >> 10, (void *)buf);

	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0)
		return demo_fail("eventfd", -errno);
	ret = kubuf_set_eventfd(k, efd);
	if (ret)
		return demo_fail("SET_EVENTFD", ret);
	printf("1b. It creates an eventfd (fd %d) and hands it to the driver,\n"
	       "    which keeps its own reference: the shared event.\n", efd);

	used0 = dev->dma ? demo_swiotlb_used() : -1;
	ret = kubuf_ubuf_register(k, buf, len, KUBUF_ACCESS_DEV_READ |
				  KUBUF_ACCESS_DEV_WRITE, &id);
	if (ret)
		return demo_fail("UBUF_REGISTER", ret);
	kubuf_ubuf_query(k, id, &q);
	printf("1c. It registers the buffer: registration %u. The module pinned\n"
	       "    %llu pages (charged to RLIMIT_MEMLOCK and VmPin) and mapped\n"
	       "    them into the kernel.\n", id,
	       (unsigned long long)q.nr_pages);
	if (dev->dma)
		demo_dma_mapped(dev, used0, demo_swiotlb_used());

	t0 = demo_now();
	ret = kubuf_dev_fill(k, KUBUF_MEM_UBUF, id, 0, len, 2024);
	if (ret)
		return demo_fail("device FILL", ret);
	printf("1d. The device writes a pattern into it from its own kernel\n"
	       "    workers, not from the application's system call.\n");
	if (dev->dma)
		printf("    Its DMA engine wrote the %zu KiB in %.1f s.\n",
		       len >> 10, demo_now() - t0);
	printf("1e. The application reads it directly: first bytes"
	       " %02x %02x %02x %02x, whole buffer %s.\n",
	       buf[0], buf[1], buf[2], buf[3],
	       kubuf_pattern_check(buf, len, 2024, NULL) ? "WRONG" : "verified");
	if (dev->dma) {
		demo_app_data(buf, len);
		printf("    The application writes data of its own over it; the\n"
		       "    device reads it back by DMA to checksum it.\n");
	}
	t0 = demo_now();
	ret = kubuf_dev_checksum(k, KUBUF_MEM_UBUF, id, 0, len, &sum);
	if (ret)
		return demo_fail("device CHECKSUM", ret);
	if (dev->dma)
		printf("    Its DMA engine read the %zu KiB in %.1f s.\n",
		       len >> 10, demo_now() - t0);
	printf("    The device's checksum %016llx %s the application's.\n",
	       (unsigned long long)sum,
	       sum == kubuf_checksum(KUBUF_CHECKSUM_INIT, buf, len) ?
	       "matches" : "DOES NOT match");

	ret = kubuf_dev_reset(k);
	if (ret)
		return demo_fail("device RESET", ret);
	pfd.fd = kubuf_fd(k);
	pfd.events = POLLPRI;
	poll(&pfd, 1, 1000);
	if (read(efd, &cnt, sizeof(cnt)) != sizeof(cnt))
		cnt = 0;
	kubuf_get_events(k, &ev);
	kubuf_ubuf_query(k, id, &q);
	printf("1f. The device is reset: the driver revokes the registration.\n"
	       "    The application is told: eventfd count %llu, poll %s,\n"
	       "    events %s; the registration is now %s, %llu pages pinned.\n",
	       (unsigned long long)cnt,
	       (pfd.revents & POLLPRI) ? "POLLPRI" : "quiet",
	       (ev & KUBUF_EVENT_REVOKED) ? "REVOKED" : "none",
	       q.state == KUBUF_UBUF_REVOKED ? "REVOKED" : "ACTIVE",
	       (unsigned long long)q.nr_pages);
	ret = kubuf_dev_fill(k, KUBUF_MEM_UBUF, id, 0, len, 1);
	printf("    The device can no longer touch it: FILL answers %s.\n",
	       ret == -ESHUTDOWN ? "-ESHUTDOWN (revoked)" : strerror(-ret));

	kubuf_ubuf_unregister(k, id);
	kubuf_set_eventfd(k, -1);
	close(efd);
	printf("1g. The application unregisters it and drops the event. Had it\n"
	       "    exited or been killed instead, closing the device would have\n"
	       "    done the same, whichever process held the last reference.\n");
	munmap(buf, len);
	return 0;
}

/* Memory a ring can live in: a registration or a mapped driver buffer. */
struct ring_mem {
	struct kubuf *k;
	unsigned int kind;	/* KUBUF_MEM_UBUF or KUBUF_MEM_KBUF */
	uint32_t id;
	void *addr;
	size_t len;
};

/*
 * @len bytes (rounded up to pages) the device and the program may write:
 * the demo makes the memory itself, to show each step, where an
 * application would call kubuf_ring_create().
 */
static int ring_mem_new(struct kubuf *k, unsigned int kind, size_t len,
			struct ring_mem *m)
{
	long page = sysconf(_SC_PAGESIZE);
	int ret;

	memset(m, 0, sizeof(*m));
	m->k = k;
	m->kind = kind;
	m->len = (len + page - 1) & ~(size_t)(page - 1);
	if (kind == KUBUF_MEM_KBUF) {
		ret = kubuf_kbuf_alloc(k, m->len, KUBUF_KBUF_PAGES,
				       KUBUF_CACHE_CACHED, KUBUF_KBUF_APP_WRITE,
				       &m->id, NULL);
		if (ret)
			return ret;
		ret = kubuf_kbuf_map(k, m->id, 0, m->len,
				     PROT_READ | PROT_WRITE, &m->addr);
		if (ret)
			kubuf_kbuf_free(k, m->id);
		return ret;
	}
	m->addr = mmap(NULL, m->len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m->addr == MAP_FAILED)
		return -errno;
	ret = kubuf_ubuf_register(k, m->addr, m->len, KUBUF_ACCESS_DEV_READ |
				  KUBUF_ACCESS_DEV_WRITE, &m->id);
	if (ret)
		munmap(m->addr, m->len);
	return ret;
}

static void ring_mem_free(struct ring_mem *m)
{
	if (m->kind == KUBUF_MEM_KBUF) {
		kubuf_kbuf_free(m->k, m->id);
		kubuf_kbuf_unmap(m->addr, m->len);
	} else {
		kubuf_ubuf_unregister(m->k, m->id);
		munmap(m->addr, m->len);
	}
}

/* --- the shared ring ---------------------------------------------------- */

struct demo_ring {
	struct kubuf *k;
	struct kubuf_ring *r;
};

/* A TO_APP ring of @size data bytes in a driver buffer of its own. */
static int demo_ring_new(struct demo_ring *d, uint32_t size, uint32_t flags)
{
	KUBUF_RING_OPTS(o, .dir = KUBUF_RING_TO_APP, .flags = flags,
			.kind = KUBUF_MEM_KBUF, .data_size = size,
			.wake_records = flags ? 0 : 64);
	int ret;

	if (open_dev(0, &d->k))
		return -ENODEV;
	ret = kubuf_ring_create(d->k, &o, &d->r);
	if (ret)
		kubuf_close(d->k);
	return ret;
}

static void demo_ring_free(struct demo_ring *d)
{
	kubuf_ring_detach(d->r);
	kubuf_close(d->k);
}

static int demo_check_rec(void *arg, const struct kubuf_rec *rec,
			  const void *payload)
{
	kubuf_stream_verify(arg, rec, payload);
	return 0;
}

/* Consume and check until @count sequence numbers are accounted for. */
static int demo_consume(struct kubuf_ring *r, struct kubuf_stream_check *c,
			uint64_t count)
{
	struct kubuf_ring_query q;
	int ret;

	while (c->next_seq < count) {
		ret = kubuf_ring_consume(r, demo_check_rec, c, 0);
		if (ret > 0)
			continue;
		if (!ret)
			ret = kubuf_ring_wait(r, 2000);
		if (ret < 0)
			return ret;
		if (ret)
			continue;
		ret = kubuf_ring_query(r, &q);
		if (ret)
			return ret;
		if (q.stream != KUBUF_STREAM_RUNNING) {
			/* Done: the last records were dropped. */
			kubuf_stream_stop(r);
			ret = kubuf_ring_consume(r, demo_check_rec, c, 0);
			return ret < 0 ? ret : 0;
		}
	}
	return 0;
}

static int demo_stream(const struct demo_dev *dev)
{
	static const char title[] =
		"The shared ring: the device streams, the application reads";
	const uint64_t count = 20000;
	struct kubuf_stream s = {
		.flags = KUBUF_STREAM_LOSSLESS, .rec_size = 256, .seed = 7,
		.count = count,
	};
	struct kubuf_stream_check c;
	struct kubuf_ring_counters rc;
	struct kubuf_ring_query q;
	struct demo_ring d;
	int ret;

	if (!demo_has(dev, KUBUF_FEAT_RING | KUBUF_FEAT_KBUF |
		      KUBUF_FEAT_STREAM, title))
		return 0;
	printf("\n== %s ==\n\n", title);
	printf("Step 1. Map a driver buffer and make it a ring the device writes\n"
	       "and the application reads (KUBUF_IOC_RING_ATTACH, TO_APP). Its\n"
	       "positions are counters in the shared memory; the library gives\n"
	       "the device an eventfd, to be signalled at most once per 64\n"
	       "records, and only when the application said it is waiting.\n\n");
	ret = demo_ring_new(&d, 64 << 10, 0);
	if (ret)
		return demo_fail("ring attach", ret);
	printf("  ring %u: 64 KiB of records at %p\n", kubuf_ring_id(d.r),
	       kubuf_ring_addr(d.r));

	printf("\nStep 2. The device streams %llu records of %u bytes, lossless,\n"
	       "as fast as the application takes them (KUBUF_IOC_STREAM_START).\n"
	       "The application checks every sequence number, checksum and byte.\n\n",
	       (unsigned long long)count, s.rec_size);
	kubuf_stream_check_init(&c, s.seed, s.rec_size);
	ret = kubuf_stream_start(d.r, &s);
	if (!ret)
		ret = demo_consume(d.r, &c, count);
	if (!ret)
		ret = kubuf_ring_query(d.r, &q);
	if (ret) {
		demo_ring_free(&d);
		return demo_fail("stream", ret);
	}
	kubuf_ring_counters(d.r, &rc);
	printf("  %llu records checked, %llu corrupt, %llu missing\n",
	       (unsigned long long)c.records, (unsigned long long)c.corrupt,
	       (unsigned long long)c.missing);
	printf("  %llu system calls for the ring in all (%.6f per record),\n"
	       "  %llu wakeups (the device sent %llu); reading the records one\n"
	       "  read() at a time would have taken %llu system calls.\n",
	       (unsigned long long)rc.syscalls,
	       (double)rc.syscalls / (c.records ? c.records : 1),
	       (unsigned long long)rc.wakeups, (unsigned long long)q.wakeups,
	       (unsigned long long)count);
	demo_ring_free(&d);

	printf("\nStep 3. A consumer that falls behind. The device streams 2000\n"
	       "records at 50000 a second into a ring of 4 KiB while the\n"
	       "application sleeps. The device never overwrites what was not\n"
	       "read: it drops new records and counts them.\n\n");
	ret = demo_ring_new(&d, 4096, 0);
	if (ret)
		return demo_fail("ring attach", ret);
	s.flags = 0;
	s.rate = 50000;
	s.count = 2000;
	s.rec_size = 64;
	kubuf_stream_check_init(&c, s.seed, s.rec_size);
	ret = kubuf_stream_start(d.r, &s);
	if (!ret) {
		usleep(200 * 1000);
		ret = demo_consume(d.r, &c, s.count);
	}
	if (!ret)
		ret = kubuf_ring_query(d.r, &q);
	demo_ring_free(&d);
	if (ret)
		return demo_fail("stream", ret);
	printf("  %llu records arrived, all intact (%llu corrupt); the device\n"
	       "  dropped %llu, and exactly those %llu sequence numbers are\n"
	       "  missing.\n", (unsigned long long)c.records,
	       (unsigned long long)c.corrupt, (unsigned long long)q.dropped,
	       (unsigned long long)(c.missing + s.count - c.next_seq));
	return 0;
}

/* The completions of the command ring, as they arrive. */
struct demo_done {
	unsigned int n;
	struct kubuf_ring_done done[4];
	char echo[32];
};

static int demo_take_done(void *arg, const struct kubuf_rec *rec,
			  const void *payload)
{
	struct demo_done *dd = arg;
	size_t extra;

	if (rec->type != KUBUF_REC_DONE || rec->len < sizeof(dd->done[0]) ||
	    dd->n >= 4)
		return -EBADMSG;
	memcpy(&dd->done[dd->n], payload, sizeof(dd->done[0]));
	extra = rec->len - sizeof(dd->done[0]);
	if (extra && extra < sizeof(dd->echo))
		memcpy(dd->echo, (const char *)payload + sizeof(dd->done[0]),
		       extra);
	dd->n++;
	return 0;
}

/* Wait for the completions until @want have come. */
static int demo_wait_done(struct kubuf_ring *reply, struct demo_done *dd,
			  unsigned int want)
{
	int ret, tries = 0;

	/* Up to 10 s without a completion: a device doing DMA is slow. */
	while (dd->n < want) {
		ret = kubuf_ring_consume(reply, demo_take_done, dd, 0);
		if (ret < 0)
			return ret;
		if (ret)
			tries = 0;
		else if (kubuf_ring_wait(reply, 1000) == 0 && ++tries > 10)
			return -ETIMEDOUT;
	}
	return 0;
}

static int demo_commands(const struct demo_dev *dev)
{
	const size_t len = 64 * 1024;
	const char hello[] = "hello, device";
	KUBUF_RING_OPTS(o, .kind = KUBUF_MEM_KBUF);
	struct kubuf_ring *reply = NULL, *cmd = NULL;
	struct kubuf_ring_counters rc;
	struct kubuf_ring_cmd c;
	struct kubuf_ubuf_query uq;
	struct kubuf_stats st;
	struct demo_done dd = { 0 };
	struct ring_mem rings, buf;
	struct kubuf *k;
	int ret, kicks;

	if (!demo_part(dev, KUBUF_FEAT_RING | KUBUF_FEAT_UBUF | KUBUF_FEAT_KBUF |
		       KUBUF_FEAT_DEVICE, "Commands through a ring"))
		return 0;
	printf("Step 1. Register a %zu KiB buffer of the application's, and put\n"
	       "two rings in one driver buffer: commands for the device\n"
	       "(TO_DEV), and their completions (TO_APP, the reply ring).\n\n",
	       len >> 10);
	if (open_dev(0, &k))
		return 1;
	ret = ring_mem_new(k, KUBUF_MEM_UBUF, len, &buf);
	if (ret)
		goto err_close;
	ret = ring_mem_new(k, KUBUF_MEM_KBUF, 2 * (KUBUF_RING_CTL_SIZE + 4096),
			   &rings);
	if (ret)
		goto err_buf;
	o.mem_id = rings.id;
	o.data_size = 4096;
	o.dir = KUBUF_RING_TO_APP;
	o.wake_records = 1;
	ret = kubuf_ring_attach(k, rings.addr, &o, &reply);
	if (ret)
		goto err_rings;
	o.dir = KUBUF_RING_TO_DEV;
	o.wake_records = 0;
	o.offset = KUBUF_RING_CTL_SIZE + 4096;
	o.reply_ring = reply;
	ret = kubuf_ring_attach(k, (char *)rings.addr + o.offset, &o, &cmd);
	if (ret)
		goto err_rings;
	printf("  registration %u; command ring %u, reply ring %u\n", buf.id,
	       kubuf_ring_id(cmd), kubuf_ring_id(reply));

	printf("\nStep 2. Queue three commands (FILL the buffer with a pattern,\n"
	       "CHECKSUM it, ECHO a message), then publish them with one call,\n"
	       "which kicks the device only if it said it was waiting.\n\n");
	memset(&c, 0, sizeof(c));
	c.op = KUBUF_RCMD_FILL;
	c.kind = KUBUF_MEM_UBUF;
	c.id = buf.id;
	c.seed = 99;
	c.len = len;
	c.tag = 1;
	ret = kubuf_ring_cmd(cmd, &c, NULL, 0);
	c.op = KUBUF_RCMD_CHECKSUM;
	c.seed = 0;
	c.tag = 2;
	if (!ret)
		ret = kubuf_ring_cmd(cmd, &c, NULL, 0);
	memset(&c, 0, sizeof(c));
	c.op = KUBUF_RCMD_ECHO;
	c.tag = 3;
	if (!ret)
		ret = kubuf_ring_cmd(cmd, &c, hello, sizeof(hello));
	kicks = ret ? ret : kubuf_ring_submit(cmd);
	if (kicks < 0) {
		ret = kicks;
		goto err_rings;
	}
	printf("  3 commands queued, published: %s\n",
	       kicks ? "the device was asleep: one kick (KUBUF_IOC_RING_KICK)"
		     : "the device was awake: no system call");

	printf("\nStep 3. The device runs them in order from its own workers and\n"
	       "answers in the reply ring; the application checks each answer.\n\n");
	ret = demo_wait_done(reply, &dd, 3);
	if (ret)
		goto err_rings;
	printf("  FILL     tag %llu, status %d: the buffer %s\n",
	       (unsigned long long)dd.done[0].tag, dd.done[0].status,
	       kubuf_pattern_check(buf.addr, len, 99, NULL) ? "is WRONG" :
	       "holds the pattern");
	printf("  CHECKSUM tag %llu, status %d: %016llx, %s the application's\n",
	       (unsigned long long)dd.done[1].tag, dd.done[1].status,
	       (unsigned long long)dd.done[1].result,
	       dd.done[1].result == kubuf_checksum(KUBUF_CHECKSUM_INIT,
						   buf.addr, len) ?
	       "matches" : "DOES NOT match");
	printf("  ECHO     tag %llu, status %d: \"%s\"\n",
	       (unsigned long long)dd.done[2].tag, dd.done[2].status, dd.echo);

	printf("\nStep 4. A RESET through the ring revokes the registration, as\n"
	       "KUBUF_DEV_RESET does.\n\n");
	memset(&c, 0, sizeof(c));
	c.op = KUBUF_RCMD_RESET;
	c.tag = 4;
	ret = kubuf_ring_cmd(cmd, &c, NULL, 0);
	if (!ret)
		ret = kubuf_ring_submit(cmd);
	if (ret >= 0)
		ret = demo_wait_done(reply, &dd, 4);
	if (!ret)
		ret = kubuf_ubuf_query(k, buf.id, &uq);
	if (ret)
		goto err_rings;
	kubuf_ring_counters(cmd, &rc);
	printf("  RESET    tag %llu, status %d: the registration is %s\n",
	       (unsigned long long)dd.done[3].tag, dd.done[3].status,
	       uq.state == KUBUF_UBUF_REVOKED ? "REVOKED" : "still ACTIVE");
	printf("  4 commands cost %llu kicks in all\n",
	       (unsigned long long)rc.kicks);

	printf("\nStep 5. Detach the rings, unregister and free: the device's\n"
	       "work stops first, then the memory goes.\n\n");
	kubuf_ring_detach(cmd);
	kubuf_ring_detach(reply);
	ring_mem_free(&rings);
	ring_mem_free(&buf);
	if (!kubuf_get_stats(k, &st))
		printf("  counters: rings %llu, cmds %llu, ubufs %llu, "
		       "kbufs %llu, eventfd_refs %llu\n",
		       (unsigned long long)st.counters[KUBUF_STAT_RINGS],
		       (unsigned long long)st.counters[KUBUF_STAT_CMDS],
		       (unsigned long long)st.counters[KUBUF_STAT_UBUFS],
		       (unsigned long long)st.counters[KUBUF_STAT_KBUFS],
		       (unsigned long long)st.counters[KUBUF_STAT_EVENTFD_REFS]);
	kubuf_close(k);
	return 0;

err_rings:
	if (cmd)
		kubuf_ring_detach(cmd);
	if (reply)
		kubuf_ring_detach(reply);
	ring_mem_free(&rings);
err_buf:
	ring_mem_free(&buf);
err_close:
	kubuf_close(k);
	return demo_fail("commands", ret);
}
