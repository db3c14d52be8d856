// SPDX-License-Identifier: GPL-2.0
/*
 * kubuf_edu: a PCI driver for QEMU's "edu" device (1234:11e8), the kubuf
 * core's second client, and the first whose device really does DMA.
 *
 * The device (QEMU docs/specs/edu.rst, hw/misc/edu.c): BAR 0 holds its
 * registers; its DMA engine moves up to 4 KiB between guest memory and a
 * 4 KiB buffer inside the device (device address 0x40000), one transfer
 * at a time, completing about 100 ms of virtual time after the command
 * and then raising interrupt bit 0x100 if asked (MSI, or INTx). It
 * reaches 28 bits of bus address unless QEMU is told otherwise
 * (-device edu,dma_mask=...), and says nothing about it: an address
 * beyond the mask is silently truncated by the device, so the driver
 * sets a 28-bit DMA mask and the DMA API keeps every address under it
 * (an IOMMU remaps, or swiotlb bounces). A transfer outside the device's
 * buffer is a fatal error in QEMU (hw_error(): the whole machine stops),
 * and QEMU before 2024 (Debian 12's 7.2 among them) also takes a
 * transfer that ends at the buffer's last byte for one outside it
 * (edu_check_range() wants the end strictly inside): every transfer here
 * starts at the buffer's first byte and is at most EDU_XFER_MAX bytes,
 * one less than the buffer.
 *
 * Object model. One struct edu per bound PCI function: its registers,
 * its interrupt, one driver-owned coherent page (the bounce page the CPU
 * fills for FILL and sums for CHECKSUM), and one kubuf device,
 * /dev/kubuf-eduN (N from an IDA), made with KUBUF_DMA_UBUF and
 * KUBUF_DMA_ONLY so that the core maps every registration for the
 * device's DMA when it is made (struct kubuf_mem: @sgt), allocates DMA
 * driver buffers with the device's DMA API (@dma_addr), and refuses
 * memory that has neither. The core owns every file, registration,
 * buffer and command; the driver keeps none of them beyond a callback.
 *
 * Commands (KUBUF_IOC_DEV_CMD and command rings: the core calls the same
 * ->cmd_check and ->cmd_slice for both). Every byte of the application's
 * memory is moved by the device's engine, in transfers of at most
 * EDU_XFER_MAX bytes that never cross a DMA segment of a registration:
 *   COPY      src -> device buffer -> dst, chunk by chunk;
 *   FILL      the CPU writes the pattern (kubuf_pattern_byte(), as the
 *             simulated device does, every pass of @repeat) into the
 *             bounce page, the engine moves it into its buffer and from
 *             there into dst;
 *   CHECKSUM  the engine moves src into its buffer and from there into
 *             the bounce page, which the CPU sums (kubuf_checksum());
 *   RESET     kubuf_file_revoke() of the command's file.
 * Each ->cmd_slice moves one chunk (two transfers, about 200 ms) and
 * returns -EINPROGRESS until the command is done: the core runs the
 * others' slices in between. Between slices the device buffer is
 * another command's, so a chunk's two transfers are never split. A
 * slice checks kubuf_mem_alive() before each transfer; the core holds
 * the memory for the whole slice, so a revocation (unregister, close,
 * RESET, removal) waits for the transfer in flight and never unmaps
 * memory the engine is using. A driver buffer of kind PAGES has no bus
 * address: the core refuses its commands with -EOPNOTSUPP
 * (KUBUF_DMA_ONLY), and a slice that meets one anyway (@dma_addr
 * DMA_MAPPING_ERROR, or 0) fails the same way; ->cmd_check cannot tell,
 * it does not see the buffers.
 *
 * Bounce buffers. A registration may be bounced (swiotlb: no IOMMU and
 * memory above the mask): each transfer is bracketed by
 * dma_sync_single_for_device() and dma_sync_single_for_cpu() of exactly
 * its range, in the direction of the transfer. DMA driver buffers and
 * the bounce page are coherent and need no sync.
 *
 * What runs where. ->cmd_check and ->cmd_slice: the core's workers,
 * process context; a slice sleeps in wait_for_completion_timeout() for
 * the engine's interrupt (10 s at most: then the command fails with
 * -EIO, and if the engine still runs after a grace period its bus
 * mastering is turned off and the device refuses further transfers).
 * The interrupt handler (hard irq; a thread on PREEMPT_RT) acknowledges
 * the device and completes edu.done; it calls nothing of the core.
 *
 * Lifetimes. probe: enable (pcim), map BAR 0, check the identification
 * and liveness registers, set the DMA mask, bus mastering, the bounce
 * page, one interrupt vector (MSI, else INTx) and its handler (checked
 * once by raising it), and last the kubuf device: callbacks can run as
 * soon as it exists. remove: kubuf_device_destroy() first (it waits for
 * the slice in progress, hence for the transfer in flight, then revokes
 * every registration and tells the applications), then the engine is
 * checked idle and bus mastering turned off, then the interrupt, the
 * vectors, the bounce page and the name go.
 *
 * Lock order. edu.lock (mutex) serialises the engine: the registers
 * other than the interrupt ones, edu.done, the bounce page and
 * edu.broken. A slice takes it while the core holds its memory; the
 * core never takes it, and remove only once kubuf_device_destroy() has
 * returned (no slice runs then), so a revocation waits at most for the
 * chunk in progress and those queued before it on edu.lock. No lock of
 * the core is held when a slice runs: edu.lock nests inside nothing.
 */
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/idr.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/io-64-nonatomic-lo-hi.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>

