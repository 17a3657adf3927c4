// SPDX-License-Identifier: GPL-2.0-only
/*
 * vtop: device-attached mode. ATTACH binds an fd to one PCI device; every
 * later PIN on that fd is also mapped for the device with the DMA API and
 * reports IOVAs. DETACH (or release) drops the device again.
 *
 * Policy: the device must be driven by uio_pci_generic, which hands it to
 * user space and never uses the DMA API for it itself; module parameter
 * attach_any_driver (set at load time only) admits any other kernel driver
 * too, but never a driver that manages DMA ownership itself
 * (driver_managed_dma: vfio-pci and the like, which let user space switch
 * the device's domain under vtop's mappings) and never a device without a
 * driver (its removal could not be told apart from an ATTACH racing with
 * it: DEL_DEVICE is notified before the device leaves sysfs, and nothing
 * that comes after it reaches vtop's notifier). uio_pci_generic keeps the
 * device's IOMMU group claimed for the kernel's DMA domain
 * (iommu_device_use_default_domain() at probe), so VFIO and iommufd cannot
 * take the group over while vtop maps through that domain.
 *
 * Such a driver leaves the device's DMA mask at the PCI default of 32
 * bits, which would bounce every page above 4 GiB through swiotlb; the
 * user-space driver is the real driver here, so ATTACH widens the mask to
 * 64 bits, the same assumption physical mode makes. The previous mask is
 * restored when the last fd attached to the device lets it go (DETACH,
 * release, revocation) or ATTACH fails. A mapping that would still bounce
 * is refused, because a bounce buffer is useless for long-lived DMA.
 *
 * ATTACH refuses what it cannot make safe:
 *  - a lazy (DMA-FQ) IOMMU domain: dma_unmap_*() there only queues the
 *    IOTLB invalidation, and UNPIN would hand pages back to the kernel
 *    while the device can still reach them (-EOPNOTSUPP; boot with
 *    iommu.strict=1 or set the group's type to "DMA");
 *  - a device that is not DMA-coherent: mappings skip CPU cache
 *    maintenance (DMA_ATTR_SKIP_CPU_SYNC), correct only for coherent
 *    devices (-EOPNOTSUPP; never on x86).
 *
 * The group can still go lazy after ATTACH: root may write "DMA-FQ" to its
 * type with the driver bound (iommu_group_store_type() allows that one
 * change). The IOMMU core publishes the flush queue with WRITE_ONCE()
 * under the group's private mutex, and the DMA API reads it locklessly on
 * every unmap, so no lock vtop could take orders PIN against the switch.
 * Instead:
 *  - PIN checks the domain before it pins anything and again after it
 *    mapped (the pages are unmapped again and PIN fails with -EOPNOTSUPP
 *    when the domain is lazy by then), so no pin is made on a lazy domain
 *    once the switch is visible;
 *  - every unmap of a translating domain is followed by
 *    iommu_flush_iotlb_all() before a page is unpinned, whatever the
 *    domain's type says at that moment (the type is written after the
 *    flush queue goes live, so it cannot tell whether this unmap was
 *    queued): a pin made while the domain was strict is released safely
 *    after the switch too. On a strict domain that flush repeats one the
 *    unmap made; it costs one IOTLB invalidation per UNPIN.
 *
 * Revocation: a bus notifier watches the attached devices. When the driver
 * is unbound, another one is bound or the device is deleted (hot-unplug,
 * sysfs remove), every mapping of every fd attached to it is unmapped
 * before the operation goes on, the fds are marked revoked (PIN fails with
 * -ENODEV) and each live pin gets a VTOP_EVENT_REVOKED record, as does the
 * fd itself, once (a record with handle 0: also for an fd without pins, or
 * whose pins were invalidated before). The pins stay pinned until UNPIN or
 * release, which then leave the device alone. A PIN in flight meanwhile
 * fails with -ENODEV: its mapping is checked when it commits.
 *
 * Release: an attached fd closed with live pins (a crashed user-space
 * driver, typically) clears the device's Bus Master Enable bit before its
 * pages are unmapped and unpinned, as VFIO resets a device when its last
 * user goes: the device was programmed with those addresses and may still
 * be running. Not when another fd is attached to the device (another
 * process may still drive it; an fd being released is no such user, so
 * of two fds closed at once the second clears it), nor after revocation
 * (the device is not vtop's to touch any more), nor when the device is
 * driven by a kernel driver (attach_any_driver): that driver programmed
 * it and its DMA must go on. A user-space driver sets bus mastering again
 * when it starts, as it must after a reset or a reboot anyway.
 *
 * Locking: device_lock, then vtop_attach_lock, then vf->lock (ATTACH);
 * vtop_attach_lock, then vf->dma_rwsem (revocation, write), then
 * vf->dma_lock (a spinlock, the mapped list and nr_mapped). PIN and UNPIN
 * hold dma_rwsem for read while they map or unmap (and flush the IOTLB),
 * with no other vtop lock; PIN's commit checks its mapping under vf->lock,
 * then vf->dma_lock. Release moves the fd to vtop_releasing and clears bus
 * mastering under vtop_attach_lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/iommu.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/pci.h>
#include <linux/rwsem.h>
#include <linux/scatterlist.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "vtop.h"

static const char * const vtop_attach_drivers[] = {
	"uio_pci_generic",
};

/*
 * Every attached fd (vtop_file.attach_node), revoked ones included: on
 * vtop_attached while it may be used, on vtop_releasing from the start of
 * its release until its device is dropped. The bus notifier and the DMA
 * mask look at both lists; only vtop_attached counts as a user of the
 * device when a release decides on bus mastering.
 */
