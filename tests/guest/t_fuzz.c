// SPDX-License-Identifier: MIT
/*
 * A seeded fuzzer of the module: several processes run random sequences
 * of kubuf operations with random and hostile arguments, for a bounded
 * time, against each other and against the device.
 *
 *   t_fuzz --run fuzz      the suite's case: KUBUF_FUZZ_SECONDS (20),
 *                          KUBUF_FUZZ_PROCS (4) and KUBUF_FUZZ_SEED
 *                          (from the clock) in the environment
 *   t_fuzz --seed S --seconds T --procs P [--worker W --generation G]
 *                          the same, standalone; W and G run one worker
 *                          of a failed run alone
 *
 * One 64-bit seed drives everything. Worker W of generation G (the master
 * kills workers at random and starts the next generation in their place)
 * draws from mix(seed, W, G); a child it forks, from its own stream. Every
 * operation is written to an in-memory ring of the last LOG_N operations
 * before it runs, and its result after; on a failure the seed, the
 * command line that runs the same streams again, and the ring are
 * printed (all of it on the console, the tail on stderr).
 *
 * A failure is: an errno outside the documented set of the operation; a
 * result the fuzzer can know (data the device wrote, a checksum, an errno
 * a mapping's rules fix) that is wrong; a worker or child that dies of a
 * signal nobody sent it, or does not finish in time. The runner then
 * checks the kernel log and that every counter is back to zero.
 *
 * Operations are a table (ops[] below): adding one is writing its
 * function and adding one line. Every address the fuzzer hands the
 * module for writing lies in memory it mapped for that purpose between
 * guard pages, or nowhere, so the module's writes never reach the
 * fuzzer's own state.
 */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include <linux/kubuf_ring.h>

#include "harness.h"
#include "kubuf.h"

#define PG		4096UL
#define HUGE_PG		(2UL << 20)
#define RW		(KUBUF_ACCESS_DEV_READ | KUBUF_ACCESS_DEV_WRITE)
#define LOG_N		256		/* operations kept for the report */
#define LOG_SHOW	25		/* of which stderr shows the last */
#define MAX_PROCS	64
#define MAX_FDS		8
#define MAX_IDS		48
#define MAX_REGIONS	12
#define MAX_MAPS	12
#define MAX_EFDS	4
#define MAX_KIDS	4
#define REGION_BUDGET	(24UL << 20)	/* bytes of regions per process */
#define KBUF_BUDGET	(16UL << 20)	/* bytes of driver buffers */
#define KID_OPS		60		/* operations of a forked child */
#define GRACE_S		60		/* after the deadline, before "hung" */
#define RAMFS		"/tmp/kt_fuzz_ramfs"
#define KADDR		0xffff888000000000ULL

/* --- randomness ----------------------------------------------------------- */

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* splitmix64: small, fast, and every 64-bit seed is a good one. */
static uint64_t rnd_state;

static uint64_t rnd(void)
{
	rnd_state += 0x9e3779b97f4a7c15ULL;
	return mix64(rnd_state);
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static bool one_in(unsigned int n)
{
	return below(n) == 0;
}

static uint64_t stream_seed(uint64_t seed, uint64_t a, uint64_t b)
{
	return mix64(seed ^ mix64(a * 0x100000001b3ULL + b + 1));
}

/* --- the run -------------------------------------------------------------- */

static struct {
	uint64_t seed;
	unsigned int seconds, procs;
	int only_worker;	/* -1: all */
	unsigned int generation;	/* of only_worker */
	struct timespec deadline;
} run;

/* Counters every process adds to (a shared page). */
struct op_count {
	unsigned long calls, ok;
};

static struct shared {
	unsigned long ops, checks, kids, kills;
	struct op_count per_op[64];
	int failed;
} *shared;

static bool past_deadline(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > run.deadline.tv_sec ||
	       (now.tv_sec == run.deadline.tv_sec &&
		now.tv_nsec >= run.deadline.tv_nsec);
}

/* --- the operation log ---------------------------------------------------- */

struct log_ent {
	unsigned long seq;
	int op;
	long ret;
	int err;
	bool done;
	char args[120];
};

static struct {
	struct log_ent e[LOG_N];
	unsigned long n;
} oplog;

/* Who this process is, for the report. */
static struct {
	int worker;
	unsigned int generation;
	int depth;		/* 0: a worker; 1: a child it forked */
	uint64_t stream;	/* the seed of this process's stream */
	unsigned long ops;
} me;

struct fuzz_op;
static const char *op_name(int op);

__attribute__((format(printf, 2, 3)))
static struct log_ent *log_begin(int op, const char *fmt, ...)
{
	struct log_ent *e = &oplog.e[oplog.n % LOG_N];
	va_list ap;

	e->seq = oplog.n++;
	e->op = op;
	e->done = false;
	e->ret = 0;
	e->err = 0;
	va_start(ap, fmt);
	vsnprintf(e->args, sizeof(e->args), fmt, ap);
	va_end(ap);
	return e;
}

static long log_end(struct log_ent *e, long ret, int err)
{
	e->ret = ret;
	e->err = ret < 0 ? err : 0;
	e->done = true;
	return ret;
}

static void log_line(char *buf, size_t len, const struct log_ent *e)
{
	if (!e->done)
		snprintf(buf, len, "  #%lu %s(%s) = ... (running)\n", e->seq,
			 op_name(e->op), e->args);
	else if (e->ret < 0)
		snprintf(buf, len, "  #%lu %s(%s) = -1 %s\n", e->seq,
			 op_name(e->op), e->args, strerror(e->err));
	else
		snprintf(buf, len, "  #%lu %s(%s) = %ld\n", e->seq,
			 op_name(e->op), e->args, e->ret);
}

static void write_all(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len) {
		ssize_t n = write(fd, s, len);

		if (n <= 0)
			return;
		s += n;
		len -= n;
	}
}

/* The report: to stderr (its tail) and to the console (all of it). */
static void report(const char *why)
{
	int con = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	unsigned long first, i;
	char line[256];

	snprintf(line, sizeof(line),
		 "FUZZ FAILURE in worker %d generation %u%s (pid %d) after %lu ops: %s\n",
		 me.worker, me.generation, me.depth ? " (forked child)" : "",
		 getpid(), me.ops, why);
	write_all(2, line);
	if (con >= 0)
		write_all(con, line);
	snprintf(line, sizeof(line),
		 "  seed 0x%016llx; reproduce: t_fuzz --seed 0x%llx --seconds %u --procs %u\n"
		 "  this worker alone: t_fuzz --seed 0x%llx --seconds %u --procs 1 --worker %d --generation %u\n",
		 (unsigned long long)run.seed, (unsigned long long)run.seed,
		 run.seconds, run.procs, (unsigned long long)run.seed,
		 run.seconds, me.worker, me.generation);
	write_all(2, line);
	if (con >= 0)
		write_all(con, line);
	first = oplog.n > LOG_N ? oplog.n - LOG_N : 0;
	for (i = first; i < oplog.n; i++) {
		log_line(line, sizeof(line), &oplog.e[i % LOG_N]);
		if (i + LOG_SHOW >= oplog.n)
			write_all(2, line);
		if (con >= 0)
			write_all(con, line);
	}
	if (con >= 0)
		close(con);
}

__attribute__((noreturn, format(printf, 1, 2)))
static void fuzz_fail(const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	report(why);
	if (shared)
		__atomic_store_n(&shared->failed, 1, __ATOMIC_RELAXED);
	_exit(1);
}

