#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# In a guest with vtop.ko loaded (busybox sh): the CLI's module-backed
# commands.
#
#   vtop info/stats/pins, text and --json, against a live pin held by
#   `vtop pin --hold` in another process: the pin appears under that
#   process's pid and fd, the counters count it, and both go back when it
#   ends.
#
# Run by mk/pkg.mk (make pkg-guest-check):
#   tools/vm/run.sh --add selftests/cli/guest_test.sh -- /add/guest_test.sh
set -u

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
nok() { n=$((n + 1)); echo "not ok $n $1"; failed=$((failed + 1)); }
t() {	# t NAME CMD...
	name=$1
	shift
	if "$@"; then ok "$name"; else nok "$name"; fi
}
has() { grep -q -- "$2" "$1"; }
lacks() { ! grep -q -- "$2" "$1"; }

VTOP=/vtop/bin/vtop
T=/tmp/clitest
mkdir -p $T

# --- the CLI -----------------------------------------------------------------
t "info exits 0" sh -c "$VTOP info >$T/info"
t "info --json: the ABI version and features" sh -c \
	"$VTOP info --json >$T/info.json && grep -q '\"abi_version\": 1,' $T/info.json && grep -q '\"features\": [1-9]' $T/info.json"
t "stats --json exits 0" sh -c "$VTOP stats --json >$T/stats0.json"
live0=$(sed -n 's/.*"live_pins": \([0-9]*\).*/\1/p' $T/stats0.json)
total0=$(sed -n 's/.*"pins_total": \([0-9]*\).*/\1/p' $T/stats0.json)

$VTOP pin --kind 4k --size 64K --hold >$T/hold.out 2>&1 &
hpid=$!
i=0
while ! grep -q '^holding' $T/hold.out && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
t "pin --hold: holds a pin" grep -q '^holding the pin (pid '"$hpid"')' $T/hold.out
hfd=$(ls -l /proc/$hpid/fd 2>/dev/null | sed -n 's|.* \([0-9]*\) -> /dev/vtop$|\1|p')
t "pins: exits 0 (every line understood)" sh -c "$VTOP pins >$T/pins.txt"
t "pins: a row for the holder's pid and fd" \
	grep -qE "^$hpid +$hfd +[0-9]+ +phys +1 +64 KiB +vtop\$" $T/pins.txt
t "pins --json: the holder's pin, 64 KiB, writable, not invalidated" sh -c \
	"$VTOP pins --json >$T/pins.json && grep -q '{\"pid\": $hpid, \"fd\": $hfd, \"handle\": \"0x[0-9a-f]*\", \"vaddr\": \"0x[0-9a-f]*\", \"length\": 65536, \"segs\": [0-9]*, \"writable\": 1, \"invalidated\": 0}' $T/pins.json"
t "stats --json: one more live pin" sh -c \
	"$VTOP stats --json >$T/stats1.json && grep -q '\"live_pins\": $((live0 + 1)),' $T/stats1.json"
t "stats: text" sh -c "$VTOP stats | grep -qE '^pins_total +$((total0 + 1))\$'"

kill -TERM $hpid
wait $hpid
t "pin --hold: SIGTERM unpins and exits 0" test $? = 0
t "pins --json: the holder is gone" sh -c \
	"$VTOP pins --json >$T/pins2.json && ! grep -q '\"pid\": $hpid,' $T/pins2.json"
t "stats --json: live pins back" sh -c \
	"$VTOP stats --json | grep -q '\"live_pins\": $live0,'"

echo "cli-guest: $((n - failed)) passed, $failed failed"
[ $failed = 0 ]
