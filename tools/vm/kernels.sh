#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Resolve a kernel name for the VM rig.
#
#   kernels.sh resolve NAME   print four lines: release, image, KDIR, and the
#                             module directory (may not exist for "debug")
#   kernels.sh list           installed Debian kernels usable by the rig
#
# NAME is "6.1" or "6.12" (the newest installed 6.1.* / 6.12.* release that
# has /boot/vmlinuz-R and headers), "debug" (tools/debug-kernel/build.sh,
# which prints a directory holding bzImage, build/ and release; it builds the
# kernel first if it is not cached), or a full release string used as is.
set -euo pipefail

TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}

die() { echo "kernels.sh: $*" >&2; exit 1; }

installed() {
	local d r
	for d in /lib/modules/*/; do
		r=$(basename "$d")
		[ -e "/boot/vmlinuz-$r" ] && [ -d "/lib/modules/$r/build" ] &&
			echo "$r"
	done | sort -V
}

resolve() {
	local name=$1 rel dir
	case "$name" in
	debug)
		[ -x "$TOP/tools/debug-kernel/build.sh" ] ||
			die "debug kernel: $TOP/tools/debug-kernel/build.sh missing"
		dir=$("$TOP/tools/debug-kernel/build.sh" | tail -n 1) ||
			die "debug kernel: tools/debug-kernel/build.sh failed"
		[ -f "$dir/bzImage" ] || die "debug kernel: no $dir/bzImage"
		[ -f "$dir/release" ] || die "debug kernel: no $dir/release"
		[ -d "$dir/build" ] || die "debug kernel: no $dir/build"
		rel=$(cat "$dir/release")
		echo "$rel"
		echo "$dir/bzImage"
		echo "$dir/build"
		# Modules installed with INSTALL_MOD_PATH=$dir/modules, if any.
		echo "$dir/modules/lib/modules/$rel"
		return
		;;
	[0-9]*.[0-9]*)
		if [ -e "/boot/vmlinuz-$name" ]; then
			rel=$name
		else
			# "6.1" must not match 6.12.*: the series is followed by "."
			rel=$(installed |
			      grep -E "^${name//./\\.}\." | tail -n 1 || true)
		fi
		;;
	*)
		rel=$name
		;;
	esac
	[ -n "$rel" ] || die "no installed kernel matches '$name' (installed: $(installed | tr '\n' ' '))"
	[ -e "/boot/vmlinuz-$rel" ] || die "kernel '$rel': /boot/vmlinuz-$rel not found"
	[ -d "/lib/modules/$rel/build" ] ||
		die "kernel '$rel': headers /lib/modules/$rel/build not found"
	echo "$rel"
	echo "/boot/vmlinuz-$rel"
	echo "/lib/modules/$rel/build"
	echo "/lib/modules/$rel"
}

case "${1:-}" in
resolve) [ $# -eq 2 ] || die "usage: kernels.sh resolve NAME"; resolve "$2" ;;
list) installed ;;
*) echo "usage: kernels.sh resolve NAME | list" >&2; exit 2 ;;
esac
