// SPDX-License-Identifier: MIT
/*
 * The core's API for drivers (include/kubuf/core.h), through a test
 * client: kubuf_test.ko (tests/kmod) makes kubuf devices "kubuf-test0",
 * "kubuf-test1", ..., whose one command, KUBUF_DEV_FILL, writes the byte
 * (seed + the device's index) & 0xff, so the byte tells which device did
 * the work. Its debugfs directory, kubuf_test/<name>/, counts the core's
 * callbacks (calls) and runs the driver's remove path (remove) or
 * kubuf_device_revoke() (revoke).
 *
 * Each case loads kubuf_test.ko itself and unloads it at the end (also
 * when it fails, at exit), so it runs beside the simulated device
 * (kubuf.ko, /dev/kubuf), the core's other client.
 */
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "harness.h"
#include "kubuf.h"

#define PG 4096UL
#define RW (KUBUF_ACCESS_DEV_READ | KUBUF_ACCESS_DEV_WRITE)

#define TEST_KO		"/kubuf/kubuf_test.ko"
#define TEST_MOD	"kubuf_test"
#define CORE_MOD	"kubuf_core"
#define TEST_DEBUGFS	"/sys/kernel/debug/kubuf_test"
#define NDEV		2
#define MAX_DEV		8	/* the client's limit */
#define LOADS		4	/* remove_vs_alloc: loads of the client, */
#define ALLOCATORS	4	/* and threads allocating in each round */
#define SLICE		(64 << 10)	/* the client's slice, in bytes */
/* The fewest callbacks a FILL of @len makes: a check, then its slices. */
#define CALLS(len)	(1 + ((len) + SLICE - 1) / SLICE)

/* --- the test client ------------------------------------------------------ */

static int trigger(int dev, const char *what);

/* Nodes this program made itself (no devtmpfs), to take away again. */
static char made_node[MAX_DEV][64];

static long delete_module(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK);
}

/*
 * Unload kubuf_test, for up to 2 s: what a case closed may be let go a
 * moment later (a worker's last reference). 0, or -1 with errno set.
 */
static int unload_client(void)
{
	double t0 = kt_now();
	long r;

	while ((r = delete_module(TEST_MOD)) < 0 && errno == EWOULDBLOCK &&
	       kt_now() - t0 < 2)
		kt_msleep(10);
	return r < 0 ? -1 : 0;
}

static bool client_loaded(void)
{
	return access("/sys/module/" TEST_MOD, F_OK) == 0;
}

static void unlink_made_nodes(void)
{
	int i;

	for (i = 0; i < MAX_DEV; i++)
		if (made_node[i][0]) {
			unlink(made_node[i]);
			made_node[i][0] = '\0';
		}
}

/*
 * At exit, a failed case included: close every descriptor (the device
 * files among them), remove the client's devices and unload it, so the
 * next case and the runner's checks start from nothing.
 */
static void client_cleanup(void)
{
	int fd;

	for (fd = 3; fd < 1024; fd++)
		close(fd);
	/* The driver's remove path first, whatever the client holds. */
	for (fd = 0; fd < MAX_DEV && client_loaded(); fd++)
		trigger(fd, "remove");
	if (client_loaded() && unload_client())
		fprintf(stderr, "cannot unload %s: %s\n", TEST_MOD,
			strerror(errno));
	unlink_made_nodes();
}

static void devnode_path(char *buf, size_t len, int dev)
{
	snprintf(buf, len, "/dev/kubuf-test%d", dev);
}

/*
 * /dev/kubuf-test@dev: devtmpfs makes it when the core registers the
 * misc device; where it did not, make it from sysfs (the runner's guest
 * has no udev).
 */
static void devnode_ensure(int dev)
{
	char path[64], sys[128], num[32];
	unsigned int maj, min;
	struct stat st;

	devnode_path(path, sizeof(path), dev);
	if (stat(path, &st) == 0) {
		KT_ASSERT(S_ISCHR(st.st_mode));
		return;
	}
	snprintf(sys, sizeof(sys), "/sys/class/misc/kubuf-test%d/dev", dev);
	KT_OK(kt_read_file(sys, num, sizeof(num)));
	KT_ASSERT_EQ(sscanf(num, "%u:%u", &maj, &min), 2);
	KT_OK(mknod(path, S_IFCHR | 0600, makedev(maj, min)));
	snprintf(made_node[dev], sizeof(made_node[dev]), "%s", path);
}

/* Load kubuf_test.ko with @ndev devices; skip the case without it. */
static void load_client(int ndev)
{
	static bool registered;
	char params[32];
	int fd, i;

	if (access(TEST_KO, F_OK))
		kt_skip("no " TEST_KO " in this guest");
	if (!registered) {
		KT_ASSERT_EQ(atexit(client_cleanup), 0);
		registered = true;
	}
	/* A case before this one may have left it (it failed too). */
	if (client_loaded())
		KT_OK(unload_client());
	fd = KT_OK(open(TEST_KO, O_RDONLY | O_CLOEXEC));
	snprintf(params, sizeof(params), "devices=%d", ndev);
	KT_OK(syscall(SYS_finit_module, fd, params, 0));
	close(fd);
	KT_ASSERT(client_loaded());
	for (i = 0; i < ndev; i++)
		devnode_ensure(i);
}

static int open_dev(int dev, int flags)
{
	char path[64];

	devnode_path(path, sizeof(path), dev);
	return open(path, flags | O_CLOEXEC);
}

static void debugfs_path(char *buf, size_t len, int dev, const char *file)
{
	snprintf(buf, len, TEST_DEBUGFS "/kubuf-test%d/%s", dev, file);
}

/* Counter @what of device @dev's debugfs (calls, revokes, notifies). */
static unsigned long long counter(int dev, const char *what)
{
	char path[128], buf[32];

	debugfs_path(path, sizeof(path), dev, what);
	KT_OK(kt_read_file(path, buf, sizeof(buf)));
	return strtoull(buf, NULL, 10);
}

/* The callbacks the core made to device @dev so far. */
static unsigned long long calls(int dev)
{
	return counter(dev, "calls");
}

/* Write "1" to debugfs file @what (remove, revoke) of device @dev. */
static int trigger(int dev, const char *what)
{
	char path[128];

	debugfs_path(path, sizeof(path), dev, what);
	return kt_write_file(path, "1");
}

/* The byte device @dev writes for @seed. */
static unsigned char dev_byte(int dev, uint32_t seed)
{
	return (unsigned char)(seed + dev);
}

/* Every byte of [p, p + len) is @b. */
static bool all_bytes(const void *p, size_t len, unsigned char b)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (c[i] != b)
			return false;
	return true;
}

/* --- raw calls ------------------------------------------------------------ */

/* A device command with every field given (kt_dev_cmd has no offset). */
static int dev_cmd(int fd, uint32_t op, uint32_t flags, uint32_t kind,
		   uint32_t id, uint64_t off, uint64_t len, uint32_t seed,
		   uint64_t *result)
{
	struct kubuf_dev_cmd c;
	int ret;

	memset(&c, 0, sizeof(c));
	c.op = op;
	c.flags = flags;
	c.kind = kind;
	c.id = id;
	c.offset = off;
	c.len = len;
	c.seed = seed;
	ret = ioctl(fd, KUBUF_IOC_DEV_CMD, &c);
	if (!ret && result)
		*result = c.result;
	return ret;
}

static int fill(int fd, uint32_t kind, uint32_t id, uint64_t off,
		uint64_t len, uint32_t seed, uint32_t flags)
{
	return dev_cmd(fd, KUBUF_DEV_FILL, flags, kind, id, off, len, seed,
		       NULL);
}

static int reg(int fd, void *p, size_t len, uint32_t access, uint32_t *id)
{
	struct kubuf_ubuf_reg r;
	int ret;

	memset(&r, 0, sizeof(r));
	r.addr = (uintptr_t)p;
	r.len = len;
	r.access = access;
	ret = ioctl(fd, KUBUF_IOC_UBUF_REGISTER, &r);
	if (!ret && id)
		*id = r.id;
	return ret;
}

static int id_ioctl(int fd, unsigned long cmd, uint32_t id)
{
	struct kubuf_id k = { .id = id };

	return ioctl(fd, cmd, &k);
}

static int kbuf_alloc(int fd, uint64_t size, uint32_t kind, uint32_t *id,
		      uint64_t *off)
{
	struct kubuf_kbuf_alloc a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.size = size;
	a.kind = kind;
	a.flags = KUBUF_KBUF_APP_WRITE;
	ret = ioctl(fd, KUBUF_IOC_KBUF_ALLOC, &a);
	if (!ret) {
		*id = a.id;
		*off = a.mmap_offset;
	}
	return ret;
}

static void *kbuf_map(int fd, uint64_t off, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);

	KT_ASSERT(p != MAP_FAILED);
	return p;
}