static LIST_HEAD(vtop_attached);
static LIST_HEAD(vtop_releasing);
static struct list_head * const vtop_attach_lists[] = {
	&vtop_attached, &vtop_releasing,
};

static DEFINE_MUTEX(vtop_attach_lock);

static enum dma_data_direction vtop_dma_dir(const struct vtop_region *reg)
{
	return reg->writable ? DMA_BIDIRECTIONAL : DMA_TO_DEVICE;
}

/* True when an IOMMU translates the DMA API's addresses for @dev. */
static bool vtop_dev_translated(struct device *dev)
{
	struct iommu_domain *domain = iommu_get_domain_for_dev(dev);

	return domain && (domain->type & __IOMMU_DOMAIN_PAGING);
}

/* True when @dev's IOMMU domain invalidates lazily (a flush queue). */
static bool vtop_dev_lazy(struct device *dev)
{
	struct iommu_domain *domain = iommu_get_domain_for_dev(dev);

	return domain && domain->type == IOMMU_DOMAIN_DMA_FQ;
}

/*
 * Make every unmap of @dev so far take effect in the IOTLB before a page
 * is unpinned: on a lazy domain dma_unmap_*() only queued the
 * invalidation. Done for every translating domain, see the top.
 */
static void vtop_dma_flush(struct device *dev)
{
	struct iommu_domain *domain = iommu_get_domain_for_dev(dev);

	if (domain && (domain->type & __IOMMU_DOMAIN_PAGING))
		iommu_flush_iotlb_all(domain);
}

/* Pages or entries a loop handles between two cond_resched() calls. */
#define VTOP_DMA_RESCHED	4096

/*
 * Check a fresh mapping: it covers exactly the pinned bytes, no entry
 * crosses the device's segment boundary, and without IOMMU translation no
 * entry went through a bounce buffer.
 */
static int vtop_dma_check(struct vtop_region *reg)
{
	unsigned long boundary = dma_get_seg_boundary(reg->dev);
	bool translated = vtop_dev_translated(reg->dev);
	struct scatterlist *sg;
	u64 total = 0;
	unsigned int i;

	for_each_sgtable_dma_sg(&reg->sgt, sg, i) {
		dma_addr_t addr = sg_dma_address(sg);

		if (i && !(i % VTOP_DMA_RESCHED))
			cond_resched();
		if (!IS_ALIGNED(addr, PAGE_SIZE) ||
		    !IS_ALIGNED(sg_dma_len(sg), PAGE_SIZE))
			return -EIO;
		if ((addr & ~(dma_addr_t)boundary) !=
		    ((addr + sg_dma_len(sg) - 1) & ~(dma_addr_t)boundary))
			return -EIO;
		if (!translated && dma_need_sync(reg->dev, addr))
			return -EIO;
		total += sg_dma_len(sg);
	}
	return total == reg->length ? 0 : -EIO;
}

