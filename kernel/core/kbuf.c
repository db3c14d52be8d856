// SPDX-License-Identifier: GPL-2.0
/*
 * Technique 2: buffers the driver allocates and the application maps.
 *
 * KUBUF_IOC_KBUF_ALLOC allocates a buffer of one of two kinds:
 *
 *   PAGES  zeroed order-0 pages (alloc_page(__GFP_ZERO)), charged to the
 *          caller's memory cgroup, mapped for the device with vmap() and
 *          into the application with vm_insert_pages() at mmap time;
 *   DMA    memory from dma_alloc_coherent() on the driver's device
 *          (kubuf_device_create()'s @dev), mapped as raw PFNs page by page
 *          as the application touches them (kubuf_kbuf_fault_dma() says
 *          why), x86 only; charged to the allocating user's
 *          RLIMIT_MEMLOCK (the DMA API cannot charge a memory cgroup).
 *          The device's address stays in the kernel: given to user space
 *          it would name physical memory the user fills.
 *
 * Both kinds count against the allocating user's max_user_kbuf_mb until
 * the buffer is truly freed, after its last munmap, so a loop of
 * allocate, map, free cannot escape any limit.
 *
 * and returns an id and the mmap() offset that names it (the offset space
 * is drawn below).
 *
 * Cache modes. A write-combined or uncached user mapping of pages that the
 * kernel still maps write-back (the linear map, a vmap) is an alias with
 * undefined results on x86 (PAT). So for PAGES on x86 the module changes
 * the pages' own attribute first (set_pages_array_wc/uc, which flushes
 * the caches and records the memory type), maps them for the device with
 * the same attribute, inserts them into the application with it, and
 * restores write-back before freeing them: every mapping of the pages
 * agrees. The change is made a chunk at a time; if one fails, every page
 * is set back to write-back before it returns to the allocator, and if
 * even that fails the pages are never freed (a leak, reported, rather
 * than an uncached page handed to whoever allocates it next).
 * Elsewhere, and for DMA buffers (the DMA API hands coherent devices
 * cached memory whatever attribute is asked for), WC and UC are refused
 * with -EOPNOTSUPP rather than faked, and GET_INFO does not report
 * KUBUF_FEAT_KBUF_WC/UC.
 *
 * Offset space (one 256 MiB window per id; id 0 is never allocated):
 *
 *   offset:  0         1 << 28     2 << 28          id << 28
 *            |  unused  | buffer 1  | buffer 2  ...  | buffer id: [0, size)
 *                        ^^^^^^^^^^ mmap at (1 << 28) + k * PAGE_SIZE maps
 *                                   buffer 1 from its page k on
 *
 * Ids stay below 1 << 16, so page offsets fit 32 bits (mmap2 on 32-bit).
 *
 * Mappings are MAP_SHARED only, never executable, writable only for a
 * buffer allocated with KUBUF_KBUF_APP_WRITE (VM_MAYWRITE and VM_MAYEXEC
 * are cleared, so mprotect() cannot add what mmap() refused), cannot grow
 * (VM_DONTEXPAND) and are left out of core dumps (VM_DONTDUMP). PAGES are
 * all mapped at mmap() time and again by the fault handler if something
 * took them out (the application's MADV_DONTNEED, a removal); DMA pages
 * are mapped by the fault handler only, KUBUF_KBUF_PREFAULT at a time.
 *
 * Lifetime: a buffer has a kref. The file's xarray holds one reference,
 * each VMA one (vm_ops open/close, so splits, mremap and fork balance),
 * and each device command one (kubuf_kbuf_dev_get/put). KUBUF_IOC_KBUF_FREE
 * and release() only drop the xarray's: the id and its offset die at once,
 * the memory stays the application's until its last mapping is gone and
 * the device has let go, and is freed by whoever drops the last reference.
 *
 * Removal (kubuf_kbuf_unplug(), the last step of kubuf_device_destroy()):
 * DMA memory is the device's, and the DMA API wants it back before the
 * driver's remove returns (its device, its IOMMU domain, may be gone
 * after). Once the device is closing no DMA page is mapped any more (the
 * fault handler runs inside the device's SRCU, and says SIGBUS once it is
 * closing); removal waits for the faults in progress, takes every kbuf
 * mapping of every file of the device out of the page tables
 * (unmap_mapping_range(), under kubuf_device.lock: i_mmap_rwsem nests
 * inside it), and frees the DMA memory of every buffer still holding
 * some (kubuf_device.dma_kbufs). The buffers themselves live on, empty,
 * until their last reference; touching a DMA mapping is SIGBUS from then
 * on, and a mapping of PAGES, taken out too (one address space may hold
 * the mappings of several files), is mapped again at the next touch.
 * Mapping DMA pages at fault time, not at mmap(), is what makes this
 * sound: a VMA is in the address space's tree before it can fault, but
 * not yet while ->mmap() runs, so PTEs made there could escape the zap.
 */
