// SPDX-License-Identifier: MIT
/*
 * Stress: hundreds of processes doing random register / alloc / mmap /
 * fork / device command / close work, and a parent that kill -9s them at
 * random moments, in the middle of whatever they are doing, and starts
 * new ones in their place; with the kernel's hung-task detector set to
 * HUNG_SECS (a task stuck for good also fails the case by its timeout).
 * The memory_pressure case adds a hog that leaves the kernel little free
 * memory, and puts MEMCG_PROCS of the workers in a small memory cgroup,
 * where the module's allocations fail and the cgroup's OOM killer kills
 * now and then (allowed: kt_expect("oom")).
 *
 * A worker checks its own results (an errno outside the documented set,
 * a device FILL it cannot read back) and exits 1 on a failure. At the
 * end every process is gone and every counter of the module must return
 * to zero; the runner checks the kernel log for hung tasks, soft
 * lockups and the rest.
 *
 * KUBUF_STRESS_SECONDS (default 10) and KUBUF_STRESS_PROCS (default 250,
 * fewer when the guest's memory says so) change the size.
 */
#include <sys/eventfd.h>
#include <ucontext.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "harness.h"
#include "kubuf.h"

#define PG		4096UL
#define RW		(KUBUF_ACCESS_DEV_READ | KUBUF_ACCESS_DEV_WRITE)
#define MAX_PROCS	400
#define WORKER_MB	4		/* what a worker may use, at most */
#define MEM_PAGES	256		/* a worker's registrable memory */
#define VERIFY_PAGES	8		/* its end, w_verify's alone */
#define MEMCG_PROCS	16		/* workers in the memory cgroup */
#define MEMCG_MB	48		/* its limit */
#define HUNG_SECS	"30"		/* the hung-task detector's limit */
#define CG_ROOT		"/sys/fs/cgroup"
#define HUNG_TASK	"/proc/sys/kernel/hung_task_timeout_secs"

static struct stress_stats {
	unsigned long ops, enomem, kills, oom_kills, respawns, forks;
	char failure[512];
} *stats;

static uint64_t rng;
static bool in_memcg;		/* this worker is in the small memcg */

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
	return rnd() % n;
}

__attribute__((noreturn, format(printf, 1, 2)))
static void worker_fail(const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!stats->failure[0])
		snprintf(stats->failure, sizeof(stats->failure),
			 "worker %d: %s (errno %d: %s)", getpid(), msg, errno,
			 strerror(errno));
	_exit(1);
}

/*
 * A worker that crashes says where, and what its stack held there, before
 * it dies of the signal: a word of the module's patterns (0x11, 0x22, the
 * device's) where a return address should be would mean memory written
 * after the module let go of it. Not async-signal-safe, and need not be:
 * the process is dying.
 */
