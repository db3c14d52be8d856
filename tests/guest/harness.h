/* SPDX-License-Identifier: MIT */
/*
 * A tiny test harness for the programs that run inside the test guests.
 *
 * Each program holds several cases, declared with KT_CASE(name). The guest
 * runner lists them (`prog --list`) and runs each in a process of its own
 * (`prog --run name`), so that after every case it can check the kernel
 * log and the module's counters. Run without arguments, a program runs
 * all its cases, each in a forked child, and reports TAP with its plan
 * (`prove` runs the host tests so); handy by hand too.
 *
 * Exit status of a case: 0 passed, 1 failed, 77 skipped (with a reason).
 * An assertion that fails prints file, line, the expression and errno,
 * then ends the case: the first failure is the one worth reading.
 *
 * A case may leave notes for the record (kt_note()): the guest runner
 * shows them under the case's TAP line even when it passes.
 *
 * With KUBUF_SIGNAL_STORM=1 in the environment, every case takes a
 * SIGALRM each millisecond, handled by a no-op with SA_RESTART (see
 * kt_storm_start()); calls that a signal ends early even so go through
 * kt_poll(), kt_epoll_wait(), kt_msleep(), kt_usleep() and
 * kt_wait_for_kill(), and the raw calls are poisoned: a test that makes
 * one does not compile.
 */
#ifndef KUBUF_TEST_HARNESS_H
#define KUBUF_TEST_HARNESS_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/msg.h>
#include <sys/select.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/kubuf.h>

#define KT_SKIP_STATUS	77
#define KT_POISON	0xA5

struct kt_case {
	const char *name;
	void (*fn)(void);
};

