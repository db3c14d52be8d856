// SPDX-License-Identifier: MIT
/*
 * Technique 1: registering application memory. Every errno path of
 * REGISTER / UNREGISTER / QUERY, every kind of memory, accounting, and
 * the lifetime: close, kill -9, fork, fd passing, revoke.
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "harness.h"
#include "kubuf.h"

#define PG 4096UL
#define RW (KUBUF_ACCESS_DEV_READ | KUBUF_ACCESS_DEV_WRITE)

static struct kubuf *dev(void)
{
	struct kubuf *k;

	KT_ASSERT_EQ(kubuf_open(NULL, 0, &k), 0);
	return k;
}

static void *map_anon(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	KT_ASSERT(p != MAP_FAILED);
	return p;
}

static int reg_raw(int fd, uint64_t addr, uint64_t len, uint32_t access)
{
	struct kubuf_ubuf_reg r;

	memset(&r, 0, sizeof(r));
	r.addr = addr;
	r.len = len;
	r.access = access;
	return ioctl(fd, KUBUF_IOC_UBUF_REGISTER, &r);
}

/* Register, let the device fill asynchronously, verify, unregister. */
static void fill_and_verify(struct kubuf *k, void *buf, size_t len,
			    uint32_t seed)
{
	uint64_t sum;
	uint32_t id;

	KT_ASSERT_EQ(kubuf_ubuf_register(k, buf, len, RW, &id), 0);
	KT_ASSERT_EQ(kubuf_dev_fill(k, KUBUF_MEM_UBUF, id, 0, len, seed), 0);
	KT_ASSERT_EQ(kubuf_pattern_check(buf, len, seed, NULL), 0);
	KT_ASSERT_EQ(kubuf_dev_checksum(k, KUBUF_MEM_UBUF, id, 0, len, &sum), 0);
	KT_ASSERT(sum == kubuf_checksum(KUBUF_CHECKSUM_INIT, buf, len));
	KT_ASSERT_EQ(kubuf_ubuf_unregister(k, id), 0);
}

KT_CASE(register_fill_verify)
{
	struct kubuf *k = dev();
	size_t len = 64 * PG;
	char *buf = map_anon(len, PROT_READ | PROT_WRITE);
	long pin0 = kt_vmpin_kb();
	struct kubuf_ubuf_query q;
	uint32_t id;

	KT_ASSERT_EQ(kubuf_ubuf_register(k, buf, len, RW, &id), 0);
	KT_ASSERT(id != 0);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_UBUFS), 1);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_PINNED_PAGES), 64);
	KT_ASSERT_EQ(kt_vmpin_kb(), pin0 + 64 * 4);

	kt_poison(&q, sizeof(q));
	KT_ASSERT_EQ(kubuf_ubuf_query(k, id, &q), 0);
	KT_ASSERT_EQ(q.state, KUBUF_UBUF_ACTIVE);
	KT_ASSERT_EQ(q.access, RW);
	KT_ASSERT(q.addr == (uintptr_t)buf);
	KT_ASSERT_EQ(q.len, len);
	KT_ASSERT_EQ(q.nr_pages, 64);
	KT_ASSERT_EQ(q.reserved[0], 0);
	KT_ASSERT_EQ(q.reserved[1], 0);

	KT_ASSERT_EQ(kubuf_dev_fill(k, KUBUF_MEM_UBUF, id, 0, len, 7), 0);
	KT_ASSERT_EQ(kubuf_pattern_check(buf, len, 7, NULL), 0);
	KT_ASSERT_EQ(kubuf_ubuf_unregister(k, id), 0);
	KT_ASSERT_EQ(kt_vmpin_kb(), pin0);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_PINNED_PAGES), 0);
	/* Device writes survive unregistering: pages released dirty. */
	KT_ASSERT_EQ(kubuf_pattern_check(buf, len, 7, NULL), 0);
	kubuf_close(k);
}

/* Unaligned start and length: the device touches exactly the range. */
KT_CASE(register_unaligned)
{
	struct kubuf *k = dev();
	char *buf = map_anon(4 * PG, PROT_READ | PROT_WRITE);
	struct kubuf_ubuf_query q;
	uint32_t id;

	memset(buf, 0x5a, 4 * PG);
	KT_ASSERT_EQ(kubuf_ubuf_register(k, buf + 100, 2 * PG + 5, RW, &id), 0);
	KT_ASSERT_EQ(kubuf_ubuf_query(k, id, &q), 0);
	KT_ASSERT_EQ(q.nr_pages, 3);
	KT_ASSERT_EQ(kubuf_dev_fill(k, KUBUF_MEM_UBUF, id, 0, 2 * PG + 5, 3), 0);
	KT_ASSERT_EQ(kubuf_pattern_check(buf + 100, 2 * PG + 5, 3, NULL), 0);
	for (int i = 0; i < 100; i++)
		KT_ASSERT_EQ(buf[i], 0x5a);
	for (size_t i = 100 + 2 * PG + 5; i < 4 * PG; i++)
		KT_ASSERT_EQ(buf[i], 0x5a);
	KT_ASSERT_EQ(kubuf_ubuf_unregister(k, id), 0);
	kubuf_close(k);
}

