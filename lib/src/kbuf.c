// SPDX-License-Identifier: MIT
/*
 * libkubuf: technique 2, buffers the driver allocates and the application
 * maps.
 */
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

_Static_assert(sizeof(struct kubuf_kbuf_alloc) == 56, "kubuf_kbuf_alloc layout");

/* The module gives buffer id the offset window id << 28 (kubuf.h). */
#define KUBUF_KBUF_OFF_SHIFT	28

KUBUF_API int kubuf_kbuf_alloc(struct kubuf *k, uint64_t size, uint32_t kind,
			       uint32_t cache, uint32_t flags, uint32_t *id,
			       uint64_t *offset)
{
	struct kubuf_kbuf_alloc a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.size = size;
	a.kind = kind;
	a.cache = cache;
	a.flags = flags;
	ret = kubuf_ioctl(k->fd, KUBUF_IOC_KBUF_ALLOC, &a);
	if (ret)
		return ret;
	if (id)
		*id = a.id;
	if (offset)
		*offset = a.mmap_offset;
	return 0;
}

KUBUF_API int kubuf_kbuf_map(struct kubuf *k, uint32_t id, uint64_t off,
			     size_t len, int prot, void **addr)
{
	uint64_t base = (uint64_t)id << KUBUF_KBUF_OFF_SHIFT;
	void *p;

	if (off >= (1ULL << KUBUF_KBUF_OFF_SHIFT))
		return -EINVAL;
	p = mmap(NULL, len, prot, MAP_SHARED, k->fd, (off_t)(base + off));
	if (p == MAP_FAILED)
		return -errno;
	*addr = p;
	return 0;
}

KUBUF_API int kubuf_kbuf_unmap(void *addr, size_t len)
{
	return munmap(addr, len) < 0 ? -errno : 0;
}

KUBUF_API int kubuf_kbuf_free(struct kubuf *k, uint32_t id)
{
	struct kubuf_id arg = { .id = id };

	return kubuf_ioctl(k->fd, KUBUF_IOC_KBUF_FREE, &arg);
}
