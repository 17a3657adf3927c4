// SPDX-License-Identifier: GPL-2.0-only
/*
 * vtop-nvme-detach: the DETACH half of NVMe scenario 4, on /dev/vtop
 * directly (libvtop never detaches: it closes its fd). With the controller
 * bound to uio_pci_generic behind a translating IOMMU:
 *   - ATTACH, pin 4 KiB and hugetlb memory: IOVAs, not physical addresses
 *   - DETACH with live mappings is refused (-EBUSY), the fd stays attached
 *     and its pins stay mapped (GET_SEGS still returns the IOVAs)
 *   - after both UNPINs, DETACH succeeds; a second DETACH is -ENXIO; a PIN
 *     now returns physical addresses
 *   - ATTACH again with a live (physical-mode) pin is -EBUSY
 *   - unpin, ATTACH again, pin, and close the fd with the mapping live
 * The scenario script checks the pin counters and the kernel log after.
 *
 * Usage: vtop-nvme-detach BDF. Exit 0 pass, 1 fail, 4 skip (no ATTACH).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "uapi/linux/vtop.h"
#include "check.h"

#define PAGE		4096UL
#define SZ_2M		(2UL << 20)
#define SMALL_LEN	(16 * PAGE)


/* ioctl returning 0 or -errno. */
static int xioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static int info(int fd, struct vtop_info *in)
{
	memset(in, 0, sizeof(*in));
	in->size = sizeof(*in);
	return xioctl(fd, VTOP_IOC_INFO, in);
}

static uint64_t phys_of(const void *va)
{
	uint64_t ent = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (pread(fd, &ent, sizeof(ent), (off_t)((uintptr_t)va / PAGE * 8)) !=
	    sizeof(ent))
		ent = 0;
	close(fd);
	if (!(ent >> 63))
		return 0;
	return (ent & ((1ULL << 55) - 1)) * PAGE;
}

/* Pin [p, p + len); return the first segment's address in *dma. */
static int pin(int fd, void *p, size_t len, uint64_t *handle, uint64_t *dma)
{
	struct vtop_segment segs[64];
	struct vtop_pin pn;
	int ret;

	memset(&pn, 0, sizeof(pn));
	pn.size = sizeof(pn);
	pn.vaddr = (uintptr_t)p;
	pn.length = len;
	pn.segs = (uintptr_t)segs;
	pn.nr_segs = 64;
	ret = xioctl(fd, VTOP_IOC_PIN, &pn);
	if (ret)
		return ret;
	*handle = pn.handle;
	*dma = segs[0].dma_addr;
	return 0;
}

static int unpin(int fd, uint64_t handle)
{
	struct vtop_unpin u = { .size = sizeof(u), .handle = handle };

	return xioctl(fd, VTOP_IOC_UNPIN, &u);
}

static int first_seg(int fd, uint64_t handle, uint64_t *dma)
{
	struct vtop_segment seg;
	struct vtop_get_segs g;
	int ret;

	memset(&g, 0, sizeof(g));
	g.size = sizeof(g);
	g.handle = handle;
	g.length = PAGE;
	g.segs = (uintptr_t)&seg;
	g.nr_segs = 1;
	ret = xioctl(fd, VTOP_IOC_GET_SEGS, &g);
	if (!ret)
		*dma = seg.dma_addr;
	return ret;
}

static int attach(int fd, unsigned int dom, unsigned int bdf)
{
	struct vtop_attach a = { .size = sizeof(a), .pci_domain = dom,
				 .pci_bdf = bdf };

	return xioctl(fd, VTOP_IOC_ATTACH, &a);
}

static int detach(int fd)
{
	struct vtop_detach d = { .size = sizeof(d) };

	return xioctl(fd, VTOP_IOC_DETACH, &d);
}

