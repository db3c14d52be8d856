/* SPDX-License-Identifier: MIT */
/*
 * Shared rings, seen from the ABI: every errno of ATTACH, DETACH, QUERY,
 * KICK, STREAM_START and STREAM_STOP; the stream and the command ring
 * driven with nothing but <kubuf/ring.h> (the implementation the module
 * uses too); the lifecycle (revoke, unregister, free, close while the
 * device runs); and a hostile application scribbling over its rings
 * while the device uses them.
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>

#include <kubuf/ring.h>

#include "harness.h"
#include "kubuf.h"

#define RING_DATA	4096
#define RING_BYTES	(KUBUF_RING_CTL_SIZE + RING_DATA)
#define MEM_LEN		(64 * 1024)

/* Memory a ring can live in: a registration or a mapped driver buffer. */
struct mem {
	unsigned int kind;
	uint32_t id;
	unsigned char *addr;
	size_t len;
};

static void mem_ubuf(int fd, struct mem *m, size_t len, uint32_t access)
{
	struct kubuf_ubuf_reg reg = { 0 };

	m->kind = KUBUF_MEM_UBUF;
	m->len = len;
	m->addr = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	KT_ASSERT(m->addr != MAP_FAILED);
	reg.addr = (uintptr_t)m->addr;
	reg.len = len;
	reg.access = access;
	KT_OK(ioctl(fd, KUBUF_IOC_UBUF_REGISTER, &reg));
	m->id = reg.id;
}

static void mem_kbuf(int fd, struct mem *m, size_t len, uint32_t flags)
{
	struct kubuf_kbuf_alloc a = { .size = len, .flags = flags };
	int prot = PROT_READ | (flags ? PROT_WRITE : 0);

	m->kind = KUBUF_MEM_KBUF;
	m->len = len;
	KT_OK(ioctl(fd, KUBUF_IOC_KBUF_ALLOC, &a));
	m->id = a.id;
	m->addr = mmap(NULL, len, prot, MAP_SHARED, fd, a.mmap_offset);
	KT_ASSERT(m->addr != MAP_FAILED);
}

static void mem_new(int fd, struct mem *m, unsigned int kind)
{
	if (kind == KUBUF_MEM_UBUF)
		mem_ubuf(fd, m, MEM_LEN, KUBUF_ACCESS_DEV_READ |
			 KUBUF_ACCESS_DEV_WRITE);
	else
		mem_kbuf(fd, m, MEM_LEN, KUBUF_KBUF_APP_WRITE);
}

static struct kubuf_ring_attach ring_args(const struct mem *m, uint32_t dir)
{
	struct kubuf_ring_attach a = {
		.dir = dir, .kind = m->kind, .mem_id = m->id,
		.data_size = RING_DATA, .eventfd = -1,
		.wake_records = dir == KUBUF_RING_TO_APP ? 1 : 0,
	};
	return a;
}

static int attach(int fd, struct kubuf_ring_attach *a)
{
	return ioctl(fd, KUBUF_IOC_RING_ATTACH, a);
}

static uint32_t attach_ok(int fd, const struct mem *m, uint32_t dir,
			  uint64_t offset)
{
	struct kubuf_ring_attach a = ring_args(m, dir);

	a.offset = offset;
	KT_OK(attach(fd, &a));
	KT_ASSERT(a.id != 0);
	return a.id;
}

static struct kubuf_ring_query query(int fd, uint32_t id)
{
	struct kubuf_ring_query q = { .id = id };

	KT_OK(ioctl(fd, KUBUF_IOC_RING_QUERY, &q));
	return q;
}

static int id_ioctl(int fd, unsigned long cmd, uint32_t id)
{
	struct kubuf_id arg = { .id = id };

	return ioctl(fd, cmd, &arg);
}

static int stream_start(int fd, uint32_t ring, uint32_t size, uint64_t rate,
			uint64_t count, uint32_t flags)
{
	struct kubuf_stream s = {
		.ring_id = ring, .flags = flags, .rec_size = size,
		.seed = 0x5eed, .rate = rate, .count = count,
	};
	return ioctl(fd, KUBUF_IOC_STREAM_START, &s);
}

/* What a consumer checked: records in order, each whole and correct. */
struct seen {
	uint64_t records;
	uint64_t next_seq;
	uint64_t gaps;
};

/* Consume and verify every stream record published so far. */
static void drain(struct kubuf_ring_view *v, uint32_t size, struct seen *s)
{
	struct kubuf_rec rec;
	const void *p;

	KT_ASSERT(kubuf_ring_cons_avail(v) >= 0);
	while ((p = kubuf_ring_cons_peek(v, &rec, 1 << 20))) {
		const struct kubuf_stream_rec *sr = p;
		const unsigned char *data = (const unsigned char *)(sr + 1);

		KT_ASSERT_EQ(rec.type, KUBUF_REC_STREAM);
		KT_ASSERT_EQ(rec.len, sizeof(*sr) + size);
		KT_ASSERT(sr->seq >= s->next_seq);
		s->gaps += sr->seq - s->next_seq;
		s->next_seq = sr->seq + 1;
		static unsigned char want[KUBUF_STREAM_MAX_REC];

		KT_ASSERT(size <= sizeof(want));
		KT_ASSERT_EQ(sr->csum,
			     kubuf_stream_fill(want, 0x5eed + (uint32_t)sr->seq,
					       sr->seq, size));
		KT_ASSERT_EQ(memcmp(data, want, size), 0);
		kubuf_ring_cons_next(v);
		s->records++;
	}
	KT_ASSERT_EQ(v->err, 0);
	kubuf_ring_cons_release(v);
}

/* Drain until the stream is DONE and everything is consumed. */
static struct kubuf_ring_query drain_until_done(int fd, uint32_t ring,
						struct kubuf_ring_view *v,
						uint32_t size, struct seen *s)
{
	struct kubuf_ring_query q;
	int i;

	for (i = 0; i < 60000; i++) {
		q = query(fd, ring);
		drain(v, size, s);
		if (q.stream == KUBUF_STREAM_DONE &&
		    kubuf_ring_cons_avail(v) == 0)
			return q;
		KT_ASSERT_EQ(q.state, KUBUF_RING_ACTIVE);
		kt_msleep(1);
	}
	kt_fail(__FILE__, __LINE__, "stream not done: %llu records seen",
		(unsigned long long)s->records);
}

/* --- ATTACH ------------------------------------------------------------------ */

