#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# vtop VM rig: build the module and the guest binaries for a kernel, pack
# them into a busybox initramfs, boot an installed kernel under QEMU, load
# vtop.ko, run COMMAND (default: the selftest suite) and exit with its status.
# Fails on a kernel splat in the guest's log, a missing end marker (hang or
# crash) and a time-out. See usage() for options and environment.
# shellcheck disable=SC2054 # commas inside QEMU option values
set -euo pipefail

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-$TOP/build}
VM=$TOP/tools/vm
PROG=vtop-vm

usage() {
	cat <<EOF
usage: tools/vm/run.sh [OPTIONS] [-- COMMAND...]

Boot an installed kernel under QEMU with vtop.ko loaded and run COMMAND in
the guest (default: /vtop/bin/run_tests.sh, the whole selftest suite).

  --kernel K       6.1 | 6.12 | debug | a full release (default: 6.12)
  --iommu          q35 machine with intel-iommu; intel_iommu=on iommu=nopt
  --nvme           attach an emulated NVMe controller (serial vtop0001)
                   backed by a fresh sparse image (\$VTOP_VM_NVME_SIZE, 64M)
  --nvmes N        N such controllers (serials vtop0001, vtop0002, ...;
                   implies --nvme), each with its own image
  --nvme-hotplug   with --iommu --nvme: the controller sits behind a PCIe
                   root port (hot-pluggable, QEMU id vtopnvme) and QEMU gets
                   a monitor on a host-only pipe; when the guest prints the
                   console line "VTOP-VM-MONITOR: device_del vtopnvme" the
                   rig sends that command (no other) to the monitor, once
  --mem SIZE       guest memory, at least 1G (default: 1G)
  --smp N          guest CPUs (default: 2)
  --hugepages N    2 MiB hugepages reserved at boot (default: 64)
  --timeout SEC    kill the guest after SEC seconds, 0 = none (default: 900)
  --append ARGS    extra kernel command line arguments (appended last)
  --add PATH       copy PATH into the guest as /add/<basename> (repeatable)
  --pack PATH      copy the host file PATH into the guest at the same path,
                   with the libraries it needs (repeatable; also
                   \$VTOP_VM_PACK, space-separated): plugins and config
                   files a program opens at run time, which ldd cannot see
  --module NAME    also modprobe kernel module NAME before COMMAND
                   (repeatable; uio, uio_pci_generic, loop, ext4 always packed)
  --kmod-args ARGS module parameters for the insmod of vtop.ko
  --no-load        pack vtop.ko but do not load it (/vtop/vtop.ko,
                   "modprobe vtop" works in the guest)
  --no-kmod        rig debugging: neither build nor pack nor load vtop.ko
  --no-build       use the existing build/ outputs, build nothing
  --ko PATH        load this vtop.ko (.ko, .ko.xz, .ko.zst, .ko.gz; e.g. one
                   DKMS built) instead of building build/kmod/RELEASE/vtop.ko
  --expect-log ERE a kernel log record matching ERE must appear (else the run
                   fails), and the first one is no splat (repeatable; for a
                   deliberate finding such as the debug lane's kmemleak
                   canary: any further match is still a splat)
  --shell          interactive shell on the console (Ctrl-A X quits QEMU)
  -h, --help       this text

Environment: VTOP_VM_ACCEL=kvm (default tcg), VTOP_VM_QEMU_OPTS (extra QEMU
options, split on spaces), VTOP_VM_NVME_SIZE, VTOP_VM_KEEP=1 (keep the work
directory), QEMU (binary, default qemu-system-x86_64).

Exit status: COMMAND's status if the guest reached its end marker and the
kernel log is clean; otherwise 124 on a time-out, 125 on a rig failure
(build, boot, missing marker, kernel splat; a failing COMMAND's own status
is kept when it is nonzero).
EOF
}

msg() { echo "$PROG: $*" >&2; }
die() { msg "FAIL: $*"; exit 125; }

