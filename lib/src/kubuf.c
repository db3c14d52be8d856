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

KUBUF_API int kubuf_ubuf_register(struct kubuf *k, void *addr, size_t len,
				  unsigned int access, uint32_t *id)
{
	struct kubuf_ubuf_reg reg;
	int ret;

	memset(&reg, 0, sizeof(reg));
	reg.addr = (uintptr_t)addr;
	reg.len = len;
	reg.access = access;
	ret = kubuf_ioctl(k->fd, KUBUF_IOC_UBUF_REGISTER, &reg);
	if (!ret)
		*id = reg.id;
	return ret;
}

KUBUF_API int kubuf_ubuf_unregister(struct kubuf *k, uint32_t id)
{
	struct kubuf_id arg = { .id = id };

	return kubuf_ioctl(k->fd, KUBUF_IOC_UBUF_UNREGISTER, &arg);
}

KUBUF_API int kubuf_ubuf_query(struct kubuf *k, uint32_t id,
			       struct kubuf_ubuf_query *q)
{
	memset(q, 0, sizeof(*q));
	q->id = id;
	return kubuf_ioctl(k->fd, KUBUF_IOC_UBUF_QUERY, q);
}

KUBUF_API int kubuf_set_eventfd(struct kubuf *k, int efd)
{
	struct kubuf_eventfd arg = { .fd = efd };

	if (efd == -1)
		arg.flags = KUBUF_EVENTFD_CLEAR;
	return kubuf_ioctl(k->fd, KUBUF_IOC_SET_EVENTFD, &arg);
}

KUBUF_API int kubuf_get_events(struct kubuf *k, uint32_t *pending)
{
	struct kubuf_events ev;
	int ret;

	memset(&ev, 0, sizeof(ev));
	ret = kubuf_ioctl(k->fd, KUBUF_IOC_GET_EVENTS, &ev);
	if (!ret)
		*pending = ev.pending;
	return ret;
}

KUBUF_API int kubuf_dev_cmd(struct kubuf *k, struct kubuf_dev_cmd *cmd)
{
	return kubuf_ioctl(k->fd, KUBUF_IOC_DEV_CMD, cmd);
}

static void dev_cmd_init(struct kubuf_dev_cmd *c, unsigned int op,
			 unsigned int kind, uint32_t id, uint64_t off,
			 uint64_t len)
{
	memset(c, 0, sizeof(*c));
	c->op = op;
	c->kind = kind;
	c->id = id;
	c->offset = off;
	c->len = len;
}

KUBUF_API int kubuf_dev_fill(struct kubuf *k, unsigned int kind, uint32_t id,
			     uint64_t off, uint64_t len, uint32_t seed)
{
	struct kubuf_dev_cmd c;

	dev_cmd_init(&c, KUBUF_DEV_FILL, kind, id, off, len);
	c.seed = seed;
	return kubuf_dev_cmd(k, &c);
}

KUBUF_API int kubuf_dev_checksum(struct kubuf *k, unsigned int kind,
				 uint32_t id, uint64_t off, uint64_t len,
				 uint64_t *sum)
{
	struct kubuf_dev_cmd c;
	int ret;

	dev_cmd_init(&c, KUBUF_DEV_CHECKSUM, kind, id, off, len);
	ret = kubuf_dev_cmd(k, &c);
	if (!ret)
		*sum = c.result;
	return ret;
}

KUBUF_API int kubuf_dev_copy(struct kubuf *k, unsigned int kind, uint32_t id,
			     uint64_t off, unsigned int src_kind,
			     uint32_t src_id, uint64_t src_off, uint64_t len)
{
	struct kubuf_dev_cmd c;

	dev_cmd_init(&c, KUBUF_DEV_COPY, kind, id, off, len);
	c.src_kind = src_kind;
	c.src_id = src_id;
	c.src_offset = src_off;
	return kubuf_dev_cmd(k, &c);
}

KUBUF_API int kubuf_dev_reset(struct kubuf *k)
{
	struct kubuf_dev_cmd c;

	memset(&c, 0, sizeof(c));
	c.op = KUBUF_DEV_RESET;
	return kubuf_dev_cmd(k, &c);
}

static int ucopy(struct kubuf *k, unsigned int op, const void *buf,
		 size_t len, uint32_t seed, uint64_t *sum)
{
	struct kubuf_ucopy u;
	int ret;

	memset(&u, 0, sizeof(u));
	u.op = op;
	u.addr = (uintptr_t)buf;
	u.len = len;
	u.seed = seed;
	ret = kubuf_ioctl(k->fd, KUBUF_IOC_UCOPY, &u);
	if (!ret && sum)
		*sum = u.result;
	return ret;
}

KUBUF_API int kubuf_ucopy_fill(struct kubuf *k, void *buf, size_t len,
			       uint32_t seed)
{
	return ucopy(k, KUBUF_UCOPY_FILL, buf, len, seed, NULL);
}

KUBUF_API int kubuf_ucopy_checksum(struct kubuf *k, const void *buf,
				   size_t len, uint64_t *sum)
{
	return ucopy(k, KUBUF_UCOPY_CHECKSUM, buf, len, 0, sum);
}

KUBUF_API unsigned int kubuf_version(void)
{
	return KUBUF_LIB_VERSION;
}

KUBUF_API const char *kubuf_version_string(void)
{
	return KUBUF_VERSION;
}

KUBUF_API int kubuf_pattern_check(const void *buf, size_t len, uint32_t seed,
				  size_t *bad)
{
	const uint8_t *p = buf;
	size_t i = 0, k;

	/* Eight bytes at a time; the first wrong one found byte by byte. */
	for (k = 0; k < len / 8; k++)
		if (kubuf_stream_load(p + 8 * k) != kubuf_pattern_word(seed, k))
			break;
	for (i = 8 * k; i < len; i++)
		if (p[i] != kubuf_pattern_byte(seed, i)) {
			if (bad)
				*bad = i;
			return -EBADMSG;
		}
	return 0;
}

static const char *const stat_names[KUBUF_STAT_NR] = {
	[KUBUF_STAT_OPEN_FILES]		= "open_files",
	[KUBUF_STAT_UBUFS]		= "ubufs",
	[KUBUF_STAT_PINNED_PAGES]	= "pinned_pages",
	[KUBUF_STAT_KBUFS]		= "kbufs",
	[KUBUF_STAT_KBUF_PAGES]		= "kbuf_pages",
	[KUBUF_STAT_MAPPINGS]		= "mappings",
	[KUBUF_STAT_EVENTFD_REFS]	= "eventfd_refs",
	[KUBUF_STAT_RINGS]		= "rings",
	[KUBUF_STAT_CMDS]		= "cmds",
	[KUBUF_STAT_USERS]		= "users",
};

KUBUF_API const char *kubuf_stat_name(unsigned int stat)
{
	return stat < KUBUF_STAT_NR ? stat_names[stat] : NULL;
}

static const char *const feature_names[] = {
	"stats", "ubuf", "ucopy", "kbuf", "kbuf-dma", "kbuf-wc", "kbuf-uc",
	"events", "device", "ring", "stream", "stream-bare",
};

KUBUF_API const char *kubuf_feature_name(unsigned int bit)
{
	if (bit >= sizeof(feature_names) / sizeof(feature_names[0]))
		return NULL;
	return feature_names[bit];
}

