// SPDX-License-Identifier: MIT
/*
 * Opening and closing: many times, from many threads, read-only, shared
 * across fork and dup, and the module reference each open file holds.
 */
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "harness.h"

static long module_refcnt(void)
{
	char buf[32] = "";
	int fd = KT_OK(open("/sys/module/kubuf_core/refcnt", O_RDONLY));

	KT_OK(read(fd, buf, sizeof(buf) - 1));
	close(fd);
	return strtol(buf, NULL, 10);
}

static uint64_t open_files(void)
{
	struct kubuf_stats st;
	int fd = KT_OK(kt_open_dev(O_RDONLY));

	memset(&st, 0, sizeof(st));
	KT_OK(ioctl(fd, KUBUF_IOC_GET_STATS, &st));
	close(fd);
	return st.counters[KUBUF_STAT_OPEN_FILES];
}

KT_CASE(open_close_many)
{
	uint64_t base = open_files();
	int i;

	for (i = 0; i < 2000; i++) {
		int fd = KT_OK(kt_open_dev(O_RDWR));

		KT_OK(close(fd));
	}
	KT_ASSERT_EQ(open_files(), base);
}

/* 256 descriptors at once, closed in an order unlike the opening one. */
KT_CASE(open_many_at_once)
{
	uint64_t base = open_files();
	int fds[256], i;

	for (i = 0; i < 256; i++)
		fds[i] = KT_OK(kt_open_dev(O_RDWR));
	KT_ASSERT_EQ(open_files(), base + 256);
	for (i = 0; i < 256; i += 2)
		KT_OK(close(fds[i]));
	for (i = 255; i > 0; i -= 2)
		KT_OK(close(fds[i]));
	KT_ASSERT_EQ(open_files(), base);
}

static void *opener(void *arg)
{
	struct kubuf_info in;
	int i;

	(void)arg;
	for (i = 0; i < 500; i++) {
		int fd = kt_open_dev(i & 1 ? O_RDONLY : O_RDWR);

		if (fd < 0 || ioctl(fd, KUBUF_IOC_GET_INFO, &in) < 0 ||
		    in.abi_version != KUBUF_ABI_VERSION)
			return (void *)1;
		close(fd);
	}
	return NULL;
}

KT_CASE(open_close_threads)
{
	uint64_t base = open_files();
	pthread_t th[8];
	void *res;
	int i;

	for (i = 0; i < 8; i++)
		KT_ASSERT_EQ(pthread_create(&th[i], NULL, opener, NULL), 0);
	for (i = 0; i < 8; i++) {
		KT_ASSERT_EQ(pthread_join(th[i], &res), 0);
		KT_ASSERT(res == NULL);
	}
	KT_ASSERT_EQ(open_files(), base);
}

/* One thread closes the descriptor while others hammer ioctls on it. */
static int shared_fd;

static void *ioctl_hammer(void *arg)
{
	struct kubuf_stats st;
	int i;

	(void)arg;
	for (i = 0; i < 20000; i++) {
		memset(&st, 0, sizeof(st));
		if (ioctl(shared_fd, KUBUF_IOC_GET_STATS, &st) < 0 &&
		    errno != EBADF)
			return (void *)1;
	}
	return NULL;
}

KT_CASE(close_during_ioctl)
{
	uint64_t base = open_files();
	pthread_t th[2];
	void *res;
	int round, i;

	for (round = 0; round < 20; round++) {
		shared_fd = KT_OK(kt_open_dev(O_RDWR));
		for (i = 0; i < 2; i++)
			KT_ASSERT_EQ(pthread_create(&th[i], NULL,
						    ioctl_hammer, NULL), 0);
		kt_msleep(round % 5);
		KT_OK(close(shared_fd));
		for (i = 0; i < 2; i++) {
			KT_ASSERT_EQ(pthread_join(th[i], &res), 0);
			KT_ASSERT(res == NULL);
		}
	}
	KT_ASSERT_EQ(open_files(), base);
}

KT_CASE(open_modes)
{
	int fd;

	fd = KT_OK(kt_open_dev(O_RDONLY));
	close(fd);
	fd = KT_OK(kt_open_dev(O_WRONLY));
	close(fd);
	fd = KT_OK(kt_open_dev(O_RDWR | O_NONBLOCK));
	close(fd);
}

/* Nothing can be mapped yet; a read-only fd can never map for writing. */
KT_CASE(mmap_refused)
{
	int fd = KT_OK(kt_open_dev(O_RDONLY));
	void *p;

	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	KT_ASSERT(p == MAP_FAILED);
	KT_ASSERT(errno == EACCES || errno == ENODEV);
	close(fd);
}

/* fork shares the open file: it stays open until both have closed it. */
KT_CASE(fork_shares_file)
{
	uint64_t base = open_files();
	int fd = KT_OK(kt_open_dev(O_RDWR));
	int status;
	pid_t pid;

	pid = KT_OK(fork());
	if (pid == 0) {
		struct kubuf_info in;

		close(fd);
		fd = kt_open_dev(O_RDONLY);
		_exit(fd < 0 || ioctl(fd, KUBUF_IOC_GET_INFO, &in) < 0);
	}
	KT_OK(waitpid(pid, &status, 0));
	KT_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	KT_ASSERT_EQ(open_files(), base + 1);

	pid = KT_OK(fork());
	if (pid == 0) {
		struct kubuf_info in;

		_exit(ioctl(fd, KUBUF_IOC_GET_INFO, &in) < 0);
	}
	KT_OK(close(fd));
	KT_OK(waitpid(pid, &status, 0));
	KT_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	KT_ASSERT_EQ(open_files(), base);
}

/*
 * Each open file holds one reference on the core module, whose unloading
 * waits for them. (The simulated device's module could go: its files
 * would live on, removed; t_core tests that.)
 */
KT_CASE(module_refcount)
{
	long base = module_refcnt();
	int fd1, fd2, fd3;

	fd1 = KT_OK(kt_open_dev(O_RDWR));
	fd2 = KT_OK(kt_open_dev(O_RDONLY));
	fd3 = KT_OK(dup(fd1));
	KT_ASSERT_EQ(module_refcnt(), base + 2);
	KT_ERRNO(syscall(SYS_delete_module, "kubuf_core", O_NONBLOCK),
		 EWOULDBLOCK);
	close(fd1);
	close(fd2);
	KT_ASSERT_EQ(module_refcnt(), base + 1);
	close(fd3);
	KT_ASSERT_EQ(module_refcnt(), base);
}

KT_MAIN()