kernel=6.12
iommu=0
nvme=0
nvmes=1
nvme_hotplug=0
mem=1G
smp=2
hugepages=64
timeout=900
timeout_set=0
append=""
adds=()
expect_logs=()
# Host files packed at their own path (--pack, $VTOP_VM_PACK).
# shellcheck disable=SC2206
packs=(${VTOP_VM_PACK:-})
# Always packed: uio + uio_pci_generic (NVMe example, ATTACH) and loop +
# ext4 (a scratch ext2 for vtop_badinput_test's file-mapping test).
modules=(uio uio_pci_generic loop ext4 crc32c_generic)
guest_modules=()
kmod_args=""
load=1
kmod=1
build=1
interactive=0
cmd=()
ko_path=""

need_arg() { [ $# -ge 2 ] || die "option $1 needs an argument"; }

while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) need_arg "$@"; kernel=$2; shift ;;
	--iommu) iommu=1 ;;
	--nvme) nvme=1 ;;
	--nvmes) need_arg "$@"; nvme=1; nvmes=$2; shift
		case "$nvmes" in [1-9]) ;; *) die "--nvmes: 1 to 9" ;; esac ;;
	--nvme-hotplug) nvme_hotplug=1 ;;
	--mem) need_arg "$@"; mem=$2; shift ;;
	--smp) need_arg "$@"; smp=$2; shift ;;
	--hugepages) need_arg "$@"; hugepages=$2; shift ;;
	--timeout) need_arg "$@"; timeout=$2; timeout_set=1; shift ;;
	--append) need_arg "$@"; append="$append $2"; shift ;;
	--add) need_arg "$@"; adds+=("$2"); shift ;;
	--pack) need_arg "$@"; packs+=("$2"); shift ;;
	--module) need_arg "$@"; modules+=("$2"); guest_modules+=("$2"); shift ;;
	--kmod-args) need_arg "$@"; kmod_args=$2; shift ;;
	--no-load) load=0 ;;
	--no-kmod) kmod=0; load=0 ;;
	--no-build) build=0 ;;
	--ko) need_arg "$@"; ko_path=$2; shift ;;
	--expect-log) need_arg "$@"; expect_logs+=("$2"); shift ;;
	--shell) interactive=1 ;;
	-h|--help) usage; exit 0 ;;
	--) shift; cmd=("$@"); break ;;
	*) usage >&2; die "unknown option '$1'" ;;
	esac
	shift
done

[ $nvme_hotplug = 0 ] || { [ $nvme = 1 ] && [ $iommu = 1 ]; } ||
	die "--nvme-hotplug needs --nvme and --iommu (a PCIe machine)"
[[ $smp =~ ^[1-9][0-9]*$ ]] || die "--smp: '$smp' is not a CPU count"
[[ $hugepages =~ ^[0-9]+$ ]] || die "--hugepages: '$hugepages' is not a number"
[[ $timeout =~ ^[0-9]+$ ]] || die "--timeout: '$timeout' is not a number of seconds"
# Memory in MiB, for the 1 GiB floor; QEMU takes the same suffixes.
case "$mem" in
*[gG]) mem_mib=$(( ${mem%[gG]} * 1024 )) ;;
*[mM]) mem_mib=${mem%[mM]} ;;
*[0-9]) mem_mib=$mem ;;
*) die "--mem: '$mem' is not a size (e.g. 1G, 1536M)" ;;
esac
[[ $mem_mib =~ ^[0-9]+$ ]] || die "--mem: '$mem' is not a size"
[ "$mem_mib" -ge 1024 ] || die "--mem: at least 1G is needed (got $mem)"
[ $((hugepages * 2)) -le $((mem_mib / 2)) ] ||
	die "--hugepages $hugepages would take more than half of $mem"
