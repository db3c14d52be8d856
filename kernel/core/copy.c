// SPDX-License-Identifier: GPL-2.0
/*
 * The two ways of sharing data that need neither pinning nor mapping,
 * kept as the reference the zero-copy techniques are measured against.
 * The core moves the bytes between the application and the kernel; the
 * driver only makes or takes them (kubuf_ops.ucopy, kubuf_ops.read), on
 * kernel memory, so that no driver code ever waits on the application's
 * memory (a page fault the application serves as slowly as it likes, by
 * userfaultfd) and the device's removal never waits for an application.
 *
 * KUBUF_IOC_UCOPY is the article's "neither" method: the device reads or
 * writes the caller's buffer only inside the caller's own system call, a
 * page at a time through a bounce page: nothing is pinned, nothing
 * outlives the call, and a fault is just -EFAULT.
 *
 * read() is the "buffered" method, the copying baseline: the device fills
 * a kernel buffer from its own context (kubuf_call: its workers, taking
 * turns with every other user's work, counted as a command), then read()
 * copies it out. Each read() returns up to KUBUF_READ_MAX bytes.
 */
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "internal.h"

#define KUBUF_READ_MAX	SZ_1M

static int kubuf_ucopy_check(const struct kubuf_ucopy *a)
{
	if (a->flags || a->reserved0 || a->reserved[0] || a->reserved[1])
		return -EINVAL;
	if (a->op != KUBUF_UCOPY_FILL && a->op != KUBUF_UCOPY_CHECKSUM)
		return -EINVAL;
	if (a->op == KUBUF_UCOPY_CHECKSUM && a->seed)
		return -EINVAL;
	if (!a->len)
		return -EINVAL;
	if (a->len > KUBUF_MAX_UBUF_SIZE)
		return -E2BIG;
	return 0;
}

/* One page of the device's part, in the device (SRCU). */
static int kubuf_ucopy_page(struct kubuf_device *kd,
			    const struct kubuf_ucopy *a, void *page, u64 off,
			    u32 n, u64 *sum)
{
	int ret, idx;

	if (!kubuf_dev_enter(kd, &idx))
		return -ENODEV;
	ret = kd->ops->ucopy(kd, a->op, a->seed, page, off, n, sum);
	kubuf_dev_exit(kd, idx);
	return ret;
}

int kubuf_ioc_ucopy(struct kubuf_file *kf, void __user *argp)
{
	struct kubuf_ucopy __user *uarg = argp;
	u64 sum = KUBUF_CHECKSUM_INIT, done = 0;
	struct kubuf_device *kd = kf->kd;
	struct kubuf_ucopy a;
	void __user *ubuf;
	void *bounce;
	int ret;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	ret = kubuf_ucopy_check(&a);
	if (ret)
		return ret;
	if (!(kd->features & KUBUF_FEAT_UCOPY))
		return -EOPNOTSUPP;
	ubuf = u64_to_user_ptr(a.addr);

	bounce = (void *)__get_free_page(GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;

	while (done < a.len) {
		u32 n = min_t(u64, a.len - done, PAGE_SIZE);

		if (a.op == KUBUF_UCOPY_FILL) {
			ret = kubuf_ucopy_page(kd, &a, bounce, done, n, NULL);
			if (!ret && copy_to_user(ubuf + done, bounce, n))
				ret = -EFAULT;
		} else {
			ret = copy_from_user(bounce, ubuf + done, n) ? -EFAULT :
			      kubuf_ucopy_page(kd, &a, bounce, done, n, &sum);
		}
		if (ret)
			break;
		done += n;
		/*
		 * Only a fatal signal stops the copy: a handled one would
		 * make the call fail, or restart it from the start, as often
		 * as the application's timer fires, and a long copy would
		 * never finish. The longest copy is a bounded amount of work.
		 */
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
	}
	free_page((unsigned long)bounce);

	if (!ret && a.op == KUBUF_UCOPY_CHECKSUM &&
	    put_user(sum, &uarg->result))
		ret = -EFAULT;
	return ret;
}

struct kubuf_read {
	struct kubuf_device *kd;
	void *buf;
	size_t len;
};

/* On the device's workers (kubuf_call), which entered the device. */
static int kubuf_read_fill(void *arg)
{
	struct kubuf_read *rd = arg;

	return rd->kd->ops->read(rd->kd, rd->buf, rd->len);
}

static void kubuf_read_free(void *arg)
{
	struct kubuf_read *rd = arg;

	kvfree(rd->buf);
	kfree(rd);
}

/*
 * The device fills a buffer in its own context; a fatal signal ends the
 * wait (the workers finish the fill and free the buffer).
 */
ssize_t kubuf_read(struct kubuf_file *kf, char __user *buf, size_t len)
{
	struct kubuf_read *rd;
	ssize_t ret;

	if (!kf->kd->can_read)
		return -EINVAL;
	if (!len)
		return 0;
	rd = kmalloc(sizeof(*rd), GFP_KERNEL_ACCOUNT);
	if (!rd)
		return -ENOMEM;
	rd->kd = kf->kd;
	rd->len = min_t(size_t, len, KUBUF_READ_MAX);
	rd->buf = kvmalloc(rd->len, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!rd->buf) {
		kfree(rd);
		return -ENOMEM;
	}

	ret = kubuf_call(kf, kubuf_read_fill, kubuf_read_free, rd);
	if (ret == -EINTR)
		return ret;		/* @rd is the workers' now */
	if (!ret)
		ret = copy_to_user(buf, rd->buf, rd->len) ? -EFAULT : rd->len;
	kubuf_read_free(rd);
	return ret;
}
