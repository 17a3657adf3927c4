# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=sh disable=SC2046,SC2086 # word splitting of "$(pins)" is meant
#
# Helpers for the RDMA MR-cache guest scenarios (busybox sh, sourced). Each
# scenario exits 0 (pass), 1 (fail) or 4 (skip, kselftest's KSFT_SKIP).

PATH=/vtop/bin:$PATH
RDMA=/vtop/bin/vtop-rdma
RXE=rxe0
KSFT_SKIP=4
fails=0

say() { echo "rdma-scenario: $*"; }
fail() { say "FAIL: $*"; fails=$((fails + 1)); }
skip() { say "SKIP: $*"; exit $KSFT_SKIP; }

# Soft-RoCE on a dummy netdev (rxe needs an Ethernet device, not lo). The
# rig loads crc32_generic, dummy and rdma_rxe (tools/vm/run.sh --module).
rxe_up() {
	[ -e /sys/class/infiniband/$RXE ] && return 0
	ip link set dummy0 up || { fail "no dummy0 (module dummy loaded?)"; return 1; }
	ip addr add 10.9.0.1/24 dev dummy0 || { fail "ip addr add on dummy0"; return 1; }
	rdma link add $RXE type rxe netdev dummy0 ||
		{ fail "rdma link add $RXE type rxe netdev dummy0"; return 1; }
	i=0
	while ! grep -q ACTIVE /sys/class/infiniband/$RXE/ports/1/state 2>/dev/null; do
		[ $i -ge 100 ] && { fail "$RXE port 1 not ACTIVE after 10 s"; return 1; }
		usleep 100000
		i=$((i + 1))
	done
	say "$RXE on dummy0: port 1 $(cat /sys/class/infiniband/$RXE/ports/1/state)"
}

# "acquired released" FOLL_PIN page counts from /proc/vmstat, after folding
# the per-CPU deltas into the global counters.
pins() {
	echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null
	awk '$1 == "nr_foll_pin_acquired" { a = $2 }
	     $1 == "nr_foll_pin_released" { r = $2 }
	     END { print a + 0, r + 0 }' /proc/vmstat
}

# Fail unless the pins taken since "$1 $2" were all released again, and
# unless some were taken at all (the check must be able to fail).
check_pins_balanced() {
	set -- "$1" "$2" $(pins)
	acq=$(($3 - $1))
	rel=$(($4 - $2))
	say "FOLL_PIN pages since the start: acquired $acq, released $rel"
	[ "$acq" -gt 0 ] || fail "no pages were pinned"
	[ "$acq" -eq "$rel" ] || fail "$((acq - rel)) pinned pages were not released"
}

# Memory regions on the device now ("rdma resource show": "... mr N ...").
device_mrs() {
	rdma resource show $RXE | sed -n 's/.* mr \([0-9]*\).*/\1/p'
}

# Run vtop-rdma with a log; sets $rc and keeps the output in $out.
run_rdma() {
	out=/tmp/vtop-rdma.$$.log
	say "running: vtop-rdma $*"
	rc=0
	"$RDMA" --dev $RXE "$@" >"$out" 2>&1 || rc=$?
	sed 's/^/    /' "$out"
	say "vtop-rdma exited with $rc"
}

# The number of output lines matching the basic regular expression $1.
count() { grep -c -- "$1" "$out"; }

# expect N REGEX WHAT
expect_count() {
	n=$(count "$2")
	[ "$n" = "$1" ] || fail "$3: $n of $1"
}

start() {
	rxe_up || finish "$1"
	set -- $(pins)
	pins0="$1 $2"
}

finish() {
	[ -n "${pins0:-}" ] && check_pins_balanced $pins0
	n=$(device_mrs)
	[ "$n" = 0 ] || fail "the device still holds ${n:-?} memory regions after the run"
	if [ "$fails" -gt 0 ]; then
		say "$1: FAIL ($fails problem(s))"
		exit 1
	fi
	say "$1: PASS"
	exit 0
}