if [ ${#cmd[@]} -eq 0 ]; then
	if [ $interactive = 1 ]; then
		cmd=(sh -l)
	else
		cmd=(/vtop/bin/run_tests.sh)
	fi
fi
if [ $interactive = 1 ] && [ $timeout_set = 0 ]; then
	timeout=0
fi

QEMU=${QEMU:-qemu-system-x86_64}
# What the rig runs on the host comes from scripts/deps.sh's "rig" group
# (readelf: binutils, from "base"); the targets that call run.sh install it.
for t in "$QEMU" cpio readelf; do
	command -v "$t" >/dev/null || die "$t not found (scripts/deps.sh rig)"
done
[ -x /bin/busybox ] || die "/bin/busybox not found (package busybox-static)"
# Static: an ELF file without a program interpreter (PT_INTERP).
bb_phdrs=$(readelf -lW /bin/busybox 2>&1) ||
	die "/bin/busybox: readelf failed: $bb_phdrs"
if grep -qw INTERP <<<"$bb_phdrs"; then
	die "/bin/busybox is not static (package busybox-static)"
fi

# --- kernel --------------------------------------------------------------
kinfo=$("$VM/kernels.sh" resolve "$kernel") || die "cannot resolve kernel '$kernel'"
{ read -r krel; read -r kimg; read -r kdir; read -r kmoddir; } <<<"$kinfo"
msg "kernel $krel ($kimg)"

# --- work directory --------------------------------------------------------
mkdir -p "$BUILD/vm"
# Logs of failed runs are kept for a day.
find "$BUILD/vm" -maxdepth 1 -name 'run.*' -mmin +1440 -exec rm -rf {} + 2>/dev/null || true
work=$(mktemp -d "$BUILD/vm/run.XXXXXX")
keep_logs=0
qpid=""
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
	local rc=$?
	# TERM: timeout(1) passes it on to QEMU
	[ -n "$qpid" ] && kill -TERM "$qpid" 2>/dev/null
	if [ "${VTOP_VM_KEEP:-0}" = 1 ]; then
		msg "work directory kept: $work"
	elif [ "$keep_logs" = 1 ]; then
		rm -rf "$work/root" "$work/initrd.img" "$work"/nvme*.img
		msg "logs kept in $work (console.log, kmsg.log)"
	else
		rm -rf "$work"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- build (serialized: several users may share one tree) -----------------
exec 9>"$BUILD/vm/.build.lock"
flock 9

ko=$BUILD/kmod/$krel/vtop.ko
# --ko: a given module file, decompressed for the guest's insmod.
if [ -n "$ko_path" ] && [ $kmod = 1 ]; then
	[ -f "$ko_path" ] || die "--ko $ko_path: no such file"
	case "$ko_path" in
	*.ko) cp "$ko_path" "$work/vtop.ko" ;;
	*.ko.xz) xz -dc "$ko_path" >"$work/vtop.ko" ;;
	*.ko.zst) zstd -q -dc "$ko_path" >"$work/vtop.ko" ;;
	*.ko.gz) gzip -dc "$ko_path" >"$work/vtop.ko" ;;
	*) die "--ko $ko_path: not a .ko file" ;;
	esac || die "--ko $ko_path: cannot decompress it"
	ko=$work/vtop.ko
	msg "module: $ko_path"
fi
if [ $kmod = 1 ] && [ $build = 1 ] && [ -z "$ko_path" ]; then
	[ -x "$TOP/scripts/build-kmod.sh" ] ||
		die "cannot build the module: scripts/build-kmod.sh missing"
	msg "building vtop.ko for $krel"
	nice "$TOP/scripts/build-kmod.sh" "$krel" "$kdir" >&2 ||
		die "building vtop.ko for $krel failed (scripts/build-kmod.sh $krel $kdir)"
fi
if [ $kmod = 1 ]; then
	[ -f "$ko" ] || die "module not built: $ko missing"
	vermagic=$(modinfo -F vermagic "$ko" 2>/dev/null || true)
	[ "${vermagic%% *}" = "$krel" ] ||
		die "$ko was built for '${vermagic%% *}', not $krel"
