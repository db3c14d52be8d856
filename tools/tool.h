/* SPDX-License-Identifier: MIT */
/*
 * The kubuf program: what its source files share.
 */
#ifndef KUBUF_TOOL_H
#define KUBUF_TOOL_H

#include "kubuf.h"

extern const char *dev_path;	/* --device, NULL for /dev/kubuf */

/* Open the device, saying why on stderr when it fails; 0 or -errno. */
int open_dev(unsigned int flags, struct kubuf **k);
void print_info(const struct kubuf_info *in, int json);
void print_stats(const struct kubuf_stats *st, int json);

extern const char demo_usage[];
int cmd_demo(int argc, char **argv);

#endif /* KUBUF_TOOL_H */