KT_CASE(attach_resets_control_block)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	struct kubuf_ring_query q;
	struct kubuf_ring_ctl *c;
	struct mem m;
	uint32_t id;

	mem_new(fd, &m, KUBUF_MEM_UBUF);
	memset(m.addr, 0xee, m.len);
	id = attach_ok(fd, &m, KUBUF_RING_TO_APP, 4096);
	c = (struct kubuf_ring_ctl *)(m.addr + 4096);
	KT_ASSERT_EQ(c->head, 0);
	KT_ASSERT_EQ(c->tail, 0);
	KT_ASSERT_EQ(c->waiting, 0);
	KT_ASSERT_EQ(c->dropped, 0);
	KT_ASSERT_EQ(c->magic, KUBUF_RING_MAGIC);
	KT_ASSERT_EQ(c->data_size, RING_DATA);
	KT_ASSERT_EQ(m.addr[4095], 0xee);	/* nothing before the ring */
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_RINGS), 1);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_USERS), 1);

	kt_poison(&q, sizeof(q));
	q.id = id;
	q.flags = 0;
	KT_OK(ioctl(fd, KUBUF_IOC_RING_QUERY, &q));
	KT_ASSERT_EQ(q.state, KUBUF_RING_ACTIVE);
	KT_ASSERT_EQ(q.dir, KUBUF_RING_TO_APP);
	KT_ASSERT_EQ(q.stream, KUBUF_STREAM_IDLE);
	KT_ASSERT_EQ(q.error, 0);
	KT_ASSERT_EQ(q.records | q.bytes | q.dropped | q.wakeups, 0);
	KT_ASSERT_EQ(q.room_wakeups | q.reserved, 0);

	KT_OK(id_ioctl(fd, KUBUF_IOC_RING_DETACH, id));
	KT_ERRNO(id_ioctl(fd, KUBUF_IOC_RING_DETACH, id), ENOENT);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_RINGS), 0);
	close(fd);
}

KT_CASE(attach_einval)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	struct kubuf_ring_attach a;
	struct mem m;
	int pfd[2];

	mem_new(fd, &m, KUBUF_MEM_KBUF);
#define BAD(field, value, err)						\
	do {								\
		a = ring_args(&m, KUBUF_RING_TO_APP);			\
		a.field = value;					\
		KT_ERRNO(attach(fd, &a), err);				\
	} while (0)
	BAD(dir, 0, EINVAL);
	BAD(dir, 3, EINVAL);
	BAD(flags, 2, EINVAL);
	BAD(flags, ~0U, EINVAL);
	BAD(kind, 0, EINVAL);
	BAD(kind, 3, EINVAL);
	BAD(data_size, 0, EINVAL);
	BAD(data_size, 128, EINVAL);
	BAD(data_size, 4096 + 8, EINVAL);
	BAD(data_size, 1U << 31, EINVAL);
	BAD(offset, 32, EINVAL);
	BAD(offset, 1, EINVAL);
	BAD(wake_records, 0, EINVAL);
	BAD(wake_usecs, 10000001, EINVAL);
	BAD(reply_id, 1, EINVAL);
	BAD(reserved[0], 1, EINVAL);
	BAD(reserved[1], 1, EINVAL);
	BAD(eventfd, -2, EBADF);
	/* Busy-poll rings take no wakeup settings. */
	a = ring_args(&m, KUBUF_RING_TO_APP);
	a.flags = KUBUF_RING_BUSY_POLL;
	KT_ERRNO(attach(fd, &a), EINVAL);
	a.wake_records = 0;
	a.wake_usecs = 5;
	KT_ERRNO(attach(fd, &a), EINVAL);
	/* TO_DEV rings take none of the TO_APP settings. */
	a = ring_args(&m, KUBUF_RING_TO_DEV);
	a.wake_records = 1;
	KT_ERRNO(attach(fd, &a), EINVAL);
	a = ring_args(&m, KUBUF_RING_TO_DEV);
	a.wake_usecs = 1;
	KT_ERRNO(attach(fd, &a), EINVAL);
	a = ring_args(&m, KUBUF_RING_TO_DEV);
	a.flags = KUBUF_RING_BUSY_POLL;
	KT_ERRNO(attach(fd, &a), EINVAL);
	a = ring_args(&m, KUBUF_RING_TO_DEV);
	a.eventfd = 0;
	KT_ERRNO(attach(fd, &a), EINVAL);
	/* An eventfd that is not one, and a closed number. */
	KT_OK(pipe(pfd));
	BAD(eventfd, pfd[0], EINVAL);
	BAD(eventfd, fd, EINVAL);
	close(pfd[0]);
	close(pfd[1]);
	BAD(eventfd, pfd[0], EBADF);
	BAD(eventfd, 100000, EBADF);
#undef BAD
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_RINGS), 0);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_EVENTFD_REFS), 0);
	close(fd);
}

KT_CASE(attach_memory_errors)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	struct kubuf_ring_attach a;
	struct mem ub, kb, ro, wo, tiny;
	uint32_t to_dev;

	mem_new(fd, &ub, KUBUF_MEM_UBUF);
	mem_new(fd, &kb, KUBUF_MEM_KBUF);
	mem_kbuf(fd, &ro, 8192, 0);
	mem_ubuf(fd, &wo, 8192, KUBUF_ACCESS_DEV_WRITE);
	mem_ubuf(fd, &tiny, RING_BYTES - 8, KUBUF_ACCESS_DEV_READ |
		 KUBUF_ACCESS_DEV_WRITE);

	a = ring_args(&ub, KUBUF_RING_TO_APP);
	a.mem_id = 999;
	KT_ERRNO(attach(fd, &a), ENOENT);
	a = ring_args(&kb, KUBUF_RING_TO_APP);
	a.mem_id = 999;
	KT_ERRNO(attach(fd, &a), ENOENT);
	a = ring_args(&ro, KUBUF_RING_TO_APP);
	KT_ERRNO(attach(fd, &a), EACCES);	/* the app cannot write it */
	a = ring_args(&wo, KUBUF_RING_TO_APP);
	KT_ERRNO(attach(fd, &a), EACCES);	/* the device cannot read it */
	a = ring_args(&tiny, KUBUF_RING_TO_APP);
	KT_ERRNO(attach(fd, &a), ERANGE);
	a = ring_args(&kb, KUBUF_RING_TO_APP);
	a.offset = MEM_LEN - RING_BYTES + 64;
	KT_ERRNO(attach(fd, &a), ERANGE);
	a.offset = 1ULL << 62;
	KT_ERRNO(attach(fd, &a), ERANGE);
	a.offset = MEM_LEN - RING_BYTES;	/* exactly at the end: fine */
	KT_OK(attach(fd, &a));

	/* A reply ring must exist and go to the application. */
	to_dev = attach_ok(fd, &ub, KUBUF_RING_TO_DEV, 0);
	a = ring_args(&ub, KUBUF_RING_TO_DEV);
	a.offset = 8192;
	a.reply_id = 999;
	KT_ERRNO(attach(fd, &a), ENOENT);
	a.reply_id = to_dev;
	KT_ERRNO(attach(fd, &a), EINVAL);

	/* A registration's address decides the alignment. */
	{
		struct kubuf_ubuf_reg reg = {
			.addr = (uintptr_t)ub.addr + 8, .len = 4 * 4096,
			.access = KUBUF_ACCESS_DEV_READ | KUBUF_ACCESS_DEV_WRITE,
		};
		KT_OK(ioctl(fd, KUBUF_IOC_UBUF_REGISTER, &reg));
		a = ring_args(&ub, KUBUF_RING_TO_APP);
		a.mem_id = reg.id;
		a.offset = 64;
		KT_ERRNO(attach(fd, &a), EINVAL);
		a.offset = 56;		/* tiny.addr + 64: aligned */
		KT_ERRNO(attach(fd, &a), EINVAL);	/* offset itself not */
	}

	/* A revoked registration. */
	KT_OK(ioctl(fd, KUBUF_IOC_DEV_CMD,
		    &(struct kubuf_dev_cmd){ .op = KUBUF_DEV_RESET }));
	a = ring_args(&ub, KUBUF_RING_TO_APP);
	a.offset = 16384;
	KT_ERRNO(attach(fd, &a), ESHUTDOWN);
	KT_ASSERT_EQ(query(fd, to_dev).state, KUBUF_RING_DEAD);
	close(fd);
}

