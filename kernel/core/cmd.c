// SPDX-License-Identifier: GPL-2.0
/*
 * Device commands: the engine that runs a driver's work on memory shared
 * with an application, from the device's own context, never from the
 * application's system call.
 *
 * Workers. Everything a device does for an application (commands,
 * streams, command rings, read()'s device part) runs as work items on the
 * device's workqueue (kubuf_device.wq), with at most KUBUF_DEV_WORKERS of
 * them running at once (per NUMA node since 6.9), however many files,
 * rings and commands users create: the device's kernel threads do not
 * grow with what users make. Commands and read() count against the
 * file's and the user's limits on commands; rings against the limits on
 * rings. Each work item does a slice of bounded length (the driver's
 * ->cmd_slice(), or one burst of a ring) and, if it has more to do,
 * queues itself again at the tail, so every piece of work of every user
 * gets its turn: a user with many long commands slows the device down
 * for others, but never stops them.
 *
 * Commands. A command (KUBUF_IOC_DEV_CMD, or a record of a command ring)
 * names its buffers by kind and id. Starting it (kubuf_cmd_start) checks
 * the fields the core knows, asks the driver (->cmd_check) which buffers
 * it uses and how, checks the ranges and takes what it needs between
 * slices: a driver buffer's reference, or a pointer to a registration
 * that revocation clears (kubuf_cmd_revoked, under kubuf_file.lock). Each
 * slice holds a registration (its "users" count) only while it runs, and
 * the driver checks before every page that the memory is still alive,
 * so revoking, unregistering and releasing wait at most for the slice in
 * progress, never for a queued command. A command of a released file, or
 * of a removed device, ends with -ESHUTDOWN at its next slice without the
 * driver being called.
 *
 * Waiting. The caller waits for an ioctl command (killably) unless it
 * asked for KUBUF_DEV_NOWAIT, in which case completion raises
 * KUBUF_EVENT_DONE. A kubuf_cmd is freed by the last of its two holders,
 * the worker and the waiter (refcount), so a killed waiter leaves the
 * worker a valid command. Commands in flight count against the file
 * (KUBUF_MAX_FILE_CMDS, -EBUSY) and their user (max_user_cmds, -EDQUOT).
 *
 * The driver's code runs inside the device's SRCU read section
 * (kubuf_dev_enter), so kubuf_device_destroy() can wait for the last
 * callback to return.
 */
#include <linux/dma-mapping.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "internal.h"

/*
 * Hold @cm's memory in @m for one slice, kubuf_file.lock held: a driver
 * buffer's is the command's own; a registration's is taken now, unless it
 * was revoked (-ESHUTDOWN).
 */
static int kubuf_cmd_hold(struct kubuf_file *kf, struct kubuf_cmd_mem *cm,
			  struct kubuf_mem *m)
{
	lockdep_assert_held(&kf->lock);

	switch (cm->kind) {
	case KUBUF_MEM_KBUF:
		*m = cm->kmem;
		m->kbuf = NULL;		/* the command's reference, not ours */
		return 0;
	case KUBUF_MEM_UBUF:
		if (!cm->ubuf)
			return -ESHUTDOWN;
		return kubuf_ubuf_dev_hold(kf, cm->ubuf, cm->access, m);
	default:
		return 0;
	}
}

/**
 * kubuf_cmd_slice() - run the next slice of a started command.
 * @c:	the command, started by kubuf_cmd_start().
 *
 * Context: a device worker; takes kubuf_file.lock, so the caller holds
 * no lock and no device reference.
 * Return: -EINPROGRESS while more is to do, else the command's status.
 */
