/* SPDX-License-Identifier: MIT */
/*
 * libkubuf: what the library's source files share, and nothing else sees.
 */
#ifndef KUBUF_LIB_INTERNAL_H
#define KUBUF_LIB_INTERNAL_H

#include <errno.h>
#include <sys/ioctl.h>

#include <kubuf/ring.h>

#include "kubuf.h"

/* Exported symbols; everything else is hidden (-fvisibility=hidden). */
#define KUBUF_API __attribute__((visibility("default")))

struct kubuf {
	int fd;
};

/* ioctl() returning 0 or -errno. */
static inline int kubuf_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

/*
 * One end of a ring (lib/src/ring.c). @view is all this side trusts;
 * @armed: the consumer told the device it is waiting (ctl->waiting set)
 * and has not yet said it is done.
 */
struct kubuf_ring {
	int fd;
	uint32_t id;
	uint32_t dir;
	uint32_t flags;
	int efd;
	int epfd;
	int armed;
	__u64 room_kicked;	/* TO_APP: the room value kicked for last */
	struct kubuf *k;	/* kubuf_ring_create(): the memory's owner */
	void *mem;		/* kubuf_ring_create(): its memory, or NULL */
	size_t mem_len;
	uint32_t mem_kind;
	uint32_t mem_id;
	struct kubuf_ring_view view;
	struct kubuf_ring_counters cnt;
};

/* An ioctl on a ring's file, counted in the ring's counters. */
static inline int kubuf_ring_ioctl(struct kubuf_ring *r, unsigned long cmd,
				   void *arg)
{
	r->cnt.ioctls++;
	r->cnt.syscalls++;
	return kubuf_ioctl(r->fd, cmd, arg);
}

#endif /* KUBUF_LIB_INTERNAL_H */
