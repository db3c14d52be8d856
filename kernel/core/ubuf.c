// SPDX-License-Identifier: GPL-2.0
/*
 * Technique 1: the application's own memory, registered with the module.
 *
 * The application hands [addr, addr + len) to KUBUF_IOC_UBUF_REGISTER. The
 * module checks every VMA of the range (no holes, no shared file mapping),
 * pins the pages for the long term (FOLL_LONGTERM, plus FOLL_WRITE when
 * the device writes; never FOLL_FORCE) under the same mmap lock, maps them
 * contiguously into the kernel with vmap() and, for a driver that asks
 * (KUBUF_DMA_UBUF), for its device's DMA (dma_map_sgtable, direction
 * from the access), and charges them to the
 * registering user's RLIMIT_MEMLOCK and to the process's VmPin. From then
 * on the device can use them from any context.
 *
 * The article's hazard is the device writing into memory after the
 * application let go of it. Here a registration has two states:
 *
 *   ACTIVE --revoke--> REVOKED --unregister/release--> freed
 *      \--------------unregister/release------------------^
 *
 * Revoking (kubuf_ubuf_revoke) is the only way out of ACTIVE, whoever
 * asks: unregister, release of the file, or the driver (a device reset).
 * It marks the registration REVOKED under its spinlock, so the device can
 * take no new reference and stops at its next page; waits until the
 * device's last user has gone (the driver is told first, ->revoke, so
 * that it can stop DMA in flight); and only then unmaps (DMA, then the
 * kernel's mapping) and unpins, marking
 * pages dirty if the device could write them. The charge goes back to
 * the user and mm saved at registration, whichever process does this.
 *
 * Locking: kubuf_file.lock serialises lookups, state changes and frees
 * of the file's registrations, so revocations never race each other.
 * kubuf_ubuf.lock (nested inside) protects state and users, the two
 * fields the device reads. The device takes its reference under
 * kubuf_file.lock and never takes kubuf_file.lock again while holding it,
 * which is what makes waiting for users under kubuf_file.lock safe.
 */
#include <linux/cred.h>
#include <linux/dma-mapping.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "internal.h"

#define KUBUF_ACCESS_ALL	(KUBUF_ACCESS_DEV_READ | KUBUF_ACCESS_DEV_WRITE)

/**
 * struct kubuf_ubuf - one registration.
 * @id:		its id in the file's xarray.
 * @access:	KUBUF_ACCESS_* as registered.
 * @addr:	the application's address, as registered.
 * @len:	bytes, as registered.
 * @lock:	protects @state and @users.
 * @state:	KUBUF_UBUF_ACTIVE or KUBUF_UBUF_REVOKED.
 * @users:	device commands holding the kernel mapping.
 * @idle:	woken when @users drops to zero.
 * @pages:	the pinned pages; NULL once revoked.
 * @nr_pages:	number of @pages.
 * @vmap:	kernel mapping of @pages; NULL once revoked.
 * @memlock:	the charge to the registering user's RLIMIT_MEMLOCK.
 * @mm:		mm whose pinned_vm (VmPin) is charged (mmgrab reference).
 * @sgt:	KUBUF_DMA_UBUF: @pages, DMA-mapped for @dma_dev.
 * @dma_dev:	the device @sgt is mapped for (a reference), or NULL.
 */
struct kubuf_ubuf {
	u32 id;
	u32 access;
	u64 addr;
	u64 len;
	spinlock_t lock;		/* protects state, users */
	u32 state;
	u32 users;
	wait_queue_head_t idle;
	struct page **pages;
	unsigned long nr_pages;
	void *vmap;
	struct kubuf_memlock memlock;
	struct mm_struct *mm;
	struct sg_table sgt;
	struct device *dma_dev;
};

/* --- accounting ---------------------------------------------------------- */

/*
 * Charge @ub->nr_pages to the caller: the module's pins in all (the
 * bound that keeps any page's reference count from overflowing, whoever
 * registers and however often one page is mapped), its user's
 * RLIMIT_MEMLOCK (unless CAP_IPC_LOCK), each with a compare-and-exchange
 * so that concurrent registrations can never together exceed it, and
 * its mm's VmPin.
 */
