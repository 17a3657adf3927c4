#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Scenario 9, IOMMU on and strict, the controller behind a hot-pluggable
# PCIe root port (run.sh --nvme-hotplug): hot-unplug with live pins, by
# QEMU's device_del through the monitor (the rig sends it when the guest
# asks on the console). vtop-nvme-attach hotunplug: the pins are revoked
# before the device goes (REVOKED records, INFO status), PIN fails with
# ENODEV, UNPIN, close and DETACH succeed; then no IOMMU fault, no splat
# (run.sh), pins balanced.
. "$(dirname "$0")/common.sh"

A=/vtop/bin/vtop-nvme-attach

require_iommu
bdf=$(nvme_bdf)
[ -n "$bdf" ] || finish "scenario 9"
dev=/sys/bus/pci/devices/$bdf
modprobe uio_pci_generic
# The root port's slot is registered by a hot-plug driver (pciehp or
# acpiphp); without one (the debug kernel's config) device_del only
# presses a button nobody hears.
[ -n "$(ls -A /sys/bus/pci/slots 2>/dev/null)" ] ||
	skip "no PCI hot-plug slot: this kernel has no pciehp/acpiphp"

set -- $(pins)
p0=$1 p1=$2

if [ -e "$dev/driver" ]; then echo "$bdf" >"$dev/driver/unbind"; fi
echo uio_pci_generic >"$dev/driver_override"
echo "$bdf" >/sys/bus/pci/drivers_probe
d=$(basename "$(readlink "$dev/driver")")
[ "$d" = uio_pci_generic ] || fail "$bdf bound to '$d', not uio_pci_generic"

say "running: vtop-nvme-attach hotunplug $bdf"
rc=0
$A hotunplug "$bdf" || rc=$?
[ "$rc" = "$KSFT_SKIP" ] && skip "the vtop module has no ATTACH"
[ "$rc" = 0 ] || fail "vtop-nvme-attach hotunplug: exit $rc"
[ -e "$dev" ] && fail "$bdf still present after device_del"

faults=$(dmar_faults)
[ -z "$faults" ] || fail "IOMMU faults: $faults"
check_pins_balanced "$p0" "$p1"
finish "scenario 9 (IOMMU, hot-unplug by QEMU device_del with live pins)"