#include <kubuf/core.h>

#define EDU_VENDOR_ID		0x1234
#define EDU_DEVICE_ID		0x11e8

/* BAR 0. Registers below 0x80 take 32-bit accesses, the rest 64-bit. */
#define EDU_REG_ID		0x00	/* 0xRRrr00ed: version RR.rr */
#define EDU_REG_LIVE		0x04	/* reads back the inverse of a write */
#define EDU_REG_IRQ_STATUS	0x24
#define EDU_REG_IRQ_RAISE	0x60
#define EDU_REG_IRQ_ACK		0x64
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90
#define EDU_REG_DMA_CMD		0x98

#define EDU_ID_MAGIC_MASK	0xffff
#define EDU_ID_MAGIC		0x00ed

#define EDU_DMA_RUN		BIT(0)	/* start; cleared when done */
#define EDU_DMA_TO_RAM		BIT(1)	/* direction: device buffer -> RAM */
#define EDU_DMA_IRQ		BIT(2)	/* raise EDU_IRQ_DMA when done */

#define EDU_IRQ_DMA		0x100

#define EDU_BUF_ADDR		0x40000	/* the engine's buffer, device side */
#define EDU_BUF_SIZE		SZ_4K
#define EDU_XFER_MAX		(EDU_BUF_SIZE - 1)	/* see the top */
#define EDU_DMA_BITS		28

#define EDU_DMA_TIMEOUT		(10 * HZ)
#define EDU_STOP_POLL_MS	10
#define EDU_STOP_TRIES		100	/* grace period: 1 s */

#ifndef PCI_IRQ_INTX
#define PCI_IRQ_INTX		PCI_IRQ_LEGACY	/* its name before 6.8 */
#endif

/*
 * A command's progress between slices (kubuf_cmd.drv[], zero at start):
 * FILL's pass, the bytes of the pass (or of the command) done, and
 * CHECKSUM's sum so far as sum ^ KUBUF_CHECKSUM_INIT, so that the zeroed
 * start is the initial sum.
 */
#define edu_pass(c)		((c)->drv[0])
#define edu_done(c)		((c)->drv[1])
#define edu_sum(c)		((c)->drv[2])

/**
 * struct edu - one bound edu device.
 * @pdev:	the PCI function.
 * @regs:	BAR 0.
 * @kd:		its kubuf device.
 * @id:		N of /dev/kubuf-eduN, from edu_ida.
 * @irq:	the Linux interrupt of its one vector.
 * @lock:	the engine: see "Lock order" above.
 * @done:	completed by the interrupt handler when a transfer ends.
 * @bounce:	the driver's coherent page (EDU_BUF_SIZE bytes).
 * @bounce_dma:	its bus address.
 * @broken:	the engine did not stop: no more transfers.
 * @name:	the node's name, kubuf-eduN.
 */
