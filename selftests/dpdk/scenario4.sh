#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Scenario 4, teardown: after the traffic the ports are stopped (their
# receive buffers go back to the pool, no DMA is in flight), the packet
# memory is unregistered from libvtop while DPDK's pool and heap still hold
# it, then the ports, the pool, the heap and the EAL are torn down. The
# unregister must succeed, the module must report no pin of the process
# right after it, and the kernel's FOLL_PIN counters must balance.
# shellcheck source=selftests/dpdk/common.sh disable=SC2046,SC2086 # word splitting of $(pins) and $EAL is meant
. "$(dirname "$0")/common.sh"

nics_setup identity || finish "scenario 4 (teardown)"
set -- $(pins)
run_dpdk s4 $EAL -l 0 -a $NIC0 -a $NIC1 -- --mem 4k --count 64 --unregister-stopped
[ "$rc" = 0 ] || fail "vtop-dpdk failed (exit $rc)"
expect '^rx: all 64 frames arrived byte-exact and in order$' "not all frames arrived intact"
expect '^teardown: vtop_mem_unregister\(\) with the ports stopped: 0$' "the unregister with the ports stopped failed"
expect '^teardown: module reports 0 pins, 0 bytes pinned$' "pins left right after the unregister"
expect '^result: 4k vtop: PASS$' "the run did not pass"
check_pins_balanced "$1" "$2"
finish "scenario 4 (teardown)"
