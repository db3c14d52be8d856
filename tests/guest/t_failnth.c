// SPDX-License-Identifier: MIT
/*
 * Systematic fault injection into every path of the module (fail-nth).
 *
 * For each operation (open and close of the device, every ioctl, read(),
 * mmap of a buffer, and the mm calls that split, move, copy or drop such
 * a mapping), the sweep makes the first failure point the kernel passes
 * during that one system call fail, then the second, and so on, until a
 * run passes every point without consuming the fault: kernel allocations
 * (failslab, fail_page_alloc) and copies from and to the user
 * (fail_usercopy), through /proc/thread-self/fail-nth. How many points a
 * call passes varies a little from run to run (a new page table, a new
 * node of an xarray, the debug kernel's own bookkeeping), so a sweep ends
 * only after MISSES runs in a row passed all of theirs; and a first sweep
 * fails user copies only, whose points never move. After every run:
 *
 *  - the call failed with an errno of its documented set, or succeeded
 *    with a result that checks out (a fallback absorbed the fault);
 *  - nothing is left behind: the module's counters, the pinned pages of
 *    /proc/vmstat, VmPin and the x86 PAT memory types are where they were
 *    before, and RLIMIT_MEMLOCK still admits exactly the operation's
 *    pages (the sweep runs without CAP_IPC_LOCK, its limit set to what the
 *    operation pins or allocates as DMA memory, so a charge never given
 *    back fails the next run);
 *  - the operation works again, without fault injection.
 *
 * An operation must show at least the failure points it is known to
 * pass (an ioctl copies its argument; ALLOC allocates), so a sweep that
 * injected nothing cannot pass. Each sweep notes how many points it found.
 *
 * Needs CONFIG_FAULT_INJECTION_DEBUG_FS with FAILSLAB and FAIL_PAGE_ALLOC
 * (FAULT_INJECTION_USERCOPY too, where it has one): the debug lane. Other
 * kernels run each operation once, without faults, with the same checks,
 * and then report a skip.
 */
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <ucontext.h>

#include "harness.h"
#include "kubuf.h"

#define PG		4096UL
#define RW		(KUBUF_ACCESS_DEV_READ | KUBUF_ACCESS_DEV_WRITE)
#define MEM_PAGES	1024		/* the registrable scratch memory */
#define MAX_NTH		10000		/* no sweep loops forever */
#define MISSES		8		/* runs past every point that end it */
#define DBG		"/sys/kernel/debug/"

/* --- fault injection ------------------------------------------------------ */

enum { FI_SLAB, FI_PAGE, FI_COPY, FI_NR };

/*
 * fail-nth counts every failure point whose own filters let it through:
 * failslab and fail_page_alloc ignore allocations that may sleep (nearly
 * all of them) and fail_page_alloc single pages, unless told otherwise.
 * verbose=0: a stack dump per injected fault would fail the log check.
 * "times" is only a counter here (fail-nth ignores it): it tells which
 * kind of point a fault hit.
 */
static const struct fi_type {
	const char *name;
	const char *dir;
	const char *const settings[6];
} fi_types[FI_NR] = {
	[FI_SLAB] = { "slab", "failslab",
		      { "ignore-gfp-wait=N", "cache-filter=N" } },
	[FI_PAGE] = { "page", "fail_page_alloc",
		      { "ignore-gfp-wait=N", "ignore-gfp-highmem=N",
			"min-order=0" } },
	[FI_COPY] = { "usercopy", "fail_usercopy", { NULL } },
};

static const char *const fi_common[] = {
	"probability=0", "interval=1", "space=0", "task-filter=N",
	"verbose=0", "times=1000000000",
};

static bool fi_have[FI_NR];
static int nth_fd = -1;
static char fi_missing[200];	/* why there is no sweep, if there is none */

/* Saved debugfs values, put back when the case ends. */
static struct {
	char path[128];
	char value[64];
} fi_saved[FI_NR * 12];
static int fi_nsaved;

static void fi_set(const char *dir, const char *setting)
{
	const char *eq = strchr(setting, '=');
	char path[128];

	snprintf(path, sizeof(path), DBG "%s/%.*s", dir,
		 (int)(eq - setting), setting);
	if (fi_nsaved < (int)(sizeof(fi_saved) / sizeof(fi_saved[0])) &&
	    !kt_read_file(path, fi_saved[fi_nsaved].value,
			  sizeof(fi_saved[0].value))) {
		strcpy(fi_saved[fi_nsaved].path, path);
		fi_nsaved++;
	}
	if (kt_write_file(path, eq + 1))
		kt_fail(__FILE__, __LINE__, "cannot set %s to %s", path, eq + 1);
}

static void fi_restore(void)
{
	while (fi_nsaved--)
		kt_write_file(fi_saved[fi_nsaved].path,
			      fi_saved[fi_nsaved].value);
}

static long fi_times(int t)
{
	char path[128], buf[64];

	snprintf(path, sizeof(path), DBG "%s/times", fi_types[t].dir);
	if (kt_read_file(path, buf, sizeof(buf)))
		kt_fail(__FILE__, __LINE__, "cannot read %s", path);
	return strtol(buf, NULL, 10);
}

/* Find fail-nth and the fault types and set them up; false if absent. */
static bool fi_setup(void)
{
	char path[128];
	int t;
	size_t i;

	nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (nth_fd < 0) {
		snprintf(fi_missing, sizeof(fi_missing),
			 "no /proc/thread-self/fail-nth: no fault injection in this kernel (the debug lane has it)");
		return false;
	}
	for (t = 0; t < FI_NR; t++) {
		snprintf(path, sizeof(path), DBG "%s", fi_types[t].dir);
		fi_have[t] = !access(path, F_OK);
	}
	if (!fi_have[FI_SLAB] || !fi_have[FI_PAGE]) {
		snprintf(fi_missing, sizeof(fi_missing),
			 "fail-nth without %s: CONFIG_FAILSLAB and CONFIG_FAIL_PAGE_ALLOC are needed",
			 !fi_have[FI_SLAB] ? DBG "failslab" : DBG "fail_page_alloc");
		return false;
	}
	atexit(fi_restore);
	/*
	 * Injected faults make the kernel say so: allocations that warn when
	 * they fail (fork's vmalloc of a stack), kmemleak's own that fail.
	 */
	kt_expect("alloc-failure");
	kt_expect("line kmemleak: Cannot allocate a scan area");
	for (t = 0; t < FI_NR; t++) {
		if (!fi_have[t])
			continue;
		for (i = 0; i < sizeof(fi_common) / sizeof(fi_common[0]); i++)
			fi_set(fi_types[t].dir, fi_common[i]);
		for (i = 0; fi_types[t].settings[i]; i++)
			fi_set(fi_types[t].dir, fi_types[t].settings[i]);
	}
	return true;
}

/*
 * Which points fail-nth counts: every kind (@allocs), or user copies only
 * (the slab's filter then lets no cache fail, and no page allocation is
 * of an order that high).
 */
static void fi_mode(bool allocs)
{
	fi_set("failslab", allocs ? "cache-filter=N" : "cache-filter=Y");
	fi_set("fail_page_alloc", allocs ? "min-order=0" : "min-order=100");
}

/* From now on, the @n-th failure point this thread passes fails. */
static void nth_arm(unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	if (pwrite(nth_fd, buf, len, 0) != len)
		kt_fail(__FILE__, __LINE__, "cannot arm fail-nth");
}

/*
 * Did the armed fault fire? Reading the file copies to the user, which is
 * a failure point too: with one point left, that read fails (EFAULT) and
 * the answer was "not fired". Writing 0 disarms whatever is left.
 */
static bool nth_fired(void)
{
	char buf[16] = "";
	ssize_t n = pread(nth_fd, buf, sizeof(buf) - 1, 0);
	bool fired;

	if (n < 0 && errno != EFAULT)
		kt_fail(__FILE__, __LINE__, "cannot read fail-nth");
	fired = n > 0 && strtoul(buf, NULL, 10) == 0;
	if (pwrite(nth_fd, "0", 1, 0) != 1 && errno != EFAULT)
		kt_fail(__FILE__, __LINE__, "cannot disarm fail-nth");
	n = pread(nth_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0 || strtoul(buf, NULL, 10) != 0)
		kt_fail(__FILE__, __LINE__, "fail-nth not disarmed");
	return fired;
}

/* --- state that must not change ------------------------------------------- */

static int sfd = -1;		/* O_RDONLY, for GET_STATS */

