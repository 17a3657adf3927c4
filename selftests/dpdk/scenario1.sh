#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Scenario 1, physical addresses (the NICs' IOMMU groups set to identity:
# untranslated, as without an IOMMU): port 0 sends 256 numbered frames,
# port 1 receives them, with every mbuf in 4 KiB, THP or hugetlb memory
# registered with libvtop and given to DPDK with libvtop's addresses. All
# frames must arrive byte-exact and in order, every mbuf must be in the
# vtop memory with libvtop's address, and no pin may be left.
. "$(dirname "$0")/common.sh"

nics_setup identity || finish "scenario 1 (physical addresses)"
set -- $(pins)
for kind in 4k thp hugetlb; do
	run_dpdk s1-$kind $EAL -l 0 -a $NIC0 -a $NIC1 -- --mem $kind
	[ "$rc" = 0 ] || fail "$kind: vtop-dpdk failed (exit $rc)"
	expect '^libvtop .*: physical mode$' "$kind: libvtop not in physical mode"
	expect '^EAL: IOVA mode PA$' "$kind: the EAL is not in IOVA-as-PA mode"
	expect "^packet memory: $kind, .*table: libvtop's addresses$" "$kind: no packet memory line"
	expect '^rx: all 256 frames arrived byte-exact and in order$' "$kind: not all frames arrived intact"
	expect '^mbufs: every one the PMD used is in the vtop memory' "$kind: an mbuf outside the vtop memory"
	expect '^PASS$' "$kind: no PASS line"
	if [ $kind = 4k ]; then
		# 4 KiB pages touched in a scrambled order: the table must
		# really be per page (many segments), or the test proves little
		n=$(sed -n 's/.* \([0-9]*\) DMA segment(s) from libvtop.*/\1/p' "$out")
		say "4k: $n DMA segments for the packet memory"
		[ "${n:-0}" -gt 100 ] || fail "4k: only ${n:-?} DMA segments: the pages are not scattered"
	fi
done
check_pins_balanced "$1" "$2"
finish "scenario 1 (physical addresses)"