fi

if [ $build = 1 ]; then
	msg "building guest binaries (make guest-bins)"
	nice make -s -C "$TOP" guest-bins >&2 ||
		die "make guest-bins failed (--no-build packs what build/ holds)"
fi

# --- initramfs -----------------------------------------------------------
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,root,etc,add} \
	"$root"/{lib,lib64,usr/lib}/x86_64-linux-gnu \
	"$root"/vtop/{bin,tests,etc} "$root/lib/modules/$krel"

cp /bin/busybox "$root/bin/busybox"
for a in $(/bin/busybox --list); do
	[ "$a" = busybox ] || ln -s busybox "$root/bin/$a"
done
# kmod's tools (modprobe, insmod, lsmod, ...) take precedence over busybox's
# (PATH has /usr/sbin first): they read compressed modules and
# modules.dep.bin exactly as libkmod does.
if [ -x /usr/bin/kmod ]; then
	cp /usr/bin/kmod "$root/usr/bin/kmod"
	for a in modprobe insmod rmmod lsmod depmod modinfo; do
		ln -s ../bin/kmod "$root/usr/sbin/$a"
	done
fi
if [ "$(id -u)" = 0 ]; then
	mknod -m 600 "$root/dev/console" c 5 1
	mknod -m 666 "$root/dev/null" c 1 3
fi
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
	'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$root/etc/passwd"
printf '%s\n' 'root:x:0:' 'tty:x:5:' 'nogroup:x:65534:' >"$root/etc/group"
mkdir -p "$root/etc/modprobe.d"

install -m 755 "$VM/init" "$root/init"
cp "$VM/splat.ere" "$VM/splat-ignore.ere" "$root/vtop/etc/"
if [ -f "$TOP/selftests/run_tests.sh" ]; then
	install -m 755 "$TOP/selftests/run_tests.sh" "$root/vtop/bin/run_tests.sh"
fi
# run_tests.sh runs every program under vtop_check.sh, its sibling.
if [ -f "$TOP/selftests/vtop_check.sh" ]; then
	install -m 755 "$TOP/selftests/vtop_check.sh" "$root/vtop/bin/vtop_check.sh"
fi

if [ $kmod = 1 ]; then
	cp "$ko" "$root/vtop/vtop.ko"
	mkdir -p "$root/lib/modules/$krel/extra"
	cp "$ko" "$root/lib/modules/$krel/extra/vtop.ko"
fi

# Test binaries (and tests.list), tools, libvtop.
if [ -d "$BUILD/selftests" ]; then
	(cd "$BUILD/selftests" &&
	 find . \( -name '*.o' -o -name '*.d' -o -name '*.a' \) -prune -o -print0 |
	 cpio --null -pdm --quiet "$root/vtop/tests")
fi
if [ -d "$BUILD/bin" ]; then
	cp -a "$BUILD/bin/." "$root/vtop/bin/"
fi
if compgen -G "$BUILD/lib/libvtop.so*" >/dev/null; then
	cp -a "$BUILD"/lib/libvtop.so* "$root/usr/lib/x86_64-linux-gnu/"
	# libvtop dlopen()s libkmod.so.2 for VTOP_ENV_LOAD_MODULE: ldd
	# cannot see it, so carry it (and, below, what it needs) explicitly.
	kmodlib=$(ldconfig -p | awk '$1 == "libkmod.so.2" && /x86-64/ && !p { p = $NF } END { print p }')
	[ -n "$kmodlib" ] || die "libkmod.so.2 not found (package libkmod2)"
	packs+=("$kmodlib")
fi
for p in "${adds[@]}"; do
	[ -e "$p" ] || die "--add $p: no such file or directory"
	b=$(basename "$p")
	[ -e "$root/add/$b" ] && die "--add $p: /add/$b added twice"
	cp -a -L "$p" "$root/add/$b"
