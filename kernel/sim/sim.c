// SPDX-License-Identifier: GPL-2.0
/*
 * The simulated device: what a data-acquisition card would do with the
 * memory it shares with an application, as a client of the kubuf core
 * (include/kubuf/core.h). It is /dev/kubuf and uses nothing of the core
 * but that header.
 *
 * It has no hardware: its "device" is a platform device, which gives the
 * core a struct device for DMA buffers, and its engine is the CPU on the
 * core's workers. Its commands (KUBUF_IOC_DEV_CMD and the command ring):
 *
 *   FILL      write the pattern (seed) over [offset, offset + len) of a
 *             buffer, repeat + 1 times;
 *   CHECKSUM  the FNV-1a sum of [offset, offset + len);
 *   COPY      from one buffer to another (not overlapping);
 *   RESET     the device resets: every registration of the file is
 *             revoked, and the application told.
 *
 * Each slice does at most KUBUF_SIM_SLICE bytes and checks before every
 * page that its memory is still alive, as the core asks of every driver.
 * A command's progress between slices is kept in kubuf_cmd.drv[]. The
 * stream (stream.c) and the copying paths (copy.c) are the rest of the
 * device.
 */
#include <linux/dma-mapping.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/sched.h>
#include <linux/sizes.h>

#include <kubuf/core.h>

#include "sim.h"

#define KUBUF_SIM_SLICE		SZ_256K		/* bytes of a command's slice */

/*
 * A command's progress: FILL's pass, the bytes done of the pass (or of
 * the command), CHECKSUM's sum so far, kept as sum ^ KUBUF_CHECKSUM_INIT
 * so that the zeroed start is the initial sum.
 */
#define sim_pass(c)	((c)->drv[0])
#define sim_done(c)	((c)->drv[1])
#define sim_sum(c)	((c)->drv[2])

static struct platform_device *kubuf_sim_pdev;
static struct kubuf_device *kubuf_sim_dev;

/* --- one slice of a command ---------------------------------------------- */

/* Bytes from @off of @m up to the end of its page, at most @left. */
static u64 kubuf_sim_chunk(const struct kubuf_mem *m, u64 off, u64 left)
{
	return min_t(u64, left, PAGE_SIZE - offset_in_page(m->vaddr + off));
}

/*
 * FILL, from where the last slice stopped, for at most KUBUF_SIM_SLICE
 * bytes. -EINPROGRESS: more to do.
 */
static int kubuf_sim_fill(struct kubuf_cmd *c, struct kubuf_mem *m)
{
	u64 start = c->args.offset, len = c->args.len;
	u64 budget = KUBUF_SIM_SLICE;

	for (; sim_pass(c) <= c->args.repeat; sim_pass(c)++, sim_done(c) = 0) {
		while (sim_done(c) < len) {
			u64 n = kubuf_sim_chunk(m, start + sim_done(c),
						min(len - sim_done(c), budget));
			u8 *p = m->vaddr + start + sim_done(c);
			u64 i;

			if (!budget)
				return -EINPROGRESS;
			if (!kubuf_mem_alive(m))
				return -ESHUTDOWN;
			for (i = 0; i < n; i++)
				p[i] = kubuf_pattern_byte(c->args.seed,
							  sim_done(c) + i);
			kubuf_mem_written(m, start + sim_done(c), n);
			sim_done(c) += n;
			budget -= n;
			cond_resched();
		}
	}
	return 0;
}

static int kubuf_sim_checksum(struct kubuf_cmd *c, struct kubuf_mem *m)
{
	u64 start = c->args.offset, len = c->args.len;
	u64 sum = sim_sum(c) ^ KUBUF_CHECKSUM_INIT;
	u64 budget = KUBUF_SIM_SLICE;

	while (sim_done(c) < len) {
		u64 n = kubuf_sim_chunk(m, start + sim_done(c),
					min(len - sim_done(c), budget));

		if (!budget)
			return -EINPROGRESS;
		if (!kubuf_mem_alive(m))
			return -ESHUTDOWN;
		kubuf_mem_will_read(m, start + sim_done(c), n);
		sum = kubuf_checksum(sum, m->vaddr + start + sim_done(c), n);
		sim_sum(c) = sum ^ KUBUF_CHECKSUM_INIT;
		sim_done(c) += n;
		budget -= n;
		cond_resched();
	}
	c->result = sum;
	return 0;
}