/*
 * Build the scatterlist of @reg: runs of physically contiguous pages, each
 * entry at most @max_seg bytes and never crossing the device's segment
 * boundary (dma_get_seg_boundary()) in physical address space, which is the
 * DMA address space without an IOMMU.
 */
static int vtop_build_sgt(struct vtop_region *reg, unsigned int max_seg)
{
	unsigned long boundary = dma_get_seg_boundary(reg->dev);
	struct scatterlist *sg = NULL;
	unsigned int nents = 0, pass;
	unsigned long i;
	int ret;

	/* Pass 0 counts the entries, pass 1 fills them in. */
	for (pass = 0; pass < 2; pass++) {
		phys_addr_t start = 0, end = 0;
		unsigned long first = 0;

		if (pass) {
			/* Charged to the caller's memory cgroup. */
			ret = sg_alloc_table(&reg->sgt, nents,
					     GFP_KERNEL_ACCOUNT);
			if (ret)
				return ret;
			sg = reg->sgt.sgl;
		}
		nents = 0;
		for (i = 0; i <= reg->npages; i++) {
			phys_addr_t p = 0;

			if (i && !(i % VTOP_DMA_RESCHED))
				cond_resched();
			if (i < reg->npages) {
				p = page_to_phys(reg->pages[i]);
				if (i && p == end && end - start < max_seg &&
				    (start & ~(phys_addr_t)boundary) ==
				    ((p + PAGE_SIZE - 1) &
				     ~(phys_addr_t)boundary)) {
					end += PAGE_SIZE;
					continue;
				}
			}
			if (i) {
				if (pass) {
					sg_set_page(sg, reg->pages[first],
						    end - start, 0);
					sg = sg_next(sg);
				}
				nents++;
			}
			start = p;
			end = p + PAGE_SIZE;
			first = i;
		}
	}
	return 0;
}

/**
 * vtop_dma_map() - map the pinned pages of @reg for @reg->dev
 * @reg: a pin whose pages are all pinned
 *
 * Return: 0, -ENODEV when the fd's device was revoked, -EOPNOTSUPP when
 * its IOMMU domain invalidates lazily now, or another negative errno;
 * nothing is mapped on failure.
 */
int vtop_dma_map(struct vtop_region *reg)
{
	struct vtop_file *vf = reg->vf;
	unsigned int max_seg;
	int ret;

	/*
	 * sg lengths are unsigned int; keep within what the device maps and
	 * within its maximum segment size (64 KiB unless its driver raised
	 * it): DMA_API_DEBUG warns on longer segments, and an IOMMU driver
	 * may rely on the limit. The reported segments are merged again by
	 * DMA address, so this does not lengthen the segment list.
	 */
	max_seg = min_t(size_t, dma_max_mapping_size(reg->dev), UINT_MAX);
	max_seg = min_t(unsigned int, max_seg,
			dma_get_max_seg_size(reg->dev));
	max_seg = max_t(unsigned int, round_down(max_seg, PAGE_SIZE),
			PAGE_SIZE);

	down_read(&vf->dma_rwsem);
	if (vf->revoked) {
		ret = -ENODEV;
		goto unlock;
	}
	ret = vtop_build_sgt(reg, max_seg);
	if (ret)
		goto unlock;

	/*
	 * DMA_ATTR_SKIP_CPU_SYNC: the pins are long-term DMA buffers that the
	 * user-space driver shares with its device for as long as they live,
	 * so keeping the CPU's view coherent is the user's job, as with VFIO;
	 * there is no single moment for the kernel to sync at. That is only
	 * correct for a DMA-coherent device, which ATTACH insists on, and for
	 * a mapping that needs no bounce buffer, which vtop_dma_check()
	 * insists on (-EIO); an IOMMU maps whole pages without bouncing. It
	 * also lets two writable pins of the same memory map the same pages
	 * twice, which the DMA API (and DMA_API_DEBUG's cacheline tracking)
	 * allows only without CPU syncs.
	 */
	ret = dma_map_sgtable(reg->dev, &reg->sgt, vtop_dma_dir(reg),
			      DMA_ATTR_SKIP_CPU_SYNC);
	if (ret)
		goto free_table;

	ret = vtop_dma_check(reg);
	if (ret)
		goto unmap;
	/* Switched to DMA-FQ since ATTACH (or since vtop_dma_precheck()). */
	if (vtop_dev_lazy(reg->dev)) {
		ret = -EOPNOTSUPP;
		goto unmap;
	}

	spin_lock(&vf->dma_lock);
	reg->dma_mapped = true;
	list_add_tail(&reg->dma_node, &vf->mapped);
	vf->nr_mapped++;
	spin_unlock(&vf->dma_lock);
	up_read(&vf->dma_rwsem);
	return 0;

unmap:
	dma_unmap_sgtable(reg->dev, &reg->sgt, vtop_dma_dir(reg),
			  DMA_ATTR_SKIP_CPU_SYNC);
	vtop_dma_flush(reg->dev);
free_table:
	sg_free_table(&reg->sgt);
unlock:
	up_read(&vf->dma_rwsem);
	return ret;
}