#include <linux/cc_platform.h>
#include <linux/debugfs.h>
#include <linux/dma-mapping.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#ifdef CONFIG_X86
#include <asm/set_memory.h>
#endif

#include "internal.h"

#define KUBUF_KBUF_OFF_SHIFT	28		/* bytes per id window, log2 */
#define KUBUF_KBUF_WIN_PAGES	(1UL << (KUBUF_KBUF_OFF_SHIFT - PAGE_SHIFT))
#define KUBUF_KBUF_MAX_ID	0xffffU

static_assert(KUBUF_MAX_KBUF_SIZE <= (1UL << KUBUF_KBUF_OFF_SHIFT));
static_assert(KUBUF_MAX_KBUFS <= KUBUF_KBUF_MAX_ID);

#define KUBUF_KBUF_GFP	(GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN)

/**
 * struct kubuf_kbuf - one driver buffer. Every field but @vaddr and
 * @dma_node is set at allocation and constant until the buffer is freed;
 * @ref says when that is.
 * @ref:	the file's xarray, each VMA and each device command hold one.
 * @kind:	KUBUF_KBUF_PAGES or KUBUF_KBUF_DMA.
 * @cache:	KUBUF_CACHE_*; only PAGES buffers have another than CACHED.
 * @flags:	KUBUF_KBUF_APP_WRITE or 0.
 * @nr_pages:	size in pages.
 * @pages:	PAGES: the pages.
 * @vaddr:	kernel mapping of the whole buffer (vmap, or the DMA API's);
 *		DMA: NULL once a removal freed the memory.
 * @dma_addr:	DMA: the device's address of the buffer.
 * @dma_node:	DMA: in kubuf_device.dma_kbufs while it holds the memory;
 *		kubuf_device.dma_lock.
 * @user:	charged for the pages (a reference).
 * @memlock:	DMA: the charge to the allocating user's RLIMIT_MEMLOCK.
 * @kd:		the device it was allocated for (a reference).
 */
struct kubuf_kbuf {
	struct kref ref;
	struct kubuf_device *kd;
	u32 kind;
	u32 cache;
	u32 flags;
	unsigned long nr_pages;
	struct page **pages;
	void *vaddr;
	dma_addr_t dma_addr;
	struct list_head dma_node;
	struct kubuf_user *user;
	struct kubuf_memlock memlock;
};

/*
 * A failure no allocation failure reaches, for tests (debugfs
 * kubuf/fail_cache_mode; see kubuf_kbuf_debugfs()).
 */
static struct kubuf_fault kubuf_fail_cache_mode = KUBUF_FAULT_INIT;

/* DMA pages mapped by one fault: the one touched and those after it. */
#define KUBUF_KBUF_PREFAULT	16

/* --- cache modes ----------------------------------------------------------- */

/*
 * DMA buffers are mapped into user space as raw PFNs (see
 * kubuf_kbuf_fault_dma()), with the attributes of ordinary memory: x86
 * only, where DMA is coherent and the DMA API's memory is write-back.
 * Where memory is encrypted (SEV, TDX guests), the DMA API hands out
 * buffers it has decrypted (shared with the host), which such a mapping
 * would reach through an encrypted one: refused there, never mis-mapped.
 */
static bool kubuf_kbuf_dma_ok(const struct kubuf_device *kd)
{
	if (!kd->dev)
		return false;	/* no device to allocate for */
	return IS_ENABLED(CONFIG_X86) && !cc_platform_has(CC_ATTR_MEM_ENCRYPT);
}

#ifdef CONFIG_X86
#define KUBUF_KBUF_CACHE_MODES	true
#define KUBUF_KBUF_CACHE_CHUNK	512		/* pages per attribute change */

/*
 * One chunk's attribute. Fault injection (kubuf/fail_cache_mode) can make
 * it fail, so that tests reach the failure of a change part-way through
 * a buffer; set_pages_array_*() may itself fail part-way through a
 * chunk, when it cannot split the direct map.
 */