done

for p in "${packs[@]}"; do
	case "$p" in /*) ;; *) die "--pack $p: not an absolute path" ;; esac
	[ -f "$p" ] || die "--pack $p: no such file"
	mkdir -p "$root$(dirname "$p")"
	cp -L "$p" "$root$p"
done

# Kernel modules from the kernel package (decompressed so that busybox
# insmod can load them too), plus vtop.ko under extra/, with depmod's index
# files so that "modprobe NAME" works in the guest.
pack_module() {
	local src=$1 rel dst
	rel=${src#*/lib/modules/"$krel"/}
	[ "$rel" != "$src" ] || die "module $src is not under lib/modules/$krel"
	dst=$root/lib/modules/$krel/${rel%.*}
	mkdir -p "$(dirname "$dst")"
	case "$src" in
	*.ko) cp "$src" "$root/lib/modules/$krel/$rel" ;;
	*.ko.xz) xz -dc "$src" >"$dst" ;;
	*.ko.zst) zstd -q -dc "$src" >"$dst" ;;
	*.ko.gz) gzip -dc "$src" >"$dst" ;;
	*) die "module $src: unknown compression" ;;
	esac
}
if [ -d "$kmoddir" ]; then
	base=${kmoddir%/lib/modules/"$krel"}
	[ "$base" = "$kmoddir" ] && die "unexpected module directory $kmoddir"
	for m in "${modules[@]}"; do
		deps=$(modprobe -d "${base:-/}" -S "$krel" --show-depends "$m" 2>&1) ||
			die "kernel module $m not found for $krel: $deps"
		while read -r kind path _; do
			case "$kind" in
			insmod) pack_module "$path" ;;
			builtin) ;;
			*) die "modprobe --show-depends $m: unexpected '$kind $path'" ;;
			esac
		done <<<"$deps"
	done
	for f in modules.builtin modules.builtin.modinfo modules.order; do
		[ -f "$kmoddir/$f" ] && cp "$kmoddir/$f" "$root/lib/modules/$krel/"
	done
else
	msg "no module directory $kmoddir: kernel modules (${modules[*]}) not packed (built-in?)"
	touch "$root/lib/modules/$krel/modules.builtin" \
	      "$root/lib/modules/$krel/modules.order"
fi
depmod -b "$root" "$krel" || die "depmod for the guest's modules failed"

# Every shared library any carried ELF executable or library needs, at its
# host path (the guest has no ld.so.cache; the loader searches the Debian
# multiarch directories, where libvtop is put too).
is_elf() { [ "$(head -c 4 "$1" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ]; }
libs=$work/libs
: >"$libs"
while IFS= read -r -d '' f; do
	case "$f" in *.ko|*/bin/busybox) continue ;; esac
	is_elf "$f" || continue
	out=$(LD_LIBRARY_PATH="$BUILD/lib" ldd "$f" 2>&1) || {
		# "not a dynamic executable": static, nothing to add
		grep -q 'not a dynamic executable' <<<"$out" && continue
		die "ldd ${f#"$root"}: $out"
	}
	if grep -q 'not found' <<<"$out"; then
		die "${f#"$root"} needs a library that is not available: $(grep 'not found' <<<"$out" | tr -s ' \t' ' ')"
	fi
	sed -nE 's/.*=> (\/[^ ]+) \(0x.*/\1/p; s/^[[:space:]]*(\/[^ ]+) \(0x.*/\1/p' \
		<<<"$out" >>"$libs"
done < <(find "$root" -type f -print0)
sort -u "$libs" | while read -r l; do
	case "$l" in
	"$BUILD"/lib/libvtop.so*) ;; # already in the multiarch directory
	*)
		[ -e "$root$l" ] && continue
		mkdir -p "$root$(dirname "$l")"
		cp -L "$l" "$root$l"
		;;
	esac
done

