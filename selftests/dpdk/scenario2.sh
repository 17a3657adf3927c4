#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Scenario 2, the proof that the check can fail: the same run as scenario 1
# (4 KiB pages) with a deliberately wrong IOVA table -- the virtual
# addresses, then each page given its neighbour's physical address. The
# device then reads and writes other memory than the mbufs' (nothing the
# kernel owns: addresses past the guest's RAM, or the buffer's own pages),
# and vtop-dpdk must fail on lost or corrupted frames.
. "$(dirname "$0")/common.sh"

nics_setup identity || finish "scenario 2 (wrong IOVAs)"
set -- $(pins)
for wrong in va prev-page; do
	run_dpdk s2-$wrong $EAL -l 0 -a $NIC0 -a $NIC1 -- --mem 4k --iova $wrong --count 64
	[ "$rc" = 1 ] || fail "$wrong: vtop-dpdk did not fail (exit $rc): the check cannot see wrong IOVAs"
	expect "table: WRONG" "$wrong: the table was not the wrong one"
	expect '^FAIL: rx: ' "$wrong: no frame reported lost or corrupted"
	grep -q '^rx: all 64 frames arrived' "$out" &&
		fail "$wrong: all frames arrived intact through a wrong table"
	# the mbufs still carry the table's (wrong) addresses: DPDK used it
	grep -q "buf_iova is not the table's address" "$out" &&
		fail "$wrong: an mbuf does not carry the table's address"
done
check_pins_balanced "$1" "$2"
finish "scenario 2 (wrong IOVAs)"