struct edu {
	struct pci_dev *pdev;
	void __iomem *regs;
	struct kubuf_device *kd;
	int id;
	int irq;
	struct mutex lock;	/* the engine, @done, @bounce, @broken */
	struct completion done;
	void *bounce;
	dma_addr_t bounce_dma;
	bool broken;
	char name[32];
};

static DEFINE_IDA(edu_ida);

/* --- the engine ----------------------------------------------------------- */

static irqreturn_t edu_irq(int irq, void *data)
{
	struct edu *edu = data;
	u32 status = readl(edu->regs + EDU_REG_IRQ_STATUS);

	/* 0: another device's (shared INTx); all ones: ours is gone. */
	if (!status || status == U32_MAX)
		return IRQ_NONE;
	writel(status, edu->regs + EDU_REG_IRQ_ACK);
	if (status & EDU_IRQ_DMA)
		complete(&edu->done);
	return IRQ_HANDLED;
}

/* Is the engine running? A device that is gone reads all ones: idle. */
static bool edu_busy(struct edu *edu)
{
	u64 cmd = readq(edu->regs + EDU_REG_DMA_CMD);

	return cmd != U64_MAX && (cmd & EDU_DMA_RUN);
}

/*
 * Make sure the engine touches no memory from now on, edu.lock held:
 * wait a grace period for it to finish, else turn its bus mastering off
 * (no DMA reaches memory then) and refuse every later transfer.
 */
static void edu_stop(struct edu *edu)
{
	int i;

	lockdep_assert_held(&edu->lock);
	for (i = 0; i < EDU_STOP_TRIES && edu_busy(edu); i++)
		msleep(EDU_STOP_POLL_MS);
	if (!edu_busy(edu))
		return;
	dev_err(&edu->pdev->dev, "DMA engine does not stop: disabled\n");
	pci_clear_master(edu->pdev);
	edu->broken = true;
}

/*
 * One transfer of @n bytes (1 to EDU_XFER_MAX) between bus address @bus
 * and the start of the device's buffer, towards RAM if @to_ram, and wait
 * for its interrupt. edu.lock held.
 */
static int edu_xfer(struct edu *edu, dma_addr_t bus, u32 n, bool to_ram)
{
	u64 cmd = EDU_DMA_RUN | EDU_DMA_IRQ | (to_ram ? EDU_DMA_TO_RAM : 0);
	unsigned long left = EDU_DMA_TIMEOUT;

	lockdep_assert_held(&edu->lock);
	if (edu->broken)
		return -EIO;

	reinit_completion(&edu->done);
	writeq(to_ram ? EDU_BUF_ADDR : bus, edu->regs + EDU_REG_DMA_SRC);
	writeq(to_ram ? bus : EDU_BUF_ADDR, edu->regs + EDU_REG_DMA_DST);
	writeq(n, edu->regs + EDU_REG_DMA_COUNT);
	/* writeq() orders the CPU's writes to memory before the start. */
	writeq(cmd, edu->regs + EDU_REG_DMA_CMD);

	/*
	 * A stale interrupt (of a transfer that timed out) may complete
	 * early: the engine says when it is done.
	 */
	while ((left = wait_for_completion_timeout(&edu->done, left))) {
		if (!edu_busy(edu))
			return 0;
		reinit_completion(&edu->done);
		if (!edu_busy(edu))
			return 0;
	}
	dev_err(&edu->pdev->dev, "DMA of %u bytes timed out\n", n);
	edu_stop(edu);
	return -EIO;
}

/* --- memory as the device sees it ------------------------------------------- */

/**
 * struct edu_span - where the next transfer goes in one buffer.
 * @m:		the held memory.
 * @bus:	the bus address of the transfer's first byte.
 * @room:	bytes from @bus that are contiguous for the device.
 * @dir:	the transfer's direction, for a registration's syncs.
 */
struct edu_span {
	struct kubuf_mem *m;
	dma_addr_t bus;
	u64 room;
	enum dma_data_direction dir;
};