static int kubuf_kbuf_set_cache_chunk(struct page **pages, int nr, u32 cache)
{
	if (kubuf_fault_fire(&kubuf_fail_cache_mode))
		return -ENOMEM;
	if (cache == KUBUF_CACHE_WC)
		return set_pages_array_wc(pages, nr);
	return set_pages_array_uc(pages, nr);
}

/*
 * Back to write-back, the first @nr pages of @kb, before they go back to
 * the allocator. False if even that failed: the pages must then never be
 * freed.
 */
static bool kubuf_kbuf_restore_cache(struct kubuf_kbuf *kb, unsigned long nr)
{
	if (!nr || !set_pages_array_wb(kb->pages, nr))
		return true;
	pr_err_ratelimited("kubuf: cannot restore the cache mode of %lu pages: leaking them\n",
			   nr);
	return false;
}

/* Give the linear map of @kb's pages its cache mode: no alias remains. */
static int kubuf_kbuf_set_cache(struct kubuf_kbuf *kb)
{
	unsigned long done, nr;

	if (kb->cache == KUBUF_CACHE_CACHED)
		return 0;
	for (done = 0; done < kb->nr_pages; done += nr) {
		nr = min_t(unsigned long, kb->nr_pages - done,
			   KUBUF_KBUF_CACHE_CHUNK);
		if (kubuf_kbuf_set_cache_chunk(kb->pages + done, nr, kb->cache))
			goto err;
		cond_resched();
	}
	return 0;

err:
	/* The failed chunk may be part done: restore it too. */
	if (!kubuf_kbuf_restore_cache(kb, done + nr))
		return -EIO;
	return -ENOMEM;
}

/* Before the pages go back to the allocator; false: they must not. */
static bool kubuf_kbuf_clear_cache(struct kubuf_kbuf *kb)
{
	if (kb->cache == KUBUF_CACHE_CACHED)
		return true;
	return kubuf_kbuf_restore_cache(kb, kb->nr_pages);
}
#else
#define KUBUF_KBUF_CACHE_MODES	false

static int kubuf_kbuf_set_cache(struct kubuf_kbuf *kb)
{
	return 0;
}

static bool kubuf_kbuf_clear_cache(struct kubuf_kbuf *kb)
{
	return true;
}
#endif

/* @prot, with @kb's cache mode: for the vmap and for the application. */
static pgprot_t kubuf_kbuf_pgprot(const struct kubuf_kbuf *kb, pgprot_t prot)
{
	switch (kb->cache) {
	case KUBUF_CACHE_WC:
		return pgprot_writecombine(prot);
	case KUBUF_CACHE_UNCACHED:
		return pgprot_noncached(prot);
	default:
		return prot;
	}
}

/* --- memory ---------------------------------------------------------------- */

/* @free: false when the pages' cache mode could not be restored. */
static void kubuf_kbuf_free_pages(struct kubuf_kbuf *kb, unsigned long nr,
				  bool free)
{
	while (free && nr--)
		__free_page(kb->pages[nr]);
	kvfree(kb->pages);
	kb->pages = NULL;
}

static int kubuf_kbuf_alloc_pages(struct kubuf_kbuf *kb)
{
	int ret = -ENOMEM;
	unsigned long i;

	kb->pages = kvmalloc_array(kb->nr_pages, sizeof(*kb->pages),
				   KUBUF_KBUF_GFP);
	if (!kb->pages)
		return -ENOMEM;
	for (i = 0; i < kb->nr_pages; i++) {
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			goto err_free;
		}
		kb->pages[i] = alloc_page(KUBUF_KBUF_GFP | __GFP_ZERO);
		if (!kb->pages[i])
			goto err_free;
		cond_resched();
	}
	ret = kubuf_kbuf_set_cache(kb);
	if (ret == -EIO) {
		kubuf_kbuf_free_pages(kb, i, false);
		return -ENOMEM;
	}
	if (ret)
		goto err_free;
	kb->vaddr = vmap(kb->pages, kb->nr_pages, VM_MAP,
			 kubuf_kbuf_pgprot(kb, PAGE_KERNEL));
	if (!kb->vaddr) {
		kubuf_kbuf_free_pages(kb, i, kubuf_kbuf_clear_cache(kb));
		return -ENOMEM;
	}
	return 0;