/*
 * Unmap @reg from its device and take it off the fd's list of mappings.
 * The caller holds vf->dma_rwsem (read for one region, write to revoke).
 * With @flush the IOTLB is flushed before the mapping stops counting in
 * vf->nr_mapped (DETACH may drop the device after that); without, the
 * caller flushes, still holding dma_rwsem for write, before any page of
 * the region can be unpinned.
 */
static void vtop_dma_unmap_one(struct vtop_file *vf, struct vtop_region *reg,
			       bool flush)
{
	dma_unmap_sgtable(reg->dev, &reg->sgt, vtop_dma_dir(reg),
			  DMA_ATTR_SKIP_CPU_SYNC);
	if (flush)
		vtop_dma_flush(reg->dev);
	spin_lock(&vf->dma_lock);
	reg->dma_mapped = false;
	list_del_init(&reg->dma_node);
	vf->nr_mapped--;
	spin_unlock(&vf->dma_lock);
}

/*
 * Undo vtop_dma_map(); must come before the pages are unpinned. No CPU
 * sync here either (see vtop_dma_map()). A mapping revoked meanwhile is
 * gone already: the device is not touched. The mapping counts in
 * vf->nr_mapped, which keeps DETACH away, until the unmap and the IOTLB
 * flush have finished.
 */
void vtop_dma_unmap(struct vtop_region *reg)
{
	struct vtop_file *vf = reg->vf;

	down_read(&vf->dma_rwsem);
	if (reg->dma_mapped)
		vtop_dma_unmap_one(vf, reg, true);
	up_read(&vf->dma_rwsem);
	sg_free_table(&reg->sgt);
}

/**
 * vtop_dma_precheck() - can a PIN on @vf be mapped at all?
 * @vf: an attached fd with this PIN reserved (vf->pdev stays put)
 *
 * Checked before anything is pinned, so that a PIN bound to fail does not
 * pin (and charge, and fault in) the range first. vtop_dma_map() checks
 * again, authoritatively.
 *
 * Return: 0, -ENODEV (revoked) or -EOPNOTSUPP (lazy IOMMU domain).
 */
int vtop_dma_precheck(struct vtop_file *vf)
{
	int ret = 0;

	down_read(&vf->dma_rwsem);
	if (vf->revoked)
		ret = -ENODEV;
	else if (vtop_dev_lazy(&vf->pdev->dev))
		ret = -EOPNOTSUPP;
	up_read(&vf->dma_rwsem);
	return ret;
}

/*
 * Is @reg, made by a PIN on an attached fd, still mapped? False once a
 * revocation took the mapping away: then the PIN must not commit. Called
 * with vf->lock held, before the pin goes live.
 */