/*
 * Byte @off of @m for the device: a DMA driver buffer is contiguous; a
 * registration is its DMA segments, the first of which starts at the
 * buffer's byte 0 (the DMA API maps from the page offset on).
 * -EOPNOTSUPP: memory without a bus address (a PAGES driver buffer).
 */
static int edu_span(struct kubuf_mem *m, u64 off, enum dma_data_direction dir,
		    struct edu_span *sp)
{
	struct scatterlist *sg;
	u64 pos = 0;
	unsigned int i;

	sp->m = m;
	sp->dir = dir;
	if (!m->sgt) {
		if (!m->dma_addr || m->dma_addr == DMA_MAPPING_ERROR)
			return -EOPNOTSUPP;
		sp->bus = m->dma_addr + off;
		sp->room = m->len - off;
		return 0;
	}
	for_each_sgtable_dma_sg(m->sgt, sg, i) {
		u64 len = sg_dma_len(sg);

		if (off < pos + len) {
			sp->bus = sg_dma_address(sg) + (off - pos);
			sp->room = pos + len - off;
			return 0;
		}
		pos += len;
	}
	return -EIO;	/* the mapping is shorter than the buffer */
}

/*
 * One transfer between @sp and the device's buffer, @n bytes (at most
 * @sp->room), if the memory is still the device's: a registration is
 * handed to the device and back around it (dma_sync_*: bounce buffers).
 */
static int edu_xfer_span(struct edu *edu, struct edu_span *sp, u32 n)
{
	struct device *dev = &edu->pdev->dev;
	bool to_ram = sp->dir == DMA_FROM_DEVICE;
	int ret;

	if (!kubuf_mem_alive(sp->m))
		return -ESHUTDOWN;
	if (sp->m->sgt)
		dma_sync_single_for_device(dev, sp->bus, n, sp->dir);
	ret = edu_xfer(edu, sp->bus, n, to_ram);
	if (sp->m->sgt)
		dma_sync_single_for_cpu(dev, sp->bus, n, sp->dir);
	return ret;
}

/* --- commands ---------------------------------------------------------------- */

/* The bytes of the next chunk: to the end, the buffer or a segment. */
static u32 edu_chunk(u64 left, const struct edu_span *a,
		     const struct edu_span *b)
{
	u64 n = min3(left, (u64)EDU_XFER_MAX, a->room);

	if (b)
		n = min(n, b->room);
	return n;
}

/* FILL: the pattern, through the bounce page, into @d. */
static int edu_fill(struct edu *edu, struct kubuf_cmd *c, struct kubuf_mem *d)
{
	u64 done = edu_done(c);
	struct edu_span dst;
	u8 *p = edu->bounce;
	u32 n, i;
	int ret;

	ret = edu_span(d, c->args.offset + done, DMA_FROM_DEVICE, &dst);
	if (ret)
		return ret;
	if (!kubuf_mem_alive(d))
		return -ESHUTDOWN;
	n = edu_chunk(c->args.len - done, &dst, NULL);
	for (i = 0; i < n; i++)
		p[i] = kubuf_pattern_byte(c->args.seed, done + i);
	ret = edu_xfer(edu, edu->bounce_dma, n, false);
	if (!ret)
		ret = edu_xfer_span(edu, &dst, n);
	if (ret)
		return ret;

	edu_done(c) += n;
	if (edu_done(c) < c->args.len)
		return -EINPROGRESS;
	edu_done(c) = 0;
	return ++edu_pass(c) > c->args.repeat ? 0 : -EINPROGRESS;
}

/* CHECKSUM: @s through the device's buffer into the bounce page, summed. */
static int edu_checksum(struct edu *edu, struct kubuf_cmd *c,
			struct kubuf_mem *s)
{
	u64 done = edu_done(c), sum;
	struct edu_span src;
	u32 n;
	int ret;

	ret = edu_span(s, c->args.offset + done, DMA_TO_DEVICE, &src);
	if (ret)
		return ret;
	n = edu_chunk(c->args.len - done, &src, NULL);
	ret = edu_xfer_span(edu, &src, n);
	if (!ret)
		ret = edu_xfer(edu, edu->bounce_dma, n, true);
	if (ret)
		return ret;

