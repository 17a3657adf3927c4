#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Guest half of `make bench-rdma`: bring soft-RoCE up and run
# vtop-bench-rdma with the arguments given, its CSV rows prefixed with
# "BENCH-CSV: " on the console.
# shellcheck source=selftests/rdma/common.sh
. "$(dirname "$0")/common.sh"

rxe_up || exit 1
rc=0
/vtop/bin/vtop-bench-rdma --dev "$RXE" "$@" >/tmp/rdma.csv || rc=$?
sed 's/^/BENCH-CSV: /' /tmp/rdma.csv
exit $rc
