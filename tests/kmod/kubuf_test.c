// SPDX-License-Identifier: GPL-2.0
/*
 * kubuf_test - a client of kubuf_core for the guest tests (not shipped).
 *
 * On load it makes @devices kubuf devices, "kubuf-test0", "kubuf-test1",
 * ..., each for a platform device of its own that can do DMA, so both
 * kinds of driver buffer work. Each device knows one command,
 * KUBUF_DEV_FILL, which writes one byte, (seed + the device's index) &
 * 0xff, over the range: a test tells by the byte which device did the
 * work. The fill runs in slices of at most KT_SLICE bytes, checks
 * kubuf_mem_alive() before each page and reports what it wrote. The
 * devices have no read(), UCOPY or stream.
 *
 * Every callback checks the context the core documents (process context,
 * may sleep, interrupts on) and counts its calls per device. debugfs,
 * kubuf_test/<name>/:
 *   calls   read: callbacks made so far;
 *   remove  write 1: the driver's remove path, kubuf_device_destroy(),
 *           after which the device is gone (again: nothing happens),
 *           and allocating DMA memory for it warns;
 *   revoke  write 1: kubuf_device_revoke() (nothing once removed);
 *   revokes, notifies, irq_notifies  read: ->revoke calls, events the
 *           timer raised, of which in interrupt context (below).
 * and kubuf_test/create: write a name: kubuf_device_create() with it (for
 * the first device's platform device), then kubuf_device_destroy(); the
 * write fails with create's errno.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/hardirq.h>
#include <linux/hrtimer.h>
#include <linux/kernel.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/platform_device.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include <kubuf/core.h>

#define KT_MAX_DEVICES	8
#define KT_SLICE	SZ_64K		/* bytes of one slice of a FILL */

static unsigned int devices = 2;
module_param(devices, uint, 0444);
MODULE_PARM_DESC(devices, "kubuf devices to create, 1 to 8 (default 2)");

/**
 * struct kt_dev - one test device.
 * @index:	its number, in its name and in the bytes it writes.
 * @name:	"kubuf-test<index>".
 * @pdev:	the platform device it is made for.
 * @lock:	serializes @kd's removal and revocation (debugfs, unload).
 * @kd:		the kubuf device, NULL once removed.
 * @calls:	callbacks the core made.
 * @revokes:	->revoke calls.
 * @notifies:	events raised from the timer (below).
 * @irq_notifies: of which in interrupt context.
 * @timer:	raises KUBUF_EVENT_DONE on @nkf after a FILL with KT_NOTIFY.
 * @put_work:	then gives @nkf back, in process context.
 * @nkf:	the file the timer notifies (a reference), or NULL.
 * @slock:	protects @sr (the stream's timer takes it).
 * @sr:		the ring streaming, between ->stream_start and ->stream_stop.
 * @stimer:	the stream's "interrupt": every ms, one more record due.
 * @ticks:	records due and not produced yet.
 * @stream_stops: ->stream_stop calls.
 * @late_work:	gives @late_m back, KT_LATE_MS after a CHECKSUM with KT_LATE.
 * @late_m:	that command's hold, kept beyond its slice.
 * @late_held:	@late_m is held.
 * @dir:	its debugfs directory.
 */
struct kt_dev {
	unsigned int index;
	char name[24];
	struct platform_device *pdev;
	struct mutex lock;	/* protects kd */
	struct kubuf_device *kd;
	atomic_t calls;
	atomic_t revokes;
	atomic_t notifies;
	atomic_t irq_notifies;
	struct hrtimer timer;
	struct work_struct put_work;
	struct kubuf_file *nkf;
	spinlock_t slock;	/* protects sr */
	struct kubuf_ring *sr;
	struct hrtimer stimer;
	atomic_t ticks;
	atomic_t stream_stops;
	struct delayed_work late_work;
	struct kubuf_mem late_m;
	atomic_t late_held;
	struct dentry *dir;
};

