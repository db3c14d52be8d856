// SPDX-License-Identifier: GPL-2.0
/*
 * kubuf - memory shared between a driver and an application.
 *
 * This file is the misc device /dev/kubuf: open, release and the ioctl
 * dispatcher. Each technique lives in a file of its own; this comment is
 * the map of the whole module.
 *
 * Object model
 * ------------
 *
 *   struct file (/dev/kubuf)  --private_data-->  struct kubuf_file
 *
 * One struct kubuf_file per open file description. It is created by
 * open() and destroyed by release(), which the VFS calls once the last
 * reference to the struct file is gone: the last close() of any duplicate
 * (dup, fork, SCM_RIGHTS) *and* the last VMA mapping the device, since
 * every VMA holds a reference to its vm_file. Nothing is torn down in
 * ->flush(): a close() by one holder of a duplicated descriptor says
 * nothing about the others. ->release() may run in any process or in a
 * kernel worker (the last fput() of a dying task is deferred), so nothing
 * there may refer to "current"; whatever must be un-accounted later is
 * saved at the time it is accounted.
 *
 * Reference holders, summarised:
 *   - struct file        holds the kubuf_file (exactly one, freed in release)
 *   - each VMA           holds the struct file (VFS) and what it maps
 *   - each open file     holds the module (fops.owner), so rmmod fails
 *                        with -EBUSY while a file or a mapping remains
 *
 * Lock order
 * ----------
 *
 *   kubuf_file.lock (mutex)
 *
 * Only one lock so far; every later lock nests inside kubuf_file.lock.
 * Module-wide counters are atomics and take no lock.
 *
 * Counters
 * --------
 *
 * kubuf_stats[] counts every object user space can make the module hold.
 * KUBUF_IOC_GET_STATS exports them; the test suite checks after every test
 * that each is back to its baseline, which is how leaks are caught.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "kubuf.h"

atomic64_t kubuf_stats[KUBUF_STAT_NR];

static int kubuf_open(struct inode *inode, struct file *file)
{
	struct kubuf_file *kf;
	int ret;

	ret = nonseekable_open(inode, file);
	if (ret)
		return ret;

	kf = kzalloc(sizeof(*kf), GFP_KERNEL_ACCOUNT);
	if (!kf)
		return -ENOMEM;
	mutex_init(&kf->lock);

	file->private_data = kf;
	kubuf_stat_inc(KUBUF_STAT_OPEN_FILES);
	return 0;
}

/* Last reference to the file: no descriptor, no mapping, no ioctl left. */
static int kubuf_release(struct inode *inode, struct file *file)
{
	struct kubuf_file *kf = file->private_data;

	mutex_destroy(&kf->lock);
	kfree(kf);
	kubuf_stat_dec(KUBUF_STAT_OPEN_FILES);
	return 0;
}

static int kubuf_ioctl_get_info(void __user *argp)
{
	struct kubuf_info info;

	memset(&info, 0, sizeof(info));
	info.abi_version = KUBUF_ABI_VERSION;
	info.page_size = PAGE_SIZE;
	info.features = KUBUF_FEAT_STATS;
	info.max_ubufs = KUBUF_MAX_UBUFS;
	info.max_kbufs = KUBUF_MAX_KBUFS;
	info.max_ubuf_size = KUBUF_MAX_UBUF_SIZE;
	info.max_kbuf_size = KUBUF_MAX_KBUF_SIZE;
	info.nr_stats = KUBUF_STAT_NR;

	if (copy_to_user(argp, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static int kubuf_ioctl_get_stats(void __user *argp)
{
	struct kubuf_stats st;
	int i;

	if (copy_from_user(&st, argp, sizeof(st)))
		return -EFAULT;
	if (st.flags)
		return -EINVAL;

	memset(&st, 0, sizeof(st));
	st.nr_counters = KUBUF_STAT_NR;
	for (i = 0; i < KUBUF_STAT_NR; i++)
		st.counters[i] = atomic64_read(&kubuf_stats[i]);

	if (copy_to_user(argp, &st, sizeof(st)))
		return -EFAULT;
	return 0;
}

static long kubuf_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case KUBUF_IOC_GET_INFO:
		return kubuf_ioctl_get_info(argp);
	case KUBUF_IOC_GET_STATS:
		return kubuf_ioctl_get_stats(argp);
	default:
		return -ENOIOCTLCMD;
	}
}

static const struct file_operations kubuf_fops = {
	.owner		= THIS_MODULE,
	.open		= kubuf_open,
	.release	= kubuf_release,
	.unlocked_ioctl	= kubuf_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

/*
 * Root only by default; packaging ships a udev rule that opens the device
 * to a "kubuf" group. Every resource a file can hold is bounded per file
 * and accounted to its user (RLIMIT_MEMLOCK, memory cgroup).
 */
static struct miscdevice kubuf_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= KUBUF_DEVICE_NAME,
	.fops	= &kubuf_fops,
	.mode	= 0600,
};

static int __init kubuf_init(void)
{
	int ret;

	ret = misc_register(&kubuf_misc);
	if (ret) {
		pr_err("cannot register /dev/%s: %d\n", KUBUF_DEVICE_NAME, ret);
		return ret;
	}
	return 0;
}

static void __exit kubuf_exit(void)
{
	misc_deregister(&kubuf_misc);
}

module_init(kubuf_init);
module_exit(kubuf_exit);

MODULE_DESCRIPTION("Memory shared between a driver and an application");
MODULE_AUTHOR("The kubuf authors");
MODULE_LICENSE("GPL");
