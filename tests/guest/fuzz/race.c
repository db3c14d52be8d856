// SPDX-License-Identifier: MIT
/*
 * Threads: pollers that watch the device files the main thread closes and
 * replaces, and racers that work on one file at once.
 */
#include "fuzz.h"

volatile bool threads_stop;
char thread_failure[256];

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
void *poller(void *arg)
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

void op_race(int op)
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