KT_CASE(register_einval)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	char *buf = map_anon(PG, PROT_READ | PROT_WRITE);
	struct kubuf_ubuf_reg r;
	unsigned int bit;

	KT_ERRNO(reg_raw(fd, (uintptr_t)buf, 0, RW), EINVAL);
	KT_ERRNO(reg_raw(fd, (uintptr_t)buf, PG, 0), EINVAL);
	KT_ERRNO(reg_raw(fd, (uintptr_t)buf, PG, 4), EINVAL);
	KT_ERRNO(reg_raw(fd, (uintptr_t)buf, PG, ~0U), EINVAL);
	for (bit = 0; bit < 32; bit++) {
		memset(&r, 0, sizeof(r));
		r.addr = (uintptr_t)buf;
		r.len = PG;
		r.access = RW;
		r.flags = 1U << bit;
		KT_ERRNO(ioctl(fd, KUBUF_IOC_UBUF_REGISTER, &r), EINVAL);
	}
	memset(&r, 0, sizeof(r));
	r.addr = (uintptr_t)buf;
	r.len = PG;
	r.access = RW;
	r.reserved0 = 1;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_UBUF_REGISTER, &r), EINVAL);
	r.reserved0 = 0;
	r.reserved[0] = 1;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_UBUF_REGISTER, &r), EINVAL);
	r.reserved[0] = 0;
	r.reserved[1] = ~0ULL;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_UBUF_REGISTER, &r), EINVAL);
	KT_ERRNO(ioctl(fd, KUBUF_IOC_UBUF_REGISTER, NULL), EFAULT);
	close(fd);
}

KT_CASE(register_e2big)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	struct kubuf_info in;
	char *buf = map_anon(PG, PROT_READ | PROT_WRITE);

	KT_OK(ioctl(fd, KUBUF_IOC_GET_INFO, &in));
	KT_ERRNO(reg_raw(fd, (uintptr_t)buf, in.max_ubuf_size + 1, RW), E2BIG);
	KT_ERRNO(reg_raw(fd, (uintptr_t)buf, 1ULL << 63, RW), E2BIG);
	KT_ERRNO(reg_raw(fd, (uintptr_t)buf, ~0ULL, RW), E2BIG);
	/* Page count above INT_MAX with a plausible-looking length. */
	KT_ERRNO(reg_raw(fd, (uintptr_t)buf, (1ULL << 31) * PG, RW), E2BIG);
	close(fd);
}

KT_CASE(register_efault)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	char *p = map_anon(3 * PG, PROT_READ | PROT_WRITE);
	char *ro = map_anon(2 * PG, PROT_READ);
	char *none = map_anon(PG, PROT_NONE);

	KT_ERRNO(reg_raw(fd, 0, PG, RW), EFAULT);
	KT_ERRNO(reg_raw(fd, 0xffff888000000000ULL, PG, RW), EFAULT);
	KT_ERRNO(reg_raw(fd, ~0ULL - PG + 1, 2 * PG, RW), EFAULT);
	/* Crossing the top of user space. */
	KT_ERRNO(reg_raw(fd, 0x7ffffffff000ULL, 2 * PG, RW), EFAULT);
	/* Holes in the middle and at the end. */
	KT_OK(munmap(p + PG, PG));
	KT_ERRNO(reg_raw(fd, (uintptr_t)p, 3 * PG, RW), EFAULT);
	KT_ERRNO(reg_raw(fd, (uintptr_t)p, 2 * PG, RW), EFAULT);
	/* Not writable while the device would write. */
	KT_ERRNO(reg_raw(fd, (uintptr_t)ro, 2 * PG, RW), EFAULT);
	KT_ERRNO(reg_raw(fd, (uintptr_t)ro, 2 * PG, KUBUF_ACCESS_DEV_WRITE), EFAULT);
	KT_ERRNO(reg_raw(fd, (uintptr_t)none, PG, RW), EFAULT);
	KT_ERRNO(reg_raw(fd, (uintptr_t)none, PG, KUBUF_ACCESS_DEV_READ), EFAULT);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_PINNED_PAGES), 0);
	/* Read-only memory is fine when the device only reads it. */
	KT_OK(reg_raw(fd, (uintptr_t)ro, 2 * PG, KUBUF_ACCESS_DEV_READ));
	close(fd);
}