static int kubuf_sim_copy(struct kubuf_cmd *c, struct kubuf_mem *d,
			  struct kubuf_mem *s)
{
	u64 doff = c->args.offset, soff = c->args.src_offset;
	u64 len = c->args.len, budget = KUBUF_SIM_SLICE;

	while (sim_done(c) < len) {
		u64 n = kubuf_sim_chunk(d, doff + sim_done(c),
					min(len - sim_done(c), budget));

		n = kubuf_sim_chunk(s, soff + sim_done(c), n);
		if (!budget)
			return -EINPROGRESS;
		if (!kubuf_mem_alive(d) || !kubuf_mem_alive(s))
			return -ESHUTDOWN;
		kubuf_mem_will_read(s, soff + sim_done(c), n);
		memcpy(d->vaddr + doff + sim_done(c), s->vaddr + soff + sim_done(c), n);
		kubuf_mem_written(d, doff + sim_done(c), n);
		sim_done(c) += n;
		budget -= n;
		cond_resched();
	}
	return 0;
}

/* One slice of @c; the core holds its buffers in @d and @s meanwhile. */
static int kubuf_sim_cmd_slice(struct kubuf_cmd *c, struct kubuf_mem *d,
			       struct kubuf_mem *s)
{
	switch (c->args.op) {
	case KUBUF_DEV_FILL:
		return kubuf_sim_fill(c, d);
	case KUBUF_DEV_CHECKSUM:
		return kubuf_sim_checksum(c, d);
	case KUBUF_DEV_COPY:
		return kubuf_sim_copy(c, d, s);
	case KUBUF_DEV_RESET:
		kubuf_file_revoke(c->kf);
		return 0;
	default:
		return -EINVAL;		/* cmd_check let nothing else through */
	}
}

static const struct kubuf_ops kubuf_sim_ops = {
	.owner		= THIS_MODULE,
	.cmd_check	= kubuf_dev_cmd_check,	/* the ABI's four */
	.cmd_slice	= kubuf_sim_cmd_slice,
	.ucopy		= kubuf_sim_ucopy,
	.read		= kubuf_sim_read,
	.ring_priv	= sizeof(struct kubuf_sim_stream),
	.stream_start	= kubuf_sim_stream_start,
	.stream_flags	= KUBUF_STREAM_BARE,
	.stream_burst	= kubuf_sim_stream_burst,
};

/*
 * The device: a platform device, whose DMA mask (64 bits: the simulated
 * engine is the CPU) lets the core allocate DMA driver buffers for it.
 */
static int __init kubuf_sim_init(void)
{
	struct kubuf_device *kd;
	int ret;

	kubuf_sim_pdev = platform_device_register_simple(KUBUF_DEVICE_NAME,
							 PLATFORM_DEVID_NONE,
							 NULL, 0);
	if (IS_ERR(kubuf_sim_pdev))
		return PTR_ERR(kubuf_sim_pdev);
	ret = dma_coerce_mask_and_coherent(&kubuf_sim_pdev->dev,
					   DMA_BIT_MASK(64));
	if (ret)
		goto err;
	kd = kubuf_device_create(&kubuf_sim_pdev->dev, KUBUF_DEVICE_NAME,
				 &kubuf_sim_ops, NULL);
	if (IS_ERR(kd)) {
		ret = PTR_ERR(kd);
		goto err;
	}
	kubuf_sim_dev = kd;
	return 0;

err:
	platform_device_unregister(kubuf_sim_pdev);
	return ret;
}

/* The driver's remove: the device first, then what it was made for. */
static void __exit kubuf_sim_exit(void)
{
	kubuf_device_destroy(kubuf_sim_dev);
	platform_device_unregister(kubuf_sim_pdev);
}

module_init(kubuf_sim_init);
module_exit(kubuf_sim_exit);

MODULE_DESCRIPTION("kubuf's simulated device, /dev/kubuf");
MODULE_AUTHOR("The kubuf authors");
MODULE_LICENSE("GPL");
MODULE_VERSION(KUBUF_VERSION);
