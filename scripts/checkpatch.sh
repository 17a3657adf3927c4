#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Run the kernel's checkpatch.pl (--strict) over the module sources and the
# ABI header. Fails on any error, warning or check.
# Usage: scripts/checkpatch.sh
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
ksft=${KSFT_DIR:-${BUILD:-$top/build}/ksft}
cp_pl=$ksft/scripts/checkpatch.pl

[ -f "$cp_pl" ] || "$top/scripts/ksft-headers.sh" "$ksft"

cd "$top"
files=(kmod/*.c kmod/*.h include/uapi/linux/vtop.h tools/debug-kernel/canary/*.c)
rc=0
out=$(perl "$cp_pl" --strict --no-tree --no-summary --terse --show-types \
	-f "${files[@]}" 2>&1) || rc=$?
if [ "$rc" != 0 ] || [ -n "$out" ]; then
	echo "$out"
	echo "checkpatch.sh: not clean" >&2
	exit 1
fi
echo "checkpatch.sh: ${#files[@]} files clean"
