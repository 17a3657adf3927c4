#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Run the NVMe guest scenarios (selftests/nvme/scenario*.sh), one guest boot
# each, on each kernel, and print a summary. Exit 0 if none failed
# (skipped scenarios are reported as SKIP), 1 otherwise.
#
#   selftests/nvme/check.sh [--kernels "6.1 6.12"] [--scenarios "1 2 3 4 5 6 7 8 9 10 11 12"]
#                       [--no-build] [--timeout SEC]
set -uo pipefail

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
RUN=$TOP/tools/vm/run.sh
kernels="6.1 6.12"
scenarios="1 2 3 4 5 6 7 8 9 10 11 12"
build=1
timeout=300

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

# Rig options per scenario: 1 and 5 have no IOMMU, the others have one.
# Attached mode needs strict IOMMU invalidation (3, 4, 6); 7 starts from
# Debian's lazy default and switches the group itself.
rig_opts() {
	case "$1" in
	1|5) echo "--nvme" ;;
	2) echo "--nvme --iommu" ;;
	3|4|6) echo "--nvme --iommu --append iommu.strict=1" ;;
	10) echo "--nvmes 2 --iommu --append iommu.strict=1" ;;
	11) echo "--nvmes 2 --iommu --append iommu.strict=1" ;;
	12) echo "--nvme --iommu --append iommu.strict=1 --module nvme --kmod-args attach_any_driver=1" ;;
	7) echo "--nvme --iommu --module vfio-pci --module vfio_iommu_type1" ;;
	8) echo "--nvme --iommu --append iommu.strict=1 --module vfio-pci --kmod-args attach_any_driver=1" ;;
	9) echo "--nvme --iommu --nvme-hotplug --append iommu.strict=1" ;;
	*) echo "check.sh: no scenario $1" >&2; return 1 ;;
	esac
}

# shellcheck source=selftests/lib/scenarios.sh
. "$TOP/selftests/lib/scenarios.sh" || exit 2

summary=()
failed=0
for k in $kernels; do
	first=1
	for s in $scenarios; do
		opts=$(rig_opts "$s") || exit 2
		# Build (module for this kernel, guest binaries) once per kernel.
		nb=""
		[ $build = 0 ] || [ $first = 0 ] && nb=--no-build
		first=0
		echo "=== nvme scenario $s on $k ==="
		rc=0
		# shellcheck disable=SC2086
		"$RUN" --kernel "$k" $opts $nb --timeout "$timeout" \
			--add "$TOP/selftests/nvme" -- /add/nvme/scenario$s.sh || rc=$?
		case $rc in
		0) r=PASS ;;
		4) r=SKIP ;;
		*) r="FAIL (exit $rc)"; failed=1 ;;
		esac
		summary+=("kernel $k scenario $s: $r")
	done
done

scen_report nvme
exit $failed
