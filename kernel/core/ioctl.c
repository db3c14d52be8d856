// SPDX-License-Identifier: GPL-2.0
/*
 * The ioctl table: every ioctl of the ABI (include/uapi/linux/kubuf.h),
 * one entry each, with the two rules that apply to all of them:
 *
 *   RDWR     the call changes the file's state (makes, frees, starts or
 *            binds something): it needs a descriptor opened O_RDWR, or
 *            fails with -EBADF. The others only read.
 *   ANYTIME  the call works after the device was removed
 *            (kubuf_device_destroy): GET_INFO and GET_EVENTS, so the
 *            application can learn what happened. Every other call then
 *            fails with -ENODEV.
 *
 * A handler runs without the device's SRCU section: it may wait on the
 * application's memory (a fault served by userfaultfd) for as long as
 * the application likes, and the device's removal must not wait for
 * that. Only the calls into the driver (its kubuf_ops) are made inside
 * the section (kubuf_dev_enter), one at a time, on kernel memory. A call
 * that got past the check below when the device was being removed finds
 * it removed where it would make something new (-ENODEV, under the
 * file's lock) or runs nothing of the driver's. The device's own part of
 * a call (a command, a stream, UCOPY) is the driver's; a device without
 * it answers -EOPNOTSUPP.
 */
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/nospec.h>
#include <linux/uaccess.h>

#include "internal.h"

#define KUBUF_IOCF_RDWR		BIT(0)
#define KUBUF_IOCF_ANYTIME	BIT(1)

static int kubuf_ioc_get_info(struct kubuf_file *kf, void __user *argp)
{
	struct kubuf_info info;

	memset(&info, 0, sizeof(info));
	info.abi_version = KUBUF_ABI_VERSION;
	info.page_size = PAGE_SIZE;
	info.features = kf->kd->features;	/* not ops: may be gone */
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

static int kubuf_ioc_get_stats(struct kubuf_file *kf, void __user *argp)
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

static int kubuf_ioc_set_eventfd(struct kubuf_file *kf, void __user *argp)
{
	return kubuf_notify_set_eventfd(&kf->notify, argp);
}

static int kubuf_ioc_get_events(struct kubuf_file *kf, void __user *argp)
{
	return kubuf_notify_get_events(&kf->notify, argp);
}

struct kubuf_ioc {
	unsigned int cmd;
	unsigned int flags;
	int (*fn)(struct kubuf_file *kf, void __user *argp);
};

#define KUBUF_IOC(nm, f, handler) \
	[_IOC_NR(KUBUF_IOC_##nm)] = { KUBUF_IOC_##nm, f, handler }

static const struct kubuf_ioc kubuf_iocs[] = {
	KUBUF_IOC(GET_INFO,	 KUBUF_IOCF_ANYTIME, kubuf_ioc_get_info),
	KUBUF_IOC(GET_STATS,	 0, kubuf_ioc_get_stats),
	KUBUF_IOC(SET_EVENTFD,	 KUBUF_IOCF_RDWR, kubuf_ioc_set_eventfd),
	KUBUF_IOC(GET_EVENTS,	 KUBUF_IOCF_ANYTIME, kubuf_ioc_get_events),
	KUBUF_IOC(UBUF_REGISTER, KUBUF_IOCF_RDWR, kubuf_ioc_ubuf_register),
	KUBUF_IOC(UBUF_UNREGISTER, KUBUF_IOCF_RDWR, kubuf_ioc_ubuf_unregister),
	KUBUF_IOC(UBUF_QUERY,	 0, kubuf_ioc_ubuf_query),
	KUBUF_IOC(UCOPY,	 0, kubuf_ioc_ucopy),
	KUBUF_IOC(KBUF_ALLOC,	 KUBUF_IOCF_RDWR, kubuf_ioc_kbuf_alloc),
	KUBUF_IOC(KBUF_FREE,	 KUBUF_IOCF_RDWR, kubuf_ioc_kbuf_free),
	KUBUF_IOC(DEV_CMD,	 KUBUF_IOCF_RDWR, kubuf_ioc_dev_cmd),
	KUBUF_IOC(RING_ATTACH,	 KUBUF_IOCF_RDWR, kubuf_ioc_ring_attach),
	KUBUF_IOC(RING_DETACH,	 KUBUF_IOCF_RDWR, kubuf_ioc_ring_detach),
	KUBUF_IOC(RING_QUERY,	 0, kubuf_ioc_ring_query),
	KUBUF_IOC(RING_KICK,	 KUBUF_IOCF_RDWR, kubuf_ioc_ring_kick),
	KUBUF_IOC(STREAM_START,	 KUBUF_IOCF_RDWR, kubuf_ioc_stream_start),
	KUBUF_IOC(STREAM_STOP,	 KUBUF_IOCF_RDWR, kubuf_ioc_stream_stop),
};

/* A state-changing call needs an fd opened for reading and writing. */
static bool kubuf_file_writable(const struct file *file)
{
	return (file->f_mode & (FMODE_READ | FMODE_WRITE)) ==
	       (FMODE_READ | FMODE_WRITE);
}

long kubuf_fop_ioctl(struct file *file, unsigned int cmd,
		     unsigned long arg)
{
	struct kubuf_file *kf = file->private_data;
	const struct kubuf_ioc *ioc;
	unsigned int nr = _IOC_NR(cmd);

	if (_IOC_TYPE(cmd) != KUBUF_IOC_MAGIC || nr >= ARRAY_SIZE(kubuf_iocs))
		return -ENOTTY;
	nr = array_index_nospec(nr, ARRAY_SIZE(kubuf_iocs));
	ioc = &kubuf_iocs[nr];
	if (!ioc->fn || ioc->cmd != cmd)
		return -ENOTTY;
	if ((ioc->flags & KUBUF_IOCF_RDWR) && !kubuf_file_writable(file))
		return -EBADF;

	if (READ_ONCE(kf->kd->closing) && !(ioc->flags & KUBUF_IOCF_ANYTIME))
		return -ENODEV;
	return ioc->fn(kf, (void __user *)arg);
}