	sum = kubuf_checksum(edu_sum(c) ^ KUBUF_CHECKSUM_INIT, edu->bounce, n);
	edu_sum(c) = sum ^ KUBUF_CHECKSUM_INIT;
	edu_done(c) += n;
	if (edu_done(c) < c->args.len)
		return -EINPROGRESS;
	c->result = sum;
	return 0;
}

/* COPY: @s -> the device's buffer -> @d. */
static int edu_copy(struct edu *edu, struct kubuf_cmd *c, struct kubuf_mem *d,
		    struct kubuf_mem *s)
{
	struct edu_span src, dst;
	u64 done = edu_done(c);
	u32 n;
	int ret;

	ret = edu_span(s, c->args.src_offset + done, DMA_TO_DEVICE, &src);
	if (!ret)
		ret = edu_span(d, c->args.offset + done, DMA_FROM_DEVICE, &dst);
	if (ret)
		return ret;
	if (!kubuf_mem_alive(d))
		return -ESHUTDOWN;
	n = edu_chunk(c->args.len - done, &src, &dst);
	ret = edu_xfer_span(edu, &src, n);
	if (!ret)
		ret = edu_xfer_span(edu, &dst, n);
	if (ret)
		return ret;

	edu_done(c) += n;
	return edu_done(c) < c->args.len ? -EINPROGRESS : 0;
}

/* One chunk of @c; the core holds its buffers in @d and @s meanwhile. */
static int edu_cmd_slice(struct kubuf_cmd *c, struct kubuf_mem *d,
			 struct kubuf_mem *s)
{
	struct edu *edu = kubuf_device_priv(kubuf_file_device(c->kf));
	int ret;

	if (c->args.op == KUBUF_DEV_RESET) {
		kubuf_file_revoke(c->kf);
		return 0;
	}

	mutex_lock(&edu->lock);
	switch (c->args.op) {
	case KUBUF_DEV_FILL:
		ret = edu_fill(edu, c, d);
		break;
	case KUBUF_DEV_CHECKSUM:
		ret = edu_checksum(edu, c, d);
		break;
	case KUBUF_DEV_COPY:
		ret = edu_copy(edu, c, d, s);
		break;
	default:
		ret = -EINVAL;	/* ->cmd_check let nothing else through */
		break;
	}
	mutex_unlock(&edu->lock);
	return ret;
}

static const struct kubuf_ops edu_ops = {
	.owner		= THIS_MODULE,
	.flags		= KUBUF_DMA_UBUF | KUBUF_DMA_ONLY,
	.cmd_check	= kubuf_dev_cmd_check,
	.cmd_slice	= edu_cmd_slice,
};

/* --- probe and remove ----------------------------------------------------------- */

/* The device answers as an edu device: identification and liveness. */
static int edu_check_device(struct edu *edu, u32 *version)
{
	u32 ident = readl(edu->regs + EDU_REG_ID);
	u32 probe = 0x6b756275;		/* "kubu" */

	*version = ident >> 16;

	if ((ident & EDU_ID_MAGIC_MASK) != EDU_ID_MAGIC) {
		dev_err(&edu->pdev->dev, "not an edu device: id %#x\n", ident);
		return -ENODEV;
	}
	writel(probe, edu->regs + EDU_REG_LIVE);
	if (readl(edu->regs + EDU_REG_LIVE) != ~probe) {
		dev_err(&edu->pdev->dev, "liveness check failed\n");
		return -EIO;
	}
	return 0;
}

/* One interrupt vector, MSI or else INTx, and its handler, tried once. */
static int edu_setup_irq(struct edu *edu)
{
	struct pci_dev *pdev = edu->pdev;
	int ret;

	ret = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_MSI | PCI_IRQ_INTX);
	if (ret < 0)
		return ret;
	edu->irq = pci_irq_vector(pdev, 0);
	ret = request_irq(edu->irq, edu_irq, pdev->msi_enabled ? 0 : IRQF_SHARED,
			  edu->name, edu);
	if (ret)
		goto err_vectors;

	/* Raised by hand, before any transfer: an interrupt path that works. */
	reinit_completion(&edu->done);
	writel(EDU_IRQ_DMA, edu->regs + EDU_REG_IRQ_RAISE);
	if (!wait_for_completion_timeout(&edu->done, HZ)) {
		dev_err(&pdev->dev, "no interrupt from the device\n");
		ret = -EIO;
		goto err_irq;
	}
	return 0;