/*
 * Devices but the first also answer, to exercise the rest of the API:
 *   CHECKSUM (kind, id, offset, len <= KT_SUM_MAX): the driver takes its
 *            own hold of the buffer (kubuf_mem_get), not the core's;
 *   RESET    (kind UBUF, id): kubuf_ubuf_revoke_id() of that one;
 *   a stream (KUBUF_IOC_STREAM_START, one at a time): a timer, standing
 *            for the device's interrupt, makes a record due every ms and
 *            wakes the ring (kubuf_ring_wake); each burst produces the
 *            records due (KUBUF_REC_USER, 8 bytes: their number),
 *            dropping what does not fit; ->stream_stop stops the timer;
 *   CHECKSUM with @seed KT_LATE: the driver keeps its hold beyond the
 *            slice, as for a transfer its interrupt ends, and gives it
 *            back from a work item KT_LATE_MS later (reading the memory
 *            first if it is still alive); the command's result is 0.
 *            The remove path checks that kubuf_device_destroy() waited
 *            for it: a DMA buffer's memory goes with the removal;
 *   FILL     with KT_NOTIFY in @seed: once done, a timer raises
 *            KUBUF_EVENT_DONE on the file from interrupt context (a
 *            timer's softirq; a hard timer's context is the raw kind no
 *            spinlock_t may be taken in, as PROVE_RAW_LOCK_NESTING
 *            says), kubuf_file_get() keeping the file meanwhile.
 */
#define KT_NOTIFY	0x80000000U
#define KT_LATE		0x4c617465U	/* "Late" */
#define KT_LATE_MS	300
#define KT_SUM_MAX	SZ_1M

static struct kt_dev *kt_devs;
static unsigned int kt_nr;
static struct dentry *kt_debugfs;

/* What every callback may assume, and counts. */
static struct kt_dev *kt_enter(struct kubuf_device *kd)
{
	struct kt_dev *td = kubuf_device_priv(kd);

	might_sleep();
	WARN_ON_ONCE(in_interrupt() || irqs_disabled());
	atomic_inc(&td->calls);
	return td;
}

static int kt_cmd_check(struct kubuf_device *kd, const struct kubuf_dev_cmd *a,
			u32 *dst, u32 *src)
{
	struct kt_dev *td = kt_enter(kd);

	if (td->index && (a->op == KUBUF_DEV_CHECKSUM ||
			  a->op == KUBUF_DEV_RESET)) {
		if ((a->seed && (a->op != KUBUF_DEV_CHECKSUM ||
				 a->seed != KT_LATE)) ||
		    a->repeat || a->src_kind || a->src_id ||
		    a->src_offset || !a->id)
			return -EINVAL;
		if (a->op == KUBUF_DEV_RESET &&
		    (a->kind != KUBUF_MEM_UBUF || a->offset || a->len))
			return -EINVAL;
		if (a->op == KUBUF_DEV_CHECKSUM && a->len > KT_SUM_MAX)
			return -E2BIG;
		*dst = 0;	/* the driver takes what it needs itself */
		*src = 0;
		return 0;
	}
	if (a->op != KUBUF_DEV_FILL || !a->len || a->repeat ||
	    a->src_kind || a->src_id || a->src_offset)
		return -EINVAL;
	*dst = KUBUF_ACCESS_DEV_WRITE;
	*src = 0;
	return 0;
}

/*
 * The next KT_SLICE bytes at most of the fill; c->drv[0] holds the bytes
 * done so far.
 */
/* KT_LATE: the hold given back late, the memory read first if alive. */
static void kt_late_work(struct work_struct *work)
{
	struct kt_dev *td = container_of(work, struct kt_dev, late_work.work);
	struct kubuf_mem m = td->late_m;
	u64 sum = KUBUF_CHECKSUM_INIT;

	if (kubuf_mem_alive(&m))
		sum = kubuf_checksum(sum, m.vaddr, m.len);
	/* Cleared before the hold goes: kt_remove() looks at it after. */
	atomic_set(&td->late_held, 0);
	kubuf_mem_put(&m);
	(void)sum;
}

