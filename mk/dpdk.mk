# SPDX-License-Identifier: GPL-2.0-only
#
# DPDK packet buffers on ordinary 4 KiB memory (issue 15): a DPDK 22.11
# application (Debian's libdpdk-dev, pkg-config libdpdk) whose mbufs live in
# vtop-registered memory at libvtop's addresses, moved by DPDK's e1000 PMD
# between two QEMU e1000 NICs on one hub.
#
#   make dpdk-example    build/dpdk/vtop-dpdk (links libvtop and DPDK)
#   make dpdk-check      the four scenarios on 6.1 and 6.12, one guest boot
#                        per kernel (selftests/dpdk/check.sh --help)
#   make dpdk-check DPDK_KERNELS=6.12 DPDK_SCENARIOS="1 3"
#
# Scenarios (selftests/dpdk/scenario*.sh, all in one boot with an IOMMU):
#   1 physical addresses (the NICs' IOMMU groups identity): 256 frames
#     intact from 4 KiB, THP and hugetlb packet memory
#   2 the same with a wrong IOVA table (virtual addresses; each page given
#     the previous page's address): vtop-dpdk must fail
#   3 IOMMU, strict DMA domains, libvtop attached mode, one process: port
#     0 on NIC 0 (the environment's device), port 1 on NIC 1
#     (vtop_dev_attach()), each port's packet memory and descriptor rings
#     in a region of its own at its own device's IOVAs; no DMAR fault;
#     control: port 1's heap from NIC 0's IOVAs must fail
#   4 unregister with the ports stopped, then teardown: pins balanced
# Then the frames of port 0, recorded by QEMU's filter-dump, are read back
# on the host with tcpdump.
#
# The binary is not one of the guest-bins (GUEST_BINS_TARGETS): it would
# pull libdpdk-dev into every build and ~20 DPDK libraries into every
# guest; dpdk-check carries it (run.sh --add) into its own guests only.

DPDK_BIN := $(BUILD)/dpdk/vtop-dpdk
DPDK_SRCS := $(wildcard $(TOP)/examples/dpdk/*.c)
DPDK_HDRS := $(wildcard $(TOP)/examples/dpdk/*.h)
DPDK_CFLAGS := -std=c11 -Wall -Wextra -Werror -O2 -g -I$(TOP)/include
DPDK_KERNELS ?= 6.1 6.12
DPDK_SCENARIOS ?= 1 2 3 4

.PHONY: dpdk-example dpdk-check
CHECK_DPDK := dpdk-check

# The PMD, the PCI bus and the ring mempool driver are linked directly
# (no plugin directory in the guest); nothing calls into them, hence
# --no-as-needed. libgcc_s: rte_eal_cleanup() cancels threads, and
# pthread_cancel() dlopen()s it.
DPDK_PMDS := -Wl,--no-as-needed -lrte_net_e1000 -lrte_bus_pci \
	     -lrte_mempool_ring -lgcc_s -Wl,--as-needed

dpdk-example: deps-dpdk lib
	$(MAKE) -C $(TOP) $(DPDK_BIN)

$(DPDK_BIN): $(DPDK_SRCS) $(DPDK_HDRS) $(TOP)/include/vtop.h \
		$(TOP)/include/uapi/linux/vtop.h \
		$(BUILD)/lib/libvtop.so.$(LIBVTOP_SOVERSION)
	@mkdir -p $(@D)
	$(CC) $(DPDK_CFLAGS) $(shell pkg-config --cflags libdpdk) -o $@ \
		$(DPDK_SRCS) -L$(BUILD)/lib -lvtop \
		$(shell pkg-config --libs libdpdk) $(DPDK_PMDS) \
		-Wl,-rpath,'$$ORIGIN/../lib'

dpdk-check:
	$(TOP)/scripts/deps.sh dpdk $(addprefix k,$(DPDK_KERNELS))
	$(MAKE) dpdk-example
	$(TOP)/selftests/dpdk/check.sh --kernels "$(DPDK_KERNELS)" \
		--scenarios "$(DPDK_SCENARIOS)"
