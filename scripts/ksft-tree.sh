#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Extract from Debian's linux-source-6.12 tarball the part of a kernel tree
# that kselftest's own build and runner need, and nothing else:
#
#   scripts/subarch.include              (read by the selftests Makefile)
#   tools/testing/selftests/Makefile     (TARGETS=..., install, run_tests)
#   tools/testing/selftests/lib.mk       (the per-target build rules)
#   tools/testing/selftests/kselftest*.h (the harness)
#   tools/testing/selftests/kselftest/   (runner.sh, prefix.pl, ...)
#   tools/testing/selftests/kselftest_install.sh, run_kselftest.sh
#   scripts/checkpatch.pl, spelling.txt, const_structs.checkpatch
#                                        (for scripts/checkpatch.sh)
#
# into OUTDIR/linux, a tree in which `make -C tools/testing/selftests
# TARGETS=vtop` works once selftests/ is copied in as .../selftests/vtop.
# selftests/Makefile includes this lib.mk in the vtop tree too. The result is
# cached: OUTDIR/.stamp names the tarball (path, size, mtime) and this
# script's own hash; a run with the same key does nothing. No kernel source
# is ever committed to vtop.
#
# Usage: scripts/ksft-tree.sh OUTDIR      (prints nothing when cached)
set -euo pipefail
out=${1:?usage: ksft-tree.sh OUTDIR}
tarball=${LINUX_SOURCE_TARBALL:-}
if [ -z "$tarball" ]; then
	for f in /usr/src/linux-source-6.12.tar.*; do
		[ -f "$f" ] && { tarball=$f; break; }
	done
fi
if [ -z "$tarball" ] || [ ! -f "$tarball" ]; then
	echo "ksft-tree.sh: linux-source-6.12 is not installed (scripts/deps.sh ksrc)" >&2
	exit 1
fi
key="$(readlink -f "$tarball") $(stat -c '%s %Y' "$tarball") $(sha256sum <"$0" | cut -c1-16)"

mkdir -p "$out"
exec 8>"$out/.lock"
flock 8
if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$key" ] &&
   [ -f "$out/linux/tools/testing/selftests/lib.mk" ]; then
	exit 0
fi

echo "  KSFT    $out/linux from $(basename "$tarball")"
tmp=$(mktemp -d "$out/.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
st=tools/testing/selftests
tar -xf "$tarball" -C "$tmp" --wildcards --no-wildcards-match-slash \
	'*/scripts/subarch.include' \
	"*/$st/Makefile" "*/$st/lib.mk" "*/$st/kselftest*.h" \
	"*/$st/kselftest/*" "*/$st/kselftest_install.sh" \
	"*/$st/run_kselftest.sh" \
	'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
	'*/scripts/const_structs.checkpatch'
src=$(echo "$tmp"/linux-source-*)
[ -d "$src" ] || { echo "ksft-tree.sh: $tarball: no linux-source-* directory" >&2; exit 1; }
for f in scripts/subarch.include $st/Makefile $st/lib.mk \
	 $st/kselftest_harness.h $st/kselftest.h $st/kselftest/runner.sh \
	 $st/kselftest_install.sh $st/run_kselftest.sh \
	 scripts/checkpatch.pl scripts/spelling.txt \
	 scripts/const_structs.checkpatch; do
	[ -f "$src/$f" ] || { echo "ksft-tree.sh: $tarball lacks $f" >&2; exit 1; }
done
rm -rf "$out/linux"
mv "$src" "$out/linux"
echo "$key" >"$out/.stamp"
