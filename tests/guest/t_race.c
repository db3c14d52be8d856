// SPDX-License-Identifier: MIT
/*
 * Races made deterministic. A window inside an ioctl is held open with
 * userfaultfd: the ioctl's write to the caller's argument struct lands on
 * a write-protected page and sleeps in the fault until this program has
 * done, from another thread, what races it; then the page is made
 * read-only and the fault woken, so the write fails and the ioctl takes
 * its error path with the other thread's change already in place.
 */
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sys/mman.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/syscall.h>

#include "harness.h"
#include "kubuf.h"

#define PG 4096UL
#define RW (KUBUF_ACCESS_DEV_READ | KUBUF_ACCESS_DEV_WRITE)

/* Two pages; the second write-protected through @uffd (non-blocking:
 * poll() on a userfaultfd wants it). */
struct wp_window {
	char *pages;
	int uffd;
};

static void wp_window_open(struct wp_window *w)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_PAGEFAULT_FLAG_WP,
	};
	struct uffdio_register reg;
	struct uffdio_writeprotect wp;

	w->uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (w->uffd < 0)
		kt_skip("userfaultfd: %s", strerror(errno));
	if (ioctl(w->uffd, UFFDIO_API, &api) ||
	    !(api.features & UFFD_FEATURE_PAGEFAULT_FLAG_WP))
		kt_skip("userfaultfd write-protect is not supported");
	w->pages = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	KT_ASSERT(w->pages != MAP_FAILED);
	memset(w->pages, 0, 2 * PG);

	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)w->pages + PG;
	reg.range.len = PG;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	KT_OK(ioctl(w->uffd, UFFDIO_REGISTER, &reg));
	memset(&wp, 0, sizeof(wp));
	wp.range = reg.range;
	wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
	KT_OK(ioctl(w->uffd, UFFDIO_WRITEPROTECT, &wp));
}

/*
 * Wait until a thread sleeps on a write to the protected page. A signal
 * to the faulting thread (the storm's) takes its fault back before we
 * read it, and it faults again after the handler: the message may be
 * gone when read() comes (EAGAIN), and a new one on its way.
 */
static void wp_window_wait_fault(struct wp_window *w)
{
	struct pollfd p = { .fd = w->uffd, .events = POLLIN };
	struct uffd_msg msg;
	double t0 = kt_now();
	ssize_t n;

	do {
		KT_ASSERT(kt_now() - t0 < 10);
		KT_OK(kt_poll(&p, 1, 10000));
		KT_ASSERT(p.revents & POLLIN);
		n = read(w->uffd, &msg, sizeof(msg));
	} while (n < 0 && errno == EAGAIN);
	KT_ASSERT_EQ(n, sizeof(msg));
	KT_ASSERT_EQ(msg.event, UFFD_EVENT_PAGEFAULT);
	KT_ASSERT(msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP);
}

/* Make the write fail: the page becomes read-only, the fault retries. */
static void wp_window_fail_write(struct wp_window *w)
{
	struct uffdio_range r = {
		.start = (uintptr_t)w->pages + PG,
		.len = PG,
	};

	KT_OK(mprotect(w->pages + PG, PG, PROT_READ));
	KT_OK(ioctl(w->uffd, UFFDIO_WAKE, &r));
}

static void wp_window_close(struct wp_window *w)
{
	close(w->uffd);
	munmap(w->pages, 2 * PG);
}

/* An ioctl run by another thread, which the window will hold. */
struct ioctl_call {
	int fd;
	unsigned long cmd;
	void *arg;
	int ret;
	int err;
	pthread_t th;
};

static void *ioctl_thread(void *p)
{
	struct ioctl_call *c = p;

	c->ret = ioctl(c->fd, c->cmd, c->arg);
	c->err = errno;
	return NULL;
}

static void ioctl_start(struct ioctl_call *c, int fd, unsigned long cmd,
			void *arg)
{
	c->fd = fd;
	c->cmd = cmd;
	c->arg = arg;
	KT_ASSERT_EQ(pthread_create(&c->th, NULL, ioctl_thread, c), 0);
}

/* The ioctl must have failed with EFAULT: its write back did. */
static void ioctl_join_efault(struct ioctl_call *c)
{
	KT_ASSERT_EQ(pthread_join(c->th, NULL), 0);
	errno = c->err;
	KT_ASSERT_EQ(c->ret, -1);
	KT_ASSERT_EQ(c->err, EFAULT);
}

/*
 * REGISTER cannot write the id back, so it undoes the registration; but
 * another thread of the application already unregistered that id (ids are
 * predictable). The undo must not touch the freed registration again.
 */