/* MAP_SHARED regular-file memory: refused, the same on every kernel. */
KT_CASE(register_shared_file_refused)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	char *p;
	int ffd;

	mkdir("/tmp/ramfs", 0700);
	if (mount("ramfs", "/tmp/ramfs", "ramfs", 0, NULL) && errno != EBUSY)
		kt_fail(__FILE__, __LINE__, "mount ramfs");
	ffd = KT_OK(open("/tmp/ramfs/f", O_RDWR | O_CREAT | O_TRUNC, 0600));
	KT_OK(ftruncate(ffd, 4 * PG));
	p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, ffd, 0);
	KT_ASSERT(p != MAP_FAILED);
	KT_ERRNO(reg_raw(fd, (uintptr_t)p, 4 * PG, RW), EOPNOTSUPP);
	KT_ERRNO(reg_raw(fd, (uintptr_t)p, 4 * PG, KUBUF_ACCESS_DEV_READ), EOPNOTSUPP);
	munmap(p, 4 * PG);
	/* Read-only shared mapping of the file: refused too. */
	p = mmap(NULL, 4 * PG, PROT_READ, MAP_SHARED, ffd, 0);
	KT_ASSERT(p != MAP_FAILED);
	KT_ERRNO(reg_raw(fd, (uintptr_t)p, 4 * PG, KUBUF_ACCESS_DEV_READ), EOPNOTSUPP);
	munmap(p, 4 * PG);
	/* A private mapping of the same file is the process's own memory. */
	p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, ffd, 0);
	KT_ASSERT(p != MAP_FAILED);
	KT_OK(reg_raw(fd, (uintptr_t)p, 4 * PG, RW));
	close(fd);
	munmap(p, 4 * PG);
	close(ffd);
	unlink("/tmp/ramfs/f");
	umount("/tmp/ramfs");
}

KT_CASE(register_memfd_and_truncate)
{
	struct kubuf *k = dev();
	int mfd = KT_OK(memfd_create("kubuf", 0));
	size_t len = 16 * PG;
	char *p;
	uint32_t id;

	KT_OK(ftruncate(mfd, len));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	KT_ASSERT(p != MAP_FAILED);
	fill_and_verify(k, p, len, 11);

	KT_ASSERT_EQ(kubuf_ubuf_register(k, p, len, RW, &id), 0);
	/* Truncating under a registration: the pins keep the pages. */
	KT_OK(ftruncate(mfd, 0));
	KT_ASSERT_EQ(kubuf_dev_fill(k, KUBUF_MEM_UBUF, id, 0, len, 12), 0);
	KT_ASSERT_EQ(kubuf_ubuf_unregister(k, id), 0);
	munmap(p, len);
	close(mfd);
	kubuf_close(k);
}

KT_CASE(register_shared_anon)
{
	struct kubuf *k = dev();
	size_t len = 8 * PG;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	KT_ASSERT(p != MAP_FAILED);
	fill_and_verify(k, p, len, 13);
	kubuf_close(k);
}

/*
 * Make the pool @n huge pages. The kernel stops growing it at a pending
 * signal and still reports success, so write until it is there.
 */
static int set_hugepages(int n)
{
	char buf[16], cur[16];
	int tries;

	snprintf(buf, sizeof(buf), "%d", n);
	for (tries = 0; tries < 100; tries++) {
		if (kt_write_file("/proc/sys/vm/nr_hugepages", buf))
			return -1;
		if (!kt_read_file("/proc/sys/vm/nr_hugepages", cur, sizeof(cur)) &&
		    atoi(cur) == n)
			return 0;
	}
	return -1;
}

/* hugetlbfs, and a range starting in the middle of a huge page. */
KT_CASE(register_hugetlb_mid_page)
{
	struct kubuf *k = dev();
	size_t huge = 2UL << 20;
	long pin0 = kt_vmpin_kb();
	char *p;

	KT_OK(set_hugepages(4));
	p = mmap(NULL, 2 * huge, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (p == MAP_FAILED) {
		set_hugepages(0);
		kt_fail(__FILE__, __LINE__, "no huge pages for MAP_HUGETLB");
	}
	fill_and_verify(k, p + 3 * PG + 17, huge, 21);
	KT_ASSERT_EQ(kt_vmpin_kb(), pin0);
	munmap(p, 2 * huge);
	kubuf_close(k);
	KT_OK(set_hugepages(0));
}

KT_CASE(register_thp_mid_page)
{
	struct kubuf *k = dev();
	size_t huge = 2UL << 20;
	char *raw = map_anon(3 * huge, PROT_READ | PROT_WRITE);
	char *p = (char *)(((uintptr_t)raw + huge - 1) & ~(huge - 1));

	madvise(p, huge, MADV_HUGEPAGE);
	memset(p, 1, huge);
	fill_and_verify(k, p + huge / 2, huge / 2, 22);
	fill_and_verify(k, p + 5 * PG, huge, 23);
	kubuf_close(k);
}

/* The same range twice, and overlapping ranges: each pins on its own. */
KT_CASE(register_twice_and_overlap)
{
	struct kubuf *k = dev();
	char *p = map_anon(8 * PG, PROT_READ | PROT_WRITE);
	uint32_t a, b, c;

	KT_ASSERT_EQ(kubuf_ubuf_register(k, p, 4 * PG, RW, &a), 0);
	KT_ASSERT_EQ(kubuf_ubuf_register(k, p, 4 * PG, RW, &b), 0);
	KT_ASSERT_EQ(kubuf_ubuf_register(k, p + 2 * PG, 4 * PG, RW, &c), 0);
	KT_ASSERT(a != b && b != c && a != c);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_PINNED_PAGES), 12);
	KT_ASSERT_EQ(kubuf_dev_fill(k, KUBUF_MEM_UBUF, c, 0, 4 * PG, 5), 0);
	KT_ASSERT_EQ(kubuf_ubuf_unregister(k, b), 0);
	KT_ASSERT_EQ(kubuf_pattern_check(p + 2 * PG, 4 * PG, 5, NULL), 0);
	KT_ASSERT_EQ(kubuf_ubuf_unregister(k, a), 0);
	KT_ASSERT_EQ(kubuf_ubuf_unregister(k, c), 0);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_PINNED_PAGES), 0);
	kubuf_close(k);
}

