// SPDX-License-Identifier: MIT
/*
 * Signals. A handled signal (SA_RESTART) arriving every 100 us must not
 * make any call of the module fail: long calls either do not stop for it
 * or restart. A fatal signal must end a long call promptly.
 */
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>

#include "harness.h"
#include "kubuf.h"

#define PG	4096UL
#define RW	(KUBUF_ACCESS_DEV_READ | KUBUF_ACCESS_DEV_WRITE)
#define BIG	(64UL << 20)

static volatile unsigned long alarms;

static void on_alarm(int sig)
{
	alarms++;
}

/* A no-op SA_RESTART handler, and SIGALRM every 100 us from now on. */
static void signal_storm(void)
{
	struct itimerval it = { { 0, 100 }, { 0, 100 } };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	KT_OK(sigaction(SIGALRM, &sa, NULL));
	KT_OK(setitimer(ITIMER_REAL, &it, NULL));
}

static void storm_end(void)
{
	struct itimerval it = { { 0, 0 }, { 0, 0 } };

	KT_OK(setitimer(ITIMER_REAL, &it, NULL));
	/*
	 * The calls above did take signals, or this proves nothing. How
	 * many were handled depends on how often a call returned to user
	 * space (a call that ignores handled signals returns once; on
	 * PREEMPT_RT timer signals come late), so ask for one at least.
	 */
	KT_ASSERT(alarms >= 1);
}

static char *big_buffer(void)
{
	char *p = mmap(NULL, BIG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	KT_ASSERT(p != MAP_FAILED);
	return p;
}

/* UCOPY of 64 MiB takes many signals; each must leave it alone. */
KT_CASE(ucopy_through_handled_signals)
{
	struct kubuf *k;
	char *p = big_buffer();
	uint64_t sum;

	KT_ASSERT_EQ(kubuf_open(NULL, 0, &k), 0);
	signal_storm();
	KT_ASSERT_EQ(kubuf_ucopy_fill(k, p, BIG, 77), 0);
	KT_ASSERT_EQ(kubuf_ucopy_checksum(k, p, BIG, &sum), 0);
	storm_end();
	KT_ASSERT_EQ(kubuf_pattern_check(p, BIG, 77, NULL), 0);
	KT_ASSERT(sum == kubuf_checksum(KUBUF_CHECKSUM_INIT, p, BIG));
	kubuf_close(k);
}

/* REGISTER, a long synchronous FILL, read(): the same. */
KT_CASE(register_fill_read_through_handled_signals)
{
	struct kubuf *k;
	char *p = big_buffer(), *q = malloc(1 << 20);
	struct kubuf_dev_cmd c;
	uint32_t id;
	int i;

	KT_ASSERT_EQ(kubuf_open(NULL, 0, &k), 0);
	signal_storm();
	KT_ASSERT_EQ(kubuf_ubuf_register(k, p, BIG, RW, &id), 0);
	memset(&c, 0, sizeof(c));
	c.op = KUBUF_DEV_FILL;
	c.kind = KUBUF_MEM_UBUF;
	c.id = id;
	c.len = BIG;
	c.seed = 78;
	c.repeat = 1;
	KT_ASSERT_EQ(kubuf_dev_cmd(k, &c), 0);
	for (i = 0; i < 8; i++)
		KT_ASSERT_EQ(read(kubuf_fd(k), q, 1 << 20), 1 << 20);
	KT_ASSERT_EQ(kubuf_ubuf_unregister(k, id), 0);
	storm_end();
	KT_ASSERT_EQ(kubuf_pattern_check(p, BIG, 78, NULL), 0);
	KT_ASSERT_EQ(kubuf_pattern_check(q, 1 << 20, 0, NULL), 0);
	kubuf_close(k);
}

/*
 * kill -9 ends the longest UCOPY (1 GiB of zero pages) at once: killed
 * just after it began, the process is gone in a small part of the time
 * a whole one takes.
 */
KT_CASE(ucopy_ends_at_kill)
{
	struct kubuf_info in;
	double t0, whole, reap;
	struct kubuf *k;
	uint64_t sum;
	int status, go[2];
	char *p;
	pid_t pid;

	KT_ASSERT_EQ(kubuf_open(NULL, 0, &k), 0);
	KT_ASSERT_EQ(kubuf_get_info(k, &in), 0);
	p = mmap(NULL, in.max_ubuf_size, PROT_READ,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	KT_ASSERT(p != MAP_FAILED);
	t0 = kt_now();
	KT_ASSERT_EQ(kubuf_ucopy_checksum(k, p, in.max_ubuf_size, &sum), 0);
	whole = kt_now() - t0;

	KT_OK(pipe(go));
	pid = KT_OK(fork());
	if (pid == 0) {
		close(go[0]);
		for (;;) {
			(void)!write(go[1], "", 1);
			kubuf_ucopy_checksum(k, p, in.max_ubuf_size, &sum);
		}
	}
	close(go[1]);
	KT_ASSERT_EQ(read(go[0], &status, 1), 1);
	kt_msleep(10);
	t0 = kt_now();
	KT_OK(kill(pid, SIGKILL));
	KT_ASSERT_EQ(waitpid(pid, &status, 0), pid);
	reap = kt_now() - t0;
	KT_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	kt_note("a whole UCOPY took %.3f s; kill to reap %.3f s", whole, reap);
	KT_ASSERT(reap < whole / 2);
	close(go[0]);
	KT_OK(munmap(p, in.max_ubuf_size));
	kubuf_close(k);
}

KT_MAIN()
