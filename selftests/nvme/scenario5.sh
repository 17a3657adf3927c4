#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Scenario 5, no IOMMU, physical addresses: the proof by DMA of invalidation
# events (issue 10). A registered buffer (4 KiB pages, a THP, a hugetlb
# page) is written to the controller, munmap()ed without being
# unregistered, replaced at the same address by new memory (MAP_FIXED)
# holding another pattern, registered again after libvtop processed the
# event, and written again: the controller must return the NEW data, and
# every new DMA address must be the new page's physical address, none the
# old frame's. With events off (test-only flag) the same run must read back
# the OLD data and fail. See remap_runs in common.sh.
. "$(dirname "$0")/common.sh"

[ -e /sys/class/iommu/dmar0 ] && fail "an IOMMU is present; this scenario is for a guest without one"
set -- $(pins)
pins0="$1 $2"
set --
remap_runs
check_pins_balanced $pins0
finish "scenario 5 (no IOMMU, physical mode: munmap + MAP_FIXED remap, the device reads the new memory; the old data with events off)"