static void *anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	KT_ASSERT(p != MAP_FAILED);
	return p;
}

static int ring_attach(int fd, uint32_t kind, uint32_t mem_id, uint32_t *id)
{
	struct kubuf_ring_attach a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.dir = KUBUF_RING_TO_APP;
	a.kind = kind;
	a.mem_id = mem_id;
	a.data_size = KUBUF_RING_MIN_DATA;
	a.eventfd = -1;
	a.wake_records = 1;
	ret = ioctl(fd, KUBUF_IOC_RING_ATTACH, &a);
	if (!ret && id)
		*id = a.id;
	return ret;
}

static void set_efd(int fd, int efd)
{
	struct kubuf_eventfd e = { .fd = efd };

	KT_OK(ioctl(fd, KUBUF_IOC_SET_EVENTFD, &e));
}

static uint32_t events(int fd)
{
	struct kubuf_events ev;

	kt_poison(&ev, sizeof(ev));
	ev.flags = 0;
	KT_OK(ioctl(fd, KUBUF_IOC_GET_EVENTS, &ev));
	return ev.pending;
}

static void info(int fd, struct kubuf_info *in)
{
	kt_poison(in, sizeof(*in));
	KT_OK(ioctl(fd, KUBUF_IOC_GET_INFO, in));
	KT_ASSERT_EQ(in->abi_version, KUBUF_ABI_VERSION);
	KT_ASSERT_EQ(in->page_size, PG);
}

/* The module-wide counters (each read on its own). */
static void stats(uint64_t *c)
{
	int i;

	for (i = 0; i < KUBUF_STAT_NR; i++)
		c[i] = kt_stat(i);
}

/* Every counter back at @base (a release may lag for a moment). */
static void assert_stats(const uint64_t *base)
{
	uint64_t now[KUBUF_STAT_NR];
	double t0 = kt_now();
	int i;

	for (;;) {
		stats(now);
		for (i = 0; i < KUBUF_STAT_NR && now[i] == base[i]; i++)
			;
		if (i == KUBUF_STAT_NR)
			return;
		if (kt_now() - t0 > 2)
			kt_fail(__FILE__, __LINE__,
				"counter %s is %llu, was %llu",
				kubuf_stat_name(i),
				(unsigned long long)now[i],
				(unsigned long long)base[i]);
		kt_msleep(20);
	}
}

/* Counter @s back at its @base value, within 2 s. */
static void assert_stats_one(enum kubuf_stat s, const uint64_t *base)
{
	double t0 = kt_now();

	while (kt_stat(s) != base[s]) {
		if (kt_now() - t0 > 2)
			kt_fail(__FILE__, __LINE__, "counter %s is %llu, was %llu",
				kubuf_stat_name(s),
				(unsigned long long)kt_stat(s),
				(unsigned long long)base[s]);
		kt_msleep(20);
	}
}

/* /sys/module/@mod/refcnt: the module's reference count. */
static long refcnt(const char *mod)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), "/sys/module/%s/refcnt", mod);
	KT_OK(kt_read_file(path, buf, sizeof(buf)));
	return strtol(buf, NULL, 10);
}

/* --- cases ------------------------------------------------------------------ */

/*
 * Two devices of one client, each its own world: a device's byte comes
 * from that device, ids are per file, and closing one file leaves the
 * other's buffers alone. What the client has no ops for is refused.
 */
KT_CASE(two_devices)
{
	size_t ulen = 300 * 1024, klen = 256 * 1024;
	uint64_t base[KUBUF_STAT_NR], koff = 0, doff = 0, roff = 0;
	unsigned long long calls0, calls1;
	struct kubuf_info in0, in1;
	struct kubuf_ucopy uc;
	struct kubuf_stream sm;
	unsigned char *u, *k, *d = NULL;
	uint32_t uid = 0, kid = 0, did = 0, rbuf = 0, ring = 0;
	char buf[16];
	int fd0, fd1;
	bool dma;

	stats(base);
	load_client(NDEV);
	calls0 = calls(0);
	calls1 = calls(1);
	fd0 = KT_OK(open_dev(0, O_RDWR));
	fd1 = KT_OK(open_dev(1, O_RDWR));

	/* The core answers GET_INFO for both; commands, no UCOPY. */
	info(fd0, &in0);
	info(fd1, &in1);
	KT_ASSERT(in0.features & KUBUF_FEAT_DEVICE);
	KT_ASSERT(!(in0.features & KUBUF_FEAT_UCOPY));
	KT_ASSERT(in0.features & KUBUF_FEAT_UBUF);
	KT_ASSERT(in0.features & KUBUF_FEAT_KBUF);
	KT_ASSERT_EQ(in0.features, in1.features);
	dma = in1.features & KUBUF_FEAT_KBUF_DMA;

	/* Technique 1 on device 0, at odd offsets, in several slices. */
	u = anon(ulen);
	memset(u, 0x5a, ulen);
	KT_OK(reg(fd0, u + 5, ulen - 8, KUBUF_ACCESS_DEV_WRITE, &uid));
	KT_OK(fill(fd0, KUBUF_MEM_UBUF, uid, 100, 200001, 7, 0));
	KT_ASSERT(all_bytes(u, 105, 0x5a));
	KT_ASSERT(all_bytes(u + 105, 200001, dev_byte(0, 7)));
	KT_ASSERT(all_bytes(u + 105 + 200001, ulen - 105 - 200001, 0x5a));

	/* Technique 2 on device 1: pages, and DMA memory for its device. */
	KT_OK(kbuf_alloc(fd1, klen, KUBUF_KBUF_PAGES, &kid, &koff));
	k = kbuf_map(fd1, koff, klen);
	KT_ASSERT(all_bytes(k, klen, 0));
	KT_OK(fill(fd1, KUBUF_MEM_KBUF, kid, PG, klen - 2 * PG, 0xff, 0));
	KT_ASSERT(all_bytes(k, PG, 0));
	KT_ASSERT(all_bytes(k + PG, klen - 2 * PG, dev_byte(1, 0xff)));
	KT_ASSERT(all_bytes(k + klen - PG, PG, 0));
	if (dma) {
		KT_OK(kbuf_alloc(fd1, klen, KUBUF_KBUF_DMA, &did, &doff));
		d = kbuf_map(fd1, doff, klen);
		KT_OK(fill(fd1, KUBUF_MEM_KBUF, did, 0, klen, 41, 0));
		KT_ASSERT(all_bytes(d, klen, dev_byte(1, 41)));
	}

	/* Ids are the file's: neither device knows the other's. */
	KT_ERRNO(fill(fd1, KUBUF_MEM_UBUF, uid, 0, 1, 1, 0), ENOENT);
	KT_ERRNO(id_ioctl(fd1, KUBUF_IOC_UBUF_UNREGISTER, uid), ENOENT);
	KT_ERRNO(fill(fd0, KUBUF_MEM_KBUF, kid, 0, 1, 1, 0), ENOENT);
	KT_ERRNO(id_ioctl(fd0, KUBUF_IOC_KBUF_FREE, kid), ENOENT);
	KT_ASSERT(mmap(NULL, PG, PROT_READ, MAP_SHARED, fd0, koff) ==
		  MAP_FAILED && errno == EINVAL);

	/* The client's ->cmd_check() refuses what it does not do. */
	KT_ERRNO(kt_dev_cmd(fd0, KUBUF_DEV_CHECKSUM, 0, KUBUF_MEM_UBUF, uid,
			    PG, 0, NULL), EINVAL);
	KT_ERRNO(kt_dev_cmd(fd0, KUBUF_DEV_RESET, 0, 0, 0, 0, 0, NULL), EINVAL);
	/* No ->read, ->ucopy or stream: the core says so for it. */
	KT_ERRNO(read(fd0, buf, sizeof(buf)), EINVAL);
	memset(&uc, 0, sizeof(uc));
	uc.op = KUBUF_UCOPY_FILL;
	uc.addr = (uintptr_t)buf;
	uc.len = sizeof(buf);
	KT_ERRNO(ioctl(fd0, KUBUF_IOC_UCOPY, &uc), EOPNOTSUPP);
	KT_OK(kbuf_alloc(fd0, PG, KUBUF_KBUF_PAGES, &rbuf, &roff));
	KT_OK(ring_attach(fd0, KUBUF_MEM_KBUF, rbuf, &ring));
	memset(&sm, 0, sizeof(sm));
	sm.ring_id = ring;
	sm.flags = KUBUF_STREAM_LOSSLESS;
	KT_ERRNO(ioctl(fd0, KUBUF_IOC_STREAM_START, &sm), EOPNOTSUPP);
	KT_OK(id_ioctl(fd0, KUBUF_IOC_RING_DETACH, ring));
	KT_OK(id_ioctl(fd0, KUBUF_IOC_KBUF_FREE, rbuf));
	KT_ASSERT(all_bytes(u, 105, 0x5a));

	/* Device 0's file goes; device 1's buffers stay and work. */
	close(fd0);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_UBUFS), base[KUBUF_STAT_UBUFS]);
	KT_ASSERT(all_bytes(k + PG, klen - 2 * PG, dev_byte(1, 0xff)));
	KT_OK(fill(fd1, KUBUF_MEM_KBUF, kid, 0, klen, 3, 0));
	KT_ASSERT(all_bytes(k, klen, dev_byte(1, 3)));
	if (dma)
		KT_ASSERT(all_bytes(d, klen, dev_byte(1, 41)));

	/*
	 * Each device's callbacks were its own: at least a check and a slice
	 * per 64 KiB of each command it ran.
	 */
	calls0 = calls(0) - calls0;
	calls1 = calls(1) - calls1;
	KT_ASSERT(calls0 >= CALLS(200001));
	KT_ASSERT(calls1 >= CALLS(klen - 2 * PG) + CALLS(klen) +
		  (dma ? CALLS(klen) : 0));
	kt_note("callbacks: device 0 %llu, device 1 %llu; DMA buffers %s",
		calls0, calls1, dma ? "tested" : "not offered");

	munmap(k, klen);
	if (dma)
		munmap(d, klen);
	close(fd1);
	munmap(u, ulen);
	KT_OK(unload_client());
	assert_stats(base);
}

