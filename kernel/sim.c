// SPDX-License-Identifier: GPL-2.0
/*
 * The simulated device: what a data-acquisition card would do with the
 * memory it shares with an application, run from the device's own
 * context (a workqueue), never from the application's system call.
 *
 * A command (KUBUF_IOC_DEV_CMD) names its buffers by kind and id. The
 * ioctl takes a device reference on each buffer (kubuf_dev_mem: a
 * registration's "users" count, or a driver buffer's kref), takes a
 * reference on the file, and queues a kubuf_cmd. The worker runs the
 * command one page at a time and, before each page, checks that the
 * memory is still alive: a registration revoked, unregistered or released
 * meanwhile, or a file released, stops the command there (-ESHUTDOWN).
 * Revocation waits for the worker to let go, so the device never touches
 * a page after it is unpinned.
 *
 * The caller waits for the command (killably) unless it asked for
 * KUBUF_DEV_NOWAIT, in which case completion raises KUBUF_EVENT_DONE.
 * A kubuf_cmd is freed by the last of its two holders, the worker and the
 * waiter (refcount), so a killed waiter leaves the worker a valid command.
 */
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "kubuf.h"

static struct workqueue_struct *kubuf_sim_wq;

/**
 * struct kubuf_cmd - one device command in flight.
 * @work:	runs the command on kubuf_sim_wq.
 * @ref:	held by the worker and by a waiting caller.
 * @kf:		the file the command was issued on (a reference).
 * @args:	the command, validated.
 * @dst:	the target memory (not used by RESET).
 * @src:	COPY: the source memory.
 * @done:	completed when the worker is finished with the command.
 * @status:	0 or -errno, valid after @done.
 * @result:	CHECKSUM: the checksum, valid after @done.
 */
struct kubuf_cmd {
	struct work_struct work;
	refcount_t ref;
	struct kubuf_file *kf;
	struct kubuf_dev_cmd args;
	struct kubuf_dev_mem dst;
	struct kubuf_dev_mem src;
	struct completion done;
	int status;
	u64 result;
};

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

/* Bytes from @off of @m up to the end of its page, at most @left. */
static u64 kubuf_sim_chunk(const struct kubuf_dev_mem *m, u64 off, u64 left)
{
	return min_t(u64, left, PAGE_SIZE - offset_in_page(m->vaddr + off));
}

static int kubuf_sim_do_fill(struct kubuf_cmd *c)
{
	struct kubuf_dev_mem *m = &c->dst;
	u64 start = c->args.offset, len = c->args.len;
	u32 pass;

	for (pass = 0; pass <= c->args.repeat; pass++) {
		u64 done = 0;

		while (done < len) {
			u64 n = kubuf_sim_chunk(m, start + done, len - done);
			u8 *p = m->vaddr + start + done;
			u64 i;

			if (!kubuf_dev_mem_alive(m))
				return -ESHUTDOWN;
			for (i = 0; i < n; i++)
				p[i] = kubuf_pattern_byte(c->args.seed, done + i);
			kubuf_dev_mem_written(m, start + done, n);
			done += n;
			cond_resched();
		}
	}
	return 0;
}

static int kubuf_sim_do_checksum(struct kubuf_cmd *c)
{
	struct kubuf_dev_mem *m = &c->dst;
	u64 start = c->args.offset, len = c->args.len, done = 0;
	u64 sum = KUBUF_CHECKSUM_INIT;

	while (done < len) {
		u64 n = kubuf_sim_chunk(m, start + done, len - done);

		if (!kubuf_dev_mem_alive(m))
			return -ESHUTDOWN;
		kubuf_dev_mem_will_read(m, start + done, n);
		sum = kubuf_checksum(sum, m->vaddr + start + done, n);
		done += n;
		cond_resched();
	}
	c->result = sum;
	return 0;
}

static int kubuf_sim_do_copy(struct kubuf_cmd *c)
{
	struct kubuf_dev_mem *d = &c->dst, *s = &c->src;
	u64 doff = c->args.offset, soff = c->args.src_offset;
	u64 len = c->args.len, done = 0;

	while (done < len) {
		u64 n = kubuf_sim_chunk(d, doff + done, len - done);

		n = kubuf_sim_chunk(s, soff + done, n);
		if (!kubuf_dev_mem_alive(d) || !kubuf_dev_mem_alive(s))
			return -ESHUTDOWN;
		kubuf_dev_mem_will_read(s, soff + done, n);
		memcpy(d->vaddr + doff + done, s->vaddr + soff + done, n);
		kubuf_dev_mem_written(d, doff + done, n);
		done += n;
		cond_resched();
	}
	return 0;
}

static void kubuf_cmd_put(struct kubuf_cmd *c)
{
	if (refcount_dec_and_test(&c->ref))
		kfree(c);
}

/* Run a prepared command in the device's context; drop its memory. */
static void kubuf_sim_run(struct kubuf_cmd *c)
{
	switch (c->args.op) {
	case KUBUF_DEV_FILL:
		c->status = kubuf_sim_do_fill(c);
		break;
	case KUBUF_DEV_CHECKSUM:
		c->status = kubuf_sim_do_checksum(c);
		break;
	case KUBUF_DEV_COPY:
		c->status = kubuf_sim_do_copy(c);
		break;
	case KUBUF_DEV_RESET:
		c->status = kubuf_ubuf_revoke_all(c->kf);
		break;
	}
	kubuf_dev_mem_put(&c->dst);
	kubuf_dev_mem_put(&c->src);
}