KT_CASE(unregister_enoent)
{
	struct kubuf *k = dev(), *other = dev();
	char *p = map_anon(PG, PROT_READ | PROT_WRITE);
	struct kubuf_id arg = { .id = 1, .flags = 1 };
	uint32_t id;

	KT_LIBERR(kubuf_ubuf_unregister(k, 0), ENOENT);
	KT_LIBERR(kubuf_ubuf_unregister(k, 12345), ENOENT);
	KT_LIBERR(kubuf_ubuf_unregister(k, ~0U), ENOENT);
	KT_ASSERT_EQ(kubuf_ubuf_register(k, p, PG, RW, &id), 0);
	KT_LIBERR(kubuf_ubuf_unregister(other, id), ENOENT);
	arg.id = id;
	KT_ERRNO(ioctl(kubuf_fd(k), KUBUF_IOC_UBUF_UNREGISTER, &arg), EINVAL);
	KT_ASSERT_EQ(kubuf_ubuf_unregister(k, id), 0);
	KT_LIBERR(kubuf_ubuf_unregister(k, id), ENOENT);
	KT_ERRNO(ioctl(kubuf_fd(k), KUBUF_IOC_UBUF_UNREGISTER, NULL), EFAULT);
	kubuf_close(k);
	kubuf_close(other);
}

KT_CASE(query_errors)
{
	struct kubuf *k = dev();
	struct kubuf_ubuf_query q;

	KT_LIBERR(kubuf_ubuf_query(k, 99, &q), ENOENT);
	memset(&q, 0, sizeof(q));
	q.flags = 1;
	KT_ERRNO(ioctl(kubuf_fd(k), KUBUF_IOC_UBUF_QUERY, &q), EINVAL);
	KT_ERRNO(ioctl(kubuf_fd(k), KUBUF_IOC_UBUF_QUERY, NULL), EFAULT);
	kubuf_close(k);
}

KT_CASE(readonly_fd_refused)
{
	int fd = KT_OK(kt_open_dev(O_RDONLY));
	char *p = map_anon(PG, PROT_READ | PROT_WRITE);
	struct kubuf_id arg = { .id = 1 };
	struct kubuf_dev_cmd c;
	struct kubuf_eventfd e = { .fd = -1, .flags = KUBUF_EVENTFD_CLEAR };

	KT_ERRNO(reg_raw(fd, (uintptr_t)p, PG, KUBUF_ACCESS_DEV_WRITE), EBADF);
	KT_ERRNO(reg_raw(fd, (uintptr_t)p, PG, KUBUF_ACCESS_DEV_READ), EBADF);
	KT_ERRNO(ioctl(fd, KUBUF_IOC_UBUF_UNREGISTER, &arg), EBADF);
	memset(&c, 0, sizeof(c));
	c.op = KUBUF_DEV_RESET;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_DEV_CMD, &c), EBADF);
	KT_ERRNO(ioctl(fd, KUBUF_IOC_SET_EVENTFD, &e), EBADF);
	close(fd);
}

KT_CASE(per_file_limit)
{
	struct kubuf *k = dev(), *k2 = dev();
	struct kubuf_info in;
	char *p = map_anon(PG, PROT_READ | PROT_WRITE);
	uint32_t id;
	unsigned int i;

	KT_ASSERT_EQ(kubuf_get_info(k, &in), 0);
	for (i = 0; i < in.max_ubufs; i++)
		KT_ASSERT_EQ(kubuf_ubuf_register(k, p, PG, RW, &id), 0);
	KT_LIBERR(kubuf_ubuf_register(k, p, PG, RW, &id), ENOSPC);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_PINNED_PAGES), in.max_ubufs);
	/* Another file is not affected. */
	KT_ASSERT_EQ(kubuf_ubuf_register(k2, p, PG, RW, &id), 0);
	kubuf_close(k);
	kubuf_close(k2);
}

/* Run @fn in a child that is an unprivileged user with @pages of memlock. */
static void as_nobody(unsigned long pages, void (*fn)(void))
{
	int status;
	pid_t pid;

	KT_OK(chmod("/dev/kubuf", 0666));
	pid = KT_OK(fork());
	if (pid == 0) {
		struct rlimit rl = { pages * PG, pages * PG };

		if (setrlimit(RLIMIT_MEMLOCK, &rl) || setgid(65534) ||
		    setuid(65534))
			_exit(3);
		fn();
		_exit(0);
	}
	KT_OK(waitpid(pid, &status, 0));
	chmod("/dev/kubuf", 0600);
	KT_ASSERT(WIFEXITED(status));
	KT_ASSERT_EQ(WEXITSTATUS(status), 0);
}

