# SPDX-License-Identifier: GPL-2.0-only
#
# Helpers for the NVMe guest scenarios (busybox sh, sourced). Each scenario
# exits 0 (pass), 1 (fail) or 4 (skip, kselftest's KSFT_SKIP).

PATH=/vtop/bin:$PATH
NVME=/vtop/bin/vtop-nvme
KSFT_SKIP=4
fails=0

say() { echo "nvme-scenario: $*"; }
fail() { say "FAIL: $*"; fails=$((fails + 1)); }
skip() { say "SKIP: $*"; exit $KSFT_SKIP; }

# The one NVMe controller of the rig (class 0x010802), for messages.
nvme_bdf() {
	grep -l '^0x010802$' /sys/bus/pci/devices/*/class 2>/dev/null |
		head -n 1 | sed 's|/sys/bus/pci/devices/||; s|/class||'
}

# "acquired released" FOLL_PIN page counts from /proc/vmstat, after
# folding the per-CPU deltas into the global counters (otherwise they lag
# by up to the per-CPU threshold).
pins() {
	echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null
	awk '$1 == "nr_foll_pin_acquired" { a = $2 }
	     $1 == "nr_foll_pin_released" { r = $2 }
	     END { print a + 0, r + 0 }' /proc/vmstat
}

# Kernel log lines reporting an IOMMU (DMAR) fault.
dmar_faults() {
	dmesg | grep -E 'DMAR: DRHD: handling fault|DMAR: \[DMA (Read|Write)|DMAR:.*fault addr' || true
}

# Run vtop-nvme with a log; sets $rc and keeps the output in $out.
run_nvme() {
	out=/tmp/vtop-nvme.$$.log
	say "running: vtop-nvme $*"
	rc=0
	"$NVME" "$@" >"$out" 2>&1 || rc=$?
	sed 's/^/    /' "$out"
	say "vtop-nvme exited with $rc"
}

# Fail unless the pins taken since "$1 $2" (acquired released) were all
# released again, and unless some were taken at all (the check must be able
# to fail).
check_pins_balanced() {
	set -- "$1" "$2" $(pins)
	acq=$(($3 - $1))
	rel=$(($4 - $2))
	say "FOLL_PIN pages since the start: acquired $acq, released $rel"
	[ "$acq" -gt 0 ] || fail "no pages were pinned: the run did not use /dev/vtop"
	[ "$acq" -eq "$rel" ] || fail "$((acq - rel)) pinned pages were not released"
}

# The rig's IOMMU must really translate for the controller.
require_iommu() {
	bdf=$(nvme_bdf)
	[ -n "$bdf" ] || { fail "no NVMe controller in the guest"; return; }
	ls /sys/class/iommu/ 2>/dev/null | grep -q . ||
		fail "no IOMMU in /sys/class/iommu (rig without --iommu?)"
	[ -e "/sys/bus/pci/devices/$bdf/iommu_group" ] ||
		fail "$bdf is in no IOMMU group"
	if [ -r "/sys/bus/pci/devices/$bdf/iommu_group/type" ]; then
		t=$(cat "/sys/bus/pci/devices/$bdf/iommu_group/type")
		say "IOMMU group of $bdf: type $t"
		case "$t" in
		identity) fail "the IOMMU domain is identity (passthrough)" ;;
		esac
	fi
}

finish() {
	if [ "$fails" -gt 0 ]; then
		say "$1: FAIL ($fails problem(s))"
		exit 1
	fi
	say "$1: PASS"
	exit 0
}

# Scenarios 5 and 6, the proof by DMA of invalidation events: run
# vtop-nvme --remap (extra arguments: "$@", e.g. --attach --expect-iova)
# three ways and
# check each. Every kind's buffer is written, munmap()ed while registered,
# replaced at the same address by new memory with another pattern and
# written again:
#   1. events read from libvtop's event fd (poll, vtop_mem_process_events),
#      4k, THP and hugetlb: the NEW pattern must come back for each;
#   2. events processed implicitly by vtop_mem_register() of the new
#      memory, 4k and hugetlb: the NEW pattern again;
#   3. events off (vtop-nvme's test-only --remap-no-events: nothing
#      processed, the inline lookup's stale translation used): the OLD
#      pattern must come back for all three kinds and vtop-nvme must fail,
#      so this check is shown to catch a stale translation.
remap_runs() {
	run_nvme --remap --print-addrs "$@"
	[ "$rc" = "$KSFT_SKIP" ] && skip "vtop-nvme --remap: no invalidation events (or no ATTACH) in this module/libvtop"
	[ "$rc" = 0 ] || fail "remap with events from the event fd: vtop-nvme failed (exit $rc)"
	n=$(grep -c 'read back into the other buffer: [0-9]* bytes, the NEW pattern' "$out")
	[ "$n" = 3 ] || fail "remap with events from the event fd: $n of 3 buffer kinds read back the NEW data"
	n=$(grep -c 'vtop_mem_process_events(): 1 registration invalidated' "$out")
	[ "$n" = 3 ] || fail "vtop_mem_process_events() reported the invalidation for $n of 3 kinds"
	n=$(grep -c 'event fd readable when munmap() returned' "$out")
	[ "$n" = 3 ] || fail "the event fd was readable right after $n of 3 munmaps"
	grep -q '^PASS: remap: 3 buffer kinds' "$out" || fail "no PASS line from vtop-nvme --remap"
	case " $* " in
	*" --attach "*)
		grep -q '^IOVA check: [1-9][0-9]* pages, DMA address equals the physical address on 0, unknown on 0$' "$out" ||
			fail "some DMA addresses (old or new memory) are not distinct IOVAs" ;;
	*)
		grep -q 'IOVA != phys' "$out" &&
			fail "physical mode: a DMA address differs from the page's physical address" ;;
	esac

	run_nvme --remap --remap-events register --buffers 4k,hugetlb "$@"
	[ "$rc" = 0 ] || fail "remap with events processed by vtop_mem_register(): vtop-nvme failed (exit $rc)"
	n=$(grep -c 'read back into the other buffer: [0-9]* bytes, the NEW pattern' "$out")
	[ "$n" = 2 ] || fail "remap with events processed by vtop_mem_register(): $n of 2 buffer kinds read back the NEW data"
	n=$(grep -c 'it processed the pending event itself' "$out")
	[ "$n" = 2 ] || fail "vtop_mem_register() processed the event for $n of 2 kinds"

	say "negative control: the same remap with events off must read back the OLD data"
	run_nvme --remap --remap-no-events "$@"
	[ "$rc" = 1 ] || fail "events off: vtop-nvme did not fail (exit $rc): the remap check cannot see a stale translation"
	n=$(grep -c 'the OLD pattern: the device read the unmapped pages (stale translation)' "$out")
	[ "$n" = 3 ] || fail "events off: $n of 3 buffer kinds read back the OLD data"
	grep -q '^FAIL: remap: 3 of 3 buffer kinds read back the OLD data' "$out" ||
		fail "events off: no FAIL line naming the stale translation"
	grep -q 'controller shut down and disabled' "$out" ||
		fail "events off: the controller was not stopped"
}

# The attached-mode scenarios (7, 8), on the one controller with
# vtop-nvme-attach: sets $A, $bdf and $dev (or finishes when there is no
# controller) and loads uio_pci_generic.
attach_setup() {
	A=/vtop/bin/vtop-nvme-attach
	bdf=$(nvme_bdf)
	[ -n "$bdf" ] || finish "$1"
	dev=/sys/bus/pci/devices/$bdf
	modprobe uio_pci_generic
}

# The controller's IOMMU group number.
group() { basename "$(readlink "$dev/iommu_group")"; }

unbind() {
	if [ -e "$dev/driver" ]; then echo "$bdf" >"$dev/driver/unbind"; fi
}

# Bind the controller to driver $1 (driver_override), failing if it did not.
bind() {
	unbind
	echo "$1" >"$dev/driver_override"
	echo "$bdf" >/sys/bus/pci/drivers_probe
	d=$(basename "$(readlink "$dev/driver")")
	[ "$d" = "$1" ] || fail "$bdf bound to '$d', not $1"
}

# vtop-nvme-attach CASE [ARG] on the controller: fail unless it exits 0,
# skip the scenario if the module has no ATTACH.
run() {
	say "running: vtop-nvme-attach $*"
	rc=0
	$A "$1" "$bdf" ${2:+"$2"} || rc=$?
	[ "$rc" = "$KSFT_SKIP" ] && skip "the vtop module has no ATTACH"
	[ "$rc" = 0 ] || fail "vtop-nvme-attach $*: exit $rc"
}
