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
 *   revoke  write 1: kubuf_device_revoke() (nothing once removed).
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
 * @dir:	its debugfs directory.
 */
struct kt_dev {
	unsigned int index;
	char name[24];
	struct platform_device *pdev;
	struct mutex lock;	/* protects kd */
	struct kubuf_device *kd;
	atomic_t calls;
	struct dentry *dir;
};

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
	kt_enter(kd);

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
static int kt_cmd_slice(struct kubuf_cmd *c, struct kubuf_mem *dst,
			struct kubuf_mem *src)
{
	struct kt_dev *td = kt_enter(kubuf_file_device(c->kf));
	u64 off = c->args.offset, len = c->args.len, done = c->drv[0];
	u64 budget = KT_SLICE;
	u8 byte = (c->args.seed + td->index) & 0xff;

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
	return 0;
}

static const struct kubuf_ops kt_ops = {
	.owner = THIS_MODULE,
	.cmd_check = kt_cmd_check,
	.cmd_slice = kt_cmd_slice,
};

/* The driver's remove path: the device is gone after it. */
static void kt_remove(struct kt_dev *td)
{
	mutex_lock(&td->lock);
	if (td->kd) {
		kubuf_device_destroy(td->kd);
		td->kd = NULL;
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
	debugfs_create_file("remove", 0200, td->dir, td, &kt_remove_fops);
	debugfs_create_file("revoke", 0200, td->dir, td, &kt_revoke_fops);

	kd = kubuf_device_create(&td->pdev->dev, td->name, &kt_ops, td);
	if (IS_ERR_OR_NULL(kd))
		return kd ? PTR_ERR(kd) : -ENOMEM;
	td->kd = kd;
	return 0;
}

static void kt_cleanup(void)
{
	unsigned int i;

	/* No debugfs write runs after this: they are waited for. */
	debugfs_remove_recursive(kt_debugfs);
	for (i = 0; i < kt_nr; i++) {
		kt_remove(&kt_devs[i]);
		platform_device_unregister(kt_devs[i].pdev);
		mutex_destroy(&kt_devs[i].lock);
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