static void memlock_small(void)
{
	struct kubuf *k = dev();
	char *p = map_anon(32 * PG, PROT_READ | PROT_WRITE);
	uint32_t a, b;

	KT_ASSERT_EQ(kubuf_ubuf_register(k, p, 10 * PG, RW, &a), 0);
	KT_LIBERR(kubuf_ubuf_register(k, p, 7 * PG, RW, &b), ENOMEM);
	KT_ASSERT_EQ(kubuf_ubuf_register(k, p, 6 * PG, RW, &b), 0);
	KT_LIBERR(kubuf_ubuf_register(k, p, PG, RW, &b), ENOMEM);
	KT_ASSERT_EQ(kubuf_ubuf_unregister(k, a), 0);
	KT_ASSERT_EQ(kubuf_ubuf_register(k, p, 10 * PG, RW, &a), 0);
	kubuf_close(k);
}

KT_CASE(memlock_limit_unprivileged)
{
	as_nobody(16, memlock_small);
}

static void memlock_zero(void)
{
	struct kubuf *k = dev();
	char *p = map_anon(PG, PROT_READ | PROT_WRITE);
	uint32_t id;

	KT_LIBERR(kubuf_ubuf_register(k, p, 1, RW, &id), ENOMEM);
	kubuf_close(k);
}

KT_CASE(memlock_zero_unprivileged)
{
	as_nobody(0, memlock_zero);
}

static struct kubuf *race_k;
static char *race_p;
static int race_ok;

static void *memlock_racer(void *arg)
{
	uint32_t id;

	(void)arg;
	if (!kubuf_ubuf_register(race_k, race_p, 4 * PG, RW, &id))
		__atomic_fetch_add(&race_ok, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void memlock_concurrent(void)
{
	pthread_t th[16];
	int round, i;

	race_p = map_anon(4 * PG, PROT_READ | PROT_WRITE);
	for (round = 0; round < 10; round++) {
		race_k = dev();
		race_ok = 0;
		for (i = 0; i < 16; i++)
			KT_ASSERT_EQ(pthread_create(&th[i], NULL, memlock_racer, NULL), 0);
		for (i = 0; i < 16; i++)
			pthread_join(th[i], NULL);
		/* 16 pages of limit, 4 pages each: never more than 4. */
		KT_ASSERT_EQ(race_ok, 4);
		kubuf_close(race_k);
	}
}

KT_CASE(memlock_concurrent_never_exceeds)
{
	as_nobody(16, memlock_concurrent);
}

/* Root (CAP_IPC_LOCK) is not limited by RLIMIT_MEMLOCK. */
KT_CASE(memlock_cap_ipc_lock)
{
	struct rlimit rl = { 0, 0 };
	struct kubuf *k = dev();
	char *p = map_anon(16 * PG, PROT_READ | PROT_WRITE);
	uint32_t id;

	KT_OK(setrlimit(RLIMIT_MEMLOCK, &rl));
	KT_ASSERT_EQ(kubuf_ubuf_register(k, p, 16 * PG, RW, &id), 0);
	kubuf_close(k);
}

/* Closing without unregistering releases everything. */
KT_CASE(close_releases_all)
{
	struct kubuf *k = dev();
	char *p = map_anon(32 * PG, PROT_READ | PROT_WRITE);
	long pin0 = kt_vmpin_kb();
	uint32_t id;
	int i;

	for (i = 0; i < 8; i++)
		KT_ASSERT_EQ(kubuf_ubuf_register(k, p + i * 4 * PG, 4 * PG, RW, &id), 0);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_PINNED_PAGES), 32);
	kubuf_close(k);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_PINNED_PAGES), 0);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_UBUFS), 0);
	KT_ASSERT_EQ(kt_vmpin_kb(), pin0);
}

static void wait_counters_zero(void)
{
	int i;

	for (i = 0; i < 2000; i++) {
		if (!kt_stat(KUBUF_STAT_PINNED_PAGES) && !kt_stat(KUBUF_STAT_UBUFS) &&
		    kt_stat(KUBUF_STAT_OPEN_FILES) == 1)
			return;
		kt_msleep(10);
	}
	kt_fail(__FILE__, __LINE__, "counters not back to zero");
}

/* A writer that keeps the device busy on @id until told otherwise. */
static int start_writer(struct kubuf *k, uint32_t id, size_t len)
{
	struct kubuf_dev_cmd c;

	memset(&c, 0, sizeof(c));
	c.op = KUBUF_DEV_FILL;
	c.flags = KUBUF_DEV_NOWAIT;
	c.kind = KUBUF_MEM_UBUF;
	c.id = id;
	c.len = len;
	c.repeat = KUBUF_DEV_MAX_REPEAT;
	return kubuf_dev_cmd(k, &c);
}

