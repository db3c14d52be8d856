/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels kubuf supports, as small wrappers.
 *
 * Supported: Linux 6.1 LTS up to 6.12 LTS. No other file of the module
 * tests LINUX_VERSION_CODE; a new difference gets a wrapper here, named
 * after the newest kernel's API, with the older form behind the #if.
 */
#ifndef KUBUF_COMPAT_H
#define KUBUF_COMPAT_H

#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 0)
#error "kubuf needs Linux 6.1 or later"
#endif

#endif /* KUBUF_COMPAT_H */
