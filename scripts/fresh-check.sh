#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make fresh-check: the README's promise that `make demo` works as the first
# command on a fresh Debian 12 machine, tested. A minimal Debian root
# (debootstrap --variant=minbase, plus git and make: the only things the
# README assumes) gets a clean clone of the committed HEAD of this checkout,
# and `make demo` runs in it as root, as a new user would run it; the
# project's own scripts (scripts/deps.sh) must install everything else. The
# check fails when the command fails or when its output lacks the demo's
# own success lines. Then, in the same root, the Debian packages are built
# and installed as a user would install them (scripts/fresh-deb.sh: make deb,
# apt-get install ./...deb, DKMS builds for both guest kernels, a
# pkg-config-built consumer run in a guest booted with the DKMS-built module);
# FRESH_PKG=0 leaves that out. Ends with "fresh-check: N passed, N failed".
#
# Usage: scripts/fresh-check.sh        (root; called by `make fresh-check`)
#
# The debootstrap result is cached as a pristine tarball keyed on its inputs
# (suite, variant, mirror, --include list, architecture, debootstrap's
# version): ${VTOP_CACHE:-/var/cache/vtop}/fresh/<key>.tar, never modified
# after debootstrap wrote it. Each run unpacks it into a new root and adds
# only the run's environment: the host's Debian apt sources (the same
# mirror), /etc/resolv.conf, a policy-rc.d that keeps package scripts from
# starting services, and hard links (or copies) of the .deb files in the
# host's /var/cache/apt/archives, so that packages already downloaded need
# not be downloaded again (apt still runs `apt-get update` and checks every
# file). proc, sysfs, a private /dev (a tmpfs with the basic nodes; never the
# host's) and devpts are mounted in a private mount namespace (unshare), so
# nothing is left mounted on any exit path; the root is removed at the end.
#
# Environment: VTOP_CACHE, BUILD, FRESH_KEEP=1 (keep the root),
# FRESH_TIMEOUT (seconds for the make commands in the root, default 1800),
# FRESH_TARGETS (default "demo"): other targets to run in the root instead,
# one make each, in order (e.g. "host-check install checkpatch" shows that
# each installs its own groups); the demo's lines are checked when demo is
# one of them, the others by their exit status.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
prog=fresh-check

msg() { echo "$prog: $*"; }
die() { echo "$prog: FAIL: $*" >&2; echo "$prog: 0 passed, 1 failed"; exit 1; }

# ---------------------------------------------------------------------------
# Inside the private mount namespace: mount, run, unmount.
# ---------------------------------------------------------------------------
# Processes whose root directory is $1 (left behind by package scripts or a
# killed command): their pids, one a line.
procs_in_root() {
	local p r
	for p in /proc/[0-9]*; do
		r=$(readlink "$p/root" 2>/dev/null) || continue
		[ "$r" = "$1" ] && echo "${p#/proc/}"
	done
	return 0
}