struct snap {
	uint64_t stats[KUBUF_STAT_NR];
	long long pins;
	long vmpin;
	long memtypes;
};


static long count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	long n = 0;
	int c;

	if (!f)
		return -1;
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static void snap_take(struct snap *s)
{
	struct kubuf_stats st;

	memset(&st, 0, sizeof(st));
	KT_OK(ioctl(sfd, KUBUF_IOC_GET_STATS, &st));
	memcpy(s->stats, st.counters, sizeof(s->stats));
	s->pins = kt_pinned_pages();
	s->vmpin = kt_vmpin_kb();
	s->memtypes = count_lines(DBG "x86/pat_memtype_list");
}

/* Describe the first difference, or return NULL. */
static const char *snap_diff(const struct snap *a, const struct snap *b,
			     char *msg, size_t len)
{
	int i;

	for (i = 0; i < KUBUF_STAT_NR; i++)
		if (a->stats[i] != b->stats[i]) {
			snprintf(msg, len, "counter %s is %llu, was %llu",
				 kubuf_stat_name(i), (unsigned long long)b->stats[i],
				 (unsigned long long)a->stats[i]);
			return msg;
		}
	if (a->pins != b->pins)
		snprintf(msg, len, "pinned pages (vmstat) %lld, were %lld",
			 b->pins, a->pins);
	else if (a->vmpin != b->vmpin)
		snprintf(msg, len, "VmPin %ld kB, was %ld kB", b->vmpin, a->vmpin);
	else if (a->memtypes != b->memtypes)
		snprintf(msg, len, "PAT memory types %ld, were %ld",
			 b->memtypes, a->memtypes);
	else
		return NULL;
	return msg;
}

/* --- the operations ------------------------------------------------------- */

/*
 * One operation: prepare() sets up what it needs without fault injection,
 * call() is the one system call under test, check() verifies its result
 * (a success must be right; a failure must have changed nothing) and
 * undoes everything prepare() and call() did.
 */
struct op {
	const char *name;
	int errnos[4];		/* the call may fail with these (0 ends) */
	unsigned int min_alloc;	/* allocation points it must pass, at least */
	unsigned int min_copy;	/* user-copy points it must pass, at least */
	unsigned long pin;	/* pages it pins or DMA pages: its RLIMIT_MEMLOCK */
	/* the variant */
	unsigned long pages;
	uint32_t kind, cache, flags, dev_op, mem, src_mem;
	void (*prepare)(const struct op *op);
	long (*call)(const struct op *op);
	void (*check)(const struct op *op, long ret);
};

#define ENOMEM_EFAULT	{ ENOMEM, EFAULT }
#define ONLY_EFAULT	{ EFAULT }
#define ONLY_ENOMEM	{ ENOMEM }

/* What prepare() made and call() and check() use. */
static struct {
	int fd;			/* O_RDWR, for the whole case */
	char *mem;		/* MEM_PAGES of registrable memory */
	char *ro;		/* 8 pages, read-only, not zero pages */
	char *shm;		/* 8 pages of a memfd, shared */
	int tmpfd, efd, efd2;
	uint32_t ubuf, kbuf, kbuf2;
	uint64_t kbuf_off;
	char *map, *dest;
	size_t maplen;
	void *buf;		/* a copy target */
	struct kubuf_info info;
	struct kubuf_stats stats;
	struct kubuf_eventfd ebind;
	struct kubuf_events ev;
	struct kubuf_ubuf_reg reg;
	struct kubuf_ubuf_query query;
	struct kubuf_id idarg;
	struct kubuf_ucopy ucopy;
	struct kubuf_kbuf_alloc alloc;
	struct kubuf_dev_cmd cmd;
} S;

static uint32_t reg_ubuf(int fd, void *addr, size_t len, uint32_t access)
{
	struct kubuf_ubuf_reg r;

	memset(&r, 0, sizeof(r));
	r.addr = (uintptr_t)addr;
	r.len = len;
	r.access = access;
	KT_OK(ioctl(fd, KUBUF_IOC_UBUF_REGISTER, &r));
	return r.id;
}

static void unreg_ubuf(int fd, uint32_t id)
{
	struct kubuf_id a = { .id = id };

	KT_OK(ioctl(fd, KUBUF_IOC_UBUF_UNREGISTER, &a));
}

static uint32_t alloc_kbuf(int fd, unsigned long pages, uint32_t kind,
			   uint32_t cache, uint32_t flags, uint64_t *off)
{
	struct kubuf_kbuf_alloc a;

	memset(&a, 0, sizeof(a));
	a.size = pages * PG;
	a.kind = kind;
	a.cache = cache;
	a.flags = flags;
	KT_OK(ioctl(fd, KUBUF_IOC_KBUF_ALLOC, &a));
	if (off)
		*off = a.mmap_offset;
	return a.id;
}

static void free_kbuf(int fd, uint32_t id)
{
	struct kubuf_id a = { .id = id };

	KT_OK(ioctl(fd, KUBUF_IOC_KBUF_FREE, &a));
}

static int dev_cmd(uint32_t op, uint32_t flags, uint32_t kind, uint32_t id,
		   uint64_t len, uint32_t seed, uint64_t *result)
{
	return kt_dev_cmd(S.fd, op, flags, kind, id, len, seed, result);
}

/* Read and clear the pending events of S.fd. */
static uint32_t take_events(void)
{
	struct kubuf_events ev;

	memset(&ev, 0, sizeof(ev));
	KT_OK(ioctl(S.fd, KUBUF_IOC_GET_EVENTS, &ev));
	return ev.pending;
}

/* Wait until S.fd reports an event pending (poll: EPOLLPRI). */
static void poll_pri(void)
{
	struct pollfd p = { .fd = S.fd, .events = POLLPRI };
	int i;

	for (i = 0; i < 100; i++)
		if (kt_poll(&p, 1, 100) > 0 && (p.revents & POLLPRI))
			return;
	kt_fail(__FILE__, __LINE__, "no event within 10s");
}

/* Take events until all of @want came; return all that came. */
static uint32_t wait_for(uint32_t want)
{
	uint32_t got = 0;

	while ((got & want) != want) {
		poll_pri();
		got |= take_events();
	}
	return got;
}

static void stat_is(enum kubuf_stat s, uint64_t want)
{
	struct kubuf_stats st;

	memset(&st, 0, sizeof(st));
	KT_OK(ioctl(sfd, KUBUF_IOC_GET_STATS, &st));
	if (st.counters[s] != want)
		kt_fail(__FILE__, __LINE__, "counter %s is %llu, want %llu",
			kubuf_stat_name(s), (unsigned long long)st.counters[s],
			(unsigned long long)want);
}

static uint64_t stat_now(enum kubuf_stat s)
{
	struct kubuf_stats st;

	memset(&st, 0, sizeof(st));
	KT_OK(ioctl(sfd, KUBUF_IOC_GET_STATS, &st));
	return st.counters[s];
}

static void touch_all(const char *p, size_t len)
{
	volatile const char *v = p;
	size_t i;

	for (i = 0; i < len; i += PG)
		(void)v[i];
}

/* [p, p + len) holds bytes [off, off + len) of the pattern @seed. */
static void pattern_from(const char *p, uint64_t off, size_t len,
			 uint32_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((uint8_t)p[i] != kubuf_pattern_byte(seed, off + i))
			kt_fail(__FILE__, __LINE__,
				"byte %zu is %#x, not pattern %u's %#x", i,
				(uint8_t)p[i], seed,
				kubuf_pattern_byte(seed, off + i));
}

static void pattern_is(const char *p, size_t len, uint32_t seed)
{
	pattern_from(p, 0, len, seed);
}

static void zero_is(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			kt_fail(__FILE__, __LINE__, "byte %zu is %#x, not 0",
				i, (uint8_t)p[i]);
}

/* --- open, close, release ------------------------------------------------- */

static long call_open(const struct op *op)
{
	S.tmpfd = open("/dev/" KUBUF_DEVICE_NAME, O_RDWR | O_CLOEXEC);
	return S.tmpfd;
}

static void check_open(const struct op *op, long ret)
{
	struct kubuf_info in;

	if (ret < 0)
		return;
	KT_OK(ioctl(S.tmpfd, KUBUF_IOC_GET_INFO, &in));
	KT_ASSERT_EQ(in.abi_version, KUBUF_ABI_VERSION);
	close(S.tmpfd);
}