bool vtop_dma_still_mapped(struct vtop_region *reg)
{
	struct vtop_file *vf = reg->vf;
	bool mapped;

	lockdep_assert_held(&vf->lock);
	spin_lock(&vf->dma_lock);
	mapped = reg->dma_mapped;
	spin_unlock(&vf->dma_lock);
	return mapped;
}

/* Is @pdev driven by a driver that hands the device to user space? */
static bool vtop_user_space_driver(struct pci_dev *pdev)
{
	const char *name = pdev->dev.driver ? pdev->dev.driver->name : NULL;
	size_t i;

	if (!name)
		return false;
	for (i = 0; i < ARRAY_SIZE(vtop_attach_drivers); i++)
		if (!strcmp(name, vtop_attach_drivers[i]))
			return true;
	return false;
}

/*
 * Does @pdev's driver manage the device's DMA ownership itself (vfio-pci,
 * or anything else that may hand the IOMMU group to VFIO or iommufd)?
 * Under the device lock.
 */
static bool vtop_driver_managed_dma(struct pci_dev *pdev)
{
	return pdev->dev.driver &&
	       to_pci_driver(pdev->dev.driver)->driver_managed_dma;
}

/* Any attached fd of @pdev other than @self? Under vtop_attach_lock. */
static struct vtop_file *vtop_other_attached(struct pci_dev *pdev,
					     struct vtop_file *self)
{
	struct vtop_file *vf;
	size_t i;

	lockdep_assert_held(&vtop_attach_lock);
	for (i = 0; i < ARRAY_SIZE(vtop_attach_lists); i++)
		list_for_each_entry(vf, vtop_attach_lists[i], attach_node)
			if (vf != self && vf->pdev == pdev && vf->mask_saved)
				return vf;
	return NULL;
}

/*
 * @vf lets its device go (already off the list): give the device its DMA
 * mask back unless another fd still holds it widened. Under
 * vtop_attach_lock.
 */
static void vtop_restore_mask(struct vtop_file *vf)
{
	struct device *dev = &vf->pdev->dev;

	lockdep_assert_held(&vtop_attach_lock);
	if (!vf->mask_saved)
		return;
	vf->mask_saved = false;
	if (vtop_other_attached(vf->pdev, vf))
		return;
	if (dma_set_mask(dev, vf->saved_mask) ||
	    dma_set_coherent_mask(dev, vf->saved_coherent_mask))
		pci_warn(vf->pdev, "vtop: cannot restore the DMA mask\n");
}

/* Is the fd busy (pins, a PIN in flight, a mapping not yet torn down)? */
static bool vtop_busy(struct vtop_file *vf)
{
	bool busy;

	lockdep_assert_held(&vf->lock);
	spin_lock(&vf->dma_lock);
	busy = vf->nr_pins || vf->nr_inflight || vf->nr_mapped;
	spin_unlock(&vf->dma_lock);
	return busy;
}

/*
 * Why ATTACH cannot use @pdev, or 0. Called with the device lock held, so
 * the driver and the group's domain do not change underneath.
 */
static int vtop_attach_check(struct pci_dev *pdev, bool *user_driver)
{
	struct iommu_domain *domain;

	if (!device_is_registered(&pdev->dev))
		return -ENODEV;
	/* Never without a driver nor with driver-managed DMA, see the top. */
	if (!pdev->dev.driver || vtop_driver_managed_dma(pdev))
		return -EPERM;
	*user_driver = vtop_user_space_driver(pdev);
	if (!*user_driver && !READ_ONCE(vtop_attach_any_driver))
		return -EPERM;
	if (!dev_is_dma_coherent(&pdev->dev))
		return -EOPNOTSUPP;
	domain = iommu_get_domain_for_dev(&pdev->dev);
	if (domain && domain->type == IOMMU_DOMAIN_DMA_FQ)
		return -EOPNOTSUPP;
	return 0;
}

