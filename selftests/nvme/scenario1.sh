#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Scenario 1, no IOMMU, physical addresses: Identify and the write/read
# round trip pass for scattered 4 KiB pages, a buffer across a 2 MiB
# boundary and hugetlb memory, and every DMA address libvtop gave equals the
# physical address /proc/self/pagemap reports.
. "$(dirname "$0")/common.sh"

[ -e /sys/class/iommu/dmar0 ] && fail "an IOMMU is present; this scenario is for a guest without one"
set -- $(pins)
run_nvme --print-addrs
[ "$rc" = 0 ] || fail "vtop-nvme failed (exit $rc)"
grep -q '^Identify Controller: model "QEMU NVMe Ctrl"' "$out" ||
	fail "no Identify Controller output"
grep -q '^Identify Namespace 1: ' "$out" || fail "no Identify Namespace output"
n=$(grep -c 'read back into the other buffer: [0-9]* bytes verified' "$out")
[ "$n" = 3 ] || fail "$n of 3 buffer kinds verified"
grep -q 'IOVA != phys' "$out" &&
	fail "a DMA address differs from the page's physical address"
grep -q 'phys 0x' "$out" || fail "no pagemap comparison was printed"
check_pins_balanced "$1" "$2"
finish "scenario 1 (no IOMMU, physical mode)"