err_free:
	kubuf_kbuf_free_pages(kb, i, true);
	return ret;
}

/*
 * Charge @kb to the caller: its user's max_user_kbuf_mb (-EDQUOT) and,
 * for DMA memory, which no memory cgroup sees, its RLIMIT_MEMLOCK
 * (-ENOMEM). Both stay charged until the buffer is freed.
 */
static int kubuf_kbuf_account(struct kubuf_kbuf *kb)
{
	struct kubuf_user *user;
	int ret;

	ret = kubuf_user_charge(KUBUF_LIMIT_KBUF_PAGES, kb->nr_pages, &user);
	if (ret)
		return ret;
	kb->user = user;
	if (kb->kind == KUBUF_KBUF_DMA) {
		ret = kubuf_memlock_charge(&kb->memlock, kb->nr_pages);
		if (ret) {
			kubuf_user_uncharge(user, KUBUF_LIMIT_KBUF_PAGES,
					    kb->nr_pages);
			kb->user = NULL;
			return ret;
		}
	}
	return 0;
}

static void kubuf_kbuf_unaccount(struct kubuf_kbuf *kb)
{
	kubuf_memlock_uncharge(&kb->memlock);
	if (kb->user)
		kubuf_user_uncharge(kb->user, KUBUF_LIMIT_KBUF_PAGES,
				    kb->nr_pages);
	kb->user = NULL;
}

/* Inside the device (kubuf_dev_enter_open): a removal waits for it. */
static int kubuf_kbuf_alloc_mem(struct kubuf_kbuf *kb)
{
	struct kubuf_device *kd = kb->kd;

	if (kb->kind == KUBUF_KBUF_PAGES)
		return kubuf_kbuf_alloc_pages(kb);

	kb->vaddr = dma_alloc_coherent(kd->dev, kb->nr_pages << PAGE_SHIFT,
				       &kb->dma_addr, GFP_KERNEL | __GFP_NOWARN);
	if (!kb->vaddr)
		return -ENOMEM;
	mutex_lock(&kd->dma_lock);
	list_add_tail(&kb->dma_node, &kd->dma_kbufs);
	mutex_unlock(&kd->dma_lock);
	return 0;
}

/* Give @kb's DMA memory back, unless a removal did; kubuf_device.dma_lock. */
static void kubuf_kbuf_free_dma(struct kubuf_kbuf *kb)
{
	lockdep_assert_held(&kb->kd->dma_lock);
	if (list_empty(&kb->dma_node))
		return;
	list_del_init(&kb->dma_node);
	dma_free_coherent(kb->kd->dev, kb->nr_pages << PAGE_SHIFT, kb->vaddr,
			  kb->dma_addr);
	WRITE_ONCE(kb->vaddr, NULL);
	WRITE_ONCE(kb->dma_addr, DMA_MAPPING_ERROR);
	/* No memory, no memory charge (the other limits last as documented). */
	kubuf_memlock_uncharge(&kb->memlock);
}

/* The last reference is gone: no VMA, no table, no device command. */
static void kubuf_kbuf_release(struct kref *ref)
{
	struct kubuf_kbuf *kb = container_of(ref, struct kubuf_kbuf, ref);

	if (kb->kind == KUBUF_KBUF_PAGES) {
		vunmap(kb->vaddr);
		kubuf_kbuf_free_pages(kb, kb->nr_pages,
				      kubuf_kbuf_clear_cache(kb));
	} else {
		mutex_lock(&kb->kd->dma_lock);
		kubuf_kbuf_free_dma(kb);
		mutex_unlock(&kb->kd->dma_lock);
	}
	kubuf_stat_add(KUBUF_STAT_KBUF_PAGES, -(s64)kb->nr_pages);
	kubuf_stat_dec(KUBUF_STAT_KBUFS);
	kubuf_kbuf_unaccount(kb);
	kubuf_device_put(kb->kd);
	kfree(kb);
}

static void kubuf_kbuf_put(struct kubuf_kbuf *kb)
{
	kref_put(&kb->ref, kubuf_kbuf_release);
}

/* --- mappings -------------------------------------------------------------- */

/* A split, mremap or fork made a new VMA of the same buffer. */
static void kubuf_kbuf_vm_open(struct vm_area_struct *vma)
{
	struct kubuf_kbuf *kb = vma->vm_private_data;

	kref_get(&kb->ref);
	kubuf_stat_inc(KUBUF_STAT_MAPPINGS);
}

