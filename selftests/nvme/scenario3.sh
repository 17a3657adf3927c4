#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Scenario 3, IOMMU on, attached (IOVA) mode: libvtop attaches its fd to the
# controller, every registration is mapped for it through the DMA API, and
# the round trip passes for all three buffer kinds with addresses that are
# IOVAs, none equal to the page's physical address (/proc/self/pagemap).
. "$(dirname "$0")/common.sh"

require_iommu
set -- $(pins)
run_nvme --attach --expect-iova --print-addrs
[ "$rc" = "$KSFT_SKIP" ] && skip "the vtop module has no ATTACH (VTOP_FEATURE_ATTACH): IOVA mode not testable"
[ "$rc" = 0 ] || fail "vtop-nvme --attach failed (exit $rc)"
grep -q 'IOVA mode, addresses are IOVAs of' "$out" ||
	fail "libvtop did not report IOVA mode"
n=$(grep -c 'read back into the other buffer: [0-9]* bytes verified' "$out")
[ "$n" = 3 ] || fail "$n of 3 buffer kinds verified"
grep -q '^IOVA check: [1-9][0-9]* pages, DMA address equals the physical address on 0, unknown on 0$' "$out" ||
	fail "some DMA addresses are not distinct IOVAs"
faults=$(dmar_faults)
[ -z "$faults" ] || fail "IOMMU faults: $faults"
check_pins_balanced "$1" "$2"
finish "scenario 3 (IOMMU, attached mode)"
