// SPDX-License-Identifier: GPL-2.0
/*
 * The simulated device: what a data-acquisition card would do with the
 * memory it shares with an application, run from the device's own
 * context, never from the application's system call.
 *
 * Workers. Everything the device does (commands, streams, command rings,
 * the copying read()) runs as work items on one workqueue, kubuf_sim_wq,
 * with at most KUBUF_SIM_WORKERS of them running at once (per NUMA node
 * since 6.9), however many files, rings and commands users create: the
 * device's kernel threads do not grow with what users make. Commands
 * and read() count against the file's and the user's limits on
 * commands; rings against the limits on rings. Each work item does a slice of bounded
 * length (KUBUF_SIM_SLICE bytes, or one burst of a ring) and, if it has
 * more to do, queues itself again at the tail, so every piece of work of
 * every user gets its turn: a user with many long commands slows the
 * device down for others, but never stops them.
 *
 * Commands. A command (KUBUF_IOC_DEV_CMD, or a record of a command ring)
 * names its buffers by kind and id. Starting it (kubuf_sim_cmd_start)
 * validates it, checks the ranges and takes what it needs between slices:
 * a driver buffer's reference, or a pointer to a registration that
 * revocation clears (kubuf_sim_revoked, under kubuf_file.lock). Each
 * slice holds a registration (its "users" count) only while it runs and
 * checks before every page that the memory is still alive, so revoking,
 * unregistering and releasing wait at most for the slice in progress,
 * never for a queued command. A command of a released file ends with
 * -ESHUTDOWN at its next slice.
 *
 * Waiting. The caller waits for an ioctl command (killably) unless it
 * asked for KUBUF_DEV_NOWAIT, in which case completion raises
 * KUBUF_EVENT_DONE. A kubuf_cmd is freed by the last of its two holders,
 * the worker and the waiter (refcount), so a killed waiter leaves the
 * worker a valid command. Commands in flight count against the file
 * (KUBUF_MAX_FILE_CMDS, -EBUSY) and their user (max_user_cmds, -EDQUOT).
 */
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "kubuf.h"

#define KUBUF_SIM_WORKERS	4		/* work items running at once */
#define KUBUF_SIM_SLICE		SZ_256K		/* bytes of a command's slice */

struct workqueue_struct *kubuf_sim_wq;

bool kubuf_dev_mem_alive(const struct kubuf_dev_mem *m)
{
	if (READ_ONCE(m->kf->released))
		return false;
	return !m->ubuf || kubuf_ubuf_dev_alive(m->ubuf);
}

void kubuf_dev_mem_put(struct kubuf_dev_mem *m)
{
	if (m->ubuf)
		kubuf_ubuf_dev_put(m->ubuf);
	if (m->kbuf)
		kubuf_kbuf_dev_put(m->kbuf);
	memset(m, 0, sizeof(*m));
}

void kubuf_dev_mem_written(struct kubuf_dev_mem *m, u64 off, u64 len)
{
	if (m->ubuf)
		kubuf_ubuf_dev_written(m->ubuf, m->vaddr + off, len);
}

void kubuf_dev_mem_will_read(struct kubuf_dev_mem *m, u64 off, u64 len)
{
	if (m->ubuf)
		kubuf_ubuf_dev_will_read(m->ubuf, m->vaddr + off, len);
}

/* --- one slice of a command ---------------------------------------------- */

/* Bytes from @off of @m up to the end of its page, at most @left. */
static u64 kubuf_sim_chunk(const struct kubuf_dev_mem *m, u64 off, u64 left)
{
	return min_t(u64, left, PAGE_SIZE - offset_in_page(m->vaddr + off));
}

/*
 * FILL, from where the last slice stopped, for at most KUBUF_SIM_SLICE
 * bytes. -EINPROGRESS: more to do.
 */
static int kubuf_sim_fill(struct kubuf_cmd *c, struct kubuf_dev_mem *m)
{
	u64 start = c->args.offset, len = c->args.len;
	u64 budget = KUBUF_SIM_SLICE;

	for (; c->pass <= c->args.repeat; c->pass++, c->done = 0) {
		while (c->done < len) {
			u64 n = kubuf_sim_chunk(m, start + c->done,
						min(len - c->done, budget));
			u8 *p = m->vaddr + start + c->done;
			u64 i;

			if (!budget)
				return -EINPROGRESS;
			if (!kubuf_dev_mem_alive(m))
				return -ESHUTDOWN;
			for (i = 0; i < n; i++)
				p[i] = kubuf_pattern_byte(c->args.seed,
							  c->done + i);
			kubuf_dev_mem_written(m, start + c->done, n);
			c->done += n;
			budget -= n;
			cond_resched();
		}
	}
	return 0;
}

