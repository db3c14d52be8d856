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
static int demo_stream(void);
static int demo_commands(void);

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
	       "own workers (KUBUF_IOC_DEV_CMD, FILL, NOWAIT); the application\n"
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

	ret = parse_simple_opts(argc, argv, demo_usage, NULL);
	if (ret)
		return ret < 0 ? 2 : 0;

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
	if (demo_stream() || demo_commands())
		return 1;
	printf("\n== demo complete ==\n");
	return 0;
}

static int demo_fail(const char *what, int err)
{
	report_error(what, err);
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
	       "    workers, not from the application's system call.\n");
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

/* --- the shared ring ---------------------------------------------------- */

struct demo_ring {
	struct kubuf *k;
	struct ring_mem m;
	struct kubuf_ring *r;
};

/* A TO_APP ring of @size data bytes in a driver buffer of its own. */
static int demo_ring_new(struct demo_ring *d, uint32_t size, uint32_t flags)
{
	struct kubuf_ring_opts o = {
		.dir = KUBUF_RING_TO_APP, .flags = flags,
		.kind = KUBUF_MEM_KBUF, .data_size = size,
		.wake_records = flags ? 0 : 64,
	};
	int ret;

	if (open_dev(0, &d->k))
		return -ENODEV;
	ret = ring_mem_new(d->k, KUBUF_MEM_KBUF, KUBUF_RING_CTL_SIZE + size,
			   &d->m);
	if (ret)
		goto err_close;
	o.mem_id = d->m.id;
	ret = kubuf_ring_attach(d->k, d->m.addr, &o, &d->r);
	if (ret)
		goto err_mem;
	return 0;

err_mem:
	ring_mem_free(&d->m);
err_close:
	kubuf_close(d->k);
	return ret;
}

static void demo_ring_free(struct demo_ring *d)
{
	kubuf_ring_detach(d->r);
	ring_mem_free(&d->m);
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

static int demo_stream(void)
{
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

	printf("\n== The shared ring: the device streams, the application reads ==\n\n");
	printf("Step 1. Map a driver buffer and make it a ring the device writes\n"
	       "and the application reads (KUBUF_IOC_RING_ATTACH, TO_APP). Its\n"
	       "positions are counters in the shared memory; the library gives\n"
	       "the device an eventfd, to be signalled at most once per 64\n"
	       "records, and only when the application said it is waiting.\n\n");
	ret = demo_ring_new(&d, 64 << 10, 0);
	if (ret)
		return demo_fail("ring attach", ret);
	printf("  ring %u: 64 KiB of records at %p\n", kubuf_ring_id(d.r),
	       d.m.addr);

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

	while (dd->n < want) {
		ret = kubuf_ring_consume(reply, demo_take_done, dd, 0);
		if (ret < 0)
			return ret;
		if (!ret && kubuf_ring_wait(reply, 1000) == 0 && ++tries > 10)
			return -ETIMEDOUT;
	}
	return 0;
}

static int demo_commands(void)
{
	const size_t len = 64 * 1024;
	const char hello[] = "hello, device";
	struct kubuf_ring_opts o = { .kind = KUBUF_MEM_KBUF };
	struct kubuf_ring *reply = NULL, *cmd = NULL;
	struct kubuf_ring_counters rc;
	struct kubuf_ring_cmd c;
	struct kubuf_ubuf_query uq;
	struct kubuf_stats st;
	struct demo_done dd = { 0 };
	struct ring_mem rings, buf;
	struct kubuf *k;
	int ret, kicks;

	printf("\n== Commands through a ring ==\n\n");
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
	       kubuf_pattern_check(buf.addr, len, 99) ? "is WRONG" :
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