/* CHECKSUM, holding the buffer itself: one slice (at most KT_SUM_MAX). */
static int kt_checksum(struct kubuf_cmd *c)
{
	struct kt_dev *td = kubuf_device_priv(kubuf_file_device(c->kf));
	const struct kubuf_dev_cmd *a = &c->args;
	struct kubuf_mem m;
	u64 sum = KUBUF_CHECKSUM_INIT, done = 0;
	int ret;

	if (a->seed == KT_LATE) {
		if (atomic_cmpxchg(&td->late_held, 0, 1))
			return -EBUSY;
		ret = kubuf_mem_get(c->kf, a->kind, a->id,
				    KUBUF_ACCESS_DEV_READ, &td->late_m);
		if (ret) {
			atomic_set(&td->late_held, 0);
			return ret;
		}
		schedule_delayed_work(&td->late_work,
				      msecs_to_jiffies(KT_LATE_MS));
		c->result = 0;
		return 0;
	}
	ret = kubuf_mem_get(c->kf, a->kind, a->id, KUBUF_ACCESS_DEV_READ, &m);
	if (ret)
		return ret;
	if (a->offset > m.len || a->len > m.len - a->offset) {
		kubuf_mem_put(&m);
		return -ERANGE;
	}
	while (done < a->len) {
		u64 n = min_t(u64, a->len - done, PAGE_SIZE);

		if (!kubuf_mem_alive(&m)) {
			ret = -ESHUTDOWN;
			break;
		}
		kubuf_mem_will_read(&m, a->offset + done, n);
		sum = kubuf_checksum(sum, m.vaddr + a->offset + done, n);
		done += n;
	}
	kubuf_mem_put(&m);
	if (!ret)
		c->result = sum;
	return ret;
}

static enum hrtimer_restart kt_timer(struct hrtimer *t)
{
	struct kt_dev *td = container_of(t, struct kt_dev, timer);

	kubuf_notify(td->nkf, KUBUF_EVENT_DONE);
	atomic_inc(&td->notifies);
	if (in_interrupt())
		atomic_inc(&td->irq_notifies);
	schedule_work(&td->put_work);
	return HRTIMER_NORESTART;
}

static void kt_put_work(struct work_struct *work)
{
	struct kt_dev *td = container_of(work, struct kt_dev, put_work);
	struct kubuf_file *kf = td->nkf;

	td->nkf = NULL;
	kubuf_file_put(kf);
}

/*
 * Raise the event later, from a timer (softirq; a thread on PREEMPT_RT),
 * as a device's completion would. One at a time: -EBUSY meanwhile.
 */
static int kt_notify_later(struct kt_dev *td, struct kubuf_file *kf)
{
	if (td->nkf || hrtimer_active(&td->timer) || work_pending(&td->put_work))
		return -EBUSY;
	kubuf_file_get(kf);
	td->nkf = kf;
	hrtimer_start(&td->timer, ms_to_ktime(1), HRTIMER_MODE_REL_SOFT);
	return 0;
}

/* The stream's interrupt: one more record due, and the ring woken. */
static enum hrtimer_restart kt_stream_timer(struct hrtimer *t)
{
	struct kt_dev *td = container_of(t, struct kt_dev, stimer);
	bool on;

	spin_lock(&td->slock);
	on = td->sr;
	if (on) {
		atomic_inc(&td->ticks);
		kubuf_ring_wake(td->sr);
	}
	spin_unlock(&td->slock);
	if (!on)
		return HRTIMER_NORESTART;
	hrtimer_forward_now(t, ms_to_ktime(1));
	return HRTIMER_RESTART;
}

