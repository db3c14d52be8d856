// SPDX-License-Identifier: GPL-2.0
/*
 * kubuf - memory shared between a driver and an application.
 *
 * This file is the misc device /dev/kubuf: open, release and the ioctl
 * and mmap dispatch. Each technique lives in a file of its own (see
 * kubuf.h); this comment is the map of the whole module.
 *
 * Object model
 * ------------
 *
 *   struct file --private_data--> kubuf_file --ubufs--> kubuf_ubuf (pins)
 *        ^                         |    ^   \--kbufs--> kubuf_kbuf (pages)
 *        |                         |    |   \--rings--> kubuf_ring (work)
 *      VMA (vm_file)            notify  +-- kubuf_cmd -----+ (device work)
 *
 * One kubuf_file per open file description, created by open(). release()
 * runs once the last reference to the struct file is gone: the last
 * close() of any duplicate (dup, fork, SCM_RIGHTS) *and* the last VMA
 * mapping the device, since every VMA holds its vm_file. Nothing is torn
 * down in ->flush(): a close() by one holder of a duplicated descriptor
 * says nothing about the others. ->release() may run in any process or in
 * a kernel worker (a dying task's last fput() is deferred), so nothing
 * there refers to "current": whatever is un-accounted then was saved when
 * it was accounted (the registering user and mm).
 *
 * References:
 *   - the struct file holds the kubuf_file (kref), and so does each device
 *     command in flight (kubuf_cmd), so a command finishing after release
 *     still finds the file's notify state;
 *   - the file's xarrays hold each kubuf_ubuf and kubuf_kbuf;
 *   - a device command holds what it touches: a registration through its
 *     "users" count (revocation waits for it to drop), a driver buffer
 *     through the buffer's kref;
 *   - each VMA holds the kubuf_kbuf it maps (vm_ops open/close), so a
 *     buffer freed while mapped lives until its last munmap;
 *   - each open file holds the module (fops.owner): rmmod fails with
 *     -EBUSY while a file or a mapping remains;
 *   - a ring in a driver buffer holds the buffer; a ring in a registration
 *     holds it only for one burst of the device at a time (ring.c), and
 *     dies when the registration is revoked. release() stops every ring
 *     first, before registrations are revoked;
 *   - every object a user creates holds the kubuf_user it is charged to
 *     (limits.c), the file included, so charges go back to whoever paid.
 *
 * Device work. Commands, streams and command rings run on the device's
 * fixed pool of workers (sim.c), a bounded slice at a time, taking turns:
 * no kernel thread is created per object, and a registration is held by
 * the device only during a slice, so revocation never waits for queued
 * work.
 *
 * Asynchronous writers are stopped before the memory they write goes: a
 * registration is first marked REVOKED (the device checks between pages),
 * then its users are waited for, and only then is it unmapped and
 * unpinned. release() also sets kubuf_file.released so that every device
 * command of the file stops at its next page.
 *
 * Lock order
 * ----------
 *
 *   kubuf_file.lock (mutex)
 *     kubuf_ring.prod_lock (mutex)
 *       kubuf_ubuf.lock (spinlock)
 *   kubuf_notify.lock (spinlock, leaf; taken in any context, nests in any)
 *
 * Waiting for a registration's users happens under kubuf_file.lock; it is
 * safe because the device never takes kubuf_file.lock while it holds a
 * registration. Module-wide counters are atomics and take no lock.
 *
 * mmap offsets
 * ------------
 *
 * KUBUF_IOC_KBUF_ALLOC returns the offset that names a driver buffer in
 * mmap() of the device. Each id owns a 256 MiB window of the offset space
 * (the largest buffer); id 0 is never allocated, so offset 0 maps nothing:
 *
 *   offset  0            1 << 28       2 << 28       id << 28
 *           +------------+-------------+-------------+- ... -+----------+
 *           | no buffer  | id 1: size  | id 2: size  |       | id ...   |
 *           +------------+--^----------+-------------+- ... -+----------+
 *                           (1 << 28) + k * PAGE_SIZE maps id 1 from page k
 *
 * A mapping must lie inside one live buffer of the mapping file, or mmap()
 * fails with -EINVAL; see kbuf.c.
 *
 * Counters
 * --------
 *
 * kubuf_stats[] counts every object user space can make the module hold.
 * KUBUF_IOC_GET_STATS exports them to CAP_SYS_ADMIN, and debugfs
 * (kubuf/stats) to root: they show every user's activity. The test suite
 * checks after every test that each is back to its baseline, which is
 * how leaks are caught.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "kubuf.h"

atomic64_t kubuf_stats[KUBUF_STAT_NR];

static struct dentry *kubuf_debugfs;

void kubuf_file_get(struct kubuf_file *kf)
{
	kref_get(&kf->ref);
}

static void kubuf_file_free(struct kref *ref)
{
	struct kubuf_file *kf = container_of(ref, struct kubuf_file, ref);

	WARN_ON(!xa_empty(&kf->ubufs) || !xa_empty(&kf->kbufs) ||
		!xa_empty(&kf->rings) || !list_empty(&kf->cmds));
	xa_destroy(&kf->ubufs);
	xa_destroy(&kf->kbufs);
	xa_destroy(&kf->rings);
	mutex_destroy(&kf->lock);
	kfree(kf);
	kubuf_stat_dec(KUBUF_STAT_OPEN_FILES);
}

void kubuf_file_put(struct kubuf_file *kf)
{
	kref_put(&kf->ref, kubuf_file_free);
}

/*
 * Take one of the @max object slots of @kf counted by @nr (nr_ubufs,
 * nr_kbufs) before any costly work, so a full file pins or allocates
 * nothing. -ENOSPC when none is left.
 */
