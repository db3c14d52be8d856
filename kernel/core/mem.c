// SPDX-License-Identifier: GPL-2.0
/*
 * The device's hold on memory (struct kubuf_mem): what a driver has in
 * hand while its device reads or writes a registration or a driver
 * buffer.
 *
 * A hold on a registration counts as one of its users: revocation (the
 * application unregisters or closes, the driver revokes) marks it
 * REVOKED, after which kubuf_mem_alive() is false, and then waits for
 * every user to let go before it unmaps and unpins (ubuf.c). A hold on a
 * driver buffer is a reference on the buffer: its memory outlives the
 * application's KUBUF_IOC_KBUF_FREE and munmap until the hold is given
 * back (kbuf.c). A DMA buffer's memory goes with its device, though:
 * kubuf_device_destroy() waits for the driver's own holds on such
 * buffers (kubuf_mem_get(), counted in kubuf_device.dma_holds) before it
 * frees it. Either way the holder stops at the next page once
 * kubuf_mem_alive() turns false, which also happens when the file is
 * released or the device removed.
 */
#include "internal.h"

/**
 * kubuf_mem_get() - hold buffer (@kind, @id) of @kf for the device.
 * @kf:		the file the buffer belongs to.
 * @kind:	KUBUF_MEM_UBUF or KUBUF_MEM_KBUF.
 * @id:		its id.
 * @access:	KUBUF_ACCESS_DEV_* the device needs (registrations only).
 * @m:		filled in on success.
 *
 * A hold of a registration is waited for by its revocation, a hold of a
 * DMA driver buffer by the device's removal: give it back once
 * kubuf_mem_alive() is false, without waiting for either.
 * Context: process, no lock of the core held, and no other hold of a
 * registration of @kf (revocation may be waiting for it).
 * Return: 0, -ENOENT (no such buffer), -EACCES (registered without that
 * access), -ESHUTDOWN (revoked, or the file or device is going), -EINVAL
 * (@kind).
 */
int kubuf_mem_get(struct kubuf_file *kf, u32 kind, u32 id, u32 access,
		  struct kubuf_mem *m)
{
	int ret;

	mutex_lock(&kf->lock);
	ret = kubuf_mem_get_locked(kf, kind, id, access, m);
	mutex_unlock(&kf->lock);
	/* Counted before alive is looked at: see kubuf_kbuf_dma_hold(). */
	if (!ret && m->kbuf)
		kubuf_kbuf_dma_hold(m);
	if (!ret && !kubuf_mem_alive(m)) {
		kubuf_mem_put(m);
		ret = -ESHUTDOWN;
	}
	return ret;
}
EXPORT_SYMBOL_GPL(kubuf_mem_get);

/* As kubuf_mem_get(), with kubuf_file.lock held. */
int kubuf_mem_get_locked(struct kubuf_file *kf, u32 kind, u32 id,
			 u32 access, struct kubuf_mem *m)
{
	lockdep_assert_held(&kf->lock);

	switch (kind) {
	case KUBUF_MEM_UBUF:
		return kubuf_ubuf_dev_get(kf, id, access, m);
	case KUBUF_MEM_KBUF:
		return kubuf_kbuf_dev_get(kf, id, m);
	default:
		return -EINVAL;
	}
}

/**
 * kubuf_mem_alive() - may the device still touch @m?
 * @m:	a hold.
 *
 * False once the registration is revoked, the file released or the
 * device removed: the holder stops and gives the memory back.
 * Context: any.
 */
bool kubuf_mem_alive(const struct kubuf_mem *m)
{
	if (READ_ONCE(m->kf->released) || READ_ONCE(m->kf->kd->closing))
		return false;
	return !m->ubuf || kubuf_ubuf_dev_alive(m->ubuf);
}
EXPORT_SYMBOL_GPL(kubuf_mem_alive);

/**
 * kubuf_mem_put() - give a hold back.
 * @m:	the hold; zeroed, so a second put does nothing.
 *
 * Context: process (a hold taken for an interrupt-driven transfer is
 * given back from the driver's thread or work, not its handler).
 */
void kubuf_mem_put(struct kubuf_mem *m)
{
	if (m->ubuf)
		kubuf_ubuf_dev_put(m->ubuf);
	if (m->dma_hold)
		kubuf_kbuf_dma_unhold(m->kbuf);
	if (m->kbuf)
		kubuf_kbuf_dev_put(m->kbuf);
	memset(m, 0, sizeof(*m));
}
EXPORT_SYMBOL_GPL(kubuf_mem_put);

/**
 * kubuf_mem_written() - the device wrote [@off, @off + @len) of @m.
 * @m:		the hold.
 * @off:	offset in the buffer.
 * @len:	bytes.
 *
 * Makes the writes visible through the application's mapping on caches
 * that alias (VIVT). Context: process.
 */
void kubuf_mem_written(struct kubuf_mem *m, u64 off, u64 len)
{
	if (m->ubuf)
		kubuf_ubuf_dev_written(m->ubuf, m->vaddr + off, len);
}
EXPORT_SYMBOL_GPL(kubuf_mem_written);

/**
 * kubuf_mem_will_read() - the device is about to read [@off, @off + @len).
 * @m:		the hold.
 * @off:	offset in the buffer.
 * @len:	bytes.
 *
 * Context: process.
 */
void kubuf_mem_will_read(struct kubuf_mem *m, u64 off, u64 len)
{
	if (m->ubuf)
		kubuf_ubuf_dev_will_read(m->ubuf, m->vaddr + off, len);
}
EXPORT_SYMBOL_GPL(kubuf_mem_will_read);
