// SPDX-License-Identifier: GPL-2.0
/*
 * kubuf core - memory shared between a driver and an application.
 *
 * This file is the kubuf device (one per driver device: its misc device,
 * its workers, its files): create and destroy, open, release, read, mmap
 * and poll. The ioctls are in ioctl.c, each technique in a file of its
 * own (see internal.h); this comment is the map of the whole core.
 *
 * Object model
 * ------------
 *
 *   driver --kubuf_device_create--> kubuf_device --ops--> the driver's part
 *                                       |  (misc device, workers, SRCU)
 *                                       | files
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
 *   - each open file holds the core module (fops.owner): rmmod of the
 *     core fails with -EBUSY while a file or a mapping remains; a driver
 *     module can go once it destroyed its devices (below);
 *   - each open file, and each driver buffer, holds its kubuf_device; the
 *     driver holds it from create to destroy;
 *   - a ring in a driver buffer holds the buffer; a ring in a registration
 *     holds it only for one burst of the device at a time (ring.c), and
 *     dies when the registration is revoked. release() stops every ring
 *     first, before registrations are revoked;
 *   - every object a user creates holds the kubuf_user it is charged to
 *     (limits.c), the file included, so charges go back to whoever paid.
 *
 * Device work. Commands, streams and command rings run on the device's
 * fixed pool of workers (cmd.c), a bounded slice at a time, taking turns:
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
 * Removal. kubuf_device_destroy() (the driver's remove) deregisters the
 * misc device and marks the device closing: calls of the applications
 * fail with -ENODEV from then on (GET_INFO and GET_EVENTS excepted), and
 * a call already past that check makes nothing new (each creation looks
 * again under kubuf_file.lock). It waits (SRCU) for the calls into the
 * driver in progress; the ioctls themselves are not waited for, since
 * they may wait on the application's memory as long as it likes (a
 * userfaultfd), and no callback touches user memory (copy.c). Then, for
 * each open file, it revokes every registration (telling the driver,
 * ->revoke), stops every ring (DEAD) and tells the application
 * (KUBUF_EVENT_REMOVED, POLLHUP); commands in flight end with -ESHUTDOWN
 * at their next slice. Then it marks the device gone: no callback after
 * that. Last, the device's own memory goes with it: every mapping of a
 * DMA driver buffer is taken out of the applications' page tables, and
 * the memory given back to the DMA API while the driver's device is
 * still there (kbuf.c): an application touching such a mapping from then
 * on gets SIGBUS. Driver buffers of pages are the application's memory
 * and stay readable; the files live on until the application closes and
 * unmaps them.
 *
 * Lock order
 * ----------
 *
 *   kubuf_device.lock (mutex; open, release and destroy only)
 *   kubuf_file.lock (mutex)
 *     kubuf_ring.prod_lock (mutex)
 *       kubuf_ubuf.lock (spinlock)
 *   kubuf_notify.lock (spinlock, leaf; taken in any context, nests in any)
 *   kubuf_device.dma_lock (mutex, leaf: a DMA buffer's last munmap takes
 *     it under mmap_lock; removal alone, after every other step)
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
 * kubuf_stats[] counts every object user space can make the core hold,
 * for all its devices. KUBUF_IOC_GET_STATS exports them to CAP_SYS_ADMIN,
 * and debugfs (kubuf/stats) to root: they show every user's activity.
 * The test suite checks after every test that each is back to its
 * baseline, which is how leaks are caught.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "internal.h"

#define KUBUF_DEV_WORKERS	4		/* work items running at once */

atomic64_t kubuf_stats[KUBUF_STAT_NR];

static struct dentry *kubuf_debugfs;

/* Frees devices: never from a device's own workers (see kubuf_device_put). */
static struct workqueue_struct *kubuf_core_wq;

/* The names of the devices between create and destroy: each is unique. */
static DEFINE_MUTEX(kubuf_names_lock);
static LIST_HEAD(kubuf_names);

/* Take @kd's name, or -EEXIST: misc_register() would warn, not refuse. */
static int kubuf_name_take(struct kubuf_device *kd)
{
	struct kubuf_device *o;
	int ret = 0;

	mutex_lock(&kubuf_names_lock);
	list_for_each_entry(o, &kubuf_names, name_node)
		if (!strcmp(o->name, kd->name))
			ret = -EEXIST;
	if (!ret)
		list_add_tail(&kd->name_node, &kubuf_names);
	mutex_unlock(&kubuf_names_lock);
	return ret;
}

static void kubuf_name_drop(struct kubuf_device *kd)
{
	mutex_lock(&kubuf_names_lock);
	list_del(&kd->name_node);
	mutex_unlock(&kubuf_names_lock);
}

/* --- files ------------------------------------------------------------------ */