KT_CASE(attach_limits_and_access)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	int rd = KT_OK(kt_open_dev(O_RDONLY));
	struct kubuf_ring_attach a;
	struct kubuf_info info;
	struct mem m;
	uint32_t i, id = 0;

	KT_OK(ioctl(fd, KUBUF_IOC_GET_INFO, &info));
	KT_ASSERT(info.features & KUBUF_FEAT_RING);
	KT_ASSERT(info.features & KUBUF_FEAT_STREAM);
	KT_ASSERT(info.features & KUBUF_FEAT_STREAM_BARE);
	KT_ASSERT_EQ(info.max_rings, 16);
	mem_kbuf(fd, &m, 17 * 512, KUBUF_KBUF_APP_WRITE);
	for (i = 0; i < info.max_rings; i++) {
		a = ring_args(&m, KUBUF_RING_TO_APP);
		a.data_size = 256;
		a.offset = i * 512;
		KT_OK(attach(fd, &a));
		id = a.id;
	}
	a.offset = 16 * 512;
	KT_ERRNO(attach(fd, &a), ENOSPC);
	KT_OK(id_ioctl(fd, KUBUF_IOC_RING_DETACH, id));
	KT_OK(attach(fd, &a));

	/* A read-only descriptor may look, not change. */
	KT_ERRNO(attach(rd, &a), EBADF);
	KT_ERRNO(id_ioctl(rd, KUBUF_IOC_RING_DETACH, a.id), EBADF);
	KT_ERRNO(id_ioctl(rd, KUBUF_IOC_RING_KICK, a.id), EBADF);
	KT_ERRNO(id_ioctl(rd, KUBUF_IOC_STREAM_STOP, a.id), EBADF);
	KT_ERRNO(stream_start(rd, a.id, 8, 0, 1, KUBUF_STREAM_LOSSLESS), EBADF);
	{
		struct kubuf_ring_query q = { .id = a.id };

		KT_ERRNO(ioctl(rd, KUBUF_IOC_RING_QUERY, &q), ENOENT);
	}
	/* Bad argument pointers. */
	KT_ERRNO(ioctl(fd, KUBUF_IOC_RING_ATTACH, NULL), EFAULT);
	KT_ERRNO(ioctl(fd, KUBUF_IOC_RING_QUERY, (void *)-4096L), EFAULT);
	KT_ERRNO(ioctl(fd, KUBUF_IOC_STREAM_START, NULL), EFAULT);
	KT_ERRNO(ioctl(fd, KUBUF_IOC_RING_DETACH, NULL), EFAULT);
	KT_ERRNO(ioctl(fd, KUBUF_IOC_RING_KICK, NULL), EFAULT);
	KT_ERRNO(ioctl(fd, KUBUF_IOC_STREAM_STOP, NULL), EFAULT);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_RINGS), 16);
	close(rd);
	close(fd);
}

/* An ATTACH whose id cannot be written back leaves nothing attached. */
KT_CASE(attach_efault_on_output_detaches)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	struct kubuf_ring_attach *a;
	unsigned char *page;
	struct mem m;

	mem_new(fd, &m, KUBUF_MEM_KBUF);
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	KT_ASSERT(page != MAP_FAILED);
	a = (struct kubuf_ring_attach *)page;
	*a = ring_args(&m, KUBUF_RING_TO_APP);
	KT_OK(mprotect(page, 4096, PROT_READ));
	KT_ERRNO(attach(fd, a), EFAULT);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_RINGS), 0);
	close(fd);
}

KT_CASE(id_ioctls_errors)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	struct kubuf_ring_query q = { 0 };
	struct kubuf_id bad = { .id = 1, .flags = 1 };
	struct mem m;
	uint32_t app, dev;

	mem_new(fd, &m, KUBUF_MEM_KBUF);
	app = attach_ok(fd, &m, KUBUF_RING_TO_APP, 0);
	dev = attach_ok(fd, &m, KUBUF_RING_TO_DEV, 8192);

	KT_ERRNO(id_ioctl(fd, KUBUF_IOC_RING_DETACH, 999), ENOENT);
	KT_ERRNO(id_ioctl(fd, KUBUF_IOC_RING_KICK, 999), ENOENT);
	KT_ERRNO(id_ioctl(fd, KUBUF_IOC_STREAM_STOP, 999), ENOENT);
	q.id = 999;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_RING_QUERY, &q), ENOENT);
	q.id = app;
	q.flags = 1;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_RING_QUERY, &q), EINVAL);
	bad.id = app;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_RING_DETACH, &bad), EINVAL);
	KT_ERRNO(ioctl(fd, KUBUF_IOC_RING_KICK, &bad), EINVAL);
	KT_ERRNO(ioctl(fd, KUBUF_IOC_STREAM_STOP, &bad), EINVAL);
	/* Kicks are for either ring (room, commands); streams for TO_APP. */
	KT_ERRNO(id_ioctl(fd, KUBUF_IOC_STREAM_STOP, dev), EINVAL);
	KT_OK(id_ioctl(fd, KUBUF_IOC_RING_KICK, dev));
	KT_OK(id_ioctl(fd, KUBUF_IOC_RING_KICK, app));	/* spurious: no-op */
	KT_OK(id_ioctl(fd, KUBUF_IOC_STREAM_STOP, app));	/* idle: no-op */
	close(fd);
}