static void kubuf_kbuf_vm_close(struct vm_area_struct *vma)
{
	kubuf_stat_dec(KUBUF_STAT_MAPPINGS);
	kubuf_kbuf_put(vma->vm_private_data);
}

/* The page of @kb that @addr of @vma maps. */
static unsigned long kubuf_kbuf_page_of(struct vm_area_struct *vma,
					unsigned long addr)
{
	return vma->vm_pgoff % KUBUF_KBUF_WIN_PAGES +
	       ((addr - vma->vm_start) >> PAGE_SHIFT);
}

/* A page of PAGES taken out of the mapping: the same page again. */
static vm_fault_t kubuf_kbuf_fault_page(struct vm_fault *vmf,
					struct kubuf_kbuf *kb, unsigned long pg)
{
	/* VM_MIXEDMAP, set at mmap(), lets it run in a fault. */
	int ret = vm_insert_page(vmf->vma, vmf->address & PAGE_MASK,
				 kb->pages[pg]);

	if (!ret || ret == -EBUSY)	/* -EBUSY: a racing fault mapped it */
		return VM_FAULT_NOPAGE;
	return ret == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
}

/*
 * DMA pages as raw PFNs (DMA is coherent on x86: the mapping is
 * write-back, like the DMA API's), the one touched and up to
 * KUBUF_KBUF_PREFAULT - 1 after it in the VMA, inside the device: once
 * it is closing, SIGBUS (see "Removal" at the top). Not
 * dma_mmap_coherent(), which maps at mmap() time (see the top), and
 * whose remap_pfn_range(), when it cannot allocate the first page table
 * (a memory cgroup at its limit), WARNs in the PAT code of 6.1 and 6.12
 * on the way to -ENOMEM: a user must not be able to make the kernel
 * warn.
 */
static vm_fault_t kubuf_kbuf_fault_dma(struct vm_fault *vmf,
				       struct kubuf_kbuf *kb, unsigned long pg)
{
	struct vm_area_struct *vma = vmf->vma;
	unsigned long addr = vmf->address & PAGE_MASK;
	unsigned long n = min3((unsigned long)KUBUF_KBUF_PREFAULT,
			       kb->nr_pages - pg,
			       (vma->vm_end - addr) >> PAGE_SHIFT);
	vm_fault_t ret = VM_FAULT_SIGBUS;
	unsigned long i;
	int idx;

	if (!kubuf_dev_enter_open(kb->kd, &idx))
		return VM_FAULT_SIGBUS;
	for (i = 0; i < n; i++) {
		void *va = kb->vaddr + ((pg + i) << PAGE_SHIFT);
		struct page *page = is_vmalloc_addr(va) ? vmalloc_to_page(va) :
							  virt_to_page(va);
		vm_fault_t f = vmf_insert_pfn_prot(vma, addr + (i << PAGE_SHIFT),
						   page_to_pfn(page),
						   vma->vm_page_prot);

		if (!i)
			ret = f;	/* the others are only a head start */
		if (f & VM_FAULT_ERROR)
			break;
	}
	kubuf_dev_exit(kb->kd, idx);
	return ret;
}

static vm_fault_t kubuf_kbuf_vm_fault(struct vm_fault *vmf)
{
	struct kubuf_kbuf *kb = vmf->vma->vm_private_data;
	unsigned long pg = kubuf_kbuf_page_of(vmf->vma, vmf->address);

	if (pg >= kb->nr_pages)		/* mmap() checked: cannot be */
		return VM_FAULT_SIGBUS;
	if (kb->kind == KUBUF_KBUF_PAGES)
		return kubuf_kbuf_fault_page(vmf, kb, pg);
	return kubuf_kbuf_fault_dma(vmf, kb, pg);
}

static const struct vm_operations_struct kubuf_kbuf_vm_ops = {
	.open	= kubuf_kbuf_vm_open,
	.close	= kubuf_kbuf_vm_close,
	.fault	= kubuf_kbuf_vm_fault,
};

/* Map pages [@first, @first + vma_pages(@vma)) of @kb into @vma. */
static int kubuf_kbuf_map_vma(struct kubuf_kbuf *kb,
			      struct vm_area_struct *vma, unsigned long first)
{
	unsigned long nr = vma_pages(vma);
	int ret;

