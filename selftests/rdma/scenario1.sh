#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Scenario 1: RDMA WRITE, RDMA READ and SEND/RECV between two RC QPs on
# soft-RoCE with 4 KiB-page, THP and hugetlb buffers registered only with
# vtop_mem_register(); every key comes from the MR cache (a libvtop consumer
# map) and every byte is checked. A buffer made of two registrations is two
# SGEs with the two MRs' lkeys, and no single rkey covers it.
# shellcheck source=selftests/rdma/common.sh
. "$(dirname "$0")/common.sh"

start "scenario 1"
run_rdma --scenario roundtrip
[ "$rc" = 0 ] || fail "vtop-rdma --scenario roundtrip failed (exit $rc)"
for k in 4k thp hugetlb; do
	for op in "RDMA WRITE" "RDMA READ" "SEND/RECV"; do
		expect_count 1 "\[$k\] $op: [0-9]* bytes verified" "[$k] $op verified"
	done
done
expect_count 1 'over two registrations: 2 elements' "a buffer over two registrations described as two SGEs"
expect_count 3 '\[span\] .* 2 elements: [0-9]* bytes verified' "two-SGE transfers verified"
grep -q '^PASS: roundtrip$' "$out" || fail "no PASS line"
finish "scenario 1 (WRITE, READ, SEND/RECV with cache keys: 4k, THP, hugetlb; two registrations = two SGEs)"
