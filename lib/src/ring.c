// SPDX-License-Identifier: MIT
/*
 * libkubuf: this process's end of a shared ring.
 *
 * The ring protocol is <kubuf/ring.h>, used here as it is: this file
 * only adds what a process needs around it, the system calls that attach,
 * wait, kick and query, and the counters of those calls.
 *
 * Sleeping on a TO_APP ring costs one system call. The library gives the
 * device an eventfd of its own and registers it, edge-triggered
 * (EPOLLET), in an epoll instance of its own. An edge-triggered epoll
 * item is queued each time the eventfd is signalled, whatever its
 * counter holds, and epoll_wait() takes it off the queue: so a wait is a
 * single epoll_wait(), and the eventfd is never read. Its counter just
 * counts the wakeups (the kernel saturates it; it cannot wrap). A wakeup
 * that arrives after the consumer stopped waiting stays queued and makes
 * the next epoll_wait() return at once: a spurious return, which costs
 * one extra call and nothing else, since every wait looks at the ring
 * again before and after sleeping.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/eventfd.h>

#include "internal.h"

_Static_assert(sizeof(struct kubuf_ring_ctl) == KUBUF_RING_CTL_SIZE,
	       "kubuf_ring_ctl layout");
_Static_assert(sizeof(struct kubuf_rec) == 8, "kubuf_rec layout");
_Static_assert(sizeof(struct kubuf_ring_attach) == 64, "kubuf_ring_attach layout");
_Static_assert(sizeof(struct kubuf_ring_query) == 72, "kubuf_ring_query layout");
_Static_assert(sizeof(struct kubuf_ring_cmd) == 40, "kubuf_ring_cmd layout");
/* The library's own structures the caller allocates: frozen sizes. */
_Static_assert(sizeof(struct kubuf_ring_counters) == 128, "kubuf_ring_counters size");
_Static_assert(sizeof(struct kubuf_ring_opts) == 56, "kubuf_ring_opts size");

/* A busy-polling wait yields the processor after this many empty looks. */
#define KUBUF_RING_SPINS	1024

static void ring_free(struct kubuf_ring *r)
{
	if (r->epfd >= 0)
		close(r->epfd);
	if (r->efd >= 0)
		close(r->efd);
	free(r);
}

/* The eventfd the device signals and the epoll fd a wait sleeps in. */
static int ring_make_fds(struct kubuf_ring *r)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };

	r->cnt.syscalls++;
	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->efd < 0)
		return -errno;
	r->cnt.syscalls++;
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0)
		return -errno;
	r->cnt.syscalls++;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->efd, &ev) < 0)
		return -errno;
	return 0;
}

/*
 * Options as the caller was built (libbpf's rule): the whole structure
 * this library knows, and past it only zeros, which a newer caller's
 * fields this library does not know must be.
 */
static int ring_opts_check(const struct kubuf_ring_opts *o)
{
	size_t i;

	if (!o || o->sz < sizeof(*o))
		return -EINVAL;
	for (i = sizeof(*o); i < o->sz; i++)
		if (((const unsigned char *)o)[i])
			return -EOPNOTSUPP;
	return 0;
}

KUBUF_API int kubuf_ring_attach(struct kubuf *k, void *ring_addr,
				const struct kubuf_ring_opts *o,
				struct kubuf_ring **rp)
{
	struct kubuf_ring_attach a;
	struct kubuf_ring *r;
	int ret;

	ret = ring_opts_check(o);
	if (ret)
		return ret;
	/* The module checks the ring's place in the buffer; this its view. */
	if (!ring_addr || (uintptr_t)ring_addr % KUBUF_RING_ALIGN)
		return -EINVAL;
	if (o->dir != KUBUF_RING_TO_APP && o->dir != KUBUF_RING_TO_DEV)
		return -EINVAL;
	if (o->reply_ring && (o->dir != KUBUF_RING_TO_DEV ||
			      o->reply_ring->dir != KUBUF_RING_TO_APP))
		return -EINVAL;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->fd = k->fd;
	r->dir = o->dir;
	r->flags = o->flags;
	r->efd = -1;
	r->epfd = -1;