/* kill -9 a process whose registration the device is writing to. */
KT_CASE(kill9_while_device_writes)
{
	int round;

	for (round = 0; round < 5; round++) {
		int pfd[2], status;
		char c;
		pid_t pid;

		KT_OK(pipe(pfd));
		pid = KT_OK(fork());
		if (pid == 0) {
			struct kubuf *k = dev();
			size_t len = 4 << 20;
			char *p = map_anon(len, PROT_READ | PROT_WRITE);
			uint32_t id;

			if (kubuf_ubuf_register(k, p, len, RW, &id) ||
			    start_writer(k, id, len))
				_exit(1);
			if (write(pfd[1], "x", 1) != 1)
				_exit(1);
			kt_wait_for_kill();
		}
		close(pfd[1]);
		KT_ASSERT_EQ(read(pfd[0], &c, 1), 1);
		kt_msleep(round);
		KT_OK(kill(pid, SIGKILL));
		KT_OK(waitpid(pid, &status, 0));
		KT_ASSERT(WIFSIGNALED(status));
		close(pfd[0]);
		wait_counters_zero();
	}
}

static volatile int stop_race;
static struct kubuf *rk;
static char *rp;

static void *reg_unreg_loop(void *arg)
{
	uint32_t id;
	int i;

	(void)arg;
	for (i = 0; i < 300 && !stop_race; i++) {
		int r = kubuf_ubuf_register(rk, rp, 64 * PG, RW, &id);

		if (r)
			return (void *)(long)r;
		r = start_writer(rk, id, 64 * PG);
		if (r && r != -EBUSY && r != -ENOENT && r != -ESHUTDOWN)
			return (void *)(long)r;
		r = kubuf_ubuf_unregister(rk, id);
		if (r)
			return (void *)(long)r;
	}
	return NULL;
}

static void *resetter(void *arg)
{
	(void)arg;
	while (!stop_race) {
		int r = kubuf_dev_reset(rk);

		if (r && r != -EBUSY)
			return (void *)(long)r;
		kt_usleep(500);
	}
	return NULL;
}

/* Register/unregister racing the device's writer, from several threads. */
KT_CASE(unregister_races_writer)
{
	pthread_t th[4], rs;
	void *res;
	int i;

	rk = dev();
	rp = map_anon(64 * PG, PROT_READ | PROT_WRITE);
	KT_ASSERT_EQ(pthread_create(&rs, NULL, resetter, NULL), 0);
	for (i = 0; i < 4; i++)
		KT_ASSERT_EQ(pthread_create(&th[i], NULL, reg_unreg_loop, NULL), 0);
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], &res);
		if (res)
			kt_fail(__FILE__, __LINE__, "racer: %ld", (long)res);
	}
	stop_race = 1;
	pthread_join(rs, &res);
	KT_ASSERT(res == NULL);
	kubuf_close(rk);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_PINNED_PAGES), 0);
}

/* The driver revokes; the application is told and can see it. */
KT_CASE(revoke_notifies)
{
	struct kubuf *k = dev();
	char *p = map_anon(8 * PG, PROT_READ | PROT_WRITE);
	int efd = KT_OK(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
	struct kubuf_ubuf_query q;
	struct pollfd pfd;
	uint32_t a, b, ev;
	uint64_t cnt;

	KT_ASSERT_EQ(kubuf_set_eventfd(k, efd), 0);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_EVENTFD_REFS), 1);
	KT_ASSERT_EQ(kubuf_ubuf_register(k, p, 4 * PG, RW, &a), 0);
	KT_ASSERT_EQ(kubuf_ubuf_register(k, p + 4 * PG, 4 * PG, RW, &b), 0);
	pfd.fd = kubuf_fd(k);
	pfd.events = POLLPRI;
	KT_ASSERT_EQ(kt_poll(&pfd, 1, 0), 0);

	KT_ASSERT_EQ(kubuf_dev_reset(k), 0);

	KT_ASSERT_EQ(read(efd, &cnt, 8), 8);
	KT_ASSERT(cnt >= 1);
	KT_ASSERT_EQ(kt_poll(&pfd, 1, 1000), 1);
	KT_ASSERT(pfd.revents & POLLPRI);
	KT_ASSERT_EQ(kubuf_get_events(k, &ev), 0);
	KT_ASSERT_EQ(ev, KUBUF_EVENT_REVOKED);
	KT_ASSERT_EQ(kt_poll(&pfd, 1, 0), 0);

	KT_ASSERT_EQ(kubuf_ubuf_query(k, a, &q), 0);
	KT_ASSERT_EQ(q.state, KUBUF_UBUF_REVOKED);
	KT_ASSERT_EQ(q.nr_pages, 0);
	/* Unpinned at once; the ids stay until unregistered. */
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_PINNED_PAGES), 0);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_UBUFS), 2);
	KT_LIBERR(kubuf_dev_fill(k, KUBUF_MEM_UBUF, a, 0, PG, 1), ESHUTDOWN);
	KT_ASSERT_EQ(kubuf_ubuf_unregister(k, a), 0);
	KT_ASSERT_EQ(kubuf_ubuf_unregister(k, b), 0);
	/* A reset with nothing to revoke raises nothing. */
	KT_ASSERT_EQ(kubuf_dev_reset(k), 0);
	KT_ASSERT_EQ(kubuf_get_events(k, &ev), 0);
	KT_ASSERT_EQ(ev, 0);
	kubuf_close(k);
	close(efd);
}

