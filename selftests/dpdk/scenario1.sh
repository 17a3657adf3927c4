#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Scenario 1, physical addresses (the NICs' IOMMU groups set to identity:
# untranslated, as without an IOMMU): port 0 sends 256 numbered frames,
# port 1 receives them, with every mbuf in 4 KiB, THP or hugetlb memory
# registered with libvtop and given to DPDK with libvtop's addresses. All
# frames must arrive byte-exact and in order, every mbuf must be in the
# vtop memory with libvtop's address, and no pin may be left.
# shellcheck source=selftests/dpdk/common.sh disable=SC2046,SC2086 # word splitting of $(pins) and $EAL is meant
. "$(dirname "$0")/common.sh"

nics_setup identity || finish "scenario 1 (physical addresses)"
set -- $(pins)
# one process, one run per kind (the EAL's start-up is the slow part)
run_dpdk s1 $EAL -l 0 -a $NIC0 -a $NIC1 -- --mem 4k,thp,hugetlb
[ "$rc" = 0 ] || fail "vtop-dpdk failed (exit $rc)"
expect '^libvtop .*: physical mode$' "libvtop not in physical mode"
expect '^EAL: IOVA mode PA$' "the EAL is not in IOVA-as-PA mode"
for kind in 4k thp hugetlb; do
	expect "^packet memory: $kind, .*table: libvtop's addresses$" "$kind: no packet memory line"
	expect "^result: $kind vtop: PASS$" "$kind: the run did not pass"
done
# the kinds are what they say: libvtop saw 4 KiB pages, then 2 MiB ones
expect '^packet memory: 4k, 8388608 bytes at 0x[0-9a-f]+ \(0 in 2 MiB pages\)' "4k: not on 4 KiB pages"
expect '^packet memory: thp, 8388608 bytes at 0x[0-9a-f]+ \(8388608 in 2 MiB pages\)' "thp: not on transparent huge pages"
expect '^packet memory: hugetlb, 8388608 bytes at 0x[0-9a-f]+ \(8388608 in 2 MiB pages\)' "hugetlb: not on 2 MiB pages"
n=$(grep -c '^rx: all 256 frames arrived byte-exact and in order$' "$out")
[ "$n" = 3 ] || fail "$n of 3 runs got all frames intact"
n=$(grep -c '^mbufs: every one the PMD used is in the vtop memory' "$out")
[ "$n" = 3 ] || fail "$n of 3 runs had every mbuf in the vtop memory"
n=$(grep -c '^IOVA check: 2048 pages, DMA address equals the physical address on 2048, unknown on 0$' "$out")
[ "$n" = 3 ] || fail "$n of 3 runs: libvtop's addresses are not the pages' physical addresses (pagemap)"
expect '^PASS: 3 run\(s\)$' "no PASS line"
# 4 KiB pages touched in a scrambled order: the table must really be per
# page (many segments), or the test proves little
n=$(sed -n 's/^packet memory: 4k, .* \([0-9]*\) DMA segment(s) from libvtop.*/\1/p' "$out")
say "4k: ${n:-?} DMA segments for the packet memory"
[ "${n:-0}" -gt 100 ] || fail "4k: only ${n:-?} DMA segments: the pages are not scattered"
check_pins_balanced "$1" "$2"
finish "scenario 1 (physical addresses)"