/* A file that holds one of everything, so that release has work. */
static void prep_full_file(const struct op *op)
{
	int efd = KT_OK(eventfd(0, EFD_CLOEXEC));
	struct kubuf_eventfd e = { .fd = efd };

	S.tmpfd = KT_OK(open("/dev/" KUBUF_DEVICE_NAME, O_RDWR | O_CLOEXEC));
	reg_ubuf(S.tmpfd, S.mem, 4 * PG, RW);
	alloc_kbuf(S.tmpfd, 4, KUBUF_KBUF_PAGES, 0, 0, NULL);
	KT_OK(ioctl(S.tmpfd, KUBUF_IOC_SET_EVENTFD, &e));
	close(efd);
}

static long call_close(const struct op *op)
{
	return close(S.tmpfd);
}

static void check_close(const struct op *op, long ret)
{
	KT_ASSERT_EQ(ret, 0);
}

/* The last reference to the file is a mapping; munmap releases it. */
static void prep_last_map(const struct op *op)
{
	uint64_t off;

	S.tmpfd = KT_OK(open("/dev/" KUBUF_DEVICE_NAME, O_RDWR | O_CLOEXEC));
	reg_ubuf(S.tmpfd, S.mem, 4 * PG, RW);
	alloc_kbuf(S.tmpfd, 4, KUBUF_KBUF_PAGES, 0, 0, &off);
	S.map = mmap(NULL, 4 * PG, PROT_READ, MAP_SHARED, S.tmpfd, off);
	KT_ASSERT(S.map != MAP_FAILED);
	touch_all(S.map, 4 * PG);
	close(S.tmpfd);
}

static long call_munmap_all(const struct op *op)
{
	return munmap(S.map, 4 * PG);
}

static void check_munmap_all(const struct op *op, long ret)
{
	if (ret < 0) {
		touch_all(S.map, 4 * PG);
		KT_OK(munmap(S.map, 4 * PG));
	}
}

/* --- info, stats, events -------------------------------------------------- */

static long call_info(const struct op *op)
{
	return ioctl(S.fd, KUBUF_IOC_GET_INFO, &S.info);
}

static void check_info(const struct op *op, long ret)
{
	if (ret < 0)
		return;
	KT_ASSERT_EQ(S.info.abi_version, KUBUF_ABI_VERSION);
	KT_ASSERT_EQ(S.info.page_size, PG);
	KT_ASSERT_EQ(S.info.nr_stats, KUBUF_STAT_NR);
}

static void prep_stats(const struct op *op)
{
	memset(&S.stats, 0, sizeof(S.stats));
}

static long call_stats(const struct op *op)
{
	return ioctl(S.fd, KUBUF_IOC_GET_STATS, &S.stats);
}

static void check_stats(const struct op *op, long ret)
{
	if (ret < 0)
		return;
	KT_ASSERT_EQ(S.stats.nr_counters, KUBUF_STAT_NR);
	KT_ASSERT(S.stats.counters[KUBUF_STAT_OPEN_FILES] >= 2);
}

/*
 * SET_EVENTFD binds S.efd; op->flags 1: S.efd2 was bound (a replace), 2:
 * S.efd2 was bound and the call clears.
 */
