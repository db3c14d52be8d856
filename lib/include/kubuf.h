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
#include <linux/kubuf_ring.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The version of this header; kubuf_version() says which library runs.
 * Within a major version, a program built against one minor version runs
 * with the library of any later one (the symbols it uses keep their
 * versions in libkubuf.so.1).
 */
#define KUBUF_LIB_MAJOR		0
#define KUBUF_LIB_MINOR		1
#define KUBUF_LIB_PATCH		0
#define KUBUF_LIB_VERSION_CODE(major, minor, patch) \
	(((major) << 16) | ((minor) << 8) | (patch))
#define KUBUF_LIB_VERSION	KUBUF_LIB_VERSION_CODE(KUBUF_LIB_MAJOR, \
					KUBUF_LIB_MINOR, KUBUF_LIB_PATCH)

/* The running library's version: KUBUF_LIB_VERSION_CODE() of it. */
unsigned int kubuf_version(void);
/* The same as a string, "0.1.0". */
const char *kubuf_version_string(void);

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

/*
 * Verify that @len bytes at @buf hold the device's pattern for @seed
 * (kubuf_pattern_byte()). 0 if they do; -EBADMSG if not, and then the
 * offset of the first wrong byte in *@bad unless @bad is NULL.
 */
int kubuf_pattern_check(const void *buf, size_t len, uint32_t seed,
			size_t *bad);

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

/*
 * Shared rings (<linux/kubuf_ring.h>): records between the device and the
 * application through memory both map, with almost no system calls.
 *
 * A struct kubuf_ring is this process's end of one ring: the library's
 * private view of it (what it trusts), the ring's id, and for a TO_APP
 * ring that sleeps, an eventfd and an epoll fd. The ring itself lives in
 * a registration or a driver buffer the caller set up. A ring handle is
 * used by one thread at a time; the kubuf handle must outlive it.
 *
 * Consuming (TO_APP):
 *
 *	for (;;) {
 *		n = kubuf_ring_consume(r, cb, arg, 0);	// no system call
 *		if (n == 0)
 *			n = kubuf_ring_wait(r, -1);	// one epoll_wait()
 *		if (n < 0)
 *			break;				// -EPROTO, ...
 *	}
 *
 * In the caller's own event loop, use kubuf_ring_fd():
 *
 *	if (kubuf_ring_arm(r) == 0)	// say "waiting"; 0: nothing there
 *		poll / epoll_wait on kubuf_ring_fd(r) with the loop's others
 *	kubuf_ring_consume(r, cb, arg, 0);	// ends the wait
 *
 * Producing (TO_DEV): kubuf_ring_produce() or kubuf_ring_cmd() queue
 * records (nothing is visible yet); kubuf_ring_submit() publishes them
 * and kicks the device only if it said it is waiting.
 */
struct kubuf_ring;

/**
 * struct kubuf_ring_opts - what kubuf_ring_attach() makes of the memory.
 * @sz:		sizeof(struct kubuf_ring_opts) as the caller was built with:
 *		KUBUF_RING_OPTS() sets it. A later library knows an older,
 *		smaller structure; a caller's larger one works with an older
 *		library as long as the fields that library does not know are
 *		zero (-EOPNOTSUPP otherwise).
 * @dir:	KUBUF_RING_TO_APP or KUBUF_RING_TO_DEV.
 * @flags:	TO_APP: KUBUF_RING_BUSY_POLL (no eventfd, no wakeups: the
 *		consumer spins) or 0.
 * @kind:	KUBUF_MEM_UBUF or KUBUF_MEM_KBUF.
 * @mem_id:	the registration's or driver buffer's id.
 * @offset:	where the ring starts in that buffer.
 * @data_size:	bytes of the data area, a power of two.
 * @wake_records: TO_APP, not busy-poll: wake after this many records
 *		(0: 1).
 * @wake_usecs:	TO_APP, not busy-poll: or after the oldest waited this
 *		long (0: no time limit).
 * @reply_ring:	TO_DEV: the TO_APP ring for completions, or NULL.
 */
struct kubuf_ring_opts {
	size_t sz;
	uint32_t dir;
	uint32_t flags;
	uint32_t kind;
	uint32_t mem_id;
	uint64_t offset;
	uint32_t data_size;
	uint32_t wake_records;
	uint32_t wake_usecs;
	struct kubuf_ring *reply_ring;
};