err_irq:
	free_irq(edu->irq, edu);
err_vectors:
	pci_free_irq_vectors(pdev);
	return ret;
}

static int edu_probe(struct pci_dev *pdev, const struct pci_device_id *ent)
{
	struct kubuf_device *kd;
	struct edu *edu;
	u32 version;
	int ret;

	edu = devm_kzalloc(&pdev->dev, sizeof(*edu), GFP_KERNEL);
	if (!edu)
		return -ENOMEM;
	edu->pdev = pdev;
	mutex_init(&edu->lock);
	init_completion(&edu->done);

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	ret = pcim_iomap_regions(pdev, BIT(0), KBUILD_MODNAME);
	if (ret)
		return ret;
	edu->regs = pcim_iomap_table(pdev)[0];
	ret = edu_check_device(edu, &version);
	if (ret)
		return ret;
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(EDU_DMA_BITS));
	if (ret)
		return ret;
	pci_set_master(pdev);

	edu->id = ida_alloc(&edu_ida, GFP_KERNEL);
	if (edu->id < 0)
		return edu->id;
	snprintf(edu->name, sizeof(edu->name), "kubuf-edu%d", edu->id);

	edu->bounce = dma_alloc_coherent(&pdev->dev, EDU_BUF_SIZE,
					 &edu->bounce_dma, GFP_KERNEL);
	if (!edu->bounce) {
		ret = -ENOMEM;
		goto err_ida;
	}
	ret = edu_setup_irq(edu);
	if (ret)
		goto err_bounce;

	pci_set_drvdata(pdev, edu);
	/* Last: applications may open it, and callbacks run, at once. */
	kd = kubuf_device_create(&pdev->dev, edu->name, &edu_ops, edu);
	if (IS_ERR(kd)) {
		ret = PTR_ERR(kd);
		goto err_irq;
	}
	edu->kd = kd;
	dev_info(&pdev->dev, "/dev/%s: edu %u.%u, %s, DMA mask %d bits\n",
		 edu->name, version >> 8, version & 0xff,
		 pdev->msi_enabled ? "MSI" : "INTx", EDU_DMA_BITS);
	return 0;

err_irq:
	free_irq(edu->irq, edu);
	pci_free_irq_vectors(pdev);
err_bounce:
	dma_free_coherent(&pdev->dev, EDU_BUF_SIZE, edu->bounce, edu->bounce_dma);
err_ida:
	ida_free(&edu_ida, edu->id);
	return ret;
}

static void edu_remove(struct pci_dev *pdev)
{
	struct edu *edu = pci_get_drvdata(pdev);

	/* No slice runs after this, and no registration is mapped. */
	kubuf_device_destroy(edu->kd);

	mutex_lock(&edu->lock);
	edu_stop(edu);
	mutex_unlock(&edu->lock);
	pci_clear_master(pdev);

	free_irq(edu->irq, edu);
	pci_free_irq_vectors(pdev);
	dma_free_coherent(&pdev->dev, EDU_BUF_SIZE, edu->bounce, edu->bounce_dma);
	ida_free(&edu_ida, edu->id);
}

static const struct pci_device_id edu_ids[] = {
	{ PCI_DEVICE(EDU_VENDOR_ID, EDU_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, edu_ids);

static struct pci_driver edu_driver = {
	.name		= KBUILD_MODNAME,
	.id_table	= edu_ids,
	.probe		= edu_probe,
	.remove		= edu_remove,
};
module_pci_driver(edu_driver);

MODULE_DESCRIPTION("kubuf driver for QEMU's edu PCI device: real DMA on kubuf core");
MODULE_AUTHOR("The kubuf authors");
MODULE_LICENSE("GPL");
MODULE_VERSION(KUBUF_VERSION);
