/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels kubuf supports, as small wrappers.
 *
 * Supported: Linux 6.1 LTS up to 6.12 LTS. No other file of the module
 * tests LINUX_VERSION_CODE; a new difference gets a wrapper here, named
 * kubuf_<the newest kernel's API>, with the older form behind the #if.
 */
#ifndef KUBUF_COMPAT_H
#define KUBUF_COMPAT_H

#include <linux/eventfd.h>
#include <linux/mm.h>
#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 0)
#error "kubuf needs Linux 6.1 or later"
#endif

/* 6.5 dropped the vmas argument of pin_user_pages(). */
static inline long kubuf_pin_user_pages(unsigned long start,
					unsigned long nr_pages,
					unsigned int gup_flags,
					struct page **pages)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
	return pin_user_pages(start, nr_pages, gup_flags, pages);
#else
	return pin_user_pages(start, nr_pages, gup_flags, pages, NULL);
#endif
}

/* 6.8 dropped the count argument of eventfd_signal(): it always adds 1. */
static inline void kubuf_eventfd_signal(struct eventfd_ctx *ctx)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	eventfd_signal(ctx);
#else
	eventfd_signal(ctx, 1);
#endif
}

/* 6.3 made vma->vm_flags read-only, changed through vm_flags_*(). */
static inline void kubuf_vm_flags_mod(struct vm_area_struct *vma,
				      vm_flags_t set, vm_flags_t clear)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_mod(vma, set, clear);
#else
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
#endif
}

/*
 * The module's own fault injection points (debugfs kubuf/fail_*, for
 * tests): 6.12's <linux/fault-inject.h> has stubs without
 * CONFIG_FAULT_INJECTION, 6.1's does not. Without the debugfs knobs a
 * point never fires.
 */
#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS
#include <linux/fault-inject.h>

struct kubuf_fault {
	struct fault_attr attr;
};

#define KUBUF_FAULT_INIT	{ .attr = FAULT_ATTR_INITIALIZER }

static inline bool kubuf_fault_fire(struct kubuf_fault *f)
{
	return should_fail(&f->attr, 1);
}

/*
 * Quiet by default: fail-nth (/proc/self/fail-nth) fires every fault
 * point, these too, and a stack dump per injected failure is noise.
 */
static inline void kubuf_fault_debugfs(struct kubuf_fault *f,
				       const char *name, struct dentry *dir)
{
	f->attr.verbose = 0;
	fault_create_debugfs_attr(name, dir, &f->attr);
}
#else
struct kubuf_fault {
	int unused;
};

#define KUBUF_FAULT_INIT	{ 0 }

static inline bool kubuf_fault_fire(struct kubuf_fault *f)
{
	return false;
}

static inline void kubuf_fault_debugfs(struct kubuf_fault *f,
				       const char *name, struct dentry *dir)
{
}
#endif

#endif /* KUBUF_COMPAT_H */
