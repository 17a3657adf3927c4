#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# The debug lane inside the guest (busybox sh), run by `make check-debug`
# through tools/vm/run.sh --kernel debug --add tools/debug-kernel/guest.sh.
#
#   guest.sh STRESS_SECONDS FUZZ_ITERATIONS TEST_TIMEOUT [FUZZ_SEED]
#
# 1. Refuses to pass on a kernel without the debug options the lane is about
#    (kmemleak, fail-nth, KASAN): a stock kernel here would prove nothing.
# 2. Binds the rig's NVMe controller (if any) to uio_pci_generic, so that the
#    ATTACH/DETACH fault-injection sweeps have a device to attach.
# 3. Loads a module that leaks one object (the kmemleak canary) under the
#    per-program check, which must report it.
# 4. Runs the whole selftest suite (run_tests.sh: pin counters, kmemleak and
#    the kernel log are checked after every program), with the stress test
#    running STRESS_SECONDS and TEST_TIMEOUT per program.
# 5. Runs vtop-fuzz for FUZZ_ITERATIONS under the same runner.
# Exit status 0 only if both pass.

stress=${1:?usage: guest.sh STRESS_SECONDS FUZZ_ITERATIONS TEST_TIMEOUT [SEED]}
iters=${2:?}
per_test=${3:?}
seed=${4:-}

say() { echo "vtop-debug: $*"; }

missing=""
[ -e /sys/kernel/debug/kmemleak ] || missing="$missing kmemleak"
[ -e /proc/thread-self/fail-nth ] || missing="$missing fail-nth"
grep -q 'kasan' /proc/kallsyms 2>/dev/null || missing="$missing KASAN"
[ -e /proc/lockdep ] || missing="$missing lockdep"
if [ -n "$missing" ]; then
	say "FAIL: kernel $(uname -r) lacks:$missing (not the debug kernel?)"
	exit 1
fi
say "kernel $(uname -r): KASAN, kmemleak, lockdep, fault injection present; cmdline: $(cat /proc/cmdline)"

bdf=$(grep -l '^0x010802$' /sys/bus/pci/devices/*/class 2>/dev/null |
      head -n 1 | sed 's|/sys/bus/pci/devices/||; s|/class||')
if [ -n "$bdf" ]; then
	echo uio_pci_generic >"/sys/bus/pci/devices/$bdf/driver_override"
	echo "$bdf" >/sys/bus/pci/drivers_probe 2>/dev/null
	drv=$(basename "$(readlink "/sys/bus/pci/devices/$bdf/driver")" 2>/dev/null)
	say "NVMe controller $bdf bound to ${drv:-nothing}"
	[ "$drv" = uio_pci_generic ] && export VTOP_TEST_PCI="$bdf"
else
	say "no NVMe controller: ATTACH sweeps will skip"
fi

# The kmemleak check must be able to fail: a module that leaks one object,
# loaded under the per-program check, must come out with "kmemleak" among
# the failed checks. (The next program's check clears the report.)
canary=$(vtop_check.sh insmod /add/vtop_leak_canary.ko 2>&1)
case "$canary" in
*"failed checks:"*kmemleak*)
	say "kmemleak canary: reported, as it must be" ;;
*)
	say "FAIL: the kmemleak canary (a leaked object) was not reported:"
	printf '%s\n' "$canary"
	exit 1 ;;
esac

export VTOP_STRESS_SECONDS="$stress" VTOP_TEST_TIMEOUT="$per_test"
start=$(cut -d. -f1 /proc/uptime)
run_tests.sh
suite=$?
mid=$(cut -d. -f1 /proc/uptime)

export VTOP_FUZZ_ITERATIONS="$iters" VTOP_FUZZ_SEED="$seed"
VTOP_TESTS_DIR=/vtop/bin run_tests.sh vtop-fuzz
fuzz=$?
end=$(cut -d. -f1 /proc/uptime)

say "suite: status $suite in $((mid - start)) s; fuzzer: status $fuzz in $((end - mid)) s"
[ $suite = 0 ] && [ $fuzz = 0 ]
