#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Host tests of the vtop CLI's debugfs readers (vtop stats, vtop pins, with
# and without --json) and its argument handling, on fixture files in the
# format kmod/vtop_stats.c writes (VTOP_DEBUGFS points the CLI at them).
# The module-backed parts run in a guest: selftests/cli/guest_test.sh.
#
# Usage: selftests/cli/cli_test.sh [VTOP_BINARY]    (make cli-check)
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
vtop=${1:-${BUILD:-$here/../../build}/bin/vtop}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tap_prefix=
# shellcheck source=selftests/host/tap.sh
. "$here/../host/tap.sh"
# same EXPECTED-FILE ACTUAL-FILE: equal, or show the difference
same() { diff -u "$1" "$2" >&2; }
# run EXPECTED-STATUS OUTFILE ARGS...: the CLI's stdout to OUTFILE,
# stderr to OUTFILE.err, and its status must be EXPECTED-STATUS
run() {
	local want=$1 out=$2 rc=0
	shift 2
	VTOP_DEBUGFS=$dir "$vtop" "$@" >"$out" 2>"$out.err" || rc=$?
	[ "$rc" = "$want" ] || { echo "status $rc, wanted $want: $(cat "$out.err")" >&2; return 1; }
}

[ -x "$vtop" ] || { echo "cli_test: $vtop not built (make tools)" >&2; exit 1; }

dir=$tmp/vtop
mkdir "$dir"
cat >"$dir/stats" <<'X'
live_pins 2
pinned_bytes 2162688
pins_total 7
unpins_total 5
events_total 1
overflows_total 0
invalidated_pins 1
invalidated_bytes 4096
fail_einval 3
fail_other 0
X
# Two processes share file 5 (a passed fd); comm with a space and a quote.
cat >"$dir/pins" <<'X'
fd pid=101 fd=3 file=5 mode=phys nr_pins=2 pinned_bytes=2162688 comm=my "app" 1
pin pid=101 fd=3 handle=0x500000001 vaddr=0x7f0000200000 length=2097152 segs=1 writable=1 invalidated=0
pin pid=101 fd=3 handle=0x500000002 vaddr=0x7f0000001000 length=65536 segs=16 writable=0 invalidated=1
fd pid=202 fd=7 file=5 mode=phys nr_pins=2 pinned_bytes=2162688 comm=helper
fd pid=303 fd=4 file=6 mode=iova nr_pins=0 pinned_bytes=0 comm=idle
X

# --- stats -------------------------------------------------------------------
run 0 "$tmp/out" stats && t "stats: exit 0" true || t "stats: exit 0" false
printf '%-20s %s\n' live_pins 2 pinned_bytes 2162688 pins_total 7 \
	unpins_total 5 events_total 1 overflows_total 0 invalidated_pins 1 \
	invalidated_bytes 4096 fail_einval 3 fail_other 0 >"$tmp/want"
t "stats: every counter, name and value" same "$tmp/want" "$tmp/out"

run 0 "$tmp/out" stats --json
echo '{"live_pins": 2, "pinned_bytes": 2162688, "pins_total": 7, "unpins_total": 5, "events_total": 1, "overflows_total": 0, "invalidated_pins": 1, "invalidated_bytes": 4096, "fail_einval": 3, "fail_other": 0}' >"$tmp/want"
t "stats --json: one object with every counter" same "$tmp/want" "$tmp/out"

cp "$dir/stats" "$tmp/stats.good"
echo 'live pins 3' >>"$dir/stats"
t "stats: a line it does not understand is an error (status 1)" \
	run 1 "$tmp/out" stats
t "stats: ... and says which file" grep -q "$dir/stats: 1 line not understood" "$tmp/out.err"
cp "$tmp/stats.good" "$dir/stats"

# --- pins --------------------------------------------------------------------
run 0 "$tmp/out" pins --json && t "pins --json: exit 0" true || t "pins --json: exit 0" false
cat >"$tmp/want" <<'X'
{"fds": [{"pid": 101, "fd": 3, "file": 5, "mode": "phys", "nr_pins": 2, "pinned_bytes": 2162688, "comm": "my \"app\" 1", "pins": [{"pid": 101, "fd": 3, "handle": "0x500000001", "vaddr": "0x7f0000200000", "length": 2097152, "segs": 1, "writable": 1, "invalidated": 0}, {"pid": 101, "fd": 3, "handle": "0x500000002", "vaddr": "0x7f0000001000", "length": 65536, "segs": 16, "writable": 0, "invalidated": 1}]}, {"pid": 202, "fd": 7, "file": 5, "mode": "phys", "nr_pins": 2, "pinned_bytes": 2162688, "comm": "helper", "pins": []}, {"pid": 303, "fd": 4, "file": 6, "mode": "iova", "nr_pins": 0, "pinned_bytes": 0, "comm": "idle", "pins": []}]}
X
t "pins --json: fds with their pins, comm escaped" same "$tmp/want" "$tmp/out"
if command -v python3 >/dev/null; then
	t "pins --json: python3's json module parses it" \
		python3 -c 'import json, sys; [json.load(open(f)) for f in sys.argv[1:]]' "$tmp/out"
fi

run 0 "$tmp/out" pins
t "pins: one row per process and fd" test "$(grep -cE '^(101|202|303) ' "$tmp/out")" = 3
t "pins: the pins under their fd, sizes in words" \
	grep -qE '^ +0x500000001 +0x7f0000200000 +2 MiB +1 +rw +no$' "$tmp/out"
t "pins: read-only, invalidated pin" \
	grep -qE '^ +0x500000002 +0x7f0000001000 +64 KiB +16 +r +yes$' "$tmp/out"
t "pins: comm with spaces kept whole" grep -qE '^101 .* my "app" 1$' "$tmp/out"

: >"$dir/pins"
run 0 "$tmp/out" pins --json
echo '{"fds": []}' >"$tmp/want"
t "pins --json: no open fd gives an empty list" same "$tmp/want" "$tmp/out"
echo 'pin pid=1 fd=3 handle=0x1 vaddr=0x1000 length=4096 segs=1 writable=1 invalidated=0' >"$dir/pins"
t "pins: a pin line before any fd line is an error" run 1 "$tmp/out" pins

# --- errors and usage ------------------------------------------------------------
rm -rf "$dir"
t "stats: no debugfs file: status 1" run 1 "$tmp/out" stats
t "stats: ... with a hint to mount debugfs" grep -q 'mount -t debugfs' "$tmp/out.err"
t "pins: no debugfs file: status 1" run 1 "$tmp/out" pins --json
t "usage: stats --bogus is status 2" run 2 "$tmp/out" stats --bogus
t "usage: pins extra is status 2" run 2 "$tmp/out" pins --json extra
t "usage: info --json --json is status 2" run 2 "$tmp/out" info --json --json
t "usage: unknown command is status 2" run 2 "$tmp/out" nope
t "usage: --help lists every command" bash -c "'$vtop' --help | grep -q 'vtop pins \[--json\]'"

echo "cli_test: $((n - fails)) passed, $fails failed"
[ "$fails" = 0 ]