/* A writer in progress is stopped by the revoke, with -ESHUTDOWN. */
KT_CASE(revoke_stops_writer)
{
	struct kubuf *k = dev();
	size_t len = 1 << 20;
	char *p = map_anon(len, PROT_READ | PROT_WRITE);
	uint32_t id, ev = 0;
	int i;

	KT_ASSERT_EQ(kubuf_ubuf_register(k, p, len, RW, &id), 0);
	KT_ASSERT_EQ(start_writer(k, id, len), 0);
	kt_msleep(20);
	KT_ASSERT_EQ(kubuf_dev_reset(k), 0);
	for (i = 0; i < 2000 && !(ev & KUBUF_EVENT_DONE); i++) {
		uint32_t e;

		KT_ASSERT_EQ(kubuf_get_events(k, &e), 0);
		ev |= e;
		kt_msleep(10);
	}
	KT_ASSERT(ev & KUBUF_EVENT_REVOKED);
	KT_ASSERT(ev & KUBUF_EVENT_DONE);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_PINNED_PAGES), 0);
	kubuf_close(k);
}

/* munmap, mremap, MADV_DONTNEED, mprotect while the device writes. */
KT_CASE(address_space_changes_during_writes)
{
	size_t len = 64 * PG;
	int what;

	for (what = 0; what < 4; what++) {
		struct kubuf *k = dev();
		char *p = map_anon(len, PROT_READ | PROT_WRITE);
		uint32_t id;
		void *q;

		KT_ASSERT_EQ(kubuf_ubuf_register(k, p, len, RW, &id), 0);
		KT_ASSERT_EQ(start_writer(k, id, len), 0);
		switch (what) {
		case 0:
			KT_OK(munmap(p, len));
			break;
		case 1:
			q = mremap(p, len, 2 * len, MREMAP_MAYMOVE);
			KT_ASSERT(q != MAP_FAILED);
			break;
		case 2:
			KT_OK(madvise(p, len, MADV_DONTNEED));
			break;
		case 3:
			KT_OK(mprotect(p, len, PROT_NONE));
			break;
		}
		kt_msleep(5);
		KT_ASSERT_EQ(kubuf_ubuf_unregister(k, id), 0);
		kubuf_close(k);
	}
}

/* Compaction does not move pinned pages from under the device. */
KT_CASE(compaction_keeps_pins)
{
	struct kubuf *k = dev();
	size_t len = 256 * PG;
	char *p = map_anon(len, PROT_READ | PROT_WRITE);
	int cfd;
	uint32_t id;

	KT_ASSERT_EQ(kubuf_ubuf_register(k, p, len, RW, &id), 0);
	cfd = KT_OK(open("/proc/sys/vm/compact_memory", O_WRONLY));
	KT_ASSERT_EQ(write(cfd, "1", 1), 1);
	close(cfd);
	KT_ASSERT_EQ(kubuf_dev_fill(k, KUBUF_MEM_UBUF, id, 0, len, 31), 0);
	KT_ASSERT_EQ(kubuf_pattern_check(p, len, 31, NULL), 0);
	kubuf_close(k);
}

static int write_str(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY);
	int ok;

	if (fd < 0)
		return -1;
	ok = write(fd, v, strlen(v)) == (ssize_t)strlen(v);
	close(fd);
	return ok ? 0 : -1;
}

static long read_num(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = 0;
	close(fd);
	return strtol(buf, NULL, 10);
}

/*
 * KSM merges identical pages; a pinned page must stay where the device
 * writes, so after ksmd has scanned the range the device's writes are
 * still what the application sees.
 */
KT_CASE(ksm_keeps_pins)
{
	struct kubuf *k = dev();
	size_t len = 64 * PG;
	char *p = map_anon(len, PROT_READ | PROT_WRITE);
	char *twin = map_anon(len, PROT_READ | PROT_WRITE);
	long scans;
	uint32_t id;
	int i;

	memset(p, 0x33, len);
	memset(twin, 0x33, len);
	KT_ASSERT_EQ(kubuf_ubuf_register(k, p, len, RW, &id), 0);
	KT_OK(madvise(p, len, MADV_MERGEABLE));
	KT_OK(madvise(twin, len, MADV_MERGEABLE));
	KT_OK(write_str("/sys/kernel/mm/ksm/pages_to_scan", "10000"));
	KT_OK(write_str("/sys/kernel/mm/ksm/sleep_millisecs", "1"));
	scans = read_num("/sys/kernel/mm/ksm/full_scans");
	KT_OK(write_str("/sys/kernel/mm/ksm/run", "1"));
	for (i = 0; i < 3000 && read_num("/sys/kernel/mm/ksm/full_scans") < scans + 3; i++)
		kt_msleep(10);
	KT_ASSERT(read_num("/sys/kernel/mm/ksm/full_scans") >= scans + 3);
	/* ksmd did merge: the unpinned twin pages are shared now. */
	KT_ASSERT(read_num("/sys/kernel/mm/ksm/pages_sharing") > 0);
	KT_ASSERT_EQ(kubuf_dev_fill(k, KUBUF_MEM_UBUF, id, 0, len, 51), 0);
	KT_ASSERT_EQ(kubuf_pattern_check(p, len, 51, NULL), 0);
	KT_OK(write_str("/sys/kernel/mm/ksm/run", "2"));	/* unmerge, stop */
	kubuf_close(k);
}