static int kubuf_sim_checksum(struct kubuf_cmd *c, struct kubuf_dev_mem *m)
{
	u64 start = c->args.offset, len = c->args.len;
	u64 budget = KUBUF_SIM_SLICE;

	while (c->done < len) {
		u64 n = kubuf_sim_chunk(m, start + c->done,
					min(len - c->done, budget));

		if (!budget)
			return -EINPROGRESS;
		if (!kubuf_dev_mem_alive(m))
			return -ESHUTDOWN;
		kubuf_dev_mem_will_read(m, start + c->done, n);
		c->sum = kubuf_checksum(c->sum, m->vaddr + start + c->done, n);
		c->done += n;
		budget -= n;
		cond_resched();
	}
	c->result = c->sum;
	return 0;
}

static int kubuf_sim_copy(struct kubuf_cmd *c, struct kubuf_dev_mem *d,
			  struct kubuf_dev_mem *s)
{
	u64 doff = c->args.offset, soff = c->args.src_offset;
	u64 len = c->args.len, budget = KUBUF_SIM_SLICE;

	while (c->done < len) {
		u64 n = kubuf_sim_chunk(d, doff + c->done,
					min(len - c->done, budget));

		n = kubuf_sim_chunk(s, soff + c->done, n);
		if (!budget)
			return -EINPROGRESS;
		if (!kubuf_dev_mem_alive(d) || !kubuf_dev_mem_alive(s))
			return -ESHUTDOWN;
		kubuf_dev_mem_will_read(s, soff + c->done, n);
		memcpy(d->vaddr + doff + c->done, s->vaddr + soff + c->done, n);
		kubuf_dev_mem_written(d, doff + c->done, n);
		c->done += n;
		budget -= n;
		cond_resched();
	}
	return 0;
}

/*
 * Hold @cm's memory in @m for one slice, kubuf_file.lock held: a driver
 * buffer's is the command's own; a registration's is taken now, unless it
 * was revoked (-ESHUTDOWN).
 */
static int kubuf_sim_hold(struct kubuf_file *kf, struct kubuf_cmd_mem *cm,
			  struct kubuf_dev_mem *m)
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
 * kubuf_sim_cmd_slice() - run the next slice of a started command.
 * @c:	the command, started by kubuf_sim_cmd_start().
 *
 * Context: a device worker; takes kubuf_file.lock, so the caller holds
 * no lock and no device reference.
 * Return: -EINPROGRESS while more is to do, else the command's status.
 */
int kubuf_sim_cmd_slice(struct kubuf_cmd *c)
{
	struct kubuf_file *kf = c->kf;
	struct kubuf_dev_mem d = { 0 }, s = { 0 };
	int ret;

	if (c->args.op == KUBUF_DEV_RESET)
		return kubuf_ubuf_revoke_all(kf);
	if (READ_ONCE(kf->released))
		return -ESHUTDOWN;

	mutex_lock(&kf->lock);
	ret = kubuf_sim_hold(kf, &c->dst, &d);
	if (!ret) {
		ret = kubuf_sim_hold(kf, &c->src, &s);
		if (ret)
			kubuf_dev_mem_put(&d);
	}
	mutex_unlock(&kf->lock);
	if (ret)
		return ret;

	switch (c->args.op) {
	case KUBUF_DEV_FILL:
		ret = kubuf_sim_fill(c, &d);
		break;
	case KUBUF_DEV_CHECKSUM:
		ret = kubuf_sim_checksum(c, &d);
		break;
	case KUBUF_DEV_COPY:
		ret = kubuf_sim_copy(c, &d, &s);
		break;
	}
	kubuf_dev_mem_put(&d);
	kubuf_dev_mem_put(&s);
	return ret;
}

/* --- starting and ending ------------------------------------------------- */

/*
 * Take buffer (@kind, @id) for [@off, @off + @len) into @cm, kf->lock
 * held: a driver buffer's reference, or a registration's pointer.
 */
