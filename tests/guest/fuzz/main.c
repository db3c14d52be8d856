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
 * function, in the file of its area, and adding one line. Every address
 * the fuzzer hands the module for writing lies in memory it mapped for
 * that purpose between guard pages, or nowhere, so the module's writes
 * never reach the fuzzer's own state.
 *
 * The files:
 *   main.c    randomness, the log and the report, errno checks, the
 *             table of operations, a worker, the master, main()
 *   mem.c     memory the fuzzer owns: regions and their operations
 *   args.c    arguments: lengths, addresses, argument pointers, flags
 *   bounds.c  boundary values of numeric fields, which one operation in
 *             four draws from
 *   files.c   descriptors and ids: open, close, dup, SCM_RIGHTS, ioctls
 *             where they do not belong
 *   procs.c   fork and kill -9 of children that run operations too
 *   ubuf.c    technique 1: register, unregister, query, UCOPY, read()
 *   kbuf.c    technique 2: alloc, free, mmap, munmap, mremap, mprotect,
 *             madvise, touching the mappings
 *   dev.c     the simulated device's commands
 *   events.c  eventfd binding, GET_EVENTS, poll()
 *   ring.c    rings: attach, stream, stop, kick, detach, query, and the
 *             application's side of them
 *   race.c    threads: pollers, and racers on one file
 *   check.c   data the fuzzer can know: the device's bytes and sums
 *   exhaust.c an unprivileged user takes one resource to its limit;
 *             root must still fork and another user's command complete
 */
#include "fuzz.h"

/* --- randomness ----------------------------------------------------------- */

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* splitmix64: small, fast, and every 64-bit seed is a good one. */
uint64_t rnd_state;

uint64_t rnd(void)
{
	rnd_state += 0x9e3779b97f4a7c15ULL;
	return mix64(rnd_state);
}

uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

bool one_in(unsigned int n)
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

struct shared *shared;

static bool past_deadline(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > run.deadline.tv_sec ||
	       (now.tv_sec == run.deadline.tv_sec &&
		now.tv_nsec >= run.deadline.tv_nsec);
}

/* --- the operation log ---------------------------------------------------- */

static struct {
	struct log_ent e[LOG_N];
	unsigned long n;
} oplog;

struct fuzz_me me;

static const char *op_name(int op);

struct log_ent *log_begin(int op, const char *fmt, ...)
{
	struct log_ent *e = &oplog.e[oplog.n % LOG_N];
	va_list ap;

	e->seq = oplog.n++;
	e->op = op;
	e->done = false;
	e->bounds = bounds_on;
	e->ret = 0;
	e->err = 0;
	va_start(ap, fmt);
	vsnprintf(e->args, sizeof(e->args), fmt, ap);
	va_end(ap);
	return e;
}

long log_end(struct log_ent *e, long ret, int err)
{
	e->ret = ret;
	e->err = ret < 0 ? err : 0;
	e->done = true;
	return ret;
}