static void kubuf_sim_work(struct work_struct *work)
{
	struct kubuf_cmd *c = container_of(work, struct kubuf_cmd, work);
	struct kubuf_file *kf = c->kf;

	kubuf_sim_run(c);

	if (c->args.flags & KUBUF_DEV_NOWAIT)
		kubuf_notify_event(&kf->notify, KUBUF_EVENT_DONE);
	complete(&c->done);
	atomic_dec(&kf->nr_cmds);
	kubuf_cmd_put(c);
	kubuf_file_put(kf);
}

/*
 * A device reference on [off, off + len) of buffer (@kind, @id); the
 * lookup needs kf->lock.
 */
static int kubuf_sim_get_mem(struct kubuf_file *kf, u32 kind, u32 id,
			     u32 access, u64 off, u64 len,
			     struct kubuf_dev_mem *m)
{
	int ret;

	switch (kind) {
	case KUBUF_MEM_UBUF:
		ret = kubuf_ubuf_dev_get(kf, id, access, m);
		break;
	case KUBUF_MEM_KBUF:
		ret = kubuf_kbuf_dev_get(kf, id, m);
		break;
	default:
		return -EINVAL;
	}
	if (ret)
		return ret;
	if (off > m->len || len > m->len - off) {
		kubuf_dev_mem_put(m);
		return -ERANGE;
	}
	return 0;
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
	return 0;
}

/*
 * Take the memory of validated command @c. Both buffers under one hold
 * of kf->lock: with a registration held, taking kf->lock again could
 * wait on an unregister that is waiting for us.
 */
static int kubuf_sim_get_mems(struct kubuf_file *kf, struct kubuf_cmd *c)
{
	u32 dst_access;
	int ret = 0;

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
		if (ret)
			kubuf_dev_mem_put(&c->dst);
	}
out:
	mutex_unlock(&kf->lock);
	return ret;
}

/*
 * Run a command synchronously, from a context that is already the
 * device's (a ring's thread). Returns its status; CHECKSUM's in *@result.
 */
int kubuf_sim_exec(struct kubuf_file *kf, const struct kubuf_dev_cmd *args,
		   u64 *result)
{
	struct kubuf_cmd c = { .kf = kf, .args = *args };
	int ret;

	ret = kubuf_sim_check(&c.args);
	if (ret)
		return ret;
	ret = kubuf_sim_get_mems(kf, &c);
	if (ret)
		return ret;
	kubuf_sim_run(&c);
	*result = c.result;
	return c.status;
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

	if (atomic_inc_return(&kf->nr_cmds) > KUBUF_MAX_CMDS) {
		ret = -EBUSY;
		goto err_count;
	}

	c->kf = kf;
	ret = kubuf_sim_get_mems(kf, c);
	if (ret)
		goto err_count;

	kubuf_file_get(kf);
	init_completion(&c->done);
	INIT_WORK(&c->work, kubuf_sim_work);
	refcount_set(&c->ref, 2);
	queue_work(kubuf_sim_wq, &c->work);

	if (c->args.flags & KUBUF_DEV_NOWAIT) {
		kubuf_cmd_put(c);
		return 0;
	}
	if (wait_for_completion_killable(&c->done)) {
		ret = -EINTR;
	} else {
		ret = c->status;
		if (!ret && put_user(c->result, &uarg->result))
			ret = -EFAULT;
	}
	kubuf_cmd_put(c);
	return ret;

err_count:
	atomic_dec(&kf->nr_cmds);
err_free:
	kfree(c);
	return ret;
}

struct kubuf_sim_call {
	struct work_struct work;
	struct completion done;
	int (*fn)(void *arg);
	void *arg;
	int ret;
};

static void kubuf_sim_call_work(struct work_struct *work)
{
	struct kubuf_sim_call *call =
		container_of(work, struct kubuf_sim_call, work);

	call->ret = call->fn(call->arg);
	complete(&call->done);
}

/* Run @fn(@arg) in the device's context, wait for it, return its result. */
int kubuf_sim_call(int (*fn)(void *arg), void *arg)
{
	struct kubuf_sim_call call = { .fn = fn, .arg = arg };

	INIT_WORK_ONSTACK(&call.work, kubuf_sim_call_work);
	init_completion(&call.done);
	queue_work(kubuf_sim_wq, &call.work);
	wait_for_completion(&call.done);
	destroy_work_on_stack(&call.work);
	return call.ret;
}

int kubuf_sim_init(void)
{
	kubuf_sim_wq = alloc_workqueue("kubuf-dev", WQ_UNBOUND, 0);
	return kubuf_sim_wq ? 0 : -ENOMEM;
}

/* No file is open any more: every command has finished or is finishing. */
void kubuf_sim_exit(void)
{
	destroy_workqueue(kubuf_sim_wq);
}