int kubuf_cmd_slice(struct kubuf_cmd *c)
{
	struct kubuf_file *kf = c->kf;
	struct kubuf_device *kd = kf->kd;
	struct kubuf_mem d = { 0 }, s = { 0 };
	int ret, idx;

	if (READ_ONCE(kf->released) || READ_ONCE(kd->closing))
		return -ESHUTDOWN;
	if (!kubuf_dev_enter(kd, &idx))
		return -ESHUTDOWN;

	mutex_lock(&kf->lock);
	ret = kubuf_cmd_hold(kf, &c->dst, &d);
	if (!ret) {
		ret = kubuf_cmd_hold(kf, &c->src, &s);
		if (ret)
			kubuf_mem_put(&d);
	}
	mutex_unlock(&kf->lock);
	if (!ret) {
		ret = kd->ops->cmd_slice(c, &d, &s);
		kubuf_mem_put(&d);
		kubuf_mem_put(&s);
	}
	kubuf_dev_exit(kd, idx);
	return ret;
}

/* --- starting and ending ------------------------------------------------- */

/*
 * Take buffer (@kind, @id) for [@off, @off + @len) into @cm, kf->lock
 * held: a driver buffer's reference, or a registration's pointer.
 */
static int kubuf_cmd_get_mem(struct kubuf_file *kf, u32 kind, u32 id,
			     u32 access, u64 off, u64 len,
			     struct kubuf_cmd_mem *cm)
{
	struct kubuf_mem m;
	int ret;

	ret = kubuf_mem_get_locked(kf, kind, id, access, &m);
	if (ret)
		return ret;
	if (off > m.len || len > m.len - off) {
		kubuf_mem_put(&m);
		return -ERANGE;
	}
	/* A device that only DMAs cannot reach a buffer of plain pages. */
	if ((kf->kd->flags & KUBUF_DMA_ONLY) && !m.sgt &&
	    m.dma_addr == DMA_MAPPING_ERROR) {
		kubuf_mem_put(&m);
		return -EOPNOTSUPP;
	}
	cm->kind = kind;
	cm->access = access;
	if (kind == KUBUF_MEM_KBUF) {
		cm->kmem = m;
	} else {
		cm->ubuf = m.ubuf;	/* cleared by kubuf_cmd_revoked() */
		kubuf_mem_put(&m);
	}
	return 0;
}

static void kubuf_cmd_put_mem(struct kubuf_cmd_mem *cm)
{
	kubuf_mem_put(&cm->kmem);
	memset(cm, 0, sizeof(*cm));
}

/**
 * kubuf_dev_cmd_check() - a ->cmd_check for the ABI's own commands.
 * @kd:		the device.
 * @a:		the command.
 * @dst:	the access its target needs.
 * @src:	the access its source needs.
 *
 * KUBUF_DEV_FILL, CHECKSUM, COPY and RESET as <linux/kubuf.h> defines
 * them: the fields each uses, that the others are 0, the bounds
 * (KUBUF_DEV_MAX_REPEAT, KUBUF_DEV_MAX_WORK), and the buffers. A driver
 * whose device does those four sets it as its ->cmd_check.
 * Context: any.
 * Return: 0, or the ABI's errno (-EINVAL, -E2BIG).
 */
int kubuf_dev_cmd_check(struct kubuf_device *kd, const struct kubuf_dev_cmd *a,
			u32 *dst, u32 *src)
{
	switch (a->op) {
	case KUBUF_DEV_FILL:
		if (a->src_kind || a->src_id || a->src_offset)
			return -EINVAL;
		if (a->repeat > KUBUF_DEV_MAX_REPEAT)
			return -EINVAL;
		*dst = KUBUF_ACCESS_DEV_WRITE;
		break;
	case KUBUF_DEV_CHECKSUM:
		if (a->seed || a->repeat || a->src_kind || a->src_id ||
		    a->src_offset)
			return -EINVAL;
		*dst = KUBUF_ACCESS_DEV_READ;
		break;
	case KUBUF_DEV_COPY:
		if (a->seed || a->repeat)
			return -EINVAL;
		/* Overlap within one buffer would read what it wrote. */
		if (a->src_kind == a->kind && a->src_id == a->id &&
		    a->src_offset < a->offset + a->len &&
		    a->offset < a->src_offset + a->len)
			return -EINVAL;
		*dst = KUBUF_ACCESS_DEV_WRITE;
		*src = KUBUF_ACCESS_DEV_READ;
		break;
	case KUBUF_DEV_RESET:
		if (a->kind || a->id || a->offset || a->len || a->seed ||
		    a->repeat || a->src_kind || a->src_id || a->src_offset)
			return -EINVAL;
		return 0;
	default:
		return -EINVAL;
	}
	if (!a->len)
		return -EINVAL;
	/* repeat <= 255: the product cannot overflow. */
	if (a->len > KUBUF_DEV_MAX_WORK / ((u64)a->repeat + 1))
		return -E2BIG;
	return 0;
}
EXPORT_SYMBOL_GPL(kubuf_dev_cmd_check);