static void log_line(char *buf, size_t len, const struct log_ent *e)
{
	const char *b = e->bounds ? "B " : "";

	if (!e->done)
		snprintf(buf, len, "  #%lu %s%s(%s) = ... (running)\n", e->seq,
			 b, op_name(e->op), e->args);
	else if (e->ret < 0)
		snprintf(buf, len, "  #%lu %s%s(%s) = -1 %s\n", e->seq, b,
			 op_name(e->op), e->args, strerror(e->err));
	else
		snprintf(buf, len, "  #%lu %s%s(%s) = %ld\n", e->seq, b,
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
	snprintf(line, sizeof(line),
		 "  its last operations (B: numbers from the boundaries):\n");
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

void fuzz_fail(const char *fmt, ...)
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
	kt_on_crash(crash_handler);
	signal(SIGPIPE, SIG_IGN);
}

/* --- errnos --------------------------------------------------------------- */

/*
 * The documented errnos of each call (include/uapi/linux/kubuf.h). EINTR
 * is left out: only a fatal signal may cause it, and nobody then checks.
 */
const int E_OPEN[] = { EMFILE, 0 };	/* the user's max_user_files */
const int E_REGISTER[] = { EBADF, EINVAL, E2BIG, EFAULT, EOPNOTSUPP,
			   ENOMEM, ENOSPC, 0 };
const int E_ID[] = { EBADF, EINVAL, ENOENT, EFAULT, 0 };
const int E_QUERY[] = { EINVAL, ENOENT, EFAULT, 0 };
const int E_UCOPY[] = { EINVAL, E2BIG, EFAULT, ENOMEM, 0 };
const int E_ALLOC[] = { EBADF, EINVAL, E2BIG, EOPNOTSUPP, ENOSPC,
			EDQUOT, ENOMEM, EFAULT, 0 };
const int E_DEV[] = { EBADF, EINVAL, ENOENT, ERANGE, EACCES,
		      ESHUTDOWN, EBUSY, EDQUOT, E2BIG, EFAULT, ENOMEM, 0 };
const int E_EVENTFD[] = { EBADF, EINVAL, EFAULT, 0 };
const int E_EVENTS[] = { EINVAL, EFAULT, 0 };
const int E_MMAP[] = { EACCES, EINVAL, EPERM, ENOMEM, 0 };
const int E_READ[] = { EBADF, EFAULT, ENOMEM, 0 };
/* An ioctl of kubuf's on something that is not /dev/kubuf. */
const int E_NOT_KUBUF[] = { EBADF, ENOTTY, EINVAL, EFAULT, 0 };

bool errno_in(int err, const int *set)
{
	for (; *set; set++)
		if (*set == err)
			return true;
	return false;
}

/* End the log entry; fail unless the call worked or failed as allowed. */
long expect(struct log_ent *e, long ret, const int *allowed)
{
	int err = errno;

	log_end(e, ret, err);
	if (ret < 0 && !errno_in(err, allowed))
		fuzz_fail("%s: errno %d (%s) is not one it documents",
			  op_name(e->op), err, strerror(err));
	return ret;
}

/*
 * End the log entry; fail unless the call failed, with an errno of
 * @allowed: a number out of its documented range, when which of its
 * errnos comes first depends on the order of the checks.
 */
void expect_fail(struct log_ent *e, long ret, const int *allowed)
{
	int err = errno;

	log_end(e, ret, err);
	if (ret >= 0)
		fuzz_fail("%s: worked, with a number out of its range",
			  op_name(e->op));
	if (!errno_in(err, allowed))
		fuzz_fail("%s: errno %d (%s) is not one it documents",
			  op_name(e->op), err, strerror(err));
}

/* End the log entry; fail unless the call failed with exactly @want. */
void expect_errno(struct log_ent *e, long ret, int want)
{
	int err = errno;

	log_end(e, ret, err);
	if (ret >= 0 || err != want)
		fuzz_fail("%s: want -1 %s, got %ld (%s)", op_name(e->op),
			  strerror(want), ret, ret < 0 ? strerror(err) : "ok");
}

void count(int op, long ret)
{
	__atomic_add_fetch(&shared->per_op[op].calls, 1, __ATOMIC_RELAXED);
	if (ret >= 0)
		__atomic_add_fetch(&shared->per_op[op].ok, 1, __ATOMIC_RELAXED);
}

/*
 * The errno a call must fail with when its argument breaks a rule of the
 * validation ladder, or 0 when only the documented set is known.
 */
int ladder_mode(int slot, bool needs_rdwr)
{
	return needs_rdwr && W.fds[slot].mode != O_RDWR ? EBADF : 0;
}

long expect_ladder(struct log_ent *e, long ret, int want,
		   const int *allowed)
{
	if (want)
		expect_errno(e, ret, want);
	else
		expect(e, ret, allowed);
	return ret;
}

/* --- the table ------------------------------------------------------------ */

/*
 * Every operation the fuzzer knows, with its weight. To add one, write
 * its function (log_begin(), the call, expect() with its documented
 * errnos, count()) and add a line here; kid_ok if a forked child may run
 * it too.
 */
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
	{ "stream_flood", 2, op_stream_flood, true },
	{ "exhaust", 1, op_exhaust, false },
};

#define NR_OPS	((int)(sizeof(ops) / sizeof(ops[0])))
_Static_assert(sizeof(ops) / sizeof(ops[0]) <= MAX_OPS,
	       "shared->per_op has no room for every operation");

static const char *op_name(int op)
{
	return op >= 0 && op < NR_OPS ? ops[op].name : "?";
}

void run_ops(unsigned long n)
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
		bounds_on = one_in(BOUNDS_ONE_IN);
		ops[i].fn(i);
		bounds_on = false;
		me.ops++;
		__atomic_add_fetch(&shared->ops, 1, __ATOMIC_RELAXED);
		if (thread_failure[0])
			fuzz_fail("%s", thread_failure);
		if (!me.depth && me.ops % 16 == 0)
			reap_kids(false);
	}
}

/* --- a worker ------------------------------------------------------------- */

/* Everything a worker (or a child it forked) holds and has learned. */
struct fuzz_state W;

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
	bounds_init();
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
	chmod("/dev/" KUBUF_DEVICE_NAME, 0600);	/* op_exhaust opened it */

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

