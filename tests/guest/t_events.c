// SPDX-License-Identifier: MIT
/*
 * The shared event (eventfd binding, GET_EVENTS, poll), device command
 * errnos, and the copying variants (KUBUF_IOC_UCOPY, read()).
 */
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "harness.h"
#include "kubuf.h"

#define PG 4096UL
#define RW (KUBUF_ACCESS_DEV_READ | KUBUF_ACCESS_DEV_WRITE)

static int set_efd(int fd, int efd, unsigned int flags)
{
	struct kubuf_eventfd e = { .fd = efd, .flags = flags };

	return ioctl(fd, KUBUF_IOC_SET_EVENTFD, &e);
}

KT_CASE(eventfd_ebadf)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	int closed = KT_OK(eventfd(0, 0));

	close(closed);
	KT_ERRNO(set_efd(fd, -1, 0), EBADF);
	KT_ERRNO(set_efd(fd, -12345, 0), EBADF);
	KT_ERRNO(set_efd(fd, 1 << 30, 0), EBADF);
	KT_ERRNO(set_efd(fd, closed, 0), EBADF);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_EVENTFD_REFS), 0);
	close(fd);
}

KT_CASE(eventfd_einval)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	int pfd[2], sv[2], reg, efd = KT_OK(eventfd(0, 0));

	KT_OK(pipe(pfd));
	KT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	reg = KT_OK(open("/init", O_RDONLY));
	KT_ERRNO(set_efd(fd, pfd[0], 0), EINVAL);
	KT_ERRNO(set_efd(fd, sv[0], 0), EINVAL);
	KT_ERRNO(set_efd(fd, reg, 0), EINVAL);
	KT_ERRNO(set_efd(fd, fd, 0), EINVAL);
	KT_ERRNO(set_efd(fd, efd, 2), EINVAL);
	KT_ERRNO(set_efd(fd, efd, ~0U), EINVAL);
	KT_ERRNO(set_efd(fd, efd, KUBUF_EVENTFD_CLEAR), EINVAL);
	KT_ERRNO(ioctl(fd, KUBUF_IOC_SET_EVENTFD, NULL), EFAULT);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_EVENTFD_REFS), 0);
	close(fd);
}

/* Each replaced reference is dropped exactly once. */
KT_CASE(eventfd_replace_loop)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	int i;

	for (i = 0; i < 1000; i++) {
		int efd = KT_OK(eventfd(0, 0));

		KT_OK(set_efd(fd, efd, 0));
		close(efd);
		if (i % 100 == 0)
			KT_ASSERT_EQ(kt_stat(KUBUF_STAT_EVENTFD_REFS), 1);
	}
	KT_OK(set_efd(fd, -1, KUBUF_EVENTFD_CLEAR));
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_EVENTFD_REFS), 0);
	KT_OK(set_efd(fd, -1, KUBUF_EVENTFD_CLEAR));
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_EVENTFD_REFS), 0);
	close(fd);
}

/*
 * The module holds its own reference: closing the eventfd, and reusing
 * its number for something else, redirects nothing.
 */
KT_CASE(eventfd_closed_then_signalled)
{
	struct kubuf *k;
	char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int efd = KT_OK(eventfd(0, 0)), pfd[2], i;
	uint32_t id, ev;
	char c;

	KT_ASSERT_EQ(kubuf_open(NULL, 0, &k), 0);
	KT_ASSERT_EQ(kubuf_set_eventfd(k, efd), 0);
	close(efd);
	KT_OK(pipe(pfd));	/* likely takes the eventfd's number */
	for (i = 0; i < 200; i++) {
		KT_ASSERT_EQ(kubuf_ubuf_register(k, p, PG, RW, &id), 0);
		KT_ASSERT_EQ(kubuf_dev_reset(k), 0);
		KT_ASSERT_EQ(kubuf_ubuf_unregister(k, id), 0);
		KT_ASSERT_EQ(kubuf_get_events(k, &ev), 0);
		KT_ASSERT_EQ(ev, KUBUF_EVENT_REVOKED);
	}
	KT_OK(fcntl(pfd[0], F_SETFL, O_NONBLOCK));
	KT_ERRNO(read(pfd[0], &c, 1), EAGAIN);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_EVENTFD_REFS), 1);
	kubuf_close(k);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_EVENTFD_REFS), 0);
}