	/* DMA: nothing now, the fault handler maps (see the top). */
	if (kb->kind == KUBUF_KBUF_DMA) {
		kubuf_vm_flags_mod(vma, VM_IO | VM_PFNMAP, 0);
		return 0;
	}
	vma->vm_page_prot = kubuf_kbuf_pgprot(kb, vma->vm_page_prot);
	ret = vm_insert_pages(vma, vma->vm_start, kb->pages + first, &nr);
	/*
	 * It says -EFAULT when it could not allocate a page table above the
	 * last level; no other failure of it can happen here.
	 */
	return ret == -EFAULT ? -ENOMEM : ret;
}

int kubuf_kbuf_mmap(struct kubuf_file *kf, struct file *file,
		    struct vm_area_struct *vma)
{
	unsigned long id = vma->vm_pgoff / KUBUF_KBUF_WIN_PAGES;
	unsigned long first = vma->vm_pgoff % KUBUF_KBUF_WIN_PAGES;
	vm_flags_t clear = VM_MAYEXEC;
	struct kubuf_kbuf *kb;
	int ret;

	/* Private copies of device memory make no sense: shared only. */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;

	mutex_lock(&kf->lock);
	kb = id <= KUBUF_KBUF_MAX_ID ? xa_load(&kf->kbufs, id) : NULL;
	if (!kb || first >= kb->nr_pages ||
	    vma_pages(vma) > kb->nr_pages - first) {
		mutex_unlock(&kf->lock);
		return -EINVAL;
	}
	if ((vma->vm_flags & VM_WRITE) && !(kb->flags & KUBUF_KBUF_APP_WRITE)) {
		mutex_unlock(&kf->lock);
		return -EACCES;
	}
	kref_get(&kb->ref);
	mutex_unlock(&kf->lock);

	if (!(kb->flags & KUBUF_KBUF_APP_WRITE))
		clear |= VM_MAYWRITE;
	kubuf_vm_flags_mod(vma, VM_DONTEXPAND | VM_DONTDUMP, clear);

	ret = kubuf_kbuf_map_vma(kb, vma, first);
	if (ret) {
		/* The caller zaps whatever part was mapped. */
		kubuf_kbuf_put(kb);
		return ret;
	}
	vma->vm_private_data = kb;
	vma->vm_ops = &kubuf_kbuf_vm_ops;
	kubuf_stat_inc(KUBUF_STAT_MAPPINGS);
	return 0;
}

/* --- the device's access --------------------------------------------------- */

int kubuf_kbuf_dev_get(struct kubuf_file *kf, u32 id, struct kubuf_mem *m)
{
	struct kubuf_kbuf *kb;

	lockdep_assert_held(&kf->lock);

	kb = xa_load(&kf->kbufs, id);
	if (!kb)
		return -ENOENT;
	kref_get(&kb->ref);

	memset(m, 0, sizeof(*m));	/* no field left from the caller */
	/* A removal may have freed DMA memory: NULL, DMA_MAPPING_ERROR. */
	m->vaddr = READ_ONCE(kb->vaddr);
	m->len = (u64)kb->nr_pages << PAGE_SHIFT;
	m->dma_addr = kb->kind == KUBUF_KBUF_DMA ? READ_ONCE(kb->dma_addr) :
						     DMA_MAPPING_ERROR;
	m->kf = kf;
	m->kbuf = kb;
	m->app_write = kb->flags & KUBUF_KBUF_APP_WRITE;
	return 0;
}

void kubuf_kbuf_dev_put(struct kubuf_kbuf *kb)
{
	kubuf_kbuf_put(kb);
}

/*
 * A driver's hold on a DMA buffer (kubuf_mem_get()): removal waits for
 * it before the memory goes. Counted before kubuf_mem_alive() is looked
 * at, with a full barrier between, against removal's write of closing
 * before it reads the count: either the holder sees the device closing
 * and lets go, or removal sees the hold and waits.
 */
void kubuf_kbuf_dma_hold(struct kubuf_mem *m)
{
	struct kubuf_device *kd = m->kbuf->kd;

	if (m->kbuf->kind != KUBUF_KBUF_DMA)
		return;
	atomic_inc(&kd->dma_holds);
	/* Pairs with synchronize_srcu() after closing is set (above). */
	smp_mb__after_atomic();
	m->dma_hold = true;
}

void kubuf_kbuf_dma_unhold(struct kubuf_kbuf *kb)
{
	if (atomic_dec_and_test(&kb->kd->dma_holds))
		wake_up_var(&kb->kd->dma_holds);
}

