#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Scenario 4, IOMMU on, attached mode: however the memory is let go once the
# controller is stopped, nothing stays pinned and the device never touches
# an unmapped IOVA:
#   unregister  every region unregistered (unmap, unpin), then
#               vtop_env_fini() detaches and closes
#   fini        vtop_env_fini() with every region still registered and mapped
#   exit        the process exits with everything registered: closing the
#               attached fd unmaps and unpins it
# then vtop-nvme-detach drives /dev/vtop directly: DETACH with live
# mappings is refused and changes nothing, DETACH after the unpins works,
# and an attached fd is closed with live mappings.
. "$(dirname "$0")/common.sh"

require_iommu
for mode in unregister fini exit; do
	set -- $(pins)
	run_nvme --attach --teardown "$mode" --buffers 4k,hugetlb
	[ "$rc" = "$KSFT_SKIP" ] && skip "the vtop module has no ATTACH (VTOP_FEATURE_ATTACH): IOVA mode not testable"
	[ "$rc" = 0 ] || fail "teardown $mode: vtop-nvme failed (exit $rc)"
	grep -q "^teardown: " "$out" || fail "teardown $mode: no teardown line"
	grep -Eq '^vtop before teardown: [1-9][0-9]* pins' "$out" ||
		fail "teardown $mode: nothing was pinned before the teardown"
	check_pins_balanced "$1" "$2"
done

set -- $(pins)
bdf=$(nvme_bdf)
say "running: vtop-nvme-detach $bdf"
rc=0
/vtop/bin/vtop-nvme-detach "$bdf" || rc=$?
[ "$rc" = "$KSFT_SKIP" ] && skip "the vtop module has no ATTACH (VTOP_FEATURE_ATTACH)"
[ "$rc" = 0 ] || fail "vtop-nvme-detach failed (exit $rc)"
check_pins_balanced "$1" "$2"

faults=$(dmar_faults)
[ -z "$faults" ] || fail "IOMMU faults: $faults"
finish "scenario 4 (IOMMU, attached mode teardown)"
