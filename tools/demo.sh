#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# vtop demo, run inside the guest by `make demo`: pin buffers of each kind and
# show their segments and DMA addresses (checked against /proc/self/pagemap),
# register memory through libvtop, and, when the guest has an NVMe
# controller, prove the addresses with real DMA.
set -e
PATH=/vtop/bin:$PATH

step() {
	echo
	echo "=== $* ==="
}

step "module and fd information"
vtop info

for kind in 4k thp hugetlb; do
	step "pin a 4 MiB $kind buffer"
	vtop pin --kind "$kind" --size 4194304 --check
done

if [ -x /vtop/bin/vtop-example-register ]; then
	step "libvtop: register a buffer, consumer map notified, vtop_vtophys"
	vtop-example-register
fi

if [ -x /vtop/bin/vtop-nvme ] && grep -qs 0x010802 /sys/bus/pci/devices/*/class; then
	step "user-space NVMe driver: identify and a DMA round trip"
	vtop-nvme --print-addrs
fi