#define KT_CASE(cname)							\
	static void kt_fn_##cname(void);				\
	static const struct kt_case kt_case_##cname			\
	__attribute__((used, section("kt_cases"), aligned(8))) =	\
		{ #cname, kt_fn_##cname };				\
	static void kt_fn_##cname(void)

extern const struct kt_case __start_kt_cases[], __stop_kt_cases[];

__attribute__((noreturn, format(printf, 3, 4)))
static inline void kt_fail(const char *file, int line, const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fprintf(stderr, "FAIL %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (errno %d: %s)\n", err, strerror(err));
	exit(1);
}

__attribute__((noreturn, format(printf, 1, 2)))
static inline void kt_skip(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "SKIP: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(KT_SKIP_STATUS);
}

#define KT_ASSERT(cond)							\
	do {								\
		if (!(cond))						\
			kt_fail(__FILE__, __LINE__, "%s", #cond);	\
	} while (0)

#define KT_ASSERT_EQ(a, b)						\
	do {								\
		long long kt_a = (long long)(a), kt_b = (long long)(b);	\
		if (kt_a != kt_b)					\
			kt_fail(__FILE__, __LINE__,			\
				"%s == %s: %lld != %lld",		\
				#a, #b, kt_a, kt_b);			\
	} while (0)

/* A system call that must succeed (return >= 0); evaluates to its value. */
#define KT_OK(call)							\
	({								\
		long kt_r = (long)(call);				\
		if (kt_r < 0)						\
			kt_fail(__FILE__, __LINE__, "%s failed", #call);\
		kt_r;							\
	})

/* A system call that must fail with exactly errno @err. */
#define KT_ERRNO(call, err)						\
	do {								\
		long kt_r;						\
		errno = 0;						\
		kt_r = (long)(call);					\
		if (kt_r != -1 || errno != (err))			\
			kt_fail(__FILE__, __LINE__,			\
				"%s: want -1/%s, got %ld", #call,	\
				#err, kt_r);				\
	} while (0)

/* A libkubuf call (returns -errno) that must fail with exactly -@err. */
#define KT_LIBERR(call, err)						\
	do {								\
		int kt_r = (call);					\
		if (kt_r != -(err))					\
			kt_fail(__FILE__, __LINE__,			\
				"%s: want -%s, got %d (%s)", #call,	\
				#err, kt_r, strerror(-kt_r));		\
	} while (0)

/* Every command the ABI defines (a case that mangles them skips these). */
static const unsigned long kt_defined_cmds[] = {
	KUBUF_IOC_GET_INFO, KUBUF_IOC_GET_STATS, KUBUF_IOC_SET_EVENTFD,
	KUBUF_IOC_GET_EVENTS, KUBUF_IOC_UBUF_REGISTER,
	KUBUF_IOC_UBUF_UNREGISTER, KUBUF_IOC_UBUF_QUERY, KUBUF_IOC_UCOPY,
	KUBUF_IOC_KBUF_ALLOC, KUBUF_IOC_KBUF_FREE, KUBUF_IOC_DEV_CMD,
	KUBUF_IOC_RING_ATTACH, KUBUF_IOC_RING_DETACH, KUBUF_IOC_RING_QUERY,
	KUBUF_IOC_RING_KICK, KUBUF_IOC_STREAM_START, KUBUF_IOC_STREAM_STOP,
};
#define KT_NR_DEFINED_CMDS	(sizeof(kt_defined_cmds) / sizeof(kt_defined_cmds[0]))

static inline int kt_open_dev(int flags)
{
	return open("/dev/" KUBUF_DEVICE_NAME, flags | O_CLOEXEC);
}

/* One module-wide counter, read through a descriptor of its own. */
static inline uint64_t kt_stat(enum kubuf_stat s)
{
	struct kubuf_stats st;
	int fd = kt_open_dev(O_RDONLY);

	memset(&st, 0, sizeof(st));
	if (fd < 0 || ioctl(fd, KUBUF_IOC_GET_STATS, &st) < 0) {
		perror("kt_stat");
		exit(1);
	}
	close(fd);
	return st.counters[s];
}

/*
 * A device command on @fd with no source (FILL, CHECKSUM, RESET): the
 * ioctl's result, errno set; *@result gets CHECKSUM's answer.
 */
static inline int kt_dev_cmd(int fd, uint32_t op, uint32_t flags,
			     uint32_t kind, uint32_t id, uint64_t len,
			     uint32_t seed, uint64_t *result)
{
	struct kubuf_dev_cmd c;
	int ret;

	memset(&c, 0, sizeof(c));
	c.op = op;
	c.flags = flags;
	c.kind = kind;
	c.id = id;
	c.len = len;
	c.seed = seed;
	ret = ioctl(fd, KUBUF_IOC_DEV_CMD, &c);
	if (!ret && result)
		*result = c.result;
	return ret;
}

/* Fill an output structure with a pattern no valid answer can contain. */
static inline void kt_poison(void *p, size_t len)
{
	memset(p, KT_POISON, len);
}

/* Write the string @s to @path: 0, or -1 with errno set. */
static inline int kt_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* Read @path into @buf (@len bytes with the final NUL): 0, or -1. */
static inline int kt_read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* The number after @key on a line of @path (/proc/vmstat...), or -1. */
static inline long long kt_proc_value(const char *path, const char *key)
{
	char line[256];
	long long v = -1;
	size_t klen = strlen(key);
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) &&
		    (line[klen] == ' ' || line[klen] == '\t'))
			v = strtoll(line + klen + 1, NULL, 10);
	fclose(f);
	return v;
}

/* This process's pinned memory (VmPin), in kB. */
static inline long kt_vmpin_kb(void)
{
	return kt_proc_value("/proc/self/status", "VmPin:");
}

/* Pages pinned in the whole system: FOLL_PIN acquired minus released. */
static inline long long kt_pinned_pages(void)
{
	/* Fold the per-cpu deltas, or /proc/vmstat lags behind. */
	kt_write_file("/proc/sys/vm/stat_refresh", "1");
	return kt_proc_value("/proc/vmstat", "nr_foll_pin_acquired") -
	       kt_proc_value("/proc/vmstat", "nr_foll_pin_released");
}

/* Drop capability @cap from every set of this process: 0, or -1. */
static inline int kt_drop_cap(unsigned int cap)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];
	unsigned int bit = 1U << (cap % 32);

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[cap / 32].effective &= ~bit;
	d[cap / 32].permitted &= ~bit;
	d[cap / 32].inheritable &= ~bit;
	return syscall(SYS_capset, &h, d) ? -1 : 0;
}

/* The monotonic clock, in seconds. */
static inline double kt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Calls that a handled signal ends with EINTR even under SA_RESTART
 * (signal(7): "never restarted"), and the storm sends one every
 * millisecond: each has a wrapper here that goes on until the call is
 * really over, for what is left of its timeout.
 */

/* What is left of @timeout_ms begun at @t0 (kt_now()); -1 stays -1. */
static inline int kt_ms_left(double t0, int timeout_ms)
{
	int left;

	if (timeout_ms < 0)
		return -1;
	left = timeout_ms - (int)((kt_now() - t0) * 1000);
	return left < 0 ? 0 : left;
}

/* poll() for @timeout_ms (-1: no limit), whatever signals arrive. */
static inline int kt_poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
	double t0 = kt_now();
	int ret, left = timeout_ms;

	while ((ret = poll(fds, n, left)) < 0 && errno == EINTR)
		left = kt_ms_left(t0, timeout_ms);
	return ret;
}

/* epoll_wait() for @timeout_ms (-1: no limit), whatever signals arrive. */
static inline int kt_epoll_wait(int epfd, struct epoll_event *ev, int max,
				int timeout_ms)
{
	double t0 = kt_now();
	int ret, left = timeout_ms;

	while ((ret = epoll_wait(epfd, ev, max, left)) < 0 && errno == EINTR)
		left = kt_ms_left(t0, timeout_ms);
	return ret;
}

/* Sleep all of @ts, whatever signals arrive. */
static inline void kt_sleep_ts(struct timespec ts)
{
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Sleep @ms milliseconds, all of them, whatever signals arrive. */
static inline void kt_msleep(unsigned int ms)
{
	kt_sleep_ts((struct timespec){ ms / 1000, (ms % 1000) * 1000000L });
}

/* Sleep @us microseconds, all of them, whatever signals arrive. */
static inline void kt_usleep(unsigned int us)
{
	kt_sleep_ts((struct timespec){ us / 1000000, (us % 1000000) * 1000L });
}

/* In a forked child: do nothing until a fatal signal ends the process. */
__attribute__((noreturn))
static inline void kt_wait_for_kill(void)
{
	for (;;)
		pause();
}

/*
 * From here on the raw calls are an error: a test that makes one fails
 * to compile, in every lane, instead of failing now and then in the storm
 * lane. Use the wrappers above (or add one, before this line). The
 * glibc headers that declare these names are all included above: a
 * system header included after this file would trip over its own
 * declarations, so a test includes its system headers first. Host tests
 * include this file too, and keep the rule. What poison cannot see:
 * the same calls through syscall(), and sockets with SO_RCVTIMEO or
 * SO_SNDTIMEO (their send and receive calls end with EINTR too).
 */
#pragma GCC poison poll ppoll epoll_wait epoll_pwait epoll_pwait2
#pragma GCC poison select pselect
#pragma GCC poison nanosleep clock_nanosleep usleep sleep
#pragma GCC poison pause sigsuspend sigpause sigtimedwait sigwaitinfo
#pragma GCC poison msgrcv msgsnd semop semtimedop io_getevents

/*
 * The kernel will report @what during this case, and here that is no
 * bug: "oom" (the OOM killer's reports: a memory cgroup at its limit),
 * "alloc-failure" (an allocation that failed and says so with a stack
 * dump, as injected faults make them), or "line ERE" (single lines
 * matching the extended regular expression ERE). The guest runner takes
 * them out of the case's kernel log before checking it; only them.
 */
static inline void kt_expect(const char *what)
{
	const char *path = getenv("KT_EXPECT");
	FILE *f = path ? fopen(path, "a") : NULL;

	if (f) {
		fprintf(f, "%s\n", what);
		fclose(f);
	}
}

/*
 * A line for the record, kept even when the case passes (how many failure
 * points a sweep found, a fuzzer's seed): appended to the file named by
 * KT_NOTES, which the guest runner shows after the case's TAP line; on
 * stdout when run by hand.
 */
__attribute__((format(printf, 1, 2)))
static inline void kt_note(const char *fmt, ...)
{
	const char *path = getenv("KT_NOTES");
	FILE *f = path ? fopen(path, "a") : NULL;
	FILE *out = f ? f : stdout;
	va_list ap;

	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	if (f)
		fclose(f);
	else
		fflush(stdout);
}

/* Pass @fd over the AF_UNIX socket @sock (SCM_RIGHTS), with one byte. */
static inline void kt_send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = "f", .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	KT_ASSERT_EQ(sendmsg(sock, &msg, 0), 1);
}

/* The descriptor kt_send_fd() passed. */
static inline int kt_recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))], b;
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	int fd;

	KT_ASSERT_EQ(recvmsg(sock, &msg, 0), 1);
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));
	return fd;
}

