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
