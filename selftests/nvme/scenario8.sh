#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Scenario 8, IOMMU on and strict (iommu.strict=1), vtop loaded with
# attach_any_driver=1: the attached-mode defects a review of issue 11's
# fixes found, all on /dev/vtop directly (vtop-nvme-attach):
#   anydrv    even with attach_any_driver=1, a device with no driver and a
#             device bound to vfio-pci (driver-managed DMA) are refused
#             with EPERM
#   bme       closing an attached fd with live pins clears the device's Bus
#             Master Enable bit; without pins, or with another fd still
#             attached, it is left alone
#   inflight  a PIN in flight while the device is unbound fails with ENODEV
#   early     a PIN on a revoked fd fails before pinning anything; INFO's
#             VTOP_STATUS_REVOKED until DETACH
#   revoke-fd the revocation is reported once per fd (a record with handle
#             0), also to an fd without pins and one whose pin was
#             invalidated before
#   fq        the group switched from DMA to DMA-FQ after ATTACH (the
#             kernel allows it with the driver bound): PIN fails with
#             EOPNOTSUPP, the earlier pin unpins cleanly
# and no IOMMU fault, no splat (run.sh), pins balanced.
. "$(dirname "$0")/common.sh"

require_iommu
attach_setup "scenario 8"

set -- $(pins)
p0=$1 p1=$2

any=$(cat /sys/module/vtop/parameters/attach_any_driver)
[ "$any" = Y ] || fail "vtop was loaded with attach_any_driver=$any, not Y"
t=$(cat "$dev/iommu_group/type")
[ "$t" = DMA ] || fail "the IOMMU group of $bdf is $t, not DMA (strict)"

unbind
echo >"$dev/driver_override"
run expect EPERM
if modprobe vfio-pci 2>/dev/null; then
	bind vfio-pci
	run expect EPERM
else
	fail "no vfio-pci module in the guest"
fi

bind uio_pci_generic
run bme
run inflight
bind uio_pci_generic
run early
bind uio_pci_generic
run revoke-fd
bind uio_pci_generic
run fq
say "IOMMU group $(group) of $bdf: type $(cat "$dev/iommu_group/type")"

faults=$(dmar_faults)
[ -z "$faults" ] || fail "IOMMU faults: $faults"
check_pins_balanced "$p0" "$p1"
finish "scenario 8 (IOMMU, attached-mode review fixes)"