/* Each ioctl but GET_INFO and GET_EVENTS, with arguments valid before. */
static void assert_all_enodev(int fd, uint32_t uid, uint32_t kid,
			      void *mem, int efd)
{
	struct kubuf_ubuf_query q;
	struct kubuf_stats st;
	struct kubuf_ucopy uc;
	struct kubuf_stream sm;
	struct kubuf_eventfd e = { .fd = efd };
	struct kubuf_ring_query rq;
	uint32_t id;
	uint64_t off;

	KT_ERRNO(reg(fd, mem, PG, RW, &id), ENODEV);
	KT_ERRNO(fill(fd, KUBUF_MEM_UBUF, uid, 0, PG, 1, 0), ENODEV);
	KT_ERRNO(fill(fd, KUBUF_MEM_KBUF, kid, 0, PG, 1, KUBUF_DEV_NOWAIT),
		 ENODEV);
	KT_ERRNO(kbuf_alloc(fd, PG, KUBUF_KBUF_PAGES, &id, &off), ENODEV);
	KT_ERRNO(ring_attach(fd, KUBUF_MEM_KBUF, kid, &id), ENODEV);
	KT_ERRNO(id_ioctl(fd, KUBUF_IOC_UBUF_UNREGISTER, uid), ENODEV);
	KT_ERRNO(id_ioctl(fd, KUBUF_IOC_KBUF_FREE, kid), ENODEV);
	memset(&q, 0, sizeof(q));
	q.id = uid;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_UBUF_QUERY, &q), ENODEV);
	KT_ERRNO(ioctl(fd, KUBUF_IOC_SET_EVENTFD, &e), ENODEV);
	memset(&st, 0, sizeof(st));
	KT_ERRNO(ioctl(fd, KUBUF_IOC_GET_STATS, &st), ENODEV);
	memset(&uc, 0, sizeof(uc));
	uc.op = KUBUF_UCOPY_FILL;
	uc.addr = (uintptr_t)mem;
	uc.len = PG;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_UCOPY, &uc), ENODEV);
	memset(&rq, 0, sizeof(rq));
	rq.id = 1;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_RING_QUERY, &rq), ENODEV);
	KT_ERRNO(id_ioctl(fd, KUBUF_IOC_RING_DETACH, 1), ENODEV);
	KT_ERRNO(id_ioctl(fd, KUBUF_IOC_RING_KICK, 1), ENODEV);
	KT_ERRNO(id_ioctl(fd, KUBUF_IOC_STREAM_STOP, 1), ENODEV);
	memset(&sm, 0, sizeof(sm));
	sm.ring_id = 1;
	sm.flags = KUBUF_STREAM_LOSSLESS;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_STREAM_START, &sm), ENODEV);
	KT_ERRNO(read(fd, &id, sizeof(id)), ENODEV);
	KT_ASSERT(mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 1UL << 28) ==
		  MAP_FAILED && errno == ENODEV);
}

/*
 * The driver's remove path while the application holds everything: a
 * registration, mapped driver buffers, an eventfd, device commands
 * queued and running. The application is told (eventfd, REVOKED and
 * REMOVED, POLLHUP and POLLERR); every call but GET_INFO and GET_EVENTS
 * fails with ENODEV, mmap() and read() too; the registrations are
 * unpinned at once; the node is gone; no callback comes after
 * kubuf_device_destroy(). Mapped driver buffers stay the application's
 * until unmapped, even after the client is unloaded (a DMA buffer keeps
 * the client's struct device until then); every counter comes back.
 */
