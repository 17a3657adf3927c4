#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# vtop selftest runner, run INSIDE the VM guest (busybox sh) by the rig's
# /init. Runs each test listed in $VTOP_TESTS_DIR/tests.list (or the NAMEs
# given) under vtop_check.sh (next to this script), which checks after every
# test that:
#   - the foll-pin counters of /proc/vmstat balance again (no leaked pins),
#   - no process of the test's session is left running,
#   - the kernel log written during the test holds no BUG/WARNING/Oops/
#     KASAN/lockdep report (patterns: /vtop/etc/splat.ere),
#   - kmemleak, when the kernel has it, reports no new leak.
# Prints KTAP, each test's own output indented by two spaces as a subtest.
# A test exiting 4 (KSFT_SKIP) is reported "# SKIP". The last line is
# "vtop: N passed, N failed, N skipped"; the exit status is 1 if any failed.
# The same checks run under the kernel's own runner (run_kselftest.sh):
# there each test's entry is a wrapper calling vtop_check.sh itself.
#
# usage: run_tests.sh [NAME...]
# env:   VTOP_TESTS_DIR (default /vtop/tests)
#        VTOP_TEST_TIMEOUT seconds per test (default: "timeout=" in
#        $VTOP_TESTS_DIR/settings, else 300)

dir=${VTOP_TESTS_DIR:-/vtop/tests}
check=$(cd "$(dirname "$0")" && pwd)/vtop_check.sh
[ -x "$check" ] || {
	echo "Bail out! no $check"
	exit 1
}

timeout=300
if [ -f "$dir/settings" ]; then
	t=$(sed -n 's/^timeout=\([0-9][0-9]*\)$/\1/p' "$dir/settings" | tail -n 1)
	[ -n "$t" ] && timeout=$t
fi
timeout=${VTOP_TEST_TIMEOUT:-$timeout}

tmp=$(mktemp -d /tmp/run_tests.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT

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
	t0=$(cut -d. -f1 /proc/uptime)
	if [ -x "$dir/$t" ]; then
		# The checks (vtop_check.sh) run around the program; a test's
		# entry that is itself a vtop_check.sh wrapper runs unchecked
		# inside (VTOP_CHECK_ACTIVE).
		: >"$tmp/why"
		(cd "$dir" && VTOP_CHECK_REASONS="$tmp/why" \
			VTOP_TEST_TIMEOUT="$timeout" "$check" "./$t") 2>&1 |
			sed 's/^/  /'
		read -r rcword why <"$tmp/why"
		rc=${rcword#rc=}
		[ -n "$rc" ] || rc=125
	else
		echo "  # $dir/$t: not found or not executable"
		rc=127
		why=""
	fi
	# "timeout pin-leak" -> ", pin-leak"; the time-out is reported apart.
	timedout=0
	reasons=""
	for w in $why; do
		case $w in
		timeout) timedout=1 ;;
		*) reasons="$reasons, $w" ;;
		esac
	done

	echo "# $t: $(($(cut -d. -f1 /proc/uptime) - t0)) s"
	if [ $timedout = 1 ]; then
		echo "not ok $i $t # TIMEOUT ${timeout}s$reasons"
		fail=$((fail + 1))
	elif [ -n "$reasons" ]; then
		echo "not ok $i $t # exit=$rc$reasons"
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