/* A worker that crashes prints its log first. */
static void crash_handler(int sig, siginfo_t *si, void *uc)
{
	char why[128];

	snprintf(why, sizeof(why), "crashed: signal %d (%s) at address %p",
		 sig, strsignal(sig), si->si_addr);
	report(why);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void crash_handlers(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = crash_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* --- errnos --------------------------------------------------------------- */

/* The documented errnos of each call (include/uapi/linux/kubuf.h). */
static const int E_REGISTER[] = { EBADF, EINVAL, E2BIG, EFAULT, EOPNOTSUPP,
				  ENOMEM, ENOSPC, 0 };
static const int E_ID[] = { EBADF, EINVAL, ENOENT, EFAULT, 0 };
static const int E_QUERY[] = { EINVAL, ENOENT, EFAULT, 0 };
static const int E_UCOPY[] = { EINVAL, E2BIG, EFAULT, ENOMEM, 0 };
static const int E_ALLOC[] = { EBADF, EINVAL, E2BIG, EOPNOTSUPP, ENOSPC,
			       ENOMEM, EFAULT, 0 };
static const int E_DEV[] = { EBADF, EINVAL, ENOENT, ERANGE, EACCES,
			     ESHUTDOWN, EBUSY, EFAULT, ENOMEM, 0 };
static const int E_EVENTFD[] = { EBADF, EINVAL, EFAULT, 0 };
static const int E_EVENTS[] = { EINVAL, EFAULT, 0 };
static const int E_MMAP[] = { EACCES, EINVAL, EPERM, ENOMEM, 0 };
static const int E_READ[] = { EBADF, EFAULT, ENOMEM, 0 };
/* An ioctl of kubuf's on something that is not /dev/kubuf. */
static const int E_NOT_KUBUF[] = { EBADF, ENOTTY, EINVAL, EFAULT, 0 };

static bool errno_in(int err, const int *set)
{
	for (; *set; set++)
		if (*set == err)
			return true;
	return false;
}

/* End the log entry; fail unless the call worked or failed as allowed. */
static long expect(struct log_ent *e, long ret, const int *allowed)
{
	int err = errno;

	log_end(e, ret, err);
	if (ret < 0 && !errno_in(err, allowed))
		fuzz_fail("%s: errno %d (%s) is not one it documents",
			  op_name(e->op), err, strerror(err));
	return ret;
}

/* End the log entry; fail unless the call failed with exactly @want. */
static void expect_errno(struct log_ent *e, long ret, int want)
{
	int err = errno;

	log_end(e, ret, err);
	if (ret >= 0 || err != want)
		fuzz_fail("%s: want -1 %s, got %ld (%s)", op_name(e->op),
			  strerror(want), ret, ret < 0 ? strerror(err) : "ok");
}

/* --- memory the fuzzer owns ----------------------------------------------- */

enum region_kind {
	R_ANON, R_RO, R_NONE, R_HOLE, R_MEMFD, R_SHARED_ANON, R_HUGETLB,
	R_TMPFS_SHARED, R_RAMFS_SHARED, R_FILE_PRIVATE, R_NR
};

static const char *const region_names[R_NR] = {
	"anon", "read-only", "prot-none", "hole", "memfd", "shared-anon",
	"hugetlb", "tmpfs-shared", "ramfs-shared", "file-private",
};

/*
 * A region: len bytes at addr, inside a reservation with a PROT_NONE guard
 * page (a huge page for hugetlb) on each side, so that no write the module
 * makes from an address in it, however long, reaches anything else.
 */
struct region {
	bool live;
	int kind;
	char *addr;
	size_t len;
	char *res;		/* the reservation, guards included */
	size_t res_len;
	int prot;
	bool touchable;		/* the fuzzer may read and write it */
	bool dontfork;
	int fd;			/* memfd / file, or -1 */
};

/* A mapping of a driver buffer, between guards too. */
struct map {
	bool live;
	char *addr;
	size_t len;
	char *res;
	size_t res_len;
	int prot;
	bool zapped;		/* MADV_DONTNEED: touching raises SIGBUS */
	bool dontfork;
};

struct fd_slot {
	bool live;
	int fd;
	int mode;		/* O_RDWR, O_RDONLY, O_WRONLY */
	bool shared;		/* another process may hold the file */
};

/* An id the fuzzer learned, on the file of slot fdi (it may be stale). */
struct id_ent {
	bool live;
	int fdi;
	uint32_t id;
	uint64_t off;		/* kbuf: the mmap offset */
	size_t len;		/* bytes */
	uint32_t flags;		/* kbuf flags / ubuf access */
};

/* The last slot is never closed: an O_RDWR fd for when no other is. */
#define SPARE	MAX_FDS

static struct {
	struct fd_slot fds[MAX_FDS + 1];
	struct id_ent ubufs[MAX_IDS];
	struct id_ent kbufs[MAX_IDS];
	struct id_ent rings[MAX_IDS];	/* off: the ring's address, or 0 */
	struct region regions[MAX_REGIONS];
	struct map maps[MAX_MAPS];
	int efds[MAX_EFDS];
	pid_t kids[MAX_KIDS];
	bool kid_killed[MAX_KIDS];
	int sock[2];
	char *scratch;		/* data checks only: never registered */
	char *ro_arg;		/* a read-only page for arguments */
	char *race_args;	/* one read-only page of arguments per racer */
	size_t region_bytes, kbuf_bytes;
	struct kubuf_info info;
	bool have_hugetlb;
	uint32_t max_ubuf_id, max_kbuf_id, max_ring_id;
	dev_t dev_rdev;		/* of /dev/kubuf */
} W;

/* The fds the poller threads look at: a copy they read without a lock. */
static int poll_fds[MAX_FDS];

static void sync_poll_fds(void)
{
	int i;

	for (i = 0; i < MAX_FDS; i++)
		__atomic_store_n(&poll_fds[i], W.fds[i].live ? W.fds[i].fd : -1,
				 __ATOMIC_RELAXED);
}

/* Reserve @len bytes between guards of @guard bytes, aligned to @guard. */
static char *reserve(size_t len, size_t guard, char **res, size_t *res_len)
{
	size_t total = len + 3 * guard;
	char *p = mmap(NULL, total, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *start;

	if (p == MAP_FAILED)
		return NULL;
	start = (char *)(((uintptr_t)p + 2 * guard - 1) & ~(guard - 1));
	*res = p;
	*res_len = total;
	return start;
}

static int temp_file(const char *dir, size_t len)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "%s/kt_fuzz.%d.%llu", dir, getpid(),
		 (unsigned long long)below(1000000));
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	unlink(path);
	if (ftruncate(fd, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A new region of a random kind; NULL if none could be made. */
static struct region *region_new(void)
{
	struct region *r = NULL;
	size_t guard = PG, len;
	int i, kind, fd = -1, flags, prot = PROT_READ | PROT_WRITE;
	char *at, *p;

	for (i = 0; i < MAX_REGIONS && !r; i++)
		if (!W.regions[i].live)
			r = &W.regions[i];
	if (!r)
		return NULL;
	kind = below(R_NR);
	len = (1 + below(one_in(4) ? 256 : 16)) * PG;
	if (kind == R_HUGETLB) {
		if (!W.have_hugetlb)
			kind = R_ANON;
		else
			len = guard = HUGE_PG;
	}
	if (kind == R_HOLE)
		len = 3 * PG;
	if (W.region_bytes + len > REGION_BUDGET)
		return NULL;

	at = reserve(len, guard, &r->res, &r->res_len);
	if (!at)
		return NULL;
	flags = MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS;
	switch (kind) {
	case R_MEMFD:
		fd = memfd_create("kt_fuzz", MFD_CLOEXEC);
		if (fd >= 0 && ftruncate(fd, len)) {
			close(fd);
			fd = -1;
		}
		flags = MAP_FIXED | MAP_SHARED;
		break;
	case R_SHARED_ANON:
		flags = MAP_FIXED | MAP_SHARED | MAP_ANONYMOUS;
		break;
	case R_HUGETLB:
		flags |= MAP_HUGETLB;
		break;
	case R_TMPFS_SHARED:
	case R_RAMFS_SHARED:
	case R_FILE_PRIVATE:
		fd = temp_file(kind == R_RAMFS_SHARED ? RAMFS : "/tmp", len);
		flags = MAP_FIXED | (kind == R_FILE_PRIVATE ? MAP_PRIVATE :
				     MAP_SHARED);
		break;
	}
	if ((flags & MAP_ANONYMOUS) == 0 && fd < 0) {
		munmap(r->res, r->res_len);
		return NULL;
	}
	p = mmap(at, len, prot, flags, fd, 0);
	if (p == MAP_FAILED) {
		if (fd >= 0)
			close(fd);
		munmap(r->res, r->res_len);
		return NULL;
	}
	memset(p, (int)below(256), len);
	r->live = true;
	r->kind = kind;
	r->addr = p;
	r->len = len;
	r->prot = prot;
	r->touchable = true;
	r->dontfork = false;
	r->fd = fd;
	switch (kind) {
	case R_RO:
		mprotect(p, len, PROT_READ);
		r->prot = PROT_READ;
		break;
	case R_NONE:
		mprotect(p, len, PROT_NONE);
		r->prot = PROT_NONE;
		r->touchable = false;
		break;
	case R_HOLE:
		mprotect(p, len, PROT_NONE);
		munmap(p + PG, PG);
		r->prot = PROT_NONE;
		r->touchable = false;
		break;
	}
	W.region_bytes += len;
	return r;
}

static void region_free(struct region *r)
{
	munmap(r->res, r->res_len);
	if (r->fd >= 0)
		close(r->fd);
	W.region_bytes -= r->len;
	r->live = false;
}

static struct region *region_pick(void)
{
	int i, n = 0;
	struct region *pick = NULL;

	for (i = 0; i < MAX_REGIONS; i++)
		if (W.regions[i].live && below(++n) == 0)
			pick = &W.regions[i];
	return pick ? pick : region_new();
}

/* --- descriptors and ids -------------------------------------------------- */

static int slot_add(int fd, int mode, bool is_shared)
{
	int i;

	for (i = 0; i < MAX_FDS; i++)
		if (!W.fds[i].live) {
			W.fds[i] = (struct fd_slot){ true, fd, mode, is_shared };
			sync_poll_fds();
			return i;
		}
	close(fd);
	return -1;
}

/* The file of slot @i is gone from it: so are the ids learned there. */
static void forget_ids(int i)
{
	int j;

	for (j = 0; j < MAX_IDS; j++) {
		if (W.ubufs[j].live && W.ubufs[j].fdi == i)
			W.ubufs[j].live = false;
		if (W.rings[j].live && W.rings[j].fdi == i)
			W.rings[j].live = false;
		if (W.kbufs[j].live && W.kbufs[j].fdi == i) {
			W.kbufs[j].live = false;
			W.kbuf_bytes -= W.kbufs[j].len;
		}
	}
}

static void slot_close(int i)
{
	close(W.fds[i].fd);
	W.fds[i].live = false;
	forget_ids(i);
	sync_poll_fds();
}

/* A slot, mostly one open for reading and writing. */
static int slot_pick(void)
{
	int i, n = 0, pick = -1;

	for (i = 0; i < MAX_FDS; i++)
		if (W.fds[i].live && below(++n) == 0)
			pick = i;
	if (pick >= 0 && (W.fds[pick].mode == O_RDWR || one_in(8)))
		return pick;
	for (i = 0; i < MAX_FDS; i++)
		if (W.fds[i].live && W.fds[i].mode == O_RDWR)
			return i;
	i = kt_open_dev(O_RDWR);
	if (i >= 0)
		i = slot_add(i, O_RDWR, false);
	return i < 0 ? SPARE : i;
}

static int fd_of(int slot)
{
	return W.fds[slot].fd;
}

static struct id_ent *id_add(struct id_ent *tab, int fdi, uint32_t id)
{
	int i;

	for (i = 0; i < MAX_IDS; i++)
		if (!tab[i].live) {
			memset(&tab[i], 0, sizeof(tab[i]));
			tab[i].live = true;
			tab[i].fdi = fdi;
			tab[i].id = id;
			return &tab[i];
		}
	return NULL;
}

static struct id_ent *id_pick(struct id_ent *tab)
{
	int i, n = 0;
	struct id_ent *pick = NULL;

	for (i = 0; i < MAX_IDS; i++)
		if (tab[i].live && below(++n) == 0)
			pick = &tab[i];
	return pick;
}

/* An id to name: a known one (maybe stale), or a guess. */
static uint32_t id_guess(struct id_ent *tab, uint32_t max_seen, int *fdi)
{
	struct id_ent *e = one_in(5) ? NULL : id_pick(tab);

	if (e) {
		*fdi = e->fdi;
		return e->id;
	}
	*fdi = slot_pick();
	switch (below(4)) {
	case 0:
		return 0;
	case 1:
		return (uint32_t)rnd();
	default:
		return 1 + below(max_seen + 2);
	}
}

/* --- arguments ------------------------------------------------------------ */

static uint64_t rand_len(void)
{
	switch (below(12)) {
	case 0:
		return 0;
	case 1:
		return 1 + below(PG);
	case 2:
		return W.info.max_ubuf_size + below(2);
	case 3:
		return 1ULL << (40 + below(24));
	case 4:
		return ~0ULL - below(PG);
	case 5:
		return (1 + below(64)) * PG + below(3) - 1;
	default:
		return (1 + below(16)) * PG;
	}
}

/*
 * An address to hand the module: mostly inside a region (a length from
 * rand_len() may run past its end, into the guard), sometimes one that
 * is no user memory at all. Never the fuzzer's own memory.
 */
static uint64_t rand_addr(uint64_t *len)
{
	struct region *r;
	uint64_t off;

	switch (below(16)) {
	case 0:
		return below(2) ? 0 : below(PG);
	case 1:
		return KADDR + below(1 << 20) * PG;
	case 2:
		return 0x8000000000000000ULL + below(PG);	/* non-canonical */
	case 3:
		return (1ULL << 47) - PG * (1 + below(2));	/* top of user */
	case 4:
		return ~0ULL - below(2 * PG);
	}
	r = region_pick();
	if (!r)
		return KADDR;
	off = below(4) ? 0 : below(r->len);
	if (below(3) == 0 && *len > r->len - off)
		*len = r->len - off ? r->len - off : 1;
	return (uintptr_t)r->addr + off;
}

/*
 * A pointer for an ioctl's argument: mostly @good, sometimes hostile:
 * NULL, the kernel's, one straddling into a guard page, a region with
 * whatever it holds, or a read-only copy of @good, which the module can
 * read but not answer in (the call's undo path).
 */
static void *rand_argp(void *good, size_t size)
{
	struct region *r;

	if (!one_in(16))
		return good;
	switch (below(5)) {
	case 0:
		return NULL;
	case 1:
		return (void *)KADDR;
	case 2:
		mprotect(W.ro_arg, PG, PROT_READ | PROT_WRITE);
		memcpy(W.ro_arg, good, size);
		mprotect(W.ro_arg, PG, PROT_READ);
		return W.ro_arg;
	default:
		r = region_pick();
		if (!r)
			return NULL;
		if (below(2) && r->len >= size)
			return r->addr + r->len - size / 2;
		return r->addr;
	}
}

/* Flags: mostly valid ones, sometimes with a bit outside @valid. */
static uint32_t rand_bits(uint32_t valid)
{
	uint32_t x;

	switch (below(8)) {
	case 0:
		do
			x = rnd();
		while (!(x & ~valid));
		return x;
	case 1:
		do
			x = 1U << below(32);
		while (!(x & ~valid));
		return x;
	default:
		return valid & (uint32_t)rnd();
	}
}

/* --- the operations ------------------------------------------------------- */

/* Each returns nothing: it logs, calls, and checks what it can know. */
struct fuzz_op {
	const char *name;
	unsigned int weight;
	void (*fn)(int op);
	bool kid_ok;		/* a forked child may run it */
};

static void count(int op, long ret)
{
	__atomic_add_fetch(&shared->per_op[op].calls, 1, __ATOMIC_RELAXED);
	if (ret >= 0)
		__atomic_add_fetch(&shared->per_op[op].ok, 1, __ATOMIC_RELAXED);
}

static void op_open(int op)
{
	static const int modes[] = { O_RDWR, O_RDWR, O_RDWR, O_RDONLY,
				     O_WRONLY };
	int mode = modes[below(5)];
	struct log_ent *e = log_begin(op, "%s", mode == O_RDWR ? "O_RDWR" :
				      mode == O_RDONLY ? "O_RDONLY" : "O_WRONLY");
	int fd = kt_open_dev(mode);

	log_end(e, fd, errno);
	count(op, fd);
	if (fd < 0)
		fuzz_fail("open: %s", strerror(errno));
	slot_add(fd, mode, false);
}

static void op_close(int op)
{
	int i = slot_pick();
	struct log_ent *e;

	if (i == SPARE)
		return;
	e = log_begin(op, "fd %d", W.fds[i].fd);
	slot_close(i);
	log_end(e, 0, 0);
	count(op, 0);
}

/* dup, or dup2 over another slot (which closes that file there). */
static void op_dup(int op)
{
	int i = slot_pick(), j = below(MAX_FDS), fd;
	struct log_ent *e;

	if (W.fds[j].live && j != i && i != SPARE && one_in(3)) {
		e = log_begin(op, "dup2(%d, %d)", W.fds[i].fd, W.fds[j].fd);
		fd = dup3(W.fds[i].fd, W.fds[j].fd, O_CLOEXEC);
		log_end(e, fd, errno);
		count(op, fd);
		if (fd < 0)
			fuzz_fail("dup3: %s", strerror(errno));
		forget_ids(j);
		W.fds[j] = W.fds[i];
		W.fds[j].fd = fd;
		sync_poll_fds();
		return;
	}
	e = log_begin(op, "dup(%d)", W.fds[i].fd);
	fd = fcntl(W.fds[i].fd, F_DUPFD_CLOEXEC, 0);
	log_end(e, fd, errno);
	count(op, fd);
	if (fd < 0)
		fuzz_fail("dup: %s", strerror(errno));
	slot_add(fd, W.fds[i].mode, W.fds[i].shared);
}

/*
 * The errno a call must fail with when its argument breaks a rule of the
 * validation ladder, or 0 when only the documented set is known.
 */
static int ladder_mode(int slot, bool needs_rdwr)
{
	return needs_rdwr && W.fds[slot].mode != O_RDWR ? EBADF : 0;
}

static long expect_ladder(struct log_ent *e, long ret, int want,
			  const int *allowed)
{
	if (want)
		expect_errno(e, ret, want);
	else
		expect(e, ret, allowed);
	return ret;
}

/* --- technique 1 ---------------------------------------------------------- */

static void op_register(int op)
{
	int i = slot_pick(), want;
	struct kubuf_ubuf_reg r, *argp;
	uint64_t len = rand_len(), end;
	struct id_ent *ent;
	struct log_ent *e;
	long ret;

	memset(&r, 0, sizeof(r));
	r.addr = rand_addr(&len);
	r.len = len;
	r.access = one_in(10) ? rand_bits(RW) : 1 + below(3);
	if (one_in(20))
		r.flags = rand_bits(0);
	if (one_in(30))
		r.reserved[below(2)] = rnd();
	argp = rand_argp(&r, sizeof(r));
	e = log_begin(op, "fd %d addr %#llx len %#llx access %#x flags %#x%s",
		      fd_of(i), (unsigned long long)r.addr,
		      (unsigned long long)r.len, r.access, r.flags,
		      argp != &r ? " argp hostile" : "");
	ret = ioctl(fd_of(i), KUBUF_IOC_UBUF_REGISTER, argp);
	want = ladder_mode(i, true);
	if (!want && argp == &r) {
		if (r.flags || r.reserved0 || r.reserved[0] || r.reserved[1] ||
		    !r.access || (r.access & ~RW) || !r.len)
			want = EINVAL;
		else if (r.len > W.info.max_ubuf_size)
			want = E2BIG;
		else if (__builtin_add_overflow(r.addr, r.len, &end))
			want = EFAULT;
	}
	expect_ladder(e, ret, want, E_REGISTER);
	count(op, ret);
	if (ret == 0 && argp == &r) {
		ent = id_add(W.ubufs, i, r.id);
		if (ent) {
			ent->off = r.addr;
			ent->len = r.len;
			ent->flags = r.access;
		}
		if (r.id > W.max_ubuf_id)
			W.max_ubuf_id = r.id;
	}
}

static void op_unregister(int op)
{
	int i;
	uint32_t id = id_guess(W.ubufs, W.max_ubuf_id, &i);
	struct kubuf_id a = { .id = id, .flags = one_in(20) ? rand_bits(0) : 0 };
	struct log_ent *e = log_begin(op, "fd %d id %u flags %#x", fd_of(i),
				      id, a.flags);
	long ret = ioctl(fd_of(i), KUBUF_IOC_UBUF_UNREGISTER,
			 rand_argp(&a, sizeof(a)));
	int j;

	expect(e, ret, E_ID);
	count(op, ret);
	if (ret == 0)
		for (j = 0; j < MAX_IDS; j++)
			if (W.ubufs[j].live && W.ubufs[j].fdi == i &&
			    W.ubufs[j].id == id)
				W.ubufs[j].live = false;
}

static void op_query(int op)
{
	struct id_ent *ent = id_pick(W.ubufs);
	struct kubuf_ubuf_query q;
	struct log_ent *e;
	int i = ent ? ent->fdi : slot_pick();
	long ret;

	kt_poison(&q, sizeof(q));
	q.id = ent ? ent->id : (uint32_t)below(W.max_ubuf_id + 2);
	q.flags = one_in(20) ? rand_bits(0) : 0;
	e = log_begin(op, "fd %d id %u flags %#x", fd_of(i), q.id, q.flags);
	ret = expect(e, ioctl(fd_of(i), KUBUF_IOC_UBUF_QUERY, &q), E_QUERY);
	count(op, ret);
	if (ret < 0)
		return;
	/* Ids are never reused in a file: an answer is about ours. */
	if (q.reserved[0] || q.reserved[1] ||
	    (q.state != KUBUF_UBUF_ACTIVE && q.state != KUBUF_UBUF_REVOKED) ||
	    (q.state == KUBUF_UBUF_REVOKED && q.nr_pages))
		fuzz_fail("QUERY: bad answer: state %u nr_pages %llu reserved %llx %llx",
			  q.state, (unsigned long long)q.nr_pages,
			  (unsigned long long)q.reserved[0],
			  (unsigned long long)q.reserved[1]);
	if (ent && (q.addr != ent->off || q.len != ent->len ||
		    q.access != ent->flags))
		fuzz_fail("QUERY of id %u: addr %#llx len %#llx access %#x, registered %#llx %#llx %#x",
			  q.id, (unsigned long long)q.addr,
			  (unsigned long long)q.len, q.access,
			  (unsigned long long)ent->off,
			  (unsigned long long)ent->len, ent->flags);
}

/* The caller-context variant, anywhere: FILL writes only fuzz memory. */
static void op_ucopy(int op)
{
	int i = slot_pick();
	struct kubuf_ucopy u;
	uint64_t len = rand_len();
	struct log_ent *e;
	long ret;

	memset(&u, 0, sizeof(u));
	u.op = one_in(10) ? (uint32_t)below(5) : 1 + below(2);
	u.addr = rand_addr(&len);
	u.len = len;
	if (u.op == KUBUF_UCOPY_FILL || one_in(20))
		u.seed = rnd();
	if (one_in(20))
		u.flags = rand_bits(0);
	e = log_begin(op, "fd %d op %u addr %#llx len %#llx seed %#x",
		      fd_of(i), u.op, (unsigned long long)u.addr,
		      (unsigned long long)u.len, u.seed);
	ret = expect(e, ioctl(fd_of(i), KUBUF_IOC_UCOPY,
			      rand_argp(&u, sizeof(u))), E_UCOPY);
	count(op, ret);
}

static void op_read(int op)
{
	int i = slot_pick();
	uint64_t len = below(4) ? 1 + below(64 * PG) : rand_len();
	uint64_t addr = rand_addr(&len);
	struct log_ent *e = log_begin(op, "fd %d buf %#llx len %#llx",
				      fd_of(i), (unsigned long long)addr,
				      (unsigned long long)len);
	long ret = read(fd_of(i), (void *)(uintptr_t)addr, len);

	expect(e, ret, E_READ);
	count(op, ret);
	if (ret > 0 && ((uint64_t)ret > len || ret > (1L << 20)))
		fuzz_fail("read of %llu bytes returned %ld",
			  (unsigned long long)len, ret);
}

/* --- technique 2 ---------------------------------------------------------- */

static void op_alloc(int op)
{
	int i = slot_pick(), want;
	struct kubuf_kbuf_alloc a, *argp;
	bool wc = W.info.features & KUBUF_FEAT_KBUF_WC;
	struct id_ent *ent;
	struct log_ent *e;
	long ret;

	memset(&a, 0, sizeof(a));
	a.size = below(8) ? (1 + below(16)) * PG - below(2) : rand_len();
	if (a.size && a.size <= W.info.max_kbuf_size &&
	    W.kbuf_bytes + a.size > KBUF_BUDGET)
		a.size = PG;
	a.kind = one_in(20) ? (uint32_t)rnd() : below(4) == 0;
	a.cache = one_in(20) ? (uint32_t)rnd() : below(3) ? 0 : below(3);
	a.flags = one_in(20) ? rand_bits(0) : below(2) * KUBUF_KBUF_APP_WRITE;
	if (one_in(30))
		a.reserved[below(2)] = rnd();
	argp = rand_argp(&a, sizeof(a));
	e = log_begin(op, "fd %d size %#llx kind %u cache %u flags %#x%s",
		      fd_of(i), (unsigned long long)a.size, a.kind, a.cache,
		      a.flags, argp != &a ? " argp hostile" : "");
	ret = ioctl(fd_of(i), KUBUF_IOC_KBUF_ALLOC, argp);
	want = ladder_mode(i, true);
	if (!want && argp == &a) {
		if ((a.flags & ~KUBUF_KBUF_APP_WRITE) || a.reserved[0] ||
		    a.reserved[1] || a.kind > KUBUF_KBUF_DMA ||
		    a.cache > KUBUF_CACHE_UNCACHED || !a.size)
			want = EINVAL;
		else if (a.size > W.info.max_kbuf_size)
			want = E2BIG;
		else if (a.cache && (a.kind != KUBUF_KBUF_PAGES || !wc))
			want = EOPNOTSUPP;
	}
	expect_ladder(e, ret, want, E_ALLOC);
	count(op, ret);
	if (ret == 0 && argp == &a) {
		ent = id_add(W.kbufs, i, a.id);
		if (ent) {
			ent->off = a.mmap_offset;
			ent->len = (a.size + PG - 1) & ~(PG - 1);
			ent->flags = a.flags;
			W.kbuf_bytes += ent->len;
		}
		if (a.id > W.max_kbuf_id)
			W.max_kbuf_id = a.id;
	}
}

static void op_free(int op)
{
	int i, j;
	uint32_t id = id_guess(W.kbufs, W.max_kbuf_id, &i);
	struct kubuf_id a = { .id = id, .flags = one_in(20) ? rand_bits(0) : 0 };
	struct log_ent *e = log_begin(op, "fd %d id %u flags %#x", fd_of(i),
				      id, a.flags);
	long ret = ioctl(fd_of(i), KUBUF_IOC_KBUF_FREE,
			 rand_argp(&a, sizeof(a)));

	expect(e, ret, E_ID);
	count(op, ret);
	if (ret == 0)
		for (j = 0; j < MAX_IDS; j++)
			if (W.kbufs[j].live && W.kbufs[j].fdi == i &&
			    W.kbufs[j].id == id) {
				W.kbufs[j].live = false;
				W.kbuf_bytes -= W.kbufs[j].len;
			}
}

static struct map *map_slot(void)
{
	int i;

	for (i = 0; i < MAX_MAPS; i++)
		if (!W.maps[i].live)
			return &W.maps[i];
	return NULL;
}

static struct map *map_pick(void)
{
	int i, n = 0;
	struct map *pick = NULL;

	for (i = 0; i < MAX_MAPS; i++)
		if (W.maps[i].live && below(++n) == 0)
			pick = &W.maps[i];
	return pick;
}

static void map_drop(struct map *m)
{
	munmap(m->res, m->res_len);
	m->live = false;
}

/* Put PROT_NONE back over [p, p + len) of a reservation. */
static void rereserve(char *p, size_t len)
{
	mmap(p, len, PROT_NONE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS |
	     MAP_NORESERVE, -1, 0);
}

static void op_mmap(int op)
{
	struct id_ent *ent = id_pick(W.kbufs);
	struct map *m = map_slot();
	int i = ent ? ent->fdi : slot_pick();
	size_t pages, first, len;
	uint64_t off;
	int prot, flags;
	struct log_ent *e;
	char *at, *p;

	if (!m)
		return;
	if (ent) {
		pages = ent->len / PG;
		first = below(3) ? 0 : below(pages + 1);
		len = (below(3) ? pages - (first < pages ? first : 0) :
		       1 + below(pages + 1)) * PG;
		off = ent->off + first * PG;
	} else {
		len = (1 + below(8)) * PG;
		off = (below(W.max_kbuf_id + 2) << 28) + below(4) * PG;
		if (one_in(8))
			off = rnd() & ~(PG - 1) & ((1ULL << 62) - 1);
	}
	if (!len)
		len = PG;
	prot = below(3) ? PROT_READ | PROT_WRITE : PROT_READ;
	if (one_in(20))
		prot |= PROT_EXEC;
	if (one_in(30))
		prot = PROT_NONE;
	flags = one_in(20) ? MAP_PRIVATE : MAP_SHARED;
	at = reserve(len, PG, &m->res, &m->res_len);
	if (!at)
		return;
	e = log_begin(op, "fd %d len %#zx prot %#x %s off %#llx", fd_of(i),
		      len, prot, flags == MAP_SHARED ? "shared" : "private",
		      (unsigned long long)off);
	p = mmap(at, len, prot, flags | MAP_FIXED, fd_of(i), off);
	expect(e, p == MAP_FAILED ? -1 : 0, E_MMAP);
	count(op, p == MAP_FAILED ? -1 : 0);
	if (p == MAP_FAILED) {
		munmap(m->res, m->res_len);
		if ((flags == MAP_PRIVATE || (prot & PROT_EXEC)) &&
		    (errno != EACCES || W.fds[i].mode == O_RDWR) &&
		    errno != (flags == MAP_PRIVATE ? EINVAL : EPERM))
			fuzz_fail("mmap %s prot %#x: %s, not %s",
				  flags == MAP_PRIVATE ? "private" : "shared",
				  prot, strerror(errno),
				  flags == MAP_PRIVATE ? "EINVAL" : "EPERM");
		return;
	}
	if (flags == MAP_PRIVATE || (prot & PROT_EXEC))
		fuzz_fail("mmap %s prot %#x of the device worked",
			  flags == MAP_PRIVATE ? "private" : "shared", prot);
	*m = (struct map){ true, p, len, m->res, m->res_len, prot, false,
			   false };
	/* Every page is mapped at once. */
	if (prot & PROT_READ)
		for (first = 0; first < len; first += PG)
			(void)*(volatile char *)(p + first);
}

static void op_munmap(int op)
{
	struct map *m = map_pick();
	struct log_ent *e;
	long ret;

	if (!m)
		return;
	if (m->len > PG && below(2)) {
		/* The head page only: the VMA shrinks. */
		e = log_begin(op, "%p head page of %#zx", m->addr, m->len);
		ret = log_end(e, munmap(m->addr, PG), errno);
		count(op, ret);
		if (ret)
			fuzz_fail("munmap of a page: %s", strerror(errno));
		rereserve(m->addr, PG);
		m->addr += PG;
		m->len -= PG;
		return;
	}
	e = log_begin(op, "%p len %#zx", m->addr, m->len);
	ret = log_end(e, munmap(m->addr, m->len), errno);
	count(op, ret);
	if (ret)
		fuzz_fail("munmap: %s", strerror(errno));
	map_drop(m);
}

static void op_mremap(int op)
{
	struct map *m = map_pick();
	char *res, *at, *p;
	size_t res_len;
	struct log_ent *e;

	if (!m)
		return;
	switch (below(3)) {
	case 0:		/* grow: refused, VM_DONTEXPAND */
		e = log_begin(op, "%p grow %#zx to %#zx", m->addr, m->len,
			      m->len + PG);
		p = mremap(m->addr, m->len, m->len + PG, MREMAP_MAYMOVE);
		expect_errno(e, p == MAP_FAILED ? -1 : 0, EFAULT);
		count(op, -1);
		return;
	case 1:		/* shrink */
		if (m->len <= PG)
			return;
		e = log_begin(op, "%p shrink %#zx to %#zx", m->addr, m->len,
			      m->len - PG);
		p = mremap(m->addr, m->len, m->len - PG, 0);
		log_end(e, p == MAP_FAILED ? -1 : 0, errno);
		count(op, p == MAP_FAILED ? -1 : 0);
		if (p != m->addr)
			fuzz_fail("mremap shrink: %s", strerror(errno));
		m->len -= PG;
		rereserve(m->addr + m->len, PG);
		return;
	}
	at = reserve(m->len, PG, &res, &res_len);
	if (!at)
		return;
	e = log_begin(op, "%p move %#zx to %p", m->addr, m->len, at);
	p = mremap(m->addr, m->len, m->len, MREMAP_MAYMOVE | MREMAP_FIXED, at);
	expect(e, p == MAP_FAILED ? -1 : 0, (const int[]){ ENOMEM, 0 });
	count(op, p == MAP_FAILED ? -1 : 0);
	if (p == MAP_FAILED) {
		munmap(res, res_len);
		return;
	}
	munmap(m->res, m->res_len);
	m->addr = p;
	m->res = res;
	m->res_len = res_len;
}

static void op_mprotect(int op)
{
	struct map *m = map_pick();
	int prot;
	struct log_ent *e;
	long ret;

	if (!m)
		return;
	prot = below(4) ? (int)below(4) : PROT_READ | PROT_EXEC;
	e = log_begin(op, "%p len %#zx prot %#x", m->addr, m->len, prot);
	ret = mprotect(m->addr, m->len, prot);
	count(op, ret);
	if (prot & PROT_EXEC) {
		expect_errno(e, ret, EACCES);
		return;
	}
	expect(e, ret, (const int[]){ EACCES, ENOMEM, 0 });
	if (ret == 0)
		m->prot = prot;
}

static void op_madvise(int op)
{
	static const int advice[] = {
		MADV_DONTNEED, MADV_DONTFORK, MADV_DOFORK, MADV_PAGEOUT,
		MADV_COLD, MADV_WILLNEED, MADV_RANDOM, MADV_HUGEPAGE,
		MADV_MERGEABLE, MADV_FREE, MADV_REMOVE, MADV_WIPEONFORK,
		MADV_NORMAL, 22 /* POPULATE_READ */, 23 /* POPULATE_WRITE */,
	};
	int a = advice[below(sizeof(advice) / sizeof(advice[0]))];
	struct map *m = below(2) ? map_pick() : NULL;
	struct region *r = m ? NULL : region_pick();
	char *addr = m ? m->addr : r ? r->addr : NULL;
	size_t len = m ? m->len : r ? r->len : 0;
	struct log_ent *e;
	long ret;

	if (!addr)
		return;
	e = log_begin(op, "%s %p len %#zx advice %d", m ? "map" : "region",
		      addr, len, a);
	/* Anything goes but a crash: these are the kernel's, not ours. */
	ret = log_end(e, madvise(addr, len, a), errno);
	count(op, ret);
	if (ret)
		return;
	if (m && (a == MADV_DONTNEED || a == MADV_PAGEOUT || a == MADV_COLD ||
		  a == MADV_FREE || a == MADV_REMOVE))
		m->zapped = true;
	if (a == MADV_DONTFORK || a == MADV_DOFORK) {
		if (m)
			m->dontfork = a == MADV_DONTFORK;
		else
			r->dontfork = a == MADV_DONTFORK;
	}
}

/* Read every page of a mapping, write the writable ones. */
static void op_touch(int op)
{
	struct map *m = map_pick();
	struct log_ent *e;
	size_t i;

	if (!m || m->zapped || !(m->prot & PROT_READ))
		return;
	e = log_begin(op, "map %p len %#zx%s", m->addr, m->len,
		      m->prot & PROT_WRITE ? " write" : "");
	for (i = 0; i < m->len; i += PG) {
		(void)*(volatile char *)(m->addr + i);
		if (m->prot & PROT_WRITE)
			m->addr[i + below(PG)] = (char)rnd();
	}
	log_end(e, 0, 0);
	count(op, 0);
}

/* --- regions -------------------------------------------------------------- */

static void op_region(int op)
{
	struct region *r;
	struct log_ent *e;
	int prot;
	long ret;

	switch (below(6)) {
	case 0:
		e = log_begin(op, "new");
		r = region_new();
		log_end(e, r ? 0 : -1, ENOMEM);
		if (r)
			snprintf(e->args, sizeof(e->args), "new %s %p len %#zx",
				 region_names[r->kind], r->addr, r->len);
		count(op, r ? 0 : -1);
		return;
	case 1:
		r = region_pick();
		if (!r)
			return;
		e = log_begin(op, "unmap %s %p len %#zx", region_names[r->kind],
			      r->addr, r->len);
		region_free(r);
		log_end(e, 0, 0);
		count(op, 0);
		return;
	case 2:
		r = region_pick();
		if (!r || r->kind == R_HOLE)
			return;
		prot = below(4);
		e = log_begin(op, "mprotect %s %p len %#zx prot %d",
			      region_names[r->kind], r->addr, r->len, prot);
		ret = log_end(e, mprotect(r->addr, r->len, prot), errno);
		count(op, ret);
		if (ret == 0) {
			r->prot = prot;
			r->touchable = (prot & PROT_READ) &&
				       !(me.depth && r->kind == R_HUGETLB);
		}
		return;
	case 3:
		/*
		 * Truncate a memfd under its registrations, then regrow:
		 * only with no child, which could touch it meanwhile.
		 */
		r = region_pick();
		if (!r || r->kind != R_MEMFD || me.depth ||
		    W.kids[0] || W.kids[1] || W.kids[2] || W.kids[3])
			return;
		e = log_begin(op, "truncate memfd %p len %#zx", r->addr,
			      r->len);
		ret = ftruncate(r->fd, 0);
		if (!ret)
			ret = ftruncate(r->fd, r->len);
		log_end(e, ret, errno);
		count(op, ret);
		return;
	default:
		r = region_pick();
		if (!r || !r->touchable || !(r->prot & PROT_WRITE))
			return;
		e = log_begin(op, "write %s %p len %#zx", region_names[r->kind],
			      r->addr, r->len);
		memset(r->addr, (int)below(256), r->len);
		log_end(e, 0, 0);
		count(op, 0);
		return;
	}
}

/* --- the device ----------------------------------------------------------- */

static void op_dev_cmd(int op)
{
	struct kubuf_dev_cmd c;
	int i, src_i, want;
	bool ubuf = below(2);
	struct log_ent *e;
	long ret;

	memset(&c, 0, sizeof(c));
	c.op = one_in(20) ? (uint32_t)below(8) : 1 + below(4);
	c.flags = below(3) ? 0 : KUBUF_DEV_NOWAIT;
	if (one_in(20))
		c.flags = rand_bits(KUBUF_DEV_NOWAIT);
	c.kind = one_in(20) ? (uint32_t)below(4) :
		 ubuf ? KUBUF_MEM_UBUF : KUBUF_MEM_KBUF;
	c.id = id_guess(ubuf ? W.ubufs : W.kbufs,
			ubuf ? W.max_ubuf_id : W.max_kbuf_id, &i);
	c.len = below(4) ? 1 + below(16 * PG) : rand_len();
	c.offset = below(3) ? 0 : below(4) ? below(16 * PG) : rnd();
	if (c.op == KUBUF_DEV_FILL) {
		c.seed = rnd();
		/* Synchronous work stays short; a NOWAIT writer may run on. */
		c.repeat = below(4) ? 0 : below(8);
		if ((c.flags & KUBUF_DEV_NOWAIT) && one_in(8))
			c.repeat = one_in(8) ? ~0U : below(2000);
	}
	if (c.op == KUBUF_DEV_COPY) {
		bool su = below(2);

		c.src_kind = su ? KUBUF_MEM_UBUF : KUBUF_MEM_KBUF;
		c.src_id = id_guess(su ? W.ubufs : W.kbufs,
				    su ? W.max_ubuf_id : W.max_kbuf_id, &src_i);
		c.src_offset = below(2) ? 0 : below(16 * PG);
	}
	if (c.op == KUBUF_DEV_RESET && below(4)) {
		c.kind = c.id = 0;
		c.offset = c.len = 0;
	}
	if (one_in(30))
		c.reserved[below(2)] = rnd();
	e = log_begin(op, "fd %d op %u flags %#x kind %u id %u off %#llx len %#llx repeat %u src %u/%u/%#llx",
		      fd_of(i), c.op, c.flags, c.kind, c.id,
		      (unsigned long long)c.offset, (unsigned long long)c.len,
		      c.repeat, c.src_kind, c.src_id,
		      (unsigned long long)c.src_offset);
	ret = ioctl(fd_of(i), KUBUF_IOC_DEV_CMD, &c);
	want = ladder_mode(i, true);
	if (!want && ((c.flags & ~KUBUF_DEV_NOWAIT) || c.reserved[0] ||
		      c.reserved[1] || !c.op || c.op > KUBUF_DEV_RESET))
		want = EINVAL;
	expect_ladder(e, ret, want, E_DEV);
	count(op, ret);
}

/* --- events --------------------------------------------------------------- */

static int *efd_slot(bool live)
{
	int i, n = 0, *pick = NULL;

	for (i = 0; i < MAX_EFDS; i++)
		if ((W.efds[i] >= 0) == live && below(++n) == 0)
			pick = &W.efds[i];
	return pick;
}

static void op_eventfd(int op)
{
	struct kubuf_eventfd a = { 0 };
	int i = slot_pick(), *efd, want = 0;
	struct log_ent *e;
	long ret;

	switch (below(6)) {
	case 0:		/* a new eventfd */
		efd = efd_slot(false);
		if (!efd)
			return;
		e = log_begin(op, "eventfd()");
		*efd = log_end(e, eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), errno);
		count(op, *efd);
		return;
	case 1:		/* close one, bound or not */
		efd = efd_slot(true);
		if (!efd)
			return;
		e = log_begin(op, "close eventfd %d", *efd);
		close(*efd);
		*efd = -1;
		log_end(e, 0, 0);
		count(op, 0);
		return;
	case 2:		/* clear */
		a.fd = one_in(8) ? (int)below(8) : -1;
		a.flags = KUBUF_EVENTFD_CLEAR;
		if (a.fd != -1)
			want = EINVAL;
		break;
	default:	/* bind: an eventfd, or anything else */
		efd = efd_slot(true);
		switch (below(8)) {
		case 0:
			a.fd = -1 - (int)below(3);
			want = EBADF;
			break;
		case 1:
			a.fd = 1 << 20;
			want = EBADF;
			break;
		case 2:
			a.fd = fd_of(i);	/* the device itself */
			want = EINVAL;
			break;
		case 3:
			a.fd = W.sock[0];
			want = EINVAL;
			break;
		default:
			a.fd = efd ? *efd : -1;
			if (!efd)
				want = EBADF;
		}
		if (one_in(20))
			a.flags = rand_bits(0);
		/* Unknown bits; or CLEAR, which wants fd -1 and needs no fd. */
		if (a.flags & ~KUBUF_EVENTFD_CLEAR)
			want = EINVAL;
		else if (a.flags)
			want = a.fd == -1 ? 0 : EINVAL;
	}
	if (ladder_mode(i, true))
		want = EBADF;
	e = log_begin(op, "fd %d SET_EVENTFD fd %d flags %#x", fd_of(i), a.fd,
		      a.flags);
	ret = ioctl(fd_of(i), KUBUF_IOC_SET_EVENTFD, &a);
	expect_ladder(e, ret, want, E_EVENTFD);
	count(op, ret);
}

static void op_get_events(int op)
{
	int i = slot_pick();
	struct kubuf_events ev;
	struct log_ent *e;
	uint64_t v;
	long ret;

	kt_poison(&ev, sizeof(ev));
	ev.flags = one_in(20) ? rand_bits(0) : 0;
	e = log_begin(op, "fd %d flags %#x", fd_of(i), ev.flags);
	ret = ioctl(fd_of(i), KUBUF_IOC_GET_EVENTS, &ev);
	expect_ladder(e, ret, ev.flags ? EINVAL : 0,
		      E_EVENTS);
	count(op, ret);
	if (ret == 0 && ((ev.pending & ~(KUBUF_EVENT_REVOKED |
					  KUBUF_EVENT_DONE |
					  KUBUF_EVENT_RING_DATA |
					  KUBUF_EVENT_RING_STATE)) ||
			 ev.reserved[0] || ev.reserved[1]))
		fuzz_fail("GET_EVENTS: pending %#x reserved %llx %llx",
			  ev.pending, (unsigned long long)ev.reserved[0],
			  (unsigned long long)ev.reserved[1]);
	/* Drain the eventfds too, now and then. */
	for (i = 0; i < MAX_EFDS; i++)
		if (W.efds[i] >= 0 && read(W.efds[i], &v, sizeof(v)) < 0 &&
		    errno != EAGAIN)
			fuzz_fail("read of an eventfd: %s", strerror(errno));
}

static void op_poll(int op)
{
	struct pollfd p[MAX_FDS];
	struct log_ent *e;
	int i, n = 0;
	long ret;

	for (i = 0; i < MAX_FDS; i++)
		if (W.fds[i].live) {
			p[n].fd = W.fds[i].fd;
			p[n++].events = POLLIN | POLLPRI;
		}
	e = log_begin(op, "%d fds", n);
	ret = log_end(e, kt_poll(p, n, below(3)), errno);
	count(op, ret);
	if (ret < 0 && errno != EINTR)
		fuzz_fail("poll: %s", strerror(errno));
	for (i = 0; ret > 0 && i < n; i++)
		if (p[i].revents & (POLLNVAL | POLLERR))
			fuzz_fail("poll: fd %d revents %#x", p[i].fd,
				  p[i].revents);
}

/* A kubuf ioctl where it does not belong, or a command kubuf lacks. */
static void op_bad_ioctl(int op)
{
	char arg[256] = { 0 };
	unsigned long cmd;
	struct log_ent *e;
	int fd, i = slot_pick();
	unsigned int k;
	long ret;

	if (below(2)) {
		/* Right number, wrong direction or size; or a free number. */
		k = below(KT_NR_DEFINED_CMDS);
		cmd = below(2) ? _IOC(below(4), KUBUF_IOC_MAGIC,
				      _IOC_NR(kt_defined_cmds[k]), below(200)) :
		      _IOC(below(4), KUBUF_IOC_MAGIC, 0x40 + below(0xc0),
			   below(64));
		/* A mangled command may come out as a defined one. */
		for (k = 0; k < KT_NR_DEFINED_CMDS; k++)
			if (cmd == kt_defined_cmds[k])
				return;
		e = log_begin(op, "fd %d cmd %#lx", fd_of(i), cmd);
		ret = ioctl(fd_of(i), cmd, arg);
		expect_errno(e, ret, ENOTTY);
		count(op, ret);
		return;
	}
	/* kubuf's commands on an eventfd, a socket, nothing. */
	fd = below(3) == 0 ? W.sock[1] : below(2) ? -1 : W.efds[below(MAX_EFDS)];
	cmd = below(2) ? KUBUF_IOC_GET_EVENTS : KUBUF_IOC_UBUF_REGISTER;
	e = log_begin(op, "not-kubuf fd %d cmd %#lx", fd, cmd);
	ret = expect(e, ioctl(fd, cmd, arg), E_NOT_KUBUF);
	count(op, ret);
	if (ret >= 0)
		fuzz_fail("a kubuf command worked on fd %d", fd);
}

/* --- processes and descriptors passed around ------------------------------ */

static void run_ops(unsigned long n);

/* Everything this process holds is now held by another one too. */
static void all_shared(void)
{
	int i;

	for (i = 0; i <= MAX_FDS; i++)
		W.fds[i].shared = true;
}

static void op_fork(int op)
{
	struct log_ent *e;
	int k, i;
	pid_t pid;

	if (me.depth)
		return;
	for (k = 0; k < MAX_KIDS && W.kids[k] > 0; k++)
		;
	if (k == MAX_KIDS)
		return;
	e = log_begin(op, "child %d", k);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		kt_storm_child();
		me.depth = 1;
		me.stream = rnd();
		rnd_state = me.stream;
		/* What MADV_DONTFORK kept out of the child is not here. */
		for (i = 0; i < MAX_MAPS; i++)
			if (W.maps[i].live && W.maps[i].dontfork)
				W.maps[i].live = false;
		for (i = 0; i < MAX_REGIONS; i++) {
			if (W.regions[i].live && W.regions[i].dontfork)
				W.regions[i].live = false;
			/*
			 * A private huge page written after fork() is copied
			 * for the child only if the pool has one to spare:
			 * SIGBUS otherwise, the kernel's rule, not kubuf's.
			 */
			if (W.regions[i].kind == R_HUGETLB)
				W.regions[i].touchable = false;
		}
		for (i = 0; i < MAX_KIDS; i++)
			W.kids[i] = 0;
		all_shared();
		log_end(e, 0, 0);
		run_ops(1 + below(KID_OPS));
		_exit(0);
	}
	log_end(e, pid, errno);
	count(op, pid);
	if (pid < 0) {
		if (errno != EAGAIN && errno != ENOMEM)
			fuzz_fail("fork: %s", strerror(errno));
		return;
	}
	W.kids[k] = pid;
	W.kid_killed[k] = false;
	all_shared();
	__atomic_add_fetch(&shared->kids, 1, __ATOMIC_RELAXED);
}

/* Reap the children that ended; @wait: all of them, killing them first. */
static void reap_kids(bool wait)
{
	int k, status;
	pid_t r;

	for (k = 0; k < MAX_KIDS; k++) {
		if (W.kids[k] <= 0)
			continue;
		if (wait && !W.kid_killed[k]) {
			kill(W.kids[k], SIGKILL);
			W.kid_killed[k] = true;
		}
		r = waitpid(W.kids[k], &status, wait ? 0 : WNOHANG);
		if (r == 0)
			continue;
		if (r < 0)
			fuzz_fail("waitpid: %s", strerror(errno));
		if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			fuzz_fail("child %d failed (its report is above)", r);
		if (WIFSIGNALED(status) &&
		    !(WTERMSIG(status) == SIGKILL && W.kid_killed[k]))
			fuzz_fail("child %d died of signal %d (%s)", r,
				  WTERMSIG(status), strsignal(WTERMSIG(status)));
		W.kids[k] = 0;
	}
}

static void op_kill(int op)
{
	struct log_ent *e;
	int k = below(MAX_KIDS);

	if (W.kids[k] <= 0 || W.kid_killed[k]) {
		reap_kids(false);
		return;
	}
	e = log_begin(op, "SIGKILL child %d", W.kids[k]);
	kill(W.kids[k], SIGKILL);
	W.kid_killed[k] = true;
	log_end(e, 0, 0);
	count(op, 0);
	__atomic_add_fetch(&shared->kills, 1, __ATOMIC_RELAXED);
	reap_kids(false);
}

/* SCM_RIGHTS: a device fd or an eventfd, to ourselves or a child. */
static void op_scm_send(int op)
{
	char kind = below(4) ? 'k' : 'e';
	int i = slot_pick(), *efd = efd_slot(true);
	int fd = kind == 'k' ? fd_of(i) : efd ? *efd : -1;
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &kind, 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	struct log_ent *e;
	long ret;

	if (fd < 0)
		return;
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	e = log_begin(op, "send %c fd %d", kind, fd);
	ret = log_end(e, sendmsg(W.sock[0], &mh, MSG_DONTWAIT | MSG_NOSIGNAL),
		      errno);
	count(op, ret);
	if (ret < 0 && errno != EAGAIN && errno != ENOBUFS &&
	    errno != ETOOMANYREFS)
		fuzz_fail("sendmsg: %s", strerror(errno));
	if (ret > 0 && kind == 'k')
		W.fds[i].shared = true;
}

/* Is @fd what the message said: the device ('k') or an eventfd ('e')? */
static bool fd_is(int fd, char kind)
{
	char path[32], link[64];
	struct stat st;
	ssize_t n;

	if (kind == 'k')
		return !fstat(fd, &st) && S_ISCHR(st.st_mode) &&
		       st.st_rdev == W.dev_rdev;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	return !strcmp(link, "anon_inode:[eventfd]");
}

static void op_scm_recv(int op)
{
	char kind, cbuf[CMSG_SPACE(2 * sizeof(int))];
	struct iovec iov = { &kind, 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	struct log_ent *e = log_begin(op, "recv");
	int fd, *efd;
	long ret;

	ret = log_end(e, recvmsg(W.sock[1], &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC),
		      errno);
	count(op, ret);
	if (ret < 0) {
		if (errno != EAGAIN)
			fuzz_fail("recvmsg: %s", strerror(errno));
		return;
	}
	cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	snprintf(e->args, sizeof(e->args), "recv %c fd %d", kind, fd);
	/* A cycle's message ('c'), sent before a reset: close what came. */
	if (cm->cmsg_len > CMSG_LEN(sizeof(int)) || !fd_is(fd, kind)) {
		int fds[2], k, n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		memcpy(fds, CMSG_DATA(cm), n * sizeof(int));
		for (k = 0; k < n; k++)
			close(fds[k]);
		return;
	}
	if (kind == 'k') {
		slot_add(fd, fcntl(fd, F_GETFL) & O_ACCMODE, true);
		return;
	}
	efd = efd_slot(false);
	if (efd)
		*efd = fd;
	else
		close(fd);
}

/*
 * A new socket pair. What is in flight in the old one goes with it; now
 * and then the pair first sends itself, with a device fd, so only the
 * garbage collector of unix sockets can release them: the device's
 * release then runs in a kernel worker.
 */
static void op_scm_reset(int op)
{
	struct log_ent *e = log_begin(op, "sockets %d %d%s", W.sock[0],
				      W.sock[1], "");
	int fd = below(2) ? fd_of(slot_pick()) : -1;
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	char kind = 'c';
	struct iovec iov = { &kind, 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	int fds[2] = { W.sock[1], fd };

	if (fd >= 0) {
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(2 * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, sizeof(fds));
		snprintf(e->args, sizeof(e->args), "cycle with fd %d", fd);
		sendmsg(W.sock[0], &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		all_shared();
	}
	close(W.sock[0]);
	close(W.sock[1]);
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, W.sock))
		fuzz_fail("socketpair: %s", strerror(errno));
	log_end(e, 0, 0);
	count(op, 0);
}

/* --- threads -------------------------------------------------------------- */

static volatile bool threads_stop;
static char thread_failure[256];

static void thread_fail(const char *what, int err)
{
	if (!thread_failure[0])
		snprintf(thread_failure, sizeof(thread_failure),
			 "thread: %s: errno %d (%s) is not one it documents",
			 what, err, strerror(err));
	threads_stop = true;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * poll() on the device fds of the moment, GET_EVENTS when one has some:
 * the main thread closes and replaces them meanwhile.
 */
static void *poller(void *arg)
{
	static const int allowed[] = { EBADF, ENOTTY, EINVAL, 0 };
	uint64_t s = (uintptr_t)arg | 1;
	struct kubuf_events ev;
	struct pollfd p;

	while (!threads_stop) {
		p.fd = __atomic_load_n(&poll_fds[xorshift(&s) % MAX_FDS],
				       __ATOMIC_RELAXED);
		if (p.fd < 0) {
			sched_yield();
			continue;
		}
		p.events = POLLIN | POLLPRI;
		if (kt_poll(&p, 1, 5) <= 0 || !(p.revents & POLLPRI))
			continue;
		memset(&ev, 0, sizeof(ev));
		if (ioctl(p.fd, KUBUF_IOC_GET_EVENTS, &ev) < 0) {
			if (!errno_in(errno, allowed))
				thread_fail("GET_EVENTS", errno);
		} else if (ev.pending & ~(KUBUF_EVENT_REVOKED |
					  KUBUF_EVENT_DONE |
					  KUBUF_EVENT_RING_DATA |
					  KUBUF_EVENT_RING_STATE)) {
			thread_fail("GET_EVENTS: unknown bits", 0);
		}
	}
	return NULL;
}

/*
 * Two threads at once on one file: registrations of their own memory,
 * ids guessed (the other thread's, the main thread's), device commands,
 * resets. Only the errnos are checked; nothing they make is tracked.
 */
struct racer {
	int fd;
	char *mem;
	uint64_t s;
	uint32_t max_id;
	/* Read-only: REGISTER of mem, ALLOC of a page, never answered. */
	struct kubuf_ubuf_reg *ro_reg;
	struct kubuf_kbuf_alloc *ro_alloc;
	pthread_t th;
};

static void *racer(void *arg)
{
	struct racer *r = arg;
	int n;

	for (n = 0; n < 64 && !threads_stop; n++) {
		uint64_t x = xorshift(&r->s);
		uint32_t id = 1 + (x >> 8) % (r->max_id + 4);
		struct kubuf_ubuf_reg reg;
		struct kubuf_dev_cmd c;
		struct kubuf_id a = { .id = id };
		struct kubuf_kbuf_alloc al;
		long ret;
		const int *ok;
		const char *what;

		switch (x % 7) {
		case 0:
			memset(&reg, 0, sizeof(reg));
			reg.addr = (uintptr_t)r->mem + ((x >> 16) % 4) * PG;
			reg.len = PG * (1 + (x >> 24) % 4);
			reg.access = RW;
			/* The answer may be unwritable: the undo path. */
			ret = ioctl(r->fd, KUBUF_IOC_UBUF_REGISTER,
				    (x >> 40) % 4 ? (void *)&reg :
				    (void *)r->ro_reg);
			ok = E_REGISTER;
			what = "REGISTER";
			break;
		case 1:
			ret = ioctl(r->fd, KUBUF_IOC_UBUF_UNREGISTER, &a);
			ok = E_ID;
			what = "UNREGISTER";
			break;
		case 2:
			memset(&al, 0, sizeof(al));
			al.size = PG;
			ret = ioctl(r->fd, KUBUF_IOC_KBUF_ALLOC,
				    (x >> 40) % 4 ? (void *)&al :
				    (void *)r->ro_alloc);
			ok = E_ALLOC;
			what = "ALLOC";
			break;
		case 3:
			ret = ioctl(r->fd, KUBUF_IOC_KBUF_FREE, &a);
			ok = E_ID;
			what = "FREE";
			break;
		default:
			memset(&c, 0, sizeof(c));
			c.op = x % 7 == 6 ? KUBUF_DEV_RESET : KUBUF_DEV_FILL;
			if (c.op == KUBUF_DEV_FILL) {
				c.kind = 1 + (x >> 12) % 2;
				c.id = id;
				c.len = 1 + (x >> 20) % (4 * PG);
				c.flags = (x >> 50) % 2 ? KUBUF_DEV_NOWAIT : 0;
			}
			ret = ioctl(r->fd, KUBUF_IOC_DEV_CMD, &c);
			ok = E_DEV;
			what = "DEV_CMD";
		}
		if (ret < 0 && !errno_in(errno, ok)) {
			thread_fail(what, errno);
			break;
		}
	}
	return NULL;
}

static void op_race(int op)
{
	struct racer r[2];
	int i = slot_pick(), k;
	struct region *mem = region_pick();
	struct log_ent *e;

	if (!mem || mem->len < 8 * PG)
		return;
	e = log_begin(op, "2 threads on fd %d, memory %p", fd_of(i), mem->addr);
	mprotect(W.race_args, 2 * PG, PROT_READ | PROT_WRITE);
	for (k = 0; k < 2; k++) {
		r[k].fd = fd_of(i);
		r[k].mem = mem->addr;
		r[k].ro_reg = (void *)(W.race_args + k * PG);
		r[k].ro_alloc = (void *)(W.race_args + k * PG + 256);
		memset(r[k].ro_reg, 0, sizeof(*r[k].ro_reg));
		r[k].ro_reg->addr = (uintptr_t)mem->addr;
		r[k].ro_reg->len = 4 * PG;
		r[k].ro_reg->access = RW;
		memset(r[k].ro_alloc, 0, sizeof(*r[k].ro_alloc));
		r[k].ro_alloc->size = PG;
		r[k].s = rnd() | 1;
		r[k].max_id = W.max_ubuf_id > W.max_kbuf_id ? W.max_ubuf_id :
			      W.max_kbuf_id;
	}
	mprotect(W.race_args, 2 * PG, PROT_READ);
	for (k = 0; k < 2; k++)
		if (pthread_create(&r[k].th, NULL, racer, &r[k]))
			fuzz_fail("pthread_create");
	for (k = 0; k < 2; k++)
		pthread_join(r[k].th, NULL);
	log_end(e, 0, 0);
	count(op, 0);
	if (thread_failure[0])
		fuzz_fail("%s", thread_failure);
	/* They may have ended any registration or buffer of this file. */
	W.fds[i].shared = true;
}

/* --- data the fuzzer can know --------------------------------------------- */

/*
 * Each check works on a file of its own, opened for it and closed after,
 * and on W.scratch, which nothing else ever registers: nobody else can
 * write what it verifies.
 */
static void check_fail(const char *what, long ret)
{
	fuzz_fail("data check: %s: %s", what, ret < 0 ? strerror(errno) :
		  "wrong result");
}

static bool resource_errno(long ret)
{
	return ret < 0 && (errno == ENOMEM || errno == ENOSPC ||
			   errno == EBUSY);
}

static long dev_cmd_on(int fd, uint32_t op, uint32_t kind, uint32_t id,
		       uint64_t len, uint32_t seed, uint64_t *result)
{
	return kt_dev_cmd(fd, op, 0, kind, id, len, seed, result);
}

/* Register, FILL, verify, write, CHECKSUM, verify, unregister. */
static void op_check_ubuf(int op)
{
	size_t off = below(PG), len = 1 + below(32 * PG), i;
	uint32_t seed = rnd();
	char *buf = W.scratch;
	struct kubuf_ubuf_reg r;
	struct kubuf_id a;
	uint64_t sum;
	int fd = kt_open_dev(O_RDWR);
	struct log_ent *e = log_begin(op, "off %#zx len %#zx seed %#x", off,
				      len, seed);
	long ret;

	if (fd < 0)
		check_fail("open", fd);
	memset(buf, 0x5a, off + len + PG);
	memset(&r, 0, sizeof(r));
	r.addr = (uintptr_t)buf + off;
	r.len = len;
	r.access = RW;
	ret = ioctl(fd, KUBUF_IOC_UBUF_REGISTER, &r);
	if (resource_errno(ret))
		goto out;
	if (ret)
		check_fail("REGISTER", ret);
	ret = dev_cmd_on(fd, KUBUF_DEV_FILL, KUBUF_MEM_UBUF, r.id, len, seed,
			 NULL);
	if (resource_errno(ret))
		goto unreg;
	if (ret)
		check_fail("FILL", ret);
	if (kubuf_pattern_check(buf + off, len, seed))
		check_fail("FILL wrote the wrong bytes", 0);
	for (i = 0; i < off; i++)
		if (buf[i] != 0x5a)
			check_fail("FILL wrote before the range", 0);
	for (i = off + len; i < off + len + PG; i++)
		if (buf[i] != 0x5a)
			check_fail("FILL wrote after the range", 0);
	/* The application writes, the device reads. */
	buf[off + below(len)] ^= 0x81;
	ret = dev_cmd_on(fd, KUBUF_DEV_CHECKSUM, KUBUF_MEM_UBUF, r.id, len, 0,
			 &sum);
	if (resource_errno(ret))
		goto unreg;
	if (ret || sum != kubuf_checksum(KUBUF_CHECKSUM_INIT, buf + off, len))
		check_fail("CHECKSUM", ret);
	__atomic_add_fetch(&shared->checks, 1, __ATOMIC_RELAXED);
unreg:
	memset(&a, 0, sizeof(a));
	a.id = r.id;
	if (ioctl(fd, KUBUF_IOC_UBUF_UNREGISTER, &a))
		check_fail("UNREGISTER", -1);
	if (ioctl(fd, KUBUF_IOC_UBUF_UNREGISTER, &a) != -1 || errno != ENOENT)
		check_fail("second UNREGISTER is not ENOENT", 0);
	ret = 0;
out:
	close(fd);
	log_end(e, ret, errno);
	count(op, ret);
}

/*
 * A buffer of a random kind and cache mode: zeros when mapped; FILL seen
 * through the mapping; the application's writes seen by CHECKSUM; COPY
 * to a second buffer; FREE while mapped keeps the memory as it was.
 */
static void op_check_kbuf(int op)
{
	bool dma = one_in(4), modes = W.info.features & KUBUF_FEAT_KBUF_WC;
	uint32_t cache = !dma && modes ? below(3) : 0, seed = rnd();
	size_t len = (1 + below(16)) * PG, i, res_len = 0;
	struct kubuf_kbuf_alloc a, b;
	struct kubuf_dev_cmd c;
	struct kubuf_id f;
	char *res = NULL, *at, *p = MAP_FAILED;
	uint64_t sum;
	int fd = kt_open_dev(O_RDWR);
	struct log_ent *e = log_begin(op, "%s cache %u len %#zx seed %#x",
				      dma ? "dma" : "pages", cache, len, seed);
	long ret;

	if (fd < 0)
		check_fail("open", fd);
	memset(&a, 0, sizeof(a));
	a.size = len;
	a.kind = dma ? KUBUF_KBUF_DMA : KUBUF_KBUF_PAGES;
	a.cache = cache;
	a.flags = KUBUF_KBUF_APP_WRITE;
	b = a;
	b.cache = 0;
	ret = ioctl(fd, KUBUF_IOC_KBUF_ALLOC, &a);
	if (!ret)
		ret = ioctl(fd, KUBUF_IOC_KBUF_ALLOC, &b);
	if (resource_errno(ret))
		goto out;
	if (ret)
		check_fail("ALLOC", ret);
	at = reserve(len, PG, &res, &res_len);
	if (at)
		p = mmap(at, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			 fd, a.mmap_offset);
	if (p == MAP_FAILED) {
		if (errno == ENOMEM)
			goto out;
		check_fail("mmap", -1);
	}
	for (i = 0; i < len; i++)
		if (p[i])
			check_fail("a new buffer is not zero", 0);
	ret = dev_cmd_on(fd, KUBUF_DEV_FILL, KUBUF_MEM_KBUF, a.id, len, seed,
			 NULL);
	if (!ret && kubuf_pattern_check(p, len, seed))
		check_fail("FILL: the mapping shows other bytes", 0);
	if (!ret) {
		p[below(len)] ^= 0x42;
		ret = dev_cmd_on(fd, KUBUF_DEV_CHECKSUM, KUBUF_MEM_KBUF, a.id,
				 len, 0, &sum);
		if (!ret && sum != kubuf_checksum(KUBUF_CHECKSUM_INIT, p, len))
			check_fail("CHECKSUM of the application's writes", 0);
	}
	if (!ret) {
		memset(&c, 0, sizeof(c));
		c.op = KUBUF_DEV_COPY;
		c.kind = KUBUF_MEM_KBUF;
		c.id = b.id;
		c.src_kind = KUBUF_MEM_KBUF;
		c.src_id = a.id;
		c.len = len;
		ret = ioctl(fd, KUBUF_IOC_DEV_CMD, &c);
		if (!ret)
			ret = dev_cmd_on(fd, KUBUF_DEV_CHECKSUM, KUBUF_MEM_KBUF,
					 b.id, len, 0, &sum);
		if (!ret && sum != kubuf_checksum(KUBUF_CHECKSUM_INIT, p, len))
			check_fail("COPY", 0);
	}
	if (ret && !resource_errno(ret))
		check_fail("device command", ret);
	if (!ret)
		__atomic_add_fetch(&shared->checks, 1, __ATOMIC_RELAXED);
	sum = kubuf_checksum(KUBUF_CHECKSUM_INIT, p, len);
	memset(&f, 0, sizeof(f));
	f.id = a.id;
	if (ioctl(fd, KUBUF_IOC_KBUF_FREE, &f))
		check_fail("FREE", -1);
	if (sum != kubuf_checksum(KUBUF_CHECKSUM_INIT, p, len))
		check_fail("FREE while mapped changed the memory", 0);
	ret = 0;
out:
	if (res)
		munmap(res, res_len);
	close(fd);
	log_end(e, ret, errno);
	count(op, ret);
}

/* read() and UCOPY into the scratch memory: the pattern, exactly. */
static void op_check_copy(int op)
{
	size_t len = 1 + below(one_in(4) ? (1 << 20) : 16 * PG);
	uint32_t seed = rnd();
	int i = slot_pick(), fd = fd_of(i);
	struct kubuf_ucopy u;
	struct log_ent *e;
	long ret;

	if (W.fds[i].mode == O_WRONLY)
		return;
	e = log_begin(op, "fd %d len %#zx seed %#x", fd, len, seed);
	ret = read(fd, W.scratch, len);
	if (ret != (long)len && !resource_errno(ret))
		check_fail("read", ret);
	if (ret == (long)len && kubuf_pattern_check(W.scratch, len, 0))
		check_fail("read: not the pattern", 0);
	memset(&u, 0, sizeof(u));
	u.op = KUBUF_UCOPY_FILL;
	u.addr = (uintptr_t)W.scratch;
	u.len = len;
	u.seed = seed;
	ret = ioctl(fd, KUBUF_IOC_UCOPY, &u);
	if (ret && !resource_errno(ret))
		check_fail("UCOPY FILL", ret);
	if (!ret && kubuf_pattern_check(W.scratch, len, seed))
		check_fail("UCOPY FILL: not the pattern", 0);
	W.scratch[below(len)] ^= 0x18;
	u.op = KUBUF_UCOPY_CHECKSUM;
	u.seed = 0;
	ret = ioctl(fd, KUBUF_IOC_UCOPY, &u);
	if (ret && !resource_errno(ret))
		check_fail("UCOPY CHECKSUM", ret);
	if (!ret && u.result != kubuf_checksum(KUBUF_CHECKSUM_INIT, W.scratch,
					       len))
		check_fail("UCOPY CHECKSUM: wrong sum", 0);
	if (!ret)
		__atomic_add_fetch(&shared->checks, 1, __ATOMIC_RELAXED);
	log_end(e, ret, errno);
	count(op, ret);
}

/* --- the table ------------------------------------------------------------ */

/*
 * Every operation the fuzzer knows, with its weight. To add one, write
 * its function (log_begin(), the call, expect() with its documented
 * errnos, count()) and add a line here; kid_ok if a forked child may run
 * it too.
 */
/* --- rings ------------------------------------------------------------------ */

static const int E_RING_ATTACH[] = { EBADF, EINVAL, ENOENT, ESHUTDOWN, EACCES,
				     ERANGE, ENOSPC, ENOMEM, EFAULT, 0 };
static const int E_STREAM[] = { EBADF, EINVAL, ENOENT, E2BIG, EBUSY,
				ESHUTDOWN, ENOMEM, EFAULT, 0 };

static void op_ring_attach(int op)
{
	bool ub = below(2);
	struct id_ent *mem = id_pick(ub ? W.ubufs : W.kbufs), *reply, *ent;
	struct kubuf_ring_attach a = { .eventfd = -1 };
	int i = mem ? mem->fdi : slot_pick();
	struct log_ent *e;
	long ret;

	a.dir = one_in(20) ? rand_bits(0) : 1 + (uint32_t)below(2);
	a.kind = one_in(20) ? rand_bits(0) : ub ? KUBUF_MEM_UBUF : KUBUF_MEM_KBUF;
	a.mem_id = mem ? mem->id : (uint32_t)below(8);
	a.data_size = one_in(10) ? rand_bits(0) : 256U << below(7);
	a.offset = one_in(10) ? rnd() : 64 * below(256);
	if (a.dir == KUBUF_RING_TO_APP) {
		if (one_in(4)) {
			a.flags = KUBUF_RING_BUSY_POLL;
		} else {
			a.wake_records = one_in(20) ? 0 : 1 + (uint32_t)below(64);
			a.wake_usecs = (uint32_t)below(3000);
			if (below(2))
				a.eventfd = W.efds[below(MAX_EFDS)];
		}
	} else if (below(2)) {
		reply = id_pick(W.rings);
		a.reply_id = reply ? reply->id : (uint32_t)below(4);
	}
	if (one_in(30))
		a.reserved[below(2)] = rnd();
	e = log_begin(op, "fd %d dir %u kind %u mem %u off %#llx size %#x efd %d wake %u/%u reply %u",
		      fd_of(i), a.dir, a.kind, a.mem_id,
		      (unsigned long long)a.offset, a.data_size, a.eventfd,
		      a.wake_records, a.wake_usecs, a.reply_id);
	ret = expect(e, ioctl(fd_of(i), KUBUF_IOC_RING_ATTACH,
			      rand_argp(&a, sizeof(a))), E_RING_ATTACH);
	count(op, ret);
	if (ret < 0)
		return;
	ent = id_add(W.rings, i, a.id);
	if (a.id > W.max_ring_id)
		W.max_ring_id = a.id;
	if (!ent)
		return;
	ent->off = ub && mem ? mem->off + a.offset : 0;
	ent->len = KUBUF_RING_CTL_SIZE + (size_t)a.data_size;
	ent->flags = a.dir;
}

static void op_ring_stream(int op)
{
	int i;
	uint32_t id = id_guess(W.rings, W.max_ring_id, &i);
	struct kubuf_stream st = {
		.ring_id = id,
		.flags = one_in(20) ? rand_bits(0) :
			 below(2) ? KUBUF_STREAM_LOSSLESS : 0,
		.rec_size = one_in(10) ? rand_bits(0) : (uint32_t)below(4096),
		.seed = (uint32_t)rnd(),
		.rate = below(3) ? 1 + below(200000) : 0,
		.count = one_in(10) ? 0 : below(5000),
	};
	struct log_ent *e = log_begin(op, "fd %d ring %u flags %#x size %u rate %llu count %llu",
				      fd_of(i), id, st.flags, st.rec_size,
				      (unsigned long long)st.rate,
				      (unsigned long long)st.count);
	long ret = ioctl(fd_of(i), KUBUF_IOC_STREAM_START,
			 rand_argp(&st, sizeof(st)));

	count(op, expect(e, ret, E_STREAM));
}

/* STOP, KICK or DETACH, by the name of the op. */
static void op_ring_id(int op)
{
	static const unsigned long cmds[] = { KUBUF_IOC_STREAM_STOP,
		KUBUF_IOC_RING_KICK, KUBUF_IOC_RING_DETACH };
	unsigned int which = (unsigned int)below(3);
	int i, j;
	uint32_t id = id_guess(W.rings, W.max_ring_id, &i);
	struct kubuf_id a = { .id = id, .flags = one_in(20) ? rand_bits(0) : 0 };
	struct log_ent *e = log_begin(op, "fd %d %s ring %u flags %#x",
				      fd_of(i), which == 0 ? "stop" :
				      which == 1 ? "kick" : "detach", id,
				      a.flags);
	long ret = ioctl(fd_of(i), cmds[which], rand_argp(&a, sizeof(a)));

	count(op, expect(e, ret, E_ID));
	if (ret == 0 && which == 2)
		for (j = 0; j < MAX_IDS; j++)
			if (W.rings[j].live && W.rings[j].fdi == i &&
			    W.rings[j].id == id)
				W.rings[j].live = false;
}

static void op_ring_query(int op)
{
	int i;
	uint32_t id = id_guess(W.rings, W.max_ring_id, &i);
	struct kubuf_ring_query q;
	struct log_ent *e;
	long ret;

	kt_poison(&q, sizeof(q));
	q.id = id;
	q.flags = one_in(20) ? rand_bits(0) : 0;
	e = log_begin(op, "fd %d ring %u flags %#x", fd_of(i), id, q.flags);
	ret = expect(e, ioctl(fd_of(i), KUBUF_IOC_RING_QUERY, &q), E_QUERY);
	count(op, ret);
	if (ret < 0)
		return;
	if (q.reserved[0] || q.reserved[1] || q.id != id ||
	    q.state < KUBUF_RING_ACTIVE || q.state > KUBUF_RING_DEAD ||
	    (q.error && q.state != KUBUF_RING_BROKEN) ||
	    q.error > KUBUF_RING_ERR_REC ||
	    (q.dir != KUBUF_RING_TO_APP && q.dir != KUBUF_RING_TO_DEV) ||
	    q.stream > KUBUF_STREAM_DONE ||
	    (q.dir == KUBUF_RING_TO_DEV && (q.stream || q.dropped)))
		fuzz_fail("RING_QUERY %u: bad answer: state %u error %u dir %u stream %u",
			  id, q.state, q.error, q.dir, q.stream);
}

/* The live, touchable region holding [addr, addr + len), if any. */
static struct region *region_of(uint64_t addr, size_t len)
{
	int i;

	for (i = 0; i < MAX_REGIONS; i++) {
		struct region *r = &W.regions[i];

		if (r->live && r->touchable && (r->prot & PROT_WRITE) &&
		    addr >= (uintptr_t)r->addr &&
		    addr + len <= (uintptr_t)r->addr + r->len)
			return r;
	}
	return NULL;
}

/*
 * The application's side of a ring in a registration: consume what is
 * there, or scribble random words over it while the device uses it.
 */
static void op_ring_touch(int op)
{
	struct id_ent *ent = id_pick(W.rings);
	bool scribble = below(2);
	struct kubuf_ring_view v;
	struct kubuf_rec rec;
	struct log_ent *e;
	uint64_t *w;
	int n;

	if (!ent || !ent->off || !region_of(ent->off, ent->len))
		return;
	e = log_begin(op, "ring %u at %#llx len %#zx: %s", ent->id,
		      (unsigned long long)ent->off, ent->len,
		      scribble ? "scribble" : "consume");
	w = (uint64_t *)(uintptr_t)ent->off;
	if (scribble) {
		for (n = (int)below(32); n >= 0; n--)
			__atomic_store_n(&w[below(ent->len / 8)], rnd(),
					 __ATOMIC_RELAXED);
	} else if (ent->flags == KUBUF_RING_TO_APP) {
		kubuf_ring_view_init(&v, w, ent->len - KUBUF_RING_CTL_SIZE);
		v.pos = __atomic_load_n(&v.ctl->tail, __ATOMIC_RELAXED);
		v.peer = v.pos;
		if (kubuf_ring_cons_avail(&v) >= 0)
			for (n = 0; n < 64 &&
			     kubuf_ring_cons_peek(&v, &rec, 1 << 20); n++)
				kubuf_ring_cons_next(&v, &rec);
		kubuf_ring_cons_release(&v);
	}
	log_end(e, 0, 0);
	count(op, 0);
}

static const struct fuzz_op ops[] = {
	{ "open", 4, op_open, true },
	{ "close", 3, op_close, true },
	{ "dup", 2, op_dup, true },
	{ "register", 10, op_register, true },
	{ "unregister", 6, op_unregister, true },
	{ "query", 4, op_query, true },
	{ "ucopy", 3, op_ucopy, true },
	{ "read", 2, op_read, true },
	{ "kbuf_alloc", 8, op_alloc, true },
	{ "kbuf_free", 5, op_free, true },
	{ "mmap", 8, op_mmap, true },
	{ "munmap", 4, op_munmap, true },
	{ "mremap", 3, op_mremap, true },
	{ "mprotect", 3, op_mprotect, true },
	{ "madvise", 3, op_madvise, true },
	{ "touch", 4, op_touch, true },
	{ "region", 6, op_region, true },
	{ "dev_cmd", 14, op_dev_cmd, true },
	{ "eventfd", 5, op_eventfd, true },
	{ "get_events", 4, op_get_events, true },
	{ "poll", 2, op_poll, true },
	{ "bad_ioctl", 2, op_bad_ioctl, true },
	{ "fork", 2, op_fork, false },
	{ "kill", 2, op_kill, false },
	{ "scm_send", 2, op_scm_send, true },
	{ "scm_recv", 2, op_scm_recv, true },
	{ "scm_reset", 1, op_scm_reset, true },
	{ "race", 2, op_race, false },
	{ "check_ubuf", 3, op_check_ubuf, true },
	{ "check_kbuf", 3, op_check_kbuf, true },
	{ "check_copy", 2, op_check_copy, true },
	{ "ring_attach", 5, op_ring_attach, true },
	{ "ring_stream", 4, op_ring_stream, true },
	{ "ring_id", 4, op_ring_id, true },
	{ "ring_query", 2, op_ring_query, true },
	{ "ring_touch", 5, op_ring_touch, true },
};

#define NR_OPS	((int)(sizeof(ops) / sizeof(ops[0])))

static const char *op_name(int op)
{
	return op >= 0 && op < NR_OPS ? ops[op].name : "?";
}

static void run_ops(unsigned long n)
{
	unsigned int total = 0, w;
	int i;

	for (i = 0; i < NR_OPS; i++)
		total += ops[i].weight;
	while (n-- && !past_deadline()) {
		w = below(total);
		for (i = 0; w >= ops[i].weight; i++)
			w -= ops[i].weight;
		if (me.depth && !ops[i].kid_ok)
			continue;
		ops[i].fn(i);
		me.ops++;
		__atomic_add_fetch(&shared->ops, 1, __ATOMIC_RELAXED);
		if (thread_failure[0])
			fuzz_fail("%s", thread_failure);
		if (!me.depth && me.ops % 16 == 0)
			reap_kids(false);
	}
}

/* --- a worker ------------------------------------------------------------- */

/* Drop CAP_IPC_LOCK: registrations are charged to RLIMIT_MEMLOCK. */
static void drop_ipc_lock(unsigned long bytes)
{
	struct rlimit rl = { bytes, bytes };

	if (kt_drop_cap(CAP_IPC_LOCK) || setrlimit(RLIMIT_MEMLOCK, &rl))
		fuzz_fail("cannot drop CAP_IPC_LOCK: %s", strerror(errno));
}

static void worker(int index, unsigned int generation)
{
	pthread_t pollers[2];
	struct stat st;
	char *res;
	size_t res_len;
	int i, fd;

	me.worker = index;
	me.generation = generation;
	me.depth = 0;
	me.stream = stream_seed(run.seed, index, generation);
	rnd_state = me.stream;
	crash_handlers();
	kt_storm_child();
	for (i = 0; i < MAX_EFDS; i++)
		W.efds[i] = -1;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, W.sock))
		fuzz_fail("socketpair: %s", strerror(errno));
	W.scratch = reserve(2UL << 20, PG, &res, &res_len);
	if (!W.scratch || mmap(W.scratch, 2UL << 20, PROT_READ | PROT_WRITE,
			       MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1,
			       0) == MAP_FAILED)
		fuzz_fail("no scratch memory");
	W.ro_arg = mmap(NULL, 3 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	if (W.ro_arg == MAP_FAILED)
		fuzz_fail("no memory for arguments");
	W.race_args = W.ro_arg + PG;
	fd = kt_open_dev(O_RDONLY);
	if (fd < 0 || ioctl(fd, KUBUF_IOC_GET_INFO, &W.info) ||
	    fstat(fd, &st))
		fuzz_fail("GET_INFO: %s", strerror(errno));
	W.dev_rdev = st.st_rdev;
	close(fd);
	W.have_hugetlb = true;
	fd = kt_open_dev(O_RDWR);
	if (fd < 0)
		fuzz_fail("open: %s", strerror(errno));
	W.fds[SPARE] = (struct fd_slot){ true, fd, O_RDWR, false };
	/* Odd workers are charged: RLIMIT_MEMLOCK, 8 MiB. */
	if (index & 1)
		drop_ipc_lock(8UL << 20);
	for (i = 0; i < 2; i++)
		if (pthread_create(&pollers[i], NULL, poller,
				   (void *)(uintptr_t)rnd()))
			fuzz_fail("pthread_create");
	run_ops(~0UL);
	threads_stop = true;
	for (i = 0; i < 2; i++)
		pthread_join(pollers[i], NULL);
	if (thread_failure[0])
		fuzz_fail("%s", thread_failure);
	reap_kids(true);
	_exit(0);
}

/* --- the master ----------------------------------------------------------- */

struct slot {
	pid_t pid;
	unsigned int generation;
	bool killed;
};

static pid_t spawn(int index, unsigned int generation)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0)
		worker(index, generation);
	if (pid < 0)
		kt_fail(__FILE__, __LINE__, "fork");
	return pid;
}

/* Show where a worker that does not end is stuck, then kill it. */
static void show_stuck(pid_t pid)
{
	char path[64], buf[4096];

	fprintf(stderr, "worker pid %d did not end %d s after the deadline:\n",
		pid, GRACE_S);
	snprintf(path, sizeof(path), "/proc/%d/stack", pid);
	if (!kt_read_file(path, buf, sizeof(buf)))
		fprintf(stderr, "%s", buf);
	snprintf(path, sizeof(path), "/proc/%d/wchan", pid);
	if (!kt_read_file(path, buf, sizeof(buf)))
		fprintf(stderr, "wchan: %s\n", buf);
	kill(pid, SIGKILL);
}

static bool reaped_ok(struct slot *s, int status, bool *failed)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return true;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && s->killed)
		return true;
	if (WIFEXITED(status))
		fprintf(stderr, "worker pid %d failed (report above)\n", s->pid);
	else
		fprintf(stderr, "worker pid %d died of signal %d (%s)\n",
			s->pid, WTERMSIG(status), strsignal(WTERMSIG(status)));
	*failed = true;
	return false;
}

