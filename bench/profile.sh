#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Profile of registration in a guest (issue 14: where the time goes), with
# perf's software clock (TCG guests have no PMU): perf record -e cpu-clock
# over vtop-bench-register, then the hottest symbols, kernel and user.
#
#   tools/vm/run.sh --kernel 6.12 --pack /usr/bin/perf -- \
#       /vtop/bin/vtop-bench-profile [vtop-bench-register options]
#
# Default: libvtop and then the raw ioctls alone, one 4 KiB page, 4 KiB
# pages, 3 repeats of 48 MiB each (libvtop's fixed cost, goal 5): a
# profile each. Options given replace the default (one profile).
set -u
PATH=/vtop/bin:$PATH
command -v perf >/dev/null || { echo "vtop-bench-profile: no perf (--pack /usr/bin/perf)"; exit 4; }
[ -f /add/vtop_floor.ko ] && insmod /add/vtop_floor.ko
echo 0 >/proc/sys/kernel/kptr_restrict 2>/dev/null
echo -1 >/proc/sys/kernel/perf_event_paranoid 2>/dev/null
cd /tmp || exit 1
profile() {
	echo "=== profile: vtop-bench-register $* ==="
	perf record -q -e cpu-clock -F 5000 -o /tmp/perf.data -- \
		vtop-bench-register "$@" >/tmp/profile.csv || exit 1
	grep -v '^bench,' /tmp/profile.csv
	echo "--- system calls (perf stat; divide by the operations: min-bytes / size x repeats)"
	perf stat -x, -e raw_syscalls:sys_enter -e syscalls:sys_enter_ioctl \
		-e syscalls:sys_enter_madvise -e syscalls:sys_enter_futex \
		-e syscalls:sys_enter_mmap -e syscalls:sys_enter_munmap -- \
		vtop-bench-register "$@" 2>&1 >/dev/null | grep -v '^#'
	echo "--- self time by DSO"
	perf report -i /tmp/perf.data --stdio --no-children --sort dso \
		2>/dev/null | grep -v '^#' | grep -v '^$'
	echo "--- self time by symbol"
	perf report -i /tmp/perf.data --stdio --no-children --sort dso,sym \
		--percent-limit 0.5 2>/dev/null | grep -v '^#' | grep -v '^$'
}
if [ $# -gt 0 ]; then
	profile "$@"
else
	for m in libvtop ioctl; do
		profile --method $m --pages 4k --sizes 4K --repeats 3 --min-bytes 48M
	done
fi
