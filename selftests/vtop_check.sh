#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Run one test program and check what it left behind in the kernel:
#   - the foll-pin counters of /proc/vmstat balance again (no leaked pins),
#   - no process of the program's session is still running,
#   - kmemleak, when the kernel has it, reports no new leak,
#   - the kernel log written meanwhile holds no BUG/WARNING/Oops/KASAN/
#     lockdep report (patterns: $VTOP_SPLAT_ERE, else /vtop/etc/splat.ere,
#     else a built-in list; exceptions: splat-ignore.ere next to it).
# The program runs in a session of its own, killed with everything in it
# after the time-out. The program's output is passed through; findings are
# printed after it as "# ..." lines.
#
# Every selftest is run through this script: selftests/Makefile makes each
# test's entry (TEST_GEN_PROGS, what kselftest's runner and run_tests.sh run)
# a two-line wrapper that execs "vtop_check.sh progs/<test>". When this
# script is already checking (VTOP_CHECK_ACTIVE is set) it just execs the
# program, so that run_tests.sh can run a wrapper under its own check.
#
# usage: vtop_check.sh PROGRAM [ARG...]
# env:   VTOP_TEST_TIMEOUT seconds (else kselftest_timeout, set by
#        kselftest's runner from "settings"; else "timeout=" in the settings
#        file next to this script; else 300)
#        VTOP_CHECK_REASONS=FILE: write the verdict there as words:
#        rc=N, timeout, pin-leak, left-processes, kmemleak, kernel-log
# exit:  the program's status when every check passes; 124 on a time-out;
#        otherwise the program's status if it failed, else 1 (a SKIP with a
#        failed check is a failure).
# Checks that need root (the kernel log marker, folding the pin counters)
# are left out, with a note, when not run as root.

[ $# -gt 0 ] || { echo "usage: vtop_check.sh PROGRAM [ARG...]" >&2; exit 2; }
if [ -n "${VTOP_CHECK_ACTIVE:-}" ]; then
	exec "$@"
fi
export VTOP_CHECK_ACTIVE=1

here=$(cd "$(dirname "$0")" && pwd)
kmemleak=/sys/kernel/debug/kmemleak
t=$(basename "$1")

timeout=300
if [ -f "$here/settings" ]; then
	s=$(sed -n 's/^timeout=\([0-9][0-9]*\)$/\1/p' "$here/settings" | tail -n 1)
	[ -n "$s" ] && timeout=$s
fi
timeout=${VTOP_TEST_TIMEOUT:-${kselftest_timeout:-$timeout}}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vtop_check.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

splat_ere=${VTOP_SPLAT_ERE:-/vtop/etc/splat.ere}
if [ -f "$splat_ere" ]; then
	grep -vE '^(#|$)' "$splat_ere" >"$tmp/splat"
	ign=$(dirname "$splat_ere")/splat-ignore.ere
	[ -f "$ign" ] && grep -vE '^(#|$)' "$ign" >"$tmp/ignore"
else
	printf '%s\n' 'BUG:' 'WARNING:' 'Oops' 'Call Trace' 'KASAN' \
		'possible circular locking' 'possible recursive locking' \
		'inconsistent lock state' 'suspicious RCU usage' \
		'kernel BUG at' 'general protection fault' 'UBSAN' \
		'unreferenced object' >"$tmp/splat"
fi
[ -s "$tmp/ignore" ] || echo '^$' >"$tmp/ignore"

# Long-term pins held by anybody: acquired - released. The counters are
# kept per CPU and folded lazily: fold them first (stat_refresh, root).
pins_held() {
	echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null
	awk '$1 == "nr_foll_pin_acquired" { a = $2 }
	     $1 == "nr_foll_pin_released" { r = $2 }
	     END { if (a == "" || r == "") print "none"; else print a - r }' \
		/proc/vmstat
}

# Processes (not zombies) of session $1.
session_procs() {
	cat /proc/[0-9]*/stat 2>/dev/null |
		awk -v s="$1" '{ pid = $1; sub(/.*\) /, "")
				 if ($4 == s && $1 != "Z") print pid }'
}

# Kernel-originated records (level-only prefix "<N>") of the log since the
# line holding $1.
kernel_log_since() {
	dmesg -r | awk -v m="$1" 'found && /^<[0-7]>/ { sub(/^<[0-7]>(\[[ 0-9.]*\] )?/, ""); print }
				 index($0, m) { found = 1 }'
}

