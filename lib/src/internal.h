/* SPDX-License-Identifier: MIT */
/*
 * libkubuf: what the library's source files share, and nothing else sees.
 */
#ifndef KUBUF_LIB_INTERNAL_H
#define KUBUF_LIB_INTERNAL_H

#include <errno.h>
#include <sys/ioctl.h>

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

#endif /* KUBUF_LIB_INTERNAL_H */
