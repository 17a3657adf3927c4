#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Scenario 3, behind the emulated IOMMU (strict DMA domains), libvtop in
# attached mode. Attached mode serves one device per process, and each NIC
# has its own IOMMU domain (an IOVA of one means nothing to the other), so
# the two ports run in two processes: the receiver attached to NIC 1, the
# sender attached to NIC 0, each with its packet memory AND its descriptor
# rings in vtop-registered memory at that device's IOVAs (the EAL's own
# hugepage memory has physical addresses, which the IOMMU does not map).
# All frames must arrive intact, every ring and mbuf must be in the vtop
# memory, and the IOMMU must report no fault. Then the negative control:
# the receiver's rings in the EAL's memory (physical addresses, which the
# device's domain does not map): nothing may arrive.
# shellcheck source=selftests/dpdk/common.sh disable=SC2046,SC2086 # word splitting of $(pins) and $EAL is meant
. "$(dirname "$0")/common.sh"

# pair KIND [RECEIVER OPTIONS]: receiver in the background, sender, wait;
# sets $txrc and $rc (the receiver's), $out is the receiver's log. With
# $stop_rx set, the receiver is told to stop (SIGINT) 3 s after the sender
# is done: it counts what did not come by then as lost.
pair() {
	kind=$1
	shift
	ready=/tmp/dpdk-rx-ready
	rm -f $ready
	rxout=/tmp/vtop-dpdk.s3-$kind-rx.log
	say "receiver: vtop-dpdk -a $NIC1 -- --attach $NIC1 --role rx --mem $kind $*"
	"$DPDK" $EAL -l 1 -a $NIC1 -- --attach $NIC1 --role rx --mem $kind \
		--ready-file $ready "$@" >"$rxout" 2>&1 </dev/null &
	rxpid=$!
	i=0
	while [ ! -e $ready ] && kill -0 $rxpid 2>/dev/null && [ $i -lt 600 ]; do
		usleep 100000
		i=$((i + 1))
	done
	[ -e $ready ] || fail "$kind: the receiver did not come up"
	run_dpdk s3-$kind-tx $EAL -l 0 -a $NIC0 -- --attach $NIC0 --role tx --mem $kind
	txrc=$rc
	if [ -n "${stop_rx:-}" ]; then
		usleep 3000000
		kill -INT $rxpid 2>/dev/null
	fi
	rc=0
	wait $rxpid || rc=$?
	[ "$rc" = "$KSFT_SKIP" ] && skip "libvtop cannot attach (module without VTOP_FEATURE_ATTACH)"
	[ "$txrc" = 0 ] || fail "$kind: the sender failed (exit $txrc)"
	expect '^libvtop .*: IOVA \(attached\) mode, device '"$NIC0"'$' "$kind: the sender is not attached to $NIC0"
	expect '^IOVA check: 2048 pages, DMA address equals the physical address on 0, unknown on 0$' "$kind: the sender's DMA addresses are not distinct IOVAs"
	expect '^ring eth_p0_q0_tx_ring: .*in the vtop memory$' "$kind: the sender's tx ring is not in the vtop memory"
	expect '^tx: 256 frames sent' "$kind: the sender did not send 256 frames"
	say "receiver's log:"
	sed 's/^/    /' "$rxout"
	say "receiver exited with $rc"
	out=$rxout
	expect '^libvtop .*: IOVA \(attached\) mode, device '"$NIC1"'$' "$kind: the receiver is not attached to $NIC1"
	expect '^IOVA check: 2048 pages, DMA address equals the physical address on 0, unknown on 0$' "$kind: the receiver's DMA addresses are not distinct IOVAs"
}

iommus=$(find /sys/class/iommu -mindepth 1 -maxdepth 1 2>/dev/null)
[ -n "$iommus" ] || skip "no IOMMU in this guest (rig without --iommu)"
nics_setup DMA || finish "scenario 3 (IOMMU, attached mode)"
set -- $(pins)
# 4 KiB pages (scenario 1 covers THP and hugetlb; an IOMMU makes any
# registration one IOVA-contiguous stretch anyway)
pair 4k --rx-timeout 30
[ "$rc" = 0 ] || fail "the receiver failed (exit $rc)"
expect '^ring eth_p0_q0_rx_ring: .*in the vtop memory$' "the receiver's rx ring is not in the vtop memory"
expect '^rx: all 256 frames arrived byte-exact and in order$' "not all frames arrived intact"
expect '^mbufs: every one the PMD used is in the vtop memory' "an mbuf outside the vtop memory"
faults=$(dmar_faults)
[ -z "$faults" ] || fail "IOMMU faults: $faults"

say "negative control: the receiver's rings in the EAL's memory (physical addresses)"
stop_rx=1
pair 4k --rings eal --rx-timeout 60
expect '^ring eth_p0_q0_rx_ring: .*in the EAL.s hugepage memory$' "the control's rx ring is not in the EAL's memory"
[ "$rc" = 1 ] || fail "rings at physical addresses behind the IOMMU: the receiver did not fail (exit $rc)"
expect '^FAIL: rx: 256 of 256 frames lost$' "rings at physical addresses behind the IOMMU: frames arrived"
# Not required: the guest kernels log no DMAR fault for the e1000's
# blocked descriptor reads here (they do for the NVMe controller's).
faults=$(dmar_faults)
say "IOMMU faults logged for the control: $(printf '%s' "$faults" | grep -c .)"
check_pins_balanced "$1" "$2"
finish "scenario 3 (IOMMU, attached mode)"
