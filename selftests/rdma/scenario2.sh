#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Scenario 2: the MR cache created after the buffers were registered gets
# its memory regions from libvtop's replay of REGISTER (the device holds
# them before any traffic), and the round trips of scenario 1 pass with them.
# shellcheck source=selftests/rdma/common.sh
. "$(dirname "$0")/common.sh"

start "scenario 2"
run_rdma --scenario replay
[ "$rc" = 0 ] || fail "vtop-rdma --scenario replay failed (exit $rc)"
expect_count 1 'replay: mrc_create() registered [1-9][0-9]* memory regions' "MRs registered by the replay"
expect_count 1 'after the replay: the device holds [1-9][0-9]* memory regions' "the device holds the replayed MRs"
n=$(count 'bytes verified')
[ "$n" = 12 ] || fail "$n of 12 transfers verified"
grep -q '^PASS: replay$' "$out" || fail "no PASS line"
finish "scenario 2 (cache created after the registrations: MRs by replay)"