/*
 * The validation ladder, one errno per mistake, nothing taken yet: the
 * fields the core knows, then the driver's. *@dst and *@src: the access
 * each buffer needs, 0 for none.
 */
static int kubuf_cmd_check(struct kubuf_device *kd,
			   const struct kubuf_dev_cmd *a, u32 *dst, u32 *src)
{
	const u32 all = KUBUF_ACCESS_DEV_READ | KUBUF_ACCESS_DEV_WRITE;
	int ret, idx;

	if (!(kd->features & KUBUF_FEAT_DEVICE))
		return -EOPNOTSUPP;
	if (a->flags & ~KUBUF_DEV_NOWAIT)
		return -EINVAL;
	if (a->reserved[0] || a->reserved[1])
		return -EINVAL;
	*dst = 0;
	*src = 0;
	/* Command rings get here from the device's workers: enter. */
	if (READ_ONCE(kd->closing) || !kubuf_dev_enter(kd, &idx))
		return -ESHUTDOWN;
	ret = kd->ops->cmd_check(kd, a, dst, src);
	kubuf_dev_exit(kd, idx);
	if (ret)
		return ret;
	if (WARN_ON_ONCE((*dst & ~all) || (*src & ~all)))
		return -EINVAL;
	return 0;
}

/*
 * Take the buffers of a checked command (c->dst_access, c->src_access
 * set by kubuf_cmd_check()) and put it in kf->cmds; kf->lock taken.
 */
static int kubuf_cmd_take(struct kubuf_file *kf, struct kubuf_cmd *c)
{
	const struct kubuf_dev_cmd *a = &c->args;
	int ret = 0;

	c->kf = kf;

	/* Both buffers under one hold of the lock, and the list too. */
	mutex_lock(&kf->lock);
	if (c->dst_access) {
		ret = kubuf_cmd_get_mem(kf, a->kind, a->id, c->dst_access,
					a->offset, a->len, &c->dst);
		if (ret)
			goto out;
	}
	if (c->src_access) {
		ret = kubuf_cmd_get_mem(kf, a->src_kind, a->src_id,
					c->src_access, a->src_offset, a->len,
					&c->src);
		if (ret) {
			kubuf_cmd_put_mem(&c->dst);
			goto out;
		}
	}
	/* Nothing new on a device being removed (its unplug is next). */
	if (READ_ONCE(kf->kd->closing)) {
		kubuf_cmd_put_mem(&c->src);
		kubuf_cmd_put_mem(&c->dst);
		ret = -ENODEV;
		goto out;
	}
	list_add_tail(&c->node, &kf->cmds);
out:
	mutex_unlock(&kf->lock);
	return ret;
}

/**
 * kubuf_cmd_start() - validate a command and take what it uses.
 * @kf:	the file it runs for.
 * @c:	the command; @c->args filled in, the rest zero.
 *
 * Context: process or device worker; takes kubuf_file.lock.
 * Return: 0, and the command is in kf->cmds until kubuf_cmd_end(); or
 * the errno of KUBUF_IOC_DEV_CMD's ladder.
 */
int kubuf_cmd_start(struct kubuf_file *kf, struct kubuf_cmd *c)
{
	int ret;

	ret = kubuf_cmd_check(kf->kd, &c->args, &c->dst_access,
			      &c->src_access);
	return ret ? ret : kubuf_cmd_take(kf, c);
}