KT_CASE(stream_start_errors)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	struct kubuf_stream s;
	struct mem m;
	uint32_t app, dev;

	mem_new(fd, &m, KUBUF_MEM_KBUF);
	app = attach_ok(fd, &m, KUBUF_RING_TO_APP, 0);
	dev = attach_ok(fd, &m, KUBUF_RING_TO_DEV, 8192);
#define BADS(field, value, err)						\
	do {								\
		memset(&s, 0, sizeof(s));				\
		s.ring_id = app;					\
		s.flags = KUBUF_STREAM_LOSSLESS;			\
		s.count = 1;						\
		s.field = value;					\
		KT_ERRNO(ioctl(fd, KUBUF_IOC_STREAM_START, &s), err);	\
	} while (0)
	BADS(flags, 4, EINVAL);
	BADS(flags, ~0U, EINVAL);
	BADS(flags, 0, EINVAL);			/* rate 0 needs LOSSLESS */
	BADS(rec_size, KUBUF_STREAM_MAX_REC + 1, EINVAL);
	BADS(reserved[0], 1, EINVAL);
	BADS(reserved[1], 1, EINVAL);
	BADS(ring_id, 999, ENOENT);
	BADS(ring_id, dev, EINVAL);
	/* 16 + 8 + 4073 rounds to 4104 > 4096; 16 + 8 + 4072 fits. */
	BADS(rec_size, RING_DATA - 8 - 16 + 1, E2BIG);
#undef BADS
	KT_OK(stream_start(fd, app, RING_DATA - 24, 1, 1000,
			   KUBUF_STREAM_LOSSLESS));
	KT_ERRNO(stream_start(fd, app, 8, 1, 10, 0), EBUSY);
	KT_OK(id_ioctl(fd, KUBUF_IOC_STREAM_STOP, app));
	KT_ASSERT_EQ(query(fd, app).stream, KUBUF_STREAM_IDLE);
	KT_OK(stream_start(fd, app, 8, 1, 10, 0));
	close(fd);
}

/* --- the stream ---------------------------------------------------------------- */

static void stream_through(unsigned int kind, uint32_t size, uint64_t count,
			   uint64_t rate)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	struct kubuf_ring_view v;
	struct kubuf_ring_query q;
	struct seen s = { 0 };
	struct mem m;
	uint32_t id;

	mem_new(fd, &m, kind);
	id = attach_ok(fd, &m, KUBUF_RING_TO_APP, 0);
	kubuf_ring_view_init(&v, m.addr, RING_DATA);
	KT_OK(stream_start(fd, id, size, rate, count, KUBUF_STREAM_LOSSLESS));
	q = drain_until_done(fd, id, &v, size, &s);
	KT_ASSERT_EQ(s.records, count);
	KT_ASSERT_EQ(s.gaps, 0);
	KT_ASSERT_EQ(q.records, count);
	KT_ASSERT_EQ(q.dropped, 0);
	KT_ASSERT_EQ(q.bytes, count * (16 + size));
	KT_OK(id_ioctl(fd, KUBUF_IOC_RING_DETACH, id));
	close(fd);
}

KT_CASE(stream_ubuf_lossless)
{
	stream_through(KUBUF_MEM_UBUF, 40, 5000, 0);
	stream_through(KUBUF_MEM_UBUF, 0, 2000, 0);
	stream_through(KUBUF_MEM_UBUF, 4000, 200, 0);
}

KT_CASE(stream_kbuf_lossless)
{
	stream_through(KUBUF_MEM_KBUF, 8, 5000, 0);
	stream_through(KUBUF_MEM_KBUF, 1000, 500, 20000);
}

/* A consumer that never consumes: drops are counted, nothing overwritten. */
KT_CASE(stream_stalled_consumer_drops)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	struct kubuf_ring_view v;
	struct kubuf_ring_query q;
	struct seen s = { 0 };
	struct mem m;
	uint32_t id;
	int i;

	mem_new(fd, &m, KUBUF_MEM_UBUF);
	id = attach_ok(fd, &m, KUBUF_RING_TO_APP, 0);
	kubuf_ring_view_init(&v, m.addr, RING_DATA);
	KT_OK(stream_start(fd, id, 100, 200000, 2000, 0));
	for (i = 0; i < 30000; i++) {
		q = query(fd, id);
		if (q.stream == KUBUF_STREAM_DONE)
			break;
		kt_msleep(1);
	}
	KT_ASSERT_EQ(q.stream, KUBUF_STREAM_DONE);
	KT_ASSERT(q.dropped > 0);
	KT_ASSERT_EQ(q.records + q.dropped, 2000);
	KT_ASSERT_EQ(((struct kubuf_ring_ctl *)m.addr)->dropped, q.dropped);
	/* The records the ring holds are the first ones, intact. */
	drain(&v, 100, &s);
	KT_ASSERT_EQ(s.records, q.records);
	KT_ASSERT_EQ(s.gaps, 0);
	KT_ASSERT(s.records * kubuf_rec_size(116) <= RING_DATA);
	KT_ASSERT(s.records * kubuf_rec_size(116) > RING_DATA - 2 * 128);
	close(fd);
}