static void prep_efd(const struct op *op)
{
	S.efd = KT_OK(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	S.efd2 = KT_OK(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	S.ebind.fd = S.efd;
	S.ebind.flags = 0;
	if (op->flags) {
		struct kubuf_eventfd e = { .fd = S.efd2 };

		KT_OK(ioctl(S.fd, KUBUF_IOC_SET_EVENTFD, &e));
	}
	if (op->flags == 2) {
		S.ebind.fd = -1;
		S.ebind.flags = KUBUF_EVENTFD_CLEAR;
	}
}

static long call_set_efd(const struct op *op)
{
	return ioctl(S.fd, KUBUF_IOC_SET_EVENTFD, &S.ebind);
}

static void check_set_efd(const struct op *op, long ret)
{
	struct kubuf_eventfd clear = { .fd = -1, .flags = KUBUF_EVENTFD_CLEAR };
	bool bound_before = op->flags != 0;
	bool bound_after = op->flags == 2 ? ret < 0 : ret == 0 || bound_before;
	uint64_t v;

	/* Exactly one reference while bound, whatever happened. */
	stat_is(KUBUF_STAT_EVENTFD_REFS, bound_after);
	/* A DONE event signals the eventfd now bound, and only that one. */
	KT_OK(dev_cmd(KUBUF_DEV_RESET, KUBUF_DEV_NOWAIT, 0, 0, 0, 0, NULL));
	wait_for(KUBUF_EVENT_DONE);
	if (bound_after) {
		int want = ret == 0 && op->flags != 2 ? S.efd : S.efd2;
		int other = want == S.efd ? S.efd2 : S.efd;

		KT_ASSERT_EQ(read(want, &v, sizeof(v)), sizeof(v));
		KT_ERRNO(read(other, &v, sizeof(v)), EAGAIN);
	} else {
		KT_ERRNO(read(S.efd, &v, sizeof(v)), EAGAIN);
		KT_ERRNO(read(S.efd2, &v, sizeof(v)), EAGAIN);
	}
	KT_OK(ioctl(S.fd, KUBUF_IOC_SET_EVENTFD, &clear));
	close(S.efd);
	close(S.efd2);
}

/* A DONE event pending: a finished NOWAIT command. */
static void prep_events(const struct op *op)
{
	memset(&S.ev, 0, sizeof(S.ev));
	KT_OK(dev_cmd(KUBUF_DEV_RESET, KUBUF_DEV_NOWAIT, 0, 0, 0, 0, NULL));
	poll_pri();
}

static long call_events(const struct op *op)
{
	return ioctl(S.fd, KUBUF_IOC_GET_EVENTS, &S.ev);
}

static void check_events(const struct op *op, long ret)
{
	/* Delivered now, or still pending: never lost. */
	if (ret == 0)
		KT_ASSERT(S.ev.pending & KUBUF_EVENT_DONE);
	else
		KT_ASSERT(take_events() & KUBUF_EVENT_DONE);
	KT_ASSERT_EQ(take_events(), 0);
}

/* --- technique 1 ---------------------------------------------------------- */

static char *reg_addr(const struct op *op)
{
	switch (op->mem) {
	case 1:
		return S.ro;
	case 2:
		return S.shm;
	case 3:
		return S.mem + 100;	/* unaligned */
	default:
		return S.mem;
	}
}

static size_t reg_len(const struct op *op)
{
	return op->mem == 3 ? (op->pages - 1) * PG + 5 : op->pages * PG;
}

static void prep_register(const struct op *op)
{
	memset(&S.reg, 0, sizeof(S.reg));
	S.reg.addr = (uintptr_t)reg_addr(op);
	S.reg.len = reg_len(op);
	S.reg.access = op->mem == 1 ? KUBUF_ACCESS_DEV_READ : RW;
}

static long call_register(const struct op *op)
{
	return ioctl(S.fd, KUBUF_IOC_UBUF_REGISTER, &S.reg);
}

static void check_register(const struct op *op, long ret)
{
	struct kubuf_ubuf_query q;
	uint64_t sum = 0;

	if (ret < 0)
		return;
	memset(&q, 0, sizeof(q));
	q.id = S.reg.id;
	KT_OK(ioctl(S.fd, KUBUF_IOC_UBUF_QUERY, &q));
	KT_ASSERT_EQ(q.state, KUBUF_UBUF_ACTIVE);
	KT_ASSERT_EQ(q.nr_pages, op->pages);
	/* The kernel mapping is right: the device sees the memory. */
	if (op->mem == 1) {
		KT_OK(dev_cmd(KUBUF_DEV_CHECKSUM, 0, KUBUF_MEM_UBUF, q.id,
			      S.reg.len, 0, &sum));
		KT_ASSERT(sum == kubuf_checksum(KUBUF_CHECKSUM_INIT,
						reg_addr(op), S.reg.len));
	} else {
		KT_OK(dev_cmd(KUBUF_DEV_FILL, 0, KUBUF_MEM_UBUF, q.id,
			      S.reg.len, 9, NULL));
		pattern_is(reg_addr(op), S.reg.len, 9);
	}
	unreg_ubuf(S.fd, q.id);
}

/* A registration for UNREGISTER, QUERY, and the device. */
static void prep_ubuf(const struct op *op)
{
	memset(S.mem, 0, 4 * PG);
	S.ubuf = reg_ubuf(S.fd, S.mem, 4 * PG, RW);
	memset(&S.idarg, 0, sizeof(S.idarg));
	S.idarg.id = S.ubuf;
	memset(&S.query, 0, sizeof(S.query));
	S.query.id = S.ubuf;
}

/* ... and the device writing it over and over (op->flags 1). */
static void prep_ubuf_busy(const struct op *op)
{
	struct kubuf_dev_cmd c;

	prep_ubuf(op);
	memset(&c, 0, sizeof(c));
	c.op = KUBUF_DEV_FILL;
	c.flags = KUBUF_DEV_NOWAIT;
	c.kind = KUBUF_MEM_UBUF;
	c.id = S.ubuf;
	c.len = 4 * PG;
	c.repeat = KUBUF_DEV_MAX_REPEAT;
	KT_OK(ioctl(S.fd, KUBUF_IOC_DEV_CMD, &c));
}

static long call_unregister(const struct op *op)
{
	return ioctl(S.fd, KUBUF_IOC_UBUF_UNREGISTER, &S.idarg);
}

static void check_unregister(const struct op *op, long ret)
{
	struct kubuf_ubuf_query q;

	memset(&q, 0, sizeof(q));
	q.id = S.ubuf;
	if (ret == 0) {
		KT_ERRNO(ioctl(S.fd, KUBUF_IOC_UBUF_QUERY, &q), ENOENT);
	} else {
		KT_OK(ioctl(S.fd, KUBUF_IOC_UBUF_QUERY, &q));
		KT_ASSERT_EQ(q.state, KUBUF_UBUF_ACTIVE);
		unreg_ubuf(S.fd, S.ubuf);
	}
	/* The writer stopped, at the unregister that worked. */
	if (op->flags)
		wait_for(KUBUF_EVENT_DONE);
}

static long call_query(const struct op *op)
{
	return ioctl(S.fd, KUBUF_IOC_UBUF_QUERY, &S.query);
}

static void check_query(const struct op *op, long ret)
{
	if (ret == 0) {
		KT_ASSERT_EQ(S.query.state, KUBUF_UBUF_ACTIVE);
		KT_ASSERT_EQ(S.query.nr_pages, 4);
		KT_ASSERT(S.query.addr == (uintptr_t)S.mem);
	}
	unreg_ubuf(S.fd, S.ubuf);
}

/* --- the caller-context variant and read() -------------------------------- */

static void prep_ucopy(const struct op *op)
{
	memset(S.mem, 0x3c, op->pages * PG);
	memset(&S.ucopy, 0, sizeof(S.ucopy));
	S.ucopy.op = op->dev_op;
	S.ucopy.addr = (uintptr_t)S.mem;
	S.ucopy.len = op->pages * PG;
	S.ucopy.seed = op->dev_op == KUBUF_UCOPY_FILL ? 5 : 0;
}

static long call_ucopy(const struct op *op)
{
	return ioctl(S.fd, KUBUF_IOC_UCOPY, &S.ucopy);
}

static void check_ucopy(const struct op *op, long ret)
{
	if (ret < 0)
		return;
	if (op->dev_op == KUBUF_UCOPY_FILL)
		pattern_is(S.mem, op->pages * PG, 5);
	else
		KT_ASSERT(S.ucopy.result ==
			  kubuf_checksum(KUBUF_CHECKSUM_INIT, S.mem,
					 op->pages * PG));
}

static long call_read(const struct op *op)
{
	return read(S.fd, S.buf, op->pages * PG);
}

static void check_read(const struct op *op, long ret)
{
	size_t want = op->pages * PG < (1UL << 20) ? op->pages * PG : 1UL << 20;

	if (ret < 0)
		return;
	KT_ASSERT_EQ(ret, want);
	pattern_is(S.buf, want, 0);
}

/* --- technique 2 ---------------------------------------------------------- */

static void prep_alloc(const struct op *op)
{
	memset(&S.alloc, 0, sizeof(S.alloc));
	S.alloc.size = op->pages * PG;
	S.alloc.kind = op->kind;
	S.alloc.cache = op->cache;
	S.alloc.flags = KUBUF_KBUF_APP_WRITE;
}

static long call_alloc(const struct op *op)
{
	return ioctl(S.fd, KUBUF_IOC_KBUF_ALLOC, &S.alloc);
}

static void check_alloc(const struct op *op, long ret)
{
	size_t len = op->pages * PG;
	char *p;

	if (ret < 0)
		return;
	KT_ASSERT(S.alloc.id != 0);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, S.fd,
		 S.alloc.mmap_offset);
	KT_ASSERT(p != MAP_FAILED);
	KT_ASSERT_EQ(p[0], 0);
	KT_ASSERT_EQ(p[len - 1], 0);
	KT_OK(dev_cmd(KUBUF_DEV_FILL, 0, KUBUF_MEM_KBUF, S.alloc.id, len, 4,
		      NULL));
	pattern_is(p, len, 4);
	KT_OK(munmap(p, len));
	free_kbuf(S.fd, S.alloc.id);
}

/* A buffer for FREE, mmap and the mm calls; mapped when op->flags. */
static void prep_kbuf(const struct op *op)
{
	uint32_t kind = op->kind, cache = op->cache;

	S.kbuf = alloc_kbuf(S.fd, op->pages, kind, cache,
			    op->flags & 2 ? 0 : KUBUF_KBUF_APP_WRITE,
			    &S.kbuf_off);
	KT_OK(dev_cmd(KUBUF_DEV_FILL, 0, KUBUF_MEM_KBUF, S.kbuf,
		      op->pages * PG, 6, NULL));
	memset(&S.idarg, 0, sizeof(S.idarg));
	S.idarg.id = S.kbuf;
	S.map = NULL;
	S.maplen = op->pages * PG;
	if (op->flags & 1) {
		S.map = mmap(NULL, S.maplen, PROT_READ |
			     (op->flags & 2 ? 0 : PROT_WRITE), MAP_SHARED,
			     S.fd, S.kbuf_off);
		KT_ASSERT(S.map != MAP_FAILED);
		touch_all(S.map, S.maplen);
	}
	/* Somewhere to mremap to. */
	S.dest = mmap(NULL, S.maplen, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		      -1, 0);
	KT_ASSERT(S.dest != MAP_FAILED);
}

/* The buffer's id is dead and its memory freed once unmapped. */
static void kbuf_gone(void)
{
	int i;

	KT_ERRNO(ioctl(S.fd, KUBUF_IOC_KBUF_FREE, &S.idarg), ENOENT);
	if (S.dest)
		munmap(S.dest, S.maplen);
	for (i = 0; i < 100 && stat_now(KUBUF_STAT_KBUFS); i++)
		kt_msleep(10);
}

static long call_free(const struct op *op)
{
	return ioctl(S.fd, KUBUF_IOC_KBUF_FREE, &S.idarg);
}

static void check_free(const struct op *op, long ret)
{
	if (ret < 0)
		free_kbuf(S.fd, S.kbuf);
	if (S.map) {
		/* Freed while mapped: the memory stays, as it was. */
		stat_is(KUBUF_STAT_KBUFS, 1);
		pattern_is(S.map, S.maplen, 6);
		KT_OK(munmap(S.map, S.maplen));
	}
	kbuf_gone();
}

/*
 * An address in a region of its own (flags & 4), far from every other
 * mapping: mmap must allocate page tables there, so the sweep fails
 * those allocations too.
 */
#define FRESH_ADDR	((void *)0x200000000000UL)

static long call_mmap(const struct op *op)
{
	unsigned long first = op->dev_op;	/* first page mapped */
	void *p;

	p = mmap(op->flags & 4 ? FRESH_ADDR : NULL, (op->pages - first) * PG,
		 PROT_READ | (op->flags & 2 ? 0 : PROT_WRITE),
		 MAP_SHARED | (op->flags & 4 ? MAP_FIXED_NOREPLACE : 0),
		 S.fd, S.kbuf_off + first * PG);
	S.map = p == MAP_FAILED ? NULL : p;
	return p == MAP_FAILED ? -1 : 0;
}

static void check_mmap(const struct op *op, long ret)
{
	unsigned long first = op->dev_op;
	size_t len = (op->pages - first) * PG;
	uint8_t want[8];
	unsigned int i;

	if (ret == 0) {
		stat_is(KUBUF_STAT_MAPPINGS, 1);
		for (i = 0; i < sizeof(want); i++)
			want[i] = kubuf_pattern_byte(6, first * PG + i);
		KT_ASSERT(!memcmp(S.map, want, sizeof(want)));
		touch_all(S.map, len);
		KT_OK(munmap(S.map, len));
	}
	stat_is(KUBUF_STAT_MAPPINGS, 0);
	/* A failed mmap kept no reference: FREE frees the buffer now. */
	free_kbuf(S.fd, S.kbuf);
	stat_is(KUBUF_STAT_KBUFS, 0);
	kbuf_gone();
}

/* Unmap page 1 of the mapping: the VMA splits in two. */
static long call_munmap_hole(const struct op *op)
{
	return munmap(S.map + PG, PG);
}

/* Make the first half read-only: the VMA splits in two. */
static long call_mprotect_half(const struct op *op)
{
	return mprotect(S.map, S.maplen / 2, PROT_READ);
}

static long call_mremap(const struct op *op)
{
	void *p = mremap(S.map, S.maplen, S.maplen,
			 MREMAP_MAYMOVE | MREMAP_FIXED, S.dest);

	if (p == MAP_FAILED)
		return -1;
	S.map = p;
	S.dest = NULL;
	return 0;
}

static long call_fork(const struct op *op)
{
	pid_t pid = fork();

	if (pid == 0) {
		/* The child sees the parent's buffer. */
		_exit(S.map[5] == (char)kubuf_pattern_byte(6, 5) ? 0 : 1);
	}
	return pid;
}

/* The VMAs of this process in [addr, addr + len). */
static unsigned int vmas_in(const char *addr, size_t len)
{
	unsigned long start, end, a = (uintptr_t)addr;
	unsigned int n = 0;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");

	KT_ASSERT(f != NULL);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &start, &end) == 2 &&
		    start < a + len && end > a)
			n++;
	fclose(f);
	return n;
}

