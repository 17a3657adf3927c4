#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Build (or reuse) vtop's debug kernel: Debian's linux-source-6.12 with
# x86_64_defconfig + tools/debug-kernel/config.fragment (KASAN, kmemleak,
# lockdep, fault injection, ...).
#
# Usage: tools/debug-kernel/build.sh [-f]     (-f: rebuild even if cached)
#
# Prints ONE line on stdout: the result directory
#   ${VTOP_CACHE:-/var/cache/vtop}/debug-kernel/<key>
# containing
#   bzImage    the kernel to boot
#   release    `make kernelrelease`: 6.12.N-vtopdbg-<first 8 of key>, so
#              that a module built for one debug kernel never matches
#              (vermagic) another one
#   config     the final .config
#   build/     kbuild output tree, usable as KDIR: make -C <dir>/build M=...
#              (modules_prepare done, Module.symvers present)
#   modules/   INSTALL_MOD_PATH root (lib/modules/<release>/...); the fragment
#              builds everything in, so this holds no driver modules
#   build-seconds  wall time of the cold build
# <key> hashes the source package version, the compiler, the fragment and this
# script, so any change to them builds a new kernel and an unchanged second
# run prints the directory at once. Progress goes to stderr, the full log to
# <dir>/build.log. Concurrent callers serialise on a lock.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fragment=$here/config.fragment
tarball=${VTOP_KSRC_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
srcpkg=linux-source-6.12
jobs=${VTOP_DEBUG_JOBS:-2}
force=0

while getopts f opt; do
	case $opt in
	f) force=1 ;;
	*) echo "usage: $0 [-f]" >&2; exit 2 ;;
	esac
done

msg() { echo "debug-kernel: $*" >&2; }
die() { msg "ERROR: $*"; exit 1; }

[ -r "$tarball" ] || die "$tarball missing (scripts/deps.sh debug installs $srcpkg)"
for t in flex bison bc gcc make; do
	command -v $t >/dev/null || die "$t missing (scripts/deps.sh debug)"
done

pkgver=$(dpkg-query -W -f='${Version}' $srcpkg 2>/dev/null || true)
[ -n "$pkgver" ] || pkgver="unpackaged-$(stat -c %s-%Y "$tarball")"
ccver=$(gcc --version | head -n1)
key=$( { echo "$pkgver"; echo "$ccver"; cat "$fragment" "$0"; } |
	sha256sum | cut -c1-16)

cache=${VTOP_CACHE:-/var/cache/vtop}
if ! mkdir -p "$cache/debug-kernel" 2>/dev/null || [ ! -w "$cache/debug-kernel" ]; then
	cache=${XDG_CACHE_HOME:-$HOME/.cache}/vtop
	mkdir -p "$cache/debug-kernel"
fi
base=$cache/debug-kernel
out=$base/$key
src=$base/src-$(echo "$pkgver" | tr -c 'A-Za-z0-9.+~\n-' _)

# Fast path without the lock: the stamp is written last.
if [ $force = 0 ] && [ -f "$out/done" ]; then
	echo "$out"
	exit 0
fi

exec 9>"$base/.lock"
if ! flock -n 9; then
	msg "waiting for another build of the debug kernel to finish"
	flock 9
fi
if [ $force = 0 ] && [ -f "$out/done" ]; then
	echo "$out"
	exit 0
fi

start=$(date +%s)
rm -rf "$out"
mkdir -p "$out/build"
log=$out/build.log
: >"$log"

run() {
	# Run a step with its output in the log; show the log's tail on failure.
	if ! "$@" >>"$log" 2>&1; then
		tail -n 40 "$log" >&2
		die "failed: $* (full log: $log)"
	fi
}

# The source is extracted once per package version and never built in: every
# configuration builds in its own O= directory.
if [ ! -f "$src/.vtop-extracted" ]; then
	msg "extracting $tarball"
	rm -rf "$src" "$src.tmp"
	mkdir -p "$src.tmp"
	tar -xJf "$tarball" -C "$src.tmp" --strip-components=1
	touch "$src.tmp/.vtop-extracted"
	mv "$src.tmp" "$src"
fi

# A release of its own per configuration (see "release" above).
kmake() {
	nice make -C "$src" O="$out/build" LOCALVERSION="-vtopdbg-${key:0:8}" "$@"
}

msg "configuring (x86_64_defconfig + $(basename "$fragment")) in $out"
run kmake x86_64_defconfig
run "$src/scripts/kconfig/merge_config.sh" -m -O "$out/build" \
	"$out/build/.config" "$fragment"
run kmake olddefconfig

# Every line of the fragment must hold in the final configuration: Kconfig
# silently drops options whose dependencies are missing.
bad=0
while IFS= read -r line; do
	if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
		if ! grep -qxF -- "$line" "$out/build/.config"; then
			got=$(grep -E "^(# )?${BASH_REMATCH[1]}[= ]" "$out/build/.config" || true)
			msg "requested $line, got: ${got:-(absent)}"
			bad=1
		fi
	elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
		if grep -q "^${BASH_REMATCH[1]}=" "$out/build/.config"; then
			msg "requested '$line', got: $(grep "^${BASH_REMATCH[1]}=" "$out/build/.config")"
			bad=1
		fi
	fi
done <"$fragment"
[ $bad = 0 ] || die "configuration does not match $fragment"
cp "$out/build/.config" "$out/config"

msg "building bzImage and modules with -j$jobs (cold build: 10+ minutes, log: $log)"
run kmake -j"$jobs" bzImage modules
run kmake modules_prepare
[ -f "$out/build/Module.symvers" ] ||
	die "no Module.symvers in $out/build"
run kmake INSTALL_MOD_PATH="$out/modules" modules_install
kmake -s kernelrelease >"$out/release" 2>>"$log"
cp "$out/build/arch/x86/boot/bzImage" "$out/bzImage"
echo $(( $(date +%s) - start )) >"$out/build-seconds"

# Keep the cache to one built configuration: older keys are stale.
for d in "$base"/*/; do
	d=${d%/}
	case $(basename "$d") in
	"$key"|src-*) ;;
	*) [ -f "$d/done" ] || [ -d "$d/build" ] && rm -rf "$d" ;;
	esac
done
touch "$out/done"
msg "built $(cat "$out/release") in $(cat "$out/build-seconds")s"
echo "$out"