/* The command is over: out of the file's list, its buffers given back. */
void kubuf_cmd_end(struct kubuf_cmd *c)
{
	struct kubuf_file *kf = c->kf;

	mutex_lock(&kf->lock);
	list_del_init(&c->node);
	mutex_unlock(&kf->lock);
	kubuf_cmd_put_mem(&c->dst);
	kubuf_cmd_put_mem(&c->src);
}

/* Registration @ub is being revoked, kf->lock held: commands let go. */
void kubuf_cmd_revoked(struct kubuf_file *kf, struct kubuf_ubuf *ub)
{
	struct kubuf_cmd *c;

	lockdep_assert_held(&kf->lock);

	list_for_each_entry(c, &kf->cmds, node) {
		if (c->dst.ubuf == ub)
			c->dst.ubuf = NULL;
		if (c->src.ubuf == ub)
			c->src.ubuf = NULL;
	}
}

/* --- KUBUF_IOC_DEV_CMD ------------------------------------------------------ */

/*
 * One more piece of device work for @kf and the caller's user: -EBUSY at
 * the file's KUBUF_MAX_FILE_CMDS, -EDQUOT at the user's max_user_cmds.
 * *@user gets the charged user (a reference) for kubuf_cmd_uncharge().
 */
static int kubuf_cmd_charge(struct kubuf_file *kf, struct kubuf_user **user)
{
	int ret;

	if (atomic_inc_return(&kf->nr_cmds) > KUBUF_MAX_CMDS) {
		ret = -EBUSY;
		goto err;
	}
	ret = kubuf_user_charge(KUBUF_LIMIT_CMDS, 1, user);
	if (ret)
		goto err;
	kubuf_stat_inc(KUBUF_STAT_CMDS);
	return 0;

err:
	atomic_dec(&kf->nr_cmds);
	return ret;
}

static void kubuf_cmd_uncharge(struct kubuf_file *kf, struct kubuf_user *user)
{
	kubuf_user_uncharge(user, KUBUF_LIMIT_CMDS, 1);
	atomic_dec(&kf->nr_cmds);
	kubuf_stat_dec(KUBUF_STAT_CMDS);
}

static void kubuf_cmd_put(struct kubuf_cmd *c)
{
	if (refcount_dec_and_test(&c->ref))
		kfree(c);
}

static void kubuf_cmd_work(struct work_struct *work)
{
	struct kubuf_cmd *c = container_of(work, struct kubuf_cmd, work);
	struct kubuf_file *kf = c->kf;
	int ret;

	ret = kubuf_cmd_slice(c);
	if (ret == -EINPROGRESS) {
		/* The rest later, after everyone else's turn. */
		queue_work(kf->kd->wq, &c->work);
		return;
	}
	c->status = ret;
	kubuf_cmd_end(c);

	/* Given back before it is announced: whoever is told finds it so. */
	kubuf_cmd_uncharge(kf, c->user);
	if (c->args.flags & KUBUF_DEV_NOWAIT)
		kubuf_notify_event(&kf->notify, KUBUF_EVENT_DONE);
	complete(&c->finished);
	kubuf_cmd_put(c);
	kubuf_file_put(kf);
}

int kubuf_ioc_dev_cmd(struct kubuf_file *kf, void __user *argp)
{
	struct kubuf_dev_cmd __user *uarg = argp;
	struct kubuf_cmd *c;
	int ret;

	c = kzalloc(sizeof(*c), GFP_KERNEL_ACCOUNT);
	if (!c)
		return -ENOMEM;
	if (copy_from_user(&c->args, uarg, sizeof(c->args))) {
		ret = -EFAULT;
		goto err_free;
	}
	/* Every mistake is -EINVAL and the like, whatever the limits. */
	ret = kubuf_cmd_check(kf->kd, &c->args, &c->dst_access,
			      &c->src_access);
	if (ret)
		goto err_free;

	ret = kubuf_cmd_charge(kf, &c->user);
	if (ret)
		goto err_free;
	ret = kubuf_cmd_take(kf, c);	/* checked above: the driver once */
	if (ret)
		goto err_charge;

	kubuf_file_get(kf);
	init_completion(&c->finished);
	INIT_WORK(&c->work, kubuf_cmd_work);
	refcount_set(&c->ref, 2);
	queue_work(kf->kd->wq, &c->work);

	if (c->args.flags & KUBUF_DEV_NOWAIT) {
		kubuf_cmd_put(c);
		return 0;
	}
	if (wait_for_completion_killable(&c->finished)) {
		ret = -EINTR;
	} else {
		ret = c->status;
		if (!ret && put_user(c->result, &uarg->result))
			ret = -EFAULT;
	}
	kubuf_cmd_put(c);
	return ret;

err_charge:
	kubuf_cmd_uncharge(kf, c->user);
err_free:
	kfree(c);
	return ret;
}