KT_CASE(remove_revokes)
{
	size_t big = 32 << 20, klen = 16 * PG;
	uint64_t base[KUBUF_STAT_NR], koff = 0, doff = 0, cnt, inflight;
	unsigned long long n;
	unsigned char *u, *b, *k, *d = NULL;
	uint32_t uid = 0, bid = 0, kid = 0, did = 0, qid = 0, ev;
	struct pollfd pfd;
	struct kubuf_info in;
	int fd, fd1, fdq, efd, efdq, i;

	stats(base);
	load_client(NDEV);
	fd = KT_OK(open_dev(0, O_RDWR));
	info(fd, &in);
	efd = KT_OK(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	set_efd(fd, efd);
	u = anon(4 * PG);
	KT_OK(reg(fd, u, 4 * PG, RW, &uid));
	/* A quiet second file: nothing but the removal can signal it. */
	fdq = KT_OK(open_dev(0, O_RDWR));
	efdq = KT_OK(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	set_efd(fdq, efdq);
	KT_OK(reg(fdq, u, 4 * PG, KUBUF_ACCESS_DEV_READ, &qid));
	KT_OK(kbuf_alloc(fd, klen, KUBUF_KBUF_PAGES, &kid, &koff));
	k = kbuf_map(fd, koff, klen);
	KT_OK(fill(fd, KUBUF_MEM_KBUF, kid, 0, klen, 9, 0));
	KT_ASSERT(all_bytes(k, klen, dev_byte(0, 9)));
	if (in.features & KUBUF_FEAT_KBUF_DMA) {
		KT_OK(kbuf_alloc(fd, klen, KUBUF_KBUF_DMA, &did, &doff));
		d = kbuf_map(fd, doff, klen);
		KT_OK(fill(fd, KUBUF_MEM_KBUF, did, 0, klen, 10, 0));
		KT_ASSERT(all_bytes(d, klen, dev_byte(0, 10)));
	}
	KT_ASSERT_EQ(events(fd), 0);

	/* Work for a while: some of it runs when the device goes. */
	b = anon(big);
	KT_OK(reg(fd, b, big, KUBUF_ACCESS_DEV_WRITE, &bid));
	for (i = 0; i < 8; i++)
		KT_OK(fill(fd, KUBUF_MEM_UBUF, bid, 0, big, i,
			   KUBUF_DEV_NOWAIT));
	inflight = kt_stat(KUBUF_STAT_CMDS) - base[KUBUF_STAT_CMDS];

	KT_OK(trigger(0, "remove"));

	/*
	 * The applications were told before the remove path returned: the
	 * eventfd (the quiet file's has nothing else to say), the events,
	 * poll().
	 */
	pfd = (struct pollfd){ .fd = efdq, .events = POLLIN };
	KT_ASSERT_EQ(kt_poll(&pfd, 1, 0), 1);
	KT_ASSERT_EQ(read(efdq, &cnt, sizeof(cnt)), sizeof(cnt));
	KT_ASSERT(cnt >= 1);
	KT_ASSERT_EQ(events(fdq), KUBUF_EVENT_REVOKED | KUBUF_EVENT_REMOVED);
	pfd = (struct pollfd){ .fd = fdq, .events = POLLIN | POLLPRI };
	KT_ASSERT_EQ(kt_poll(&pfd, 1, 0), 1);
	KT_ASSERT_EQ(pfd.revents & (POLLHUP | POLLERR), POLLHUP | POLLERR);
	close(fdq);
	close(efdq);
	pfd = (struct pollfd){ .fd = efd, .events = POLLIN };
	KT_ASSERT_EQ(kt_poll(&pfd, 1, 0), 1);
	ev = events(fd);
	KT_ASSERT_EQ(ev & (KUBUF_EVENT_REVOKED | KUBUF_EVENT_REMOVED),
		     KUBUF_EVENT_REVOKED | KUBUF_EVENT_REMOVED);
	KT_ASSERT_EQ(ev & ~(KUBUF_EVENT_REVOKED | KUBUF_EVENT_REMOVED |
			    KUBUF_EVENT_DONE), 0);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN | POLLPRI };
	KT_ASSERT_EQ(kt_poll(&pfd, 1, 0), 1);
	KT_ASSERT_EQ(pfd.revents & (POLLHUP | POLLERR), POLLHUP | POLLERR);

	/* No callback after kubuf_device_destroy(); nothing left pinned. */
	n = calls(0);
	assert_stats_one(KUBUF_STAT_CMDS, base);
	assert_stats_one(KUBUF_STAT_PINNED_PAGES, base);
	kt_msleep(100);
	KT_ASSERT_EQ(calls(0), n);

	/* The file lives on: GET_INFO and GET_EVENTS, nothing else. */
	info(fd, &in);
	KT_ASSERT_EQ(events(fd) & ~KUBUF_EVENT_DONE, 0);
	assert_all_enodev(fd, uid, kid, u, efd);

	/* The node went with the device. */
	unlink_made_nodes();
	KT_ASSERT(open_dev(0, O_RDWR) < 0 &&
		  (errno == ENOENT || errno == ENXIO || errno == ENODEV));

	/*
	 * Mapped buffers of pages are the application's still; DMA memory
	 * went back with the device: its mapping is SIGBUS, page by page.
	 */
	KT_ASSERT(all_bytes(k, klen, dev_byte(0, 9)));
	memset(k, 0x33, klen);
	if (d) {
		KT_ASSERT_EQ(kt_touch(d), SIGBUS);
		KT_ASSERT_EQ(kt_touch(d + klen - 1), SIGBUS);
	}

	/* Removing again does nothing, nor does revoking; device 1 works. */
	KT_OK(trigger(0, "remove"));
	KT_OK(trigger(0, "revoke"));
	fd1 = KT_OK(open_dev(1, O_RDWR));
	KT_OK(reg(fd1, u, 4 * PG, RW, &uid));
	KT_OK(fill(fd1, KUBUF_MEM_UBUF, uid, 0, 4 * PG, 1, 0));
	KT_ASSERT(all_bytes(u, 4 * PG, dev_byte(1, 1)));
	close(fd1);

	/* The client goes while its buffers are still mapped here. */
	close(fd);
	close(efd);
	KT_OK(unload_client());
	KT_ASSERT(all_bytes(k, klen, 0x33));
	if (d)
		KT_ASSERT_EQ(kt_touch(d + PG), SIGBUS);
	munmap(k, klen);
	if (d)
		munmap(d, klen);
	munmap(b, big);
	munmap(u, 4 * PG);
	assert_stats(base);
	kt_note("device commands in flight at removal: %llu; DMA buffer %s",
		(unsigned long long)inflight, d ? "mapped" : "not offered");
}

/*
 * Who holds whom. kubuf_test uses kubuf_core, so the core cannot go
 * before it (the client holds a reference to it while loaded). An open
 * file (and so a mapping) holds kubuf_core, through its fops, but not
 * the client: a client may be unloaded while files of
 * its devices are open and mapped, since its exit destroys its devices
 * (kubuf_device_destroy() waits for every call into it); those files
 * then see the removal (REMOVED, ENODEV), their mapped buffers stay
 * until unmapped, and the core stays pinned until the last is gone.
 */
KT_CASE(unload_order)
{
	uint64_t base[KUBUF_STAT_NR], koff = 0, doff = 0;
	unsigned char *u, *k, *d = NULL;
	uint32_t uid = 0, kid = 0, did = 0;
	struct kubuf_info in;
	long core_ref;
	int fd;

	stats(base);
	load_client(NDEV);
	KT_ERRNO(delete_module(CORE_MOD), EWOULDBLOCK);
	KT_OK(access("/sys/module/" CORE_MOD "/holders/" TEST_MOD, F_OK));
	KT_ASSERT_EQ(refcnt(TEST_MOD), 0);
	core_ref = refcnt(CORE_MOD);

	fd = KT_OK(open_dev(0, O_RDWR));
	info(fd, &in);
	u = anon(4 * PG);
	KT_OK(reg(fd, u, 4 * PG, RW, &uid));
	KT_OK(kbuf_alloc(fd, 4 * PG, KUBUF_KBUF_PAGES, &kid, &koff));
	k = kbuf_map(fd, koff, 4 * PG);
	KT_OK(fill(fd, KUBUF_MEM_KBUF, kid, 0, 4 * PG, 2, 0));
	if (in.features & KUBUF_FEAT_KBUF_DMA) {
		KT_OK(kbuf_alloc(fd, 4 * PG, KUBUF_KBUF_DMA, &did, &doff));
		d = kbuf_map(fd, doff, 4 * PG);
		KT_OK(fill(fd, KUBUF_MEM_KBUF, did, 0, 4 * PG, 6, 0));
	}
	/* The file holds the core, once; not the client. */
	KT_ASSERT_EQ(refcnt(CORE_MOD), core_ref + 1);
	KT_ASSERT_EQ(refcnt(TEST_MOD), 0);

	/* So the client unloads, and the file sees its device removed. */
	KT_OK(delete_module(TEST_MOD));
	KT_ASSERT(!client_loaded());
	unlink_made_nodes();
	info(fd, &in);
	KT_ASSERT_EQ(events(fd), KUBUF_EVENT_REVOKED | KUBUF_EVENT_REMOVED);
	KT_ERRNO(fill(fd, KUBUF_MEM_KBUF, kid, 0, PG, 1, 0), ENODEV);
	KT_ERRNO(id_ioctl(fd, KUBUF_IOC_UBUF_UNREGISTER, uid), ENODEV);
	KT_ASSERT(all_bytes(k, 4 * PG, dev_byte(0, 2)));
	if (d)
		KT_ASSERT_EQ(kt_touch(d), SIGBUS);

	/*
	 * The core stays held until the last file and mapping go: by the
	 * file alone now, the client's reference (taken when it was linked
	 * to the core's symbols) having gone with it.
	 */
	KT_ERRNO(delete_module(CORE_MOD), EWOULDBLOCK);
	KT_ASSERT_EQ(refcnt(CORE_MOD), core_ref - 1 + 1);
	close(fd);
	KT_ASSERT_EQ(refcnt(CORE_MOD), core_ref - 1 + 1);
	munmap(k, 4 * PG);
	if (d) {
		KT_ASSERT_EQ(refcnt(CORE_MOD), core_ref - 1 + 1);
		munmap(d, 4 * PG);
	}
	KT_ASSERT_EQ(refcnt(CORE_MOD), core_ref - 1);
	munmap(u, 4 * PG);
	assert_stats(base);
}

struct worker {
	int dev;
	int fd;
	uint32_t kind;
	uint32_t id;
	unsigned char *p;
	size_t len;
	int rounds;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	int r;

	for (r = 0; r < w->rounds; r++) {
		uint32_t seed = r * 37 + w->dev;

		KT_OK(fill(w->fd, w->kind, w->id, 0, w->len, seed, 0));
		KT_ASSERT(all_bytes(w->p, w->len, dev_byte(w->dev, seed)));
	}
	return NULL;
}

/*
 * Both devices at once, from two threads: the client's callbacks check
 * the context the core promises (process, may sleep, interrupts on)
 * with WARN_ON_ONCE and might_sleep(), which the runner's log check
 * turns into a failure; their counts say each device ran its own work.
 */
KT_CASE(contexts)
{
	struct worker w[NDEV];
	unsigned long long before[NDEV];
	uint64_t base[KUBUF_STAT_NR], off = 0;
	struct kubuf_info in;
	pthread_t th[NDEV];
	size_t len = 1 << 20;
	int i;

	stats(base);
	load_client(NDEV);
	for (i = 0; i < NDEV; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].dev = i;
		w[i].fd = KT_OK(open_dev(i, O_RDWR));
		w[i].len = len;
		w[i].rounds = 12;
		before[i] = calls(i);
	}
	/* A registration on one, a driver buffer (DMA if any) on the other. */
	w[0].kind = KUBUF_MEM_UBUF;
	w[0].p = anon(len);
	KT_OK(reg(w[0].fd, w[0].p, len, KUBUF_ACCESS_DEV_WRITE, &w[0].id));
	info(w[1].fd, &in);
	w[1].kind = KUBUF_MEM_KBUF;
	KT_OK(kbuf_alloc(w[1].fd, len,
			 in.features & KUBUF_FEAT_KBUF_DMA ? KUBUF_KBUF_DMA :
			 KUBUF_KBUF_PAGES, &w[1].id, &off));
	w[1].p = kbuf_map(w[1].fd, off, len);

	for (i = 0; i < NDEV; i++)
		KT_ASSERT_EQ(pthread_create(&th[i], NULL, work, &w[i]), 0);
	for (i = 0; i < NDEV; i++)
		KT_ASSERT_EQ(pthread_join(th[i], NULL), 0);

	for (i = 0; i < NDEV; i++) {
		unsigned long long n = calls(i) - before[i];

		KT_ASSERT(n >= (unsigned long long)w[i].rounds * CALLS(len));
		kt_note("device %d: %llu callbacks for %d commands", i, n,
			w[i].rounds);
		close(w[i].fd);
		munmap(w[i].p, len);
	}
	KT_OK(unload_client());
	assert_stats(base);
}

