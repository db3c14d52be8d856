// SPDX-License-Identifier: MIT
/*
 * Rings: attached to registrations and driver buffers, streamed into,
 * stopped, kicked, detached, queried, and consumed or scribbled on from
 * the application's side.
 */
#include <kubuf/ring.h>

#include "fuzz.h"

static const int E_RING_ATTACH[] = { EBADF, EINVAL, ENOENT, ESHUTDOWN, EACCES,
				     ERANGE, ENOSPC, EDQUOT, ENOMEM, EFAULT,
				     0 };
static const int E_STREAM[] = { EBADF, EINVAL, ENOENT, E2BIG, EBUSY,
				ESHUTDOWN, ENOMEM, EFAULT, 0 };
/* A stream's number out of range: -EINVAL, unless the ring is not there. */
static const int E_STREAM_RANGE[] = { EBADF, EINVAL, ENOENT, 0 };

/*
 * Can RING_ATTACH of @a work, by the rules of the header? @mem, if known,
 * is the buffer it names, in the same file.
 */
static bool attach_valid(const struct kubuf_ring_attach *a,
			 const struct id_ent *mem)
{
	bool busy = a->flags & KUBUF_RING_BUSY_POLL;
	uint64_t end, addr;

	if (a->reserved[0] || a->reserved[1] ||
	    (a->kind != KUBUF_MEM_UBUF && a->kind != KUBUF_MEM_KBUF) ||
	    id_impossible(a->mem_id, a->kind == KUBUF_MEM_KBUF) ||
	    a->data_size < KUBUF_RING_MIN_DATA ||
	    a->data_size > KUBUF_RING_MAX_DATA ||
	    (a->data_size & (a->data_size - 1)))
		return false;
	if (a->dir == KUBUF_RING_TO_APP) {
		if ((a->flags & ~KUBUF_RING_BUSY_POLL) || a->reply_id ||
		    a->wake_usecs > 10000000 ||
		    (busy && (a->wake_records || a->wake_usecs)) ||
		    (!busy && !a->wake_records) ||
		    (a->eventfd != -1 && (a->eventfd < 0 ||
					  fcntl(a->eventfd, F_GETFD) < 0 ||
					  !fd_is(a->eventfd, 'e'))))
			return false;
	} else if (a->dir == KUBUF_RING_TO_DEV) {
		if (a->flags || a->wake_records || a->wake_usecs ||
		    a->eventfd != -1)
			return false;
	} else {
		return false;
	}
	if (!mem)
		return true;
	addr = a->kind == KUBUF_MEM_UBUF ? mem->off : 0;
	return !__builtin_add_overflow(a->offset, KUBUF_RING_CTL_SIZE +
				       (uint64_t)a->data_size, &end) &&
	       end <= mem->len && (addr + a->offset) % KUBUF_RING_ALIGN == 0;
}

/*
 * Boundaries: buffer and reply ids, offset (around the alignment, the
 * buffer's end), data size (around the smallest and largest, and the
 * room in the buffer), wake records (any value), wake microseconds (0 to
 * 10 s), the eventfd. An attach the header's rules refuse must fail.
 */
