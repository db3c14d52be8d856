/* SPDX-License-Identifier: MIT */
/*
 * What one user can take: files, rings, device commands and driver
 * memory, as an unprivileged user under RLIMIT_NPROC and RLIMIT_MEMLOCK.
 * Each case pushes one resource to its per-user limit and checks the
 * documented errno at exactly that limit, that the machine stays usable
 * (root can fork, a watchdog gets the CPU, another user's commands
 * complete), and that everything is given back when the user exits.
 *
 * Each case failed on the module before the limits: kernel threads
 * without bound (root's fork() failed), a device queue one user could
 * fill for days (other users' read() hung unkillably), DMA memory no
 * limit saw.
 */
#include <dirent.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <linux/kubuf_ring.h>

#include "harness.h"
#include "kubuf.h"

#define PG		4096UL
#define NOBODY		65534
#define PARAMS		"/sys/module/kubuf_core/parameters/"

static struct kubuf_info info(void)
{
	struct kubuf_info in;
	int fd = KT_OK(kt_open_dev(O_RDONLY));

	KT_OK(ioctl(fd, KUBUF_IOC_GET_INFO, &in));
	close(fd);
	return in;
}

/* Become @uid with the given limits (bytes of memlock; processes). */
static void become(uid_t uid, rlim_t memlock, rlim_t nproc, rlim_t nofile)
{
	struct rlimit rl;

	rl.rlim_cur = rl.rlim_max = memlock;
	KT_OK(setrlimit(RLIMIT_MEMLOCK, &rl));
	rl.rlim_cur = rl.rlim_max = nproc;
	KT_OK(setrlimit(RLIMIT_NPROC, &rl));
	rl.rlim_cur = rl.rlim_max = nofile;
	KT_OK(setrlimit(RLIMIT_NOFILE, &rl));
	KT_OK(setgroups(0, NULL));
	KT_OK(setgid(uid));
	KT_OK(setuid(uid));
}

/* Let every user open the device, for this case. */
static void open_to_all(bool yes)
{
	KT_OK(chmod("/dev/" KUBUF_DEVICE_NAME, yes ? 0666 : 0600));
}

static int wait_ok(pid_t pid)
{
	int status;

	KT_OK(waitpid(pid, &status, 0));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Root can still fork (and the child run) now. */
static void root_can_fork(void)
{
	pid_t pid = fork();

	KT_ASSERT(pid >= 0);
	if (!pid)
		_exit(0);
	KT_ASSERT_EQ(wait_ok(pid), 0);
}

/* Kernel threads: the children of kthreadd. */
static int kernel_threads(void)
{
	char path[300], buf[512];
	struct dirent *de;
	DIR *d = opendir("/proc");
	int n = 0;

	KT_ASSERT(d != NULL);
	while ((de = readdir(d))) {
		char *p;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if (kt_read_file(path, buf, sizeof(buf)))
			continue;
		p = strrchr(buf, ')');
		if (p && strtol(p + 4, NULL, 10) == 2)	/* ") S 2 " */
			n++;
	}
	closedir(d);
	return n;
}

static int id_ioctl(int fd, unsigned long cmd, uint32_t id)
{
	struct kubuf_id arg = { .id = id };

	return ioctl(fd, cmd, &arg);
}

/* A driver buffer of @pages the application may write, mapped. */
static unsigned char *kbuf_map(int fd, unsigned long pages, uint32_t kind,
			       uint32_t *id)
{
	struct kubuf_kbuf_alloc a = {
		.size = pages * PG, .kind = kind,
		.flags = KUBUF_KBUF_APP_WRITE,
	};
	unsigned char *p;

	KT_OK(ioctl(fd, KUBUF_IOC_KBUF_ALLOC, &a));
	p = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 a.mmap_offset);
	KT_ASSERT(p != MAP_FAILED);
	*id = a.id;
	return p;
}

