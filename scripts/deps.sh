#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Install the Debian 12 packages a vtop target needs, when they are missing.
# Every make target that runs a program or compiles a file calls this with
# exactly its groups first; nothing else is assumed to be installed but what
# debootstrap --variant=minbase gives, plus git and make (make fresh-check
# proves it). Idempotent; needs root only when something is missing.
#
# Usage: scripts/deps.sh [GROUP...]        install (default: base vm)
#        scripts/deps.sh --list [GROUP...] print the packages, one a line
#
# Groups (each includes the groups named in its description):
#   base        build the library, tools and host tests; make install
#               (gcc, make, libc headers, binutils: ar, nm, readelf)
#   ksrc        linux-source-6.12: the kselftest harness headers and
#               checkpatch.pl are taken from it (xz-utils unpacks it)
#   rig         base, ksrc and the QEMU rig (tools/vm/run.sh): qemu,
#               busybox-static, cpio, gzip/xz/zstd for kernel modules,
#               liburing-dev (the guest binaries include the benchmarks)
#   k6.1 k6.12  a Debian kernel image and its headers (boot + module build);
#   kRELEASE    any other full release: linux-image-RELEASE + headers
#   kdebug      nothing (the debug kernel is built by the debug group)
#   vm          rig k6.1 k6.12
#   checkpatch  ksrc and perl (checkpatch.pl needs more than perl-base)
#   dkms        base k6.1 k6.12 and dkms
#   debug       rig and what building the debug kernel takes
#   bench       rig, gnuplot (the report's plot), linux-perf (perf for
#               bench/profile.sh in the guests); kernels come from
#               BENCH_KERNELS (mk/bench.mk adds their k groups)
#   fresh       debootstrap and git (make fresh-check)
#   rdma        rig and soft-RoCE for the RDMA MR-cache example: libibverbs
#               (headers, the rxe provider), libnl, the rdma tool (iproute2)
#   abi         base, abigail-tools (abidiff: the libvtop ABI baseline) and
#               gcc-multilib, g++ (vtop.h compiled -m32 and as C++)
#               (make host-check)
#   man         mandoc (make man-check: mandoc -Tlint of man/)
#   caps        libcap2-bin (setcap/getcap, packed into a guest by make
#               caps-check)
#   deb         base, man and the Debian packaging tools (make deb;
#               build-essential: dpkg-buildpackage checks for it)
#   ksft        rig (ksrc: the kernel-tree subset) and rsync, which
#               kselftest's lib.mk installs with (make ksft-check)
#   dpdk        rig and DPDK 22.11 for the packet-memory example: libdpdk-dev
#               (pkg-config libdpdk; it pulls the librte-* libraries the
#               guest carries, e1000 PMD included), tcpdump (reads the
#               pcap QEMU's filter-dump writes) (make dpdk-check)
set -euo pipefail

pkgs_base="gcc make libc6-dev pkg-config libkmod-dev kmod binutils"
pkgs_ksrc="linux-source-6.12 xz-utils"
pkgs_rig="qemu-system-x86 busybox-static cpio gzip xz-utils zstd liburing-dev"
pkgs_k61="linux-image-amd64 linux-headers-amd64"
pkgs_k612="linux-image-6.12-amd64 linux-headers-6.12-amd64"
pkgs_checkpatch="perl"
pkgs_dkms="dkms"
pkgs_debug="flex bison bc perl libelf-dev libssl-dev"
pkgs_bench="gnuplot-nox linux-perf"
pkgs_fresh="debootstrap git"
pkgs_rdma="libibverbs-dev libibverbs1 ibverbs-providers libnl-3-200 libnl-route-3-200 iproute2"
pkgs_abi="abigail-tools gcc-multilib g++"
pkgs_man="mandoc"
pkgs_caps="libcap2-bin"
pkgs_deb="build-essential debhelper dh-dkms dpkg-dev fakeroot lintian"
pkgs_ksft="rsync"
pkgs_dpdk="libdpdk-dev librte-net-e1000-23 librte-mempool-ring23 librte-bus-pci23 tcpdump"

list=0
if [ "${1:-}" = --list ]; then
	list=1
	shift
fi
groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=(base vm)

want=""
add() {
	local g
	for g in "$@"; do
		case "$g" in
		base) want="$want $pkgs_base" ;;
		ksrc) want="$want $pkgs_ksrc" ;;
		rig) add base ksrc; want="$want $pkgs_rig" ;;
		k6.1) want="$want $pkgs_k61" ;;
		k6.12) want="$want $pkgs_k612" ;;
		kdebug) ;;
		k[0-9]*.*-*) want="$want linux-image-${g#k} linux-headers-${g#k}" ;;
		vm) add rig k6.1 k6.12 ;;
		checkpatch) add ksrc; want="$want $pkgs_checkpatch" ;;
		dkms) add base k6.1 k6.12; want="$want $pkgs_dkms" ;;
		debug) add rig; want="$want $pkgs_debug" ;;
		bench) add rig; want="$want $pkgs_bench" ;;
		fresh) want="$want $pkgs_fresh" ;;
		rdma) add rig; want="$want $pkgs_rdma" ;;
		abi) add base; want="$want $pkgs_abi" ;;
		man) want="$want $pkgs_man" ;;
		caps) want="$want $pkgs_caps" ;;
		deb) add base man; want="$want $pkgs_deb" ;;
		ksft) add rig; want="$want $pkgs_ksft" ;;
		dpdk) add rig; want="$want $pkgs_dpdk" ;;
		*) echo "deps.sh: unknown group '$g'" >&2; exit 2 ;;
		esac
	done
}
add "${groups[@]}"
want=$(printf '%s\n' $want | awk '!seen[$0]++')

if [ $list = 1 ]; then
	printf '%s\n' $want
	exit 0
fi

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
