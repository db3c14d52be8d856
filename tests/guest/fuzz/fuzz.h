/* SPDX-License-Identifier: MIT */
/*
 * What the fuzzer's files share: its limits, the state of one worker
 * process (W), the operation log, the errno sets and the helpers every
 * operation uses. main.c describes the whole; each other file holds the
 * operations of one area, and main.c's ops[] lists them all.
 */
#ifndef KUBUF_FUZZ_H
#define KUBUF_FUZZ_H

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include <linux/kubuf_ring.h>

#include "../harness.h"
#include "kubuf.h"

#define PG		4096UL
#define HUGE_PG		(2UL << 20)
#define RW		(KUBUF_ACCESS_DEV_READ | KUBUF_ACCESS_DEV_WRITE)
#define LOG_N		256		/* operations kept for the report */
#define LOG_SHOW	25		/* of which stderr shows the last */
#define MAX_PROCS	64
#define MAX_FDS		8
#define MAX_IDS		48
#define MAX_REGIONS	12
#define MAX_MAPS	12
#define MAX_EFDS	4
#define MAX_KIDS	4
#define REGION_BUDGET	(24UL << 20)	/* bytes of regions per process */
#define KBUF_BUDGET	(16UL << 20)	/* bytes of driver buffers */
#define KID_OPS		60		/* operations of a forked child */
#define GRACE_S		60		/* after the deadline, before "hung" */
#define RAMFS		"/tmp/kt_fuzz_ramfs"
#define KADDR		0xffff888000000000ULL
#define MAX_OPS		64		/* room in shared->per_op */

/* --- randomness (main.c) --------------------------------------------------- */

extern uint64_t rnd_state;

uint64_t rnd(void);
uint64_t below(uint64_t n);
bool one_in(unsigned int n);

/* --- the run, the log, failures (main.c) ----------------------------------- */

/* Counters every process adds to (a shared page). */
struct op_count {
	unsigned long calls, ok;
};

struct shared {
	unsigned long ops, checks, kids, kills;
	struct op_count per_op[MAX_OPS];
	int failed;
};

extern struct shared *shared;

struct log_ent {
	unsigned long seq;
	int op;
	long ret;
	int err;
	bool done;
	bool bounds;		/* its numbers drawn from the boundaries */
	char args[160];
};

/* Who this process is, for the report. */
struct fuzz_me {
	int worker;
	unsigned int generation;
	int depth;		/* 0: a worker; 1: a child it forked */
	uint64_t stream;	/* the seed of this process's stream */
	unsigned long ops;
};

extern struct fuzz_me me;

__attribute__((format(printf, 2, 3)))
struct log_ent *log_begin(int op, const char *fmt, ...);
long log_end(struct log_ent *e, long ret, int err);

__attribute__((noreturn, format(printf, 1, 2)))
void fuzz_fail(const char *fmt, ...);

/* The documented errnos of each call (include/uapi/linux/kubuf.h). */
extern const int E_OPEN[], E_REGISTER[], E_ID[], E_QUERY[], E_UCOPY[],
		 E_ALLOC[], E_DEV[], E_EVENTFD[], E_EVENTS[], E_MMAP[],
		 E_READ[], E_NOT_KUBUF[];

bool errno_in(int err, const int *set);
long expect(struct log_ent *e, long ret, const int *allowed);
void expect_errno(struct log_ent *e, long ret, int want);
void expect_fail(struct log_ent *e, long ret, const int *allowed);
int ladder_mode(int slot, bool needs_rdwr);
long expect_ladder(struct log_ent *e, long ret, int want,
		   const int *allowed);
void count(int op, long ret);

/* Each returns nothing: it logs, calls, and checks what it can know. */
struct fuzz_op {
	const char *name;
	unsigned int weight;
	void (*fn)(int op);
	bool kid_ok;		/* a forked child may run it */
};

void run_ops(unsigned long n);

/* --- the state of one worker ----------------------------------------------- */

enum region_kind {
	R_ANON, R_RO, R_NONE, R_HOLE, R_MEMFD, R_SHARED_ANON, R_HUGETLB,
	R_TMPFS_SHARED, R_RAMFS_SHARED, R_FILE_PRIVATE, R_NR
};

/*
 * A region: len bytes at addr, inside a reservation with a PROT_NONE guard
 * page (a huge page for hugetlb) on each side, so that no write the module
 * makes from an address in it, however long, reaches anything else.
 */
struct region {
	bool live;
	int kind;
	char *addr;
	size_t len;
	char *res;		/* the reservation, guards included */
	size_t res_len;
	int prot;
	bool touchable;		/* the fuzzer may read and write it */
	bool huge_given_back;	/* hugetlb, a page given back: never again */
	bool dontfork;
	int fd;			/* memfd / file, or -1 */
};

/* A mapping of a driver buffer, between guards too. */
struct map {
	bool live;
	char *addr;
	size_t len;
	char *res;
	size_t res_len;
	int prot;
	bool zapped;		/* MADV_DONTNEED: touching raises SIGBUS */
	bool dontfork;
};

struct fd_slot {
	bool live;
	int fd;
	int mode;		/* O_RDWR, O_RDONLY, O_WRONLY */
	bool shared;		/* another process may hold the file */
};

