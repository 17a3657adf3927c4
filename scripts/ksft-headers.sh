#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Copy the kselftest harness headers and checkpatch, taken from Debian's
# linux-source-6.12 tarball, into a build directory. They come from the
# kernel-tree subset scripts/ksft-tree.sh extracts (and caches) in
# $KSFT_TREE (default: OUTDIR/../ksft-tree), so the tarball is unpacked
# once for both. No kernel source is ever committed to vtop.
# Usage: scripts/ksft-headers.sh OUTDIR
set -euo pipefail
out=${1:?usage: ksft-headers.sh OUTDIR}
tree=${KSFT_TREE:-$(dirname "$out")/ksft-tree}
"$(dirname "$0")/ksft-tree.sh" "$tree"
src=$tree/linux
stamp="$out/.stamp"
key=$(cat "$tree/.stamp")
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ]; then
	exit 0
fi
mkdir -p "$out/scripts"
cp "$src"/tools/testing/selftests/kselftest.h "$src"/tools/testing/selftests/kselftest_harness.h "$out/"
cp "$src"/scripts/checkpatch.pl "$src"/scripts/spelling.txt "$src"/scripts/const_structs.checkpatch "$out/scripts/"
echo "$key" >"$stamp"