static int kt_stream_start(struct kubuf_ring *r, const struct kubuf_stream *s)
{
	struct kt_dev *td = kt_enter(kubuf_file_device(kubuf_ring_file(r)));
	u64 *seq = kubuf_ring_priv(r);

	if (!td->index)
		return -EOPNOTSUPP;
	spin_lock_irq(&td->slock);
	if (td->sr) {
		spin_unlock_irq(&td->slock);
		return -EBUSY;
	}
	td->sr = r;
	spin_unlock_irq(&td->slock);
	*seq = 0;
	atomic_set(&td->ticks, 0);
	hrtimer_start(&td->stimer, ms_to_ktime(1), HRTIMER_MODE_REL_SOFT);
	return 0;
}

static void kt_stream_stop(struct kubuf_ring *r)
{
	struct kt_dev *td = kt_enter(kubuf_file_device(kubuf_ring_file(r)));

	spin_lock_irq(&td->slock);
	WARN_ON_ONCE(td->sr != r);
	td->sr = NULL;
	spin_unlock_irq(&td->slock);
	hrtimer_cancel(&td->stimer);	/* no wake after this */
	atomic_inc(&td->stream_stops);
}

/* The records due, a burst at most; then nothing until woken. */
static u64 kt_stream_burst(struct kubuf_ring *r)
{
	struct kt_dev *td = kt_enter(kubuf_file_device(kubuf_ring_file(r)));
	u64 *seq = kubuf_ring_priv(r), nr = 0;
	int due = atomic_xchg(&td->ticks, 0);
	void *p;

	while (due > 0 && nr < 64 && kubuf_ring_alive(r)) {
		p = kubuf_ring_reserve(r, sizeof(u64), KUBUF_REC_USER);
		if (IS_ERR(p))
			return KUBUF_RING_IDLE;
		if (!p) {
			kubuf_ring_drop(r, due);
			break;
		}
		memcpy(p, seq, sizeof(*seq));
		kubuf_ring_commit(r, sizeof(u64));
		(*seq)++;
		nr++;
		due--;
	}
	if (due > 0 && nr == 64)
		atomic_add(due, &td->ticks);	/* the rest next turn */
	kubuf_ring_announce(r, nr, true);
	return due > 0 && nr == 64 ? 0 : KUBUF_RING_IDLE;
}

static void kt_revoke_cb(struct kubuf_file *kf, u32 id)
{
	struct kt_dev *td = kt_enter(kubuf_file_device(kf));

	atomic_inc(&td->revokes);
}

static int kt_cmd_slice(struct kubuf_cmd *c, struct kubuf_mem *dst,
			struct kubuf_mem *src)
{
	struct kt_dev *td = kt_enter(kubuf_file_device(c->kf));
	u64 off = c->args.offset, len = c->args.len, done = c->drv[0];
	u64 budget = KT_SLICE;
	u8 byte = (c->args.seed + td->index) & 0xff;

	if (c->args.op == KUBUF_DEV_CHECKSUM)
		return kt_checksum(c);
	if (c->args.op == KUBUF_DEV_RESET)
		return kubuf_ubuf_revoke_id(c->kf, c->args.id);

	/* What the core promised: the range lies in @dst, @src is unused. */
	if (WARN_ON_ONCE(!dst->vaddr || off > dst->len ||
			 len > dst->len - off || done > len || src->vaddr))
		return -EIO;

	while (done < len) {
		void *p = dst->vaddr + off + done;
		u64 n = min3(len - done, budget,
			     (u64)(PAGE_SIZE - offset_in_page(p)));

		if (!budget) {
			c->drv[0] = done;
			return -EINPROGRESS;
		}
		if (!kubuf_mem_alive(dst))
			return -ESHUTDOWN;
		memset(p, byte, n);
		kubuf_mem_written(dst, off + done, n);
		done += n;
		budget -= n;
		cond_resched();
	}
	c->drv[0] = done;
	if (td->index && (c->args.seed & KT_NOTIFY))
		return kt_notify_later(td, c->kf);
	return 0;
}

