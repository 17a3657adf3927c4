#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Scenario 4: ibv_reg_mr() fails in the cache's REGISTER callback (a
# RLIMIT_MEMLOCK with room for libvtop's pin but not for the MR's, without
# CAP_IPC_LOCK): vtop_mem_register() returns -ENOMEM, and there is no MR,
# no pin (module, VmPin, FOLL_PIN counters) and no map entry; with the limit
# restored the same buffer registers (control).
# shellcheck source=selftests/rdma/common.sh
. "$(dirname "$0")/common.sh"

start "scenario 4"
run_rdma --scenario memlock
[ "$rc" = 0 ] || fail "vtop-rdma --scenario memlock failed (exit $rc)"
expect_count 1 'vtop_mem_register([0-9]* bytes): -12 ' "vtop_mem_register() returned -ENOMEM"
expect_count 1 'ibv_reg_mr() failed with ENOMEM in the REGISTER callback' "the failure came from ibv_reg_mr()"
expect_count 1 'after the failure: the device holds 0 memory regions' "no MR on the device after the failure"
expect_count 1 'control: with RLIMIT_MEMLOCK restored the buffer registers' "control registration"
grep -q '^PASS: memlock$' "$out" || fail "no PASS line"
finish "scenario 4 (ibv_reg_mr fails under RLIMIT_MEMLOCK: error to the caller, no MR, no pin, no map entry)"