/* Wakeups go out in batches, and only to a consumer that waits. */
KT_CASE(stream_wakeups_batched)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	int efd = KT_OK(eventfd(0, EFD_NONBLOCK));
	struct kubuf_ring_attach a;
	struct kubuf_ring_view v;
	struct kubuf_ring_query q;
	struct seen s = { 0 };
	uint64_t sleeps = 0;
	struct mem m;
	int i;

	mem_new(fd, &m, KUBUF_MEM_KBUF);
	a = ring_args(&m, KUBUF_RING_TO_APP);
	a.data_size = 32768;
	a.eventfd = efd;
	a.wake_records = 50;
	KT_OK(attach(fd, &a));
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_EVENTFD_REFS), 1);
	kubuf_ring_view_init(&v, m.addr, 32768);
	KT_OK(stream_start(fd, a.id, 16, 20000, 2000, KUBUF_STREAM_LOSSLESS));
	for (i = 0; i < 100000 && s.records < 2000; i++) {
		struct pollfd p = { .fd = efd, .events = POLLIN };
		uint64_t cnt;

		drain(&v, 16, &s);
		if (s.records == 2000)
			break;
		if (kubuf_ring_cons_prepare_wait(&v) == 0) {
			sleeps++;
			KT_OK(kt_poll(&p, 1, 20000));
			KT_ASSERT(p.revents & POLLIN);
			(void)!read(efd, &cnt, sizeof(cnt));
		}
		kubuf_ring_cons_done_wait(&v);
	}
	KT_ASSERT_EQ(s.records, 2000);
	q = query(fd, a.id);
	/* Every wakeup carried a batch (the last may be short). */
	KT_ASSERT(q.wakeups >= 1);
	KT_ASSERT(q.wakeups <= 2000 / 50 + 1);
	KT_ASSERT(sleeps >= 1);
	close(efd);		/* the ring keeps its own reference */
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_EVENTFD_REFS), 1);
	KT_OK(id_ioctl(fd, KUBUF_IOC_RING_DETACH, a.id));
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_EVENTFD_REFS), 0);
	close(fd);
}

/* Busy polling: the device never wakes anyone. */
KT_CASE(stream_busy_poll_no_wakeups)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	struct kubuf_ring_attach a;
	struct kubuf_ring_view v;
	struct kubuf_ring_query q;
	struct kubuf_events ev = { 0 };
	struct pollfd p = { .fd = fd, .events = POLLPRI };
	struct seen s = { 0 };
	struct mem m;

	mem_new(fd, &m, KUBUF_MEM_UBUF);
	a = ring_args(&m, KUBUF_RING_TO_APP);
	a.flags = KUBUF_RING_BUSY_POLL;
	a.wake_records = 0;
	KT_OK(attach(fd, &a));
	kubuf_ring_view_init(&v, m.addr, RING_DATA);
	/* Even a consumer that says it waits is not woken. */
	KT_ASSERT_EQ(kubuf_ring_cons_prepare_wait(&v), 0);
	KT_OK(stream_start(fd, a.id, 32, 0, 3000, KUBUF_STREAM_LOSSLESS));
	q = drain_until_done(fd, a.id, &v, 32, &s);
	KT_ASSERT_EQ(s.records, 3000);
	KT_ASSERT_EQ(q.wakeups, 0);
	/* DONE is set, then announced: wait for the event. */
	KT_ASSERT_EQ(kt_poll(&p, 1, 20000), 1);
	KT_OK(ioctl(fd, KUBUF_IOC_GET_EVENTS, &ev));
	KT_ASSERT_EQ(ev.pending, KUBUF_EVENT_RING_STATE);	/* DONE only */
	close(fd);
}

/* Without an eventfd of its own a ring wakes through the file's event. */
KT_CASE(stream_file_event_wakeup)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	struct kubuf_ring_view v;
	struct kubuf_events ev = { 0 };
	struct pollfd p = { .fd = fd, .events = POLLPRI };
	struct seen s = { 0 };
	struct mem m;
	uint32_t id;

	mem_new(fd, &m, KUBUF_MEM_KBUF);
	id = attach_ok(fd, &m, KUBUF_RING_TO_APP, 0);
	kubuf_ring_view_init(&v, m.addr, RING_DATA);
	KT_ASSERT_EQ(kubuf_ring_cons_prepare_wait(&v), 0);
	KT_OK(stream_start(fd, id, 8, 1000, 1, KUBUF_STREAM_LOSSLESS));
	KT_ASSERT_EQ(kt_poll(&p, 1, 10000), 1);
	KT_OK(ioctl(fd, KUBUF_IOC_GET_EVENTS, &ev));
	KT_ASSERT(ev.pending & KUBUF_EVENT_RING_DATA);
	kubuf_ring_cons_done_wait(&v);
	drain(&v, 8, &s);
	KT_ASSERT_EQ(s.records, 1);
	KT_ASSERT_EQ(query(fd, id).wakeups, 1);
	close(fd);
}

/* Poll until ring @id is in @state. */
static void wait_state(int fd, uint32_t id, uint32_t state)
{
	int i;

	for (i = 0; i < 20000; i++) {
		if (query(fd, id).state == state)
			return;
		kt_msleep(1);
	}
	KT_ASSERT_EQ(query(fd, id).state, state);
}

/* --- commands ------------------------------------------------------------------ */

static void send_cmd(int fd, uint32_t ring, struct kubuf_ring_view *v,
		     const struct kubuf_ring_cmd *c, const void *extra,
		     uint32_t extra_len, uint16_t type)
{
	unsigned char *p;

	p = kubuf_ring_prod_reserve(v, sizeof(*c) + extra_len, type);
	KT_ASSERT(p != NULL);
	memcpy(p, c, sizeof(*c));
	if (extra_len)
		memcpy(p + sizeof(*c), extra, extra_len);
	kubuf_ring_prod_commit(v);
	if (kubuf_ring_prod_publish(v))
		KT_OK(id_ioctl(fd, KUBUF_IOC_RING_KICK, ring));
}

/* Wait for the next completion in @v; copies it and its echo out. */
static struct kubuf_ring_done wait_done(struct kubuf_ring_view *v,
					void *echo, uint32_t *echo_len)
{
	struct kubuf_ring_done d;
	struct kubuf_rec rec;
	const unsigned char *p = NULL;
	int i;

	for (i = 0; i < 20000 && !p; i++) {
		KT_ASSERT(kubuf_ring_cons_avail(v) >= 0);
		p = kubuf_ring_cons_peek(v, &rec, 1 << 16);
		if (!p)
			kt_msleep(1);
	}
	KT_ASSERT(p != NULL);
	KT_ASSERT_EQ(rec.type, KUBUF_REC_DONE);
	KT_ASSERT(rec.len >= sizeof(d));
	memcpy(&d, p, sizeof(d));
	if (echo_len) {
		*echo_len = rec.len - sizeof(d);
		memcpy(echo, p + sizeof(d), *echo_len);
	}
	kubuf_ring_cons_next(v);
	kubuf_ring_cons_release(v);
	return d;
}