void op_ring_attach(int op)
{
	bool ub = below(2);
	struct id_ent *mem = id_pick(ub ? W.ubufs : W.kbufs), *reply, *ent;
	struct kubuf_ring_attach a = { .eventfd = -1 }, *argp;
	int i = mem ? mem->fdi : slot_pick();
	uint64_t room = mem && mem->len > KUBUF_RING_CTL_SIZE ?
			mem->len - KUBUF_RING_CTL_SIZE : 0;
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
	a.mem_id = bound_id(a.mem_id, ub ? W.max_ubuf_id : W.max_kbuf_id);
	if (mem && a.mem_id != mem->id)
		mem = NULL;
	a.offset = BOUND64(a.offset, UINT64_MAX, KUBUF_RING_ALIGN, room,
			   room - a.data_size);
	a.data_size = BOUND32(a.data_size, KUBUF_RING_MAX_DATA,
			      KUBUF_RING_MIN_DATA, room);
	a.wake_records = BOUND32(a.wake_records, UINT32_MAX);
	a.wake_usecs = BOUND32(a.wake_usecs, 10000000);
	a.eventfd = bound_fd(a.eventfd);
	a.reply_id = bound_id(a.reply_id, W.max_ring_id);
	argp = rand_argp(&a, sizeof(a));
	e = log_begin(op, "fd %d dir %u flags %#x kind %u mem %u off %#llx size %#x efd %d wake %u/%u reply %u%s",
		      fd_of(i), a.dir, a.flags, a.kind, a.mem_id,
		      (unsigned long long)a.offset, a.data_size, a.eventfd,
		      a.wake_records, a.wake_usecs, a.reply_id,
		      argp != &a ? " argp hostile" : "");
	ret = ioctl(fd_of(i), KUBUF_IOC_RING_ATTACH, argp);
	if (argp == &a && !attach_valid(&a, mem))
		expect_fail(e, ret, E_RING_ATTACH);
	else
		expect(e, ret, E_RING_ATTACH);
	count(op, ret);
	if (ret < 0 || argp != &a)
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

/*
 * Boundaries: ring id, record size (0 to KUBUF_STREAM_MAX_REC), rate (0
 * to KUBUF_STREAM_MAX_RATE), count and seed (any value). A size or rate
 * out of range, or rate 0 without LOSSLESS, is -EINVAL.
 */
void op_ring_stream(int op)
{
	int i;
	uint32_t id = id_guess(W.rings, W.max_ring_id, &i);
	struct kubuf_stream st = {
		.ring_id = id,
		.flags = one_in(20) ? rand_bits(0) :
			 (below(2) ? KUBUF_STREAM_LOSSLESS : 0) |
			 (below(4) ? 0 : KUBUF_STREAM_BARE),
		.rec_size = one_in(10) ? rand_bits(0) : (uint32_t)below(4096),
		.seed = (uint32_t)rnd(),
		.rate = below(3) ? 1 + below(200000) : 0,
		.count = one_in(10) ? 0 : below(5000),
	}, *argp;
	struct log_ent *e;
	long ret;

	st.ring_id = bound_id(st.ring_id, W.max_ring_id);
	st.rec_size = BOUND32(st.rec_size, KUBUF_STREAM_MAX_REC);
	st.rate = BOUND64(st.rate, KUBUF_STREAM_MAX_RATE);
	st.count = BOUND64(st.count, UINT64_MAX);
	st.seed = BOUND32(st.seed, UINT32_MAX);
	argp = rand_argp(&st, sizeof(st));
	e = log_begin(op, "fd %d ring %u flags %#x size %u rate %llu count %llu%s",
		      fd_of(i), st.ring_id, st.flags, st.rec_size,
		      (unsigned long long)st.rate,
		      (unsigned long long)st.count,
		      argp != &st ? " argp hostile" : "");
	ret = ioctl(fd_of(i), KUBUF_IOC_STREAM_START, argp);
	if (argp == &st && (st.rec_size > KUBUF_STREAM_MAX_REC ||
			    st.rate > KUBUF_STREAM_MAX_RATE ||
			    (!st.rate && !(st.flags & KUBUF_STREAM_LOSSLESS))))
		expect_fail(e, ret, E_STREAM_RANGE);
	else if (argp == &st && !st.ring_id)
		expect_fail(e, ret, E_STREAM);
	else
		expect(e, ret, E_STREAM);
	count(op, ret);
}

/* STOP, KICK or DETACH, by the name of the op. */
void op_ring_id(int op)
{
	static const unsigned long cmds[] = { KUBUF_IOC_STREAM_STOP,
		KUBUF_IOC_RING_KICK, KUBUF_IOC_RING_DETACH };
	unsigned int which = (unsigned int)below(3);
	int i, j;
	uint32_t id = bound_id(id_guess(W.rings, W.max_ring_id, &i),
			       W.max_ring_id);
	struct kubuf_id a = { .id = id, .flags = one_in(20) ? rand_bits(0) : 0 };
	struct kubuf_id *argp = rand_argp(&a, sizeof(a));
	struct log_ent *e = log_begin(op, "fd %d %s ring %u flags %#x",
				      fd_of(i), which == 0 ? "stop" :
				      which == 1 ? "kick" : "detach", id,
				      a.flags);
	long ret = ioctl(fd_of(i), cmds[which], argp);

	if (argp == &a && !id)
		expect_fail(e, ret, E_ID);
	else
		expect(e, ret, E_ID);
	count(op, ret);
	if (ret == 0 && which == 2)
		for (j = 0; j < MAX_IDS; j++)
			if (W.rings[j].live && W.rings[j].fdi == i &&
			    W.rings[j].id == id)
				W.rings[j].live = false;
}

void op_ring_query(int op)
{
	int i;
	uint32_t id = id_guess(W.rings, W.max_ring_id, &i);
	struct kubuf_ring_query q;
	struct log_ent *e;
	long ret;

	id = bound_id(id, W.max_ring_id);
	kt_poison(&q, sizeof(q));
	q.id = id;
	q.flags = one_in(20) ? rand_bits(0) : 0;
	e = log_begin(op, "fd %d ring %u flags %#x", fd_of(i), id, q.flags);
	ret = expect(e, ioctl(fd_of(i), KUBUF_IOC_RING_QUERY, &q), E_QUERY);
	count(op, ret);
	if (ret < 0)
		return;
	if (!id)
		fuzz_fail("RING_QUERY of ring 0 worked: id %u state %u dir %u records %llu",
			  q.id, q.state, q.dir, (unsigned long long)q.records);
	if (q.reserved || q.id != id ||
	    q.state < KUBUF_RING_ACTIVE || q.state > KUBUF_RING_DEAD ||
	    (q.error && q.state != KUBUF_RING_BROKEN) ||
	    q.error > KUBUF_RING_ERR_REC ||
	    (q.dir != KUBUF_RING_TO_APP && q.dir != KUBUF_RING_TO_DEV) ||
	    q.stream > KUBUF_STREAM_DONE ||
	    (q.dir == KUBUF_RING_TO_DEV && (q.stream || q.dropped ||
					    q.room_wakeups)))
		fuzz_fail("RING_QUERY %u: bad answer: state %u error %u dir %u stream %u",
			  id, q.state, q.error, q.dir, q.stream);
}

/*
 * The application's side of a ring in a registration: consume what is
 * there, or scribble random words over it while the device uses it.
 */
void op_ring_touch(int op)
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
				kubuf_ring_cons_next(&v);
		kubuf_ring_cons_release(&v);
	}
	log_end(e, 0, 0);
	count(op, 0);
}

