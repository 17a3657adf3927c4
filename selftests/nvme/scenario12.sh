#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Scenario 12, IOMMU on and strict, vtop loaded with attach_any_driver=1,
# the kernel's nvme driver in the guest: Bus Master Enable on the close of
# attached fds with live pins (vtop_review_test, a kselftest program):
#   bme_kept_for_kernel_driver           an fd attached to the controller
#                                        while nvme drives it: closing it
#                                        leaves bus mastering on
#   bme_cleared_when_two_close_together  two processes attached through
#                                        uio_pci_generic close at once:
#                                        bus mastering ends up off
. "$(dirname "$0")/common.sh"

require_iommu
bdf=$(nvme_bdf)
[ -n "$bdf" ] || finish "scenario 12"
modprobe uio_pci_generic
[ -d /sys/bus/pci/drivers/nvme ] ||
	say "no nvme driver in this kernel: bme_kept_for_kernel_driver skips"

set -- $(pins)
p0=$1 p1=$2
rc=0
/vtop/tests/vtop_review_test || rc=$?
[ "$rc" = 0 ] || fail "vtop_review_test: exit $rc"
check_pins_balanced "$p0" "$p1"
faults=$(dmar_faults)
[ -z "$faults" ] || say "IOMMU faults (expected from the closes): $faults"
finish "scenario 12 (bus mastering on close)"
