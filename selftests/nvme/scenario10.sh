#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Scenario 10, IOMMU on (strict), two NVMe controllers (rig --nvmes 2), each
# in its own IOMMU domain, one process, one buffer registered once
# (libvtop 0.5, several devices per process; vtop-nvme --multi, see
# examples/nvme/multi.c). Controller A is the environment's device,
# controller B is attached with vtop_dev_attach() while memory is
# registered. A READs a pattern from its namespace into the buffer (DMA
# write through A's IOVAs); B WRITEs the buffer to its namespace and READs
# it back (through B's IOVAs); the data must match, every page's A and B
# addresses must differ, and no DMAR fault may occur. RLIMIT_MEMLOCK
# (CAP_IPC_LOCK dropped): a registration is charged once per descriptor
# (2L with B attached); with room for 1.5L it fails on B's pin and leaves
# nothing (the environment's pin undone). Negative control
# (--wrong-iova): B is given A's IOVAs, and the check must fail (the
# WRITE fails with a DMA error, or B wrote other memory).
. "$(dirname "$0")/common.sh"

require_iommu
nctrl=$(grep -l '^0x010802$' /sys/bus/pci/devices/*/class 2>/dev/null | wc -l)
[ "$nctrl" -ge 2 ] || fail "$nctrl NVMe controller(s) in the guest, 2 needed (rig without --nvmes 2?)"
groups=$(for c in $(grep -l '^0x010802$' /sys/bus/pci/devices/*/class); do
	readlink "$(dirname "$c")/iommu_group"; done | sort -u | wc -l)
[ "$groups" -ge 2 ] || fail "the controllers share an IOMMU group: one domain, nothing to tell apart"
set -- $(pins)
pins0="$1 $2"

run_nvme --multi
[ "$rc" = "$KSFT_SKIP" ] && skip "vtop-nvme --multi: no ATTACH in this module, or fewer than two controllers"
[ "$rc" = 0 ] || fail "vtop-nvme --multi failed (exit $rc)"
grep -q 'controller B attached with memory registered' "$out" ||
	fail "vtop_dev_attach() of controller B did not succeed"
grep -q '^IOVA check: [1-9][0-9]* pages, A.s address equals B.s on 0, missing on 0$' "$out" ||
	fail "the buffer's addresses for A and B are not all distinct and present"
grep -q 'controller A READ the pattern from its namespace into the buffer: [0-9]* bytes verified' "$out" ||
	fail "controller A did not read the pattern into the buffer"
grep -q 'controller B WROTE the buffer to its namespace and READ it back: [0-9]* bytes verified' "$out" ||
	fail "controller B did not write and read back the buffer"
grep -q 'memlock: .* = -12 (libvtop: register 0x[0-9a-f]*+0x[0-9a-f]*: device [0-9a-f:.]*: pin .*RLIMIT_MEMLOCK' "$out" ||
	fail "RLIMIT_MEMLOCK: the second descriptor's pin was not the one refused"
grep -q '^memlock check: PASS' "$out" ||
	fail "RLIMIT_MEMLOCK: a registration is not charged once per descriptor, or a refused one left something behind"
grep -q '^PASS: two controllers' "$out" || fail "no PASS line from vtop-nvme --multi"
faults=$(dmar_faults)
[ -z "$faults" ] || fail "IOMMU faults with each controller on its own IOVAs: $faults"

say "negative control: controller B given controller A's IOVAs must fail the check"
run_nvme --multi --wrong-iova
[ "$rc" = 1 ] || fail "--wrong-iova: vtop-nvme did not fail (exit $rc): the check cannot tell the devices' IOVAs apart"
grep -q 'controller B WROTE the buffer to its namespace and READ it back: [0-9]* bytes verified' "$out" ||
	fail "--wrong-iova: the positive part did not pass first"
grep -q '^FAIL: wrong IOVA: ' "$out" ||
	fail "--wrong-iova: no FAIL line naming the wrong IOVA"
grep -q 'negative control did not fail' "$out" &&
	fail "--wrong-iova: B's DMA with A's IOVAs reached the buffer"
faults=$(dmar_faults)
if [ -n "$faults" ]; then
	say "DMAR faults from the negative control (expected): $(echo "$faults" | head -n 2)"
else
	say "no DMAR fault from the negative control: B's DMA with A's IOVAs reached other memory"
fi
check_pins_balanced $pins0
finish "scenario 10 (IOMMU, two controllers, one registration: each DMAs through its own IOVAs; A's IOVAs with B fail)"