static const struct kubuf_ops kt_ops = {
	.owner = THIS_MODULE,
	.revoke = kt_revoke_cb,
	.cmd_check = kt_cmd_check,
	.cmd_slice = kt_cmd_slice,
	.ring_priv = sizeof(u64),
	.stream_start = kt_stream_start,
	.stream_stop = kt_stream_stop,
	.stream_burst = kt_stream_burst,
};

/* The driver's remove path: the device is gone after it. */
static void kt_remove(struct kt_dev *td)
{
	mutex_lock(&td->lock);
	if (td->kd) {
		kubuf_device_destroy(td->kd);
		td->kd = NULL;
		/* It waited for the driver's holds on DMA buffers: KT_LATE's. */
		WARN_ON(atomic_read(&td->late_held) &&
			td->late_m.kbuf && td->late_m.dma_hold);
		/*
		 * The device is gone for the DMA API too: nothing may be
		 * allocated for it any more (what was, mapped driver buffers,
		 * is only freed), and a late dma_alloc_coherent() now warns
		 * (dma_alloc_attrs(): WARN_ON_ONCE(!dev->coherent_dma_mask)).
		 */
		td->pdev->dev.coherent_dma_mask = 0;
	}
	mutex_unlock(&td->lock);
}

static void kt_revoke(struct kt_dev *td)
{
	mutex_lock(&td->lock);
	if (td->kd)
		kubuf_device_revoke(td->kd);
	mutex_unlock(&td->lock);
}

/* A debugfs write of "1" runs @fn on the file's device. */
static ssize_t kt_trigger(struct file *file, const char __user *ubuf,
			  size_t len, loff_t *ppos,
			  void (*fn)(struct kt_dev *td))
{
	unsigned int v;
	int ret;

	ret = kstrtouint_from_user(ubuf, len, 0, &v);
	if (ret)
		return ret;
	if (v != 1)
		return -EINVAL;
	fn(file->private_data);
	return len;
}

static ssize_t kt_remove_write(struct file *file, const char __user *ubuf,
			       size_t len, loff_t *ppos)
{
	return kt_trigger(file, ubuf, len, ppos, kt_remove);
}

static ssize_t kt_revoke_write(struct file *file, const char __user *ubuf,
			       size_t len, loff_t *ppos)
{
	return kt_trigger(file, ubuf, len, ppos, kt_revoke);
}

/* A device named as written, made and removed again: create's errors. */
static ssize_t kt_create_write(struct file *file, const char __user *ubuf,
			       size_t len, loff_t *ppos)
{
	struct kt_dev *td = &kt_devs[0];
	struct kubuf_device *kd;
	char name[64];

	if (len >= sizeof(name))
		return -E2BIG;
	if (copy_from_user(name, ubuf, len))
		return -EFAULT;
	name[len] = '\0';
	kd = kubuf_device_create(&td->pdev->dev, name, &kt_ops, td);
	if (IS_ERR(kd))
		return PTR_ERR(kd);
	kubuf_device_destroy(kd);
	return len;
}

static const struct file_operations kt_create_fops = {
	.owner = THIS_MODULE,
	.write = kt_create_write,
	.llseek = noop_llseek,
};

static const struct file_operations kt_remove_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = kt_remove_write,
	.llseek = noop_llseek,
};

static const struct file_operations kt_revoke_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = kt_revoke_write,
	.llseek = noop_llseek,
};