KT_CASE(get_events_errors)
{
	int fd = KT_OK(kt_open_dev(O_RDONLY));
	struct kubuf_events ev;

	kt_poison(&ev, sizeof(ev));
	ev.flags = 0;
	KT_OK(ioctl(fd, KUBUF_IOC_GET_EVENTS, &ev));
	KT_ASSERT_EQ(ev.pending, 0);
	KT_ASSERT_EQ(ev.reserved[0], 0);
	KT_ASSERT_EQ(ev.reserved[1], 0);
	ev.flags = 1;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_GET_EVENTS, &ev), EINVAL);
	KT_ERRNO(ioctl(fd, KUBUF_IOC_GET_EVENTS, NULL), EFAULT);
	close(fd);
}

/* NOWAIT commands signal completion through the bound eventfd. */
KT_CASE(nowait_done_event)
{
	struct kubuf *k;
	char *p = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int efd = KT_OK(eventfd(0, EFD_CLOEXEC));
	struct kubuf_dev_cmd c;
	struct pollfd pfd = { .fd = efd, .events = POLLIN };
	uint32_t id, ev;
	uint64_t cnt;

	KT_ASSERT_EQ(kubuf_open(NULL, 0, &k), 0);
	KT_ASSERT_EQ(kubuf_set_eventfd(k, efd), 0);
	KT_ASSERT_EQ(kubuf_ubuf_register(k, p, 16 * PG, RW, &id), 0);
	memset(&c, 0, sizeof(c));
	c.op = KUBUF_DEV_FILL;
	c.flags = KUBUF_DEV_NOWAIT;
	c.kind = KUBUF_MEM_UBUF;
	c.id = id;
	c.len = 16 * PG;
	c.seed = 77;
	KT_ASSERT_EQ(kubuf_dev_cmd(k, &c), 0);
	KT_ASSERT_EQ(kt_poll(&pfd, 1, 10000), 1);
	KT_ASSERT_EQ(read(efd, &cnt, 8), 8);
	KT_ASSERT_EQ(kubuf_get_events(k, &ev), 0);
	KT_ASSERT_EQ(ev, KUBUF_EVENT_DONE);
	KT_ASSERT_EQ(kubuf_pattern_check(p, 16 * PG, 77, NULL), 0);
	kubuf_close(k);
	close(efd);
}

static int poll_fd;

static void *poller(void *arg)
{
	struct pollfd pfd = { .fd = poll_fd, .events = POLLPRI };

	(void)arg;
	/* Returns when the reset raises an event, or times out. */
	kt_poll(&pfd, 1, 2000);
	return NULL;
}

/* poll() and epoll on the device while another thread closes it. */
KT_CASE(poll_races_close)
{
	char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int round;

	for (round = 0; round < 20; round++) {
		struct epoll_event e = { .events = EPOLLPRI };
		struct kubuf_ubuf_reg r;
		struct kubuf_dev_cmd c;
		pthread_t th;
		int ep = KT_OK(epoll_create1(EPOLL_CLOEXEC));

		poll_fd = KT_OK(kt_open_dev(O_RDWR));
		KT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, poll_fd, &e));
		memset(&r, 0, sizeof(r));
		r.addr = (uintptr_t)p;
		r.len = PG;
		r.access = RW;
		KT_OK(ioctl(poll_fd, KUBUF_IOC_UBUF_REGISTER, &r));
		KT_ASSERT_EQ(pthread_create(&th, NULL, poller, NULL), 0);
		kt_usleep(round * 100);
		if (round & 1) {
			memset(&c, 0, sizeof(c));
			c.op = KUBUF_DEV_RESET;
			KT_OK(ioctl(poll_fd, KUBUF_IOC_DEV_CMD, &c));
		}
		close(poll_fd);
		pthread_join(th, NULL);
		kt_epoll_wait(ep, &e, 1, 0);
		close(ep);
	}
}

