#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Scenario 6, IOMMU on, attached (IOVA) mode: scenario 5's proof by DMA of
# invalidation events through the IOMMU. The old memory's IOVAs stay mapped
# until libvtop processes the event and unpins it; the new memory gets its
# own mapping. The controller must return the NEW data with events, the OLD
# data with events off, and the kernel log must show no DMAR fault. See
# remap_runs in common.sh.
. "$(dirname "$0")/common.sh"

require_iommu
set -- $(pins)
pins0="$1 $2"
set -- --attach --expect-iova
remap_runs "$@"
grep -q 'IOVA mode, addresses are IOVAs of' "$out" ||
	fail "libvtop did not report IOVA mode"
faults=$(dmar_faults)
[ -z "$faults" ] || fail "IOMMU faults: $faults"
check_pins_balanced $pins0
finish "scenario 6 (IOMMU, attached mode: munmap + MAP_FIXED remap, the device reads the new memory; the old data with events off)"