# The command and the guest's settings.
quote() { local s=$1; printf "'%s'" "${s//\'/\'\\\'\'}"; }
{
	echo "VTOP_VM_LOAD=$load"
	echo "VTOP_VM_KMOD_ARGS=$(quote "$kmod_args")"
	echo "VTOP_VM_INTERACTIVE=$interactive"
	echo "VTOP_VM_MODULES=$(quote "${guest_modules[*]:-}")"
	printf 'VTOP_VM_KERNEL=%s\nVTOP_VM_IOMMU=%s\nVTOP_VM_NVME=%s\n' \
		"$(quote "$kernel")" "$iommu" "$nvme"
	printf 'export VTOP_VM_KERNEL VTOP_VM_IOMMU VTOP_VM_NVME\n'
	printf 'set --'
	for a in "${cmd[@]}"; do printf ' %s' "$(quote "$a")"; done
	echo
} >"$root/vtop/vm.conf"

(cd "$root" && find . -print0 | LC_ALL=C sort -z |
 cpio --null -o -H newc -R 0:0 --quiet) | gzip -1 >"$work/initrd.img" ||
	die "cannot write the initramfs"

flock -u 9
exec 9>&-

# --- QEMU ----------------------------------------------------------------
cmdline="console=ttyS0 panic=-1 loglevel=4 log_buf_len=4M"
cmdline="$cmdline hugepages=$hugepages transparent_hugepage=madvise"
# TCG guests on a loaded host can be starved for seconds: raise the stall
# and lock-up detectors' thresholds (a real hang still hits --timeout).
cmdline="$cmdline rcupdate.rcu_cpu_stall_timeout=60 watchdog_thresh=60"
[ "$kernel" = debug ] && cmdline="$cmdline panic_on_warn=1 kmemleak=on"

accel=${VTOP_VM_ACCEL:-tcg}
case "$accel" in
tcg) qargs=(-accel tcg -cpu max) ;;
kvm) qargs=(-accel kvm -cpu host) ;;
*) die "VTOP_VM_ACCEL=$accel: use tcg or kvm" ;;
esac
qargs+=(-nodefaults -no-user-config -display none -no-reboot
	-m "$mem" -smp "$smp" -kernel "$kimg" -initrd "$work/initrd.img")
if [ $iommu = 1 ]; then
	if [ "$accel" = kvm ]; then
		qargs+=(-M q35,kernel-irqchip=split)
	else
		qargs+=(-M q35)
	fi
	# Must come before the devices it translates for.
	qargs+=(-device intel-iommu,intremap=on)
	cmdline="$cmdline intel_iommu=on iommu=nopt"
fi
if [ $nvme = 1 ]; then
	truncate -s "${VTOP_VM_NVME_SIZE:-64M}" "$work/nvme.img"
	qargs+=(-drive "file=$work/nvme.img,if=none,id=nvm,format=raw")
	if [ $nvme_hotplug = 1 ]; then
		# A root port makes the slot hot-pluggable; the monitor is a
		# pipe pair only the host opens (QEMU reads mon.in, writes
		# mon.out).
		mkfifo "$work/mon.in" "$work/mon.out"
		qargs+=(-device pcie-root-port,id=vtoprp,bus=pcie.0,chassis=1,slot=1
			-device nvme,id=vtopnvme,serial=vtop0001,drive=nvm,bus=vtoprp
			-chardev "pipe,id=vtopmon,path=$work/mon"
			-mon chardev=vtopmon,mode=readline)
	else
		qargs+=(-device nvme,serial=vtop0001,drive=nvm)
	fi
	for ((i = 2; i <= nvmes; i++)); do
		truncate -s "${VTOP_VM_NVME_SIZE:-64M}" "$work/nvme$i.img"
		qargs+=(-drive "file=$work/nvme$i.img,if=none,id=nvm$i,format=raw"
			-device "nvme,serial=vtop000$i,drive=nvm$i")
	done
fi
if [ $interactive = 1 ]; then
	qargs+=(-serial mon:stdio)