long vtop_ioctl_attach(struct vtop_file *vf, void __user *uarg)
{
	struct vtop_attach arg;
	struct pci_dev *pdev;
	struct vtop_file *other;
	bool user_driver;
	int ret;

	ret = vtop_copy_args(&arg, sizeof(arg), uarg);
	if (ret)
		return ret;
	if (arg.flags || arg.pci_bdf > 0xffff)
		return -EINVAL;

	/* Busy first: a refused ATTACH changes nothing, the mask included. */
	mutex_lock(&vf->lock);
	ret = vf->pdev || vtop_busy(vf) ? -EBUSY : 0;
	mutex_unlock(&vf->lock);
	if (ret)
		return ret;

	pdev = pci_get_domain_bus_and_slot(arg.pci_domain, arg.pci_bdf >> 8,
					   arg.pci_bdf & 0xff);
	if (!pdev)
		return -ENODEV;

	/*
	 * The device lock keeps the driver from changing until the fd is on
	 * the list the bus notifier revokes from. Interruptible: an unbind
	 * can hold it for as long as another descriptor stays open.
	 */
	ret = device_lock_interruptible(&pdev->dev);
	if (ret)
		goto put_dev;
	ret = vtop_attach_check(pdev, &user_driver);
	if (ret)
		goto unlock_dev;

	mutex_lock(&vtop_attach_lock);
	mutex_lock(&vf->lock);
	if (vf->pdev || vtop_busy(vf)) {
		ret = -EBUSY;
		goto unlock;
	}
	/* Never touch the DMA mask of a device a kernel driver owns. */
	other = vtop_other_attached(pdev, vf);
	if (other) {
		vf->saved_mask = other->saved_mask;
		vf->saved_coherent_mask = other->saved_coherent_mask;
		vf->mask_saved = true;
	} else if (user_driver &&
		   dma_get_mask(&pdev->dev) < DMA_BIT_MASK(64)) {
		vf->saved_mask = dma_get_mask(&pdev->dev);
		vf->saved_coherent_mask = pdev->dev.coherent_dma_mask;
		if (dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64))) {
			pci_info(pdev, "vtop: cannot set a 64-bit DMA mask\n");
			/* dma_set_mask() changes nothing when it fails. */
			dma_set_coherent_mask(&pdev->dev,
					      vf->saved_coherent_mask);
		} else {
			vf->mask_saved = true;
		}
	}
	vf->pdev = pdev;
	vf->revoked = false;
	list_add_tail(&vf->attach_node, &vtop_attached);
	ret = 0;
unlock:
	mutex_unlock(&vf->lock);
	mutex_unlock(&vtop_attach_lock);
unlock_dev:
	device_unlock(&pdev->dev);
put_dev:
	if (ret)
		pci_dev_put(pdev);
	return ret;
}

long vtop_ioctl_detach(struct vtop_file *vf, void __user *uarg)
{
	struct vtop_detach arg;
	struct pci_dev *pdev = NULL;
	int ret;

	ret = vtop_copy_args(&arg, sizeof(arg), uarg);
	if (ret)
		return ret;
	if (arg.flags)
		return -EINVAL;

	mutex_lock(&vtop_attach_lock);
	mutex_lock(&vf->lock);
	if (!vf->pdev) {
		ret = -ENXIO;
	} else if (vtop_busy(vf)) {
		/* Also while an UNPIN still unmaps: it uses the device. */
		ret = -EBUSY;
	} else {
		list_del_init(&vf->attach_node);
		vtop_restore_mask(vf);
		pdev = vf->pdev;
		vf->pdev = NULL;
		vf->revoked = false;
	}
	mutex_unlock(&vf->lock);
	mutex_unlock(&vtop_attach_lock);

	pci_dev_put(pdev);
	return ret;
}

/* Drop the device of a file being released, after its pins are gone. */
void vtop_detach_release(struct vtop_file *vf)
{
	if (!vf->pdev)
		return;
	mutex_lock(&vtop_attach_lock);
	list_del_init(&vf->attach_node);
	vtop_restore_mask(vf);
	mutex_unlock(&vtop_attach_lock);
	WARN_ON_ONCE(vf->nr_mapped);
	pci_dev_put(vf->pdev);
	vf->pdev = NULL;
}

