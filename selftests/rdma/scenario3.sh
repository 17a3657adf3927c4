#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Scenario 3: invalidation events reach the MR cache. A registered buffer
# (4 KiB pages, THP, hugetlb) is written by RDMA, munmap()ed while
# registered, replaced at the same address (MAP_FIXED) by new memory with
# its own pattern, and written again with the keys the cache gives:
#   1. events from libvtop's event fd: the cache deregisters the MR
#      (INVALIDATE), the new memory is registered, the WRITE lands in the
#      NEW pages (all three kinds);
#   2. events processed by vtop_mem_register() of the new memory (4k,
#      hugetlb), and by libvtop's event thread (VTOP_ENV_EVENT_THREAD; 4k,
#      THP): the same;
#   3. events off (vtop-rdma's test-only --remap-no-events): the cache keeps
#      the stale MR, the WRITE lands in the OLD pages (read back through the
#      same keys) and vtop-rdma must fail: the check can see a stale MR.
# shellcheck source=selftests/rdma/common.sh
. "$(dirname "$0")/common.sh"

start "scenario 3"
run_rdma --scenario remap
[ "$rc" = "$KSFT_SKIP" ] && skip "no invalidation events in this module/libvtop"
[ "$rc" = 0 ] || fail "remap with events from the event fd: vtop-rdma failed (exit $rc)"
expect_count 3 'the RDMA WRITE landed in the NEW pages' "event fd: kinds whose WRITE landed in the new pages"
expect_count 3 'vtop_mem_process_events(): 1 registration invalidated' "event fd: invalidations processed"
expect_count 3 'INVALIDATE: the cache deregistered the memory region' "event fd: MRs dropped by INVALIDATE"
expect_count 3 'event fd readable when munmap() returned' "event fd readable right after munmap"

run_rdma --scenario remap --remap-events register --kinds 4k,hugetlb
[ "$rc" = 0 ] || fail "remap with events processed by vtop_mem_register(): vtop-rdma failed (exit $rc)"
expect_count 2 'the RDMA WRITE landed in the NEW pages' "register: kinds whose WRITE landed in the new pages"
expect_count 2 'it processed the pending event itself' "register: invalidations processed by vtop_mem_register()"

run_rdma --scenario remap --remap-events thread --kinds 4k,thp
[ "$rc" = 0 ] || fail "remap with libvtop's event thread: vtop-rdma failed (exit $rc)"
expect_count 2 'the RDMA WRITE landed in the NEW pages' "event thread: kinds whose WRITE landed in the new pages"
expect_count 2 "INVALIDATE from libvtop's event thread" "event thread: MRs dropped by the event thread"

say "negative control: the same remap with events off must write the OLD pages"
run_rdma --scenario remap --remap-no-events
[ "$rc" = 1 ] || fail "events off: vtop-rdma did not fail (exit $rc): the check cannot see a stale MR"
expect_count 3 'the RDMA WRITE went to the OLD pages (stale memory region)' "events off: kinds written through the stale MR"
expect_count 3 'read back through the stale keys: the unmapped pages hold the written data: [0-9]* bytes verified' "events off: data found in the old pages"
grep -q '^FAIL: remap: 3 of 3 buffer kinds: the RDMA WRITE landed in the OLD pages' "$out" ||
	fail "events off: no FAIL line naming the stale MR"
finish "scenario 3 (munmap + MAP_FIXED: the MR is dropped and re-registered, the WRITE lands in the new pages; the old pages with events off)"
