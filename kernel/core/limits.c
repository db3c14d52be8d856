// SPDX-License-Identifier: GPL-2.0
/*
 * Limits and accounting: what one user may make the module hold.
 *
 * Every user who may open the device is a possible attacker, so every
 * object a user can create is charged, when it is created, to the user
 * who creates it, and given back to that same user when the object is
 * truly gone (in whatever process or worker that happens):
 *
 *   struct kubuf_user    one per user id with anything charged: its open
 *                        files, rings, device commands in flight and
 *                        driver-buffer pages, each against a module
 *                        parameter (max_user_*); -EMFILE for files,
 *                        -EDQUOT for the rest
 *   struct kubuf_memlock pages charged to a user's RLIMIT_MEMLOCK (pins,
 *                        DMA memory), unless the task had CAP_IPC_LOCK
 *   kubuf_pins           every page pin the module holds, against
 *                        KUBUF_MAX_PINNED_PAGES: a small page's reference
 *                        count grows by 1024 with each pin, and however
 *                        often one page is mapped and registered, kubuf
 *                        alone can never take it near overflow
 *
 * An object holds a reference on its kubuf_user, so the charge and the
 * user outlive the file that made the object (a buffer freed while
 * mapped, a command still running after close). A kubuf_user is freed
 * with its last reference; users are few, so one hash table under one
 * spinlock serves them.
 *
 * A limit is checked and charged in one compare-and-exchange, so
 * concurrent creations can never together exceed it. Lowering a limit
 * below what a user holds takes nothing away; it refuses new objects.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/hashtable.h>
#include <linux/moduleparam.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>

#include "internal.h"

static unsigned int max_user_files = 1024;
module_param(max_user_files, uint, 0644);
MODULE_PARM_DESC(max_user_files, "open files of /dev/kubuf per user (1024)");

static unsigned int max_user_rings = 256;
module_param(max_user_rings, uint, 0644);
MODULE_PARM_DESC(max_user_rings, "rings per user (256)");

static unsigned int max_user_cmds = 256;
module_param(max_user_cmds, uint, 0644);
MODULE_PARM_DESC(max_user_cmds, "device commands in flight per user (256)");

static unsigned int max_user_kbuf_mb = 1024;
module_param(max_user_kbuf_mb, uint, 0644);
MODULE_PARM_DESC(max_user_kbuf_mb,
		 "MiB of driver buffers per user, until their last munmap (1024)");

#define KUBUF_USER_BITS	6

static DEFINE_HASHTABLE(kubuf_users, KUBUF_USER_BITS);
static DEFINE_SPINLOCK(kubuf_users_lock);	/* protects kubuf_users */

static atomic_long_t kubuf_pins;

/**
 * struct kubuf_user - what one user id holds.
 * @node:	in kubuf_users, protected by kubuf_users_lock.
 * @uid:	the user.
 * @ref:	each charged object, and each caller between get and put.
 * @held:	objects held, by enum kubuf_limit; atomics.
 */
struct kubuf_user {
	struct hlist_node node;
	kuid_t uid;
	refcount_t ref;
	atomic_long_t held[KUBUF_LIMIT_NR];
};

static unsigned long kubuf_limit_max(enum kubuf_limit l)
{
	switch (l) {
	case KUBUF_LIMIT_FILES:
		return READ_ONCE(max_user_files);
	case KUBUF_LIMIT_RINGS:
		return READ_ONCE(max_user_rings);
	case KUBUF_LIMIT_CMDS:
		return READ_ONCE(max_user_cmds);
	case KUBUF_LIMIT_KBUF_PAGES:
		return (unsigned long)READ_ONCE(max_user_kbuf_mb) <<
		       (20 - PAGE_SHIFT);
	default:
		return 0;
	}
}

/* What GET_INFO reports: a limit, clamped to the field. */
u32 kubuf_limit_info(enum kubuf_limit l)
{
	return min_t(unsigned long, kubuf_limit_max(l), U32_MAX);
}

static struct kubuf_user *kubuf_user_find(kuid_t uid)
{
	struct kubuf_user *u;

	lockdep_assert_held(&kubuf_users_lock);
	hash_for_each_possible(kubuf_users, u, node, __kuid_val(uid))
		if (uid_eq(u->uid, uid) && refcount_inc_not_zero(&u->ref))
			return u;
	return NULL;
}

