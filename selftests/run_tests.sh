#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# vtop selftest runner, run INSIDE the VM guest (busybox sh) by the rig's
# /init. Runs each test binary listed in $VTOP_TESTS_DIR/tests.list (or the
# NAMEs given), prints KTAP (each test's own output indented by two spaces
# as a subtest) and checks after every test that:
#   - the foll-pin counters of /proc/vmstat balance again (no leaked pins),
#   - the kernel log written during the test holds no BUG/WARNING/Oops/
#     KASAN/lockdep report (patterns: /vtop/etc/splat.ere),
#   - kmemleak, when the kernel has it, reports no new leak.
# A test exiting 4 (KSFT_SKIP) is reported "# SKIP". The last line is
# "vtop: N passed, N failed, N skipped"; the exit status is 1 if any failed.
#
# usage: run_tests.sh [NAME...]
# env:   VTOP_TESTS_DIR (default /vtop/tests)
#        VTOP_TEST_TIMEOUT seconds per test (default: "timeout=" in
#        $VTOP_TESTS_DIR/settings, else 300)

dir=${VTOP_TESTS_DIR:-/vtop/tests}
etc=/vtop/etc
kmemleak=/sys/kernel/debug/kmemleak

timeout=300
if [ -f "$dir/settings" ]; then
	t=$(sed -n 's/^timeout=\([0-9][0-9]*\)$/\1/p' "$dir/settings" | tail -n 1)
	[ -n "$t" ] && timeout=$t
fi
timeout=${VTOP_TEST_TIMEOUT:-$timeout}

tmp=$(mktemp -d /tmp/run_tests.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT

# Splat patterns: shared with the host side of the rig.
if [ -f "$etc/splat.ere" ]; then
	grep -vE '^(#|$)' "$etc/splat.ere" >"$tmp/splat"
else
	printf '%s\n' 'BUG:' 'WARNING:' 'Oops' 'Call Trace' 'KASAN' \
		'possible circular locking' 'possible recursive locking' \
		'inconsistent lock state' 'suspicious RCU usage' >"$tmp/splat"
fi
if [ -f "$etc/splat-ignore.ere" ]; then
	grep -vE '^(#|$)' "$etc/splat-ignore.ere" >"$tmp/ignore"
fi
[ -s "$tmp/ignore" ] || echo '^$' >"$tmp/ignore"

if [ $# -gt 0 ]; then
	tests="$*"
else
	[ -f "$dir/tests.list" ] || {
		echo "Bail out! no $dir/tests.list"
		exit 1
	}
	tests=$(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$dir/tests.list" |
		grep -v '^$')
fi

# Long-term pins held by anybody: acquired - released. The counters are
# kept per CPU and folded lazily: fold them first (stat_refresh).
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

n=0
for t in $tests; do
	n=$((n + 1))
done

echo "TAP version 13"
echo "1..$n"

pass=0
fail=0
skip=0
i=0
for t in $tests; do
	i=$((i + 1))
	why=""
	marker="vtop-test: $i $t start $$"
	[ -w $kmemleak ] && echo clear >$kmemleak
	base=$(pins_held)
	echo "$marker" >/dev/kmsg

	t0=$(cut -d. -f1 /proc/uptime)
	rm -f "$tmp/timedout" "$tmp/diag"
	: >"$tmp/diag"
	if [ -x "$dir/$t" ]; then
		# The test runs in a session of its own (sid = its pid), so that
		# whatever it leaves behind can be found and killed; its output
		# goes through a FIFO to the indenting printer.
		rm -f "$tmp/out"
		mkfifo "$tmp/out"
		sed 's/^/  /' <"$tmp/out" &
		ppid=$!
		(cd "$dir" && exec setsid "./$t") </dev/null >"$tmp/out" 2>&1 &
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
	else
		echo "  # $dir/$t: not found or not executable"
		rc=127
		tpid=""
	fi

	# Pins are released when the last reference to the file goes, which
	# can trail the test's exit (its children, deferred fput): retry.
	# Fewer pins than before is not this test's doing (an earlier leak
	# going away), more is a leak.
	held=$(pins_held)
	if [ "$held" != none ] && [ "$base" != none ]; then
		w=0
		while [ "$held" -gt "$base" ] && [ $w -lt 50 ]; do
			usleep 100000
			held=$(pins_held)
			w=$((w + 1))
		done
		if [ "$held" -gt "$base" ]; then
			why="$why, pin-leak"
			echo "  # pin leak: nr_foll_pin_acquired - nr_foll_pin_released = $held, was $base before the test" >>"$tmp/diag"
		fi
	fi

	if [ -n "$tpid" ]; then
		left=$(session_procs $tpid)
		if [ -n "$left" ] && [ ! -e "$tmp/timedout" ]; then
			why="$why, left-processes"
			for p in $left; do
				echo "  # left running: pid $p: $(tr '\0' ' ' </proc/"$p"/cmdline 2>/dev/null)" >>"$tmp/diag"
			done
		fi
		# shellcheck disable=SC2086 # a list of pids
		[ -n "$left" ] && kill -KILL $left 2>/dev/null
		# The printer ends when the last writer is gone.
		w=0
		while kill -0 "$ppid" 2>/dev/null && [ $w -lt 50 ]; do
			usleep 100000
			w=$((w + 1))
		done
		kill "$ppid" 2>/dev/null
		wait "$ppid" 2>/dev/null
	fi
	cat "$tmp/diag"

	if [ -w $kmemleak ]; then
		# Objects younger than kmemleak's minimum age (5 s) are not
		# reported yet: let the test's last allocations age first.
		sleep 5
		echo scan >$kmemleak
		echo scan >$kmemleak
		if [ -s $kmemleak ]; then
			why="$why, kmemleak"
			echo "  # kmemleak reports:"
			sed 's/^/  # /' $kmemleak | head -n 60
		fi
	fi

	kernel_log_since "$marker" >"$tmp/klog"
	if grep -E -f "$tmp/splat" "$tmp/klog" | grep -vE -f "$tmp/ignore" >"$tmp/splats"; then
		why="$why, kernel-log"
		echo "  # kernel log during the test:"
		sed 's/^/  # /' "$tmp/klog" | head -n 80
	fi

	echo "# $t: $(($(cut -d. -f1 /proc/uptime) - t0)) s"
	if [ -e "$tmp/timedout" ]; then
		echo "not ok $i $t # TIMEOUT ${timeout}s$why"
		fail=$((fail + 1))
	elif [ -n "$why" ]; then
		echo "not ok $i $t # exit=$rc$why"
		fail=$((fail + 1))
	elif [ "$rc" -eq 0 ]; then
		echo "ok $i $t"
		pass=$((pass + 1))
	elif [ "$rc" -eq 4 ]; then
		echo "ok $i $t # SKIP"
		skip=$((skip + 1))
	else
		echo "not ok $i $t # exit=$rc"
		fail=$((fail + 1))
	fi
done

echo "vtop: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