static sigjmp_buf kt_touch_jmp;

static inline void kt_touch_handler(int sig)
{
	siglongjmp(kt_touch_jmp, sig);
}

/*
 * Read the byte at @p: 0 if it could be read, else the signal it raised
 * (SIGBUS, SIGSEGV), caught here and nowhere else. One thread at a time.
 */
static inline int kt_touch(const volatile void *p)
{
	struct sigaction sa, old_bus, old_segv;
	volatile int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kt_touch_handler;
	sigaction(SIGBUS, &sa, &old_bus);
	sigaction(SIGSEGV, &sa, &old_segv);
	sig = sigsetjmp(kt_touch_jmp, 1);
	if (!sig)
		(void)*(const volatile uint8_t *)p;
	sigaction(SIGBUS, &old_bus, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	return sig;
}

/*
 * Call @fn when this process crashes (SIGSEGV, SIGBUS, SIGILL, SIGFPE,
 * SIGABRT), once: it reports what it can, then raises the signal again
 * (the action is back to the default by then) so the process dies of it.
 */
static inline void kt_on_crash(void (*fn)(int sig, siginfo_t *si, void *uc))
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/*
 * The signal storm. A restartable system call must come through a
 * handled signal as if nothing happened; one that fails with EINTR
 * instead is either a test that must retry (poll, nanosleep and a few
 * others never restart) or a module that returns -EINTR where it should
 * let the call restart. Interval timers are not inherited by fork(), so
 * a child has none unless it arms its own (kt_storm_child()); one that
 * calls exec() must not: the timer would outlive the handler.
 */
static inline void kt_storm_handler(int sig)
{
	(void)sig;
}

static inline void kt_storm_arm(void)
{
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } };

	setitimer(ITIMER_REAL, &it, NULL);
}