/* An id the fuzzer learned, on the file of slot fdi (it may be stale). */
struct id_ent {
	bool live;
	int fdi;
	uint32_t id;
	uint64_t off;		/* kbuf: the mmap offset */
	size_t len;		/* bytes */
	uint32_t flags;		/* kbuf flags / ubuf access */
};

/* The last slot is never closed: an O_RDWR fd for when no other is. */
#define SPARE	MAX_FDS

struct fuzz_state {
	struct fd_slot fds[MAX_FDS + 1];
	struct id_ent ubufs[MAX_IDS];
	struct id_ent kbufs[MAX_IDS];
	struct id_ent rings[MAX_IDS];	/* off: the ring's address, or 0 */
	struct region regions[MAX_REGIONS];
	struct map maps[MAX_MAPS];
	int efds[MAX_EFDS];
	pid_t kids[MAX_KIDS];
	bool kid_killed[MAX_KIDS];
	int sock[2];
	char *scratch;		/* data checks only: never registered */
	char *ro_arg;		/* a read-only page for arguments */
	char *race_args;	/* one read-only page of arguments per racer */
	size_t region_bytes, kbuf_bytes;
	struct kubuf_info info;
	bool have_hugetlb;
	uint32_t max_ubuf_id, max_kbuf_id, max_ring_id;
	dev_t dev_rdev;		/* of /dev/kubuf */
};

extern struct fuzz_state W;

/* --- boundary values (bounds.c) ------------------------------------------- */

#define BOUNDS_ONE_IN	4	/* operations drawing from the boundaries */

extern bool bounds_on;

void bounds_init(void);
bool bound_now(void);
uint64_t bound_value(unsigned int bits, uint64_t max, const uint64_t *lim,
		     unsigned int n);
uint64_t bound(uint64_t v, unsigned int bits, uint64_t max,
	       const uint64_t *lim, unsigned int n);
uint32_t bound_id(uint32_t id, uint32_t max_seen);
bool id_impossible(uint32_t id, bool kbuf);
int32_t bound_fd(int32_t fd);
uint64_t bound_addr(uint64_t addr);
bool addr_is_bad(uint64_t addr);

/* The field's other documented limits, as bound()'s @lim and @n. */
#define BOUND_LIMITS(...)						\
	(const uint64_t[]){ __VA_ARGS__ },				\
	(unsigned int)(sizeof((const uint64_t[]){ __VA_ARGS__ }) /	\
		       sizeof(uint64_t))

/* @v, or now and then a boundary value of a 64- or 32-bit field. */
#define BOUND64(v, max, ...)						\
	bound((v), 64, (max), BOUND_LIMITS(__VA_ARGS__))
#define BOUND32(v, max, ...)						\
	((uint32_t)bound((v), 32, (max), BOUND_LIMITS(__VA_ARGS__)))

/* --- memory the fuzzer owns (mem.c) ---------------------------------------- */

char *reserve(size_t len, size_t guard, char **res, size_t *res_len);
struct region *region_pick(void);
struct region *region_of(uint64_t addr, size_t len);

/* --- arguments (args.c) ---------------------------------------------------- */

uint64_t rand_len(void);
uint64_t rand_addr(uint64_t *len);
void *rand_argp(void *good, size_t size);
uint32_t rand_bits(uint32_t valid);

/* --- descriptors and ids (files.c) ----------------------------------------- */

extern int poll_fds[MAX_FDS];

int slot_pick(void);
int fd_of(int slot);
bool fd_is(int fd, char kind);
void all_shared(void);
struct id_ent *id_add(struct id_ent *tab, int fdi, uint32_t id);
struct id_ent *id_pick(struct id_ent *tab);
uint32_t id_guess(struct id_ent *tab, uint32_t max_seen, int *fdi);

/* --- events (events.c) ----------------------------------------------------- */

int *efd_slot(bool live);

/* --- processes (procs.c) --------------------------------------------------- */

void reap_kids(bool wait);

/* --- threads (race.c) ------------------------------------------------------ */

extern volatile bool threads_stop;
extern char thread_failure[256];

void *poller(void *arg);

/* --- the operations, by file ----------------------------------------------- */

/* files.c */
void op_open(int op);
void op_close(int op);
void op_dup(int op);
void op_bad_ioctl(int op);
void op_scm_send(int op);
void op_scm_recv(int op);
void op_scm_reset(int op);
/* procs.c */
void op_fork(int op);
void op_kill(int op);
/* mem.c */
void op_region(int op);
/* ubuf.c */
void op_register(int op);
void op_unregister(int op);
void op_query(int op);
void op_ucopy(int op);
void op_read(int op);
/* kbuf.c */
void op_alloc(int op);
void op_free(int op);
void op_mmap(int op);
void op_munmap(int op);
void op_mremap(int op);
void op_mprotect(int op);
void op_madvise(int op);
void op_touch(int op);
/* dev.c */
void op_dev_cmd(int op);
/* events.c */
void op_eventfd(int op);
void op_get_events(int op);
void op_poll(int op);
/* race.c */
void op_race(int op);
/* check.c */
void op_check_ubuf(int op);
void op_check_kbuf(int op);
void op_check_copy(int op);
/* ring.c */
void op_ring_attach(int op);
void op_ring_stream(int op);
void op_ring_id(int op);
void op_ring_query(int op);
void op_ring_touch(int op);
void op_stream_flood(int op);

/* exhaust.c */
void op_exhaust(int op);

#endif /* KUBUF_FUZZ_H */
