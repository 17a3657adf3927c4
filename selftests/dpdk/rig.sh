# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# Sourced by the host scripts (bash). dpdk_rig_init PCAP [noiommu] sets:
#   dpdk_rig   the tools/vm/run.sh options: a q35 guest with intel-iommu
#              and strict invalidation (attached mode refuses lazy DMA-FQ
#              domains), the example binary and the scenarios;
#              no_timer_check: a TCG guest starved by a loaded host can
#              fail the boot's IO-APIC timer test, which panics with
#              interrupt remapping ("timer doesn't work through
#              Interrupt-remapped IO-APIC", seen here under load 5);
#              with "noiommu": a pc machine without any IOMMU (scenario 3
#              then skips)
#   VTOP_VM_QEMU_OPTS (exported): two e1000 NICs at 00:04.0 and 00:05.0 on
#              one QEMU hub (hubport netdevs forward every frame between
#              them and nowhere else), and a filter-dump of port 0's
#              netdev to PCAP
dpdk_bin=$BUILD/dpdk/vtop-dpdk

dpdk_rig_init() {
	if [ ! -x "$dpdk_bin" ]; then
		echo "dpdk: $dpdk_bin not built (make dpdk-example)" >&2
		return 2
	fi
	# shellcheck disable=SC2034 # used by check.sh
	dpdk_rig=(--iommu --append "iommu.strict=1 no_timer_check" --add "$dpdk_bin"
		  --add "$TOP/selftests/dpdk")
	# shellcheck disable=SC2034
	[ "${2:-}" = noiommu ] &&
		dpdk_rig=(--add "$dpdk_bin" --add "$TOP/selftests/dpdk")
	VTOP_VM_QEMU_OPTS="-netdev hubport,id=h0,hubid=0"
	VTOP_VM_QEMU_OPTS+=" -device e1000,netdev=h0,addr=0x4,mac=52:54:00:76:74:00"
	VTOP_VM_QEMU_OPTS+=" -netdev hubport,id=h1,hubid=0"
	VTOP_VM_QEMU_OPTS+=" -device e1000,netdev=h1,addr=0x5,mac=52:54:00:76:74:01"
	VTOP_VM_QEMU_OPTS+=" -object filter-dump,id=d0,netdev=h0,file=$1"
	export VTOP_VM_QEMU_OPTS
}
