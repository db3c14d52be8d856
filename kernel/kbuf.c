// SPDX-License-Identifier: GPL-2.0
/*
 * Technique 2: buffers the driver allocates and the application maps.
 * (Not implemented yet: every entry point refuses.)
 */
#include <linux/mm.h>

#include "kubuf.h"

int kubuf_kbuf_ioctl(struct kubuf_file *kf, struct file *file,
		     unsigned int cmd, void __user *argp)
{
	return -ENOTTY;
}

int kubuf_kbuf_mmap(struct kubuf_file *kf, struct file *file,
		    struct vm_area_struct *vma)
{
	return -ENODEV;
}

int kubuf_kbuf_dev_get(struct kubuf_file *kf, u32 id, struct kubuf_dev_mem *m)
{
	return -ENOENT;
}

void kubuf_kbuf_dev_put(struct kubuf_kbuf *kb)
{
}

void kubuf_kbuf_release_all(struct kubuf_file *kf)
{
}

u64 kubuf_kbuf_features(void)
{
	return 0;
}

int kubuf_kbuf_init(void)
{
	return 0;
}

void kubuf_kbuf_exit(void)
{
}
