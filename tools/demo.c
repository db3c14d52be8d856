// SPDX-License-Identifier: MIT
/*
 * kubuf demo - a guided walk through what kubuf does.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tool.h"

static int demo_technique1(struct kubuf *k);

const char demo_usage[] =
	"usage: kubuf demo\n"
	"Walk through kubuf step by step, explaining each step.\n";

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

/* Technique 2: the driver allocates the buffer, the application maps it. */
static int demo_kbuf(void)
{
	const size_t len = 16 * 4096;
	const uint32_t seed = 0x5eed;
	uint64_t offset;
	uint8_t *p;
	struct kubuf *k;
	uint32_t id;
	size_t i;
	int ret;

	printf("\n== Technique 2: the driver provides the buffer ==\n\n");
	if (open_dev(0, &k))
		return 1;

	printf("Step 1. Ask the driver for %zu KiB of zeroed pages the\n"
	       "application may write (KUBUF_IOC_KBUF_ALLOC).\n\n", len >> 10);
	ret = kubuf_kbuf_alloc(k, len, KUBUF_KBUF_PAGES, KUBUF_CACHE_CACHED,
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
	       "own thread (KUBUF_IOC_DEV_CMD, FILL, NOWAIT); the application\n"
	       "waits for the DONE event and checks every byte.\n\n");
	ret = demo_kbuf_fill(k, id, len, seed);
	if (ret)
		goto err_unmap;
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
	struct kubuf_info info;
	struct kubuf_stats st;
	struct kubuf *k;
	int ret;

	if (argc > 1) {
		if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
			printf("%s", demo_usage);
			return 0;
		}
		fprintf(stderr, "kubuf: unknown argument '%s'\n%s", argv[1],
			demo_usage);
		return 2;
	}

	printf("== kubuf demo ==\n\n");
	printf("Step 1. Open the device. The module keeps one state object\n"
	       "per open file; it lives until the last descriptor and the\n"
	       "last mapping of that file are gone.\n\n");
	if (open_dev(0, &k))
		return 1;
	printf("  opened %s as fd %d\n\n", dev_path ? dev_path : "/dev/kubuf",
	       kubuf_fd(k));

	printf("Step 2. Ask what the module offers (KUBUF_IOC_GET_INFO).\n\n");
	ret = kubuf_get_info(k, &info);
	if (ret) {
		fprintf(stderr, "kubuf: GET_INFO failed: %s\n", strerror(-ret));
		kubuf_close(k);
		return 1;
	}
	print_info(&info, 0);

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

	if (demo_technique1(k)) {
		kubuf_close(k);
		return 1;
	}

	printf("\nStep 4. Close the device: the module frees the file's state.\n");
	kubuf_close(k);
	if (demo_kbuf())
		return 1;
	printf("\n== demo complete ==\n");
	return 0;
}

static int demo_fail(const char *what, int err)
{
	fprintf(stderr, "kubuf: %s failed: %s\n", what, strerror(-err));
	return 1;
}

/* Technique 1, the article's first story, with its hazard and its cure. */
static int demo_technique1(struct kubuf *k)
{
	size_t len = 64 * 1024;
	struct kubuf_ubuf_query q;
	struct pollfd pfd;
	uint32_t id, ev;
	uint64_t cnt, sum;
	unsigned char *buf;
	int efd, ret;

	printf("\n== Technique 1: the application's buffer ==\n\n");
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

	ret = kubuf_ubuf_register(k, buf, len, KUBUF_ACCESS_DEV_READ |
				  KUBUF_ACCESS_DEV_WRITE, &id);
	if (ret)
		return demo_fail("UBUF_REGISTER", ret);
	kubuf_ubuf_query(k, id, &q);
	printf("1c. It registers the buffer: registration %u. The module pinned\n"
	       "    %llu pages (charged to RLIMIT_MEMLOCK and VmPin) and mapped\n"
	       "    them into the kernel.\n", id,
	       (unsigned long long)q.nr_pages);

	ret = kubuf_dev_fill(k, KUBUF_MEM_UBUF, id, 0, len, 2024);
	if (ret)
		return demo_fail("device FILL", ret);
	printf("1d. The device writes a pattern into it from its own kernel\n"
	       "    thread, not from the application's system call.\n");
	printf("1e. The application reads it directly: first bytes"
	       " %02x %02x %02x %02x, whole buffer %s.\n",
	       buf[0], buf[1], buf[2], buf[3],
	       kubuf_pattern_check(buf, len, 2024) ? "WRONG" : "verified");
	ret = kubuf_dev_checksum(k, KUBUF_MEM_UBUF, id, 0, len, &sum);
	if (ret)
		return demo_fail("device CHECKSUM", ret);
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