/*
 * kubuf_device_revoke(): every registration of every file of that
 * device, and only that device, is revoked and its application told,
 * and unpinned by the time it returns, commands in flight or not; the
 * device goes on working.
 */
KT_CASE(revoke_device)
{
	uint64_t base[KUBUF_STAT_NR];
	struct kubuf_ubuf_query q;
	size_t big = 16 << 20;
	unsigned char *u[3], *b;
	uint32_t id[3], bid = 0;
	int fd[3], i;

	stats(base);
	load_client(NDEV);
	/* Two files of device 0, one of device 1. */
	fd[0] = KT_OK(open_dev(0, O_RDWR));
	fd[1] = KT_OK(open_dev(0, O_RDWR));
	fd[2] = KT_OK(open_dev(1, O_RDWR));
	for (i = 0; i < 3; i++) {
		u[i] = anon(8 * PG);
		KT_OK(reg(fd[i], u[i], 8 * PG, RW, &id[i]));
	}
	/* Device 0 busy with a large registration. */
	b = anon(big);
	KT_OK(reg(fd[0], b, big, KUBUF_ACCESS_DEV_WRITE, &bid));
	for (i = 0; i < 4; i++)
		KT_OK(fill(fd[0], KUBUF_MEM_UBUF, bid, 0, big, i,
			   KUBUF_DEV_NOWAIT));
	KT_OK(trigger(0, "revoke"));
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_PINNED_PAGES),
		     base[KUBUF_STAT_PINNED_PAGES] + 8);
	for (i = 0; i < 3; i++) {
		bool revoked = i < 2;

		memset(&q, 0, sizeof(q));
		q.id = id[i];
		KT_OK(ioctl(fd[i], KUBUF_IOC_UBUF_QUERY, &q));
		KT_ASSERT_EQ(q.state, revoked ? KUBUF_UBUF_REVOKED :
						KUBUF_UBUF_ACTIVE);
		KT_ASSERT_EQ(events(fd[i]) & ~(i ? 0 : KUBUF_EVENT_DONE),
			     revoked ? KUBUF_EVENT_REVOKED : 0);
		if (revoked)
			KT_ERRNO(fill(fd[i], KUBUF_MEM_UBUF, id[i], 0, PG, 1, 0),
				 ESHUTDOWN);
		else
			KT_OK(fill(fd[i], KUBUF_MEM_UBUF, id[i], 0, PG, 1, 0));
	}
	/* Device 0 still works: a new registration is served. */
	KT_OK(reg(fd[0], u[0], 8 * PG, RW, &id[0]));
	KT_OK(fill(fd[0], KUBUF_MEM_UBUF, id[0], 0, 8 * PG, 5, 0));
	KT_ASSERT(all_bytes(u[0], 8 * PG, dev_byte(0, 5)));
	for (i = 0; i < 3; i++) {
		close(fd[i]);
		munmap(u[i], 8 * PG);
	}
	munmap(b, big);
	KT_OK(unload_client());
	assert_stats(base);
}

/* remove_races: one file of device 0, and what each thread saw. */
struct racer {
	int fd;
	unsigned char *mem;
	uint32_t big_id;
	unsigned long ok;
	int last_errno;
};

/*
 * Rings attached to and detached from a driver buffer until the device
 * is gone: a DETACH that passed the ioctl's check as the removal began
 * must not free a ring the removal is stopping.
 */
static void *race_ring(void *arg)
{
	struct racer *r = arg;
	uint32_t kid, id;
	uint64_t off;

	if (kbuf_alloc(r->fd, PG, KUBUF_KBUF_PAGES, &kid, &off)) {
		KT_ASSERT_EQ(errno, ENODEV);
		return NULL;
	}
	while (!ring_attach(r->fd, KUBUF_MEM_KBUF, kid, &id)) {
		if (id_ioctl(r->fd, KUBUF_IOC_RING_DETACH, id))
			KT_ASSERT_EQ(errno, ENODEV);
		r->ok++;
	}
	KT_ASSERT_EQ(errno, ENODEV);
	r->last_errno = errno;
	return NULL;
}

/* Blocking FILLs of a large registration until the device is gone. */
static void *race_fill(void *arg)
{
	struct racer *r = arg;

	for (;;) {
		if (!fill(r->fd, KUBUF_MEM_UBUF, r->big_id, 0, 16 << 20,
			  (uint32_t)r->ok, 0)) {
			r->ok++;
			continue;
		}
		KT_ASSERT(errno == ESHUTDOWN || errno == ENODEV);
		if (errno == ENODEV)
			break;
	}
	r->last_errno = errno;
	return NULL;
}

/* Register and unregister until the device is gone. */
static void *race_reg(void *arg)
{
	struct racer *r = arg;
	uint32_t id;

	while (!reg(r->fd, r->mem, 16 * PG, RW, &id)) {
		if (id_ioctl(r->fd, KUBUF_IOC_UBUF_UNREGISTER, id))
			KT_ASSERT_EQ(errno, ENODEV);
		r->ok++;
	}
	KT_ASSERT_EQ(errno, ENODEV);
	r->last_errno = errno;
	return NULL;
}

/* Allocate, map, fill, unmap and free driver buffers until it is gone. */
static void *race_kbuf(void *arg)
{
	struct racer *r = arg;
	uint64_t off;
	uint32_t id;
	void *p;

	while (!kbuf_alloc(r->fd, 4 * PG, KUBUF_KBUF_PAGES, &id, &off)) {
		p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED,
			 r->fd, off);
		if (p == MAP_FAILED)
			KT_ASSERT_EQ(errno, ENODEV);
		if (fill(r->fd, KUBUF_MEM_KBUF, id, 0, 4 * PG, 1, 0))
			KT_ASSERT(errno == ESHUTDOWN || errno == ENODEV);
		else if (p != MAP_FAILED)
			KT_ASSERT(all_bytes(p, 4 * PG, dev_byte(0, 1)));
		if (p != MAP_FAILED)
			KT_OK(munmap(p, 4 * PG));
		if (id_ioctl(r->fd, KUBUF_IOC_KBUF_FREE, id))
			KT_ASSERT_EQ(errno, ENODEV);
		r->ok++;
	}
	KT_ASSERT_EQ(errno, ENODEV);
	r->last_errno = errno;
	return NULL;
}

/* poll() for events, asleep until the hangup wakes it. */
static void *race_poll(void *arg)
{
	struct racer *r = arg;
	struct pollfd pfd = { .fd = r->fd, .events = POLLPRI };
	double t0 = kt_now();

	do {
		KT_ASSERT(kt_now() - t0 < 30);
		KT_OK(kt_poll(&pfd, 1, 1000));
		r->ok++;
	} while (!(pfd.revents & POLLHUP));
	KT_ASSERT(pfd.revents & POLLERR);
	return NULL;
}

/*
 * The remove path while four threads use one file of the device:
 * blocking commands, registrations, driver buffers and their mappings,
 * poll(). Each call succeeds or fails as the removal explains (ENODEV;
 * ESHUTDOWN for a command it stopped), none hangs, poll() wakes with
 * POLLHUP, and nothing is left behind.
 */
KT_CASE(remove_races)
{
	void *(*const fn[])(void *) = {
		race_fill, race_reg, race_kbuf, race_poll, race_ring,
	};
	enum { NR = sizeof(fn) / sizeof(fn[0]) };
	uint64_t base[KUBUF_STAT_NR];
	struct racer r[NR];
	pthread_t th[NR];
	unsigned char *u, *b;
	unsigned long long n;
	uint32_t bid = 0;
	int fd, i;

	stats(base);
	load_client(NDEV);
	fd = KT_OK(open_dev(0, O_RDWR));
	u = anon(16 * PG);
	b = anon(16 << 20);
	KT_OK(reg(fd, b, 16 << 20, KUBUF_ACCESS_DEV_WRITE, &bid));
	for (i = 0; i < NR; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].fd = fd;
		r[i].mem = u;
		r[i].big_id = bid;
		KT_ASSERT_EQ(pthread_create(&th[i], NULL, fn[i], &r[i]), 0);
	}
	kt_msleep(300);
	KT_OK(trigger(0, "remove"));
	n = calls(0);
	for (i = 0; i < NR; i++)
		KT_ASSERT_EQ(pthread_join(th[i], NULL), 0);
	KT_ASSERT_EQ(calls(0), n);
	KT_ASSERT_EQ(events(fd) & KUBUF_EVENT_REMOVED, KUBUF_EVENT_REMOVED);
	assert_stats_one(KUBUF_STAT_PINNED_PAGES, base);
	kt_note("before the removal: %lu fills, %lu registrations, "
		"%lu driver buffers, %lu polls, %lu rings",
		r[0].ok, r[1].ok, r[2].ok, r[3].ok, r[4].ok);
	close(fd);
	munmap(b, 16 << 20);
	munmap(u, 16 * PG);
	KT_OK(unload_client());
	assert_stats(base);
}