/* --- ioctls ---------------------------------------------------------------- */

/* Take @kb out of @kf's table; the id and its offset are dead from now. */
static void kubuf_kbuf_unlink(struct kubuf_file *kf, u32 id)
{
	lockdep_assert_held(&kf->lock);
	xa_erase(&kf->kbufs, id);
	kf->nr_kbufs--;
}

static int kubuf_kbuf_check(const struct kubuf_device *kd,
			    const struct kubuf_kbuf_alloc *a)
{
	if ((a->flags & ~KUBUF_KBUF_APP_WRITE) || a->reserved[0] ||
	    a->reserved[1])
		return -EINVAL;
	if (a->kind != KUBUF_KBUF_PAGES && a->kind != KUBUF_KBUF_DMA)
		return -EINVAL;
	if (a->cache > KUBUF_CACHE_UNCACHED)
		return -EINVAL;
	if (!a->size)
		return -EINVAL;
	if (a->size > KUBUF_MAX_KBUF_SIZE)
		return -E2BIG;
	/* See the top of this file: no mapping with the wrong attributes. */
	if (a->cache != KUBUF_CACHE_CACHED &&
	    (a->kind != KUBUF_KBUF_PAGES || !KUBUF_KBUF_CACHE_MODES))
		return -EOPNOTSUPP;
	if (a->kind == KUBUF_KBUF_DMA && !kubuf_kbuf_dma_ok(kd))
		return -EOPNOTSUPP;
	return 0;
}

int kubuf_ioc_kbuf_alloc(struct kubuf_file *kf, void __user *argp)
{
	struct kubuf_device *kd = kf->kd;
	struct kubuf_kbuf_alloc arg;
	struct kubuf_kbuf *kb;
	int ret, idx;
	u32 id;

	if (copy_from_user(&arg, argp, sizeof(arg)))
		return -EFAULT;
	ret = kubuf_kbuf_check(kf->kd, &arg);
	if (ret)
		return ret;

	kb = kzalloc(sizeof(*kb), GFP_KERNEL_ACCOUNT);
	if (!kb)
		return -ENOMEM;
	kref_init(&kb->ref);
	INIT_LIST_HEAD(&kb->dma_node);
	kb->kd = kf->kd;
	kubuf_device_get(kb->kd);
	kb->kind = arg.kind;
	kb->cache = arg.cache;
	kb->flags = arg.flags;
	kb->nr_pages = PAGE_ALIGN(arg.size) >> PAGE_SHIFT;

	ret = kubuf_file_reserve(kf, &kf->nr_kbufs, KUBUF_MAX_KBUFS);
	if (ret)
		goto err_free;
	ret = kubuf_kbuf_account(kb);
	if (ret)
		goto err_slot;
	/*
	 * The memory is allocated (the device's own, for DMA), and inserted,
	 * inside the device: a removal waits for both, and after it no
	 * buffer is allocated for the removed device.
	 */
	if (!kubuf_dev_enter_open(kd, &idx)) {
		ret = -ENODEV;
		goto err_account;
	}
	ret = kubuf_kbuf_alloc_mem(kb);
	if (ret) {
		kubuf_dev_exit(kd, idx);
		goto err_account;
	}
	kubuf_stat_inc(KUBUF_STAT_KBUFS);
	kubuf_stat_add(KUBUF_STAT_KBUF_PAGES, kb->nr_pages);

	mutex_lock(&kf->lock);
	/* Nothing new on a device being removed (its unplug is next). */
	ret = READ_ONCE(kd->closing) ? -ENODEV :
	      xa_alloc_cyclic(&kf->kbufs, &id, kb,
			      XA_LIMIT(1, KUBUF_KBUF_MAX_ID), &kf->kbuf_next,
			      GFP_KERNEL_ACCOUNT);
	if (ret < 0) {
		kf->nr_kbufs--;
		mutex_unlock(&kf->lock);
		kubuf_kbuf_put(kb);	/* inside: freed before removal ends */
		kubuf_dev_exit(kd, idx);
		return ret;
	}
	mutex_unlock(&kf->lock);
	kubuf_dev_exit(kd, idx);

	arg.id = id;
	arg.mmap_offset = (u64)id << KUBUF_KBUF_OFF_SHIFT;
	arg.reserved0 = 0;	/* never the device's address */
	if (copy_to_user(argp, &arg, sizeof(arg))) {
		/* The caller cannot learn the id: undo it all. */
		mutex_lock(&kf->lock);
		if (xa_load(&kf->kbufs, id) == kb)
			kubuf_kbuf_unlink(kf, id);
		else
			kb = NULL;	/* a guessed FREE beat us to it */
		mutex_unlock(&kf->lock);
		if (kb)
			kubuf_kbuf_put(kb);
		return -EFAULT;
	}
	return 0;

err_account:
	kubuf_kbuf_unaccount(kb);
err_slot:
	kubuf_file_unreserve(kf, &kf->nr_kbufs);
err_free:
	kubuf_device_put(kb->kd);
	kfree(kb);
	return ret;
}

