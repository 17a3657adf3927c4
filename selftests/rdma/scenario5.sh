#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Scenario 5: teardown. After traffic with every buffer kind, (1) unregister
# everything and free the cache, (2) free a cache with registrations alive
# (its MRs go at once), then vtop_env_fini(): no MR on the device and every
# FOLL_PIN page (libvtop's and the MRs') released, checked by vtop-rdma with
# the device still open and again here after it exited.
# shellcheck source=selftests/rdma/common.sh
. "$(dirname "$0")/common.sh"

start "scenario 5"
run_rdma --scenario teardown
[ "$rc" = 0 ] || fail "vtop-rdma --scenario teardown failed (exit $rc)"
expect_count 1 'all unregistered: the device holds 0 memory regions' "no MR after unregistering everything"
expect_count 1 'cache freed: the device holds 0 memory regions' "no MR after freeing the cache with registrations alive"
expect_count 1 'after vtop_env_fini(): the device holds 0 memory regions' "no MR after vtop_env_fini()"
grep -q '^PASS: teardown$' "$out" || fail "no PASS line"
finish "scenario 5 (teardown: no MR, nr_foll_pin_acquired == nr_foll_pin_released)"