/*
 * Memory pressure (another process filling most of free memory, page
 * cache dropped, compaction) does not take the device's data away.
 */
KT_CASE(data_survives_memory_pressure)
{
	struct kubuf *k = dev();
	size_t len = 256 * PG;
	char *p = map_anon(len, PROT_READ | PROT_WRITE);
	int status;
	uint32_t id;
	pid_t pid;

	KT_ASSERT_EQ(kubuf_ubuf_register(k, p, len, RW, &id), 0);
	KT_ASSERT_EQ(kubuf_dev_fill(k, KUBUF_MEM_UBUF, id, 0, len, 61), 0);
	pid = KT_OK(fork());
	if (pid == 0) {
		long avail = sysconf(_SC_AVPHYS_PAGES) * PG / 2;
		char *m = mmap(NULL, avail, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (m == MAP_FAILED)
			_exit(1);
		for (long i = 0; i < avail; i += PG)
			m[i] = 1;
		_exit(write_str("/proc/sys/vm/drop_caches", "3") ||
		      write_str("/proc/sys/vm/compact_memory", "1"));
	}
	KT_OK(waitpid(pid, &status, 0));
	KT_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	KT_ASSERT_EQ(kubuf_ubuf_unregister(k, id), 0);
	KT_ASSERT_EQ(kubuf_pattern_check(p, len, 61, NULL), 0);
	kubuf_close(k);
}

/* fork: the parent keeps the device's writes, the child never sees them. */
KT_CASE(fork_parent_keeps_writes)
{
	struct kubuf *k = dev();
	size_t len = 16 * PG;
	char *p = map_anon(len, PROT_READ | PROT_WRITE);
	char *nf = map_anon(len, PROT_READ | PROT_WRITE);
	int go[2], done[2], status;
	uint32_t id, id2;
	pid_t pid;
	char c;

	memset(p, 0, len);
	KT_OK(madvise(nf, len, MADV_DONTFORK));
	KT_ASSERT_EQ(kubuf_ubuf_register(k, p, len, RW, &id), 0);
	KT_ASSERT_EQ(kubuf_ubuf_register(k, nf, len, RW, &id2), 0);
	KT_OK(pipe(go));
	KT_OK(pipe(done));
	pid = KT_OK(fork());
	if (pid == 0) {
		volatile char *np = nf;

		if (read(go[0], &c, 1) != 1)
			_exit(1);
		/* The child's copy was taken at fork: still zero. */
		for (size_t i = 0; i < len; i++)
			if (p[i])
				_exit(2);
		if (write(done[1], "x", 1) != 1)
			_exit(1);
		/* MADV_DONTFORK: not in the child at all. */
		(void)np[0];
		_exit(3);
	}
	KT_ASSERT_EQ(kubuf_dev_fill(k, KUBUF_MEM_UBUF, id, 0, len, 41), 0);
	KT_ASSERT_EQ(kubuf_dev_fill(k, KUBUF_MEM_UBUF, id2, 0, len, 42), 0);
	KT_ASSERT_EQ(write(go[1], "x", 1), 1);
	KT_ASSERT_EQ(read(done[0], &c, 1), 1);
	KT_OK(waitpid(pid, &status, 0));
	KT_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
	KT_ASSERT_EQ(kubuf_pattern_check(p, len, 41, NULL), 0);
	KT_ASSERT_EQ(kubuf_pattern_check(nf, len, 42, NULL), 0);
	kubuf_close(k);
}

/*
 * The registrant passes its fd to another process and exits: the other
 * process may use and unregister the registration; the charge goes back
 * to the registrant's saved user and mm.
 */
KT_CASE(scm_rights_registrant_exits)
{
	int sv[2], status, fd;
	uint32_t id = 0;
	struct kubuf_id arg;
	pid_t pid;

	KT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = KT_OK(fork());
	if (pid == 0) {
		struct kubuf *k = dev();
		char *p = map_anon(8 * PG, PROT_READ | PROT_WRITE);

		if (kubuf_ubuf_register(k, p, 8 * PG, RW, &id))
			_exit(1);
		kt_send_fd(sv[1], kubuf_fd(k));
		if (write(sv[1], &id, sizeof(id)) != sizeof(id))
			_exit(1);
		_exit(0);
	}
	fd = kt_recv_fd(sv[0]);
	KT_ASSERT_EQ(read(sv[0], &id, sizeof(id)), sizeof(id));
	KT_OK(waitpid(pid, &status, 0));
	KT_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_PINNED_PAGES), 8);
	{
		struct kubuf_dev_cmd c;

		memset(&c, 0, sizeof(c));
		c.op = KUBUF_DEV_FILL;
		c.kind = KUBUF_MEM_UBUF;
		c.id = id;
		c.len = 8 * PG;
		KT_OK(ioctl(fd, KUBUF_IOC_DEV_CMD, &c));
	}
	arg.id = id;
	arg.flags = 0;
	KT_OK(ioctl(fd, KUBUF_IOC_UBUF_UNREGISTER, &arg));
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_PINNED_PAGES), 0);
	close(fd);
	close(sv[0]);
	close(sv[1]);
}

KT_MAIN()