int main(int argc, char **argv)
{
	unsigned int dom, bus, slot, fn, bdf;
	uint64_t h_small, h_huge, h, dma_small, dma_huge, dma = 0, pa;
	struct vtop_info in;
	uint8_t *small, *huge;
	int fd, ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2 ||
	    sscanf(argv[1], "%x:%x:%x.%x", &dom, &bus, &slot, &fn) != 4) {
		fprintf(stderr, "usage: vtop-nvme-detach DDDD:BB:SS.F\n");
		return 2;
	}
	bdf = bus << 8 | slot << 3 | fn;
	fd = open(VTOP_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("not ok - open " VTOP_DEVICE_PATH ": %s\n",
		       strerror(errno));
		return 1;
	}
	if (info(fd, &in)) {
		printf("not ok - VTOP_IOC_INFO: %s\n", strerror(errno));
		return 1;
	}
	if (!(in.features & VTOP_FEATURE_ATTACH)) {
		printf("SKIP: module has no VTOP_FEATURE_ATTACH\n");
		return 4;
	}

	small = mmap(NULL, SMALL_LEN, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	huge = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE,
		    -1, 0);
	if (small == MAP_FAILED || huge == MAP_FAILED) {
		printf("not ok - mmap test memory (hugetlb pages reserved?)\n");
		return 1;
	}

	ret = attach(fd, dom, bdf);
	check(ret == 0, "ATTACH %s: %s", argv[1], strerror(-ret));
	if (ret)
		return 1;
	ret = pin(fd, small, SMALL_LEN, &h_small, &dma_small);
	check(ret == 0, "PIN 64 KiB of 4 KiB pages (attached): %s",
	      strerror(-ret));
	ret |= pin(fd, huge, SZ_2M, &h_huge, &dma_huge);
	check(ret == 0, "PIN a 2 MiB hugetlb page (attached)");
	if (ret)
		return 1;
	pa = phys_of(small);
	check(pa && dma_small != pa, "4 KiB pages: IOVA 0x%llx, physical 0x%llx",
	      (unsigned long long)dma_small, (unsigned long long)pa);
	pa = phys_of(huge);
	check(pa && dma_huge != pa, "hugetlb page: IOVA 0x%llx, physical 0x%llx",
	      (unsigned long long)dma_huge, (unsigned long long)pa);

	ret = detach(fd);
	check(ret == -EBUSY, "DETACH with live mappings: %s (want EBUSY)",
	      strerror(-ret));
	ret = info(fd, &in);
	check(!ret && in.mode == VTOP_MODE_IOVA && in.nr_pins == 2,
	      "still attached after the refused DETACH (mode %u, %u pins)",
	      in.mode, in.nr_pins);
	ret = first_seg(fd, h_small, &dma);
	check(!ret && dma == dma_small,
	      "GET_SEGS after the refused DETACH: 0x%llx",
	      (unsigned long long)dma);

	check(unpin(fd, h_small) == 0, "UNPIN the 4 KiB pages");
	ret = detach(fd);
	check(ret == -EBUSY, "DETACH with one live mapping: %s (want EBUSY)",
	      strerror(-ret));
	check(unpin(fd, h_huge) == 0, "UNPIN the hugetlb page");
	ret = detach(fd);
	check(ret == 0, "DETACH with no pins: %s", strerror(-ret));
	ret = info(fd, &in);
	check(!ret && in.mode == VTOP_MODE_PHYS && in.nr_pins == 0,
	      "physical mode after DETACH (mode %u, %u pins)", in.mode,
	      in.nr_pins);
	ret = detach(fd);
	check(ret == -ENXIO, "second DETACH: %s (want ENXIO)", strerror(-ret));

	ret = pin(fd, huge, SZ_2M, &h, &dma);
	check(ret == 0 && dma == phys_of(huge),
	      "PIN after DETACH returns the physical address 0x%llx",
	      (unsigned long long)dma);
	ret = attach(fd, dom, bdf);
	check(ret == -EBUSY, "ATTACH with a live pin: %s (want EBUSY)",
	      strerror(-ret));
	check(unpin(fd, h) == 0, "UNPIN the physical-mode pin");

	ret = attach(fd, dom, bdf);
	check(ret == 0, "ATTACH again: %s", strerror(-ret));
	ret = pin(fd, small, SMALL_LEN, &h_small, &dma_small);
	ret |= pin(fd, huge, SZ_2M, &h_huge, &dma_huge);
	check(ret == 0, "PIN both again (attached)");
	ret = close(fd);
	check(ret == 0, "close the attached fd with two live mappings");

	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
