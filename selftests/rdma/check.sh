#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Run the RDMA MR-cache scenarios (selftests/rdma/scenario*.sh) in one guest
# boot per kernel, with soft-RoCE (rdma_rxe on a dummy netdev), and print a
# summary. Exit 0 if none failed (skipped scenarios are reported as SKIP).
#
#   selftests/rdma/check.sh [--kernels "6.1 6.12"] [--scenarios "1 2 3 4 5"]
#                       [--no-build] [--timeout SEC]
set -uo pipefail

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
RUN=$TOP/tools/vm/run.sh
kernels="6.1 6.12"
scenarios="1 2 3 4 5"
build=1
timeout=400

usage() { sed -n '3,9s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

while [ $# -gt 0 ]; do
	case "$1" in
	--kernels) kernels=$2; shift ;;
	--scenarios) scenarios=$2; shift ;;
	--no-build) build=0 ;;
	--timeout) timeout=$2; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done

# shellcheck source=selftests/rdma/rig.sh
. "$TOP/selftests/rdma/rig.sh" || exit 2

# shellcheck source=selftests/lib/scenarios.sh
. "$TOP/selftests/lib/scenarios.sh" || exit 2

summary=()
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for k in $kernels; do
	nb=""
	[ $build = 0 ] && nb=--no-build
	echo "=== rdma scenarios ($scenarios) on $k, one boot ==="
	rc=0
	# shellcheck disable=SC2086
	"$RUN" --kernel "$k" $nb --timeout "$timeout" "${rdma_rig[@]}" \
		--add "$TOP/selftests/rdma" -- /add/rdma/all.sh $scenarios |
		tee "$log"
	rc=${PIPESTATUS[0]}
	# shellcheck disable=SC2086
	scen_results rdma "$k" "$log" "$rc" $scenarios
done

scen_report rdma
exit $failed