else
	qargs+=(-serial stdio)
fi
qargs+=(-serial "file:$work/kmsg.log")
# shellcheck disable=SC2206
[ -n "${VTOP_VM_QEMU_OPTS:-}" ] && qargs+=($VTOP_VM_QEMU_OPTS)
cmdline="$cmdline${append}"
qargs+=(-append "$cmdline")

msg "booting: ${cmd[*]}  [cmdline: $cmdline]"
start=$(date +%s)
touch "$work/console.log" "$work/kmsg.log"
qrc=0
if [ $interactive = 1 ]; then
	if [ "$timeout" -gt 0 ]; then
		timeout --foreground -k 5 "$timeout" "$QEMU" "${qargs[@]}" || qrc=$?
	else
		"$QEMU" "${qargs[@]}" || qrc=$?
	fi
else
	# A guest that never reaches init's "running:" line (a TCG hang or
	# crash in early boot: seen as a silent hang and as an int3 Oops in
	# sched_clock_cpu, each once in ~100 boots) is booted once more: the
	# command never ran, so nothing it tests is hidden. A second failure
	# stands. The boot watchdog: $VTOP_VM_BOOT_TIMEOUT seconds (240).
	boot_timeout=${VTOP_VM_BOOT_TIMEOUT:-240}
	booted_re='^vtop-vm: kernel .* running: '
	attempt=1
	while :; do
	rm -f "$work/console.fifo" "$work/boot-timedout"
	: >"$work/console.log"
	: >"$work/kmsg.log"
	# QEMU in the background so that the EXIT trap can stop it; the
	# console goes through sed (CRLF -> LF) to stdout and console.log.
	mkfifo "$work/console.fifo"
	sed -u 's/\r//g' <"$work/console.fifo" | tee "$work/console.log" &
	spid=$!
	timeout -k 5 "$timeout" "$QEMU" "${qargs[@]}" </dev/null \
		>"$work/console.fifo" 2>&1 &
	qpid=$!
	(
		n=0
		while kill -0 $qpid 2>/dev/null; do
			grep -q -E "$booted_re" "$work/console.log" && exit 0
			if [ $n -ge $((boot_timeout * 2)) ]; then
				: >"$work/boot-timedout"
				kill $qpid 2>/dev/null
				exit 0
			fi
			n=$((n + 1))
			sleep 0.5
		done
	) &
	bpid=$!
	if [ $nvme_hotplug = 1 ]; then
		# The monitor's output is only logged; the one command the
		# guest may ask for is sent once, when its line shows up.
		cat "$work/mon.out" >"$work/monitor.log" 2>/dev/null &
		mpid=$!
		(
			while kill -0 $qpid 2>/dev/null; do
				if grep -qx 'VTOP-VM-MONITOR: device_del vtopnvme' \
					"$work/console.log"; then
					msg "monitor: device_del vtopnvme"
					echo "device_del vtopnvme" >"$work/mon.in"
					break
				fi
				sleep 0.5
			done
		) &
		wpid=$!
	fi
	wait $qpid || qrc=$?
	if [ $nvme_hotplug = 1 ]; then
		kill "$wpid" "$mpid" 2>/dev/null || true
		wait "$wpid" "$mpid" 2>/dev/null || true
	fi
	kill "$bpid" 2>/dev/null || true
	wait "$bpid" 2>/dev/null || true
	qpid=""
	wait $spid || true
	if [ $attempt = 1 ] && ! grep -q -E "$booted_re" "$work/console.log"; then
		why="no init line on the console (exit $qrc)"
		if [ -e "$work/boot-timedout" ]; then
			why="no init line within ${boot_timeout}s"
		fi
		msg "RETRY: the guest did not boot ($why); its console:"
		tail -n 15 "$work/console.log" | sed 's/^/  | /' >&2
		attempt=2
		qrc=0
		continue
	fi
	break
	done
	if [ -e "$work/boot-timedout" ]; then
		qrc=124
	fi
