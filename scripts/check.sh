#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Run the `make check` steps in order, stop at the first failure, keep the
# whole output in build/check.log and close with the total of every
# "NAME: N passed, N failed[, N skipped]" line the steps printed.
# Usage: scripts/check.sh STEP...   (called by the top Makefile)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
mkdir -p "$build"
log=$build/check.log
: >"$log"
start=$(date +%s)
rc=0
for step in "$@"; do
	t0=$(date +%s)
	echo "=== make $step ===" | tee -a "$log"
	make -C "$top" --no-print-directory "$step" 2>&1 | tee -a "$log"
	rc=${PIPESTATUS[0]}
	echo "=== make $step: $([ "$rc" = 0 ] && echo ok || echo "FAILED ($rc)"), $(($(date +%s) - t0)) s ===" | tee -a "$log"
	[ "$rc" = 0 ] || break
done
tot=$(awk '
/^[A-Za-z0-9_.-]+: [0-9]+ passed, [0-9]+ failed/ {
	for (i = 2; i < NF; i++) {
		if ($(i + 1) ~ /^passed/) p += $i
		if ($(i + 1) ~ /^failed/) f += $i
		if ($(i + 1) ~ /^skipped/) s += $i
	}
}
END { printf "%d %d %d", p, f, s }' "$log")
read -r p f s <<<"$tot"
[ "$rc" = 0 ] || f=$((f + 1))
echo "make check: $(($(date +%s) - start)) s, log in $log"
echo "check: $p passed, $f failed, $s skipped"
exit "$rc"
