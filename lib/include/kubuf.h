/* SPDX-License-Identifier: MIT */
/*
 * libkubuf - the user-space side of kubuf.
 *
 * Conventions (as liburing): every function returns 0 or a positive value
 * on success and -errno on failure, and never relies on the global errno;
 * handles are opaque; the hot paths are static inline in this header.
 */
#ifndef KUBUF_LIB_H
#define KUBUF_LIB_H

#include <stddef.h>
#include <stdint.h>

#include <linux/kubuf.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kubuf;	/* an open /dev/kubuf */

/* Flags of kubuf_open(). */
#define KUBUF_OPEN_RDONLY	(1U << 0)	/* query-only descriptor */

/*
 * Open @path (NULL: /dev/kubuf). -ENOENT when the module is not loaded,
 * -EACCES without permission, -EINVAL for unknown @flags.
 */
int kubuf_open(const char *path, unsigned int flags, struct kubuf **kp);
/* Close the handle; whatever the module still holds for it is released. */
void kubuf_close(struct kubuf *k);
/* The device file descriptor, for poll()/epoll and raw ioctls. */
int kubuf_fd(const struct kubuf *k);

int kubuf_get_info(struct kubuf *k, struct kubuf_info *info);
int kubuf_get_stats(struct kubuf *k, struct kubuf_stats *stats);
/* Name of counter @stat ("open_files"...), or NULL if unknown. */
const char *kubuf_stat_name(unsigned int stat);
/* Name of feature bit number @bit ("stats"...), or NULL if unknown. */
const char *kubuf_feature_name(unsigned int bit);

/*
 * Technique 1: register [addr, addr + len) of this process's memory for
 * the device (@access: KUBUF_ACCESS_DEV_READ and/or _WRITE). Errors as
 * documented for KUBUF_IOC_UBUF_REGISTER in <linux/kubuf.h>.
 */
int kubuf_ubuf_register(struct kubuf *k, void *addr, size_t len,
			unsigned int access, uint32_t *id);
int kubuf_ubuf_unregister(struct kubuf *k, uint32_t id);
int kubuf_ubuf_query(struct kubuf *k, uint32_t id, struct kubuf_ubuf_query *q);

/* The shared event: bind an eventfd (-1 to clear), read pending events. */
int kubuf_set_eventfd(struct kubuf *k, int efd);
int kubuf_get_events(struct kubuf *k, uint32_t *pending);

/*
 * The simulated device. kind is KUBUF_MEM_UBUF or KUBUF_MEM_KBUF; the
 * device runs each command in its own context and these calls wait for
 * it (kubuf_dev_cmd() with KUBUF_DEV_NOWAIT does not).
 */
int kubuf_dev_cmd(struct kubuf *k, struct kubuf_dev_cmd *cmd);
int kubuf_dev_fill(struct kubuf *k, unsigned int kind, uint32_t id,
		   uint64_t off, uint64_t len, uint32_t seed);
int kubuf_dev_checksum(struct kubuf *k, unsigned int kind, uint32_t id,
		       uint64_t off, uint64_t len, uint64_t *sum);
int kubuf_dev_copy(struct kubuf *k, unsigned int kind, uint32_t id,
		   uint64_t off, unsigned int src_kind, uint32_t src_id,
		   uint64_t src_off, uint64_t len);
/* Revoke every registration of this handle, as a device reset does. */
int kubuf_dev_reset(struct kubuf *k);

/* The caller-context variant: the device touches @buf only in this call. */
int kubuf_ucopy_fill(struct kubuf *k, void *buf, size_t len, uint32_t seed);
int kubuf_ucopy_checksum(struct kubuf *k, const void *buf, size_t len,
			 uint64_t *sum);

/* Verify that @len bytes at @buf hold the device's pattern for @seed. */
int kubuf_pattern_check(const void *buf, size_t len, uint32_t seed);

/*
 * Parse a size such as "4096", "64K", "16M", "1G" (powers of 1024) into
 * *@out. -EINVAL for an empty, malformed or negative string, -ERANGE when
 * the value does not fit in 64 bits.
 */
int kubuf_parse_size(const char *s, uint64_t *out);

/*
 * Technique 2: buffers the driver allocates and the application maps.
 *
 * kubuf_kbuf_alloc() allocates @size bytes of @kind (KUBUF_KBUF_*) with
 * cache mode @cache (KUBUF_CACHE_*) and @flags (KUBUF_KBUF_APP_WRITE or
 * 0), and returns the buffer's id and mmap offset in *@id and *@offset
 * (either may be NULL); errors as KUBUF_IOC_KBUF_ALLOC.
 */
int kubuf_kbuf_alloc(struct kubuf *k, uint64_t size, uint32_t kind,
		     uint32_t cache, uint32_t flags, uint32_t *id,
		     uint64_t *offset);
/*
 * Map @len bytes of buffer @id from its byte @off (a multiple of the page
 * size) with @prot (PROT_READ, PROT_WRITE), shared, at *@addr. Errors as
 * mmap() of the device.
 */
int kubuf_kbuf_map(struct kubuf *k, uint32_t id, uint64_t off, size_t len,
		   int prot, void **addr);
/* munmap() a mapping made by kubuf_kbuf_map(). */
int kubuf_kbuf_unmap(void *addr, size_t len);
/* End the id; a mapped buffer stays until its last unmap. */
int kubuf_kbuf_free(struct kubuf *k, uint32_t id);

#ifdef __cplusplus
}
#endif

#endif /* KUBUF_LIB_H */