static int kubuf_ubuf_account(struct kubuf_ubuf *ub)
{
	unsigned long nr = ub->nr_pages;
	int ret;

	ret = kubuf_pins_charge(nr);
	if (ret)
		return ret;
	ret = kubuf_memlock_charge(&ub->memlock, nr);
	if (ret) {
		kubuf_pins_uncharge(nr);
		return ret;
	}
	ub->mm = current->mm;
	mmgrab(ub->mm);
	atomic64_add(nr, &ub->mm->pinned_vm);
	return 0;
}

/* Give the charge back to whoever paid it: any context that may sleep. */
static void kubuf_ubuf_unaccount(struct kubuf_ubuf *ub)
{
	if (!ub->mm)
		return;
	kubuf_memlock_uncharge(&ub->memlock);
	kubuf_pins_uncharge(ub->nr_pages);
	atomic64_sub(ub->nr_pages, &ub->mm->pinned_vm);
	mmdrop(ub->mm);
	ub->mm = NULL;
}

/* --- pinning --------------------------------------------------------------- */

/*
 * Every byte of [start, end) must be mapped, and none of it may be a
 * shared mapping of a regular file: a long-term pin of page-cache pages
 * that the device writes behind the filesystem's back corrupts it (6.12
 * refuses some of these itself, 6.1 does not; this check makes every
 * kernel answer alike). Shared anonymous memory, memfd/shmem and
 * hugetlbfs are fine: their pages have no backing file to write back.
 */
static int kubuf_ubuf_check_vmas(struct mm_struct *mm, unsigned long start,
				 unsigned long end)
{
	VMA_ITERATOR(vmi, mm, start);
	struct vm_area_struct *vma;
	unsigned long next = start;

	mmap_assert_locked(mm);
	for_each_vma_range(vmi, vma, end) {
		if (vma->vm_start > next)
			return -EFAULT;
		if ((vma->vm_flags & VM_MAYSHARE) && vma->vm_file &&
		    !shmem_file(vma->vm_file) && !is_vm_hugetlb_page(vma))
			return -EOPNOTSUPP;
		next = vma->vm_end;
	}
	return next < end ? -EFAULT : 0;
}

/* The DMA direction of the device's access. */
static enum dma_data_direction kubuf_ubuf_dir(const struct kubuf_ubuf *ub)
{
	switch (ub->access & KUBUF_ACCESS_ALL) {
	case KUBUF_ACCESS_DEV_READ:
		return DMA_TO_DEVICE;
	case KUBUF_ACCESS_DEV_WRITE:
		return DMA_FROM_DEVICE;
	default:
		return DMA_BIDIRECTIONAL;
	}
}

/*
 * KUBUF_DMA_UBUF: the pinned pages as a scatterlist, mapped for the
 * driver's device until the registration is revoked (after the device's
 * last hold is given back).
 *
 * Mapped and unmapped without syncing for the CPU: with bounce buffers
 * (swiotlb) an unmap would copy the bounce buffer back over the
 * application's memory, undoing every write the application made since
 * the registration; the driver syncs the range of each transfer itself.
 * Segments are no longer than one mapping can be (swiotlb's bound).
 */
static int kubuf_ubuf_dma_map(struct kubuf_ubuf *ub, struct device *dev)
{
	/* At most what sg_alloc_table_from_pages() itself allows. */
	unsigned int max = min_t(size_t, dma_max_mapping_size(dev),
				 UINT_MAX) & PAGE_MASK;
	int ret;

	ret = sg_alloc_table_from_pages_segment(&ub->sgt, ub->pages,
						ub->nr_pages,
						offset_in_page(ub->addr),
						ub->len, max ?: PAGE_SIZE,
						GFP_KERNEL_ACCOUNT |
						__GFP_NOWARN);
	if (ret)
		return ret;
	ret = dma_map_sgtable(dev, &ub->sgt, kubuf_ubuf_dir(ub),
			      DMA_ATTR_SKIP_CPU_SYNC);
	if (ret) {
		sg_free_table(&ub->sgt);
		return ret;
	}
	ub->dma_dev = get_device(dev);
	return 0;
}