/*
 * After a mm call on the mapping: it is whole, or changed as asked. A
 * call that failed may still have split it: the module counts one
 * mapping per VMA, however many there are.
 */
static void check_mm(const struct op *op, long ret)
{
	size_t len = S.maplen;
	int status;

	if (op->dev_op == 4 && ret > 0) {
		KT_ASSERT_EQ(waitpid(ret, &status, 0), ret);
		KT_ASSERT(WIFEXITED(status));
		KT_ASSERT_EQ(WEXITSTATUS(status), 0);
	}
	stat_is(KUBUF_STAT_MAPPINGS, vmas_in(S.map, len));
	if (op->dev_op == 1 && ret == 0) {
		/* Page 1 is gone; the rest holds the buffer's bytes. */
		KT_ASSERT_EQ(vmas_in(S.map + PG, PG), 0);
		pattern_is(S.map, PG, 6);
		pattern_from(S.map + 2 * PG, 2 * PG, len - 2 * PG, 6);
	} else {
		pattern_is(S.map, len, 6);
	}
	KT_OK(munmap(S.map, len));
	stat_is(KUBUF_STAT_MAPPINGS, 0);
	free_kbuf(S.fd, S.kbuf);
	kbuf_gone();
}

/* --- the device ----------------------------------------------------------- */

/*
 * A registration over S.mem (zeros) and a buffer (pattern 6, mapped
 * read-only to look at it), and the command of op: dev_op on op->mem,
 * COPY from op->src_mem, NOWAIT when op->flags.
 */
static void prep_dev(const struct op *op)
{
	memset(S.mem, 0, 4 * PG);
	S.ubuf = reg_ubuf(S.fd, S.mem, 4 * PG, RW);
	S.kbuf = alloc_kbuf(S.fd, 4, KUBUF_KBUF_PAGES, 0, 0, &S.kbuf_off);
	KT_OK(dev_cmd(KUBUF_DEV_FILL, 0, KUBUF_MEM_KBUF, S.kbuf, 4 * PG, 6,
		      NULL));
	S.map = mmap(NULL, 4 * PG, PROT_READ, MAP_SHARED, S.fd, S.kbuf_off);
	KT_ASSERT(S.map != MAP_FAILED);
	KT_ASSERT_EQ(take_events(), 0);

	memset(&S.cmd, 0, sizeof(S.cmd));
	S.cmd.op = op->dev_op;
	S.cmd.flags = op->flags;
	if (op->dev_op == KUBUF_DEV_RESET)
		return;
	S.cmd.kind = op->mem;
	S.cmd.id = op->mem == KUBUF_MEM_UBUF ? S.ubuf : S.kbuf;
	S.cmd.len = 4 * PG;
	if (op->dev_op == KUBUF_DEV_FILL)
		S.cmd.seed = 8;
	if (op->dev_op == KUBUF_DEV_COPY) {
		S.cmd.src_kind = op->src_mem;
		S.cmd.src_id = op->src_mem == KUBUF_MEM_UBUF ? S.ubuf : S.kbuf;
	}
}

static long call_dev(const struct op *op)
{
	return ioctl(S.fd, KUBUF_IOC_DEV_CMD, &S.cmd);
}

/* Before: S.mem (the registration) zeros, S.map (the buffer) pattern 6. */
static void check_dev(const struct op *op, long ret)
{
	char *target = op->mem == KUBUF_MEM_UBUF ? S.mem : S.map;
	struct kubuf_ubuf_query q;
	uint32_t ev;

	/* A DONE event for a command that ran, never for one that did not. */
	if (ret == 0 && op->flags)
		ev = wait_for(KUBUF_EVENT_DONE);
	else
		ev = take_events();
	KT_ASSERT_EQ(!!(ev & KUBUF_EVENT_DONE), ret == 0 && op->flags);

	memset(&q, 0, sizeof(q));
	q.id = S.ubuf;
	KT_OK(ioctl(S.fd, KUBUF_IOC_UBUF_QUERY, &q));
	switch (op->dev_op) {
	case KUBUF_DEV_FILL:
		/* A command that failed did nothing. */
		if (ret == 0)
			pattern_is(target, 4 * PG, 8);
		else if (op->mem == KUBUF_MEM_UBUF)
			zero_is(S.mem, 4 * PG);
		else
			pattern_is(S.map, 4 * PG, 6);
		break;
	case KUBUF_DEV_CHECKSUM:
		if (ret == 0 && !op->flags)
			KT_ASSERT(S.cmd.result ==
				  kubuf_checksum(KUBUF_CHECKSUM_INIT, target,
						 4 * PG));
		break;
	case KUBUF_DEV_COPY:
		if (op->mem == KUBUF_MEM_UBUF) {
			if (ret == 0)
				pattern_is(S.mem, 4 * PG, 6);
			else
				zero_is(S.mem, 4 * PG);
		} else {
			if (ret == 0)
				zero_is(S.map, 4 * PG);
			else
				pattern_is(S.map, 4 * PG, 6);
		}
		break;
	case KUBUF_DEV_RESET:
		KT_ASSERT_EQ(q.state, ret == 0 ? KUBUF_UBUF_REVOKED :
						 KUBUF_UBUF_ACTIVE);
		break;
	}
	KT_OK(munmap(S.map, 4 * PG));
	unreg_ubuf(S.fd, S.ubuf);
	free_kbuf(S.fd, S.kbuf);
}

/* --- rings ------------------------------------------------------------------ */

#define RING_DATA	4096

/* A TO_APP ring at the start of driver buffer @kbuf; 0 or -1. */
static void ring_args_app(struct kubuf_ring_attach *a, uint32_t kbuf, int efd)
{
	memset(a, 0, sizeof(*a));
	a->dir = KUBUF_RING_TO_APP;
	a->kind = KUBUF_MEM_KBUF;
	a->mem_id = kbuf;
	a->data_size = RING_DATA;
	a->eventfd = efd;
	a->wake_records = 1;
}

static uint32_t ring_attach(struct kubuf_ring_attach *a)
{
	KT_OK(ioctl(S.fd, KUBUF_IOC_RING_ATTACH, a));
	return a->id;
}

static int ring_detach(uint32_t id)
{
	struct kubuf_id a = { .id = id };

	return ioctl(S.fd, KUBUF_IOC_RING_DETACH, &a);
}

/*
 * op->flags: 0 a TO_APP ring in a driver buffer; 1 the same with an
 * eventfd of its own; 2 a TO_DEV ring in a registration, replying into
 * a TO_APP ring; 4 the TO_APP ring attached already (for DETACH, QUERY,
 * STREAM_START), 8 and its stream started (STREAM_STOP).
 */
static struct kubuf_ring_attach ring_arg;
static struct kubuf_stream stream_arg;
static struct kubuf_ring_query ring_q;
static uint32_t ring_id, reply_id;