KT_CASE(register_id_unwritable_after_unregister)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	char *buf = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct kubuf_id unreg = { .id = 1 };
	struct kubuf_ubuf_reg *arg, r;
	struct ioctl_call call;
	struct wp_window w;

	KT_ASSERT(buf != MAP_FAILED);
	memset(buf, 1, 4 * PG);
	wp_window_open(&w);
	/* The struct straddles the pages: @id is the first protected byte. */
	arg = (void *)(w.pages + PG - offsetof(struct kubuf_ubuf_reg, id));
	memset(arg, 0, offsetof(struct kubuf_ubuf_reg, id));
	arg->addr = (uintptr_t)buf;
	arg->len = 4 * PG;
	arg->access = RW;

	ioctl_start(&call, fd, KUBUF_IOC_UBUF_REGISTER, arg);
	wp_window_wait_fault(&w);
	/* The first registration of a new file has id 1. */
	KT_OK(ioctl(fd, KUBUF_IOC_UBUF_UNREGISTER, &unreg));
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_UBUFS), 0);
	wp_window_fail_write(&w);
	ioctl_join_efault(&call);

	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_UBUFS), 0);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_PINNED_PAGES), 0);
	/* The file still works, and counts its registrations right. */
	memset(&r, 0, sizeof(r));
	r.addr = (uintptr_t)buf;
	r.len = 4 * PG;
	r.access = RW;
	KT_OK(ioctl(fd, KUBUF_IOC_UBUF_REGISTER, &r));
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_UBUFS), 1);
	unreg.id = r.id;
	KT_OK(ioctl(fd, KUBUF_IOC_UBUF_UNREGISTER, &unreg));
	wp_window_close(&w);
	close(fd);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_UBUFS), 0);
}

/*
 * ALLOC cannot write its answer back, so it frees the new buffer; but the
 * application guessed the id and freed it first, or guessed the offset
 * and mapped it. Neither may be undone twice, and a mapping keeps the
 * buffer alive.
 */
static void alloc_unwritable(bool map_it)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	struct kubuf_id id1 = { .id = 1 };
	struct kubuf_kbuf_alloc *arg, a;
	struct ioctl_call call;
	struct wp_window w;
	char *map = NULL;

	wp_window_open(&w);
	/* Only the last 8 bytes of the answer land on the protected page. */
	arg = (void *)(w.pages + PG - sizeof(*arg) + 8);
	memset(arg, 0, sizeof(*arg) - 8);
	arg->size = 2 * PG;
	arg->kind = KUBUF_KBUF_PAGES;
	arg->flags = KUBUF_KBUF_APP_WRITE;

	ioctl_start(&call, fd, KUBUF_IOC_KBUF_ALLOC, arg);
	wp_window_wait_fault(&w);
	/* The first buffer of a new file has id 1, at offset 1 << 28. */
	if (map_it) {
		map = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED,
			   fd, 1UL << 28);
		KT_ASSERT(map != MAP_FAILED);
		memset(map, 0x77, 2 * PG);
	} else {
		KT_OK(ioctl(fd, KUBUF_IOC_KBUF_FREE, &id1));
		KT_ASSERT_EQ(kt_stat(KUBUF_STAT_KBUFS), 0);
	}
	wp_window_fail_write(&w);
	ioctl_join_efault(&call);

	/* The id is gone either way; a mapping still holds the memory. */
	KT_ERRNO(ioctl(fd, KUBUF_IOC_KBUF_FREE, &id1), ENOENT);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_KBUFS), map_it ? 1 : 0);
	if (map_it) {
		KT_ASSERT_EQ(map[2 * PG - 1], 0x77);
		KT_OK(munmap(map, 2 * PG));
	}
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_KBUFS), 0);
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_KBUF_PAGES), 0);
	/* The file still works, and counts its buffers right. */
	memset(&a, 0, sizeof(a));
	a.size = PG;
	KT_OK(ioctl(fd, KUBUF_IOC_KBUF_ALLOC, &a));
	KT_ASSERT_EQ(kt_stat(KUBUF_STAT_KBUFS), 1);
	id1.id = a.id;
	KT_OK(ioctl(fd, KUBUF_IOC_KBUF_FREE, &id1));
	wp_window_close(&w);
	close(fd);
}

KT_CASE(alloc_answer_unwritable_after_free)
{
	alloc_unwritable(false);
}

KT_CASE(alloc_answer_unwritable_after_mmap)
{
	alloc_unwritable(true);
}

KT_MAIN()
