#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Build vtop.ko for one kernel release in a private copy of the module
# sources, so that builds for different kernels never share object files.
# Usage: scripts/build-kmod.sh RELEASE [KDIR]
#   KDIR defaults to /lib/modules/RELEASE/build.
# Leaves build/kmod/RELEASE/vtop.ko (build/ is $BUILD when set). Fails when
# the build prints any compiler or modpost warning.
set -euo pipefail

release=${1:?usage: build-kmod.sh RELEASE [KDIR]}
kdir=${2:-/lib/modules/$release/build}
top=$(cd "$(dirname "$0")/.." && pwd)
out=${BUILD:-$top/build}/kmod/$release

if [ ! -f "$kdir/Makefile" ]; then
	echo "build-kmod.sh: no kernel build tree at $kdir (install linux-headers-$release)" >&2
	exit 1
fi

# Copy the sources only (never objects of an in-tree build for another
# kernel). cp -p keeps their timestamps, so kbuild rebuilds only what changed.
mkdir -p "$out/kmod" "$out/include/uapi/linux"
rm -f "$out"/kmod/*.[ch] "$out"/include/uapi/linux/*.h
cp -p "$top"/kmod/*.[ch] "$out/kmod/"
cp -p "$top"/include/uapi/linux/*.h "$out/include/uapi/linux/"
cp -p "$top/Kbuild" "$top/VERSION" "$out/"

# Do not let a calling make's command-line variables leak into kbuild.
unset MAKEFLAGS MFLAGS MAKELEVEL
log="$out/build.log"
rc=0
nice make -C "$kdir" M="$out" modules >"$log" 2>&1 || rc=$?
cat "$log"
if [ "$rc" != 0 ]; then
	echo "build-kmod.sh: build for $release failed" >&2
	exit "$rc"
fi
if grep -qi 'warning' "$log"; then
	echo "build-kmod.sh: the build for $release printed warnings" >&2
	exit 1
fi
[ -f "$out/vtop.ko" ] || { echo "build-kmod.sh: no $out/vtop.ko" >&2; exit 1; }
echo "build-kmod.sh: $out/vtop.ko"
