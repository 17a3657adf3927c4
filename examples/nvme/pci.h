/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * PCI plumbing through sysfs: find an NVMe controller, hand it to
 * uio_pci_generic, switch bus mastering, map BAR0.
 */
#ifndef VTOP_NVME_PCI_H
#define VTOP_NVME_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCI_BDF_LEN	sizeof("0000:00:00.0")

struct pci_addr {
	uint32_t domain;
	uint8_t bus;
	uint8_t slot;
	uint8_t func;
	char name[PCI_BDF_LEN];	/* canonical dddd:bb:ss.f */
};

/* Parse "dddd:bb:ss.f" or "bb:ss.f" (domain 0). Return 0 or -EINVAL. */
int pci_addr_parse(const char *s, struct pci_addr *addr);

/*
 * Pick the first NVMe controller (class 0x010802) that no kernel driver
 * other than uio_pci_generic holds. Return 0, or -ENODEV (printing the
 * controllers that were skipped and why).
 */
int pci_find_nvme(struct pci_addr *addr);

/*
 * Up to @max NVMe controllers that no kernel driver other than
 * uio_pci_generic holds, sorted by address. Return how many, or -errno.
 */
int pci_find_nvmes(struct pci_addr *addrs, int max);

/*
 * Bind @addr to uio_pci_generic, loading the module if needed. A device
 * driven by another kernel driver is released from it only if @unbind.
 * Return 0 or -errno (-EBUSY: held by another driver and !@unbind).
 */
int pci_bind_uio(const struct pci_addr *addr, bool unbind);

/* Read, and set/clear bits of, the 16-bit PCI command register. */
int pci_command_update(const struct pci_addr *addr, uint16_t set,
		       uint16_t clear, uint16_t *old);

/* Map BAR0 read/write. Return 0 or -errno. */
int pci_map_bar0(const struct pci_addr *addr, volatile void **bar,
		 size_t *len);
void pci_unmap_bar0(volatile void *bar, size_t len);

#endif /* VTOP_NVME_PCI_H */