/**
 * kubuf_file_get() - keep @kf beyond the callback that met it.
 * @kf:	the file.
 *
 * The structure stays (kubuf_notify() works on it), not the application's
 * file: a file released meanwhile has no registration and no eventfd.
 * Context: any.
 */
void kubuf_file_get(struct kubuf_file *kf)
{
	kref_get(&kf->ref);
}
EXPORT_SYMBOL_GPL(kubuf_file_get);

static void kubuf_file_free(struct kref *ref)
{
	struct kubuf_file *kf = container_of(ref, struct kubuf_file, ref);
	struct kubuf_device *kd = kf->kd;

	WARN_ON(!xa_empty(&kf->ubufs) || !xa_empty(&kf->kbufs) ||
		!xa_empty(&kf->rings) || !list_empty(&kf->cmds));
	xa_destroy(&kf->ubufs);
	xa_destroy(&kf->kbufs);
	xa_destroy(&kf->rings);
	mutex_destroy(&kf->lock);
	kfree(kf);
	kubuf_stat_dec(KUBUF_STAT_OPEN_FILES);
	kubuf_device_put(kd);
}

/**
 * kubuf_file_put() - give back a reference of kubuf_file_get().
 * @kf:	the file.
 *
 * Context: process.
 */
void kubuf_file_put(struct kubuf_file *kf)
{
	kref_put(&kf->ref, kubuf_file_free);
}
EXPORT_SYMBOL_GPL(kubuf_file_put);

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

/**
 * kubuf_file_device() - the device @kf was opened on.
 * @kf:	the file.
 *
 * Context: any.
 */
struct kubuf_device *kubuf_file_device(const struct kubuf_file *kf)
{
	return kf->kd;
}
EXPORT_SYMBOL_GPL(kubuf_file_device);

/* misc_open() holds misc_mtx: kubuf_device_destroy() cannot be past
 * misc_deregister(), so the device is alive.
 */