static void kubuf_ubuf_dma_unmap(struct kubuf_ubuf *ub)
{
	if (!ub->dma_dev)
		return;
	dma_unmap_sgtable(ub->dma_dev, &ub->sgt, kubuf_ubuf_dir(ub),
			  DMA_ATTR_SKIP_CPU_SYNC);
	sg_free_table(&ub->sgt);
	put_device(ub->dma_dev);
	ub->dma_dev = NULL;
}

static int kubuf_ubuf_pin(struct kubuf_ubuf *ub)
{
	unsigned long start = ub->addr & PAGE_MASK;
	unsigned int gup_flags = FOLL_LONGTERM;
	struct mm_struct *mm = current->mm;
	unsigned long pinned = 0;
	long ret;

	if (ub->access & KUBUF_ACCESS_DEV_WRITE)
		gup_flags |= FOLL_WRITE;

	/* Sized by the caller: failing is its -ENOMEM, not a log report. */
	ub->pages = kvmalloc_array(ub->nr_pages, sizeof(*ub->pages),
				   GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!ub->pages)
		return -ENOMEM;

	if (mmap_read_lock_killable(mm)) {
		ret = -EINTR;
		goto err_free;
	}
	ret = kubuf_ubuf_check_vmas(mm, start,
				    start + (ub->nr_pages << PAGE_SHIFT));
	/* pin_user_pages() may pin fewer pages than asked: go on. */
	while (!ret && pinned < ub->nr_pages) {
		ret = kubuf_pin_user_pages(start + (pinned << PAGE_SHIFT),
					   ub->nr_pages - pinned, gup_flags,
					   ub->pages + pinned);
		if (ret <= 0) {
			ret = ret ? ret : -EFAULT;
			break;
		}
		pinned += ret;
		ret = fatal_signal_pending(current) ? -EINTR : 0;
	}
	mmap_read_unlock(mm);
	if (ret)
		goto err_unpin;

	ub->vmap = vmap(ub->pages, ub->nr_pages, VM_MAP, PAGE_KERNEL);
	if (!ub->vmap) {
		ret = -ENOMEM;
		goto err_unpin;
	}
	kubuf_stat_add(KUBUF_STAT_PINNED_PAGES, ub->nr_pages);
	return 0;

err_unpin:
	unpin_user_pages(ub->pages, pinned);
err_free:
	kvfree(ub->pages);
	ub->pages = NULL;
	return ret;
}

static void kubuf_ubuf_unpin(struct kubuf_ubuf *ub)
{
	kubuf_ubuf_dma_unmap(ub);
	vunmap(ub->vmap);
	ub->vmap = NULL;
	unpin_user_pages_dirty_lock(ub->pages, ub->nr_pages,
				    ub->access & KUBUF_ACCESS_DEV_WRITE);
	kvfree(ub->pages);
	ub->pages = NULL;
	kubuf_stat_add(KUBUF_STAT_PINNED_PAGES, -(s64)ub->nr_pages);
	kubuf_ubuf_unaccount(ub);
}

/* --- revocation and freeing ------------------------------------------------ */

/* Tell the driver, so that its device stops: it may have DMA in flight. */
static void kubuf_ubuf_revoking(struct kubuf_file *kf, struct kubuf_ubuf *ub)
{
	struct kubuf_device *kd = kf->kd;
	int idx;

	/* Entered first: after removal, @ops may be unloaded memory. */
	if (!kubuf_dev_enter(kd, &idx))
		return;
	if (kd->ops->revoke)
		kd->ops->revoke(kf, ub->id);
	kubuf_dev_exit(kd, idx);
}

/*
 * Stop the device's use of @ub and unpin it. Returns true if this call
 * revoked it, false if it already was.
 */