fi
elapsed=$(( $(date +%s) - start ))

# --- verdict ---------------------------------------------------------------
fail=""
if [ -e "$work/boot-timedout" ]; then
	fail="the guest did not boot within ${boot_timeout}s, twice"
elif [ "$timeout" -gt 0 ] && [ $qrc = 124 ]; then
	fail="time-out: the guest did not finish within ${timeout}s"
elif [ $qrc != 0 ]; then
	fail="QEMU exited with status $qrc"
fi

rc=""
if [ $interactive = 0 ]; then
	# A kernel message can land on the marker's line after the status
	# ("VTOP-VM-EXIT: 0[   43.15] hrtimer: ..."): anything but a digit may
	# follow it.
	rc=$(sed -n 's/^.*VTOP-VM-EXIT: \([0-9]\+\)\([^0-9].*\)\{0,1\}$/\1/p' \
		"$work/console.log" | tail -n 1)
	[ -n "$rc" ] || fail="${fail:+$fail; }no end marker on the console (guest hung, crashed or rebooted)"
fi

# Kernel records (facility 0: "<level>,<seq>,<usec>,<flags>;text"), text only.
sed -nE 's/^[0-7],[0-9]+,[0-9]+,[^;]*;//p' "$work/kmsg.log" >"$work/kernel.log"
if [ $interactive = 0 ] &&
   ! sed -nE 's/^[0-9]+,[0-9]+,[0-9]+,[^;]*;//p' "$work/kmsg.log" |
	grep -q '^VTOP-VM-KMSG-END$'; then
	fail="${fail:+$fail; }the kernel log is incomplete (no VTOP-VM-KMSG-END record)"
	# The stream stopped early (panic, hang): what the kernel printed on
	# the console after it counts too.
	sed -nE 's/^\[ *[0-9]+\.[0-9]+\] //p' "$work/console.log" >>"$work/kernel.log"
fi
# Expected records: each must be there; its first match is not scanned.
cp "$work/kernel.log" "$work/kernel-scan.log"
for ere in "${expect_logs[@]}"; do
	n=$(grep -n -E -m 1 -- "$ere" "$work/kernel-scan.log" | cut -d: -f1) || n=""
	if [ -z "$n" ]; then
		fail="${fail:+$fail; }no kernel log record matches the expected '$ere'"
		continue
	fi
	sed -i "${n}d" "$work/kernel-scan.log"
done
splats=$(grep -E -f <(grep -vE '^(#|$)' "$VM/splat.ere") "$work/kernel-scan.log" |
	 grep -vE -f <(grep -vE '^(#|$)' "$VM/splat-ignore.ere") || true)
if [ -n "$splats" ]; then
	fail="${fail:+$fail; }kernel log reports problems"
	{
		echo "$PROG: ---- kernel log problems ($krel) ----"
		printf '%s\n' "$splats" | head -n 20
		echo "$PROG: ---- kernel log from the first one ----"
		first=$(head -n 1 <<<"$splats")
		grep -n -F -x -m 1 -- "$first" "$work/kernel.log" | cut -d: -f1 |
			{ read -r n; tail -n +"$n" "$work/kernel.log" | head -n 120; }
		echo "$PROG: ----"
	} >&2
fi

if [ -n "$fail" ]; then
	keep_logs=1
	msg "FAIL ($krel, ${elapsed}s): $fail"
	if [ -n "$rc" ] && [ "$rc" != 0 ]; then
		exit "$rc"
	fi
	[ $qrc = 124 ] && exit 124
	exit 125
fi
if [ $interactive = 1 ]; then
	msg "done ($krel, ${elapsed}s)"
	exit 0
fi
if [ "$rc" = 0 ]; then
	msg "PASS ($krel, ${elapsed}s)"
else
	msg "command failed with status $rc ($krel, ${elapsed}s)"
fi
exit "$rc"
