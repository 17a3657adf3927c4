#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Scenario 2, IOMMU on, physical addresses: the controller cannot reach
# physical addresses through the IOMMU, so the transfer must fail, and fail
# cleanly: vtop-nvme detects it (fatal status, error status or time-out),
# stops the controller and exits; the IOMMU reports the blocked DMA. This
# proves the round trip of scenarios 1 and 3 can fail.
. "$(dirname "$0")/common.sh"

require_iommu
set -- $(pins)
run_nvme --expect-fail --timeout-ms 3000
[ "$rc" = 0 ] || fail "vtop-nvme --expect-fail did not detect a failure (exit $rc)"
grep -q '^PASS (expected failure): ' "$out" ||
	fail "no detected failure was reported"
grep -q 'controller shut down and disabled' "$out" ||
	fail "the controller was not stopped after the failure"
faults=$(dmar_faults)
if [ -n "$faults" ]; then
	say "the IOMMU blocked the DMA:"
	echo "$faults" | head -n 4 | sed 's/^/    /'
else
	fail "the kernel log shows no DMAR fault: the failure was not the IOMMU"
fi
check_pins_balanced "$1" "$2"
finish "scenario 2 (IOMMU, physical mode fails cleanly)"
