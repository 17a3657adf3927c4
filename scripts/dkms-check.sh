#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Check the DKMS packaging on this host: register a copy of the module
# sources with dkms, build it for every given kernel (default: both Debian
# kernels the project supports), then remove it again. Nothing is installed
# or loaded. Idempotent: a previous registration of this version is removed
# first. Needs root (dkms writes /usr/src and /var/lib/dkms).
# Usage: scripts/dkms-check.sh [RELEASE...]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
version=$(cat "$top/VERSION")
name=vtop
releases=("$@")
if [ ${#releases[@]} -eq 0 ]; then
	for k in 6.1 6.12; do
		releases+=("$("$top/tools/vm/kernels.sh" resolve "$k" | head -n 1)")
	done
fi

command -v dkms >/dev/null || { echo "dkms-check.sh: dkms is not installed (scripts/deps.sh vm)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "dkms-check.sh: must run as root" >&2; exit 1; }

cleanup() {
	dkms remove -m "$name" -v "$version" --all >/dev/null 2>&1 || true
	rm -rf "/usr/src/$name-$version"
}

# The tree dkms gets: only what the module build needs.
stage=$(mktemp -d)
trap 'rm -rf "$stage"; cleanup' EXIT
mkdir -p "$stage/kmod" "$stage/include/uapi/linux"
cp -p "$top/dkms.conf" "$top/Kbuild" "$top/VERSION" "$stage/"
cp -p "$top"/kmod/*.[ch] "$stage/kmod/"
cp -p "$top"/include/uapi/linux/*.h "$stage/include/uapi/linux/"

cleanup
dkms add "$stage"
for r in "${releases[@]}"; do
	[ -f "/lib/modules/$r/build/Makefile" ] || {
		echo "dkms-check.sh: no headers for $r" >&2; exit 1; }
	if ! dkms build -m "$name" -v "$version" -k "$r"; then
		cat "/var/lib/dkms/$name/$version/build/make.log" >&2 || true
		echo "dkms-check.sh: dkms build for $r failed" >&2
		exit 1
	fi
	ko=$(find "/var/lib/dkms/$name/$version/$r" -name "$name.ko*" | head -n1)
	[ -n "$ko" ] || { echo "dkms-check.sh: no module for $r" >&2; exit 1; }
	log=/var/lib/dkms/$name/$version/$r/$(uname -m)/log/make.log
	[ -f "$log" ] || { echo "dkms-check.sh: no $log" >&2; exit 1; }
	if grep -qi warning "$log"; then
		cat "$log" >&2
		echo "dkms-check.sh: the build for $r printed warnings" >&2
		exit 1
	fi
	echo "dkms-check.sh: built $ko"
done
dkms status -m "$name" -v "$version"
echo "dkms-check.sh: ok (${releases[*]})"
