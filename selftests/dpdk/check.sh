#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Run the DPDK packet-memory scenarios (selftests/dpdk/scenario*.sh) in one
# guest boot per kernel, then read port 0's frames back from the pcap QEMU
# wrote, and print a summary. Exit 0 if none failed (skipped scenarios are
# reported as SKIP).
#
#   selftests/dpdk/check.sh [--kernels "6.1 6.12"] [--scenarios "1 2 3 4"]
#                       [--no-build] [--timeout SEC] [--keep-pcap DIR]
#                       [--no-iommu]  (a machine without IOMMU: 3 skips)
set -uo pipefail

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-$TOP/build}
RUN=$TOP/tools/vm/run.sh
kernels="6.1 6.12"
scenarios="1 2 3 4"
build=1
timeout=600
keep=""
noiommu=""

usage() { sed -n '3,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

while [ $# -gt 0 ]; do
	case "$1" in
	--kernels) kernels=$2; shift ;;
	--scenarios) scenarios=$2; shift ;;
	--no-build) build=0 ;;
	--timeout) timeout=$2; shift ;;
	--keep-pcap) keep=$2; shift ;;
	--no-iommu) noiommu=noiommu ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done

# shellcheck source=selftests/dpdk/rig.sh
. "$TOP/selftests/dpdk/rig.sh" || exit 2

# shellcheck source=selftests/lib/scenarios.sh
. "$TOP/selftests/lib/scenarios.sh" || exit 2

summary=()
failed=0
tmp=$(mktemp -d)
[ -z "$keep" ] || mkdir -p "$keep" || exit 2
trap 'rm -rf "$tmp"' EXIT
log=$tmp/console.log
for k in $kernels; do
	nb=""
	[ $build = 0 ] && nb=--no-build
	pcap=${keep:-$tmp}/port0-$k.pcap
	dpdk_rig_init "$pcap" $noiommu || exit 2
	echo "=== dpdk scenarios ($scenarios) on $k, one boot ==="
	rc=0
	# shellcheck disable=SC2086
	"$RUN" --kernel "$k" $nb --timeout "$timeout" "${dpdk_rig[@]}" \
		-- /add/dpdk/all.sh $scenarios | tee "$log"
	rc=${PIPESTATUS[0]}
	# shellcheck disable=SC2086
	scen_results dpdk "$k" "$log" "$rc" $scenarios
	# The wire, seen by QEMU: port 0's frames carrying the example's
	# header (EtherType 0x88b5, "VTOPDPDK"), each checked byte by byte
	# on the host (pcap-runs.awk). Every run that sends from port 0 with
	# a true table must appear as a run of intact frames from sequence 0
	# (scenario 1: three of 256, 3: two of 256 -- its control sends
	# intact frames too --, 4: one of 64); the
	# wrong-table runs of scenario 2 put damaged frames (or none) there.
	if [ -s "$pcap" ]; then
		magic='ether proto 0x88b5 and ether[14:4] = 0x56544f50 and ether[18:4] = 0x4450444b'
		all=$(tcpdump -r "$pcap" --count 2>/dev/null | awk '{ print $1 }')
		runs=$(tcpdump -r "$pcap" -nn -x "$magic" 2>/dev/null |
		       awk -f "$TOP/selftests/dpdk/pcap-runs.awk")
		echo "dpdk: port 0 pcap ($k): ${all:-?} frames; the example's:"
		printf '%s\n' "$runs" | sort | uniq -c | sed 's/^/    /'
		tcpdump -r "$pcap" -nn -e -c 1 "$magic" 2>/dev/null | sed 's/^/    /'
		n256=$(grep -c '^run: 256 frames$' <<<"$runs")
		n64=$(grep -c '^run: 64 frames$' <<<"$runs")
		w256=0 w64=0
		for s in $scenarios; do
			case $s in
			1) w256=$((w256 + 3)) ;;
			3) [ -n "$noiommu" ] || w256=$((w256 + 2)) ;;
			4) w64=$((w64 + 1)) ;;
			esac
		done
		r=PASS
		if [ "$n256" -lt $w256 ] || [ "$n64" -lt $w64 ]; then
			r="FAIL (intact runs: $n256 of 256 frames, $w256 expected; $n64 of 64, $w64 expected)"
			failed=1
		fi
		summary+=("kernel $k port 0 pcap: $r")
	else
		summary+=("kernel $k port 0 pcap: FAIL (no pcap written)")
		failed=1
	fi
done

scen_report dpdk
exit $failed
