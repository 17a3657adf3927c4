#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Run every vtop benchmark and write the report (the body of `make bench`
# and `make bench-smoke`).
#
#   bench/run.sh [--smoke] [--kernels "6.1 6.12"] [--vm-args "ARGS"]
#                [--only LIST] OUTDIR
#
# Host part (native): vtop-bench-translate, vtop-bench-notify and the
# check case of vtop-bench-events (pagemap backend on hugetlb memory; the
# hugetlb pool is grown and restored by the programs). Guest part: vtop-bench-guest in one VM per kernel, booted by
# tools/vm/run.sh. --only LIST (comma list of translate, register, notify,
# events) runs only those benchmarks, on the host and in the guests (no
# guest is booted when none of them runs there), and the smoke check then
# expects only their rows. Raw CSV and logs go to OUTDIR/../tmp/<name>/
# (ignored by git); OUTDIR receives results.csv, results.md and plot.png,
# and the Markdown table is printed.
#
# --smoke: tiny sizes, one VM boot (the first kernel), and a check that
# every benchmark produced every row it should. Nothing about speed is
# asserted. Exit status: 0 when every part ran (and, with --smoke, every
# expected row is there), 1 otherwise.
set -uo pipefail

TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
BUILD=${BUILD:-$TOP/build}
BIN=$BUILD/bin
smoke=0
kernels="6.1 6.12"
vm_args="--mem 2G"
only=translate,register,notify,events,iommu

while [ $# -gt 1 ]; do
	case "$1" in
	--smoke) smoke=1; shift ;;
	--kernels) kernels=$2; shift 2 ;;
	--vm-args) vm_args=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	*) break ;;
	esac
done
usage() {
	echo "usage: bench/run.sh [--smoke] [--kernels LIST] [--vm-args ARGS] [--only LIST] OUTDIR" >&2
	exit "$1"
}
[ $# -eq 1 ] || usage 2
# An option is never an output directory (the loop above leaves the last
# argument alone): refuse it rather than mkdir/rm -rf a path named like one.
case "$1" in
-h | --help) usage 0 ;;
-*) usage 2 ;;
esac
out=$1
mkdir -p "$out" || exit 1
out=$(cd "$out" && pwd)
tmp=$(dirname "$out")/tmp/$(basename "$out")
rm -rf "$tmp"
mkdir -p "$tmp" || exit 1

wanted() {
	case ",$only," in *",$1,"*) return 0 ;; esac
	return 1
}

for p in translate register notify events guest; do
	[ -x "$BIN/vtop-bench-$p" ] || {
		echo "bench/run.sh: $BIN/vtop-bench-$p missing (make bench-bins)" >&2
		exit 1
	}
done

failed=""
step() { echo; echo "=== $* ==="; }

# host NAME PROGRAM ARGS...: run natively, CSV to $tmp/NAME.csv.
host() {
	local name=$1
	shift
	step "host: $*"
	if ! nice -n 5 "$@" > "$tmp/$name.csv" 2> >(tee "$tmp/$name.log" >&2); then
		echo "bench/run.sh: $name failed" >&2
		failed="$failed $name"
	fi
}

if [ $smoke = 1 ]; then
	kernels=${kernels%% *}
	tr_args=(--size 4M --iterations 2000 --repeats 2 --min-time 5)
	no_args=(--regions 1,10 --maps 1,2 --region-sizes 4K,2M --repeats 2
		 --mem-size 8M)
	ev_args=(--cases check --check-size 4M --repeats 2 --min-time 2)
	pr_args=(2 -)
	# shellcheck disable=SC2054 # commas inside option values
	pr_tr=(--cases bare,map,vtophys --size 4M --iterations 2000 --repeats 2)
	guest_mode=smoke
else
	tr_args=(--size 1G --repeats 7)
	no_args=(--regions 1,10,100,1000,10000 --maps 1,4 --repeats 5)
	ev_args=(--cases check --repeats 201 --min-time 10)
	pr_args=(8 -)
	# shellcheck disable=SC2054
	pr_tr=(--cases bare,map,vtophys --size 1G --repeats 5 --min-time 20)
	guest_mode=full
fi

wanted translate && host host-translate "$BIN/vtop-bench-translate" "${tr_args[@]}"
# Stability across processes (issue 14): the inline lookups in separate
# processes, address-space randomisation on, with the translation tables'
# huge-page arena (libvtop/map.c, VTOP_MAP_ARENA=1) and without it.
if wanted translate; then
	VTOP_MAP_ARENA=1 VTOP_PROCS_KEEP=$tmp/procs host host-procs \
		"$TOP/bench/procs.sh" "${pr_args[@]}" -- \
		"$BIN/vtop-bench-translate" "${pr_tr[@]}"
	VTOP_MAP_ARENA=0 VTOP_PROCS_KEEP=$tmp/procs-noarena \
		host host-procs-noarena "$TOP/bench/procs.sh" \
		"${pr_args[0]}" no-arena -- "$BIN/vtop-bench-translate" "${pr_tr[@]}"