int kubuf_ioc_kbuf_free(struct kubuf_file *kf, void __user *argp)
{
	struct kubuf_kbuf *kb;
	u32 id;
	int ret;

	ret = kubuf_id_from_user(argp, &id);
	if (ret)
		return ret;

	mutex_lock(&kf->lock);
	kb = xa_load(&kf->kbufs, id);
	if (!kb) {
		mutex_unlock(&kf->lock);
		return -ENOENT;
	}
	kubuf_kbuf_unlink(kf, id);
	mutex_unlock(&kf->lock);

	/* Freed now, or by the last munmap or device command. */
	kubuf_kbuf_put(kb);
	return 0;
}

/* release(): drop the table's references; mappings keep their own. */
void kubuf_kbuf_release_all(struct kubuf_file *kf)
{
	struct kubuf_kbuf *kb;
	unsigned long id;

	mutex_lock(&kf->lock);
	xa_for_each(&kf->kbufs, id, kb) {
		kubuf_kbuf_unlink(kf, id);
		kubuf_kbuf_put(kb);
	}
	mutex_unlock(&kf->lock);
}

/*
 * The device is gone and nothing of the core touches its memory (the
 * last step of kubuf_device_destroy()): take every mapping of a driver
 * buffer out of every file's address space, then give the DMA memory
 * back. See "Removal" at the top.
 */
void kubuf_kbuf_unplug(struct kubuf_device *kd)
{
	struct kubuf_kbuf *kb, *next;
	struct kubuf_file *kf;
	struct xarray zapped;

	/* The driver's holds end first (kubuf_kbuf_dma_hold()). */
	wait_var_event(&kd->dma_holds, !atomic_read(&kd->dma_holds));

	mutex_lock(&kd->dma_lock);
	if (list_empty(&kd->dma_kbufs)) {
		mutex_unlock(&kd->dma_lock);
		return;
	}
	mutex_unlock(&kd->dma_lock);

	/*
	 * A file on the list is not released: its address space is alive.
	 * Files opened through one node share it: each is zapped once (the
	 * set of those done is keyed by address; if it cannot grow, a
	 * space is only zapped again).
	 */
	xa_init(&zapped);
	mutex_lock(&kd->lock);
	list_for_each_entry(kf, &kd->files, node) {
		unsigned long key = (unsigned long)kf->mapping;

		if (xa_load(&zapped, key))
			continue;
		unmap_mapping_range(kf->mapping,
				    (loff_t)1 << KUBUF_KBUF_OFF_SHIFT, 0, 1);
		xa_store(&zapped, key, xa_mk_value(1), GFP_KERNEL);
	}
	mutex_unlock(&kd->lock);
	xa_destroy(&zapped);

	mutex_lock(&kd->dma_lock);
	list_for_each_entry_safe(kb, next, &kd->dma_kbufs, dma_node)
		kubuf_kbuf_free_dma(kb);
	mutex_unlock(&kd->dma_lock);
}

/* The fault injection point, in debugfs @dir (kubuf/), for tests. */
void kubuf_kbuf_debugfs(struct dentry *dir)
{
	kubuf_fault_debugfs(&kubuf_fail_cache_mode, "fail_cache_mode", dir);
}

u64 kubuf_kbuf_features(const struct kubuf_device *kd)
{
	u64 f = KUBUF_FEAT_KBUF;

	if (kubuf_kbuf_dma_ok(kd))
		f |= KUBUF_FEAT_KBUF_DMA;
	if (KUBUF_KBUF_CACHE_MODES)
		f |= KUBUF_FEAT_KBUF_WC | KUBUF_FEAT_KBUF_UC;
	return f;
}