/* kubuf_device_create() for @name, and destroy at once: 0 or -errno. */
static int create_probe(const char *name)
{
	return kt_write_file(TEST_DEBUGFS "/create", name) ? -errno : 0;
}

/*
 * kubuf_device_create()'s documented errors, for a name taken by another
 * kubuf device (this client's, or the simulated device's) or not a name
 * at all, as plain errnos: the kernel log stays clean (the runner checks).
 * A good name makes a node that goes with the device.
 */
KT_CASE(create_errors)
{
	char name[40];

	load_client(NDEV);
	KT_ASSERT_EQ(create_probe("kubuf-test0"), -EEXIST);
	KT_ASSERT_EQ(create_probe(KUBUF_DEVICE_NAME), -EEXIST);
	KT_ASSERT_EQ(create_probe("a/b"), -EINVAL);
	memset(name, 'x', 32);
	name[32] = '\0';
	KT_ASSERT_EQ(create_probe(name), -EINVAL);
	name[31] = '\0';
	KT_ASSERT_EQ(create_probe(name), 0);
	KT_ASSERT_EQ(create_probe("kubuf-probe"), 0);
	KT_ASSERT(access("/dev/kubuf-probe", F_OK) && errno == ENOENT);
	KT_ASSERT(access("/sys/class/misc/kubuf-probe", F_OK) &&
		  errno == ENOENT);
	/* The devices that were there are there still. */
	KT_OK(access("/sys/class/misc/kubuf-test0", F_OK));
	KT_OK(access("/sys/class/misc/" KUBUF_DEVICE_NAME, F_OK));
	KT_OK(unload_client());
}

/* remove_vs_fault: an ioctl held in a page fault, and the remove path. */
struct held_call {
	int fd;
	void *arg;
	atomic_int tid;
	atomic_bool done;
};

static void *held_ioctl(void *p)
{
	struct held_call *h = p;

	ioctl(h->fd, KUBUF_IOC_UBUF_QUERY, h->arg);
	atomic_store(&h->done, true);
	return NULL;
}

static void *held_remove(void *p)
{
	struct held_call *h = p;

	atomic_store(&h->tid, (int)syscall(SYS_gettid));
	KT_OK(trigger(0, "remove"));
	atomic_store(&h->done, true);
	return NULL;
}

/* Wait up to @ms for @h to be done: true if it was. */
static bool held_wait(struct held_call *h, int ms)
{
	double t0 = kt_now();

	while (!atomic_load(&h->done) && kt_now() - t0 < ms / 1000.0)
		kt_msleep(10);
	return atomic_load(&h->done);
}

/*
 * The driver's remove path waits for no application. Here an ioctl's
 * argument lies on a page whose fault the application holds
 * (userfaultfd; a FUSE-backed private mapping does the same for a user
 * without privilege), so the ioctl sleeps inside the core for as long
 * as the application likes. kubuf_device_destroy() must not wait for
 * it (DESIGN.md: every wait a user can cause is killable or bounded;
 * nothing kills the remove path of a driver, or rmmod).
 */
KT_CASE(remove_vs_fault)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register ureg;
	struct uffdio_zeropage zp;
	struct held_call call, rm;
	pthread_t tc, tr;
	struct pollfd pfd;
	uint64_t base[KUBUF_STAT_NR];
	bool removed;
	char *page;
	int fd, uffd;

	stats(base);
	load_client(NDEV);
	fd = KT_OK(open_dev(0, O_RDWR));
	uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api))
		kt_skip("userfaultfd: %s", strerror(errno));
	page = anon(PG);
	memset(&ureg, 0, sizeof(ureg));
	ureg.range.start = (uintptr_t)page;
	ureg.range.len = PG;
	ureg.mode = UFFDIO_REGISTER_MODE_MISSING;
	KT_OK(ioctl(uffd, UFFDIO_REGISTER, &ureg));

	/* The ioctl reads its argument from the missing page: it waits. */
	memset(&call, 0, sizeof(call));
	call.fd = fd;
	call.arg = page;
	KT_ASSERT_EQ(pthread_create(&tc, NULL, held_ioctl, &call), 0);
	pfd = (struct pollfd){ .fd = uffd, .events = POLLIN };
	KT_ASSERT_EQ(kt_poll(&pfd, 1, 10000), 1);

	/* The remove path, meanwhile. */
	memset(&rm, 0, sizeof(rm));
	KT_ASSERT_EQ(pthread_create(&tr, NULL, held_remove, &rm), 0);
	removed = held_wait(&rm, 5000);
	if (!removed) {
		char path[64], stack[2048];

		snprintf(path, sizeof(path), "/proc/self/task/%d/stack",
			 atomic_load(&rm.tid));
		if (!kt_read_file(path, stack, sizeof(stack)))
			kt_note("the remove path, waiting:\n%s", stack);
	}

	/* Let the fault go, whatever happened, so that all can end. */
	memset(&zp, 0, sizeof(zp));
	zp.range.start = (uintptr_t)page;
	zp.range.len = PG;
	KT_OK(ioctl(uffd, UFFDIO_ZEROPAGE, &zp));
	KT_ASSERT_EQ(pthread_join(tc, NULL), 0);
	KT_ASSERT_EQ(pthread_join(tr, NULL), 0);
	KT_ASSERT(atomic_load(&call.done));
	if (!removed)
		kt_fail(__FILE__, __LINE__,
			"the remove path waited (5 s and more) for an ioctl "
			"held in a page fault by the application");
	KT_ASSERT_EQ(events(fd) & KUBUF_EVENT_REMOVED, KUBUF_EVENT_REMOVED);
	close(uffd);
	close(fd);
	munmap(page, PG);
	KT_OK(unload_client());
	assert_stats(base);
}

/* remove_vs_alloc: one round's threads, on the second CPU. */
struct alloc_round {
	int fd;
	unsigned long allocs[ALLOCATORS];
	int last_errno[ALLOCATORS];
	atomic_int next;
	atomic_bool spinning;
};

static void on_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	KT_ASSERT_EQ(pthread_setaffinity_np(pthread_self(), sizeof(set),
					    &set), 0);
}

/* DMA driver buffers, made and freed, until the device is gone. */
static void *alloc_loop(void *p)
{
	struct alloc_round *a = p;
	int me = atomic_fetch_add(&a->next, 1);
	uint64_t off;
	uint32_t id;

	on_cpu(1);
	KT_OK(setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19));
	while (!kbuf_alloc(a->fd, 16 * PG, KUBUF_KBUF_DMA, &id, &off)) {
		if (id_ioctl(a->fd, KUBUF_IOC_KBUF_FREE, id))
			KT_ASSERT_EQ(errno, ENODEV);
		a->allocs[me]++;
	}
	a->last_errno[me] = errno;
	return NULL;
}

/* A real-time thread that takes the second CPU for 300 ms. */
static void *hog(void *p)
{
	struct alloc_round *a = p;
	struct sched_param sp = { .sched_priority = 1 };
	double t0;

	on_cpu(1);
	KT_ASSERT_EQ(pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp), 0);
	kt_msleep(20);		/* the allocator is in full swing */
	atomic_store(&a->spinning, true);
	t0 = kt_now();
	while (kt_now() - t0 < 0.3)
		;
	return NULL;
}

/*
 * The rest of the API, through device 1 of the client (see tests/kmod):
 * a hold the driver takes itself (kubuf_mem_get/put, CHECKSUM), the
 * revocation of one registration (kubuf_ubuf_revoke_id, RESET by id)
 * with the driver's ->revoke called, and an event raised from interrupt
 * context on a file the driver kept (kubuf_file_get/put, kubuf_notify).
 */