static int fill(int fd, uint32_t id, uint64_t len, uint32_t repeat,
		uint32_t flags)
{
	struct kubuf_dev_cmd c = {
		.op = KUBUF_DEV_FILL, .flags = flags, .kind = KUBUF_MEM_KBUF,
		.id = id, .len = len, .seed = 3, .repeat = repeat,
	};

	return ioctl(fd, KUBUF_IOC_DEV_CMD, &c);
}

/*
 * Another user's work gets done while one user floods the device: a
 * FILL and a CHECKSUM of its own buffer, and a read(), in a process of
 * uid @uid. Returns the seconds it took.
 */
static double other_user_work(uid_t uid)
{
	double t0 = kt_now();
	int p[2];
	pid_t pid;

	KT_OK(pipe(p));
	pid = KT_OK(fork());
	if (!pid) {
		struct kubuf_dev_cmd c;
		unsigned char *buf;
		char rbuf[4096];
		uint32_t id;
		int fd;

		close(p[0]);
		become(uid, 1 << 20, 64, 64);
		fd = KT_OK(kt_open_dev(O_RDWR));
		buf = kbuf_map(fd, 16, KUBUF_KBUF_PAGES, &id);
		KT_OK(fill(fd, id, 16 * PG, 0, 0));
		KT_ASSERT_EQ(kubuf_pattern_check(buf, 16 * PG, 3, NULL), 0);
		memset(&c, 0, sizeof(c));
		c.op = KUBUF_DEV_CHECKSUM;
		c.kind = KUBUF_MEM_KBUF;
		c.id = id;
		c.len = 16 * PG;
		KT_OK(ioctl(fd, KUBUF_IOC_DEV_CMD, &c));
		KT_ASSERT_EQ(c.result, kubuf_checksum(KUBUF_CHECKSUM_INIT, buf,
						      16 * PG));
		KT_ASSERT_EQ(read(fd, rbuf, sizeof(rbuf)), sizeof(rbuf));
		KT_ASSERT_EQ(kubuf_pattern_check(rbuf, sizeof(rbuf), 0, NULL), 0);
		_exit(0);
	}
	close(p[1]);
	close(p[0]);
	KT_ASSERT_EQ(wait_ok(pid), 0);
	return kt_now() - t0;
}

/*
 * Rings: at most kubuf_info.user_rings per user, over any number of
 * files (-EDQUOT), served by the device's fixed pool of workers. Before,
 * each ring had a kernel thread of its own, charged to nobody: an
 * unprivileged user made thousands, and root's fork() failed.
 */
KT_CASE(rings_per_user)
{
	struct kubuf_info in = info();
	int threads0 = kernel_threads(), p[2];
	unsigned int files = in.user_rings / in.max_rings + 2;
	pid_t pid;
	char c;

	KT_OK(pipe(p));
	open_to_all(true);
	pid = KT_OK(fork());
	if (!pid) {
		unsigned int rings = 0, f, r;
		unsigned char *mem;
		uint32_t id;
		int fd, err = 0;

		close(p[0]);
		become(NOBODY, 1 << 20, 64, 4096);
		for (f = 0; f < files && !err; f++) {
			fd = KT_OK(kt_open_dev(O_RDWR));
			mem = kbuf_map(fd, 2, KUBUF_KBUF_PAGES, &id);
			(void)mem;
			for (r = 0; r < in.max_rings; r++) {
				struct kubuf_ring_attach a = {
					.dir = KUBUF_RING_TO_DEV,
					.kind = KUBUF_MEM_KBUF, .mem_id = id,
					.data_size = 4096, .eventfd = -1,
				};

				if (ioctl(fd, KUBUF_IOC_RING_ATTACH, &a)) {
					err = errno;
					break;
				}
				rings++;
			}
		}
		KT_ASSERT_EQ(err, EDQUOT);
		KT_ASSERT_EQ(rings, in.user_rings);
		KT_ASSERT_EQ(write(p[1], "x", 1), 1);
		kt_wait_for_kill();
	}
	close(p[1]);
	KT_ASSERT_EQ(read(p[0], &c, 1), 1);
	open_to_all(false);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_RINGS), in.user_rings);
	kt_note("%u rings: kernel threads %d before, %d with them",
		in.user_rings, threads0, kernel_threads());
	KT_ASSERT(kernel_threads() <= threads0 + 8);
	root_can_fork();
	KT_OK(kill(pid, SIGKILL));
	KT_ASSERT_EQ(wait_ok(pid), 128 + SIGKILL);
	close(p[0]);
}

