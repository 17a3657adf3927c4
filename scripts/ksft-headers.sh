#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Extract the kselftest harness headers (and checkpatch) from Debian's
# linux-source-6.12 tarball into a build directory. Only these files are
# taken; no kernel source is ever committed to vtop.
# Usage: scripts/ksft-headers.sh OUTDIR
set -euo pipefail
out=${1:?usage: ksft-headers.sh OUTDIR}
tarball=${LINUX_SOURCE_TARBALL:-$(ls /usr/src/linux-source-6.12.tar.* 2>/dev/null | head -n1)}
[ -n "$tarball" ] || { echo "ksft-headers.sh: linux-source-6.12 is not installed (scripts/deps.sh)" >&2; exit 1; }
stamp="$out/.stamp"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$tarball $(stat -c %Y "$tarball")" ]; then
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -xf "$tarball" -C "$tmp" --wildcards \
	'*/tools/testing/selftests/kselftest.h' \
	'*/tools/testing/selftests/kselftest_harness.h' \
	'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
	'*/scripts/const_structs.checkpatch'
src=$(echo "$tmp"/linux-source-*)
mkdir -p "$out/scripts"
cp "$src"/tools/testing/selftests/kselftest.h "$src"/tools/testing/selftests/kselftest_harness.h "$out/"
cp "$src"/scripts/checkpatch.pl "$src"/scripts/spelling.txt "$src"/scripts/const_structs.checkpatch "$out/scripts/"
echo "$tarball $(stat -c %Y "$tarball")" > "$stamp"