static void set_hugepages(unsigned int n)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", n);
	kt_write_file("/proc/sys/vm/nr_hugepages", buf);
}

/* Run the fuzzer; returns 0 if it found nothing. */
static int fuzz(void)
{
	struct slot slots[MAX_PROCS];
	unsigned int i, nslots = run.only_worker >= 0 ? 1 : run.procs;
	struct timespec t0, t1;
	bool failed = false;
	int status, alive;
	pid_t pid;
	unsigned long ok_ops;

	if (!run.procs || run.procs > MAX_PROCS)
		kt_fail(__FILE__, __LINE__, "--procs must be 1 to %d",
			MAX_PROCS);
	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	KT_ASSERT(shared != MAP_FAILED);
	rnd_state = stream_seed(run.seed, ~0ULL, 0);
	mkdir(RAMFS, 0700);
	mount("kt_fuzz", RAMFS, "ramfs", 0, "mode=0700");
	set_hugepages(2 * nslots + 2);
	signal(SIGPIPE, SIG_IGN);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	run.deadline = t0;
	run.deadline.tv_sec += run.seconds;
	printf("fuzz: seed 0x%016llx, %u s, %u processes\n",
	       (unsigned long long)run.seed, run.seconds, nslots);
	for (i = 0; i < nslots; i++) {
		int index = run.only_worker >= 0 ? run.only_worker : (int)i;

		slots[i].generation = run.only_worker >= 0 ? run.generation : 0;
		slots[i].killed = false;
		slots[i].pid = spawn(index, slots[i].generation);
	}
	/* kill -9 a worker now and then; the next generation takes over. */
	while (!past_deadline() && !failed) {
		kt_msleep(200 + below(1800));
		for (i = 0; i < nslots; i++) {
			pid = waitpid(slots[i].pid, &status, WNOHANG);
			if (pid == slots[i].pid) {
				reaped_ok(&slots[i], status, &failed);
				slots[i].pid = 0;
			}
		}
		if (failed || past_deadline())
			break;
		i = below(nslots);
		if (run.only_worker < 0 && slots[i].pid && one_in(3)) {
			kill(slots[i].pid, SIGKILL);
			slots[i].killed = true;
			__atomic_add_fetch(&shared->kills, 1, __ATOMIC_RELAXED);
		}
		for (i = 0; i < nslots && run.only_worker < 0; i++) {
			if (slots[i].pid && !slots[i].killed)
				continue;
			if (slots[i].pid) {
				waitpid(slots[i].pid, &status, 0);
				reaped_ok(&slots[i], status, &failed);
			}
			slots[i].generation++;
			slots[i].killed = false;
			slots[i].pid = spawn(i, slots[i].generation);
		}
	}
	/* The workers stop at the deadline; give them GRACE_S to end. */
	for (alive = 1; alive; ) {
		alive = 0;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		for (i = 0; i < nslots; i++) {
			if (!slots[i].pid)
				continue;
			if (failed && !slots[i].killed) {
				kill(slots[i].pid, SIGKILL);
				slots[i].killed = true;
			}
			pid = waitpid(slots[i].pid, &status, WNOHANG);
			if (pid == slots[i].pid) {
				reaped_ok(&slots[i], status, &failed);
				slots[i].pid = 0;
				continue;
			}
			alive++;
			if (t1.tv_sec > run.deadline.tv_sec + GRACE_S &&
			    !slots[i].killed) {
				show_stuck(slots[i].pid);
				slots[i].killed = true;
				failed = true;
			}
		}
		if (alive)
			kt_msleep(50);
	}
	umount2(RAMFS, MNT_DETACH);
	rmdir(RAMFS);
	set_hugepages(0);

	clock_gettime(CLOCK_MONOTONIC, &t1);
	kt_note("fuzz: seed 0x%016llx, %ld s, %u processes: %lu ops, %lu data checks, %lu forked children, %lu kill -9",
		(unsigned long long)run.seed, (long)(t1.tv_sec - t0.tv_sec),
		nslots, shared->ops, shared->checks, shared->kids,
		shared->kills);
	for (i = 0, ok_ops = 0; i < (unsigned int)NR_OPS; i++)
		ok_ops += shared->per_op[i].ok;
	{
		char line[4096];
		size_t n = 0;

		for (i = 0; i < (unsigned int)NR_OPS; i++)
			n += snprintf(line + n, sizeof(line) - n, " %s %lu/%lu",
				      ops[i].name, shared->per_op[i].ok,
				      shared->per_op[i].calls);
		kt_note("fuzz: ok/calls:%s", line);
	}
	if (failed || shared->failed) {
		fprintf(stderr, "reproduce: t_fuzz --seed 0x%llx --seconds %u --procs %u\n",
			(unsigned long long)run.seed, run.seconds, run.procs);
		return 1;
	}
	/* A fuzzer whose calls all fail proves nothing. */
	if (!shared->checks || !ok_ops) {
		fprintf(stderr, "fuzz: no data check passed: it tested nothing\n");
		return 1;
	}
	return 0;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *s = getenv(name);

	return s && *s ? strtoull(s, NULL, 0) : def;
}

/* The suite's case: short, bounded, a new seed each run (noted). */
KT_CASE(fuzz)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	run.seed = env_u64("KUBUF_FUZZ_SEED",
			   mix64(ts.tv_sec ^ ts.tv_nsec ^ getpid()));
	run.seconds = env_u64("KUBUF_FUZZ_SECONDS", 20);
	run.procs = env_u64("KUBUF_FUZZ_PROCS", 4);
	run.only_worker = -1;
	exit(fuzz());
}

static void usage(void)
{
	fprintf(stderr,
		"usage: t_fuzz --seed S --seconds T --procs P [--worker W --generation G]\n"
		"       t_fuzz [--list | --run CASE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int i;

	if (argc < 2 || !strcmp(argv[1], "--list") || !strcmp(argv[1], "--run"))
		return kt_main(argc, argv);
	run.seed = 0;
	run.seconds = 60;
	run.procs = 4;
	run.only_worker = -1;
	for (i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--seed"))
			run.seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--seconds"))
			run.seconds = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--procs"))
			run.procs = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--worker"))
			run.only_worker = strtol(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--generation"))
			run.generation = strtoul(argv[++i], NULL, 0);
		else
			usage();
	}
	return fuzz();
}