	memset(&a, 0, sizeof(a));
	a.dir = o->dir;
	a.flags = o->flags;
	a.kind = o->kind;
	a.mem_id = o->mem_id;
	a.offset = o->offset;
	a.data_size = o->data_size;
	a.eventfd = -1;
	if (o->dir == KUBUF_RING_TO_APP && !(o->flags & KUBUF_RING_BUSY_POLL)) {
		ret = ring_make_fds(r);
		if (ret)
			goto err_free;
		a.eventfd = r->efd;
		a.wake_records = o->wake_records ? o->wake_records : 1;
		a.wake_usecs = o->wake_usecs;
	}
	if (o->reply_ring)
		a.reply_id = o->reply_ring->id;
	ret = kubuf_ring_ioctl(r, KUBUF_IOC_RING_ATTACH, &a);
	if (ret)
		goto err_free;
	r->id = a.id;
	/* The module reset the control block: both sides start at 0. */
	kubuf_ring_view_init(&r->view, ring_addr, o->data_size);
	*rp = r;
	return 0;

err_free:
	ring_free(r);
	return ret;
}

/* kubuf_ring_create()'s memory: @len bytes of @kind, at *@addr. */
static int ring_mem_new(struct kubuf *k, uint32_t kind, size_t len,
			void **addr, uint32_t *id)
{
	int ret;

	if (kind == KUBUF_MEM_KBUF) {
		ret = kubuf_kbuf_alloc(k, len, KUBUF_KBUF_PAGES,
				       KUBUF_CACHE_CACHED, KUBUF_KBUF_APP_WRITE,
				       id, NULL);
		if (ret)
			return ret;
		ret = kubuf_kbuf_map(k, *id, 0, len, PROT_READ | PROT_WRITE,
				     addr);
		if (ret)
			kubuf_kbuf_free(k, *id);
		return ret;
	}
	if (kind != KUBUF_MEM_UBUF)
		return -EINVAL;
	*addr = mmap(NULL, len, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (*addr == MAP_FAILED)
		return -errno;
	ret = kubuf_ubuf_register(k, *addr, len, KUBUF_ACCESS_DEV_READ |
				  KUBUF_ACCESS_DEV_WRITE, id);
	if (ret)
		munmap(*addr, len);
	return ret;
}

/* Give kubuf_ring_create()'s memory back: 0 or the first error. */
static int ring_mem_free(struct kubuf *k, uint32_t kind, uint32_t id,
			 void *addr, size_t len)
{
	int ret, ret2;

	if (kind == KUBUF_MEM_KBUF) {
		ret = kubuf_kbuf_free(k, id);
		ret2 = kubuf_kbuf_unmap(addr, len);
	} else {
		ret = kubuf_ubuf_unregister(k, id);
		ret2 = munmap(addr, len) ? -errno : 0;
	}
	return ret ? ret : ret2;
}

KUBUF_API int kubuf_ring_create(struct kubuf *k,
				const struct kubuf_ring_opts *o,
				struct kubuf_ring **rp)
{
	long page = sysconf(_SC_PAGESIZE);
	struct kubuf_ring_opts a;
	uint32_t id;
	size_t len;
	void *mem;
	int ret;

	ret = ring_opts_check(o);
	if (ret)
		return ret;
	if (o->mem_id || o->offset || o->data_size < KUBUF_RING_MIN_DATA ||
	    o->data_size > KUBUF_RING_MAX_DATA ||
	    (o->data_size & (o->data_size - 1)))
		return -EINVAL;
	len = (KUBUF_RING_CTL_SIZE + (size_t)o->data_size + page - 1) &
	      ~(size_t)(page - 1);
	ret = ring_mem_new(k, o->kind, len, &mem, &id);
	if (ret)
		return ret;
	a = *o;
	a.sz = sizeof(a);
	a.mem_id = id;
	ret = kubuf_ring_attach(k, mem, &a, rp);
	if (ret) {
		ring_mem_free(k, o->kind, id, mem, len);
		return ret;
	}
	(*rp)->k = k;
	(*rp)->mem = mem;
	(*rp)->mem_len = len;
	(*rp)->mem_kind = o->kind;
	(*rp)->mem_id = id;
	/* Making the memory: two calls, and an ioctl among them. */
	(*rp)->cnt.syscalls += 2;
	(*rp)->cnt.ioctls++;
	return 0;
}

KUBUF_API int kubuf_ring_detach(struct kubuf_ring *r)
{
	struct kubuf_id arg = { .id = r->id };
	int ret, ret2 = 0;

	ret = kubuf_ioctl(r->fd, KUBUF_IOC_RING_DETACH, &arg);
	if (r->mem)
		ret2 = ring_mem_free(r->k, r->mem_kind, r->mem_id, r->mem,
				     r->mem_len);
	ring_free(r);
	return ret ? ret : ret2;
}

KUBUF_API uint32_t kubuf_ring_id(const struct kubuf_ring *r)
{
	return r->id;
}

KUBUF_API void *kubuf_ring_addr(const struct kubuf_ring *r)
{
	return r->view.ctl;
}

KUBUF_API unsigned int kubuf_ring_error(const struct kubuf_ring *r)
{
	return r->view.err;
}

KUBUF_API void kubuf_ring_counters(const struct kubuf_ring *r,
				   struct kubuf_ring_counters *c)
{
	*c = r->cnt;
}

KUBUF_API int kubuf_ring_query(struct kubuf_ring *r, struct kubuf_ring_query *q)
{
	memset(q, 0, sizeof(*q));
	q->id = r->id;
	return kubuf_ring_ioctl(r, KUBUF_IOC_RING_QUERY, q);
}

KUBUF_API int kubuf_ring_fd(const struct kubuf_ring *r)
{
	return r->epfd >= 0 ? r->epfd : -EINVAL;
}

/* --- consumer ------------------------------------------------------------ */

/* The consumer is no longer waiting; take a wakeup it may have had. */
static void ring_disarm(struct kubuf_ring *r, int drain)
{
	struct epoll_event ev;

	kubuf_ring_cons_done_wait(&r->view);
	r->armed = 0;
	if (drain) {
		r->cnt.waits++;
		r->cnt.syscalls++;
		if (epoll_wait(r->epfd, &ev, 1, 0) > 0)
			r->cnt.wakeups++;
	}
}

/*
 * Release what was consumed (pair (2)); if the device waits for room and
 * now has it, kick it (pair (4)), once for each room it asks for. A kick
 * that fails changes nothing for the records: the device is going away,
 * and the next call says so.
 */
static void ring_release(struct kubuf_ring *r)
{
	struct kubuf_id arg = { .id = r->id };
	__u64 room = kubuf_ring_cons_release_mb(&r->view);

	if (!kubuf_ring_room_due(r->view.pos, room) || room == r->room_kicked)
		return;
	r->room_kicked = room;
	r->cnt.kicks++;
	kubuf_ring_ioctl(r, KUBUF_IOC_RING_KICK, &arg);
}

KUBUF_API int kubuf_ring_consume(struct kubuf_ring *r, kubuf_ring_cb cb,
				 void *arg, unsigned int max)
{
	struct kubuf_ring_view *v = &r->view;
	__u64 start = v->pos;
	struct kubuf_rec rec;
	const void *p;
	int n = 0, ret = 0;

	if (r->dir != KUBUF_RING_TO_APP)
		return -EINVAL;
	/*
	 * Armed by kubuf_ring_arm(): the caller's loop may have been woken
	 * through the fd; take that wakeup off the epoll queue, or the fd
	 * would stay readable.
	 */
	if (r->armed)
		ring_disarm(r, 1);
	if (kubuf_ring_cons_avail(v) < 0)
		return -EPROTO;
	while (!max || (unsigned int)n < max) {
		p = kubuf_ring_cons_peek(v, &rec, (__u32)v->size);
		if (!p)
			break;
		ret = cb(arg, &rec, p);
		if (ret < 0)
			break;
		kubuf_ring_cons_next(v);
		r->cnt.records++;
		r->cnt.bytes += rec.len;
		if (++n == 0x7fffffff)
			break;
	}
	/* One release for the whole batch (pair (2)); padding counts too. */
	if (v->pos != start)
		ring_release(r);
	if (v->err)
		return -EPROTO;
	return ret < 0 ? ret : n;
}

KUBUF_API int kubuf_ring_arm(struct kubuf_ring *r)
{
	long long avail;

	if (r->dir != KUBUF_RING_TO_APP || r->epfd < 0)
		return -EINVAL;
	avail = kubuf_ring_cons_prepare_wait(&r->view);
	if (avail == 0) {
		r->armed = 1;
		return 0;
	}
	/* Records came, or the ring is broken: not waiting after all. */
	kubuf_ring_cons_done_wait(&r->view);
	return avail < 0 ? -EPROTO : 1;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Busy-poll: look again and again; no wakeup ever comes. */
static int ring_spin(struct kubuf_ring *r, int timeout_ms)
{
	long long end = timeout_ms < 0 ? 0 : now_ms() + timeout_ms;
	long long avail;
	unsigned int i;

	for (;;) {
		for (i = 0; i < KUBUF_RING_SPINS; i++) {
			avail = kubuf_ring_cons_avail(&r->view);
			if (avail)
				return avail < 0 ? -EPROTO : 1;
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
		}
		if (timeout_ms >= 0 && now_ms() >= end)
			return 0;
		r->cnt.yields++;
		r->cnt.syscalls++;
		sched_yield();
	}
}

KUBUF_API int kubuf_ring_wait(struct kubuf_ring *r, int timeout_ms)
{
	struct epoll_event ev;
	long long avail;
	int ret;

	if (r->dir != KUBUF_RING_TO_APP)
		return -EINVAL;
	avail = kubuf_ring_cons_avail(&r->view);
	if (avail)
		return avail < 0 ? -EPROTO : 1;
	if (r->flags & KUBUF_RING_BUSY_POLL)
		return ring_spin(r, timeout_ms);

	/* The sleep protocol: waiting, look again, sleep, done (pair (3)). */
	if (!r->armed) {
		ret = kubuf_ring_arm(r);
		if (ret)
			return ret;
	}
	r->cnt.waits++;
	r->cnt.syscalls++;
	ret = epoll_wait(r->epfd, &ev, 1, timeout_ms);
	if (ret < 0)
		ret = -errno;
	else if (ret > 0)
		r->cnt.wakeups++;
	ring_disarm(r, 0);
	if (ret < 0)
		return ret;
	avail = kubuf_ring_cons_avail(&r->view);
	if (avail)
		return avail < 0 ? -EPROTO : 1;
	return 0;
}

/* --- producer ------------------------------------------------------------ */

/* Queue a record made of two pieces, @a then @b. */
static int ring_produce2(struct kubuf_ring *r, uint16_t type,
			 const void *a, uint32_t alen,
			 const void *b, uint32_t blen)
{
	struct kubuf_ring_view *v = &r->view;
	uint32_t len = alen + blen;
	unsigned char *p;

	if (r->dir != KUBUF_RING_TO_DEV || type == KUBUF_REC_PAD)
		return -EINVAL;
	if (len < alen || kubuf_rec_size(len) > v->size)
		return -EMSGSIZE;
	p = kubuf_ring_prod_reserve(v, len, type);
	if (!p)
		return v->err ? -EPROTO : -EAGAIN;
	if (alen)
		memcpy(p, a, alen);
	if (blen)
		memcpy(p + alen, b, blen);
	kubuf_ring_prod_commit(v);
	r->cnt.records++;
	r->cnt.bytes += len;
	return 0;
}

KUBUF_API int kubuf_ring_produce(struct kubuf_ring *r, uint16_t type,
				 const void *payload, uint32_t len)
{
	return ring_produce2(r, type, payload, len, NULL, 0);
}

KUBUF_API int kubuf_ring_cmd(struct kubuf_ring *r,
			     const struct kubuf_ring_cmd *c,
			     const void *echo, uint32_t echo_len)
{
	return ring_produce2(r, KUBUF_REC_CMD, c, sizeof(*c), echo, echo_len);
}

KUBUF_API int kubuf_ring_submit(struct kubuf_ring *r)
{
	struct kubuf_id arg = { .id = r->id };
	int ret;

	if (r->dir != KUBUF_RING_TO_DEV)
		return -EINVAL;
	if (r->view.err)
		return -EPROTO;
	if (!kubuf_ring_prod_pending(&r->view))
		return 0;
	/* Publish (pair (1)); the device said it sleeps (pair (3)): kick. */
	if (!kubuf_ring_prod_publish(&r->view))
		return 0;
	r->cnt.kicks++;
	ret = kubuf_ring_ioctl(r, KUBUF_IOC_RING_KICK, &arg);
	return ret ? ret : 1;
}