/*
 * An attached fd is being released: it stops counting as a user of its
 * device, and with live pins the device's DMA is stopped (Bus Master
 * Enable off) before the pages are unmapped and unpinned, unless another
 * fd not being released is attached to the device, the device was
 * revoked, or a kernel driver drives it. See the top.
 */
void vtop_dma_release_quiesce(struct vtop_file *vf)
{
	struct vtop_file *other;
	bool shared = false;

	if (!vf->pdev)
		return;
	mutex_lock(&vtop_attach_lock);
	/* The notifier still revokes it; other releases no longer count it. */
	list_move_tail(&vf->attach_node, &vtop_releasing);
	/*
	 * Not revoked: the device is still bound to the driver it had at
	 * ATTACH (an unbind would have revoked the fd under this lock), so
	 * its driver can be looked at without the device lock.
	 */
	if (!vf->nr_pins || vf->revoked || !vtop_user_space_driver(vf->pdev))
		goto unlock;
	list_for_each_entry(other, &vtop_attached, attach_node)
		if (other->pdev == vf->pdev && !other->revoked)
			shared = true;
	if (!shared) {
		pci_clear_master(vf->pdev);
		pci_info(vf->pdev,
			 "vtop: attached fd released with %u live pin(s): bus mastering disabled\n",
			 vf->nr_pins);
	}
unlock:
	mutex_unlock(&vtop_attach_lock);
}

/* Set up the attach state of a new file. */
void vtop_dma_open(struct vtop_file *vf)
{
	INIT_LIST_HEAD(&vf->attach_node);
	init_rwsem(&vf->dma_rwsem);
	spin_lock_init(&vf->dma_lock);
	INIT_LIST_HEAD(&vf->mapped);
}

/*
 * Unmap every mapping of @vf while its device can still take it, and mark
 * the fd revoked. Under vtop_attach_lock.
 */
static void vtop_revoke(struct vtop_file *vf)
{
	struct vtop_region *reg, *tmp;
	unsigned int n = 0;

	down_write(&vf->dma_rwsem);
	vf->revoked = true;
	list_for_each_entry_safe(reg, tmp, &vf->mapped, dma_node) {
		vtop_dma_unmap_one(vf, reg, false);
		vtop_region_revoked(reg);
		if (!(++n % VTOP_DMA_RESCHED))
			cond_resched();
	}
	/* Before UNPIN may unpin the pages without a look at the device. */
	if (n)
		vtop_dma_flush(&vf->pdev->dev);
	up_write(&vf->dma_rwsem);
	vtop_events_fd_revoked(vf);
	pci_info(vf->pdev, "vtop: device going away: %u mapping(s) revoked\n",
		 n);
}

static int vtop_bus_notify(struct notifier_block *nb, unsigned long action,
			   void *data)
{
	struct device *dev = data;
	struct vtop_file *vf;
	bool found = false;
	size_t i;

	switch (action) {
	case BUS_NOTIFY_BIND_DRIVER:
	case BUS_NOTIFY_UNBIND_DRIVER:
	case BUS_NOTIFY_DEL_DEVICE:
		break;
	default:
		return NOTIFY_DONE;
	}

	mutex_lock(&vtop_attach_lock);
	for (i = 0; i < ARRAY_SIZE(vtop_attach_lists); i++)
		list_for_each_entry(vf, vtop_attach_lists[i], attach_node) {
			if (&vf->pdev->dev != dev || vf->revoked)
				continue;
			vtop_revoke(vf);
			found = true;
		}
	/* The next driver starts with the mask the device had. */
	for (i = 0; found && i < ARRAY_SIZE(vtop_attach_lists); i++)
		list_for_each_entry(vf, vtop_attach_lists[i], attach_node)
			if (&vf->pdev->dev == dev)
				vtop_restore_mask(vf);
	mutex_unlock(&vtop_attach_lock);
	return NOTIFY_DONE;
}

static struct notifier_block vtop_pci_nb = {
	.notifier_call = vtop_bus_notify,
};

int vtop_dma_init(void)
{
	return bus_register_notifier(&pci_bus_type, &vtop_pci_nb);
}

void vtop_dma_exit(void)
{
	bus_unregister_notifier(&pci_bus_type, &vtop_pci_nb);
}