KT_CASE(api_calls)
{
	size_t len = 3 * PG - 200;
	unsigned long long rev0, n0, h0;
	struct kubuf_ubuf_query q;
	struct pollfd pfd;
	uint64_t sum = 0, cnt;
	uint32_t uid = 0, uid2 = 0;
	unsigned char *p;
	int fd, efd;

	load_client(NDEV);
	fd = KT_OK(open_dev(1, O_RDWR));
	efd = KT_OK(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	set_efd(fd, efd);
	p = anon(4 * PG);
	KT_OK(reg(fd, p + 100, len, RW, &uid));
	KT_OK(fill(fd, KUBUF_MEM_UBUF, uid, 0, len, 7, 0));
	KT_ASSERT(all_bytes(p + 100, len, dev_byte(1, 7)));

	/* CHECKSUM: the driver's own hold, its own range check. */
	p[100 + 50] = 0x5a;
	KT_OK(dev_cmd(fd, KUBUF_DEV_CHECKSUM, 0, KUBUF_MEM_UBUF, uid, 50, 5000,
		      0, &sum));
	KT_ASSERT_EQ(sum, kubuf_checksum(KUBUF_CHECKSUM_INIT, p + 150, 5000));
	KT_ERRNO(dev_cmd(fd, KUBUF_DEV_CHECKSUM, 0, KUBUF_MEM_UBUF, uid, 1,
			 len, 0, NULL), ERANGE);
	KT_ERRNO(dev_cmd(fd, KUBUF_DEV_CHECKSUM, 0, KUBUF_MEM_UBUF, uid + 1, 0,
			 1, 0, NULL), ENOENT);
	KT_ERRNO(dev_cmd(fd, KUBUF_DEV_CHECKSUM, 0, KUBUF_MEM_UBUF, uid, 0,
			 (1 << 20) + 1, 0, NULL), E2BIG);

	/* RESET of one registration: ->revoke, REVOKED, the other lives. */
	KT_OK(reg(fd, p + 3 * PG, PG, RW, &uid2));
	(void)events(fd);
	rev0 = counter(1, "revokes");
	KT_OK(dev_cmd(fd, KUBUF_DEV_RESET, 0, KUBUF_MEM_UBUF, uid, 0, 0, 0,
		      NULL));
	KT_ASSERT_EQ(counter(1, "revokes"), rev0 + 1);
	KT_ASSERT(events(fd) & KUBUF_EVENT_REVOKED);
	memset(&q, 0, sizeof(q));
	q.id = uid;
	KT_OK(ioctl(fd, KUBUF_IOC_UBUF_QUERY, &q));
	KT_ASSERT_EQ(q.state, KUBUF_UBUF_REVOKED);
	KT_ERRNO(fill(fd, KUBUF_MEM_UBUF, uid, 0, 1, 0, 0), ESHUTDOWN);
	KT_OK(fill(fd, KUBUF_MEM_UBUF, uid2, 0, PG, 9, 0));
	KT_ASSERT(all_bytes(p + 3 * PG, PG, dev_byte(1, 9)));
	KT_ERRNO(dev_cmd(fd, KUBUF_DEV_RESET, 0, KUBUF_MEM_UBUF, 9999, 0, 0, 0,
			 NULL), ENOENT);
	KT_ASSERT_EQ(counter(1, "revokes"), rev0 + 1);
	KT_OK(id_ioctl(fd, KUBUF_IOC_UBUF_UNREGISTER, uid));
	KT_ASSERT_EQ(counter(1, "revokes"), rev0 + 1);	/* revoked already */
	KT_OK(id_ioctl(fd, KUBUF_IOC_UBUF_UNREGISTER, uid2));
	KT_ASSERT_EQ(counter(1, "revokes"), rev0 + 2);

	/* An event from interrupt context, after the command ended. */
	KT_OK(reg(fd, p, PG, RW, &uid));
	while (read(efd, &cnt, sizeof(cnt)) == sizeof(cnt))
		;
	(void)events(fd);
	n0 = counter(1, "notifies");
	h0 = counter(1, "irq_notifies");
	KT_OK(fill(fd, KUBUF_MEM_UBUF, uid, 0, PG, 0x80000000U | 3, 0));
	pfd.fd = efd;
	pfd.events = POLLIN;
	KT_ASSERT_EQ(kt_poll(&pfd, 1, 10000), 1);
	KT_ASSERT(events(fd) & KUBUF_EVENT_DONE);
	KT_ASSERT_EQ(counter(1, "notifies"), n0 + 1);
	/* A timer's softirq; PREEMPT_RT runs timers in a thread. */
	if (!strstr(getenv("KUBUF_FEATURES") ?: "", "preempt-rt"))
		KT_ASSERT_EQ(counter(1, "irq_notifies"), h0 + 1);
	KT_OK(id_ioctl(fd, KUBUF_IOC_UBUF_UNREGISTER, uid));
	close(efd);
	close(fd);
	KT_OK(unload_client());
}

static int stream_start(int fd, uint32_t ring)
{
	struct kubuf_stream st;

	memset(&st, 0, sizeof(st));
	st.ring_id = ring;
	st.flags = KUBUF_STREAM_LOSSLESS;
	return ioctl(fd, KUBUF_IOC_STREAM_START, &st);
}

static void ring_query(int fd, uint32_t ring, struct kubuf_ring_query *q)
{
	memset(q, 0, sizeof(*q));
	q->id = ring;
	KT_OK(ioctl(fd, KUBUF_IOC_RING_QUERY, q));
}

/* Wait up to 10 s for ring @ring to have seen @n records made. */
static void wait_records(int fd, uint32_t ring, uint64_t n)
{
	struct kubuf_ring_query q;
	int ms;

	for (ms = 0; ms < 10000; ms += 10) {
		ring_query(fd, ring, &q);
		if (q.records + q.dropped >= n)
			return;
		kt_msleep(10);
	}
	kt_fail(__FILE__, __LINE__, "ring %u: %llu records, %llu dropped in "
		"10 s, want %llu", ring, (unsigned long long)q.records,
		(unsigned long long)q.dropped, (unsigned long long)n);
}

/* No wake of the stream's timer for a while: it was stopped. */
static void assert_quiet(int dev)
{
	unsigned long long t = counter(dev, "ticks");

	kt_msleep(50);
	KT_ASSERT_EQ(counter(dev, "ticks"), t);
}

/*
 * A stream driven by the driver's "interrupt" (a timer of device 1 that
 * wakes the ring, kubuf_ring_wake, every ms): records come without any
 * call of the application's; ->stream_stop ends it, once, at STOP, at
 * DETACH and at the device's removal, after which the driver wakes the
 * ring no more.
 */
KT_CASE(stream_wakes)
{
	struct kubuf_ring_query q;
	uint32_t kid = 0, ring = 0;
	unsigned long long s0;
	uint64_t off;
	int fd;

	load_client(NDEV);
	fd = KT_OK(open_dev(1, O_RDWR));
	KT_OK(kbuf_alloc(fd, PG, KUBUF_KBUF_PAGES, &kid, &off));
	KT_OK(ring_attach(fd, KUBUF_MEM_KBUF, kid, &ring));
	s0 = counter(1, "stream_stops");

	/* A stream, but not a bare one: the core says so. */
	{
		struct kubuf_info in;
		struct kubuf_stream st;

		info(fd, &in);
		KT_ASSERT(in.features & KUBUF_FEAT_STREAM);
		KT_ASSERT(!(in.features & KUBUF_FEAT_STREAM_BARE));
		memset(&st, 0, sizeof(st));
		st.ring_id = ring;
		st.flags = KUBUF_STREAM_LOSSLESS | KUBUF_STREAM_BARE;
		KT_ERRNO(ioctl(fd, KUBUF_IOC_STREAM_START, &st), EOPNOTSUPP);
		KT_ASSERT_EQ(counter(1, "stream_stops"), s0);
	}

	/* STOP, then START again: a stop for each start. */
	KT_OK(stream_start(fd, ring));
	KT_ERRNO(stream_start(fd, ring), EBUSY);
	wait_records(fd, ring, 5);
	KT_OK(id_ioctl(fd, KUBUF_IOC_STREAM_STOP, ring));
	KT_ASSERT_EQ(counter(1, "stream_stops"), s0 + 1);
	ring_query(fd, ring, &q);
	KT_ASSERT_EQ(q.stream, KUBUF_STREAM_IDLE);
	KT_OK(stream_start(fd, ring));
	wait_records(fd, ring, q.records + q.dropped + 50);

	/* DETACH: the driver stops; its timer wakes nothing more. */
	KT_OK(id_ioctl(fd, KUBUF_IOC_RING_DETACH, ring));
	KT_ASSERT_EQ(counter(1, "stream_stops"), s0 + 2);
	assert_quiet(1);

	/* Removal with a stream running: stopped there, once. */
	KT_OK(ring_attach(fd, KUBUF_MEM_KBUF, kid, &ring));
	KT_OK(stream_start(fd, ring));
	wait_records(fd, ring, 5);
	KT_OK(trigger(1, "remove"));
	KT_ASSERT_EQ(counter(1, "stream_stops"), s0 + 3);
	assert_quiet(1);
	close(fd);
	KT_ASSERT_EQ(counter(1, "stream_stops"), s0 + 3);
	KT_OK(unload_client());
}

/* The kernel's taint flags (/proc/sys/kernel/tainted). */
static unsigned long tainted(void)
{
	char buf[32];

	KT_OK(kt_read_file("/proc/sys/kernel/tainted", buf, sizeof(buf)));
	return strtoul(buf, NULL, 10);
}

/*
 * One round on device @dev: the allocator, preempted by the hog, and
 * the device removed meanwhile. Returns the buffers made.
 */
static unsigned long run_alloc_round(int dev)
{
	struct alloc_round a;
	pthread_t ta[ALLOCATORS], th;
	unsigned long n = 0;
	int i;

	memset(&a, 0, sizeof(a));
	a.fd = KT_OK(open_dev(dev, O_RDWR));
	for (i = 0; i < ALLOCATORS; i++)
		KT_ASSERT_EQ(pthread_create(&ta[i], NULL, alloc_loop, &a), 0);
	KT_ASSERT_EQ(pthread_create(&th, NULL, hog, &a), 0);
	while (!atomic_load(&a.spinning))
		kt_msleep(1);
	KT_OK(trigger(dev, "remove"));
	KT_ASSERT_EQ(pthread_join(th, NULL), 0);
	for (i = 0; i < ALLOCATORS; i++)
		KT_ASSERT_EQ(pthread_join(ta[i], NULL), 0);
	close(a.fd);
	for (i = 0; i < ALLOCATORS; i++) {
		/* ENOMEM: dma_alloc_coherent() ran, and failed, after it. */
		if (a.last_errno[i] != ENODEV)
			kt_fail(__FILE__, __LINE__, "device %d: KBUF_ALLOC "
				"ended with %s, not ENODEV: it allocated DMA "
				"memory for the removed device", dev,
				strerror(a.last_errno[i]));
		n += a.allocs[i];
	}
	return n;
}

/*
 * No DMA memory is allocated for a device after its driver's remove
 * returned. Threads allocating DMA driver buffers in a loop are
 * preempted (a real-time thread takes their CPU) wherever they happen
 * to be in the core, now and then between the core's "device removed?"
 * check and its dma_alloc_coherent(); the device is removed meanwhile
 * and the client's remove path then makes any allocation for it warn
 * (and fail). LOADS times eight rounds, one device each: a race, so a
 * pass says little, a failure much.
 */
KT_CASE(remove_vs_alloc)
{
	uint64_t base[KUBUF_STAT_NR];
	unsigned long taint0 = tainted(), total = 0;
	struct kubuf_info in;
	int fd, load, i;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		kt_skip("one CPU: nothing to preempt on the other");
	on_cpu(0);	/* the remove path's, and the kernel work it waits for */
	stats(base);
	for (load = 0; load < LOADS; load++) {
		load_client(MAX_DEV);
		fd = KT_OK(open_dev(0, O_RDWR));
		info(fd, &in);
		close(fd);
		if (!(in.features & KUBUF_FEAT_KBUF_DMA))
			kt_skip("no DMA driver buffers here");
		for (i = 0; i < MAX_DEV; i++)
			total += run_alloc_round(i);
		KT_OK(unload_client());
	}
	kt_note("%lu DMA buffers made and freed in %d rounds", total,
		LOADS * MAX_DEV);
	if (!(taint0 & (1UL << 9)) && (tainted() & (1UL << 9)))
		kt_fail(__FILE__, __LINE__, "the kernel warned (see its log)");
	assert_stats(base);
}

/*
 * remove_vs_dma_faults: processes mapping a DMA driver buffer afresh and
 * touching every page of it (each touch of a new mapping a fault), as
 * fast as they can, while the device is removed. The removal frees the
 * DMA memory: a page mapped after that, or not taken out before, would
 * show freed memory (page poison) or another owner's. Each toucher must
 * see the device's bytes until its mmap() fails (ENODEV) or a touch
 * dies of SIGBUS.
 */
#define TOUCHERS	3
#define TOUCH_ROUNDS	6

static void toucher(int fd, uint64_t off, size_t len, unsigned char want,
		    int ready)
{
	unsigned long n = 0;
	const volatile unsigned char *d;
	size_t i;

	for (;;) {
		d = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, off);
		if (d == MAP_FAILED)
			_exit(errno == ENODEV ? 0 : 5);
		for (i = 0; i < len; i += PG) {
			if (d[i + (n % PG)] != want)
				_exit(3);
			n++;
		}
		if (n == len / PG && write(ready, "r", 1) != 1)
			_exit(4);
		munmap((void *)d, len);
	}
}