/* Open files: at most kubuf_info.user_files per user (-EMFILE). */
KT_CASE(files_per_user)
{
	struct kubuf_info in = info();
	pid_t pid;

	open_to_all(true);
	pid = KT_OK(fork());
	if (!pid) {
		unsigned int n = 0;

		/* Well above the module's limit: its EMFILE comes first. */
		become(NOBODY, 1 << 20, 64, in.user_files + 64);
		while (kt_open_dev(O_RDWR) >= 0)
			n++;
		KT_ASSERT_EQ(errno, EMFILE);
		KT_ASSERT_EQ(n, in.user_files);
		_exit(0);
	}
	KT_ASSERT_EQ(wait_ok(pid), 0);
	open_to_all(false);
}

/*
 * Device commands: at most KUBUF_MAX_FILE_CMDS per file (-EBUSY) and
 * kubuf_info.user_cmds per user (-EDQUOT). With one user's queue full of
 * the longest commands there are, another user's commands and read()
 * still complete, root forks, a killed reader dies, and the flood ends
 * when its files are closed. Before, one user's commands filled the
 * device's queue, and a read() behind them could not even be killed.
 */
KT_CASE(cmds_per_user_and_others_progress)
{
	struct kubuf_info in = info();
	int p[2];
	unsigned int files = in.user_cmds / KUBUF_MAX_FILE_CMDS + 2;
	double took;
	pid_t pid, reader;
	char c;

	KT_OK(pipe(p));
	open_to_all(true);
	pid = KT_OK(fork());
	if (!pid) {
		unsigned int cmds = 0, f, i;
		uint32_t id;
		int fd, err = 0;

		close(p[0]);
		become(NOBODY, 1 << 20, 64, 4096);
		for (f = 0; f < files && err != EDQUOT; f++) {
			fd = KT_OK(kt_open_dev(O_RDWR));
			kbuf_map(fd, 64, KUBUF_KBUF_PAGES, &id);
			for (i = 0; i <= KUBUF_MAX_FILE_CMDS; i++) {
				if (fill(fd, id, 64 * PG, KUBUF_DEV_MAX_REPEAT,
					 KUBUF_DEV_NOWAIT)) {
					err = errno;
					break;
				}
				cmds++;
			}
			/* A file's own limit first, until the user's. */
			KT_ASSERT(err == EBUSY || err == EDQUOT);
			KT_ASSERT(i <= KUBUF_MAX_FILE_CMDS);
		}
		KT_ASSERT_EQ(err, EDQUOT);
		KT_ASSERT_EQ(cmds, in.user_cmds);
		/* read()'s fill is a command of the device too. */
		{
			char rbuf[64];

			KT_ERRNO(read(fd, rbuf, sizeof(rbuf)), EDQUOT);
		}
		KT_ASSERT_EQ(write(p[1], "x", 1), 1);
		kt_wait_for_kill();
	}
	close(p[1]);
	KT_ASSERT_EQ(read(p[0], &c, 1), 1);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_CMDS), in.user_cmds);

	root_can_fork();
	took = other_user_work(NOBODY - 1);
	open_to_all(false);
	kt_note("%u commands of 64 MiB queued: another user's work took %.2f s",
		in.user_cmds, took);
	KT_ASSERT(took < 100);

	/* A read() waiting behind them dies when killed. */
	reader = KT_OK(fork());
	if (!reader) {
		char buf[1 << 16];
		int fd = KT_OK(kt_open_dev(O_RDONLY));

		for (;;)
			if (read(fd, buf, sizeof(buf)) < 0)
				_exit(1);
	}
	kt_msleep(200);
	KT_OK(kill(reader, SIGKILL));
	KT_ASSERT_EQ(wait_ok(reader), 128 + SIGKILL);

	KT_OK(kill(pid, SIGKILL));
	KT_ASSERT_EQ(wait_ok(pid), 128 + SIGKILL);
	close(p[0]);
}

