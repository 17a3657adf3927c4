#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Scenario 3, behind the emulated IOMMU (strict DMA domains), libvtop in
# attached mode, both ports in ONE process (libvtop 0.5, several devices):
# port 0 on NIC 0 (the environment's device, vtop_vtophys()), port 1 on
# NIC 1 (vtop_dev_attach(), vtop_vtophys_dev()). Each NIC has its own IOMMU
# domain, so each port gets a region of its own, registered once (mapped
# for both devices), on a DPDK heap whose IOVA table is that port's
# device's translation, with the port's mbuf pool AND descriptor rings on
# it (the EAL's own hugepage memory has physical addresses, which the
# IOMMU does not map). NIC 1's domain is padded first, so that no page has
# the same IOVA for both devices (checked). All frames must arrive intact,
# every ring and mbuf must be in its port's region with its device's
# address, and the IOMMU must report no fault.
# Then the negative control, in a second process: port 1's heap built from
# NIC 0's IOVAs (none of them an address NIC 1 maps for the process; the
# padding is unpinned, so they are a hole in NIC 1's domain): the frames
# must be lost and vtop-dpdk must fail.
# shellcheck source=selftests/dpdk/common.sh disable=SC2046,SC2086 # word splitting of $(pins) and $EAL is meant
. "$(dirname "$0")/common.sh"

both_attached() {
	[ "$rc" = "$KSFT_SKIP" ] && skip "libvtop cannot attach (module without VTOP_FEATURE_ATTACH)"
	expect '^libvtop .*: IOVA \(attached\) mode, device '"$NIC0"'$' "$1: not attached to $NIC0 (the environment's device)"
	expect '^libvtop: device '"$NIC1"' attached \(vtop_dev_attach\)' "$1: $NIC1 not attached with vtop_dev_attach()"
	expect '^padding: 32 MiB pinned in '"$NIC1"'.s IOMMU domain' "$1: NIC 1's domain not padded"
	expect '^device IOVAs: 4096 pages in both regions, NIC 0.s IOVA equals NIC 1.s on 0, missing on 0$' "$1: the two devices' IOVAs are not distinct"
	expect '^IOVA table of port 0 \(NIC 0\): built from vtop_vtophys\(\) \(NIC 0\)' "$1: port 0's table is not NIC 0's"
	for p in 0 1; do
		expect "^IOVA check of port $p \\(NIC $p\\): 2048 pages, DMA address equals the physical address on 0, unknown on 0\$" "$1: port $p's DMA addresses are not distinct IOVAs"
	done
}

iommus=$(find /sys/class/iommu -mindepth 1 -maxdepth 1 2>/dev/null)
[ -n "$iommus" ] || skip "no IOMMU in this guest (rig without --iommu)"
nics_setup DMA || finish "scenario 3 (IOMMU, attached mode)"
set -- $(pins)
# 4 KiB pages (scenario 1 covers THP and hugetlb; an IOMMU makes any
# registration one IOVA-contiguous stretch anyway)
run_dpdk s3 $EAL -l 0 -a $NIC0 -a $NIC1 -- --attach $NIC0 --attach1 $NIC1 --mem 4k
both_attached "two devices"
[ "$rc" = 0 ] || fail "vtop-dpdk failed (exit $rc)"
expect '^IOVA table of port 1 \(NIC 1\): built from vtop_vtophys_dev\(\) \(NIC 1\)' "port 1's table is not NIC 1's"
for r in p0_q0_tx p0_q0_rx; do
	expect "^ring eth_${r}_ring: .*in the vtop memory of port 0 \\(NIC 0\\)\$" "ring $r is not in port 0's vtop memory"
done
for r in p1_q0_tx p1_q0_rx; do
	expect "^ring eth_${r}_ring: .*in the vtop memory of port 1 \\(NIC 1\\)\$" "ring $r is not in port 1's vtop memory"
done
expect '^rx: all 256 frames arrived byte-exact and in order$' "not all frames arrived intact"
expect '^mbufs: every one the PMD used is in its port.s vtop memory with its device.s address' "an mbuf outside its port's memory or with another device's address"
expect '^result: 4k vtop: PASS$' "the run did not pass"
faults=$(dmar_faults)
[ -z "$faults" ] || fail "IOMMU faults: $faults"

say "negative control: port 1's heap built from NIC 0's IOVAs"
run_dpdk s3-control $EAL -l 0 -a $NIC0 -a $NIC1 -- --attach $NIC0 --attach1 $NIC1 --mem 4k \
	--rx-table nic0 --rx-timeout 3
both_attached "control"
expect '^IOVA table of port 1 \(NIC 1\): built from vtop_vtophys\(\) \(NIC 0\)' "control: port 1's table is not NIC 0's"
expect '^control: port 1.s table has NIC 0.s IOVAs; 0 of 2048 pages are addresses NIC 1 maps' "control: NIC 0's IOVAs reach the process's memory through NIC 1 (the control would prove nothing)"
expect '^control: padding unpinned \(NIC 0.s IOVAs are a hole' "control: the padding was not unpinned"
[ "$rc" = 1 ] || fail "port 1 on NIC 0's IOVAs: vtop-dpdk did not fail (exit $rc)"
expect '^FAIL: rx: [0-9]+ of 256 frames lost$' "port 1 on NIC 0's IOVAs: no frame lost"
grep -q '^rx: all 256 frames arrived' "$out" &&
	fail "port 1 on NIC 0's IOVAs: all frames arrived intact"
expect '^result: 4k nic0: FAIL' "the control's run did not fail"
# the mbuf check tells the devices apart: it sees NIC 0's addresses
n=$(sed -n "s/^control: \([0-9]*\) of port 1's pool's mbufs carry an address other than vtop_vtophys_dev() of NIC 1$/\1/p" "$out")
[ "${n:-0}" -gt 0 ] || fail "control: no mbuf seen with another device's address (${n:-no line})"
# Not required: the guest kernels log no DMAR fault for every blocked
# e1000 descriptor read (they do for the NVMe controller's).
faults=$(dmar_faults)
say "IOMMU faults logged for the control: $(printf '%s' "$faults" | grep -c .)"
check_pins_balanced "$1" "$2"
finish "scenario 3 (IOMMU, attached mode, one process)"
