// SPDX-License-Identifier: MIT
/*
 * Events: eventfds made, bound, replaced, cleared and closed; GET_EVENTS;
 * poll() on every device file.
 */
#include "fuzz.h"

int *efd_slot(bool live)
{
	int i, n = 0, *pick = NULL;

	for (i = 0; i < MAX_EFDS; i++)
		if ((W.efds[i] >= 0) == live && below(++n) == 0)
			pick = &W.efds[i];
	return pick;
}

/* The errno binding descriptor @fd must fail with, or 0 if it may work. */
static int eventfd_want(int fd)
{
	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return EBADF;
	return fd_is(fd, 'e') ? 0 : EINVAL;
}

/*
 * Boundaries: the descriptor number (bound_fd()), for binding and for
 * CLEAR; which errno it must get is found by looking at the number.
 */
void op_eventfd(int op)
{
	struct kubuf_eventfd a = { 0 };
	int i = slot_pick(), *efd, want = 0, fd;
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
		a.fd = bound_fd(a.fd);
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
		fd = bound_fd(a.fd);
		if (fd != a.fd) {
			a.fd = fd;
			want = eventfd_want(fd);
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

void op_get_events(int op)
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

void op_poll(int op)
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