nap() { usleep 100000 2>/dev/null || sleep 0.1; }

root=0
[ "$(id -u)" = 0 ] && root=1
why=""
marker="vtop-check: $t start $$ $(cut -d' ' -f1 /proc/uptime)"
[ -w $kmemleak ] && echo clear >$kmemleak
base=none
[ $root = 1 ] && base=$(pins_held)
logged=0
# Level 6 (info): in the log, not on the console between TAP lines.
if [ -w /dev/kmsg ] && echo "<6>$marker" >/dev/kmsg 2>/dev/null; then
	logged=1
fi

# setsid: the program's pid is its session id (a background job of a
# non-interactive shell is not a process group leader, so setsid does not
# fork), and whatever it leaves behind can be found and killed.
setsid "$@" </dev/null &
tpid=$!
(
	s=0
	while [ $s -lt "$timeout" ]; do
		sleep 1
		kill -0 $tpid 2>/dev/null || exit 0
		s=$((s + 1))
	done
	: >"$tmp/timedout"
	# shellcheck disable=SC2046 # a list of pids
	kill -KILL $(session_procs $tpid) 2>/dev/null
) &
wpid=$!
wait $tpid 2>/dev/null
rc=$?
kill $wpid 2>/dev/null
wait $wpid 2>/dev/null
[ -e "$tmp/timedout" ] && why="$why timeout"

# Pins are released when the last reference to the file goes, which can
# trail the program's exit (its children, deferred fput): retry. Fewer pins
# than before is not this program's doing (an earlier leak going away), more
# is a leak.
if [ "$base" != none ]; then
	held=$(pins_held)
	w=0
	while [ "$held" -gt "$base" ] && [ $w -lt 50 ]; do
		nap
		held=$(pins_held)
		w=$((w + 1))
	done
	if [ "$held" -gt "$base" ]; then
		why="$why pin-leak"
		echo "# pin leak: nr_foll_pin_acquired - nr_foll_pin_released = $held, was $base before $t"
	fi
fi

left=$(session_procs $tpid)
if [ -n "$left" ]; then
	[ -e "$tmp/timedout" ] || why="$why left-processes"
	for p in $left; do
		[ -e "$tmp/timedout" ] ||
			echo "# left running: pid $p: $(tr '\0' ' ' </proc/"$p"/cmdline 2>/dev/null)"
	done
	# shellcheck disable=SC2086 # a list of pids
	kill -KILL $left 2>/dev/null
fi

if [ -w $kmemleak ]; then
	# kmemleak reports an object only when a scan finds it unreferenced,
	# older than its minimum age (5 s) and unchanged since the scan
	# before. The first scan records the program's last objects; the
	# second, at least 6 s after the program ended, reports them. (A scan
	# takes several seconds on the debug kernel, so usually nothing is
	# left to wait.) The report is read, not stat()ed: debugfs files have
	# size 0.
	ended=$(cut -d. -f1 /proc/uptime)
	echo scan >$kmemleak
	waited=$(($(cut -d. -f1 /proc/uptime) - ended))
	[ $waited -lt 6 ] && sleep $((6 - waited))
	echo scan >$kmemleak
	leaks=$(cat $kmemleak)
	if [ -n "$leaks" ]; then
		why="$why kmemleak"
		echo "# kmemleak reports:"
		printf '%s\n' "$leaks" | head -n 60 | sed 's/^/# /'
	fi
fi

if [ $logged = 1 ]; then
	kernel_log_since "$marker" >"$tmp/klog"
	if grep -E -f "$tmp/splat" "$tmp/klog" | grep -vE -f "$tmp/ignore" >/dev/null; then
		why="$why kernel-log"
		echo "# kernel log during $t:"
		sed 's/^/# /' "$tmp/klog" | head -n 80
	fi
fi
if [ $root = 0 ]; then
	echo "# vtop_check: not root: pin-counter and kernel-log checks left out"
fi

if [ -n "${VTOP_CHECK_REASONS:-}" ]; then
	echo "rc=$rc$why" >"$VTOP_CHECK_REASONS"
fi
if [ -e "$tmp/timedout" ]; then
	echo "# $t: killed after ${timeout}s"
	exit 124
fi
if [ -n "$why" ]; then
	echo "# $t: exit=$rc, failed checks:$why"
	case $rc in 0|4) exit 1 ;; esac
fi
exit $rc
