// SPDX-License-Identifier: GPL-2.0-only
/*
 * vtop: device-attached mode. ATTACH binds an fd to one PCI device; every
 * later PIN on that fd is also mapped for the device with the DMA API and
 * reports IOVAs. DETACH (or release) drops the device again.
 *
 * Policy: the device must be driven by uio_pci_generic or vfio-pci, the
 * drivers that hand a device to user space and never use the DMA API for it
 * themselves; module parameter attach_any_driver lifts the restriction.
 * Such a driver leaves the device's DMA mask at the PCI default of 32 bits,
 * which would bounce every page above 4 GiB through swiotlb; the user-space
 * driver is the real driver here, so ATTACH widens the mask to 64 bits, the
 * same assumption physical mode makes. A mapping that would still bounce is
 * refused, because a bounce buffer is useless for long-lived DMA.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/iommu.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "vtop.h"

static const char * const vtop_attach_drivers[] = {
	"uio_pci_generic",
	"vfio-pci",
};

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

/*
 * Check a fresh mapping: it covers exactly the pinned bytes, and without
 * IOMMU translation no entry went through a bounce buffer.
 */
static int vtop_dma_check(struct vtop_region *reg)
{
	bool translated = vtop_dev_translated(reg->dev);
	struct scatterlist *sg;
	u64 total = 0;
	unsigned int i;

	for_each_sgtable_dma_sg(&reg->sgt, sg, i) {
		if (!IS_ALIGNED(sg_dma_address(sg), PAGE_SIZE) ||
		    !IS_ALIGNED(sg_dma_len(sg), PAGE_SIZE))
			return -EIO;
		if (!translated && dma_need_sync(reg->dev, sg_dma_address(sg)))
			return -EIO;
		total += sg_dma_len(sg);
	}
	return total == reg->length ? 0 : -EIO;
}

/**
 * vtop_dma_map() - map the pinned pages of @reg for @reg->dev
 * @reg: a pin whose pages are all pinned
 *
 * Return: 0, or a negative errno with nothing mapped.
 */
int vtop_dma_map(struct vtop_region *reg)
{
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
	ret = sg_alloc_table_from_pages_segment(&reg->sgt, reg->pages,
						reg->npages, 0, reg->length,
						max_seg, GFP_KERNEL);
	if (ret)
		return ret;

	/*
	 * DMA_ATTR_SKIP_CPU_SYNC: the pins are long-term DMA buffers that the
	 * user-space driver shares with its device for as long as they live,
	 * so keeping the CPU's view coherent is the user's job, as with VFIO;
	 * there is no single moment for the kernel to sync at. It loses
	 * nothing: vtop_dma_check() refuses with -EIO any mapping that would
	 * need a sync or a bounce buffer. It also lets two writable pins of
	 * the same memory map the same pages twice, which the DMA API (and
	 * DMA_API_DEBUG's cacheline tracking) allows only without CPU syncs.
	 */
	ret = dma_map_sgtable(reg->dev, &reg->sgt, vtop_dma_dir(reg),
			      DMA_ATTR_SKIP_CPU_SYNC);
	if (ret)
		goto free_table;

	ret = vtop_dma_check(reg);
	if (ret)
		goto unmap;
	return 0;

unmap:
	dma_unmap_sgtable(reg->dev, &reg->sgt, vtop_dma_dir(reg),
			  DMA_ATTR_SKIP_CPU_SYNC);
free_table:
	sg_free_table(&reg->sgt);
	return ret;
}

/*
 * Undo vtop_dma_map(); must come before the pages are unpinned. No CPU
 * sync here either (see vtop_dma_map()).
 */
void vtop_dma_unmap(struct vtop_region *reg)
{
	dma_unmap_sgtable(reg->dev, &reg->sgt, vtop_dma_dir(reg),
			  DMA_ATTR_SKIP_CPU_SYNC);
	sg_free_table(&reg->sgt);
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

long vtop_ioctl_attach(struct vtop_file *vf, void __user *uarg)
{
	struct vtop_attach arg;
	struct pci_dev *pdev;
	bool allowed, user_driver;
	int ret;

	ret = vtop_copy_args(&arg, sizeof(arg), uarg);
	if (ret)
		return ret;
	if (arg.flags || arg.pci_bdf > 0xffff)
		return -EINVAL;

	pdev = pci_get_domain_bus_and_slot(arg.pci_domain, arg.pci_bdf >> 8,
					   arg.pci_bdf & 0xff);
	if (!pdev)
		return -ENODEV;

	/* The device lock keeps the driver from changing under the check. */
	device_lock(&pdev->dev);
	user_driver = vtop_user_space_driver(pdev);
	allowed = user_driver || READ_ONCE(attach_any_driver);
	/* Never touch the DMA mask of a device a kernel driver owns. */
	if (allowed && (user_driver || !pdev->dev.driver) &&
	    dma_get_mask(&pdev->dev) < DMA_BIT_MASK(64) &&
	    dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64)))
		pci_info(pdev, "vtop: cannot set a 64-bit DMA mask\n");
	device_unlock(&pdev->dev);
	if (!allowed) {
		ret = -EPERM;
		goto put_dev;
	}

	mutex_lock(&vf->lock);
	if (vf->pdev || vf->nr_pins || vf->nr_inflight) {
		mutex_unlock(&vf->lock);
		ret = -EBUSY;
		goto put_dev;
	}
	vf->pdev = pdev;
	mutex_unlock(&vf->lock);
	return 0;

put_dev:
	pci_dev_put(pdev);
	return ret;
}

long vtop_ioctl_detach(struct vtop_file *vf, void __user *uarg)
{
	struct vtop_detach arg;
	struct pci_dev *pdev;
	int ret;

	ret = vtop_copy_args(&arg, sizeof(arg), uarg);
	if (ret)
		return ret;
	if (arg.flags)
		return -EINVAL;

	mutex_lock(&vf->lock);
	pdev = vf->pdev;
	if (!pdev)
		ret = -ENXIO;
	else if (vf->nr_pins || vf->nr_inflight)
		ret = -EBUSY;
	else
		vf->pdev = NULL;
	mutex_unlock(&vf->lock);

	if (!ret)
		pci_dev_put(pdev);
	return ret;
}

/* Drop the device of a file being released, after its pins are gone. */
void vtop_detach_release(struct vtop_file *vf)
{
	pci_dev_put(vf->pdev);
	vf->pdev = NULL;
}