static inline bool kt_storm_wanted(void)
{
	const char *s = getenv("KUBUF_SIGNAL_STORM");

	return s && *s && strcmp(s, "0");
}

static inline void kt_storm_start(void)
{
	struct sigaction sa;

	if (!kt_storm_wanted())
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kt_storm_handler;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	kt_storm_arm();
}

/* In a forked child that will not exec(): the storm goes on there too. */
static inline void kt_storm_child(void)
{
	if (kt_storm_wanted())
		kt_storm_arm();
}

static inline int kt_run_one(const struct kt_case *c)
{
	kt_storm_start();
	c->fn();
	return 0;
}

static inline int kt_main(int argc, char **argv)
{
	const struct kt_case *c;
	int failed = 0;

	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (c = __start_kt_cases; c < __stop_kt_cases; c++)
			printf("%s\n", c->name);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "--run")) {
		for (c = __start_kt_cases; c < __stop_kt_cases; c++)
			if (!strcmp(c->name, argv[2]))
				return kt_run_one(c);
		fprintf(stderr, "%s: no case named %s\n", argv[0], argv[2]);
		return 2;
	}
	if (argc != 1) {
		fprintf(stderr, "usage: %s [--list | --run CASE]\n", argv[0]);
		return 2;
	}
	printf("1..%d\n", (int)(__stop_kt_cases - __start_kt_cases));
	for (c = __start_kt_cases; c < __stop_kt_cases; c++) {
		int status;
		pid_t pid;

		fflush(NULL);
		pid = fork();

		if (pid == 0)
			exit(kt_run_one(c));
		if (pid < 0 || waitpid(pid, &status, 0) < 0) {
			perror("fork/waitpid");
			return 1;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			printf("ok - %s\n", c->name);
		} else if (WIFEXITED(status) &&
			   WEXITSTATUS(status) == KT_SKIP_STATUS) {
			printf("ok - %s # SKIP\n", c->name);
		} else {
			printf("not ok - %s\n", c->name);
			failed++;
		}
	}
	return failed ? 1 : 0;
}

#define KT_MAIN() int main(int argc, char **argv) { return kt_main(argc, argv); }

#endif /* KUBUF_TEST_HARNESS_H */