static void command_ring(unsigned int kind)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	struct kubuf_ring_attach a;
	struct kubuf_ring_view cv, rv;
	struct kubuf_ring_done d;
	struct kubuf_ring_cmd c;
	struct mem m, target;
	unsigned char echo[300], back[4096];
	uint32_t reply, back_len, i;
	uint64_t sum;

	mem_new(fd, &m, kind);
	mem_kbuf(fd, &target, 8192, KUBUF_KBUF_APP_WRITE);
	reply = attach_ok(fd, &m, KUBUF_RING_TO_APP, 0);
	a = ring_args(&m, KUBUF_RING_TO_DEV);
	a.offset = 8192;
	a.reply_id = reply;
	KT_OK(attach(fd, &a));
	kubuf_ring_view_init(&rv, m.addr, RING_DATA);
	kubuf_ring_view_init(&cv, m.addr + 8192, RING_DATA);

	/* FILL, then CHECKSUM of what it wrote. */
	c = (struct kubuf_ring_cmd){ .op = KUBUF_RCMD_FILL,
		.kind = KUBUF_MEM_KBUF, .id = target.id, .seed = 7,
		.offset = 100, .len = 5000, .tag = 1 };
	send_cmd(fd, a.id, &cv, &c, NULL, 0, KUBUF_REC_CMD);
	d = wait_done(&rv, NULL, NULL);
	KT_ASSERT_EQ(d.tag, 1);
	KT_ASSERT_EQ(d.status, 0);
	KT_ASSERT_EQ(d.op, KUBUF_RCMD_FILL);
	KT_ASSERT_EQ(kubuf_pattern_check(target.addr + 100, 5000, 7, NULL), 0);
	c.op = KUBUF_RCMD_CHECKSUM;
	c.seed = 0;
	c.tag = 2;
	send_cmd(fd, a.id, &cv, &c, NULL, 0, KUBUF_REC_CMD);
	d = wait_done(&rv, NULL, NULL);
	KT_ASSERT_EQ(d.status, 0);
	sum = kubuf_checksum(KUBUF_CHECKSUM_INIT, target.addr + 100, 5000);
	KT_ASSERT_EQ(d.result, sum);

	/* ECHO returns its payload. */
	for (i = 0; i < sizeof(echo); i++)
		echo[i] = (unsigned char)(i * 7);
	c = (struct kubuf_ring_cmd){ .op = KUBUF_RCMD_ECHO, .tag = 3 };
	send_cmd(fd, a.id, &cv, &c, echo, sizeof(echo), KUBUF_REC_CMD);
	d = wait_done(&rv, back, &back_len);
	KT_ASSERT_EQ(d.status, 0);
	KT_ASSERT_EQ(back_len, sizeof(echo));
	KT_ASSERT(!memcmp(back, echo, sizeof(echo)));

	/* Malformed commands complete with -EINVAL; the ring goes on. */
	c = (struct kubuf_ring_cmd){ .op = 99, .tag = 4 };
	send_cmd(fd, a.id, &cv, &c, NULL, 0, KUBUF_REC_CMD);
	KT_ASSERT_EQ(wait_done(&rv, NULL, NULL).status, -EINVAL);
	c = (struct kubuf_ring_cmd){ .op = KUBUF_RCMD_ECHO, .id = 1, .tag = 5 };
	send_cmd(fd, a.id, &cv, &c, NULL, 0, KUBUF_REC_CMD);
	KT_ASSERT_EQ(wait_done(&rv, NULL, NULL).status, -EINVAL);
	c = (struct kubuf_ring_cmd){ .op = KUBUF_RCMD_FILL, .tag = 6 };
	send_cmd(fd, a.id, &cv, &c, echo, 8, KUBUF_REC_CMD);
	KT_ASSERT_EQ(wait_done(&rv, NULL, NULL).status, -EINVAL);
	c = (struct kubuf_ring_cmd){ .op = KUBUF_RCMD_ECHO, .tag = 7 };
	send_cmd(fd, a.id, &cv, &c, NULL, 0, KUBUF_REC_USER);
	KT_ASSERT_EQ(wait_done(&rv, NULL, NULL).status, -EINVAL);
	c = (struct kubuf_ring_cmd){ .op = KUBUF_RCMD_FILL, .kind = KUBUF_MEM_KBUF,
		.id = target.id, .offset = 8000, .len = 500, .tag = 8 };
	send_cmd(fd, a.id, &cv, &c, NULL, 0, KUBUF_REC_CMD);
	KT_ASSERT_EQ(wait_done(&rv, NULL, NULL).status, -ERANGE);
	c.id = 999;
	send_cmd(fd, a.id, &cv, &c, NULL, 0, KUBUF_REC_CMD);
	KT_ASSERT_EQ(wait_done(&rv, NULL, NULL).status, -ENOENT);

	/* Many commands through a small ring, wrapping it many times. */
	for (i = 0; i < 300; i++) {
		c = (struct kubuf_ring_cmd){ .op = KUBUF_RCMD_ECHO,
			.tag = 100 + i };
		send_cmd(fd, a.id, &cv, &c, echo, i % 64, KUBUF_REC_CMD);
		d = wait_done(&rv, back, &back_len);
		KT_ASSERT_EQ(d.tag, 100 + i);
		KT_ASSERT_EQ(back_len, i % 64);
	}
	KT_ASSERT_EQ(query(fd, a.id).records, 309);
	KT_ASSERT(query(fd, a.id).wakeups <= 309);
	KT_ASSERT_EQ(query(fd, reply).records, 309);

	/* RESET revokes the file's registrations (and rings in them). */
	c = (struct kubuf_ring_cmd){ .op = KUBUF_RCMD_RESET, .tag = 9 };
	send_cmd(fd, a.id, &cv, &c, NULL, 0, KUBUF_REC_CMD);
	if (kind == KUBUF_MEM_KBUF) {
		KT_ASSERT_EQ(wait_done(&rv, NULL, NULL).status, 0);
	} else {
		wait_state(fd, a.id, KUBUF_RING_DEAD);
		KT_ASSERT_EQ(query(fd, reply).state, KUBUF_RING_DEAD);
	}
	close(fd);
}

KT_CASE(command_ring_kbuf)
{
	command_ring(KUBUF_MEM_KBUF);
}

KT_CASE(command_ring_ubuf)
{
	command_ring(KUBUF_MEM_UBUF);
}

/* --- lifecycle ------------------------------------------------------------------- */