static void prep_ring(const struct op *op)
{
	struct kubuf_ring_attach reply;

	memset(S.mem, 0, 4 * PG);
	S.kbuf = alloc_kbuf(S.fd, 4, KUBUF_KBUF_PAGES, 0,
			    KUBUF_KBUF_APP_WRITE, NULL);
	S.efd = op->flags & 1 ? KT_OK(eventfd(0, EFD_CLOEXEC)) : -1;
	S.ubuf = 0;
	reply_id = ring_id = 0;
	ring_args_app(&ring_arg, S.kbuf, S.efd);
	if (op->flags & 2) {
		S.ubuf = reg_ubuf(S.fd, S.mem, 4 * PG, RW);
		ring_args_app(&reply, S.kbuf, -1);
		reply_id = ring_attach(&reply);
		memset(&ring_arg, 0, sizeof(ring_arg));
		ring_arg.dir = KUBUF_RING_TO_DEV;
		ring_arg.kind = KUBUF_MEM_UBUF;
		ring_arg.mem_id = S.ubuf;
		ring_arg.data_size = RING_DATA;
		ring_arg.eventfd = -1;
		ring_arg.reply_id = reply_id;
	}
	if (op->flags & 4)
		ring_id = ring_attach(&ring_arg);
	memset(&stream_arg, 0, sizeof(stream_arg));
	stream_arg.ring_id = ring_id;
	stream_arg.flags = KUBUF_STREAM_LOSSLESS;
	stream_arg.rec_size = 32;
	stream_arg.count = 4;
	if (op->flags & 8)
		KT_OK(ioctl(S.fd, KUBUF_IOC_STREAM_START, &stream_arg));
	memset(&ring_q, 0, sizeof(ring_q));
	ring_q.id = ring_id;
	memset(&S.idarg, 0, sizeof(S.idarg));
	S.idarg.id = ring_id;
}

static long call_ring_attach(const struct op *op)
{
	return ioctl(S.fd, KUBUF_IOC_RING_ATTACH, &ring_arg);
}

static long call_ring_detach(const struct op *op)
{
	return ioctl(S.fd, KUBUF_IOC_RING_DETACH, &S.idarg);
}

static long call_ring_query(const struct op *op)
{
	return ioctl(S.fd, KUBUF_IOC_RING_QUERY, &ring_q);
}

static long call_stream_start(const struct op *op)
{
	return ioctl(S.fd, KUBUF_IOC_STREAM_START, &stream_arg);
}

static long call_stream_stop(const struct op *op)
{
	return ioctl(S.fd, KUBUF_IOC_STREAM_STOP, &S.idarg);
}

/* The ring is there, active, or not there at all; then nothing is. */
static void check_ring(const struct op *op, long ret)
{
	struct kubuf_ring_query q;
	uint32_t id = ring_id;

	if (op->call == call_ring_attach && ret == 0)
		id = ring_arg.id;
	memset(&q, 0, sizeof(q));
	q.id = id;
	if (op->call == call_ring_detach && ret == 0) {
		KT_ERRNO(ioctl(S.fd, KUBUF_IOC_RING_QUERY, &q), ENOENT);
		id = 0;
	} else if (id) {
		KT_OK(ioctl(S.fd, KUBUF_IOC_RING_QUERY, &q));
		KT_ASSERT_EQ(q.state, KUBUF_RING_ACTIVE);
		if (op->call == call_ring_query && ret == 0)
			KT_ASSERT_EQ(ring_q.dir, KUBUF_RING_TO_APP);
		if (op->call == call_stream_start)
			KT_ASSERT(ret ? q.stream == KUBUF_STREAM_IDLE :
				  q.stream != KUBUF_STREAM_IDLE);
	}
	stat_is(KUBUF_STAT_RINGS, !!id + !!reply_id);
	if (id)
		KT_OK(ring_detach(id));
	if (reply_id)
		KT_OK(ring_detach(reply_id));
	stat_is(KUBUF_STAT_RINGS, 0);
	if (S.ubuf)
		unreg_ubuf(S.fd, S.ubuf);
	free_kbuf(S.fd, S.kbuf);
	if (S.efd >= 0)
		close(S.efd);
	take_events();
}

/* --- the sweep ------------------------------------------------------------ */

static const char *errname(int e)
{
	switch (e) {
	case ENOMEM: return "ENOMEM";
	case EFAULT: return "EFAULT";
	case EAGAIN: return "EAGAIN";
	case EINTR: return "EINTR";
	default: return strerror(e);
	}
}

static void set_memlock(unsigned long pages)
{
	struct rlimit rl = { pages * PG, pages * PG };

	KT_OK(setrlimit(RLIMIT_MEMLOCK, &rl));
}

static void nop_prepare(const struct op *op)
{
}

static void prepare(const struct op *op)
{
	(op->prepare ? op->prepare : nop_prepare)(op);
}

/* Run @op once without fault injection: it must work. */
static void run_clean(const struct op *op)
{
	long ret;

	prepare(op);
	ret = op->call(op);
	if (ret < 0)
		kt_fail(__FILE__, __LINE__, "%s fails without a fault injected",
			op->name);
	op->check(op, ret);
}

/* Where a crash happened, for the report. */
static const char *crash_op;
static unsigned int crash_n;

static void crash_report(int sig, siginfo_t *si, void *uc)
{
	ucontext_t *u = uc;
	char buf[256];
	int n = snprintf(buf, sizeof(buf),
			 "crashed (signal %d, code %d, address %p, ip %#llx) in the sweep of %s, fault %u\n",
			 sig, si->si_code, si->si_addr,
			 (unsigned long long)u->uc_mcontext.gregs[REG_RIP],
			 crash_op ? crash_op : "-", crash_n);

	if (write(2, buf, n) < 0)
		_exit(2);
	signal(sig, SIG_DFL);
	raise(sig);
}

static unsigned int sweep_copies;	/* of the user-copy pass */

static void sweep_pass(const struct op *op, bool allocs)
{
	unsigned int n, points = 0, absorbed = 0, by_type[FI_NR] = { 0 };
	unsigned int by_errno[4] = { 0 };
	long times[FI_NR];
	struct snap base, now;
	sigset_t all, old;
	char msg[256];
	unsigned int misses = 0;
	char errs[128] = "";
	int i, len;

	fi_mode(allocs);
	set_memlock(op->pin);
	/* No signal in the window, but the ones that report a crash. */
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	snap_take(&base);
	crash_op = op->name;
	for (n = 1; n <= MAX_NTH && misses < MISSES; n++) {
		bool fired;
		long ret;
		int err, t;

		for (t = 0; t < FI_NR; t++)
			times[t] = fi_have[t] ? fi_times(t) : 0;
		prepare(op);

		crash_n = n;
		sigprocmask(SIG_BLOCK, &all, &old);
		nth_arm(n);
		ret = op->call(op);
		err = errno;
		fired = nth_fired();
		sigprocmask(SIG_SETMASK, &old, NULL);

		misses = fired ? 0 : misses + 1;
		if (!fired) {
			/* Every failure point passed. */
			errno = err;
			if (ret < 0)
				kt_fail(__FILE__, __LINE__,
					"%s: fails with no fault injected (n=%u)",
					op->name, n);
		} else if (ret < 0) {
			for (i = 0; op->errnos[i] && op->errnos[i] != err; i++)
				;
			if (!op->errnos[i]) {
				errno = err;
				kt_fail(__FILE__, __LINE__,
					"%s: fault %u made it fail with %s, not a documented errno",
					op->name, n, errname(err));
			}
			by_errno[i]++;
			points++;
		} else {
			absorbed++;
			points++;
		}
		if (fired) {
			for (t = 0; t < FI_NR; t++)
				if (fi_have[t] && fi_times(t) != times[t])
					by_type[t]++;
		}
		op->check(op, ret);
		snap_take(&now);
		if (snap_diff(&base, &now, msg, sizeof(msg)))
			kt_fail(__FILE__, __LINE__, "%s: after fault %u (%s): %s",
				op->name, n,
				!fired ? "none fired" : ret < 0 ? errname(err) :
				"absorbed", msg);
		if (fired) {
			run_clean(op);
			snap_take(&now);
			if (snap_diff(&base, &now, msg, sizeof(msg)))
				kt_fail(__FILE__, __LINE__,
					"%s: after a run without fault: %s",
					op->name, msg);
		}
	}
	if (misses < MISSES)
		kt_fail(__FILE__, __LINE__, "%s: still failing after %u faults",
			op->name, MAX_NTH);

	for (i = 0, len = 0; op->errnos[i]; i++)
		if (by_errno[i])
			len += snprintf(errs + len, sizeof(errs) - len, "%s%s %u",
					len ? ", " : "", errname(op->errnos[i]),
					by_errno[i]);
	if (!allocs) {
		/* The user copies alone: there must be as many as known. */
		if (fi_have[FI_COPY] && by_type[FI_COPY] < op->min_copy)
			kt_fail(__FILE__, __LINE__,
				"%s: %u user-copy failure points, expected at least %u",
				op->name, by_type[FI_COPY], op->min_copy);
		sweep_copies = by_type[FI_COPY];
		return;
	}
	kt_note("failnth %-38s %3u points (slab %u, page %u, usercopy %u): %s%s; absorbed %u",
		op->name, points, by_type[FI_SLAB], by_type[FI_PAGE],
		sweep_copies, len ? "failed " : "never failed", errs,
		absorbed);
	if (by_type[FI_SLAB] + by_type[FI_PAGE] < op->min_alloc)
		kt_fail(__FILE__, __LINE__,
			"%s: %u allocation failure points, expected at least %u",
			op->name, by_type[FI_SLAB] + by_type[FI_PAGE],
			op->min_alloc);
}

