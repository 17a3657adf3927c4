# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034 # failed and summary belong to the caller
#
# Sourced by the host side of the scenario suites (selftests/nvme, rdma,
# dpdk: check.sh): the summary they print. Each keeps its results in the
# bash array summary ("kernel K scenario N: PASS|SKIP|FAIL ...") and sets
# failed=1 on a failure; the caller declares both.

# scen_results AREA KERNEL LOG RC SCENARIO...: one summary line per
# scenario from the guest's "AREA-result: scenario N: R" lines in LOG (a
# missing line is a failure), and a rig failure (run.sh exit RC other than
# 0 or 1: splat, time-out) fails the kernel even if every scenario passed.
scen_results() {
	local area=$1 k=$2 log=$3 rc=$4 s r
	shift 4
	for s in "$@"; do
		r=$(sed -n "s/^$area-result: scenario $s: //p" "$log" | tail -n 1)
		case "$r" in
		PASS|SKIP) ;;
		"") r="FAIL (no result; run.sh exit $rc)"; failed=1 ;;
		*) failed=1 ;;
		esac
		summary+=("kernel $k scenario $s: $r")
	done
	if [ "$rc" != 0 ] && [ "$rc" != 1 ]; then
		summary+=("kernel $k: rig failure (run.sh exit $rc)")
		failed=1
	fi
}

# scen_report AREA: the summary and the line "AREA: N passed, N failed,
# N skipped" that make check's totals read.
scen_report() {
	local area=$1 l np=0 nf=0 ns=0
	echo "=== $area scenarios ==="
	printf '%s\n' "${summary[@]}"
	for l in "${summary[@]}"; do
		case "$l" in
		*PASS) np=$((np + 1)) ;;
		*SKIP) ns=$((ns + 1)) ;;
		*) nf=$((nf + 1)) ;;
		esac
	done
	echo "$area: $np passed, $nf failed, $ns skipped"
}