static int kubuf_sim_get_mem(struct kubuf_file *kf, u32 kind, u32 id,
			     u32 access, u64 off, u64 len,
			     struct kubuf_cmd_mem *cm)
{
	struct kubuf_dev_mem m;
	int ret;

	switch (kind) {
	case KUBUF_MEM_UBUF:
		ret = kubuf_ubuf_dev_get(kf, id, access, &m);
		break;
	case KUBUF_MEM_KBUF:
		ret = kubuf_kbuf_dev_get(kf, id, &m);
		break;
	default:
		return -EINVAL;
	}
	if (ret)
		return ret;
	if (off > m.len || len > m.len - off) {
		kubuf_dev_mem_put(&m);
		return -ERANGE;
	}
	cm->kind = kind;
	cm->access = access;
	if (kind == KUBUF_MEM_KBUF) {
		cm->kmem = m;
	} else {
		cm->ubuf = m.ubuf;	/* cleared by kubuf_sim_revoked() */
		kubuf_dev_mem_put(&m);
	}
	return 0;
}

static void kubuf_sim_put_mem(struct kubuf_cmd_mem *cm)
{
	kubuf_dev_mem_put(&cm->kmem);
	memset(cm, 0, sizeof(*cm));
}

/* The validation ladder: one errno per mistake, nothing taken yet. */
static int kubuf_sim_check(const struct kubuf_dev_cmd *a)
{
	if (a->flags & ~KUBUF_DEV_NOWAIT)
		return -EINVAL;
	if (a->reserved[0] || a->reserved[1])
		return -EINVAL;

	switch (a->op) {
	case KUBUF_DEV_FILL:
		if (a->src_kind || a->src_id || a->src_offset)
			return -EINVAL;
		if (a->repeat > KUBUF_DEV_MAX_REPEAT)
			return -EINVAL;
		break;
	case KUBUF_DEV_CHECKSUM:
		if (a->seed || a->repeat || a->src_kind || a->src_id ||
		    a->src_offset)
			return -EINVAL;
		break;
	case KUBUF_DEV_COPY:
		if (a->seed || a->repeat)
			return -EINVAL;
		/* Overlap within one buffer would read what it wrote. */
		if (a->src_kind == a->kind && a->src_id == a->id &&
		    a->src_offset < a->offset + a->len &&
		    a->offset < a->src_offset + a->len)
			return -EINVAL;
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

/**
 * kubuf_sim_cmd_start() - validate a command and take what it uses.
 * @kf:	the file it runs for.
 * @c:	the command; @c->args filled in, the rest zero.
 *
 * Context: process or device worker; takes kubuf_file.lock.
 * Return: 0, and the command is in kf->cmds until kubuf_sim_cmd_end();
 * or the errno of KUBUF_IOC_DEV_CMD's ladder.
 */
int kubuf_sim_cmd_start(struct kubuf_file *kf, struct kubuf_cmd *c)
{
	u32 dst_access;
	int ret;

	ret = kubuf_sim_check(&c->args);
	if (ret)
		return ret;
	c->kf = kf;
	c->sum = KUBUF_CHECKSUM_INIT;

	/* Both buffers under one hold of the lock, and the list too. */
	mutex_lock(&kf->lock);
	if (c->args.op != KUBUF_DEV_RESET) {
		dst_access = c->args.op == KUBUF_DEV_CHECKSUM ?
			     KUBUF_ACCESS_DEV_READ : KUBUF_ACCESS_DEV_WRITE;
		ret = kubuf_sim_get_mem(kf, c->args.kind, c->args.id,
					dst_access, c->args.offset,
					c->args.len, &c->dst);
		if (ret)
			goto out;
	}
	if (c->args.op == KUBUF_DEV_COPY) {
		ret = kubuf_sim_get_mem(kf, c->args.src_kind, c->args.src_id,
					KUBUF_ACCESS_DEV_READ,
					c->args.src_offset, c->args.len,
					&c->src);
		if (ret) {
			kubuf_sim_put_mem(&c->dst);
			goto out;
		}
	}
	list_add_tail(&c->node, &kf->cmds);
out:
	mutex_unlock(&kf->lock);
	return ret;
}

/* The command is over: out of the file's list, its buffers given back. */
void kubuf_sim_cmd_end(struct kubuf_cmd *c)
{
	struct kubuf_file *kf = c->kf;

	mutex_lock(&kf->lock);
	list_del_init(&c->node);
	mutex_unlock(&kf->lock);
	kubuf_sim_put_mem(&c->dst);
	kubuf_sim_put_mem(&c->src);
}

/* Registration @ub is being revoked, kf->lock held: commands let go. */
void kubuf_sim_revoked(struct kubuf_file *kf, struct kubuf_ubuf *ub)
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
 * *@user gets the charged user (a reference) for kubuf_sim_uncharge().
 */
static int kubuf_sim_charge(struct kubuf_file *kf, struct kubuf_user **user)
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

static void kubuf_sim_uncharge(struct kubuf_file *kf, struct kubuf_user *user)
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

static void kubuf_sim_work(struct work_struct *work)
{
	struct kubuf_cmd *c = container_of(work, struct kubuf_cmd, work);
	struct kubuf_file *kf = c->kf;
	int ret;

	ret = kubuf_sim_cmd_slice(c);
	if (ret == -EINPROGRESS) {
		/* The rest later, after everyone else's turn. */
		queue_work(kubuf_sim_wq, &c->work);
		return;
	}
	c->status = ret;
	kubuf_sim_cmd_end(c);

	/* Given back before it is announced: whoever is told finds it so. */
	kubuf_sim_uncharge(kf, c->user);
	if (c->args.flags & KUBUF_DEV_NOWAIT)
		kubuf_notify_event(&kf->notify, KUBUF_EVENT_DONE);
	complete(&c->finished);
	kubuf_cmd_put(c);
	kubuf_file_put(kf);
}

int kubuf_sim_cmd_ioctl(struct kubuf_file *kf, void __user *argp)
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
	ret = kubuf_sim_check(&c->args);
	if (ret)
		goto err_free;

	ret = kubuf_sim_charge(kf, &c->user);
	if (ret)
		goto err_free;
	ret = kubuf_sim_cmd_start(kf, c);
	if (ret)
		goto err_charge;

	kubuf_file_get(kf);
	init_completion(&c->finished);
	INIT_WORK(&c->work, kubuf_sim_work);
	refcount_set(&c->ref, 2);
	queue_work(kubuf_sim_wq, &c->work);

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
	kubuf_sim_uncharge(kf, c->user);
err_free:
	kfree(c);
	return ret;
}

/* --- calls in the device's context -------------------------------------- */

enum { KUBUF_CALL_WAITING, KUBUF_CALL_DONE, KUBUF_CALL_ABANDONED };

struct kubuf_sim_call {
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

static void kubuf_sim_call_work(struct work_struct *work)
{
	struct kubuf_sim_call *call =
		container_of(work, struct kubuf_sim_call, work);

	call->ret = call->fn(call->arg);
	kubuf_sim_uncharge(call->kf, call->user);
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
 * kubuf_sim_call() - run @fn(@arg) in the device's context and wait.
 * @kf:		the file it is done for: it counts as one of its commands,
 *		and of its user's, until @fn has run.
 * @fn:		the work; bounded, it takes its turn with everyone's.
 * @drop:	frees @arg if the caller stops waiting.
 * @arg:	its argument.
 *
 * Context: process; the wait is killable.
 * Return: @fn's result; -EBUSY or -EDQUOT at the file's or the user's
 * limit of commands; or -EINTR when a fatal signal arrived first, in
 * which case @arg is no longer the caller's: @drop(@arg) frees it after
 * @fn has run.
 */
int kubuf_sim_call(struct kubuf_file *kf, int (*fn)(void *arg),
		   void (*drop)(void *arg), void *arg)
{
	struct kubuf_sim_call *call;
	int ret;

	call = kzalloc(sizeof(*call), GFP_KERNEL_ACCOUNT);
	if (!call)
		return -ENOMEM;
	ret = kubuf_sim_charge(kf, &call->user);
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
	INIT_WORK(&call->work, kubuf_sim_call_work);
	queue_work(kubuf_sim_wq, &call->work);

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

int kubuf_sim_init(void)
{
	kubuf_sim_wq = alloc_workqueue("kubuf-dev", WQ_UNBOUND,
				       KUBUF_SIM_WORKERS);
	return kubuf_sim_wq ? 0 : -ENOMEM;
}

/* No file is open any more: every command has finished or is finishing. */
void kubuf_sim_exit(void)
{
	destroy_workqueue(kubuf_sim_wq);
}
