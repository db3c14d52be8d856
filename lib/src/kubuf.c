// SPDX-License-Identifier: MIT
/*
 * libkubuf: opening the device, queries, and small helpers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "internal.h"

/* The ABI's layouts, as the module pins them. */
_Static_assert(sizeof(struct kubuf_info) == 80, "kubuf_info layout");
_Static_assert(sizeof(struct kubuf_stats) == 264, "kubuf_stats layout");
_Static_assert(KUBUF_STAT_NR <= KUBUF_STATS_MAX, "kubuf_stats room");

KUBUF_API int kubuf_open(const char *path, unsigned int flags,
			 struct kubuf **kp)
{
	struct kubuf *k;
	int mode = O_RDWR;
	int err;

	if (flags & ~KUBUF_OPEN_RDONLY)
		return -EINVAL;
	if (flags & KUBUF_OPEN_RDONLY)
		mode = O_RDONLY;

	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->fd = open(path ? path : "/dev/" KUBUF_DEVICE_NAME, mode | O_CLOEXEC);
	if (k->fd < 0) {
		err = -errno;
		free(k);
		return err;
	}
	*kp = k;
	return 0;
}

KUBUF_API void kubuf_close(struct kubuf *k)
{
	if (!k)
		return;
	close(k->fd);
	free(k);
}

KUBUF_API int kubuf_fd(const struct kubuf *k)
{
	return k->fd;
}

KUBUF_API int kubuf_get_info(struct kubuf *k, struct kubuf_info *info)
{
	return kubuf_ioctl(k->fd, KUBUF_IOC_GET_INFO, info);
}

KUBUF_API int kubuf_get_stats(struct kubuf *k, struct kubuf_stats *stats)
{
	memset(stats, 0, sizeof(*stats));
	return kubuf_ioctl(k->fd, KUBUF_IOC_GET_STATS, stats);
}

static const char *const stat_names[KUBUF_STAT_NR] = {
	[KUBUF_STAT_OPEN_FILES]		= "open_files",
	[KUBUF_STAT_UBUFS]		= "ubufs",
	[KUBUF_STAT_PINNED_PAGES]	= "pinned_pages",
	[KUBUF_STAT_KBUFS]		= "kbufs",
	[KUBUF_STAT_KBUF_PAGES]		= "kbuf_pages",
	[KUBUF_STAT_MAPPINGS]		= "mappings",
	[KUBUF_STAT_EVENTFD_REFS]	= "eventfd_refs",
};

KUBUF_API const char *kubuf_stat_name(unsigned int stat)
{
	return stat < KUBUF_STAT_NR ? stat_names[stat] : NULL;
}

static const char *const feature_names[] = {
	"stats", "ubuf", "ucopy", "kbuf", "kbuf-dma", "kbuf-wc", "kbuf-uc",
	"events", "device",
};

KUBUF_API const char *kubuf_feature_name(unsigned int bit)
{
	if (bit >= sizeof(feature_names) / sizeof(feature_names[0]))
		return NULL;
	return feature_names[bit];
}

KUBUF_API int kubuf_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v = 0;
	unsigned int shift = 0;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned int d = *p - '0';

		if (v > (~0ULL - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (p == s)
		return -EINVAL;
	switch (*p) {
	case '\0':
		break;
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	default:
		return -EINVAL;
	}
	if (*p && p[1] != '\0')
		return -EINVAL;
	if (shift && v > (~0ULL >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}