static bool kubuf_ubuf_revoke(struct kubuf_file *kf, struct kubuf_ubuf *ub)
{
	lockdep_assert_held(&kf->lock);

	spin_lock(&ub->lock);
	if (ub->state == KUBUF_UBUF_REVOKED) {
		spin_unlock(&ub->lock);
		return false;
	}
	WRITE_ONCE(ub->state, KUBUF_UBUF_REVOKED);
	spin_unlock(&ub->lock);
	kubuf_ring_revoked(kf, ub);
	kubuf_cmd_revoked(kf, ub);
	kubuf_ubuf_revoking(kf, ub);

	/*
	 * The device notices at its next page and lets go. The condition is
	 * read without the lock (a wait condition must not take a lock that
	 * sleeps, as spinlocks do on PREEMPT_RT); the empty critical section
	 * after it waits for the last putter to leave kubuf_ubuf_dev_put().
	 */
	wait_event(ub->idle, !READ_ONCE(ub->users));
	spin_lock(&ub->lock);
	spin_unlock(&ub->lock);
	kubuf_ubuf_unpin(ub);
	return true;
}

/* @ub is out of the xarray and revoked: nothing else can reach it. */
static void kubuf_ubuf_free(struct kubuf_file *kf, struct kubuf_ubuf *ub)
{
	lockdep_assert_held(&kf->lock);
	kf->nr_ubufs--;
	kfree(ub);
	kubuf_stat_dec(KUBUF_STAT_UBUFS);
}

/**
 * kubuf_file_revoke() - revoke every registration of @kf.
 * @kf:	the file.
 *
 * The driver's side (a device reset): the device stops using them, they
 * are unpinned, and the application gets KUBUF_EVENT_REVOKED; it still
 * unregisters them (their ids stay until then). Rings in them die.
 * Context: process; the caller holds no memory of @kf (this waits for
 * every holder).
 */
void kubuf_file_revoke(struct kubuf_file *kf)
{
	struct kubuf_ubuf *ub;
	unsigned long id;
	bool any = false;

	mutex_lock(&kf->lock);
	xa_for_each(&kf->ubufs, id, ub)
		any |= kubuf_ubuf_revoke(kf, ub);
	mutex_unlock(&kf->lock);

	if (any)
		kubuf_notify_event(&kf->notify, KUBUF_EVENT_REVOKED);
}
EXPORT_SYMBOL_GPL(kubuf_file_revoke);

/**
 * kubuf_ubuf_revoke_id() - revoke registration @id of @kf.
 * @kf:	the file.
 * @id:	the registration.
 *
 * As kubuf_file_revoke(), for one registration.
 * Context: process; the caller holds no memory of @kf.
 * Return: 0, or -ENOENT if there is no such registration.
 */
int kubuf_ubuf_revoke_id(struct kubuf_file *kf, u32 id)
{
	struct kubuf_ubuf *ub;
	bool done = false;

	mutex_lock(&kf->lock);
	ub = xa_load(&kf->ubufs, id);
	if (ub)
		done = kubuf_ubuf_revoke(kf, ub);
	mutex_unlock(&kf->lock);

	if (done)
		kubuf_notify_event(&kf->notify, KUBUF_EVENT_REVOKED);
	return ub ? 0 : -ENOENT;
}
EXPORT_SYMBOL_GPL(kubuf_ubuf_revoke_id);

/* release(): the application is gone, whatever process closed last. */
void kubuf_ubuf_release_all(struct kubuf_file *kf)
{
	struct kubuf_ubuf *ub;
	unsigned long id;

	mutex_lock(&kf->lock);
	xa_for_each(&kf->ubufs, id, ub) {
		xa_erase(&kf->ubufs, id);
		kubuf_ubuf_revoke(kf, ub);
		kubuf_ubuf_free(kf, ub);
	}
	mutex_unlock(&kf->lock);
}

/* --- the device's access ----------------------------------------------------- */

int kubuf_ubuf_dev_get(struct kubuf_file *kf, u32 id, u32 access,
		       struct kubuf_mem *m)
{
	struct kubuf_ubuf *ub;

	lockdep_assert_held(&kf->lock);