int kubuf_file_reserve(struct kubuf_file *kf, u32 *nr, u32 max)
{
	int ret = 0;

	mutex_lock(&kf->lock);
	if (*nr >= max)
		ret = -ENOSPC;
	else
		(*nr)++;
	mutex_unlock(&kf->lock);
	return ret;
}

/* Give back a slot taken by kubuf_file_reserve() for an object not made. */
void kubuf_file_unreserve(struct kubuf_file *kf, u32 *nr)
{
	mutex_lock(&kf->lock);
	(*nr)--;
	mutex_unlock(&kf->lock);
}

/* The argument of UNREGISTER and FREE: -EFAULT, -EINVAL for any flag. */
int kubuf_id_from_user(const void __user *argp, u32 *id)
{
	struct kubuf_id arg;

	if (copy_from_user(&arg, argp, sizeof(arg)))
		return -EFAULT;
	if (arg.flags)
		return -EINVAL;
	*id = arg.id;
	return 0;
}

static int kubuf_open(struct inode *inode, struct file *file)
{
	struct kubuf_user *user;
	struct kubuf_file *kf;
	int ret;

	ret = nonseekable_open(inode, file);
	if (ret)
		return ret;

	ret = kubuf_user_charge(KUBUF_LIMIT_FILES, 1, &user);
	if (ret)
		return ret;

	kf = kzalloc(sizeof(*kf), GFP_KERNEL_ACCOUNT);
	if (!kf) {
		kubuf_user_uncharge(user, KUBUF_LIMIT_FILES, 1);
		return -ENOMEM;
	}
	kf->user = user;		/* the charge's reference */
	kref_init(&kf->ref);
	mutex_init(&kf->lock);
	xa_init_flags(&kf->ubufs, XA_FLAGS_ALLOC1);
	xa_init_flags(&kf->kbufs, XA_FLAGS_ALLOC1);
	xa_init_flags(&kf->rings, XA_FLAGS_ALLOC1);
	atomic_set(&kf->nr_cmds, 0);
	INIT_LIST_HEAD(&kf->cmds);
	kubuf_notify_init(&kf->notify);

	file->private_data = kf;
	kubuf_stat_inc(KUBUF_STAT_OPEN_FILES);
	return 0;
}

