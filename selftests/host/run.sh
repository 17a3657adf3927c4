#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Run the host tests: every executable in the given directories, then the
# shell checks next to this script. Each prints "ok N name" / "not ok N
# name" lines; a test that dies or times out without saying so counts as
# one failure. Ends with "host: N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
passed=0
failed=0

run_one() {
	local label=$1
	shift
	local out rc ok bad
	out=$(timeout 600 "$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed "s|^|[$label] |"
	ok=$(printf '%s\n' "$out" | grep -c '^ok ')
	bad=$(printf '%s\n' "$out" | grep -c '^not ok ')
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		echo "[$label] not ok: exit status $rc"
		bad=1
	fi
	passed=$((passed + ok))
	failed=$((failed + bad))
}

for dir in "$@"; do
	for t in "$dir"/*_test; do
		[ -x "$t" ] || continue
		run_one "$(basename "$dir")" "$t"
	done
done
for t in "$here"/*_test.sh; do
	run_one sh "$t"
done
echo "host: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