static int kubuf_fop_open(struct inode *inode, struct file *file)
{
	struct kubuf_device *kd = container_of(file->private_data,
					       struct kubuf_device, misc);
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
	kubuf_device_get(kd);
	kf->kd = kd;
	kf->mapping = file->f_mapping;

	mutex_lock(&kd->lock);
	list_add_tail(&kf->node, &kd->files);
	mutex_unlock(&kd->lock);

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
static int kubuf_fop_release(struct inode *inode, struct file *file)
{
	struct kubuf_file *kf = file->private_data;
	struct kubuf_device *kd = kf->kd;

	/* Out of the device's list first: a removal waits for us, or ... */
	mutex_lock(&kd->lock);
	list_del_init(&kf->node);
	mutex_unlock(&kd->lock);

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

static int kubuf_fop_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct kubuf_file *kf = file->private_data;

	/* A buffer mapped after all stays what it is: memory. */
	if (READ_ONCE(kf->kd->closing))
		return -ENODEV;
	return kubuf_kbuf_mmap(kf, file, vma);
}

static ssize_t kubuf_fop_read(struct file *file, char __user *buf,
			      size_t len, loff_t *ppos)
{
	struct kubuf_file *kf = file->private_data;

	if (READ_ONCE(kf->kd->closing))
		return -ENODEV;
	return kubuf_read(kf, buf, len);
}

static __poll_t kubuf_fop_poll(struct file *file, poll_table *pt)
{
	struct kubuf_file *kf = file->private_data;
	__poll_t mask = kubuf_notify_poll(&kf->notify, file, pt);

	if (READ_ONCE(kf->kd->closing))
		mask |= EPOLLHUP | EPOLLERR;
	return mask;
}

static const struct file_operations kubuf_fops = {
	.owner		= THIS_MODULE,
	.open		= kubuf_fop_open,
	.release	= kubuf_fop_release,
	.read		= kubuf_fop_read,
	.poll		= kubuf_fop_poll,
	.mmap		= kubuf_fop_mmap,
	.unlocked_ioctl	= kubuf_fop_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

/* --- devices ------------------------------------------------------------------ */

/* Every feature the core has whatever the driver; the rest are its ops'. */
static u64 kubuf_features(const struct kubuf_device *kd)
{
	u64 f = KUBUF_FEAT_STATS | KUBUF_FEAT_UBUF | KUBUF_FEAT_EVENTS |
		KUBUF_FEAT_RING | kubuf_kbuf_features(kd);

	if (kd->ops->ucopy)
		f |= KUBUF_FEAT_UCOPY;
	if (kd->ops->cmd_check)
		f |= KUBUF_FEAT_DEVICE;
	if (kd->ops->stream_burst)
		f |= KUBUF_FEAT_STREAM;
	if (kd->ops->stream_burst &&
	    (kd->ops->stream_flags & KUBUF_STREAM_BARE))
		f |= KUBUF_FEAT_STREAM_BARE;
	return f;
}

void kubuf_device_get(struct kubuf_device *kd)
{
	kref_get(&kd->ref);
}

static void kubuf_device_free_work(struct work_struct *work)
{
	struct kubuf_device *kd = container_of(work, struct kubuf_device,
					       free_work);

	destroy_workqueue(kd->wq);
	cleanup_srcu_struct(&kd->srcu);
	put_device(kd->dev);
	mutex_destroy(&kd->dma_lock);
	mutex_destroy(&kd->lock);
	kfree(kd);
}

/*
 * The last put may come from the device's own workers (a command
 * dropping its file), where destroying their workqueue would wait for
 * itself: the core's own workqueue frees it.
 */
static void kubuf_device_release(struct kref *ref)
{
	struct kubuf_device *kd = container_of(ref, struct kubuf_device, ref);

	queue_work(kubuf_core_wq, &kd->free_work);
}

void kubuf_device_put(struct kubuf_device *kd)
{
	kref_put(&kd->ref, kubuf_device_release);
}

/**
 * kubuf_device_create() - make a kubuf device for a driver's device.
 * @dev:	the driver's device: the parent of the /dev node, and the
 *		device DMA driver buffers are allocated for (a reference is
 *		taken); NULL for a device without DMA.
 * @name:	the /dev node's name, unique among kubuf devices and not that
 *		of another misc device (at most 31 characters, no '/').
 * @ops:	the driver's part; lives until kubuf_device_destroy().
 * @priv:	the driver's pointer (kubuf_device_priv()).
 *
 * The node appears at once: callbacks can be called before this returns.
 * Context: process.
 * Return: the device, or an ERR_PTR: -EINVAL (a bad name or @ops),
 * -EEXIST (the name is taken), -ENOMEM.
 */
struct kubuf_device *kubuf_device_create(struct device *dev, const char *name,
					 const struct kubuf_ops *ops,
					 void *priv)
{
	struct kubuf_device *kd;
	int ret;

	if (!ops || !name || !*name || strchr(name, '/'))
		return ERR_PTR(-EINVAL);
	if (!ops->cmd_check != !ops->cmd_slice)
		return ERR_PTR(-EINVAL);
	if (!ops->stream_burst &&
	    (ops->stream_start || ops->stream_stop || ops->ring_priv))
		return ERR_PTR(-EINVAL);

	kd = kzalloc(sizeof(*kd), GFP_KERNEL);
	if (!kd)
		return ERR_PTR(-ENOMEM);
	if (strscpy(kd->name, name, sizeof(kd->name)) < 0) {
		ret = -EINVAL;
		goto err_free;
	}
	kref_init(&kd->ref);
	mutex_init(&kd->lock);
	INIT_LIST_HEAD(&kd->files);
	mutex_init(&kd->dma_lock);
	INIT_LIST_HEAD(&kd->dma_kbufs);
	INIT_WORK(&kd->free_work, kubuf_device_free_work);
	kd->ops = ops;
	kd->priv = priv;
	ret = init_srcu_struct(&kd->srcu);
	if (ret)
		goto err_free;
	kd->wq = alloc_workqueue("%s-dev", WQ_UNBOUND, KUBUF_DEV_WORKERS,
				 kd->name);
	if (!kd->wq) {
		ret = -ENOMEM;
		goto err_srcu;
	}
	kd->dev = get_device(dev);
	kd->features = kubuf_features(kd);
	kd->flags = ops->flags;
	kd->can_read = ops->read;
	kd->can_stream = ops->stream_burst;
	kd->ring_priv = ops->ring_priv;

	kd->misc.minor = MISC_DYNAMIC_MINOR;
	kd->misc.name = kd->name;
	kd->misc.fops = &kubuf_fops;
	kd->misc.parent = dev;
	/*
	 * Root only by default; packaging ships a udev rule that opens the
	 * device to a "kubuf" group. Every resource a file can hold is
	 * bounded per file and accounted to its user.
	 */
	kd->misc.mode = 0600;
	ret = kubuf_name_take(kd);
	if (ret)
		goto err_dev;
	ret = misc_register(&kd->misc);
	if (ret) {
		pr_err("cannot register /dev/%s: %d\n", kd->name, ret);
		goto err_name;
	}
	return kd;

err_name:
	kubuf_name_drop(kd);
err_dev:
	put_device(kd->dev);
	destroy_workqueue(kd->wq);
err_srcu:
	cleanup_srcu_struct(&kd->srcu);
err_free:
	mutex_destroy(&kd->dma_lock);
	mutex_destroy(&kd->lock);
	kfree(kd);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_GPL(kubuf_device_create);

/* The device is gone: @kf's memory is revoked, its rings stopped. */
static void kubuf_file_unplug(struct kubuf_file *kf)
{
	kubuf_file_revoke(kf);
	kubuf_ring_unplug(kf);
	kubuf_notify_event(&kf->notify, KUBUF_EVENT_REMOVED);
	kubuf_notify_hangup(&kf->notify);
}

/**
 * kubuf_device_revoke() - revoke every registration of every file of @kd.
 * @kd:	the device.
 *
 * As kubuf_file_revoke() for each file (a reset of the whole device).
 * Context: process; the caller holds no memory of any file of @kd.
 */
void kubuf_device_revoke(struct kubuf_device *kd)
{
	struct kubuf_file *kf;

	mutex_lock(&kd->lock);
	list_for_each_entry(kf, &kd->files, node)
		kubuf_file_revoke(kf);
	mutex_unlock(&kd->lock);
}
EXPORT_SYMBOL_GPL(kubuf_device_revoke);

/**
 * kubuf_device_destroy() - remove a kubuf device (the driver's remove).
 * @kd:	the device, from kubuf_device_create().
 *
 * The /dev node goes and every call of the applications fails from now
 * on with -ENODEV (GET_INFO and GET_EVENTS excepted); the callbacks in
 * progress are waited for (a command's slice finishes its transfer),
 * not the applications' calls, which run no driver code from now on;
 * every registration of every open file is revoked (the driver's
 * ->revoke is called for each, so that it stops DMA it started on its
 * own, and the holds are waited for) and every ring stopped, and the
 * applications are told (KUBUF_EVENT_REMOVED, POLLHUP). Last, once the
 * driver's own holds on DMA driver buffers (kubuf_mem_get()) are given
 * back, their memory is freed (their mappings raise SIGBUS from then
 * on). When this returns, no callback of @kd runs or
 * will run, no memory of the DMA API is held for @dev, and the driver
 * may stop its device, free what its callbacks use and unload. Open
 * files live on until closed.
 * Context: process; the caller itself holds no memory of @kd's files
 * (holds of its work items are waited for, and must end without it).
 */
void kubuf_device_destroy(struct kubuf_device *kd)
{
	struct kubuf_file *kf;

	misc_deregister(&kd->misc);	/* no open from now on */
	kubuf_name_drop(kd);
	/* No call gets in, nothing new starts, no memory is alive ... */
	WRITE_ONCE(kd->closing, true);
	/* ... once the calls and callbacks in progress are over. */
	synchronize_srcu(&kd->srcu);

	/* Revocation still tells the driver (->revoke), and waits. */
	mutex_lock(&kd->lock);
	list_for_each_entry(kf, &kd->files, node)
		kubuf_file_unplug(kf);
	mutex_unlock(&kd->lock);

	/* No callback from now on; those begun meanwhile have ended. */
	WRITE_ONCE(kd->gone, true);
	synchronize_srcu(&kd->srcu);
	/* Work queued before (read()'s abandoned calls) has run. */
	flush_workqueue(kd->wq);
	/* Nothing of the core touches the device's memory now: it goes. */
	kubuf_kbuf_unplug(kd);
	kubuf_device_put(kd);
}
EXPORT_SYMBOL_GPL(kubuf_device_destroy);

/**
 * kubuf_device_priv() - the driver's pointer given at create.
 * @kd:	the device.
 *
 * Context: any.
 */
void *kubuf_device_priv(const struct kubuf_device *kd)
{
	return kd->priv;
}
EXPORT_SYMBOL_GPL(kubuf_device_priv);

/**
 * kubuf_device_dev() - the driver's device given at create, or NULL.
 * @kd:	the device.
 *
 * Context: any.
 */
struct device *kubuf_device_dev(const struct kubuf_device *kd)
{
	return kd->dev;
}
EXPORT_SYMBOL_GPL(kubuf_device_dev);

/* --- the module ------------------------------------------------------------- */

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

static int __init kubuf_core_init(void)
{
	kubuf_core_wq = alloc_workqueue("kubuf-core", 0, 0);
	if (!kubuf_core_wq)
		return -ENOMEM;
	/* Optional: without debugfs the counters are GET_STATS's only. */
	kubuf_debugfs = debugfs_create_dir(KUBUF_DEVICE_NAME, NULL);
	debugfs_create_file("stats", 0400, kubuf_debugfs, NULL,
			    &kubuf_stats_fops);
	kubuf_kbuf_debugfs(kubuf_debugfs);
	return 0;
}

/* No file is open (each holds the module): devices left are being freed. */
static void __exit kubuf_core_exit(void)
{
	debugfs_remove(kubuf_debugfs);
	destroy_workqueue(kubuf_core_wq);
}

module_init(kubuf_core_init);
module_exit(kubuf_core_exit);

MODULE_DESCRIPTION("Memory shared between drivers and applications: the core");
MODULE_AUTHOR("The kubuf authors");
MODULE_LICENSE("GPL");
MODULE_VERSION(KUBUF_VERSION);