KT_CASE(unregister_kills_streaming_ring)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	struct kubuf_events ev = { 0 };
	struct mem m;
	uint32_t id;

	mem_new(fd, &m, KUBUF_MEM_UBUF);
	id = attach_ok(fd, &m, KUBUF_RING_TO_APP, 0);
	KT_OK(stream_start(fd, id, 64, 1000000, 0, 0));
	kt_msleep(20);
	KT_OK(id_ioctl(fd, KUBUF_IOC_UBUF_UNREGISTER, m.id));
	KT_ASSERT_EQ(query(fd, id).state, KUBUF_RING_DEAD);
	KT_OK(ioctl(fd, KUBUF_IOC_GET_EVENTS, &ev));
	KT_ASSERT(ev.pending & KUBUF_EVENT_RING_STATE);
	KT_ERRNO(stream_start(fd, id, 8, 1, 1, 0), ESHUTDOWN);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_PINNED_PAGES), 0);
	KT_OK(id_ioctl(fd, KUBUF_IOC_RING_DETACH, id));
	close(fd);
}

KT_CASE(reset_kills_streaming_ring)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	struct mem m;
	uint32_t id;

	mem_new(fd, &m, KUBUF_MEM_UBUF);
	id = attach_ok(fd, &m, KUBUF_RING_TO_APP, 0);
	KT_OK(stream_start(fd, id, 4000, 0, 0, KUBUF_STREAM_LOSSLESS));
	KT_OK(ioctl(fd, KUBUF_IOC_DEV_CMD,
		    &(struct kubuf_dev_cmd){ .op = KUBUF_DEV_RESET }));
	KT_ASSERT_EQ(query(fd, id).state, KUBUF_RING_DEAD);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_PINNED_PAGES), 0);
	close(fd);		/* release detaches it */
}

/* Read a word of the control block the device writes. */
static uint64_t ctl_word(const __u64 *w)
{
	return __atomic_load_n(w, __ATOMIC_ACQUIRE);
}

/* Wait (10 s at most) until the device's room differs from @old and 0. */
static uint64_t wait_room_set(const struct kubuf_ring_ctl *c, uint64_t old)
{
	uint64_t room;
	int i;

	for (i = 0; i < 10000; i++) {
		room = ctl_word(&c->room);
		if (room && room != old)
			return room;
		kt_msleep(1);
	}
	kt_fail(__FILE__, __LINE__, "the device never waited for room");
	return 0;
}

/* Wait (10 s at most) until head moves from @old. */
static void wait_head_moves(const struct kubuf_ring_ctl *c, uint64_t old)
{
	int i;

	for (i = 0; i < 10000 && ctl_word(&c->head) == old; i++)
		kt_msleep(1);
	KT_ASSERT(ctl_word(&c->head) != old);
}

/*
 * Pair (4) of kubuf/ring.h from the consumer's side, by hand: a lossless
 * stream that finds the ring full says in room which tail it needs
 * (half the ring free at least), and then sleeps: it produces again when
 * kicked, and not before, not even once the room is released. An
 * application that has kicked the ring once keeps the handshake, so the
 * device does not look on a timer either: 50 ms without a kick move
 * nothing. Each kick that finds the device waiting is counted.
 */
KT_CASE(room_wait_until_kicked)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	const struct kubuf_ring_ctl *c;
	struct kubuf_ring_view v;
	struct seen s = { 0 };
	uint64_t room = 0, head, due;
	struct mem m;
	uint32_t id;
	int round;

	mem_new(fd, &m, KUBUF_MEM_KBUF);
	id = attach_ok(fd, &m, KUBUF_RING_TO_APP, 0);
	c = (const struct kubuf_ring_ctl *)m.addr;
	kubuf_ring_view_init(&v, m.addr, RING_DATA);
	/* A kick with nothing to wake: no wakeup, but the handshake is on. */
	KT_OK(id_ioctl(fd, KUBUF_IOC_RING_KICK, id));
	KT_ASSERT_EQ(query(fd, id).room_wakeups, 0);
	KT_OK(stream_start(fd, id, 8, 0, 0, KUBUF_STREAM_LOSSLESS));
	for (round = 0; round < 10; round++) {
		room = wait_room_set(c, room);
		head = ctl_word(&c->head);
		/* Everything is published; the tail it needs leaves half free. */
		KT_ASSERT(room > ctl_word(&c->tail));
		KT_ASSERT(room <= head);
		KT_ASSERT(head - room <= RING_DATA / 2);
		kt_msleep(50);
		KT_ASSERT_EQ(ctl_word(&c->head), head);	/* asleep */
		drain(&v, 8, &s);
		KT_ASSERT_EQ(v.pos, head);
		KT_ASSERT_EQ(kubuf_ring_cons_release_mb(&v), room);
		KT_ASSERT(kubuf_ring_room_due(v.pos, room));
		kt_msleep(50);
		/* Room released, no kick: still asleep, still asking. */
		KT_ASSERT_EQ(ctl_word(&c->head), head);
		KT_ASSERT_EQ(ctl_word(&c->room), room);
		KT_ASSERT_EQ(query(fd, id).room_wakeups, (uint64_t)round);
		KT_OK(id_ioctl(fd, KUBUF_IOC_RING_KICK, id));
		wait_head_moves(c, head);
		KT_ASSERT_EQ(query(fd, id).room_wakeups, (uint64_t)round + 1);
	}
	/* Not due: a tail short of room. */
	due = kubuf_ring_room_due(room - 8, room);
	KT_ASSERT_EQ(due, 0);
	KT_ASSERT_EQ(kubuf_ring_room_due(room, 0), 0);
	KT_ASSERT_EQ(s.gaps, 0);
	KT_OK(id_ioctl(fd, KUBUF_IOC_STREAM_STOP, id));
	close(fd);
}

/* A freed driver buffer stays alive for the ring that lives in it. */
KT_CASE(kbuf_free_keeps_ring_memory)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	struct kubuf_ring_view v;
	struct seen s = { 0 };
	struct mem m;
	uint32_t id;

	mem_new(fd, &m, KUBUF_MEM_KBUF);
	id = attach_ok(fd, &m, KUBUF_RING_TO_APP, 0);
	KT_OK(id_ioctl(fd, KUBUF_IOC_KBUF_FREE, m.id));
	kubuf_ring_view_init(&v, m.addr, RING_DATA);
	KT_OK(stream_start(fd, id, 8, 0, 1000, KUBUF_STREAM_LOSSLESS));
	drain_until_done(fd, id, &v, 8, &s);
	KT_ASSERT_EQ(s.records, 1000);
	KT_OK(id_ioctl(fd, KUBUF_IOC_RING_DETACH, id));
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_KBUFS), 1);	/* still mapped */
	KT_OK(munmap(m.addr, m.len));
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_KBUFS), 0);
	close(fd);
}