KT_CASE(dev_cmd_errors)
{
	struct kubuf *k;
	char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct kubuf_dev_cmd c;
	uint32_t id, ro;
	int fd;

	KT_ASSERT_EQ(kubuf_open(NULL, 0, &k), 0);
	fd = kubuf_fd(k);
	KT_ASSERT_EQ(kubuf_ubuf_register(k, p, 4 * PG, RW, &id), 0);
	KT_ASSERT_EQ(kubuf_ubuf_register(k, p, 4 * PG, KUBUF_ACCESS_DEV_READ, &ro), 0);

#define BASE() do { memset(&c, 0, sizeof(c)); c.op = KUBUF_DEV_FILL;	\
		c.kind = KUBUF_MEM_UBUF; c.id = id; c.len = PG; } while (0)
	BASE(); c.op = 0;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_DEV_CMD, &c), EINVAL);
	BASE(); c.op = 99;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_DEV_CMD, &c), EINVAL);
	BASE(); c.flags = 2;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_DEV_CMD, &c), EINVAL);
	BASE(); c.reserved[1] = 1;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_DEV_CMD, &c), EINVAL);
	BASE(); c.src_id = 1;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_DEV_CMD, &c), EINVAL);
	BASE(); c.len = 0;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_DEV_CMD, &c), EINVAL);
	BASE(); c.kind = 0;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_DEV_CMD, &c), EINVAL);
	BASE(); c.kind = 3;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_DEV_CMD, &c), EINVAL);
	BASE(); c.op = KUBUF_DEV_CHECKSUM; c.seed = 1;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_DEV_CMD, &c), EINVAL);
	BASE(); c.op = KUBUF_DEV_RESET;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_DEV_CMD, &c), EINVAL);
	/* COPY onto itself, overlapping. */
	BASE(); c.op = KUBUF_DEV_COPY; c.src_kind = KUBUF_MEM_UBUF;
	c.src_id = id; c.src_offset = PG / 2;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_DEV_CMD, &c), EINVAL);
	BASE(); c.id = 999;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_DEV_CMD, &c), ENOENT);
	BASE(); c.kind = KUBUF_MEM_KBUF; c.id = 999;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_DEV_CMD, &c), ENOENT);
	BASE(); c.offset = 4 * PG;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_DEV_CMD, &c), ERANGE);
	BASE(); c.offset = 3 * PG + 1;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_DEV_CMD, &c), ERANGE);
	BASE(); c.offset = ~0ULL; c.len = 2;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_DEV_CMD, &c), ERANGE);
	/* More work than any command may do: before the lookup. */
	BASE(); c.len = ~0ULL;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_DEV_CMD, &c), E2BIG);
	/* The device may only read a read-only registration. */
	BASE(); c.id = ro;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_DEV_CMD, &c), EACCES);
	BASE(); c.op = KUBUF_DEV_COPY; c.id = ro; c.src_kind = KUBUF_MEM_UBUF;
	c.src_id = id; c.src_offset = 0;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_DEV_CMD, &c), EACCES);
	BASE(); c.op = KUBUF_DEV_CHECKSUM; c.id = ro;
	KT_OK(ioctl(fd, KUBUF_IOC_DEV_CMD, &c));
	KT_ERRNO(ioctl(fd, KUBUF_IOC_DEV_CMD, NULL), EFAULT);
#undef BASE
	kubuf_close(k);
}

/* COPY between two registrations, checked by the device's checksum. */
KT_CASE(dev_copy_between_registrations)
{
	struct kubuf *k;
	size_t len = 32 * PG;
	char *a = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *b = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint32_t ia, ib;
	uint64_t sa, sb;

	KT_ASSERT_EQ(kubuf_open(NULL, 0, &k), 0);
	KT_ASSERT_EQ(kubuf_ubuf_register(k, a, len, RW, &ia), 0);
	KT_ASSERT_EQ(kubuf_ubuf_register(k, b + 3, len - 3, RW, &ib), 0);
	KT_ASSERT_EQ(kubuf_dev_fill(k, KUBUF_MEM_UBUF, ia, 0, len, 99), 0);
	KT_ASSERT_EQ(kubuf_dev_copy(k, KUBUF_MEM_UBUF, ib, 0, KUBUF_MEM_UBUF,
				    ia, 0, len - 3), 0);
	KT_ASSERT(!memcmp(a, b + 3, len - 3));
	KT_ASSERT_EQ(kubuf_dev_checksum(k, KUBUF_MEM_UBUF, ia, 0, len - 3, &sa), 0);
	KT_ASSERT_EQ(kubuf_dev_checksum(k, KUBUF_MEM_UBUF, ib, 0, len - 3, &sb), 0);
	KT_ASSERT(sa == sb);
	kubuf_close(k);
}

