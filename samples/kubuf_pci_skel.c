// SPDX-License-Identifier: GPL-2.0
/*
 * kubuf_pci_skel - the skeleton of a PCI driver built on the kubuf core.
 *
 * An example, not a driver: 1234:beef is an ID made up for it, which no
 * device of the tests has (QEMU's edu device is 1234:11e8). Copy the
 * file, put your device's ID in, and replace the hypothetical device.
 *
 * The hypothetical device is a data-acquisition card: BAR 0 holds a
 * 4 KiB window, and reading it yields the card's next samples. The
 * driver serves one command, KUBUF_DEV_FILL, which here means "fill
 * [offset, offset + len) of a buffer with samples". Everything else --
 * device node, files, both kinds of buffer, events, limits, revocation
 * -- is the core's. Documentation/driver-api.md is the guide.
 */
#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/sched.h>
#include <linux/sizes.h>

#include <kubuf/core.h>

#define SKEL_WIN	0x1000		/* the sample window in BAR 0 */
#define SKEL_WIN_SIZE	SZ_4K
#define SKEL_SLICE	SZ_256K		/* bytes of a command per slice */

struct skel {
	void __iomem *regs;
	struct mutex lock;	/* one reader of the window at a time */
	struct kubuf_device *kd;
	char name[32];
};

/*
 * The core checks the flags, the reserved fields, and the buffers and
 * ranges we name in *@dst and *@src; the other fields are ours. Those
 * this device does not use must be zero, as the ABI says.
 */
static int skel_cmd_check(struct kubuf_device *kd,
			  const struct kubuf_dev_cmd *a, u32 *dst, u32 *src)
{
	if (a->op != KUBUF_DEV_FILL || a->seed || a->repeat ||
	    a->src_kind || a->src_id || a->src_offset)
		return -EINVAL;
	*dst = KUBUF_ACCESS_DEV_WRITE;	/* (kind, id, offset, len) */
	*src = 0;			/* no source */
	return 0;
}

/*
 * One slice of a FILL: at most SKEL_SLICE bytes, from where the last one
 * stopped (c->drv[0] bytes done). The core holds @dst until we return;
 * revocation waits for that, so we look before every page whether the
 * memory is still alive and stop at once when it is not.
 */
static int skel_cmd_slice(struct kubuf_cmd *c, struct kubuf_mem *dst,
			  struct kubuf_mem *src)
{
	struct skel *sk = kubuf_device_priv(kubuf_file_device(c->kf));
	u64 budget = SKEL_SLICE, off, n;
	int ret = 0;

	mutex_lock(&sk->lock);	/* never held by whoever revokes */
	while (c->drv[0] < c->args.len) {
		if (budget < PAGE_SIZE) {
			ret = -EINPROGRESS;	/* call me again */
			break;
		}
		if (!kubuf_mem_alive(dst)) {
			ret = -ESHUTDOWN;	/* revoked: let go now */
			break;
		}
		off = c->args.offset + c->drv[0];
		n = min_t(u64, c->args.len - c->drv[0],
			  PAGE_SIZE - offset_in_page(dst->vaddr + off));
		n = min_t(u64, n, SKEL_WIN_SIZE);
		memcpy_fromio(dst->vaddr + off, sk->regs + SKEL_WIN, n);
		kubuf_mem_written(dst, off, n);
		c->drv[0] += n;
		budget -= n;
		cond_resched();
	}
	mutex_unlock(&sk->lock);
	return ret;
}

/*
 * No KUBUF_DMA_UBUF and no ->revoke: the device reaches memory only
 * through the CPU, inside a slice, and the slice checks kubuf_mem_alive().
 */
static const struct kubuf_ops skel_ops = {
	.owner		= THIS_MODULE,
	.cmd_check	= skel_cmd_check,
	.cmd_slice	= skel_cmd_slice,
};

static int skel_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct skel *sk;
	int ret;

	sk = devm_kzalloc(&pdev->dev, sizeof(*sk), GFP_KERNEL);
	if (!sk)
		return -ENOMEM;
	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	pci_set_master(pdev);
	/* The core allocates DMA buffers for this device: what can it reach? */
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(32));
	if (ret)
		return ret;
	ret = pcim_iomap_regions(pdev, BIT(0), KBUILD_MODNAME);
	if (ret)
		return ret;
	sk->regs = pcim_iomap_table(pdev)[0];
	mutex_init(&sk->lock);
	snprintf(sk->name, sizeof(sk->name), "kubuf-%s", pci_name(pdev));
	pci_set_drvdata(pdev, sk);

	/* Last: applications may open it, and callbacks run, at once. */
	sk->kd = kubuf_device_create(&pdev->dev, sk->name, &skel_ops, sk);
	return PTR_ERR_OR_ZERO(sk->kd);
}

static void skel_remove(struct pci_dev *pdev)
{
	struct skel *sk = pci_get_drvdata(pdev);

	/*
	 * A device that writes memory by itself is stopped before this, and
	 * holds the driver took are given back: ->revoke is not called for
	 * the revocations it makes. Once it returns no callback runs again,
	 * so what they use can go. Open files live on, failing with -ENODEV.
	 */
	kubuf_device_destroy(sk->kd);
	mutex_destroy(&sk->lock);
	/* devres then unmaps BAR 0, disables the device and frees @sk. */
}

/* An example ID that no real device uses: put your device's here. */
static const struct pci_device_id skel_ids[] = {
	{ PCI_DEVICE(0x1234, 0xbeef) },
	{ }
};
MODULE_DEVICE_TABLE(pci, skel_ids);

static struct pci_driver skel_driver = {
	.name		= KBUILD_MODNAME,
	.id_table	= skel_ids,
	.probe		= skel_probe,
	.remove		= skel_remove,
};
module_pci_driver(skel_driver);

MODULE_DESCRIPTION("kubuf: skeleton of a PCI driver on the kubuf core");
MODULE_LICENSE("GPL");