static void worker_crash(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	unsigned long long ip = uc->uc_mcontext.gregs[REG_RIP];
	unsigned long long sp = uc->uc_mcontext.gregs[REG_RSP];

	if (!stats->failure[0])
		snprintf(stats->failure, sizeof(stats->failure),
			 "worker %d: signal %d (%s) at ip %#llx, sp %#llx: [sp] %#llx, [sp+8] %#llx, fault address %p",
			 getpid(), sig, strsignal(sig), ip, sp,
			 ((unsigned long long *)sp)[0],
			 ((unsigned long long *)sp)[1], si->si_addr);
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * The call failed with neither of the errnos resources explain: no
 * memory, a file's limit, or one of the user's limits (hundreds of root's
 * processes share one user's).
 */
static void check(long ret, const char *what, int ok1, int ok2)
{
	if (ret >= 0)
		return;
	if (errno == ENOMEM || errno == ENOSPC || errno == EBUSY ||
	    errno == EDQUOT || errno == EMFILE) {
		__atomic_add_fetch(&stats->enomem, 1, __ATOMIC_RELAXED);
		return;
	}
	if (errno == ok1 || errno == ok2)
		return;
	worker_fail("%s", what);
}

/* --- a worker ---------------------------------------------------------------- */

struct wstate {
	int fd[3];
	uint32_t ubuf[3], kbuf[3];
	uint64_t koff[3];
	size_t klen[3];
	char *map[3];
	size_t maplen[3];
	char *mem;
	int efd;
};

static void w_open(struct wstate *w, int i)
{
	if (w->fd[i] >= 0)
		close(w->fd[i]);
	w->fd[i] = kt_open_dev(O_RDWR);
	w->ubuf[i] = w->kbuf[i] = 0;
	check(w->fd[i], "open", 0, 0);
}

static void w_register(struct wstate *w, int i)
{
	struct kubuf_ubuf_reg r;
	/*
	 * Never over w_verify's pages: a NOWAIT command on this
	 * registration may still be writing when w_verify checks its own.
	 */
	size_t pages = 1 + below(64);
	size_t first = below(MEM_PAGES - VERIFY_PAGES - pages);

	memset(&r, 0, sizeof(r));
	r.addr = (uintptr_t)w->mem + first * PG + below(PG);
	r.len = pages * PG - below(PG);
	r.access = RW;
	if (ioctl(w->fd[i], KUBUF_IOC_UBUF_REGISTER, &r) == 0)
		w->ubuf[i] = r.id;
	else
		check(-1, "REGISTER", EBADF, 0);
}

static void w_alloc(struct wstate *w, int i)
{
	struct kubuf_kbuf_alloc a;

	memset(&a, 0, sizeof(a));
	/* In the memory cgroup, big enough to reach its limit. */
	a.size = (1 + below(in_memcg ? 1024 : 16)) * PG;
	a.kind = below(6) == 0 ? KUBUF_KBUF_DMA : KUBUF_KBUF_PAGES;
	a.cache = a.kind == KUBUF_KBUF_PAGES && below(4) == 0 ? 1 + below(2) : 0;
	a.flags = KUBUF_KBUF_APP_WRITE;
	if (ioctl(w->fd[i], KUBUF_IOC_KBUF_ALLOC, &a) == 0) {
		w->kbuf[i] = a.id;
		w->koff[i] = a.mmap_offset;
		w->klen[i] = a.size;
	} else {
		check(-1, "ALLOC", EBADF, EOPNOTSUPP);
	}
}

static void w_mmap(struct wstate *w, int i)
{
	char *p;

	if (!w->kbuf[i])
		return;
	if (w->map[i])
		munmap(w->map[i], w->maplen[i]);
	w->map[i] = NULL;
	p = mmap(NULL, w->klen[i], PROT_READ | PROT_WRITE, MAP_SHARED,
		 w->fd[i], w->koff[i]);
	if (p == MAP_FAILED) {
		/* Freed by a reset of the file meanwhile: EINVAL. */
		check(-1, "mmap", EINVAL, EBADF);
		return;
	}
	w->map[i] = p;
	w->maplen[i] = w->klen[i];
	memset(p, 0x11, w->klen[i]);
}

/* A command, sometimes long, sometimes not waited for. */
static void w_dev(struct wstate *w, int i)
{
	struct kubuf_dev_cmd c;
	bool ub = below(2) && w->ubuf[i];

	memset(&c, 0, sizeof(c));
	c.op = 1 + below(4);
	c.flags = below(3) ? 0 : KUBUF_DEV_NOWAIT;
	if (c.op != KUBUF_DEV_RESET) {
		c.kind = ub ? KUBUF_MEM_UBUF : KUBUF_MEM_KBUF;
		c.id = ub ? w->ubuf[i] : w->kbuf[i];
		c.len = 1 + below(PG);
	}
	if (c.op == KUBUF_DEV_FILL) {
		c.seed = rnd();
		c.repeat = below(4) ? 0 : below(200);
	}
	if (c.op == KUBUF_DEV_COPY) {
		c.src_kind = ub ? KUBUF_MEM_KBUF : KUBUF_MEM_UBUF;
		c.src_id = ub ? w->kbuf[i] : w->ubuf[i];
	}
	/* Unknown ids, revoked registrations, short buffers: all fine. */
	if (ioctl(w->fd[i], KUBUF_IOC_DEV_CMD, &c) < 0 &&
	    errno != ENOENT && errno != ESHUTDOWN && errno != ERANGE &&
	    errno != EINVAL)
		check(-1, "DEV_CMD", EBADF, EINTR);
}

/* Register fresh memory, FILL it, read the pattern back. */
static void w_verify(struct wstate *w, int i)
{
	size_t len = 1 + below(VERIFY_PAGES * PG);
	char *p = w->mem + (MEM_PAGES - VERIFY_PAGES) * PG;
	uint32_t seed = rnd();
	struct kubuf_ubuf_reg r;
	struct kubuf_id id = { 0 };
	int ret;

	memset(&r, 0, sizeof(r));
	r.addr = (uintptr_t)p;
	r.len = len;
	r.access = RW;
	if (ioctl(w->fd[i], KUBUF_IOC_UBUF_REGISTER, &r)) {
		check(-1, "REGISTER (verify)", EBADF, 0);
		return;
	}
	ret = kt_dev_cmd(w->fd[i], KUBUF_DEV_FILL, 0, KUBUF_MEM_UBUF, r.id,
			 len, seed, NULL);
	/* A RESET of this file by a forked child revokes it: ESHUTDOWN. */
	if (ret == 0 && kubuf_pattern_check(p, len, seed, NULL))
		worker_fail("FILL: the memory does not hold the pattern");
	if (ret)
		check(ret, "FILL (verify)", ESHUTDOWN, 0);
	id.id = r.id;
	if (ioctl(w->fd[i], KUBUF_IOC_UBUF_UNREGISTER, &id))
		check(-1, "UNREGISTER (verify)", ENOENT, 0);
}

static void w_fork(struct wstate *w, int i)
{
	pid_t pid = fork();
	int n;

	if (pid == 0) {
		/* The child works on the inherited file a little, exits. */
		for (n = 0; n < 8; n++)
			w_dev(w, i);
		_exit(0);
	}
	if (pid > 0) {
		__atomic_add_fetch(&stats->forks, 1, __ATOMIC_RELAXED);
		waitpid(pid, NULL, 0);
	} else {
		check(-1, "fork", EAGAIN, 0);
	}
}

static void w_eventfd(struct wstate *w, int i)
{
	struct kubuf_eventfd e = { .fd = w->efd };

	if (below(3) == 0) {
		e.fd = -1;
		e.flags = KUBUF_EVENTFD_CLEAR;
	}
	if (ioctl(w->fd[i], KUBUF_IOC_SET_EVENTFD, &e))
		check(-1, "SET_EVENTFD", EBADF, 0);
}

static void w_release(struct wstate *w, int i)
{
	struct kubuf_id id = { 0 };

	switch (below(4)) {
	case 0:
		id.id = w->ubuf[i];
		if (ioctl(w->fd[i], KUBUF_IOC_UBUF_UNREGISTER, &id))
			check(-1, "UNREGISTER", ENOENT, EBADF);
		w->ubuf[i] = 0;
		break;
	case 1:
		id.id = w->kbuf[i];
		if (ioctl(w->fd[i], KUBUF_IOC_KBUF_FREE, &id))
			check(-1, "FREE", ENOENT, EBADF);
		w->kbuf[i] = 0;
		break;
	case 2:
		if (w->map[i])
			munmap(w->map[i], w->maplen[i]);
		w->map[i] = NULL;
		break;
	default:
		w_open(w, i);
	}
}

static void worker(uint64_t seed, bool memcg, const char *cg_procs)
{
	struct wstate w;
	char me[32];
	unsigned long n;
	int i;

	rng = seed;
	kt_on_crash(worker_crash);
	kt_storm_child();
	setpgid(0, 0);
	setpriority(PRIO_PROCESS, 0, 0);
	kt_write_file("/proc/self/oom_score_adj", "500");
	in_memcg = memcg;
	if (in_memcg) {
		snprintf(me, sizeof(me), "%d", getpid());
		kt_write_file(cg_procs, me);
	}
	memset(&w, 0, sizeof(w));
	w.mem = mmap(NULL, MEM_PAGES * PG, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w.mem == MAP_FAILED)
		_exit(0);	/* no memory to start with: not a failure */
	memset(w.mem, 0x22, MEM_PAGES * PG);
	w.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	for (i = 0; i < 3; i++) {
		w.fd[i] = -1;
		w_open(&w, i);
	}
	for (n = 0; n < 100000; n++) {
		i = below(3);
		switch (below(16)) {
		case 0: case 1: case 2:
			w_register(&w, i);
			break;
		case 3: case 4:
			w_alloc(&w, i);
			break;
		case 5: case 6:
			w_mmap(&w, i);
			break;
		case 7: case 8: case 9: case 10:
			w_dev(&w, i);
			break;
		case 11:
			w_verify(&w, i);
			break;
		case 12:
			if (below(8) == 0)
				w_fork(&w, i);
			break;
		case 13:
			w_eventfd(&w, i);
			break;
		default:
			w_release(&w, i);
		}
		__atomic_add_fetch(&stats->ops, 1, __ATOMIC_RELAXED);
		if (below(2000) == 0)
			_exit(0);	/* ends by itself now and then */
	}
	_exit(0);
}

/* --- memory pressure ------------------------------------------------------------------ */

static long mem_available_mb(void)
{
	return kt_proc_value("/proc/meminfo", "MemAvailable:") / 1024;
}

/*
 * Take @mb of memory and keep it (there is no swap: it stays); the first
 * process the OOM killer would pick.
 */
static pid_t start_hog(long mb)
{
	pid_t pid = fork();
	size_t len = (size_t)mb << 20, i;
	char *p;

	KT_ASSERT(pid >= 0);
	if (pid)
		return pid;
	kt_write_file("/proc/self/oom_score_adj", "1000");
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(0);
	for (i = 0; i < len; i += PG)
		p[i] = 1;
	kt_wait_for_kill();
}

/* A memory cgroup of @mb; its cgroup.procs path in @procs. */
static bool make_memcg(char *dir, size_t dlen, char *procs, size_t plen,
		       long mb)
{
	char buf[256], path[192];

	if (access(CG_ROOT "/cgroup.controllers", F_OK) &&
	    mount("cgroup2", CG_ROOT, "cgroup2", 0, NULL))
		return false;
	if (kt_read_file(CG_ROOT "/cgroup.controllers", buf, sizeof(buf)) ||
	    !strstr(buf, "memory") ||
	    kt_write_file(CG_ROOT "/cgroup.subtree_control", "+memory"))
		return false;
	snprintf(dir, dlen, CG_ROOT "/kt_stress_%d", getpid());
	if (mkdir(dir, 0755))
		return false;
	snprintf(path, sizeof(path), "%s/memory.max", dir);
	snprintf(buf, sizeof(buf), "%ld", mb << 20);
	if (kt_write_file(path, buf)) {
		rmdir(dir);
		return false;
	}
	snprintf(path, sizeof(path), "%s/memory.swap.max", dir);
	kt_write_file(path, "0");
	snprintf(procs, plen, "%s/cgroup.procs", dir);
	return true;
}

/* --- the parent --------------------------------------------------------------------------- */

struct wslot {
	pid_t pid;
	bool killed, memcg;
};

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *s = getenv(name);

	return s && *s ? strtoull(s, NULL, 0) : def;
}

static void reap(struct wslot *s, int status, bool *failed)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
		if (s->killed)
			return;
		if (s->memcg) {
			/* Its cgroup's OOM killer: allowed, counted. */
			__atomic_add_fetch(&stats->oom_kills, 1,
					   __ATOMIC_RELAXED);
			return;
		}
	}
	if (!stats->failure[0])
		snprintf(stats->failure, sizeof(stats->failure),
			 "worker %d: %s %d", s->pid,
			 WIFEXITED(status) ? "exit status" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) :
			 WTERMSIG(status));
	*failed = true;
}

