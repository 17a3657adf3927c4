#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# vtop-bench-guest: the guest half of `make bench` (busybox sh, inside the
# VM rig, /dev/vtop loaded). Runs the registration benchmark, the
# notification and translation benchmarks with the kmod backend, and the
# invalidation-event benchmark, then prints every CSV row prefixed with
# "BENCH-CSV: " so that bench/run.sh can pick them out of the console log.
#
#   vtop-bench-guest full    the sizes of the report (512 MiB needs a guest
#                            of about 2 GiB)
#   vtop-bench-guest smoke   tiny sizes: checks that everything runs
#
# Options after the mode: --only LIST runs only the benchmarks named in the
# comma list (register,notify,translate,events,iommu); extra arguments are
# passed to vtop-bench-register.
set -u
PATH=/vtop/bin:$PATH
mode=${1:-full}
[ $# -gt 0 ] && shift
only=register,notify,translate,events,iommu
if [ "${1:-}" = --only ]; then
	only=${2:-}
	shift 2
fi
wanted() {
	case ",$only," in *",$1,"*) return 0 ;; esac
	return 1
}

case "$mode" in
full)
	reg_args="--sizes 4K,64K,2M,64M,512M --repeats 5"
	io_args="--sizes 64K,2M,64M,512M --repeats 5"
	not_args="--regions 1,10,100,1000,10000 --maps 1,4 --repeats 3 --cases scale"
	tr_args=""
	ev_args="--clock wall"
	;;
smoke)
	reg_args="--sizes 4K,64K,2M --repeats 2 --min-bytes 2M --max-time 50"
	io_args="--sizes 64K,2M --repeats 2 --min-bytes 2M --max-time 50"
	not_args="--regions 1,10 --maps 1,2 --region-sizes 4K,2M --repeats 2 --mem-size 8M"
	tr_args="--size 4M --iterations 2000 --repeats 2 --cases vtophys,writers"
	ev_args="--clock wall --pins 0,10 --iterations 2 --repeats 2 --events 3 --check-size 4M --min-time 2"
	;;
*)
	echo "usage: vtop-bench-guest full|smoke [--only LIST] [register options]" >&2
	exit 2
	;;
esac

rc=0
run() {
	name=$1
	shift
	echo "vtop-bench-guest: $*"
	# shellcheck disable=SC2068
	"$@" > "/tmp/$name.csv"
	st=$?
	if [ $st -ne 0 ]; then
		echo "vtop-bench-guest: $name failed with status $st"
		rc=1
	fi
	sed 's/^/BENCH-CSV: /' "/tmp/$name.csv"
}

# The floor of the registration benchmark (tools/vm/testmod/vtop_floor.c),
# when bench/run.sh built it for this kernel.
if wanted register && [ -f /add/vtop_floor.ko ]; then
	insmod /add/vtop_floor.ko || rc=1
fi

# The guest is fresh, so the hugetlb pool can grow at run time; the
# benchmarks grow it themselves and shrink it back.
# shellcheck disable=SC2086
wanted register && run register vtop-bench-register $reg_args "$@"
# shellcheck disable=SC2086
wanted notify && run notify vtop-bench-notify --backend kmod $not_args
# Translation is measured on the host; the smoke run checks that
# vtop_vtophys() works over the kmod backend too.
# shellcheck disable=SC2086
[ -n "$tr_args" ] && wanted translate &&
	run translate vtop-bench-translate --backend kmod --clock wall $tr_args
# shellcheck disable=SC2086
wanted events && run events vtop-bench-events $ev_args

# Attached mode against VFIO type1: the first two NVMe controllers
# (bench/run.sh boots them behind the IOMMU), one given to uio_pci_generic
# for vtop's ATTACH, the other to vfio-pci.
bind() { # BDF DRIVER
	dev=/sys/bus/pci/devices/$1
	[ -e "$dev/driver" ] && echo "$1" >"$dev/driver/unbind"
	echo "$2" >"$dev/driver_override"
	echo "$1" >/sys/bus/pci/drivers_probe
	[ "$(basename "$(readlink "$dev/driver")")" = "$2" ]
}
if wanted iommu; then
	# shellcheck disable=SC2046 # PCI addresses have no spaces
	set -- $(grep -l '^0x010802$' /sys/bus/pci/devices/*/class 2>/dev/null |
		 sed 's|/sys/bus/pci/devices/||; s|/class||')
	if [ $# -lt 2 ] || [ ! -d /sys/class/iommu ] ||
	   [ -z "$(ls /sys/class/iommu)" ]; then
		echo "vtop-bench-guest: iommu: needs two NVMe controllers behind an IOMMU (bench/run.sh boots them)"
		rc=1
	elif modprobe uio_pci_generic && modprobe vfio-pci &&
	     bind "$1" uio_pci_generic && bind "$2" vfio-pci; then
		echo "vtop-bench-guest: IOMMU group of $1: $(cat "/sys/bus/pci/devices/$1/iommu_group/type")"
		# shellcheck disable=SC2086
		run iommu vtop-bench-iommu --vtop-dev "$1" --vfio-dev "$2" $io_args
	else
		echo "vtop-bench-guest: iommu: cannot bind $1 to uio_pci_generic and $2 to vfio-pci"
		rc=1
	fi
fi
exit $rc
