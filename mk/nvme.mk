# SPDX-License-Identifier: GPL-2.0-only
#
# The user-space NVMe driver example (issue 4) and its guest scenarios.
#
#   make nvme-example      build/bin/vtop-nvme (links libvtop) and the
#                          scenario 4 helper build/bin/vtop-nvme-detach
#   make nvme-check        the six NVMe/IOMMU scenarios on 6.1 and 6.12
#   make nvme-check NVME_KERNELS=6.12 NVME_SCENARIOS="1 3"
#                          a subset (selftests/nvme/check.sh --help)
#
# Scenarios (selftests/nvme/scenario*.sh, one guest boot each):
#   1 no IOMMU, physical addresses: Identify + round trip, all buffer kinds
#   2 IOMMU, physical addresses: the transfer must fail cleanly (DMA fault)
#   3 IOMMU, attached (IOVA) mode: round trip passes, IOVAs != physical
#   4 IOMMU, attached: every teardown path leaves no pins, no IOMMU fault
#   (4 also runs vtop-nvme-detach: DETACH refused with live mappings, then
#   allowed, and an attached fd closed with live mappings)
#   5 no IOMMU, physical: invalidation events proven by DMA (issue 10): a
#     registered buffer munmap()ed and replaced at the same address
#     (MAP_FIXED) is written again: the device reads the NEW memory (4k,
#     THP, hugetlb); with events off (test-only flag) the OLD data comes
#     back and vtop-nvme fails
#   6 IOMMU, attached: the same as 5 through the IOMMU, no DMAR fault
#   7 IOMMU (lazy by default), attached-mode hardening (issue 11):
#     vtop-nvme-attach: lazy domain refused, DMA mask restored, DETACH
#     vs UNPIN race (traced), vfio-pci refused, unbind and remove with
#     live pins revoked, rescan and ATTACH again
#   8 IOMMU (strict), attach_any_driver=1, the review of 7's fixes:
#     driverless and vfio-pci refused, bus mastering cleared on close with
#     live pins, PIN racing revocation, revocation reported per fd, the
#     group switched to DMA-FQ after ATTACH
#   9 IOMMU (strict), the controller behind a PCIe root port (run.sh
#     --nvme-hotplug): QEMU device_del through the monitor with live
#     pins: revoked, PIN ENODEV, UNPIN/close/DETACH work, pins balanced
#  11 IOMMU (strict), two controllers: B (vtop_dev_attach) unbound with
#     live pins is noticed by libvtop 0.6: translation gone, pins released
#     at processing, event fd readable; A keeps DMAing; detach, re-attach
#  12 IOMMU (strict), attach_any_driver=1, the kernel's nvme driver: bus
#     mastering on close (kept under a kernel driver, cleared when two
#     processes close at once), unbind during a close's unpinning
#     (vtop_review_test)
# 3, 4, 6, 8 and 9 boot with iommu.strict=1: ATTACH refuses lazy domains.
# 3 and 4 are skipped (exit 4) while the module lacks VTOP_FEATURE_ATTACH,
# 5 and 6 while libvtop has no invalidation events.

NVME_BIN := $(BUILD)/bin/vtop-nvme
NVME_DETACH_BIN := $(BUILD)/bin/vtop-nvme-detach
NVME_ATTACH_BIN := $(BUILD)/bin/vtop-nvme-attach
NVME_SRCS := $(wildcard $(TOP)/examples/nvme/*.c)
NVME_HDRS := $(wildcard $(TOP)/examples/nvme/*.h)
NVME_CFLAGS := -std=c11 -Wall -Wextra -Werror -O2 -g -I$(TOP)/include
NVME_KERNELS ?= 6.1 6.12
NVME_SCENARIOS ?= 1 2 3 4 5 6 7 8 9 10 11 12

.PHONY: nvme-example nvme-check
all: nvme-example
GUEST_BINS_TARGETS += nvme-example
CHECK_NVME := nvme-check

nvme-example: lib
	$(MAKE) -C $(TOP) $(NVME_BIN) $(NVME_DETACH_BIN) $(NVME_ATTACH_BIN)

$(NVME_BIN): $(NVME_SRCS) $(NVME_HDRS) $(TOP)/include/vtop.h \
		$(TOP)/include/uapi/linux/vtop.h \
		$(BUILD)/lib/libvtop.so.$(LIBVTOP_SOVERSION)
	@mkdir -p $(@D)
	$(CC) $(NVME_CFLAGS) -o $@ $(NVME_SRCS) -L$(BUILD)/lib -lvtop \
		-Wl,-rpath,'$$ORIGIN/../lib'

$(NVME_DETACH_BIN): $(TOP)/selftests/nvme/detach.c $(TOP)/selftests/nvme/check.h \
		$(TOP)/include/uapi/linux/vtop.h
	@mkdir -p $(@D)
	$(CC) $(NVME_CFLAGS) -o $@ $<

$(NVME_ATTACH_BIN): $(TOP)/selftests/nvme/attach.c $(TOP)/selftests/nvme/check.h \
		$(TOP)/include/uapi/linux/vtop.h
	@mkdir -p $(@D)
	$(CC) $(NVME_CFLAGS) -pthread -o $@ $<

nvme-check:
	$(TOP)/scripts/deps.sh rig $(addprefix k,$(NVME_KERNELS))
	$(TOP)/selftests/nvme/check.sh --kernels "$(NVME_KERNELS)" \
		--scenarios "$(NVME_SCENARIOS)"