/*
 * Declare @name, options of this header's size with the fields given:
 *   KUBUF_RING_OPTS(o, .dir = KUBUF_RING_TO_APP, .data_size = 65536);
 */
#define KUBUF_RING_OPTS(name, ...)					\
	struct kubuf_ring_opts name = {					\
		.sz = sizeof(struct kubuf_ring_opts), __VA_ARGS__	\
	}

/**
 * struct kubuf_ring_counters - what the library did for one ring.
 * @records:	records consumed (TO_APP) or produced (TO_DEV).
 * @bytes:	their payload bytes.
 * @syscalls:	every system call the library made for the ring, from
 *		attach on: the sum of the four below and the set-up calls.
 * @ioctls:	ioctls on the ring: attach, query, stream, kicks.
 * @waits:	epoll_wait() calls (waits and the drains after arm).
 * @yields:	sched_yield() calls of a busy-polling wait.
 * @kicks:	KUBUF_IOC_RING_KICK calls (also counted in @ioctls): TO_DEV,
 *		commands published to a device that sleeps; TO_APP, room
 *		released for a device that waits for it.
 * @wakeups:	waits that returned with the device's wakeup.
 * @reserved:	zero: room for counters a later library adds, without a
 *		change of size (the caller allocates the structure).
 */
struct kubuf_ring_counters {
	uint64_t records;
	uint64_t bytes;
	uint64_t syscalls;
	uint64_t ioctls;
	uint64_t waits;
	uint64_t yields;
	uint64_t kicks;
	uint64_t wakeups;
	uint64_t reserved[8];
};

/*
 * Attach a ring in memory of @k (KUBUF_IOC_RING_ATTACH); @ring_addr is the
 * caller's address of it (the buffer's address plus @o->offset). Errors as
 * KUBUF_IOC_RING_ATTACH, -EINVAL for a bad @o, -ENOMEM, or the errno of
 * eventfd() or epoll_create1().
 */
int kubuf_ring_attach(struct kubuf *k, void *ring_addr,
		      const struct kubuf_ring_opts *o, struct kubuf_ring **rp);
/*
 * A ring in memory of its own: the library makes the memory (@o->kind
 * KUBUF_MEM_KBUF: a driver buffer of pages, mapped; KUBUF_MEM_UBUF:
 * anonymous memory, registered), attaches the ring at its start, and
 * kubuf_ring_detach() gives it all back. @o->mem_id and @o->offset must
 * be 0. Errors as kubuf_ring_attach(), -EINVAL for a @o->data_size that
 * is not a power of two in [KUBUF_RING_MIN_DATA, KUBUF_RING_MAX_DATA],
 * or those of making the memory (KUBUF_IOC_KBUF_ALLOC and mmap(), or
 * mmap() and KUBUF_IOC_UBUF_REGISTER: -ENOMEM past RLIMIT_MEMLOCK...).
 */
int kubuf_ring_create(struct kubuf *k, const struct kubuf_ring_opts *o,
		      struct kubuf_ring **rp);
/*
 * Detach (KUBUF_IOC_RING_DETACH) and free the handle, whatever it returns;
 * for a ring of kubuf_ring_create(), free its memory too. 0, or the first
 * error of those calls.
 */
int kubuf_ring_detach(struct kubuf_ring *r);
/* The ring's id, for raw ioctls. */
uint32_t kubuf_ring_id(const struct kubuf_ring *r);
/* Where the ring is in this process: its control block, then its data. */
void *kubuf_ring_addr(const struct kubuf_ring *r);

/*
 * For each record available (at most @max; 0: no limit), calls
 * cb(@arg, header, payload), with the payload whole and contiguous, then
 * releases all of them to the producer at once. Returns the number of
 * records consumed; the callback's negative return, which stops with that
 * record not consumed; or -EPROTO when the producer broke the ring
 * (kubuf_ring_error() says which check failed; the ring is not used
 * again). -EINVAL on a TO_DEV ring.
 */
typedef int (*kubuf_ring_cb)(void *arg, const struct kubuf_rec *rec,
			     const void *payload);
int kubuf_ring_consume(struct kubuf_ring *r, kubuf_ring_cb cb, void *arg,
		       unsigned int max);

