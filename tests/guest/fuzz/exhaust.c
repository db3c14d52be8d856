// SPDX-License-Identifier: MIT
/*
 * Exhaustion: a child becomes an unprivileged user (one of a few uids,
 * RLIMIT_NPROC 64, RLIMIT_MEMLOCK 64 KiB) and takes one resource of the
 * module until the module says no: open files, rings, device commands
 * (the longest there are), or DMA memory mapped and freed. The errno
 * must be the documented one for that limit. With the child holding it
 * all, the machine must stay usable: root forks and the child runs at
 * once, and a command of this worker's (another user's) completes. Then
 * the child is killed holding everything, and its release must give all
 * of it back (the runner's counter check after the case sees that).
 */
#include <grp.h>
#include <sys/prctl.h>

#include "fuzz.h"

#define EX_UID0		60000	/* the users the children become */
#define EX_UIDS		3
#define EX_DEADLINE	90	/* seconds, for anything to happen */

enum { EX_FILES, EX_RINGS, EX_CMDS, EX_DMA, EX_NR };

static const char *const ex_names[EX_NR] = {
	"files", "rings", "commands", "DMA memory",
};

/*
 * The errnos that say "that user's limit" for each resource: its own,
 * or the limit on files (another child of the same user may hold them
 * all, and each resource needs a file).
 */
static const int *const ex_errnos[EX_NR] = {
	(const int[]){ EMFILE, 0 },
	(const int[]){ EDQUOT, EMFILE, 0 },
	(const int[]){ EDQUOT, EMFILE, 0 },
	(const int[]){ ENOMEM, ENOSPC, EMFILE, 0 },
};

static void ex_become(uid_t uid)
{
	struct rlimit rl;

	rl.rlim_cur = rl.rlim_max = 64 * 1024;
	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		_exit(100);
	rl.rlim_cur = rl.rlim_max = 64;
	if (setrlimit(RLIMIT_NPROC, &rl))
		_exit(100);
	rl.rlim_cur = rl.rlim_max = 4096;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		_exit(100);
	if (setgroups(0, NULL) || setgid(uid) || setuid(uid))
		_exit(100);
}

/* A driver buffer of @pages for @fd: its id, or 0 (errno set). */
static uint32_t ex_kbuf(int fd, unsigned long pages, uint32_t kind)
{
	struct kubuf_kbuf_alloc a = {
		.size = pages * PG, .kind = kind,
		.flags = KUBUF_KBUF_APP_WRITE,
	};

	return ioctl(fd, KUBUF_IOC_KBUF_ALLOC, &a) ? 0 : a.id;
}

/* Take resource @what until refused: the errno that refused it. */
static int ex_take(int what)
{
	struct kubuf_ring_attach at = {
		.dir = KUBUF_RING_TO_DEV, .kind = KUBUF_MEM_KBUF,
		.data_size = 4096, .eventfd = -1,
	};
	struct kubuf_dev_cmd c = {
		.op = KUBUF_DEV_FILL, .flags = KUBUF_DEV_NOWAIT,
		.kind = KUBUF_MEM_KBUF, .len = 16 * PG,
		.repeat = KUBUF_DEV_MAX_REPEAT,
	};
	struct kubuf_kbuf_alloc a;
	unsigned int n;
	int fd = -1;
	void *p;

	for (n = 0; n < 100000; n++) {
		switch (what) {
		case EX_FILES:
			if (kt_open_dev(O_RDWR) < 0)
				return errno;
			break;
		case EX_RINGS:
			if (n % 16 == 0) {
				fd = kt_open_dev(O_RDWR);
				if (fd < 0)
					return errno;
				at.mem_id = ex_kbuf(fd, 2, KUBUF_KBUF_PAGES);
				if (!at.mem_id)
					return errno;
			}
			if (ioctl(fd, KUBUF_IOC_RING_ATTACH, &at))
				return errno;
			break;
		case EX_CMDS:
			if (n % KUBUF_MAX_FILE_CMDS == 0) {
				fd = kt_open_dev(O_RDWR);
				if (fd < 0)
					return errno;
				c.id = ex_kbuf(fd, 16, KUBUF_KBUF_PAGES);
				if (!c.id)
					return errno;
			}
			if (ioctl(fd, KUBUF_IOC_DEV_CMD, &c))
				return errno;
			break;
		case EX_DMA:
			/* Mapped, then freed: still charged until munmap. */
			if (fd < 0)
				fd = kt_open_dev(O_RDWR);
			if (fd < 0)
				return errno;
			memset(&a, 0, sizeof(a));
			a.size = 4 * PG;
			a.kind = KUBUF_KBUF_DMA;
			a.flags = KUBUF_KBUF_APP_WRITE;
			if (ioctl(fd, KUBUF_IOC_KBUF_ALLOC, &a))
				return errno;
			p = mmap(NULL, 4 * PG, PROT_READ, MAP_SHARED, fd,
				 a.mmap_offset);
			if (p == MAP_FAILED)
				return 1000 + errno;	/* not a limit */
			ioctl(fd, KUBUF_IOC_KBUF_FREE,
			      &(struct kubuf_id){ .id = a.id });
			break;
		}
	}
	return 0;	/* never refused: no limit */
}