	ub = xa_load(&kf->ubufs, id);
	if (!ub)
		return -ENOENT;
	return kubuf_ubuf_dev_hold(kf, ub, access, m);
}

/* As kubuf_ubuf_dev_get(), for a registration the caller already knows. */
int kubuf_ubuf_dev_hold(struct kubuf_file *kf, struct kubuf_ubuf *ub,
			u32 access, struct kubuf_mem *m)
{
	lockdep_assert_held(&kf->lock);

	if ((ub->access & access) != access)
		return -EACCES;

	spin_lock(&ub->lock);
	if (ub->state != KUBUF_UBUF_ACTIVE) {
		spin_unlock(&ub->lock);
		return -ESHUTDOWN;
	}
	WRITE_ONCE(ub->users, ub->users + 1);
	spin_unlock(&ub->lock);

	memset(m, 0, sizeof(*m));	/* no field left from the caller */
	m->vaddr = ub->vmap + offset_in_page(ub->addr);
	m->len = ub->len;
	m->dma_addr = DMA_MAPPING_ERROR;
	if (ub->dma_dev) {
		m->sgt = &ub->sgt;
		m->sgt_offset = offset_in_page(ub->addr);
	}
	m->kf = kf;
	m->ubuf = ub;
	m->app_write = true;
	return 0;
}

bool kubuf_ubuf_dev_alive(const struct kubuf_ubuf *ub)
{
	return READ_ONCE(ub->state) == KUBUF_UBUF_ACTIVE;
}

void kubuf_ubuf_dev_put(struct kubuf_ubuf *ub)
{
	/*
	 * Wake under the lock: the waiter, once it sees 0, takes the lock
	 * before it frees @ub, so @ub outlives this critical section.
	 */
	spin_lock(&ub->lock);
	WRITE_ONCE(ub->users, ub->users - 1);
	if (!ub->users)
		wake_up(&ub->idle);
	spin_unlock(&ub->lock);
}

/* Caches that alias the user's view (VIVT) see the device's writes. */
void kubuf_ubuf_dev_written(struct kubuf_ubuf *ub, void *addr, u64 len)
{
	flush_kernel_vmap_range(addr, len);
}

void kubuf_ubuf_dev_will_read(struct kubuf_ubuf *ub, void *addr, u64 len)
{
	invalidate_kernel_vmap_range(addr, len);
}

/* --- ioctls ---------------------------------------------------------------- */