/* --- calls in the device's context -------------------------------------- */

enum { KUBUF_CALL_WAITING, KUBUF_CALL_DONE, KUBUF_CALL_ABANDONED };

struct kubuf_call {
	struct work_struct work;
	struct completion done;
	struct kubuf_file *kf;
	struct kubuf_user *user;
	atomic_t state;
	int (*fn)(void *arg);
	void (*drop)(void *arg);
	void *arg;
	int ret;
};

static void kubuf_call_work(struct work_struct *work)
{
	struct kubuf_call *call = container_of(work, struct kubuf_call, work);
	struct kubuf_device *kd = call->kf->kd;
	int idx;

	/* A removed device runs nothing; @drop still runs, before
	 * kubuf_device_destroy() returns (it flushes the workqueue).
	 */
	if (kubuf_dev_enter(kd, &idx)) {
		call->ret = call->fn(call->arg);
		kubuf_dev_exit(kd, idx);
	} else {
		call->ret = -ENODEV;
	}
	kubuf_cmd_uncharge(call->kf, call->user);
	if (atomic_xchg(&call->state, KUBUF_CALL_DONE) ==
	    KUBUF_CALL_ABANDONED) {
		/* The caller was killed and left @arg to us. */
		call->drop(call->arg);
		kubuf_file_put(call->kf);
		kfree(call);
		return;
	}
	complete(&call->done);
}

/**
 * kubuf_call() - run @fn(@arg) on the device's workers and wait.
 * @kf:		the file it is done for: it counts as one of its commands,
 *		and of its user's, until @fn has run.
 * @fn:		the work; bounded, it takes its turn with everyone's.
 * @drop:	frees @arg if the caller stops waiting.
 * @arg:	its argument.
 *
 * Context: process; the wait is killable.
 * Return: @fn's result; -EBUSY or -EDQUOT at the file's or the user's
 * limit of commands; -ENODEV if the device was removed first; or -EINTR
 * when a fatal signal arrived first, in which case @arg is no longer the
 * caller's: @drop(@arg) frees it after @fn has run (or would have).
 */
int kubuf_call(struct kubuf_file *kf, int (*fn)(void *arg),
	       void (*drop)(void *arg), void *arg)
{
	struct kubuf_call *call;
	int ret;

	call = kzalloc(sizeof(*call), GFP_KERNEL_ACCOUNT);
	if (!call)
		return -ENOMEM;
	ret = kubuf_cmd_charge(kf, &call->user);
	if (ret) {
		kfree(call);
		return ret;
	}
	kubuf_file_get(kf);
	call->kf = kf;
	call->fn = fn;
	call->drop = drop;
	call->arg = arg;
	atomic_set(&call->state, KUBUF_CALL_WAITING);
	init_completion(&call->done);
	INIT_WORK(&call->work, kubuf_call_work);
	queue_work(kf->kd->wq, &call->work);

	if (wait_for_completion_killable(&call->done)) {
		if (atomic_xchg(&call->state, KUBUF_CALL_ABANDONED) ==
		    KUBUF_CALL_WAITING)
			return -EINTR;		/* the worker frees it all */
		/* Done meanwhile: let its complete() finish, then free. */
		wait_for_completion(&call->done);
	}
	ret = call->ret;
	kubuf_file_put(kf);
	kfree(call);
	return ret;
}