/*
 * DMA memory counts against RLIMIT_MEMLOCK until it is freed, after its
 * last munmap: a loop of allocate, map, free cannot escape the limit.
 * Before, DMA buffers were charged to nothing, and FREE gave the file's
 * slot back while a mapping kept the memory.
 */
KT_CASE(dma_memory_charged)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	pid_t pid = KT_OK(fork());

	if (!pid) {
		struct kubuf_kbuf_alloc a;
		unsigned char *maps[8];
		uint32_t id;
		int i;

		become(NOBODY, 16 * PG, 64, 64);
		memset(&a, 0, sizeof(a));
		a.size = 32 * PG;
		a.kind = KUBUF_KBUF_DMA;
		a.flags = KUBUF_KBUF_APP_WRITE;
		KT_ERRNO(ioctl(fd, KUBUF_IOC_KBUF_ALLOC, &a), ENOMEM);
		/* Four buffers of 4 pages: the limit; mapped, then freed. */
		for (i = 0; i < 4; i++) {
			maps[i] = kbuf_map(fd, 4, KUBUF_KBUF_DMA, &id);
			maps[i][0] = i;
			KT_OK(id_ioctl(fd, KUBUF_IOC_KBUF_FREE, id));
		}
		a.size = PG;
		KT_ERRNO(ioctl(fd, KUBUF_IOC_KBUF_ALLOC, &a), ENOMEM);
		/* The memory is the application's until munmap... */
		for (i = 0; i < 4; i++)
			KT_ASSERT_EQ(maps[i][0], i);
		/* ...and then given back. */
		KT_OK(munmap(maps[0], 4 * PG));
		maps[0] = kbuf_map(fd, 4, KUBUF_KBUF_DMA, &id);
		_exit(0);
	}
	KT_ASSERT_EQ(wait_ok(pid), 0);
	close(fd);
}

static void set_param(const char *name, unsigned int v)
{
	char s[32];

	snprintf(s, sizeof(s), "%u", v);
	KT_OK(kt_write_file(name, s));
}

/*
 * Driver buffers of either kind count against max_user_kbuf_mb until
 * their last munmap (-EDQUOT); the limit is root's to change at any time,
 * and GET_INFO reports it.
 */
KT_CASE(kbuf_pages_per_user)
{
	char old[32];
	int fd = KT_OK(kt_open_dev(O_RDWR));
	pid_t pid;

	KT_OK(kt_read_file(PARAMS "max_user_kbuf_mb", old, sizeof(old)));
	set_param(PARAMS "max_user_kbuf_mb", 1);
	KT_ASSERT_EQ(info().user_kbuf_pages, (1 << 20) / PG);
	pid = KT_OK(fork());
	if (!pid) {
		struct kubuf_kbuf_alloc a;
		unsigned char *m1, *m2;
		uint32_t id1, id2;

		become(NOBODY, 1 << 20, 64, 64);
		m1 = kbuf_map(fd, 128, KUBUF_KBUF_PAGES, &id1);
		m2 = kbuf_map(fd, 128, KUBUF_KBUF_PAGES, &id2);
		memset(&a, 0, sizeof(a));
		a.size = PG;
		KT_ERRNO(ioctl(fd, KUBUF_IOC_KBUF_ALLOC, &a), EDQUOT);
		KT_OK(id_ioctl(fd, KUBUF_IOC_KBUF_FREE, id1));
		KT_ERRNO(ioctl(fd, KUBUF_IOC_KBUF_ALLOC, &a), EDQUOT);
		KT_OK(munmap(m1, 128 * PG));
		KT_OK(ioctl(fd, KUBUF_IOC_KBUF_ALLOC, &a));
		(void)m2;
		(void)id2;
		_exit(0);
	}
	KT_ASSERT_EQ(wait_ok(pid), 0);
	KT_OK(kt_write_file(PARAMS "max_user_kbuf_mb", old));
	close(fd);
}

KT_MAIN()