int kubuf_ioc_ubuf_register(struct kubuf_file *kf, void __user *argp)
{
	struct kubuf_ubuf_reg __user *uarg = argp;
	struct kubuf_device *kd = kf->kd;
	struct kubuf_ubuf_reg arg;
	struct kubuf_ubuf *ub;
	int ret, idx;
	u64 end;
	u32 id;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags || arg.reserved0 || arg.reserved[0] || arg.reserved[1])
		return -EINVAL;
	if (!arg.access || (arg.access & ~KUBUF_ACCESS_ALL))
		return -EINVAL;
	if (!arg.len)
		return -EINVAL;
	if (arg.len > KUBUF_MAX_UBUF_SIZE)
		return -E2BIG;
	if (check_add_overflow(arg.addr, arg.len, &end) ||
	    !access_ok(u64_to_user_ptr(arg.addr), arg.len))
		return -EFAULT;

	ub = kzalloc(sizeof(*ub), GFP_KERNEL_ACCOUNT);
	if (!ub)
		return -ENOMEM;
	ub->access = arg.access;
	ub->addr = arg.addr;
	ub->len = arg.len;
	ub->nr_pages = (PAGE_ALIGN(end) - (arg.addr & PAGE_MASK)) >> PAGE_SHIFT;
	ub->state = KUBUF_UBUF_ACTIVE;
	spin_lock_init(&ub->lock);
	init_waitqueue_head(&ub->idle);

	ret = kubuf_file_reserve(kf, &kf->nr_ubufs, KUBUF_MAX_UBUFS);
	if (ret)
		goto err_free;

	ret = kubuf_ubuf_account(ub);
	if (ret)
		goto err_slot;
	ret = kubuf_ubuf_pin(ub);
	if (ret)
		goto err_unaccount;

	/*
	 * The device's mapping and the registration's insertion, inside
	 * the device (not the pinning: it may wait on the application's
	 * faults): a removal waits for both, and after it neither happens,
	 * so no registration is ever mapped for a removed device.
	 */
	if (!kubuf_dev_enter_open(kd, &idx)) {
		ret = -ENODEV;
		goto err_unpin;
	}
	if ((kd->flags & (KUBUF_DMA_UBUF | KUBUF_DMA_ONLY)) && kd->dev)
		ret = kubuf_ubuf_dma_map(ub, kd->dev);
	if (!ret) {
		mutex_lock(&kf->lock);
		/* Nothing new on a device being removed (unplug is next). */
		ret = READ_ONCE(kd->closing) ? -ENODEV :
		      xa_alloc_cyclic(&kf->ubufs, &id, ub,
				      XA_LIMIT(1, INT_MAX), &kf->ubuf_next,
				      GFP_KERNEL_ACCOUNT);
		if (ret >= 0) {
			ub->id = id;
			kubuf_stat_inc(KUBUF_STAT_UBUFS);
		}
		mutex_unlock(&kf->lock);
		if (ret < 0)
			kubuf_ubuf_dma_unmap(ub);
	}
	kubuf_dev_exit(kd, idx);
	if (ret < 0)
		goto err_unpin;

	if (put_user(id, &uarg->id)) {
		/*
		 * The caller cannot learn the id: undo it all, unless another
		 * thread guessed the id and unregistered it meanwhile, which
		 * freed @ub.
		 */
		mutex_lock(&kf->lock);
		if (xa_cmpxchg(&kf->ubufs, id, ub, NULL, 0) == ub) {
			kubuf_ubuf_revoke(kf, ub);
			kubuf_ubuf_free(kf, ub);
		}
		mutex_unlock(&kf->lock);
		return -EFAULT;
	}
	return 0;

err_unpin:
	ub->state = KUBUF_UBUF_REVOKED;
	kubuf_ubuf_unpin(ub);
	goto err_slot;
err_unaccount:
	kubuf_ubuf_unaccount(ub);
err_slot:
	kubuf_file_unreserve(kf, &kf->nr_ubufs);
err_free:
	kfree(ub);
	return ret;
}

int kubuf_ioc_ubuf_unregister(struct kubuf_file *kf, void __user *argp)
{
	struct kubuf_ubuf *ub;
	u32 id;
	int ret;

	ret = kubuf_id_from_user(argp, &id);
	if (ret)
		return ret;

	mutex_lock(&kf->lock);
	/* Not xa_erase(0): it would free the index ALLOC1 keeps out of use. */
	ub = id ? xa_erase(&kf->ubufs, id) : NULL;
	if (!ub) {
		mutex_unlock(&kf->lock);
		return -ENOENT;
	}
	kubuf_ubuf_revoke(kf, ub);
	kubuf_ubuf_free(kf, ub);
	mutex_unlock(&kf->lock);
	return 0;
}

int kubuf_ioc_ubuf_query(struct kubuf_file *kf, void __user *argp)
{
	struct kubuf_ubuf_query q;
	struct kubuf_ubuf *ub;
	u32 id;

	if (copy_from_user(&q, argp, sizeof(q)))
		return -EFAULT;
	if (q.flags)
		return -EINVAL;
	id = q.id;

	memset(&q, 0, sizeof(q));
	mutex_lock(&kf->lock);
	ub = xa_load(&kf->ubufs, id);
	if (!ub) {
		mutex_unlock(&kf->lock);
		return -ENOENT;
	}
	q.id = id;
	q.state = ub->state;
	q.access = ub->access;
	q.addr = ub->addr;
	q.len = ub->len;
	q.nr_pages = ub->state == KUBUF_UBUF_ACTIVE ? ub->nr_pages : 0;
	mutex_unlock(&kf->lock);

	if (copy_to_user(argp, &q, sizeof(q)))
		return -EFAULT;
	return 0;
}
