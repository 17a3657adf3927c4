#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Scenario 7, IOMMU on (Debian's default lazy invalidation), attached-mode
# hardening (issue 11), all on /dev/vtop directly (vtop-nvme-attach):
#   lazy    the controller's group is DMA-FQ: ATTACH fails with EOPNOTSUPP
#   strict  the group switched to "DMA": ATTACH works
#   mask    dma_mask_bits restored after a failed ATTACH, DETACH, close
#   race    PIN/UNPIN against DETACH: with dma_unmap_sg_attrs() and
#           DETACH's return value traced (kprobes), no DETACH succeeds
#           while an UNPIN is still unmapping
#   vfio    bound to vfio-pci: ATTACH fails with EPERM; an ATTACH stuck
#           behind vfio-pci's unbind (waiting for a VFIO fd) dies on SIGKILL
#   unbind  uio_pci_generic unbound with live pins: revoked (events, PIN
#           ENODEV, UNPIN, close), bound again, ATTACH again
#   remove  sysfs remove with live pins: revoked; rescan, ATTACH again;
#           and the race once more with the device removed right after
#           the first successful DETACH (meant for the KASAN kernel too)
# and no IOMMU fault, no splat (run.sh), pins balanced.
. "$(dirname "$0")/common.sh"

T=/sys/kernel/tracing

require_iommu
attach_setup "scenario 7"

set_type() {
	unbind
	echo "$1" >"/sys/kernel/iommu_groups/$(group)/type" ||
		fail "cannot set the IOMMU group type to $1"
	say "IOMMU group $(group) of $bdf: type $(cat "$dev/iommu_group/type")"
}

set -- $(pins)
p0=$1 p1=$2

bind uio_pci_generic
t=$(cat "$dev/iommu_group/type")
[ "$t" = DMA-FQ ] || fail "the guest's default IOMMU domain is $t, not DMA-FQ (lazy)"
run expect EOPNOTSUPP

set_type DMA
bind uio_pci_generic
run expect 0
run mask

# The race, traced.
[ -e $T/kprobe_events ] || mount -t tracefs nodev $T
echo 0 >$T/tracing_on
echo >$T/trace
echo 'p:vtop7/unmap_in dma_unmap_sg_attrs' >>$T/kprobe_events &&
	echo 'r:vtop7/unmap_out dma_unmap_sg_attrs' >>$T/kprobe_events &&
	echo 'r:vtop7/detach_ret vtop:vtop_ioctl_detach ret=$retval:s64' >>$T/kprobe_events ||
	fail "cannot set up the kprobes"
# Only successful DETACHes: the failing ones would overrun the buffer.
echo 'ret == 0' >$T/events/vtop7/detach_ret/filter
echo 4096 >$T/buffer_size_kb
echo 1 >$T/events/vtop7/enable
echo 1 >$T/tracing_on
run race 40
echo 0 >$T/tracing_on
set -- $(awk '/vtop-unpinner-[0-9]+ .* unmap_in:/ { u = 1; n++ }
	/vtop-unpinner-[0-9]+ .* unmap_out:/ { u = 0 }
	/ detach_ret:.* ret=0$/ { ok++; if (u) bad++ }
	END { print n + 0, ok + 0, bad + 0 }' $T/trace)
say "race trace: $1 unmaps by UNPIN, $2 successful DETACHes, $3 of them during an unmap"
[ "$1" -gt 0 ] || fail "race: no unmap was traced"
[ "$2" -gt 0 ] || fail "race: no DETACH succeeded"
[ "$3" = 0 ] || fail "race: $3 DETACH(es) succeeded while an UNPIN was still unmapping"
# The kprobes stay until power-off: every text patch is a chance for TCG
# to trip over a stale int3 (seen once when they were removed here).

# A device VFIO can own is refused.
if modprobe vfio-pci 2>/dev/null; then
	# A guest kernel without interrupt remapping (the debug kernel) needs
	# this for a VFIO container; this guest runs nothing else.
	p=/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts
	[ -w $p ] && echo Y >$p
	bind vfio-pci
	run expect EPERM
	run kill
else
	fail "no vfio-pci module in the guest"
fi
bind uio_pci_generic

run revoke unbind
bind uio_pci_generic
run expect 0

run revoke remove
[ -e "$dev" ] && fail "$bdf still present after remove"
echo 1 >/sys/bus/pci/rescan
[ -e "$dev" ] || fail "$bdf did not come back after rescan"
set_type DMA
bind uio_pci_generic
run expect 0

# The race once more, the device removed right after the first DETACH
# that succeeds (KASAN would see an unmap still to come in the debug lane).
run race-remove 1000
[ -e "$dev" ] && fail "$bdf still present after remove"
echo 1 >/sys/bus/pci/rescan
set_type DMA
bind uio_pci_generic
run expect 0

faults=$(dmar_faults)
[ -z "$faults" ] || fail "IOMMU faults: $faults"
check_pins_balanced "$p0" "$p1"
finish "scenario 7 (IOMMU, attached-mode hardening)"