/*
 * Sleep until records are available, at most @timeout_ms (-1: no limit).
 * Returns > 0 when there are records to consume, 0 when it returned
 * without any: the timeout passed, or the device signalled a change of
 * state (the ring left ACTIVE, its stream finished: kubuf_ring_query()),
 * or, rarely, a late wakeup; -EINTR, -EPROTO, -EINVAL (a TO_DEV ring).
 * A busy-poll ring spins, yielding the processor now and then.
 */
int kubuf_ring_wait(struct kubuf_ring *r, int timeout_ms);
/*
 * For the caller's own loop: say "waiting" to the device. Returns > 0 if
 * records are already there (not waiting: consume them), 0 if the caller
 * may now sleep until kubuf_ring_fd() is readable, -EPROTO, -EINVAL.
 */
int kubuf_ring_arm(struct kubuf_ring *r);
/* The fd readable after a wakeup (an epoll fd); -EINVAL if the ring has none. */
int kubuf_ring_fd(const struct kubuf_ring *r);

/*
 * Queue a record of @len payload bytes and @type (not KUBUF_REC_PAD) in a
 * TO_DEV ring. -EAGAIN when the ring is full now (consume completions,
 * submit, and retry), -EMSGSIZE when it can never fit, -EPROTO when the
 * device broke the ring, -EINVAL.
 */
int kubuf_ring_produce(struct kubuf_ring *r, uint16_t type,
		       const void *payload, uint32_t len);
/* Queue the command @c, followed by @echo_len bytes of @echo (ECHO). */
int kubuf_ring_cmd(struct kubuf_ring *r, const struct kubuf_ring_cmd *c,
		   const void *echo, uint32_t echo_len);
/*
 * Publish what was queued, and kick the device (KUBUF_IOC_RING_KICK) only
 * if it said it is waiting. Returns 1 if it kicked, 0, or -errno.
 */
int kubuf_ring_submit(struct kubuf_ring *r);

/* The ring's state as the module sees it (KUBUF_IOC_RING_QUERY). */
int kubuf_ring_query(struct kubuf_ring *r, struct kubuf_ring_query *q);
/* KUBUF_RING_ERR_* of the check that failed on this side, or 0. */
unsigned int kubuf_ring_error(const struct kubuf_ring *r);
/* What the library did for this ring so far. */
void kubuf_ring_counters(const struct kubuf_ring *r,
			 struct kubuf_ring_counters *c);

/*
 * The simulated device's stream into a TO_APP ring: @s as for
 * KUBUF_IOC_STREAM_START, its ring_id ignored (the ring's is used).
 */
int kubuf_stream_start(struct kubuf_ring *r, const struct kubuf_stream *s);
int kubuf_stream_stop(struct kubuf_ring *r);

/**
 * struct kubuf_stream_check - the verifier of a stream's records.
 * @seed:	the stream's seed.
 * @rec_size:	the stream's data bytes per record.
 * @next_seq:	the sequence number expected next.
 * @records:	valid records seen.
 * @bytes:	their data bytes.
 * @missing:	sequence numbers skipped (dropped by the device).
 * @corrupt:	records that were not valid (see kubuf_stream_verify()).
 * @reserved:	zero (kubuf_stream_check_init()): room to grow.
 */
struct kubuf_stream_check {
	uint32_t seed;
	uint32_t rec_size;
	uint64_t next_seq;
	uint64_t records;
	uint64_t bytes;
	uint64_t missing;
	uint64_t corrupt;
	uint64_t reserved[4];
};

/* Start checking a stream started with @seed and @rec_size. */
void kubuf_stream_check_init(struct kubuf_stream_check *c, uint32_t seed,
			     uint32_t rec_size);
/*
 * Check one record of the stream: a KUBUF_REC_STREAM of the stream's size
 * whose sequence number is the next one or later (the gap counted in
 * @c->missing), whose checksum is kubuf_stream_csum_start(seq) continued
 * with kubuf_checksum() over the data, and whose data byte i is
 * kubuf_pattern_byte(seed + seq, i). Returns 0, or -EBADMSG (counted in
 * @c->corrupt) for a record that is not all of these.
 */
int kubuf_stream_verify(struct kubuf_stream_check *c,
			const struct kubuf_rec *rec, const void *payload);

#ifdef __cplusplus
}
#endif

#endif /* KUBUF_LIB_H */