/*
 * Last reference to the file: no descriptor, no mapping, no ioctl left.
 * Device commands of the file stop, registrations are revoked (waiting
 * for the device to let go) and unpinned, driver buffers lose the file's
 * reference (a buffer still mapped elsewhere cannot be: mappings hold the
 * file), the eventfd reference is dropped. Commands still in flight hold
 * the kubuf_file itself, which is freed by the last of them.
 */
static int kubuf_release(struct inode *inode, struct file *file)
{
	struct kubuf_file *kf = file->private_data;

	WRITE_ONCE(kf->released, true);
	kubuf_ring_release_all(kf);
	kubuf_ubuf_release_all(kf);
	kubuf_kbuf_release_all(kf);
	kubuf_notify_release(&kf->notify);
	kubuf_user_uncharge(kf->user, KUBUF_LIMIT_FILES, 1);
	kf->user = NULL;
	kubuf_file_put(kf);
	return 0;
}

static int kubuf_ioctl_get_info(void __user *argp)
{
	struct kubuf_info info;

	memset(&info, 0, sizeof(info));
	info.abi_version = KUBUF_ABI_VERSION;
	info.page_size = PAGE_SIZE;
	info.features = KUBUF_FEAT_STATS | KUBUF_FEAT_UBUF | KUBUF_FEAT_UCOPY |
			KUBUF_FEAT_EVENTS | KUBUF_FEAT_DEVICE | KUBUF_FEAT_RING |
			kubuf_kbuf_features();
	info.max_ubufs = KUBUF_MAX_UBUFS;
	info.max_kbufs = KUBUF_MAX_KBUFS;
	info.max_ubuf_size = KUBUF_MAX_UBUF_SIZE;
	info.max_kbuf_size = KUBUF_MAX_KBUF_SIZE;
	info.nr_stats = KUBUF_STAT_NR;
	info.max_rings = KUBUF_MAX_RINGS;
	info.user_files = kubuf_limit_info(KUBUF_LIMIT_FILES);
	info.user_rings = kubuf_limit_info(KUBUF_LIMIT_RINGS);
	info.user_cmds = kubuf_limit_info(KUBUF_LIMIT_CMDS);
	info.user_kbuf_pages = kubuf_limit_info(KUBUF_LIMIT_KBUF_PAGES);

	if (copy_to_user(argp, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static int kubuf_ioctl_get_stats(void __user *argp)
{
	struct kubuf_stats st;
	int i;

	/* Every user's activity: not for every user to see. */
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
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
	struct kubuf_file *kf = file->private_data;
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case KUBUF_IOC_GET_INFO:
		return kubuf_ioctl_get_info(argp);
	case KUBUF_IOC_GET_STATS:
		return kubuf_ioctl_get_stats(argp);
	case KUBUF_IOC_SET_EVENTFD:
		if (!kubuf_file_writable(file))
			return -EBADF;
		fallthrough;
	case KUBUF_IOC_GET_EVENTS:
		return kubuf_notify_ioctl(&kf->notify, cmd, argp);
	case KUBUF_IOC_UBUF_REGISTER:
	case KUBUF_IOC_UBUF_UNREGISTER:
	case KUBUF_IOC_UBUF_QUERY:
		return kubuf_ubuf_ioctl(kf, file, cmd, argp);
	case KUBUF_IOC_UCOPY:
		return kubuf_copy_ioctl(kf, argp);
	case KUBUF_IOC_KBUF_ALLOC:
	case KUBUF_IOC_KBUF_FREE:
		return kubuf_kbuf_ioctl(kf, file, cmd, argp);
	case KUBUF_IOC_DEV_CMD:
		if (!kubuf_file_writable(file))
			return -EBADF;
		return kubuf_sim_cmd_ioctl(kf, argp);
	case KUBUF_IOC_RING_QUERY:
		return kubuf_ring_ioctl(kf, cmd, argp);
	case KUBUF_IOC_RING_ATTACH:
	case KUBUF_IOC_RING_DETACH:
	case KUBUF_IOC_RING_KICK:
	case KUBUF_IOC_STREAM_START:
	case KUBUF_IOC_STREAM_STOP:
		if (!kubuf_file_writable(file))
			return -EBADF;
		return kubuf_ring_ioctl(kf, cmd, argp);
	default:
		return -ENOIOCTLCMD;
	}
}

static int kubuf_mmap(struct file *file, struct vm_area_struct *vma)
{
	return kubuf_kbuf_mmap(file->private_data, file, vma);
}

static ssize_t kubuf_read(struct file *file, char __user *buf, size_t len,
			  loff_t *ppos)
{
	return kubuf_copy_read(file->private_data, buf, len);
}

static __poll_t kubuf_poll(struct file *file, poll_table *pt)
{
	struct kubuf_file *kf = file->private_data;

	return kubuf_notify_poll(&kf->notify, file, pt);
}

static const struct file_operations kubuf_fops = {
	.owner		= THIS_MODULE,
	.open		= kubuf_open,
	.release	= kubuf_release,
	.read		= kubuf_read,
	.poll		= kubuf_poll,
	.mmap		= kubuf_mmap,
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

static const char *const kubuf_stat_names[KUBUF_STAT_NR] = {
	[KUBUF_STAT_OPEN_FILES]		= "open_files",
	[KUBUF_STAT_UBUFS]		= "ubufs",
	[KUBUF_STAT_PINNED_PAGES]	= "pinned_pages",
	[KUBUF_STAT_KBUFS]		= "kbufs",
	[KUBUF_STAT_KBUF_PAGES]		= "kbuf_pages",
	[KUBUF_STAT_MAPPINGS]		= "mappings",
	[KUBUF_STAT_EVENTFD_REFS]	= "eventfd_refs",
	[KUBUF_STAT_RINGS]		= "rings",
	[KUBUF_STAT_CMDS]		= "cmds",
	[KUBUF_STAT_USERS]		= "users",
};

/* debugfs kubuf/stats: the counters, "name value" a line (root only). */
static int kubuf_stats_show(struct seq_file *m, void *v)
{
	int i;

	for (i = 0; i < KUBUF_STAT_NR; i++)
		seq_printf(m, "%s %lld\n", kubuf_stat_names[i],
			   (long long)atomic64_read(&kubuf_stats[i]));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kubuf_stats);

static int __init kubuf_init(void)
{
	int ret;

	/* The DMA device first: the device's last command may free a buffer. */
	ret = kubuf_kbuf_init();
	if (ret)
		return ret;
	ret = kubuf_sim_init();
	if (ret)
		goto err_kbuf;
	ret = misc_register(&kubuf_misc);
	if (ret) {
		pr_err("cannot register /dev/%s: %d\n", KUBUF_DEVICE_NAME, ret);
		goto err_sim;
	}
	/* Optional: without debugfs the counters are GET_STATS's only. */
	kubuf_debugfs = debugfs_create_dir(KUBUF_DEVICE_NAME, NULL);
	debugfs_create_file("stats", 0400, kubuf_debugfs, NULL,
			    &kubuf_stats_fops);
	kubuf_kbuf_debugfs(kubuf_debugfs);
	return 0;

err_sim:
	kubuf_sim_exit();
err_kbuf:
	kubuf_kbuf_exit();
	return ret;
}

static void __exit kubuf_exit(void)
{
	debugfs_remove(kubuf_debugfs);
	misc_deregister(&kubuf_misc);
	kubuf_sim_exit();
	kubuf_kbuf_exit();
}

module_init(kubuf_init);
module_exit(kubuf_exit);

MODULE_DESCRIPTION("Memory shared between a driver and an application");
MODULE_AUTHOR("The kubuf authors");
MODULE_LICENSE("GPL");
MODULE_VERSION(KUBUF_VERSION);