KT_CASE(remove_vs_dma_faults)
{
	size_t len = 64 * PG;
	uint64_t base[KUBUF_STAT_NR], off = 0;
	pid_t pid[TOUCHERS];
	struct kubuf_info in;
	int round, i, fd, status, pfd[2];
	unsigned char *d, c;
	uint32_t id = 0;
	int sigbus = 0;

	stats(base);
	for (round = 0; round < TOUCH_ROUNDS; round++) {
		load_client(1);
		fd = KT_OK(open_dev(0, O_RDWR));
		info(fd, &in);
		if (!(in.features & KUBUF_FEAT_KBUF_DMA)) {
			close(fd);
			KT_OK(unload_client());
			kt_skip("no DMA driver buffers here");
		}
		KT_OK(kbuf_alloc(fd, len, KUBUF_KBUF_DMA, &id, &off));
		d = kbuf_map(fd, off, len);
		KT_OK(fill(fd, KUBUF_MEM_KBUF, id, 0, len, 20 + round, 0));
		KT_OK(pipe(pfd));
		for (i = 0; i < TOUCHERS; i++) {
			pid[i] = KT_OK(fork());
			if (!pid[i]) {
				close(pfd[0]);
				toucher(fd, off, len, dev_byte(0, 20 + round),
					pfd[1]);
			}
		}
		close(pfd[1]);
		for (i = 0; i < TOUCHERS; i++)
			KT_ASSERT_EQ(read(pfd[0], &c, 1), 1);
		/* Every toucher is faulting: the device goes, at a round's pace. */
		kt_usleep(1000 * round);
		KT_OK(trigger(0, "remove"));
		for (i = 0; i < TOUCHERS; i++) {
			KT_OK(waitpid(pid[i], &status, 0));
			if (WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS)
				sigbus++;
			else if (!WIFEXITED(status) || WEXITSTATUS(status))
				kt_fail(__FILE__, __LINE__,
					"toucher %d: %s %d (3: it read bytes "
					"that are not the device's)", i,
					WIFSIGNALED(status) ? "signal" : "exit",
					WIFSIGNALED(status) ? WTERMSIG(status) :
					WEXITSTATUS(status));
		}
		KT_ASSERT_EQ(kt_touch(d), SIGBUS);
		close(pfd[0]);
		munmap(d, len);
		close(fd);
		KT_OK(unload_client());
	}
	kt_note("%d touchers of %d ended by SIGBUS, the others by ENODEV",
		sigbus, TOUCHERS * TOUCH_ROUNDS);
	assert_stats(base);
}

/*
 * A driver keeps its own hold on a DMA driver buffer beyond the callback
 * (as for a transfer its interrupt ends) and gives it back from a work
 * item a moment later: the removal waits for it before the memory goes.
 * Device 1 of the client: CHECKSUM with KT_LATE keeps the hold 300 ms;
 * its remove path WARNs if kubuf_device_destroy() returned before.
 */
#define KT_LATE		0x4c617465U

KT_CASE(remove_waits_dma_hold)
{
	uint64_t base[KUBUF_STAT_NR], off = 0, sum;
	struct kubuf_info in;
	unsigned char *d;
	uint32_t id = 0;
	double t0, t;
	int fd;

	stats(base);
	load_client(NDEV);
	fd = KT_OK(open_dev(1, O_RDWR));
	info(fd, &in);
	if (!(in.features & KUBUF_FEAT_KBUF_DMA)) {
		close(fd);
		KT_OK(unload_client());
		kt_skip("no DMA driver buffers here");
	}
	KT_OK(kbuf_alloc(fd, 4 * PG, KUBUF_KBUF_DMA, &id, &off));
	d = kbuf_map(fd, off, 4 * PG);
	KT_OK(fill(fd, KUBUF_MEM_KBUF, id, 0, 4 * PG, 3, 0));
	KT_OK(kt_dev_cmd(fd, KUBUF_DEV_CHECKSUM, 0, KUBUF_MEM_KBUF, id, PG,
			 KT_LATE, &sum));
	/* One at a time: the driver still holds it. */
	KT_ERRNO(kt_dev_cmd(fd, KUBUF_DEV_CHECKSUM, 0, KUBUF_MEM_KBUF, id, PG,
			    KT_LATE, &sum), EBUSY);
	t0 = kt_now();
	KT_OK(trigger(1, "remove"));
	t = kt_now() - t0;
	kt_note("the removal took %.3f s with the driver's hold out", t);
	KT_ASSERT_EQ(kt_touch(d), SIGBUS);
	munmap(d, 4 * PG);
	close(fd);
	KT_OK(unload_client());
	assert_stats(base);
}

KT_MAIN()