/* Close, exit and kill -9 while streams and command rings run. */
KT_CASE(close_and_kill_while_streaming)
{
	int round;

	for (round = 0; round < 6; round++) {
		pid_t pid = fork();

		KT_ASSERT(pid >= 0);
		if (!pid) {
			int fd = KT_OK(kt_open_dev(O_RDWR));
			struct mem u, k;
			uint32_t a, b;

			mem_new(fd, &u, KUBUF_MEM_UBUF);
			mem_new(fd, &k, KUBUF_MEM_KBUF);
			a = attach_ok(fd, &u, KUBUF_RING_TO_APP, 0);
			b = attach_ok(fd, &k, KUBUF_RING_TO_APP, 0);
			attach_ok(fd, &k, KUBUF_RING_TO_DEV, 16384);
			KT_OK(stream_start(fd, a, 512, 0, 0,
					   KUBUF_STREAM_LOSSLESS));
			KT_OK(stream_start(fd, b, 64, 500000, 0, 0));
			if (round % 2)
				_exit(0);	/* exit with everything running */
			kt_wait_for_kill();
		}
		int status;

		kt_msleep(5 + round * 3);
		if (!(round % 2))
			kill(pid, SIGKILL);
		KT_OK(waitpid(pid, &status, 0));
		if (round % 2)
			KT_ASSERT(WIFEXITED(status) && !WEXITSTATUS(status));
		else
			KT_ASSERT(WIFSIGNALED(status) || !WEXITSTATUS(status));
	}
}

/* --- a hostile application ----------------------------------------------------- */

static volatile int scribbling;

struct scribble {
	uint64_t *words;
	size_t n;
	uint64_t seed;
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *scribbler(void *arg)
{
	struct scribble *sc = arg;

	while (scribbling) {
		uint64_t r = rnd(&sc->seed);
		uint64_t val;

		switch (r & 3) {
		case 0:
			val = rnd(&sc->seed);
			break;
		case 1:
			val = (r >> 8) & 0xffff;	/* small: plausible */
			break;
		case 2:
			val = ~0ULL - (r & 0xff);
			break;
		default:
			val = sc->words[(r >> 2) % sc->n] + ((r >> 40) & 15);
			break;
		}
		__atomic_store_n(&sc->words[(r >> 16) % sc->n], val,
				 __ATOMIC_RELAXED);
	}
	return NULL;
}

/*
 * Scribble random values over every word of a TO_APP ring and a TO_DEV
 * ring while the device produces into one and consumes the other; the
 * module must notice (BROKEN), stay within the rings, and keep serving a
 * second file's stream meanwhile.
 */
static void hostile(unsigned int kind, uint64_t seed)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	int good = KT_OK(kt_open_dev(O_RDWR));
	struct kubuf_ring_view gv, cv;
	struct kubuf_ring_cmd c = { .op = KUBUF_RCMD_ECHO };
	struct scribble sc[2];
	pthread_t th[2];
	struct seen s = { 0 };
	struct mem m, gm;
	uint32_t app, dev, gid;
	int i, t;

	mem_new(fd, &m, kind);
	mem_new(good, &gm, kind);
	app = attach_ok(fd, &m, KUBUF_RING_TO_APP, 0);
	dev = attach_ok(fd, &m, KUBUF_RING_TO_DEV, 8192);
	gid = attach_ok(good, &gm, KUBUF_RING_TO_APP, 0);
	kubuf_ring_view_init(&gv, gm.addr, RING_DATA);
	kubuf_ring_view_init(&cv, m.addr + 8192, RING_DATA);
	KT_OK(stream_start(fd, app, 24, 0, 0, KUBUF_STREAM_LOSSLESS));
	KT_OK(stream_start(good, gid, 24, 0, 20000, KUBUF_STREAM_LOSSLESS));
	/* Some valid commands first, so the consumer is busy. */
	for (i = 0; i < 20; i++)
		send_cmd(fd, dev, &cv, &c, NULL, 0, KUBUF_REC_CMD);

	scribbling = 1;
	for (t = 0; t < 2; t++) {
		sc[t].words = (uint64_t *)(m.addr + t * 8192);
		sc[t].n = RING_BYTES / 8;
		sc[t].seed = seed * 2 + t + 1;
		KT_ASSERT(!pthread_create(&th[t], NULL, scribbler, &sc[t]));
	}
	for (i = 0; i < 3000; i++) {
		/* Kick the command consumer into the mess now and then. */
		if (i % 10 == 0)
			KT_OK(id_ioctl(fd, KUBUF_IOC_RING_KICK, dev));
		drain(&gv, 24, &s);
		if (query(fd, app).state == KUBUF_RING_BROKEN &&
		    query(fd, dev).state == KUBUF_RING_BROKEN &&
		    s.records == 20000)
			break;
		kt_msleep(1);
	}
	scribbling = 0;
	for (t = 0; t < 2; t++)
		pthread_join(th[t], NULL);

	KT_ASSERT_EQ(query(fd, app).state, KUBUF_RING_BROKEN);
	KT_ASSERT(query(fd, app).error == KUBUF_RING_ERR_TAIL);
	KT_ASSERT_EQ(query(fd, dev).state, KUBUF_RING_BROKEN);
	KT_ASSERT(query(fd, dev).error == KUBUF_RING_ERR_HEAD ||
		  query(fd, dev).error == KUBUF_RING_ERR_REC);
	/* The other file never noticed. */
	drain_until_done(good, gid, &gv, 24, &s);
	KT_ASSERT_EQ(s.records, 20000);
	KT_ASSERT_EQ(s.gaps, 0);
	KT_ASSERT_EQ(query(good, gid).state, KUBUF_RING_ACTIVE);
	/* Broken rings refuse streams and detach cleanly. */
	KT_OK(id_ioctl(fd, KUBUF_IOC_STREAM_STOP, app));
	KT_ERRNO(stream_start(fd, app, 8, 1, 1, 0), ESHUTDOWN);
	KT_OK(id_ioctl(fd, KUBUF_IOC_RING_DETACH, app));
	KT_OK(id_ioctl(fd, KUBUF_IOC_RING_DETACH, dev));
	close(fd);
	close(good);
}

KT_CASE(hostile_scribble_ubuf)
{
	hostile(KUBUF_MEM_UBUF, 1);
	hostile(KUBUF_MEM_UBUF, 2);
}

KT_CASE(hostile_scribble_kbuf)
{
	hostile(KUBUF_MEM_KBUF, 3);
	hostile(KUBUF_MEM_KBUF, 4);
}

int main(int argc, char **argv)
{
	return kt_main(argc, argv);
}
