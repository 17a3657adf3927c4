# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# Sourced by the host scripts (bash): rdma_rig, the tools/vm/run.sh options
# that give the guest soft-RoCE: the modules (rdma_rxe pulls ib_core,
# ib_uverbs, udp_tunnel, ip6_udp_tunnel; rxe asks for the "crc32" hash by
# name, the guest has no modprobe helper for it and TCG has no PCLMUL:
# crc32_generic), the dummy netdev, and what libibverbs opens at run time
# (ldd cannot see it): the rxe provider and its driver file, plus the rdma
# tool (iproute2); run.sh --pack carries their libraries too.
rdma_rig=(--module crc32_generic --module dummy --module rdma_rxe
	  --pack /usr/bin/rdma --pack /etc/libibverbs.d/rxe.driver)
rdma_prov=(/usr/lib/x86_64-linux-gnu/libibverbs/librxe-rdmav*.so)
if [ ! -f "${rdma_prov[0]}" ]; then
	echo "rdma: no rxe provider in /usr/lib/x86_64-linux-gnu/libibverbs (scripts/deps.sh rdma)" >&2
	return 2
fi
rdma_rig+=(--pack "${rdma_prov[0]}")
