// SPDX-License-Identifier: GPL-2.0
/*
 * The shared event: how the driver tells the application that something
 * happened to their shared memory (the article's named event).
 *
 * The application creates an eventfd and passes it with
 * KUBUF_IOC_SET_EVENTFD. The module takes its own reference then
 * (eventfd_ctx_fdget), so closing or reusing the descriptor number later
 * redirects nothing, and drops it exactly once: when another eventfd
 * replaces it, when it is cleared, or when the file is released.
 *
 * Events are bits in kubuf_notify.pending. kubuf_notify_event() sets bits
 * and, if any was not already pending, signals the eventfd and wakes
 * poll() waiters: a burst of events costs one wakeup. The application
 * reads and clears the bits with KUBUF_IOC_GET_EVENTS; the eventfd count
 * and poll are only hints that it is worth asking.
 *
 * kubuf_notify.lock is a leaf spinlock taken with interrupts disabled, so
 * events may be raised from any context a spinlock_t may be taken in:
 * process, softirq, timers, and threaded interrupt handlers (on
 * PREEMPT_RT a spinlock_t sleeps, so not from a hard interrupt there);
 * eventfd_signal() is safe there too.
 */
#include <linux/eventfd.h>
#include <linux/uaccess.h>

#include "internal.h"

void kubuf_notify_init(struct kubuf_notify *n)
{
	spin_lock_init(&n->lock);
	init_waitqueue_head(&n->wq);
	n->ctx = NULL;
	n->pending = 0;
}

void kubuf_notify_event(struct kubuf_notify *n, u32 events)
{
	unsigned long flags;
	bool wake;

	spin_lock_irqsave(&n->lock, flags);
	wake = events & ~n->pending;
	n->pending |= events;
	if (wake && n->ctx)
		kubuf_eventfd_signal(n->ctx);
	spin_unlock_irqrestore(&n->lock, flags);

	if (wake)
		wake_up_interruptible_poll(&n->wq, EPOLLPRI);
}

/**
 * kubuf_notify() - raise events (KUBUF_EVENT_*) on @kf.
 * @kf:		the file.
 * @events:	the events.
 *
 * They are pending until KUBUF_IOC_GET_EVENTS reads them; the bound
 * eventfd is signalled and poll() waiters are woken.
 * Context: any in which a spinlock_t may be taken: process, softirq,
 * timers, interrupt handlers (threaded on PREEMPT_RT, as request_irq()
 * makes them there); not under a raw spinlock.
 */
void kubuf_notify(struct kubuf_file *kf, u32 events)
{
	kubuf_notify_event(&kf->notify, events);
}
EXPORT_SYMBOL_GPL(kubuf_notify);

/* Swap in @ctx (NULL to clear); drop the old reference, exactly once. */
static void kubuf_notify_swap(struct kubuf_notify *n, struct eventfd_ctx *ctx)
{
	struct eventfd_ctx *old;
	unsigned long flags;

	spin_lock_irqsave(&n->lock, flags);
	old = n->ctx;
	n->ctx = ctx;
	spin_unlock_irqrestore(&n->lock, flags);

	if (ctx)
		kubuf_stat_inc(KUBUF_STAT_EVENTFD_REFS);
	if (old) {
		eventfd_ctx_put(old);
		kubuf_stat_dec(KUBUF_STAT_EVENTFD_REFS);
	}
}

int kubuf_notify_set_eventfd(struct kubuf_notify *n, void __user *argp)
{
	struct kubuf_eventfd arg;
	struct eventfd_ctx *ctx;

	if (copy_from_user(&arg, argp, sizeof(arg)))
		return -EFAULT;
	if (arg.flags & ~KUBUF_EVENTFD_CLEAR)
		return -EINVAL;
	if (arg.flags & KUBUF_EVENTFD_CLEAR) {
		if (arg.fd != -1)
			return -EINVAL;
		kubuf_notify_swap(n, NULL);
		return 0;
	}
	if (arg.fd < 0)
		return -EBADF;

	/* -EBADF for a closed number, -EINVAL for a file of another kind. */
	ctx = eventfd_ctx_fdget(arg.fd);
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);

	kubuf_notify_swap(n, ctx);
	return 0;
}

int kubuf_notify_get_events(struct kubuf_notify *n, void __user *argp)
{
	struct kubuf_events ev;
	unsigned long flags;

	if (copy_from_user(&ev, argp, sizeof(ev)))
		return -EFAULT;
	if (ev.flags)
		return -EINVAL;

	memset(&ev, 0, sizeof(ev));
	spin_lock_irqsave(&n->lock, flags);
	ev.pending = n->pending;
	n->pending = 0;
	spin_unlock_irqrestore(&n->lock, flags);

	if (copy_to_user(argp, &ev, sizeof(ev))) {
		/* Not delivered: keep them pending. */
		kubuf_notify_event(n, ev.pending);
		return -EFAULT;
	}
	return 0;
}

/*
 * read() never blocks (it is the copying baseline: the device produces
 * on demand), so the device is always readable; EPOLLPRI says events
 * are pending.
 */
__poll_t kubuf_notify_poll(struct kubuf_notify *n, struct file *file,
			   poll_table *pt)
{
	__poll_t mask = EPOLLIN | EPOLLRDNORM;

	poll_wait(file, &n->wq, pt);
	if (READ_ONCE(n->pending))
		mask |= EPOLLPRI;
	return mask;
}

/*
 * The file is going: drop the eventfd. A device command still finishing
 * may raise an event later; it only sets a bit nobody will read.
 */
/* The device is gone: poll() waiters wake to POLLHUP. */
void kubuf_notify_hangup(struct kubuf_notify *n)
{
	wake_up_interruptible_poll(&n->wq, EPOLLHUP | EPOLLERR);
}

void kubuf_notify_release(struct kubuf_notify *n)
{
	kubuf_notify_swap(n, NULL);
}