/* How long stopping a stream, or closing its file, may take. */
#define FLOOD_STOP_S	2.0

static const int E_FLOOD_SETUP[] = { EMFILE, ENOSPC, EDQUOT, ENOMEM, 0 };

static int flood_query(int fd, uint32_t id, struct kubuf_ring_query *q)
{
	kt_poison(q, sizeof(*q));
	q->id = id;
	q->flags = 0;
	return ioctl(fd, KUBUF_IOC_RING_QUERY, q);
}

/*
 * A stream nobody consumes, at a rate from the boundaries (up to
 * KUBUF_STREAM_MAX_RATE, and beyond, which is -EINVAL), that never ends
 * (count 0, or 2^63 and more), into a small ring of a file of its own. It
 * must run without putting more records in the ring than fit, and stop
 * within FLOOD_STOP_S on STREAM_STOP, or on close() one time in three;
 * once stopped, its counters stay still.
 */
void op_stream_flood(int op)
{
	static const uint64_t counts[] = { 0, 1ULL << 63, ~0ULL - 1, ~0ULL };
	uint32_t data = KUBUF_RING_MIN_DATA << below(5);
	struct kubuf_kbuf_alloc a = {
		.size = 2 * PG, .flags = KUBUF_KBUF_APP_WRITE,
	};
	struct kubuf_ring_attach at = {
		.dir = KUBUF_RING_TO_APP, .kind = KUBUF_MEM_KBUF,
		.data_size = data, .eventfd = -1,
	};
	struct kubuf_stream st = { 0 };
	struct kubuf_ring_query q, q2;
	struct kubuf_id stop = { 0 };
	bool lossless = one_in(3), by_close = one_in(3);
	struct log_ent *e = log_begin(op, "setup, ring data %u", data);
	uint64_t cap;
	double t0, dt;
	int fd = kt_open_dev(O_RDWR);
	long ret;

	if (fd < 0)
		goto setup_failed;
	ret = ioctl(fd, KUBUF_IOC_KBUF_ALLOC, &a);
	if (ret)
		goto setup_failed;
	at.mem_id = a.id;
	if (below(2))
		at.flags = KUBUF_RING_BUSY_POLL;
	else
		at.wake_records = 1 + below(64);
	ret = ioctl(fd, KUBUF_IOC_RING_ATTACH, &at);
	if (ret)
		goto setup_failed;

	st.ring_id = at.id;
	st.flags = lossless ? KUBUF_STREAM_LOSSLESS : 0;
	st.rec_size = below(64);
	st.seed = rnd();
	st.rate = bound_value(64, KUBUF_STREAM_MAX_RATE,
			      BOUND_LIMITS(1000000));
	st.count = counts[below(4)];
	cap = data / kubuf_rec_size(sizeof(struct kubuf_stream_rec) +
				    st.rec_size);
	snprintf(e->args, sizeof(e->args),
		 "ring %u data %u rec %u rate %llu count %#llx%s, stop by %s",
		 at.id, data, st.rec_size, (unsigned long long)st.rate,
		 (unsigned long long)st.count, lossless ? " lossless" : "",
		 by_close ? "close" : "STREAM_STOP");
	ret = ioctl(fd, KUBUF_IOC_STREAM_START, &st);
	if (st.rate > KUBUF_STREAM_MAX_RATE || (!st.rate && !lossless)) {
		expect_errno(e, ret, EINVAL);
		count(op, ret);
		close(fd);
		return;
	}
	if (ret) {
		expect(e, ret, (const int[]){ ENOMEM, 0 });
		count(op, ret);
		close(fd);
		return;
	}
	kt_msleep(below(50));
	if (flood_query(fd, at.id, &q))
		fuzz_fail("stream flood: RING_QUERY: %s", strerror(errno));
	if (q.state != KUBUF_RING_ACTIVE || q.stream != KUBUF_STREAM_RUNNING ||
	    q.records > cap || (lossless && q.dropped))
		fuzz_fail("stream flood: state %u stream %u, %llu records (room for %llu), %llu dropped",
			  q.state, q.stream, (unsigned long long)q.records,
			  (unsigned long long)cap,
			  (unsigned long long)q.dropped);

	t0 = kt_now();
	if (by_close) {
		close(fd);
		dt = kt_now() - t0;
		if (dt > FLOOD_STOP_S)
			fuzz_fail("stream flood: close() took %.2f s", dt);
		log_end(e, 0, 0);
		count(op, 0);
		return;
	}
	stop.id = at.id;
	ret = ioctl(fd, KUBUF_IOC_STREAM_STOP, &stop);
	dt = kt_now() - t0;
	if (ret)
		fuzz_fail("stream flood: STREAM_STOP: %s", strerror(errno));
	if (dt > FLOOD_STOP_S)
		fuzz_fail("stream flood: STREAM_STOP took %.2f s", dt);
	if (flood_query(fd, at.id, &q))
		fuzz_fail("stream flood: RING_QUERY: %s", strerror(errno));
	kt_msleep(10);
	if (flood_query(fd, at.id, &q2))
		fuzz_fail("stream flood: RING_QUERY: %s", strerror(errno));
	if (q.stream != KUBUF_STREAM_IDLE || q.records > cap ||
	    q2.records != q.records || q2.dropped != q.dropped)
		fuzz_fail("stream flood: stopped, stream %u, records %llu then %llu (room for %llu), dropped %llu then %llu",
			  q.stream, (unsigned long long)q.records,
			  (unsigned long long)q2.records,
			  (unsigned long long)cap,
			  (unsigned long long)q.dropped,
			  (unsigned long long)q2.dropped);
	close(fd);
	log_end(e, 0, 0);
	count(op, 0);
	return;

setup_failed:
	ret = -1;
	expect(e, ret, E_FLOOD_SETUP);
	count(op, ret);
	if (fd >= 0)
		close(fd);
}