inner() {
	local root=$1 log=$2 tmo=$3 targets=$4 pkg=$5 rc=0
	# shellcheck disable=SC2317 # invoked by the EXIT trap
	inner_cleanup() {
		local pids
		pids=$(procs_in_root "$root")
		# shellcheck disable=SC2086
		[ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
		for m in dev/shm dev/pts dev sys proc; do
			mountpoint -q "$root/$m" && umount "$root/$m" 2>/dev/null || true
		done
	}
	trap inner_cleanup EXIT
	# Nothing mounted here propagates to the host's namespace.
	mount --make-rprivate /
	mount -t proc proc "$root/proc"
	mount -t sysfs sysfs "$root/sys"
	mount -t tmpfs -o mode=0755,size=16m,nosuid vtop-fresh-dev "$root/dev"
	mknod -m 666 "$root/dev/null" c 1 3
	mknod -m 666 "$root/dev/zero" c 1 5
	mknod -m 666 "$root/dev/full" c 1 7
	mknod -m 666 "$root/dev/random" c 1 8
	mknod -m 666 "$root/dev/urandom" c 1 9
	mknod -m 666 "$root/dev/tty" c 5 0
	ln -s /proc/self/fd "$root/dev/fd"
	ln -s /proc/self/fd/0 "$root/dev/stdin"
	ln -s /proc/self/fd/1 "$root/dev/stdout"
	ln -s /proc/self/fd/2 "$root/dev/stderr"
	mkdir "$root/dev/pts" "$root/dev/shm"
	mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$root/dev/pts"
	ln -s pts/ptmx "$root/dev/ptmx"
	mount -t tmpfs -o mode=1777,nosuid,nodev shm "$root/dev/shm"

	# A new user's login shell: root, a clean environment, no terminal.
	timeout -k 10 "$tmo" chroot "$root" /usr/bin/env -i HOME=/root \
		LANG=C.UTF-8 TERM=dumb \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		FRESH_PKG="$pkg" \
		/bin/bash -c 'set -e; cd /root/vtop
			git log -1 --format="fresh-check: testing %h %s"
			for t in "$@"; do
				echo "fresh-check: make $t"
				make "$t"
			done
			if [ "$FRESH_PKG" = 1 ]; then
				echo "fresh-check: scripts/fresh-deb.sh"
				scripts/fresh-deb.sh
			fi' fresh-check $targets </dev/null >"$log" 2>&1 || rc=$?
	exit "$rc"
}

if [ "${1:-}" = --inner ]; then
	shift
	inner "$@"
fi

# ---------------------------------------------------------------------------
# The host side.
# ---------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot, mounts)"
for t in debootstrap git unshare chroot tar; do
	command -v "$t" >/dev/null || die "$t not found (scripts/deps.sh fresh)"
done

start=$(date +%s)
head=$(git -C "$top" rev-parse --verify HEAD 2>/dev/null) ||
	die "$top is not a git checkout with a commit"
if [ -n "$(git -C "$top" status --porcelain --untracked-files=no)" ]; then
	msg "note: uncommitted changes in $top are not tested; HEAD $(git -C "$top" log -1 --format=%h) is"
fi
# shellcheck disable=SC1091
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$suite" ] || die "no VERSION_CODENAME in /etc/os-release"
arch=$(dpkg --print-architecture)
variant=minbase
include=git,make

# The Debian repositories apt uses (both sources formats, as apt reads
# them): the mirror of the release itself for debootstrap, and every main
# repository of the release, its updates and its security suite for the
# root's sources.list.
targets=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' \
	'Created-By: Packages' "Architecture: $arch" 2>/dev/null | sort -u)
mirror=$(awk -v s="$suite" '$2 == s && $3 == "main" { print $1; exit }' <<<"$targets")
[ -n "$mirror" ] || die "apt has no '$suite main' repository (/etc/apt/sources.list*)"
sources=$(awk -v s="$suite" '$3 == "main" && ($2 == s || $2 == s "-updates" || $2 == s "-security") {
	print "deb " $1 " " $2 " main" }' <<<"$targets")
dbver=$(dpkg-query -W -f='${Version}' debootstrap)

# --- the pristine base, cached -----------------------------------------------
cache=${VTOP_CACHE:-/var/cache/vtop}/fresh
mkdir -p "$cache"
inputs="suite=$suite variant=$variant mirror=$mirror include=$include arch=$arch debootstrap=$dbver"
key=$(printf '%s\n' "$inputs" | sha256sum | cut -c1-16)
base=$cache/$key.tar
exec 8>"$cache/.lock"
flock 8
if [ -f "$base" ]; then
	msg "debootstrap base: cached $base ($inputs)"
else
	msg "debootstrap base: building $base ($inputs)"
	t0=$(date +%s)
	rm -rf --one-file-system "$cache"/debootstrap.*/ "$cache"/*.tar.tmp
	bdir=$(mktemp -d "$cache/debootstrap.XXXXXX")
	trap 'rm -rf --one-file-system "$bdir" "$base.tmp"' EXIT
	chmod 755 "$bdir"	# a root directory's mode, not mktemp's 0700
	# debootstrap mounts proc and sys in the target itself: give it a
	# private namespace so that nothing can be left mounted.
	if ! unshare --mount --propagation private -- debootstrap \
		--variant="$variant" --include="$include" --arch="$arch" \
		"$suite" "$bdir" "$mirror" >"$cache/debootstrap.log" 2>&1; then
		tail -n 30 "$cache/debootstrap.log" >&2
		rm -rf --one-file-system "$bdir"
		die "debootstrap failed (log: $cache/debootstrap.log)"
	fi
	tar -C "$bdir" --numeric-owner --xattrs -cf "$base.tmp" .
	rm -rf --one-file-system "$bdir"
	printf '%s\n' "$inputs" >"$base.inputs"
	mv "$base.tmp" "$base"
	trap - EXIT
	# One base is kept: the others have other inputs.
	for f in "$cache"/*.tar; do
		[ "$f" = "$base" ] || rm -f "$f" "$f.inputs"
	done
	msg "debootstrap base: built in $(($(date +%s) - t0)) s"
fi
flock -u 8
exec 8>&-

# --- a new root ----------------------------------------------------------------
mkdir -p "$build/fresh"
work=$(mktemp -d "$build/fresh/run.XXXXXX")
root=$work/root
log=$build/fresh/demo.log
mkdir "$root"

upid=""
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
	local rc=$? pids
	trap - EXIT
	pids=$(procs_in_root "$root")
	# shellcheck disable=SC2086
	[ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
	if [ -n "$upid" ]; then	# interrupted: the namespace unmounts and exits
		kill -TERM "$upid" 2>/dev/null || true
		wait "$upid" 2>/dev/null || true
	fi
	# The mounts lived in a private namespace; never delete through one.
	if grep -qF " $root/" /proc/self/mountinfo; then
		echo "$prog: $root still has mounts; not removing it" >&2
		rc=1
	elif [ "${FRESH_KEEP:-0}" = 1 ]; then
		msg "root kept: $root"
	else
		rm -rf --one-file-system "$work"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

tar -C "$root" --numeric-owner --xattrs -xpf "$base"
chmod 755 "$root"
printf '%s\n' "$sources" >"$root/etc/apt/sources.list"
rm -f "$root/etc/apt/sources.list.d/"*
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
# .deb files the host already has (apt checks their hashes before use).
# (debootstrap leaves its own .deb files there: those are kept, -n.)
arc=$root/var/cache/apt/archives
if compgen -G "/var/cache/apt/archives/*.deb" >/dev/null; then
	if [ "$(stat -c %d /var/cache/apt/archives)" = "$(stat -c %d "$arc")" ]; then
		cp -l -n /var/cache/apt/archives/*.deb "$arc/"
	else
		cp -n /var/cache/apt/archives/*.deb "$arc/"
	fi
fi
msg "root $root: apt sources: $(paste -sd ';' <<<"$sources"); $(find "$arc" -maxdepth 1 -name '*.deb' | wc -l) .deb files in its apt cache"

# The committed HEAD of this checkout, cloned.
git clone -q --no-hardlinks "$top" "$root/root/vtop"
git -C "$root/root/vtop" checkout -q --detach "$head"

# --- make demo in the root ------------------------------------------------------
targets=${FRESH_TARGETS:-demo}
pkg=${FRESH_PKG:-1}
msg "make $targets in the root$([ "$pkg" = 1 ] && echo ", then the packages (scripts/fresh-deb.sh)") (full output: $log)"
t0=$(date +%s)
rc=0
# In the background: a signal to this script must not wait for the demo.
unshare --mount --propagation private -- "$0" --inner "$root" "$log" \
	"${FRESH_TIMEOUT:-1800}" "$targets" "$pkg" &
upid=$!
wait "$upid" || rc=$?
upid=""
demo_s=$(($(date +%s) - t0))
grep -E '^(fresh-check:|fresh-deb:|deb-lint:|deps\.sh:|vtop-vm:|=== )' "$log" | sed 's/^/  | /' || true

# --- verdict ----------------------------------------------------------------------
n=0 failed=0
t() {	# t NAME CMD...
	local name=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n $name"
	else
		echo "not ok $n $name"
		failed=$((failed + 1))
	fi
}
has() { grep -qE "$1" "$log"; }
# "=== HEADER ===" followed (before the next header) by a line matching RE.
in_step() {
	awk -v h="$1" -v re="$2" '
		/^=== / { on = index($0, "=== " h) == 1; next }
		on && $0 ~ re { found = 1 }
		END { exit !found }' "$log"
}
# The demo's own success lines (tools/demo.sh and the programs it runs).
demo_checks() {
	local kind
	for kind in 4k thp hugetlb; do
		t "vtop pin --kind $kind --check: addresses match pagemap" \
			in_step "pin a 4 MiB $kind buffer" \
			"^check: ok: every page's dma_addr is its pagemap PFN"
	done
	t "libvtop example: consumer map notified" \
		in_step "libvtop: register" '^consumer map: 0x[0-9a-f]+ -> 0x[0-9a-f]+$'
	t "libvtop example: vtop_vtophys" \
		in_step "libvtop: register" '^vtop_vtophys\(0x[0-9a-f]+\) = 0x[0-9a-f]+, [0-9]+ contiguous bytes$'
	t "NVMe driver: DMA round trip verified" \
		in_step "user-space NVMe driver" '^PASS: [0-9]+ bytes written and verified'
	t "guest verdict: vtop-vm: PASS" has '^vtop-vm: PASS \('
}

# The packages' lines (scripts/fresh-deb.sh).
pkg_checks() {
	local k
	t "make deb: lintian reports no error and no unlisted warning" \
		has '^deb-lint: no errors, only accepted warnings$'
	for k in vtop-dkms libvtop-dev vtop-tools; do
		t "apt-get install ./...deb: $k is installed" \
			has "^fresh-deb: installed: .*\\b$k [0-9]"
	done
	t "vtop-tools' postinst created the group vtop" has '^fresh-deb: group vtop exists$'
	for k in 6.1 6.12; do
		t "DKMS built and installed vtop.ko for $k" \
			has "^fresh-deb: dkms built vtop for ${k//./\\.} "
	done
	t "examples/register.c compiled with pkg-config --cflags --libs libvtop" \
		has '^fresh-deb: compiled examples/register.c with: '
	t "... and linked to the packaged libvtop.so" \
		has '^fresh-deb: it links the packaged libvtop.so$'
	t "guest with the DKMS-built module: the consumer map is notified" \
		awk '/^fresh-deb: guest/ { exit } on && /^consumer map: 0x[0-9a-f]+ -> 0x[0-9a-f]+$/ { f = 1 }
		     /^vtop-vm: module: \/lib\/modules\/.*\/updates\/dkms\/vtop\.ko/ { on = 1 }
		     END { exit !f }' "$log"
	t "guest with the DKMS-built module: vtop-vm PASS" has '^fresh-deb: guest PASS$'
}

what="make $targets"
[ "$pkg" = 1 ] && what="$what, then scripts/fresh-deb.sh,"
t "$what exits 0 (status $rc, ${demo_s} s)" test "$rc" = 0
t "scripts/deps.sh installed the packages in the root" has '^deps\.sh: installing:'
case " $targets " in
*" demo "*) demo_checks ;;
esac
[ "$pkg" = 1 ] && pkg_checks

if [ "$failed" != 0 ]; then
	echo "$prog: ---- last 40 lines of $log ----"
	tail -n 40 "$log"
	echo "$prog: ----"
fi
msg "$(($(date +%s) - start)) s in all, make $targets ${demo_s} s"
echo "$prog: $((n - failed)) passed, $failed failed"
[ "$failed" = 0 ]