/*
 * Root makes a process, and it runs: seconds it took, or -1 with errno
 * set. With vfork(), which shares this worker's memory: a fork() of a
 * fuzz worker must copy its pinned private pages, and fails with ENOMEM
 * whenever the hugetlb pool or memory cannot hold the copies, which says
 * nothing of the module. What must never happen is that no process can
 * be made at all (tasks, pids) while a user holds everything it may.
 * A failure for a moment is tried again, for up to two seconds.
 */
static __attribute__((noinline)) pid_t ex_vfork_exit(void)
{
	pid_t pid = vfork();

	if (!pid)
		_exit(0);
	return pid;
}

static double ex_root_forks(void)
{
	double t0 = kt_now();
	int status, tries;
	pid_t pid, r;

	for (tries = 0; ; tries++) {
		pid = ex_vfork_exit();
		if (pid >= 0)
			break;
		if (tries == 20)
			return -1;
		kt_msleep(100);
	}
	do
		r = waitpid(pid, &status, 0);
	while (r < 0 && errno == EINTR);
	if (r != pid)
		return -1;
	if (!WIFEXITED(status)) {
		errno = ECHILD;
		return -1;
	}
	return kt_now() - t0;
}

/* Another user's command (this worker is root): seconds, or -1. */
static double ex_other_user_cmd(void)
{
	double t0 = kt_now();
	struct kubuf_dev_cmd c = {
		.op = KUBUF_DEV_FILL, .kind = KUBUF_MEM_KBUF, .len = PG,
	};
	int fd = kt_open_dev(O_RDWR);
	int ret = -1;

	if (fd < 0)
		return -1;
	c.id = ex_kbuf(fd, 1, KUBUF_KBUF_PAGES);
	/* Refused by a limit of root's own (the other workers'): no check. */
	if (c.id && !ioctl(fd, KUBUF_IOC_DEV_CMD, &c))
		ret = 0;
	else if (errno == EDQUOT || errno == EBUSY || errno == ENOMEM ||
		 errno == ENOSPC)
		ret = 0;
	close(fd);
	return ret ? -1 : kt_now() - t0;
}

void op_exhaust(int op)
{
	int what = below(EX_NR), p[2], err = -1, status;
	uid_t uid = EX_UID0 + below(EX_UIDS);
	struct log_ent *e = log_begin(op, "uid %u takes %s", uid,
				      ex_names[what]);
	struct pollfd pfd;
	double fork_s, cmd_s;
	pid_t pid, parent = getpid();
	int fork_err;

	/* Every user may open the device while the fuzzer runs. */
	chmod("/dev/" KUBUF_DEVICE_NAME, 0666);
	if (pipe(p)) {
		log_end(e, -1, errno);
		return;
	}
	pid = fork();
	if (pid < 0) {
		log_end(e, -1, errno);
		close(p[0]);
		close(p[1]);
		return;
	}
	if (!pid) {
		close(p[0]);
		ex_become(uid);
		/*
		 * It holds this worker's descriptors too: it must not outlive
		 * the worker, whom the master may kill at any moment. (After
		 * setuid(), which clears the parent-death signal.)
		 */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(1);
		err = ex_take(what);
		if (write(p[1], &err, sizeof(err)) != sizeof(err))
			_exit(1);
		kt_wait_for_kill();
	}
	close(p[1]);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	if (kt_poll(&pfd, 1, EX_DEADLINE * 1000) != 1 ||
	    read(p[0], &err, sizeof(err)) != sizeof(err)) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fuzz_fail("exhaust: uid %u taking %s: no answer in %d s",
			  uid, ex_names[what], EX_DEADLINE);
	}
	close(p[0]);
	log_end(e, -1, err);

	/* At the limit now: the machine is still everyone's. */
	fork_s = ex_root_forks();
	fork_err = errno;
	cmd_s = ex_other_user_cmd();
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	snprintf(e->args, sizeof(e->args),
		 "uid %u took %s until errno %d; root fork %.3f s, other user's command %.3f s",
		 uid, ex_names[what], err, fork_s, cmd_s);
	if (!errno_in(err, ex_errnos[what]))
		fuzz_fail("exhaust: uid %u taking %s stopped with errno %d, not its limit's",
			  uid, ex_names[what], err);
	if (fork_s < 0 || fork_s > EX_DEADLINE)
		fuzz_fail("exhaust: with uid %u at its limit of %s, root's fork took %.3f s (errno %d)",
			  uid, ex_names[what], fork_s, fork_s < 0 ? fork_err : 0);
	if (cmd_s < 0 || cmd_s > EX_DEADLINE)
		fuzz_fail("exhaust: with uid %u at its limit of %s, another user's command took %.3f s",
			  uid, ex_names[what], cmd_s);
	count(op, 0);
}
