#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Scenario 2, the proof that the check can fail: the same run as scenario 1
# (4 KiB pages) with a deliberately wrong IOVA table -- the virtual
# addresses, then each page given its neighbour's physical address. The
# device then reads and writes other memory than the mbufs' (nothing the
# kernel owns: addresses past the guest's RAM, or the buffer's own pages),
# and vtop-dpdk must fail on lost or corrupted frames.
# shellcheck source=selftests/dpdk/common.sh disable=SC2046,SC2086 # word splitting of $(pins) and $EAL is meant
. "$(dirname "$0")/common.sh"

nics_setup identity || finish "scenario 2 (wrong IOVAs)"
set -- $(pins)
run_dpdk s2 $EAL -l 0 -a $NIC0 -a $NIC1 -- --mem 4k --iova va,prev-page --count 64
[ "$rc" = 1 ] || fail "vtop-dpdk did not fail (exit $rc): the check cannot see wrong IOVAs"
for wrong in va prev-page; do
	expect "^result: 4k $wrong: FAIL \\([0-9]+ problem" "$wrong: the run did not fail"
	# the run's own lines: lost or corrupted frames, and the mbufs still
	# carry the table's (wrong) addresses: DPDK used the table
	sect=$(awk -v w="$wrong" '/^=== run / { on = 0 } /^=== run .*table: WRONG/ && index($0, w == "va" ? "virtual" : "previous") { on = 1 } on' "$out")
	printf '%s\n' "$sect" | grep -q '^FAIL: rx: ' ||
		fail "$wrong: no frame reported lost or corrupted"
	printf '%s\n' "$sect" | grep -q '^rx: all 64 frames arrived' &&
		fail "$wrong: all frames arrived intact through a wrong table"
	printf '%s\n' "$sect" | grep -q "buf_iova is not the table's address" &&
		fail "$wrong: an mbuf does not carry the table's address"
done
expect '^FAIL: 2 of 2 run\(s\) failed$' "not both runs failed"
check_pins_balanced "$1" "$2"
finish "scenario 2 (wrong IOVAs)"
