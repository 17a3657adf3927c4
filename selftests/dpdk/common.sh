# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=sh disable=SC2046,SC2086 # word splitting of "$(pins)" is meant
#
# Helpers for the DPDK packet-memory guest scenarios (busybox sh, sourced).
# Each scenario exits 0 (pass), 1 (fail) or 4 (skip, kselftest's KSFT_SKIP).
#
# The rig (selftests/dpdk/rig.sh) gives the guest two QEMU e1000 NICs on
# one hub at fixed addresses, an intel-iommu and iommu.strict=1; the
# example is /add/vtop-dpdk.

PATH=/vtop/bin:$PATH
DPDK=/add/vtop-dpdk
NIC0=0000:00:04.0	# port 0, transmits (its frames go to the host's pcap)
NIC1=0000:00:05.0	# port 1, receives
KSFT_SKIP=4
fails=0
# The EAL: no shared files, no telemetry socket, physical addresses (what
# uio_pci_generic implies anyway), warnings and errors only.
# shellcheck disable=SC2034 # used by the scenarios
EAL="--in-memory --no-telemetry --iova-mode=pa --log-level=*:warning"

say() { echo "dpdk-scenario: [$(cut -d' ' -f1 /proc/uptime)] $*"; }
fail() { say "FAIL: $*"; fails=$((fails + 1)); }
skip() { say "SKIP: $*"; exit $KSFT_SKIP; }

# "acquired released" FOLL_PIN page counts from /proc/vmstat, after folding
# the per-CPU deltas into the global counters.
pins() {
	echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null
	awk '$1 == "nr_foll_pin_acquired" { a = $2 }
	     $1 == "nr_foll_pin_released" { r = $2 }
	     END { print a + 0, r + 0 }' /proc/vmstat
}

# Fail unless the pins taken since "$1 $2" were all released again, and
# unless some were taken at all (the check must be able to fail).
check_pins_balanced() {
	set -- "$1" "$2" $(pins)
	acq=$(($3 - $1))
	rel=$(($4 - $2))
	say "FOLL_PIN pages since the start: acquired $acq, released $rel"
	[ "$acq" -gt 0 ] || fail "no pages were pinned: the run did not use /dev/vtop"
	[ "$acq" -eq "$rel" ] || fail "$((acq - rel)) pinned pages were not released"
}

# Kernel log lines reporting an IOMMU (DMAR) fault.
dmar_faults() {
	dmesg | grep -E 'DMAR: DRHD: handling fault|DMAR: \[DMA (Read|Write)|DMAR:.*fault addr' || true
}

# Bind both NICs to uio_pci_generic with their IOMMU groups of type $1
# (identity: the device's DMA addresses are CPU physical addresses, as
# without an IOMMU; DMA: translated, strict with iommu.strict=1). A group's
# type can only change while its device has no driver.
nics_setup() {
	modprobe uio_pci_generic || { fail "modprobe uio_pci_generic"; return 1; }
	for bdf in $NIC0 $NIC1; do
		d=/sys/bus/pci/devices/$bdf
		[ -e $d ] || { fail "no PCI device $bdf (rig without the e1000 NICs?)"; return 1; }
		[ "$(cat $d/vendor):$(cat $d/device)" = 0x8086:0x100e ] ||
			{ fail "$bdf is not an e1000"; return 1; }
		[ -e $d/driver ] && echo $bdf >$d/driver/unbind
		if [ -e $d/iommu_group ]; then
			g=$(basename "$(readlink $d/iommu_group)")
			[ "$(cat $d/iommu_group/type)" = "$1" ] ||
				echo "$1" >/sys/kernel/iommu_groups/$g/type ||
				{ fail "cannot set IOMMU group $g of $bdf to $1"; return 1; }
			say "$bdf: IOMMU group $g, type $(cat $d/iommu_group/type)"
		elif [ "$1" != identity ]; then
			fail "$bdf has no IOMMU group (rig without --iommu?)"
			return 1
		fi
		echo 8086 100e >/sys/bus/pci/drivers/uio_pci_generic/new_id 2>/dev/null
		[ -e $d/driver ] || echo $bdf >/sys/bus/pci/drivers/uio_pci_generic/bind
		[ "$(basename "$(readlink $d/driver)")" = uio_pci_generic ] ||
			{ fail "$bdf is not bound to uio_pci_generic"; return 1; }
	done
	# DPDK's runtime directory; the initramfs has no /var
	mkdir -p /var/run
}

# Run vtop-dpdk with a log; sets $rc and keeps the output in $out.
# run_dpdk LOGNAME EAL-AND-APP-ARGS...
run_dpdk() {
	out=/tmp/vtop-dpdk.$1.log
	shift
	say "running: vtop-dpdk $*"
	rc=0
	"$DPDK" "$@" >"$out" 2>&1 </dev/null || rc=$?
	sed 's/^/    /' "$out"
	say "vtop-dpdk exited with $rc"
}

# expect REGEX WHAT: fail unless the log has a line matching REGEX (ERE)
expect() { grep -Eq -- "$1" "$out" || fail "$2"; }

finish() {
	if [ "$fails" -gt 0 ]; then
		say "$1: FAIL ($fails problem(s))"
		exit 1
	fi
	say "$1: PASS"
	exit 0
}