static int kt_dev_init(struct kt_dev *td, unsigned int i)
{
	struct kubuf_device *kd;
	int ret;

	td->index = i;
	snprintf(td->name, sizeof(td->name), "kubuf-test%u", i);
	mutex_init(&td->lock);
	atomic_set(&td->calls, 0);
	atomic_set(&td->revokes, 0);
	atomic_set(&td->notifies, 0);
	atomic_set(&td->irq_notifies, 0);
	hrtimer_init(&td->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_SOFT);
	spin_lock_init(&td->slock);
	hrtimer_init(&td->stimer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_SOFT);
	td->stimer.function = kt_stream_timer;
	atomic_set(&td->ticks, 0);
	atomic_set(&td->stream_stops, 0);
	td->timer.function = kt_timer;
	INIT_WORK(&td->put_work, kt_put_work);
	INIT_DELAYED_WORK(&td->late_work, kt_late_work);
	atomic_set(&td->late_held, 0);

	td->pdev = platform_device_register_simple("kubuf-test", i, NULL, 0);
	if (IS_ERR(td->pdev)) {
		ret = PTR_ERR(td->pdev);
		td->pdev = NULL;
		return ret;
	}
	ret = dma_coerce_mask_and_coherent(&td->pdev->dev, DMA_BIT_MASK(64));
	if (ret)
		return ret;

	td->dir = debugfs_create_dir(td->name, kt_debugfs);
	debugfs_create_atomic_t("calls", 0444, td->dir, &td->calls);
	debugfs_create_atomic_t("revokes", 0444, td->dir, &td->revokes);
	debugfs_create_atomic_t("notifies", 0444, td->dir, &td->notifies);
	debugfs_create_atomic_t("irq_notifies", 0444, td->dir,
				&td->irq_notifies);
	debugfs_create_atomic_t("ticks", 0444, td->dir, &td->ticks);
	debugfs_create_atomic_t("stream_stops", 0444, td->dir,
				&td->stream_stops);
	debugfs_create_file("remove", 0200, td->dir, td, &kt_remove_fops);
	debugfs_create_file("revoke", 0200, td->dir, td, &kt_revoke_fops);

	kd = kubuf_device_create(&td->pdev->dev, td->name, &kt_ops, td);
	if (IS_ERR_OR_NULL(kd))
		return kd ? PTR_ERR(kd) : -ENOMEM;
	td->kd = kd;
	WARN_ON(kubuf_device_dev(kd) != &td->pdev->dev);
	return 0;
}

static void kt_cleanup(void)
{
	unsigned int i;

	/* No debugfs write runs after this: they are waited for. */
	debugfs_remove_recursive(kt_debugfs);
	for (i = 0; i < kt_nr; i++) {
		struct kt_dev *td = &kt_devs[i];

		kt_remove(td);
		/* No callback now, so no new timer; this one's file back. */
		hrtimer_cancel(&td->timer);
		hrtimer_cancel(&td->stimer);	/* stopped by the core already */
		flush_work(&td->put_work);
		flush_delayed_work(&td->late_work);
		if (td->nkf)
			kubuf_file_put(td->nkf);
		platform_device_unregister(td->pdev);
		mutex_destroy(&td->lock);
	}
	kfree(kt_devs);
}

static int __init kt_init(void)
{
	int ret;

	if (!devices || devices > KT_MAX_DEVICES) {
		pr_err("devices=%u: want 1 to %u\n", devices, KT_MAX_DEVICES);
		return -EINVAL;
	}
	kt_devs = kcalloc(devices, sizeof(*kt_devs), GFP_KERNEL);
	if (!kt_devs)
		return -ENOMEM;
	kt_debugfs = debugfs_create_dir(KBUILD_MODNAME, NULL);

	for (kt_nr = 0; kt_nr < devices; kt_nr++) {
		ret = kt_dev_init(&kt_devs[kt_nr], kt_nr);
		if (ret) {
			pr_err("%s: %d\n", kt_devs[kt_nr].name, ret);
			kt_nr++;	/* what it made is undone too */
			kt_cleanup();
			return ret;
		}
	}
	debugfs_create_file("create", 0200, kt_debugfs, NULL, &kt_create_fops);
	return 0;
}

static void __exit kt_exit(void)
{
	kt_cleanup();
}

module_init(kt_init);
module_exit(kt_exit);

MODULE_DESCRIPTION("kubuf: a test client of kubuf_core");
MODULE_LICENSE("GPL");