KT_CASE(ucopy_fill_checksum)
{
	struct kubuf *k;
	size_t len = 3 * PG + 123;
	char *p = malloc(len + 2);
	uint64_t sum;

	KT_ASSERT_EQ(kubuf_open(NULL, 0, &k), 0);
	p[0] = 'x';
	p[len + 1] = 'y';
	KT_ASSERT_EQ(kubuf_ucopy_fill(k, p + 1, len, 5), 0);
	KT_ASSERT_EQ(kubuf_pattern_check(p + 1, len, 5, NULL), 0);
	KT_ASSERT(p[0] == 'x' && p[len + 1] == 'y');
	KT_ASSERT_EQ(kubuf_ucopy_checksum(k, p + 1, len, &sum), 0);
	KT_ASSERT(sum == kubuf_checksum(KUBUF_CHECKSUM_INIT, p + 1, len));
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_PINNED_PAGES), 0);
	free(p);
	kubuf_close(k);
}

KT_CASE(ucopy_errors)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	char *ro = mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char buf[64];
	struct kubuf_ucopy u;

#define BASE() do { memset(&u, 0, sizeof(u)); u.op = KUBUF_UCOPY_FILL;	\
		u.addr = (uintptr_t)buf; u.len = sizeof(buf); } while (0)
	BASE(); u.op = 0;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_UCOPY, &u), EINVAL);
	BASE(); u.op = 3;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_UCOPY, &u), EINVAL);
	BASE(); u.flags = 1;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_UCOPY, &u), EINVAL);
	BASE(); u.reserved0 = 1;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_UCOPY, &u), EINVAL);
	BASE(); u.reserved[0] = 1;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_UCOPY, &u), EINVAL);
	BASE(); u.len = 0;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_UCOPY, &u), EINVAL);
	BASE(); u.op = KUBUF_UCOPY_CHECKSUM; u.seed = 1;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_UCOPY, &u), EINVAL);
	BASE(); u.len = ~0ULL;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_UCOPY, &u), E2BIG);
	BASE(); u.addr = 0;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_UCOPY, &u), EFAULT);
	BASE(); u.addr = 0xffff888000000000ULL;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_UCOPY, &u), EFAULT);
	BASE(); u.addr = (uintptr_t)ro;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_UCOPY, &u), EFAULT);
	BASE(); u.op = KUBUF_UCOPY_CHECKSUM; u.addr = (uintptr_t)ro; u.len = 2 * PG;
	KT_OK(ioctl(fd, KUBUF_IOC_UCOPY, &u));
	KT_ASSERT(u.result == kubuf_checksum(KUBUF_CHECKSUM_INIT, ro, 2 * PG));
	KT_ERRNO(ioctl(fd, KUBUF_IOC_UCOPY, NULL), EFAULT);
#undef BASE
	close(fd);
}

/* The copying baseline: read() returns the device's pattern. */
KT_CASE(read_copies_pattern)
{
	int fd = KT_OK(kt_open_dev(O_RDONLY));
	size_t len = 3 << 20;
	char *buf = malloc(len);

	KT_ASSERT_EQ(read(fd, buf, 100), 100);
	KT_ASSERT_EQ(kubuf_pattern_check(buf, 100, 0, NULL), 0);
	/* At most 1 MiB per call. */
	KT_ASSERT_EQ(read(fd, buf, len), 1 << 20);
	KT_ASSERT_EQ(kubuf_pattern_check(buf, 1 << 20, 0, NULL), 0);
	KT_ASSERT_EQ(read(fd, buf, 0), 0);
	{
		void *volatile bad = NULL;	/* hidden from the compiler */

		KT_ERRNO(read(fd, bad, 10), EFAULT);
	}
	free(buf);
	close(fd);
}

/* --- read_rec: the copying paths write bare stream records (bench/) -------- */

