#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The packages' part of the fresh-machine check, run by scripts/fresh-check.sh
# inside its new Debian root, in the clone, after `make demo`:
#
#   1. make deb (installs its own package group; lintian must be clean);
#   2. apt-get install ./vtop-dkms_*.deb ./libvtop0_*.deb ./libvtop-dev_*.deb
#      ./vtop-tools_*.deb, with the two Debian kernels and their headers
#      installed first (scripts/deps.sh dkms): DKMS must have built and
#      installed vtop.ko for both;
#   3. examples/register.c, copied out of the tree, compiled with nothing but
#      `pkg-config --cflags --libs libvtop` of the installed -dev package;
#   4. that program run in a 6.12 guest booted with the DKMS-built module
#      (tools/vm/run.sh --ko) and the packaged libvtop.so (an empty BUILD
#      directory, so nothing of the tree's build is packed).
#
# Prints "fresh-deb: ..." lines that fresh-check.sh's verdict looks for.
set -euo pipefail

cd "$(dirname "$0")/.."
say() { echo "fresh-deb: $*"; }
trap 'say "FAIL: line $LINENO: $BASH_COMMAND"' ERR

say "make deb"
make deb
debs=()
for p in vtop-dkms libvtop"$(cat libvtop/SOVERSION)" libvtop-dev vtop-tools; do
	f=$(ls build/deb/"${p}"_*.deb)
	debs+=("./$f")
done

scripts/deps.sh dkms
say "apt-get install ${debs[*]}"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	"${debs[@]}"
say "installed: $(dpkg-query -W -f='${Package} ${Version}, ' vtop-dkms libvtop-dev vtop-tools)"
getent group vtop >/dev/null && say "group vtop exists"

ko612=""
for k in 6.1 6.12; do
	rel=$(tools/vm/kernels.sh resolve "$k" | sed -n 1p)
	st=$(dkms status -m vtop -k "$rel" 2>&1 || true)
	ko=$(find "/lib/modules/$rel/updates/dkms" -name 'vtop.ko*' 2>/dev/null | sed -n 1p)
	if [[ $st == *": installed"* ]] && [ -n "$ko" ]; then
		say "dkms built vtop for $k ($rel): $ko"
	else
		say "dkms did NOT build vtop for $k ($rel): ${st:-no status}"
	fi
	[ "$k" = 6.12 ] && ko612=$ko
done

tmp=$(mktemp -d /tmp/fresh-deb.XXXXXX)
cp examples/register.c "$tmp/"
# shellcheck disable=SC2046 # pkg-config's words
(cd "$tmp" && cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -o vtop-pkg-register \
	register.c $(pkg-config --cflags --libs libvtop))
say "compiled examples/register.c with: $(pkg-config --cflags --libs libvtop)"
# The library the loader picks, and the package that owns it.
lib=$(ldd "$tmp/vtop-pkg-register" | sed -nE 's/^[[:space:]]*libvtop\.so\.[0-9]+ => ([^ ]+) .*/\1/p')
owner=$( [ -n "$lib" ] && dpkg -S "$(readlink -f "$lib")" 2>/dev/null | cut -d: -f1 || true)
say "libvtop.so the loader picks: ${lib:-none} (package ${owner:-none})"
if [ "$owner" = "libvtop$(cat libvtop/SOVERSION)" ]; then
	say "it links the packaged libvtop.so"
fi

[ -n "$ko612" ] || { say "no DKMS-built module for 6.12: no guest run"; exit 1; }
mkdir -p "$tmp/build"
BUILD=$tmp/build tools/vm/run.sh --kernel 6.12 --no-build --ko "$ko612" \
	--add "$tmp/vtop-pkg-register" -- /add/vtop-pkg-register
say "guest PASS"
