#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Install the Debian 12 packages vtop's build, tests, demo and benchmarks
# need, when they are missing. Idempotent; needs root only when something is
# missing. Usage: scripts/deps.sh [GROUP...]   groups: base vm debug bench
set -euo pipefail

base="gcc make libc6-dev pkg-config libkmod-dev kmod xz-utils"
vm="linux-image-amd64 linux-headers-amd64 linux-image-6.12-amd64
    linux-headers-6.12-amd64 linux-source-6.12 qemu-system-x86 busybox-static
    cpio gzip dkms"
debug="flex bison bc libelf-dev libssl-dev"
bench="gnuplot-nox liburing-dev"

groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=(base vm)

want=""
for g in "${groups[@]}"; do
	case "$g" in
	base) want="$want $base" ;;
	vm) want="$want $base $vm" ;;
	debug) want="$want $base $vm $debug" ;;
	bench) want="$want $base $vm $bench" ;;
	*) echo "deps.sh: unknown group '$g'" >&2; exit 2 ;;
	esac
done

missing=""
for p in $want; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps.sh: installing:$missing"
if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing packages and not root; run: apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
echo "deps.sh: done"