fi
wanted notify && host host-notify "$BIN/vtop-bench-notify" "${no_args[@]}"
wanted events && host host-events "$BIN/vtop-bench-events" "${ev_args[@]}"

guests=0
for p in register notify events iommu; do
	wanted $p && guests=1
done
[ $smoke = 1 ] && wanted translate && guests=1
[ $guests = 1 ] || kernels=""

# floor_module K: build tools/vm/testmod/vtop_floor.c (the floor of the
# registration benchmark) for kernel K alone, in its own directory; prints
# the .ko's path. The guest loads it (vtop-bench-guest).
floor_module() {
	local rel kdir d
	{ read -r rel; read -r _; read -r kdir; } < <("$TOP/tools/vm/kernels.sh" resolve "$1") ||
		return 1
	d=$BUILD/bench/floor/$rel
	mkdir -p "$d" || return 1
	cp -p "$TOP"/tools/vm/testmod/vtop_floor.[ch] "$d/" || return 1
	echo 'obj-m := vtop_floor.o' > "$d/Kbuild"
	(unset MAKEFLAGS MFLAGS MAKELEVEL
	 nice make -s -C "$kdir" M="$d" modules > "$d/build.log" 2>&1) || {
		cat "$d/build.log" >&2
		return 1
	}
	echo "$d/vtop_floor.ko"
}

for k in $kernels; do
	step "guest $k: vtop-bench-guest $guest_mode"
	floor_add=()
	if wanted register; then
		if ko=$(floor_module "$k"); then
			floor_add=(--add "$ko")
		else
			echo "bench/run.sh: the floor module does not build for $k" >&2
			failed="$failed floor-$k"
		fi
	fi
	# vtop-bench-iommu: two NVMe controllers of the same kind behind
	# QEMU's intel-iommu, strict invalidation (vtop's ATTACH refuses
	# Debian's lazy default; VFIO type1 flushes synchronously anyway);
	# null block back-ends, nothing is read or written.
	iommu_args=()
	qemu_opts=${VTOP_VM_QEMU_OPTS:-}
	if wanted iommu; then
		iommu_args=(--iommu --append iommu.strict=1 --module vfio-pci
			    --module vfio_iommu_type1)
		for n in 1 2; do
			qemu_opts="$qemu_opts -blockdev driver=null-co,node-name=bnvme$n,read-zeroes=on"
			qemu_opts="$qemu_opts -device nvme,serial=vtopbench$n,drive=bnvme$n"
		done
	fi
	# shellcheck disable=SC2086
	if ! VTOP_VM_QEMU_OPTS=$qemu_opts "$TOP/tools/vm/run.sh" --kernel "$k" \
		$vm_args "${floor_add[@]}" "${iommu_args[@]}" -- \
		/vtop/bin/vtop-bench-guest "$guest_mode" --only "$only" \
		> "$tmp/guest-$k.log" 2>&1; then
		echo "bench/run.sh: guest $k failed; its log: $tmp/guest-$k.log" >&2
		failed="$failed guest-$k"
	fi
	grep -v '^BENCH-CSV: ' "$tmp/guest-$k.log" | tr -d '\r'
	grep '^BENCH-CSV: ' "$tmp/guest-$k.log" | tr -d '\r' |
		sed 's/^BENCH-CSV: //' > "$tmp/guest-$k.csv"
done

# One CSV: the header once, then every row.
{
	echo "bench,env,case,page,size,param,unit,median,p10,p90,min,max,repeats"
	for f in "$tmp"/*.csv; do
		grep -v '^bench,' "$f"
	done
} > "$out/results.csv"

step "report: $out"
if ! "$TOP/bench/report.sh" "$out"; then
	failed="$failed report"
fi

if [ $smoke = 1 ]; then
	step "smoke check: every benchmark produced its rows"
	if ! BENCH_ONLY=$only "$TOP/bench/report.sh" --check-smoke "$out"; then
		failed="$failed smoke-check"
	fi
fi

if [ -n "$failed" ]; then
	echo "bench/run.sh: FAILED:$failed (logs in $tmp)" >&2
	exit 1
fi
echo "bench/run.sh: results in $out"
