// SPDX-License-Identifier: GPL-2.0
/*
 * The simulated device's two ways of sharing data that need neither
 * pinning nor mapping, kept as the reference the zero-copy techniques
 * are measured against.
 *
 * KUBUF_IOC_UCOPY is the article's "neither" method: the device reads or
 * writes the caller's buffer only inside the caller's own system call,
 * through copy_to_user()/copy_from_user(), one page at a time. Nothing
 * is pinned, nothing outlives the call, and a fault is just -EFAULT.
 *
 * read() is the "buffered" method, the copying baseline: the device fills
 * a kernel buffer from its own context, then read() copies it out. Each
 * read() returns up to KUBUF_READ_MAX bytes of the pattern with seed 0,
 * byte i of the read being kubuf_pattern_byte(0, i).
 */
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <kubuf/core.h>

#include "sim.h"

#define KUBUF_READ_MAX	SZ_1M

static void kubuf_copy_pattern(u8 *p, u64 n, u32 seed, u64 off)
{
	u64 i;

	for (i = 0; i < n; i++)
		p[i] = kubuf_pattern_byte(seed, off + i);
}

/* KUBUF_IOC_UCOPY, checked by the core: @a is the caller's @uarg. */
int kubuf_sim_ucopy(struct kubuf_file *kf, struct kubuf_ucopy *ap,
		    struct kubuf_ucopy __user *uarg)
{
	u64 sum = KUBUF_CHECKSUM_INIT, done = 0;
	const struct kubuf_ucopy a = *ap;
	void __user *ubuf = u64_to_user_ptr(a.addr);
	u8 *bounce;
	int ret = 0;

	bounce = (u8 *)__get_free_page(GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;

	while (done < a.len) {
		u64 n = min_t(u64, a.len - done, PAGE_SIZE);

		if (a.op == KUBUF_UCOPY_FILL) {
			kubuf_copy_pattern(bounce, n, a.seed, done);
			if (copy_to_user(ubuf + done, bounce, n)) {
				ret = -EFAULT;
				break;
			}
		} else {
			if (copy_from_user(bounce, ubuf + done, n)) {
				ret = -EFAULT;
				break;
			}
			sum = kubuf_checksum(sum, bounce, n);
		}
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

struct kubuf_copy_fill {
	u8 *buf;
	size_t len;
};

static int kubuf_copy_fill_fn(void *arg)
{
	struct kubuf_copy_fill *f = arg;

	kubuf_copy_pattern(f->buf, f->len, 0, 0);
	return 0;
}

static void kubuf_copy_fill_free(void *arg)
{
	struct kubuf_copy_fill *f = arg;

	kvfree(f->buf);
	kfree(f);
}

/*
 * The device fills a buffer in its own context, taking its turn with
 * every other user's work; a fatal signal ends the wait (the device
 * finishes the fill and frees the buffer).
 */
ssize_t kubuf_sim_read(struct kubuf_file *kf, char __user *buf, size_t len)
{
	struct kubuf_copy_fill *f;
	ssize_t ret;

	if (!len)
		return 0;
	f = kmalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);
	if (!f)
		return -ENOMEM;
	f->len = min_t(size_t, len, KUBUF_READ_MAX);
	f->buf = kvmalloc(f->len, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!f->buf) {
		kfree(f);
		return -ENOMEM;
	}

	ret = kubuf_call(kf, kubuf_copy_fill_fn, kubuf_copy_fill_free, f);
	if (ret == -EINTR)
		return ret;		/* @f is the device's now */
	if (!ret)
		ret = copy_to_user(buf, f->buf, f->len) ? -EFAULT : f->len;
	kubuf_copy_fill_free(f);
	return ret;
}