/* The caller's user, a reference taken; NULL if no memory. */
static struct kubuf_user *kubuf_user_get(void)
{
	kuid_t uid = current_uid();
	struct kubuf_user *u, *fresh;

	spin_lock(&kubuf_users_lock);
	u = kubuf_user_find(uid);
	spin_unlock(&kubuf_users_lock);
	if (u)
		return u;

	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL);
	if (!fresh)
		return NULL;
	fresh->uid = uid;
	refcount_set(&fresh->ref, 1);

	spin_lock(&kubuf_users_lock);
	u = kubuf_user_find(uid);	/* another task may have made it */
	if (!u) {
		hash_add(kubuf_users, &fresh->node, __kuid_val(uid));
		kubuf_stat_inc(KUBUF_STAT_USERS);
		u = fresh;
		fresh = NULL;
	}
	spin_unlock(&kubuf_users_lock);
	kfree(fresh);
	return u;
}

/*
 * Process context: the last put unhashes and frees. Between the two, a
 * lookup skips the dying entry (refcount_inc_not_zero) and may add a new
 * one for the same user: harmless, this one is on its way out.
 */
static void kubuf_user_put(struct kubuf_user *u)
{
	if (!u || !refcount_dec_and_test(&u->ref))
		return;
	spin_lock(&kubuf_users_lock);
	hash_del(&u->node);
	spin_unlock(&kubuf_users_lock);
	kubuf_stat_dec(KUBUF_STAT_USERS);
	kfree(u);
}

/*
 * Charge @n of limit @l to the caller's user: -EMFILE (files) or -EDQUOT
 * when the user would hold more than the limit, -ENOMEM. On success *@up
 * is the user, with a reference for the charge: give both back with
 * kubuf_user_uncharge(*@up, @l, @n), from any process.
 */
int kubuf_user_charge(enum kubuf_limit l, unsigned long n,
		      struct kubuf_user **up)
{
	unsigned long max = kubuf_limit_max(l);
	struct kubuf_user *u = kubuf_user_get();
	long cur;

	if (!u)
		return -ENOMEM;
	cur = atomic_long_read(&u->held[l]);
	do {
		if (n > max || (unsigned long)cur > max - n) {
			kubuf_user_put(u);
			return l == KUBUF_LIMIT_FILES ? -EMFILE : -EDQUOT;
		}
	} while (!atomic_long_try_cmpxchg(&u->held[l], &cur, cur + n));
	*up = u;
	return 0;
}

void kubuf_user_uncharge(struct kubuf_user *u, enum kubuf_limit l,
			 unsigned long n)
{
	atomic_long_sub(n, &u->held[l]);
	kubuf_user_put(u);
}

/*
 * Charge @nr pages to the caller's RLIMIT_MEMLOCK, unless it has
 * CAP_IPC_LOCK, remembering whom (in @ml) for the uncharge. -ENOMEM over
 * the limit; concurrent charges never exceed it together.
 */
int kubuf_memlock_charge(struct kubuf_memlock *ml, unsigned long nr)
{
	struct user_struct *user = current_user();
	unsigned long limit, cur;

	ml->user = NULL;
	ml->pages = nr;
	if (capable(CAP_IPC_LOCK))
		return 0;
	limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	cur = atomic_long_read(&user->locked_vm);
	do {
		if (nr > limit || cur > limit - nr)
			return -ENOMEM;
	} while (!atomic_long_try_cmpxchg(&user->locked_vm, &cur, cur + nr));
	ml->user = get_uid(user);
	return 0;
}

/* Give the charge back to whoever paid it; any context that may sleep. */
void kubuf_memlock_uncharge(struct kubuf_memlock *ml)
{
	if (ml->user) {
		atomic_long_sub(ml->pages, &ml->user->locked_vm);
		free_uid(ml->user);
		ml->user = NULL;
	}
	ml->pages = 0;
}

/* Take @nr of the module's KUBUF_MAX_PINNED_PAGES pins, or -ENOMEM. */
int kubuf_pins_charge(unsigned long nr)
{
	long cur = atomic_long_read(&kubuf_pins);

	do {
		if (nr > KUBUF_MAX_PINNED_PAGES ||
		    (unsigned long)cur > KUBUF_MAX_PINNED_PAGES - nr)
			return -ENOMEM;
	} while (!atomic_long_try_cmpxchg(&kubuf_pins, &cur, cur + nr));
	return 0;
}

void kubuf_pins_uncharge(unsigned long nr)
{
	atomic_long_sub(nr, &kubuf_pins);
}