#define READ_REC "/sys/module/kubuf/parameters/read_rec"

static void read_rec_set(unsigned int n)
{
	FILE *f = fopen(READ_REC, "w");

	KT_ASSERT(f);
	KT_ASSERT(fprintf(f, "%u\n", n) > 0);
	KT_ASSERT_EQ(fclose(f), 0);
}

static void read_rec_reset(void)
{
	FILE *f = fopen(READ_REC, "w");

	if (f) {
		fputs("0\n", f);
		fclose(f);
	}
}

/* Bytes [off, off + n) of back-to-back bare records of rec data bytes. */
static void bare_expect(unsigned char *p, size_t n, uint64_t off, uint32_t rec)
{
	uint64_t size = sizeof(struct kubuf_stream_rec) + rec, i;

	for (i = 0; i < n; i++) {
		uint64_t k = (off + i) / size, at = (off + i) % size;
		struct kubuf_stream_rec h = { .seq = k };

		p[i] = at < sizeof(h) ? ((unsigned char *)&h)[at] : 0;
	}
}

/*
 * With read_rec = N, read() and UCOPY FILL carry bare records of N data
 * bytes (numbered from each call's start, data zero); 0 brings the
 * pattern back. Sizes whose records straddle pages, the largest, one
 * above it (refused), and a buffer full of poison each time. A byte the
 * kernel left unwritten shows where the lane poisons freed pages
 * (page_poison=1): the core copies the whole length either way.
 */
KT_CASE(read_rec_writes_bare_records)
{
	static const uint32_t recs[] = { 5, 8, 4096, KUBUF_STREAM_MAX_REC };
	int fd = KT_OK(kt_open_dev(O_RDWR));
	size_t len = 1 << 20, ulen = 3 * PG + 123, i;
	unsigned char *buf = malloc(len), *want = malloc(len);
	struct kubuf *k;

	KT_ASSERT(buf && want);
	KT_ASSERT_EQ(kubuf_open(NULL, 0, &k), 0);
	atexit(read_rec_reset);
	for (i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
		uint32_t rec = recs[i];

		read_rec_set(recs[i]);
		memset(buf, 0xa5, len);
		KT_ASSERT_EQ(read(fd, buf, len), (ssize_t)len);
		bare_expect(want, len, 0, rec);
		KT_ASSERT(!memcmp(buf, want, len));
		memset(buf, 0xa5, ulen + 2);
		KT_ASSERT_EQ(kubuf_ucopy_fill(k, buf + 1, ulen, 7), 0);
		bare_expect(want, ulen, 0, rec);
		KT_ASSERT(!memcmp(buf + 1, want, ulen));
		KT_ASSERT(buf[0] == 0xa5 && buf[ulen + 1] == 0xa5);
	}
	/* Above the largest record: refused, the value kept. */
	{
		FILE *f = fopen(READ_REC, "w");

		KT_ASSERT(f);
		setvbuf(f, NULL, _IONBF, 0);
		KT_ASSERT(fprintf(f, "%u\n", KUBUF_STREAM_MAX_REC + 1) < 0);
		KT_ASSERT_EQ(errno, EINVAL);
		KT_ASSERT(fprintf(f, "%llu\n", (unsigned long long)UINT64_MAX) < 0);
		KT_ASSERT(errno == EINVAL || errno == ERANGE);
		KT_ASSERT(fprintf(f, "-1\n") < 0);
		fclose(f);
		f = fopen(READ_REC, "r");
		KT_ASSERT(f);
		KT_ASSERT_EQ(fscanf(f, "%zu", &i), 1);
		KT_ASSERT_EQ(i, KUBUF_STREAM_MAX_REC);
		fclose(f);
	}
	read_rec_set(0);
	KT_ASSERT_EQ(read(fd, buf, 4096), 4096);
	KT_ASSERT_EQ(kubuf_pattern_check(buf, 4096, 0, NULL), 0);
	KT_ASSERT_EQ(kubuf_ucopy_fill(k, buf, ulen, 7), 0);
	KT_ASSERT_EQ(kubuf_pattern_check(buf, ulen, 7, NULL), 0);
	kubuf_close(k);
	free(want);
	free(buf);
	close(fd);
}

KT_MAIN()