/* User copies alone, then every kind of point. */
static void sweep(const struct op *op)
{
	if (fi_have[FI_COPY])
		sweep_pass(op, false);
	sweep_pass(op, true);
}

/*
 * Grow the stack now: a stack that must grow while a fault is armed
 * cannot (its VMA needs memory), and the process dies of SIGSEGV.
 */
__attribute__((noinline)) static void grow_stack(void)
{
	volatile char room[512 * 1024];

	memset((char *)room, 0, sizeof(room));
}

/*
 * Leave restartable sequences. On the way back to user space the kernel
 * updates this thread's rseq area; right after fork() that page is
 * copy-on-write, and a copy that an armed fault makes fail is a SIGSEGV
 * (the kernel's rseq rule, not the module's).
 */
static void rseq_off(void)
{
	char *area = (char *)__builtin_thread_pointer() + __rseq_offset;

	if (__rseq_size &&
	    syscall(SYS_rseq, area, __rseq_size, RSEQ_FLAG_UNREGISTER,
		    RSEQ_SIG) &&
	    syscall(SYS_rseq, area, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG))
		kt_fail(__FILE__, __LINE__, "cannot leave rseq");
}

static bool setup(void)
{
	bool sweep = fi_setup();
	int memfd;

	struct sigaction sa = {
		.sa_sigaction = crash_report,
		.sa_flags = SA_SIGINFO,
	};

	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	grow_stack();
	rseq_off();
	/* Pinned pages are charged to RLIMIT_MEMLOCK from now on. */
	KT_OK(kt_drop_cap(CAP_IPC_LOCK));
	S.fd = KT_OK(kt_open_dev(O_RDWR));
	sfd = KT_OK(kt_open_dev(O_RDONLY));
	KT_OK(ioctl(S.fd, KUBUF_IOC_GET_INFO, &S.info));

	S.mem = mmap(NULL, MEM_PAGES * PG, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	KT_ASSERT(S.mem != MAP_FAILED);
	memset(S.mem, 0, MEM_PAGES * PG);
	S.ro = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	KT_ASSERT(S.ro != MAP_FAILED);
	memset(S.ro, 0x42, 8 * PG);
	KT_OK(mprotect(S.ro, 8 * PG, PROT_READ));
	memfd = KT_OK(memfd_create("kt_failnth", MFD_CLOEXEC));
	KT_OK(ftruncate(memfd, 8 * PG));
	S.shm = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	KT_ASSERT(S.shm != MAP_FAILED);
	memset(S.shm, 0, 8 * PG);
	close(memfd);
	S.buf = mmap(NULL, 2UL << 20, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	KT_ASSERT(S.buf != MAP_FAILED);
	memset(S.buf, 0, 2UL << 20);
	memset(&S.info, 0, sizeof(S.info));
	return sweep;
}

/* Without fail-nth: each operation once, with its checks, then skip. */
static void run_once(const struct op *op)
{
	struct snap base, now;
	char msg[256];

	set_memlock(op->pin);
	snap_take(&base);
	run_clean(op);
	snap_take(&now);
	if (snap_diff(&base, &now, msg, sizeof(msg)))
		kt_fail(__FILE__, __LINE__, "%s: %s", op->name, msg);
}

static void run_ops(const struct op *ops, size_t n)
{
	bool can_sweep = setup();
	size_t i;

	for (i = 0; i < n; i++)
		(can_sweep ? sweep : run_once)(&ops[i]);
	close(S.fd);
	close(sfd);
	if (!can_sweep)
		kt_skip("%s; each operation ran once without faults",
			fi_missing);
}

#define RUN(ops) run_ops(ops, sizeof(ops) / sizeof(ops[0]))

KT_CASE(open_close)
{
	static const struct op ops[] = {
		{ "open", ENOMEM_EFAULT, 1, 1, 0,
		  .call = call_open, .check = check_open },
		{ "close (release: ubuf, kbuf, eventfd)", { 0 }, 0, 0, 4,
		  .prepare = prep_full_file, .call = call_close,
		  .check = check_close },
		{ "munmap (release from the last mapping)", ONLY_ENOMEM, 0, 0, 4,
		  .prepare = prep_last_map, .call = call_munmap_all,
		  .check = check_munmap_all },
	};

	RUN(ops);
}

KT_CASE(info_stats_events)
{
	static const struct op ops[] = {
		{ "GET_INFO", ONLY_EFAULT, 0, 1, 0,
		  .call = call_info, .check = check_info },
		{ "GET_STATS", ONLY_EFAULT, 0, 2, 0, .prepare = prep_stats,
		  .call = call_stats, .check = check_stats },
		{ "SET_EVENTFD bind", ONLY_EFAULT, 0, 1, 0,
		  .prepare = prep_efd, .call = call_set_efd,
		  .check = check_set_efd },
		{ "SET_EVENTFD replace", ONLY_EFAULT, 0, 1, 0, .flags = 1,
		  .prepare = prep_efd, .call = call_set_efd,
		  .check = check_set_efd },
		{ "SET_EVENTFD clear", ONLY_EFAULT, 0, 1, 0, .flags = 2,
		  .prepare = prep_efd, .call = call_set_efd,
		  .check = check_set_efd },
		{ "GET_EVENTS", ONLY_EFAULT, 0, 2, 0, .prepare = prep_events,
		  .call = call_events, .check = check_events },
	};

	RUN(ops);
}

KT_CASE(ubuf)
{
	static const struct op ops[] = {
		{ "UBUF_REGISTER 1 page", ENOMEM_EFAULT, 3, 1, 1, .pages = 1,
		  .prepare = prep_register, .call = call_register,
		  .check = check_register },
		{ "UBUF_REGISTER 3 pages unaligned", ENOMEM_EFAULT, 3, 1, 3,
		  .pages = 3, .mem = 3, .prepare = prep_register,
		  .call = call_register, .check = check_register },
		{ "UBUF_REGISTER 600 pages", ENOMEM_EFAULT, 3, 1, 600,
		  .pages = 600, .prepare = prep_register,
		  .call = call_register, .check = check_register },
		{ "UBUF_REGISTER read-only memory", ENOMEM_EFAULT, 3, 1, 8,
		  .pages = 8, .mem = 1, .prepare = prep_register,
		  .call = call_register, .check = check_register },
		{ "UBUF_REGISTER memfd", ENOMEM_EFAULT, 3, 1, 8,
		  .pages = 8, .mem = 2, .prepare = prep_register,
		  .call = call_register, .check = check_register },
		{ "UBUF_UNREGISTER", ONLY_EFAULT, 0, 1, 4,
		  .prepare = prep_ubuf, .call = call_unregister,
		  .check = check_unregister },
		{ "UBUF_UNREGISTER with a writer", ONLY_EFAULT, 0, 1, 4,
		  .flags = 1, .prepare = prep_ubuf_busy,
		  .call = call_unregister, .check = check_unregister },
		{ "UBUF_QUERY", ONLY_EFAULT, 0, 2, 4, .prepare = prep_ubuf,
		  .call = call_query, .check = check_query },
	};

	RUN(ops);
}

KT_CASE(ucopy_read)
{
	static const struct op ops[] = {
		{ "UCOPY FILL 1 page", ENOMEM_EFAULT, 1, 2, 0, .pages = 1,
		  .dev_op = KUBUF_UCOPY_FILL, .prepare = prep_ucopy,
		  .call = call_ucopy, .check = check_ucopy },
		{ "UCOPY FILL 3 pages", ENOMEM_EFAULT, 1, 4, 0, .pages = 3,
		  .dev_op = KUBUF_UCOPY_FILL, .prepare = prep_ucopy,
		  .call = call_ucopy, .check = check_ucopy },
		{ "UCOPY CHECKSUM 3 pages", ENOMEM_EFAULT, 1, 4, 0, .pages = 3,
		  .dev_op = KUBUF_UCOPY_CHECKSUM, .prepare = prep_ucopy,
		  .call = call_ucopy, .check = check_ucopy },
		{ "read 3 pages", ENOMEM_EFAULT, 1, 1, 0, .pages = 3,
		  .call = call_read, .check = check_read },
		{ "read 2 MiB", ENOMEM_EFAULT, 1, 1, 0, .pages = 512,
		  .call = call_read, .check = check_read },
	};

	RUN(ops);
}

KT_CASE(kbuf_alloc_free)
{
	static const struct op ops[] = {
		{ "KBUF_ALLOC pages 1", ENOMEM_EFAULT, 3, 2, 0, .pages = 1,
		  .prepare = prep_alloc, .call = call_alloc,
		  .check = check_alloc },
		{ "KBUF_ALLOC pages 4", ENOMEM_EFAULT, 6, 2, 0, .pages = 4,
		  .prepare = prep_alloc, .call = call_alloc,
		  .check = check_alloc },
		{ "KBUF_ALLOC pages 4 write-combined", ENOMEM_EFAULT, 6, 2, 0,
		  .pages = 4, .cache = KUBUF_CACHE_WC, .prepare = prep_alloc,
		  .call = call_alloc, .check = check_alloc },
		{ "KBUF_ALLOC pages 4 uncached", ENOMEM_EFAULT, 6, 2, 0,
		  .pages = 4, .cache = KUBUF_CACHE_UNCACHED,
		  .prepare = prep_alloc, .call = call_alloc,
		  .check = check_alloc },
		{ "KBUF_ALLOC dma 1", ENOMEM_EFAULT, 2, 2, 1, .pages = 1,
		  .kind = KUBUF_KBUF_DMA, .prepare = prep_alloc,
		  .call = call_alloc, .check = check_alloc },
		{ "KBUF_ALLOC dma 16", ENOMEM_EFAULT, 2, 2, 16, .pages = 16,
		  .kind = KUBUF_KBUF_DMA, .prepare = prep_alloc,
		  .call = call_alloc, .check = check_alloc },
		{ "KBUF_FREE", ONLY_EFAULT, 0, 1, 0, .pages = 4,
		  .prepare = prep_kbuf, .call = call_free, .check = check_free },
		{ "KBUF_FREE while mapped", ONLY_EFAULT, 0, 1, 0, .pages = 4,
		  .flags = 1, .prepare = prep_kbuf, .call = call_free,
		  .check = check_free },
	};

	RUN(ops);
}

KT_CASE(kbuf_mmap)
{
	static const struct op ops[] = {
		{ "mmap pages", ONLY_ENOMEM, 1, 0, 0, .pages = 4,
		  .prepare = prep_kbuf, .call = call_mmap, .check = check_mmap },
		{ "mmap pages from page 2", ONLY_ENOMEM, 1, 0, 0, .pages = 8,
		  .dev_op = 2, .prepare = prep_kbuf, .call = call_mmap,
		  .check = check_mmap },
		{ "mmap read-only buffer", ONLY_ENOMEM, 1, 0, 0, .pages = 4,
		  .flags = 2, .prepare = prep_kbuf, .call = call_mmap,
		  .check = check_mmap },
		{ "mmap write-combined", ONLY_ENOMEM, 1, 0, 0, .pages = 4,
		  .cache = KUBUF_CACHE_WC, .prepare = prep_kbuf,
		  .call = call_mmap, .check = check_mmap },
		{ "mmap dma", ONLY_ENOMEM, 1, 0, 4, .pages = 4,
		  .kind = KUBUF_KBUF_DMA, .prepare = prep_kbuf,
		  .call = call_mmap, .check = check_mmap },
		{ "mmap dma, new page tables", ONLY_ENOMEM, 3, 0, 4,
		  .pages = 4, .flags = 4, .kind = KUBUF_KBUF_DMA,
		  .prepare = prep_kbuf, .call = call_mmap, .check = check_mmap },
		{ "mmap pages, new page tables", ONLY_ENOMEM, 3, 0, 0,
		  .pages = 4, .flags = 4, .prepare = prep_kbuf,
		  .call = call_mmap, .check = check_mmap },
		{ "munmap one page of a mapping", ONLY_ENOMEM, 1, 0, 0,
		  .pages = 4, .flags = 1, .dev_op = 1, .prepare = prep_kbuf,
		  .call = call_munmap_hole, .check = check_mm },
		{ "mprotect half a mapping", ONLY_ENOMEM, 1, 0, 0,
		  .pages = 4, .flags = 1, .dev_op = 2, .prepare = prep_kbuf,
		  .call = call_mprotect_half, .check = check_mm },
		{ "mremap a mapping", ONLY_ENOMEM, 1, 0, 0,
		  .pages = 4, .flags = 1, .dev_op = 3, .prepare = prep_kbuf,
		  .call = call_mremap, .check = check_mm },
		{ "fork with a mapping", { ENOMEM, EAGAIN }, 1, 0, 0,
		  .pages = 4, .flags = 1, .dev_op = 4, .prepare = prep_kbuf,
		  .call = call_fork, .check = check_mm },
	};

	RUN(ops);
}

#define RING(nm, f, c, alloc, copy)					\
	{ nm, ENOMEM_EFAULT, alloc, copy, 4, .flags = f,		\
	  .prepare = prep_ring, .call = c, .check = check_ring }

KT_CASE(ring)
{
	static const struct op ops[] = {
		RING("RING_ATTACH to the app, in a buffer", 0,
		     call_ring_attach, 2, 1),
		RING("RING_ATTACH with an eventfd", 1, call_ring_attach, 2, 1),
		RING("RING_ATTACH to the device, with a reply", 2,
		     call_ring_attach, 3, 1),
		RING("RING_DETACH", 4, call_ring_detach, 0, 1),
		RING("RING_QUERY", 4, call_ring_query, 0, 2),
		RING("STREAM_START", 4, call_stream_start, 0, 1),
		RING("STREAM_STOP", 12, call_stream_stop, 0, 1),
	};

	RUN(ops);
}

#define DEV(nm, o, m, s, f)						\
	{ nm, ENOMEM_EFAULT, 1, 1, 4, .dev_op = o, .mem = m,		\
	  .src_mem = s, .flags = f, .prepare = prep_dev,		\
	  .call = call_dev, .check = check_dev }

KT_CASE(dev_cmd)
{
	static const struct op ops[] = {
		DEV("DEV_CMD FILL ubuf", KUBUF_DEV_FILL, KUBUF_MEM_UBUF, 0, 0),
		DEV("DEV_CMD FILL ubuf NOWAIT", KUBUF_DEV_FILL, KUBUF_MEM_UBUF,
		    0, KUBUF_DEV_NOWAIT),
		DEV("DEV_CMD FILL kbuf", KUBUF_DEV_FILL, KUBUF_MEM_KBUF, 0, 0),
		DEV("DEV_CMD FILL kbuf NOWAIT", KUBUF_DEV_FILL, KUBUF_MEM_KBUF,
		    0, KUBUF_DEV_NOWAIT),
		DEV("DEV_CMD CHECKSUM ubuf", KUBUF_DEV_CHECKSUM,
		    KUBUF_MEM_UBUF, 0, 0),
		DEV("DEV_CMD CHECKSUM kbuf NOWAIT", KUBUF_DEV_CHECKSUM,
		    KUBUF_MEM_KBUF, 0, KUBUF_DEV_NOWAIT),
		DEV("DEV_CMD COPY kbuf to ubuf", KUBUF_DEV_COPY,
		    KUBUF_MEM_UBUF, KUBUF_MEM_KBUF, 0),
		DEV("DEV_CMD COPY ubuf to kbuf NOWAIT", KUBUF_DEV_COPY,
		    KUBUF_MEM_KBUF, KUBUF_MEM_UBUF, KUBUF_DEV_NOWAIT),
		DEV("DEV_CMD RESET", KUBUF_DEV_RESET, 0, 0, 0),
		DEV("DEV_CMD RESET NOWAIT", KUBUF_DEV_RESET, 0, 0,
		    KUBUF_DEV_NOWAIT),
	};

	RUN(ops);
}

KT_MAIN()