static void stress(bool pressure)
{
	long avail = mem_available_mb(), hog_mb = 0;
	unsigned int procs = env_u64("KUBUF_STRESS_PROCS", 250);
	unsigned int seconds = env_u64("KUBUF_STRESS_SECONDS", 10);
	char cg_dir[128] = "", cg_procs[192] = "", hung[32] = "";
	struct wslot *slots;
	struct timespec t0, now;
	pid_t hog = 0;
	bool failed = false, memcg = false;
	unsigned int i;
	int status, sfd;

	rng = env_u64("KUBUF_STRESS_SEED", getpid() * 0x9e3779b97f4a7c15ULL);
	if (avail > 0 && (unsigned long)avail / 2 / WORKER_MB < procs)
		procs = avail / 2 / WORKER_MB;
	if (procs > MAX_PROCS)
		procs = MAX_PROCS;
	if (procs < 8)
		kt_skip("only %ld MiB available", avail);
	stats = mmap(NULL, sizeof(*stats), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	slots = calloc(procs, sizeof(*slots));
	KT_ASSERT(stats != MAP_FAILED && slots);
	kt_write_file("/proc/self/oom_score_adj", "-1000");

	/* Arm the hung-task detector: a task stuck that long is reported. */
	if (!kt_read_file(HUNG_TASK, hung, sizeof(hung)))
		KT_OK(kt_write_file(HUNG_TASK, HUNG_SECS));
	/* The killer must get the CPU among hundreds of busy workers. */
	setpriority(PRIO_PROCESS, 0, -20);
	if (pressure) {
		/* A memory cgroup at its limit kills, and says so: allowed. */
		kt_expect("oom");
		memcg = make_memcg(cg_dir, sizeof(cg_dir), cg_procs,
				   sizeof(cg_procs), MEMCG_MB);
		/* Workers use about half of what they may. */
		hog_mb = avail - (long)procs * WORKER_MB / 2 - 160;
		if (hog_mb > 64)
			hog = start_hog(hog_mb);
	}

	for (i = 0; i < procs; i++) {
		slots[i].memcg = memcg && i < MEMCG_PROCS;
		slots[i].pid = fork();
		if (slots[i].pid == 0)
			worker(rnd(), slots[i].memcg, cg_procs);
		KT_ASSERT(slots[i].pid > 0);
		setpgid(slots[i].pid, slots[i].pid);
	}
	/* The time runs from when all of them are there. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		/* kill -9 one, mid-operation; whoever ended, start anew. */
		kt_msleep(1 + below(10));
		i = below(procs);
		if (!slots[i].killed) {
			kill(-slots[i].pid, SIGKILL);
			slots[i].killed = true;
			__atomic_add_fetch(&stats->kills, 1, __ATOMIC_RELAXED);
		}
		for (i = 0; i < procs; i++) {
			if (waitpid(slots[i].pid, &status, WNOHANG) <= 0)
				continue;
			reap(&slots[i], status, &failed);
			slots[i].killed = false;
			slots[i].pid = fork();
			if (slots[i].pid == 0)
				worker(rnd(), slots[i].memcg, cg_procs);
			KT_ASSERT(slots[i].pid > 0);
			setpgid(slots[i].pid, slots[i].pid);
			__atomic_add_fetch(&stats->respawns, 1,
					   __ATOMIC_RELAXED);
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (!failed && now.tv_sec - t0.tv_sec < seconds);

	for (i = 0; i < procs; i++) {
		kill(-slots[i].pid, SIGKILL);
		slots[i].killed = true;
	}
	if (hog)
		kill(hog, SIGKILL);
	for (i = 0; i < procs; i++)
		if (waitpid(slots[i].pid, &status, 0) == slots[i].pid)
			reap(&slots[i], status, &failed);
	while (waitpid(-1, &status, 0) > 0)
		;
	if (cg_dir[0])
		rmdir(cg_dir);

	/* Every file released, every page unpinned and freed. */
	sfd = KT_OK(kt_open_dev(O_RDONLY));
	for (i = 0; i < 1000; i++) {
		struct kubuf_stats st;
		int k, busy = 0;

		memset(&st, 0, sizeof(st));
		KT_OK(ioctl(sfd, KUBUF_IOC_GET_STATS, &st));
		/* Our own file, and its user, are all that is left. */
		for (k = 1; k < KUBUF_STAT_NR; k++)
			busy += st.counters[k] != (k == KUBUF_STAT_USERS);
		if (!busy && st.counters[KUBUF_STAT_OPEN_FILES] == 1)
			break;
		kt_msleep(10);
	}
	close(sfd);
	if (hung[0])
		kt_write_file(HUNG_TASK, hung);
	kt_note("stress: %u processes, %u s%s%s: %lu ops, %lu kill -9, %lu respawned, %lu forks, %lu ENOMEM/ENOSPC/EBUSY/EDQUOT/EMFILE, %lu memcg OOM kills",
		procs, seconds, hog ? ", hog" : "",
		memcg ? ", some in a small memcg" : "", stats->ops,
		stats->kills, stats->respawns, stats->forks, stats->enomem,
		stats->oom_kills);
	if (stats->failure[0])
		kt_fail(__FILE__, __LINE__, "%s", stats->failure);
	KT_ASSERT(!failed);
	KT_ASSERT(i < 1000);
	KT_ASSERT(stats->ops > 0);
	KT_ASSERT(stats->kills >= 10);
}

KT_CASE(kill9_storm)
{
	stress(false);
}

KT_CASE(kill9_storm_memory_pressure)
{
	stress(true);
}

KT_MAIN()
