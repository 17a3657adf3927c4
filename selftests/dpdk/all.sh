#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Run the DPDK scenarios given as arguments (default: 1 2 3 4) one after
# the other in this guest boot, print "dpdk-result: scenario N: PASS|FAIL|SKIP"
# for each and exit 1 if any failed.
dir=$(dirname "$0")
[ $# -gt 0 ] || set -- 1 2 3 4
failed=0
for s in "$@"; do
	echo "=== dpdk scenario $s ==="
	rc=0
	sh "$dir/scenario$s.sh" || rc=$?
	case $rc in
	0) r=PASS ;;
	4) r=SKIP ;;
	*) r="FAIL (exit $rc)"; failed=1 ;;
	esac
	echo "dpdk-result: scenario $s: $r"
done
exit $failed
