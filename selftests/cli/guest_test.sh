#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# In a guest with vtop.ko loaded (busybox sh): the CLI's module-backed
# commands and the group/capability model of data/60-vtop.rules.
#
#   vtop info/stats/pins, text and --json, against a live pin held by
#   `vtop pin --hold` in another process: the pin appears under that
#   process's pid and fd, the counters count it, and both go back when it
#   ends.
#
#   As non-root users (su): with the node root:root 0600 a user gets
#   EACCES; with the rule's GROUP and MODE applied (busybox has no udev:
#   the script reads them from the rule), a member of the group without
#   capabilities gets EPERM, a copy of the CLI given cap_sys_rawio with
#   setcap opens the device and pins memory, and a user outside the group
#   gets EACCES with the same binary.
#
# Run by mk/pkg.mk (make pkg-guest-check):
#   tools/vm/run.sh --add selftests/cli/guest_test.sh --add data/60-vtop.rules
#                   --add "$(command -v setcap)" -- /add/guest_test.sh
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
rule=/add/60-vtop.rules
setcap=/add/setcap

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

# A descriptor held by two processes (inherited) is listed under each.
sh -c 'exec 7<>/dev/vtop; sleep 60 & echo "$$ $!" >'$T/pair'; wait' &
spid=$!
i=0
while [ ! -s $T/pair ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
read -r p1 p2 <$T/pair
$VTOP pins >$T/pins3.txt
f1=$(awk -v p="$p1" '$1 == p && $2 == 7 { print $3 }' $T/pins3.txt)
f2=$(awk -v p="$p2" '$1 == p && $2 == 7 { print $3 }' $T/pins3.txt)
t "pins: an inherited fd is listed under both processes, one file id" \
	test -n "$f1" -a "$f1" = "$f2"
kill $p2 2>/dev/null
wait $spid

# --- group and capability (data/60-vtop.rules) ----------------------------------
# Users: svc in group vtop, other not; no password needed from root's su.
echo 'vtop:x:990:svc' >>/etc/group
echo 'svc:x:1000:' >>/etc/group
echo 'other:x:1001:' >>/etc/group
echo 'svc:x:1000:1000:svc:/tmp:/bin/sh' >>/etc/passwd
echo 'other:x:1001:1001:other:/tmp:/bin/sh' >>/etc/passwd
as() {	# as USER CMD: run CMD (a shell string) as USER, stdout+stderr to $T/as.out
	su -s /bin/sh "$1" -c "$2" >$T/as.out 2>&1
}
cp $VTOP $T/vtop-svc
chmod 755 $T $T/vtop-svc

t "without the rule the node is root's, 0600" \
	test "$(stat -c '%U:%G %a' /dev/vtop)" = "root:root 600"
t "setcap cap_sys_rawio+ep on a copy of the CLI" $setcap cap_sys_rawio+ep $T/vtop-svc
as svc "$T/vtop-svc info"
t "without the rule: a user with the capability gets EACCES (exit 1)" test $? = 1
t "  ... (open: Permission denied)" has $T/as.out 'Permission denied'

# The rule's GROUP and MODE, as udev would apply them.
group=$(sed -n 's/^KERNEL=="vtop".*GROUP="\([a-z]*\)".*/\1/p' $rule)
mode=$(sed -n 's/^KERNEL=="vtop".*MODE="\([0-7]*\)".*/\1/p' $rule)
t "the rule names group vtop, mode 0660" test "$group:$mode" = "vtop:0660"
chgrp "$group" /dev/vtop && chmod "$mode" /dev/vtop
t "with the rule the node is root:vtop 0660" \
	test "$(stat -c '%U:%G %a' /dev/vtop)" = "root:vtop 660"

as svc "id"
t "svc is a member of vtop" has $T/as.out 'vtop'
as svc "$VTOP info"
t "group member without capabilities: EPERM (exit 1)" test $? = 1
t "  ... (open: Operation not permitted)" has $T/as.out 'Operation not permitted'
as svc "$T/vtop-svc info --json"
t "group member, binary with cap_sys_rawio (setcap): info works" test $? = 0
t "  ... and reports the caller's RLIMIT_MEMLOCK (not unlimited)" \
	has $T/as.out '"memlock_limit": [0-9]'
as svc "$T/vtop-svc pin --kind 4k --size 64K"
t "group member, binary with cap_sys_rawio: pins 64 KiB" test $? = 0
t "  ... and prints its segment" has $T/as.out '^pinned 64 KiB of 4k memory'
as other "$T/vtop-svc info"
t "user outside the group, same binary: EACCES (exit 1)" test $? = 1
t "  ... (open: Permission denied)" has $T/as.out 'Permission denied'
t "no pin left behind" sh -c "$VTOP stats --json | grep -q '\"live_pins\": $live0,'"

echo "cli-guest: $((n - failed)) passed, $failed failed"
[ $failed = 0 ]
