#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Self-test of the VM rig: shows that tools/vm/run.sh and run_tests.sh pass
# what must pass and fail what must fail, on each kernel given (default:
# 6.1 6.12). About six short boots per kernel. Prints KTAP; exit 1 on any
# failure. Not part of `make check` (run: make vm-selftest).
#
#   - the command's exit status is passed through
#   - a kernel WARNING in the guest fails the run (and the test during which
#     it happened), a crash (missing end marker) fails it, a hang times out
#   - run_tests.sh: KTAP nesting, SKIP on exit 4, TIMEOUT, pin-leak and
#     kernel-log checks, summary line and status
#   - --iommu gives an active DMA remapping unit, --nvme an NVMe controller
#     that uio_pci_generic can bind; modprobe works in the guest; a
#     dynamically linked --add binary runs
set -uo pipefail

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-$TOP/build}
VM=$TOP/tools/vm
kernels=("$@")
[ ${#kernels[@]} -gt 0 ] || kernels=(6.1 6.12)

work=$(mktemp -d "${TMPDIR:-/tmp}/vtop-vm-selftest.XXXXXX")
trap 'rm -rf "$work"' EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n $*"; }

# The fake tests run_tests.sh is pointed at (VTOP_TESTS_DIR).
ft=$work/faketests
mkdir -p "$ft"
cat >"$ft/t_pass" <<'EOF'
#!/bin/sh
echo "TAP version 13"
echo "1..1"
echo "ok 1 fake_subtest"
EOF
printf '#!/bin/sh\necho "# failing"\nexit 1\n' >"$ft/t_fail"
printf '#!/bin/sh\necho "# skipping"\nexit 4\n' >"$ft/t_skip"
printf '#!/bin/sh\nsleep 600\n' >"$ft/t_slow"
cat >"$ft/t_warn" <<'EOF'
#!/bin/sh
insmod /add/vtop_rig_test.ko provoke=warn || exit 1
rmmod vtop_rig_test
EOF
printf '#!/bin/sh\nexec /add/pin_holder 8\n' >"$ft/t_pinleak"
printf '#!/bin/sh\ninsmod /add/vtop_rig_test.ko && rmmod vtop_rig_test\n' >"$ft/t_quiet"
chmod +x "$ft"/t_*
printf '%s\n' t_pass t_fail t_skip t_slow t_warn t_quiet t_pinleak \
	>"$ft/tests.list"

gcc -std=c11 -Wall -Wextra -Werror -O2 -o "$work/pin_holder" \
	"$VM/testmod/pin_holder.c" || { echo "Bail out! cannot build pin_holder"; exit 1; }

# expect NAME RC PATTERN... -- run.sh ARGS...: the run exits RC and its
# output (console and rig messages) matches every PATTERN (grep -E).
expect() {
	local name=$1 want=$2 pats=() rc=0 p bad=""
	shift 2
	while [ "$1" != -- ]; do pats+=("$1"); shift; done
	shift
	"$VM/run.sh" "$@" >"$work/out" 2>&1 || rc=$?
	[ "$rc" = "$want" ] || bad="exit status $rc, expected $want"
	for p in "${pats[@]}"; do
		grep -qE -- "$p" "$work/out" || bad="${bad:+$bad; }no match for '$p'"
	done
	if [ -z "$bad" ]; then
		ok "$name"
	else
		sed 's/^/# /' "$work/out" | tail -n 60
		not_ok "$name # $bad"
	fi
}

echo "TAP version 13"
echo "1..$((7 * ${#kernels[@]}))"
for k in "${kernels[@]}"; do
	kinfo=$("$VM/kernels.sh" resolve "$k") || {
		echo "Bail out! kernel $k"
		exit 1
	}
	{ read -r rel; read -r _; read -r kdir; } <<<"$kinfo"
	tm=$BUILD/vm/testmod/$rel
	mkdir -p "$tm"
	cp -p "$VM/testmod/vtop_rig_test.c" "$VM/testmod/Kbuild" "$tm/"
	if (unset MAKEFLAGS MFLAGS MAKELEVEL
	    nice make -s -C "$kdir" M="$tm" modules >"$work/kbuild.log" 2>&1); then
		ok "$k: test module builds"
	else
		sed 's/^/# /' "$work/kbuild.log"
		not_ok "$k: test module builds"
		continue
	fi
	# Only the module is built here: the rig's own checks must not
	# depend on the state of the other guest binaries.
	mkdir -p "$BUILD/vm"
	if ! flock "$BUILD/vm/.build.lock" "$TOP/scripts/build-kmod.sh" "$rel" \
		"$kdir" >"$work/kbuild.log" 2>&1; then
		sed 's/^/# /' "$work/kbuild.log"
		echo "Bail out! vtop.ko does not build for $rel"
		exit 1
	fi
	common=(--no-build --kernel "$k" --add "$tm/vtop_rig_test.ko" --add "$work/pin_holder"
		--add "$ft")

	expect "$k: status passthrough" 3 'VTOP-VM-EXIT: 3' \
		-- "${common[@]}" -- sh -c 'exit 3'

	expect "$k: run_tests.sh verdicts" 1 \
		'^TAP version 13$' '^1\.\.7$' '^  ok 1 fake_subtest$' \
		'^ok 1 t_pass$' '^not ok 2 t_fail # exit=1$' \
		'^ok 3 t_skip # SKIP$' '^not ok 4 t_slow # TIMEOUT' \
		'^not ok 5 t_warn # exit=0, kernel-log$' \
		'^  # .*vtop rig self-test: provoked warning' \
		'^ok 6 t_quiet$' '^not ok 7 t_pinleak # exit=0, pin-leak, left-processes$' \
		'^vtop: 2 passed, 4 failed, 1 skipped$' \
		'FAIL .*kernel log reports problems' \
		-- "${common[@]}" -- env VTOP_TESTS_DIR=/add/faketests \
		VTOP_TEST_TIMEOUT=5 run_tests.sh

	expect "$k: crash is a failure" 125 'no end marker' \
		-- "${common[@]}" -- sh -c 'echo c > /proc/sysrq-trigger'

	expect "$k: hang times out" 124 'time-out' \
		-- "${common[@]}" --timeout 40 -- sleep 600

	# shellcheck disable=SC2016 # guest shell code
	expect "$k: --iommu --nvme" 0 '^dmar0$' '^iommu_group=[0-9]+$' \
		'^nvme 0000:00:0[0-9a-f]\.0 uio0$' 'PASS' \
		-- "${common[@]}" --iommu --nvme -- sh -ec '
		grep -q "intel_iommu=on iommu=nopt" /proc/cmdline
		ls /sys/class/iommu
		for d in /sys/bus/pci/devices/*; do
			[ "$(cat $d/vendor):$(cat $d/device)" = 0x1b36:0x0010 ] && break
		done
		echo "iommu_group=$(basename $(readlink $d/iommu_group))"
		modprobe uio_pci_generic
		echo 1b36 0010 > /sys/bus/pci/drivers/uio_pci_generic/new_id
		echo "nvme $(basename $d) $(ls $d/uio)"'

	expect "$k: plain machine, modules, --add, test subset" 0 \
		'^HugePages_Total: +64$' '^pinned 16 pages$' '^vtop +[0-9]+ +0' \
		'^1\.\.2$' '^ok 1 t_skip # SKIP$' '^ok 2 t_pass$' \
		'^vtop: 1 passed, 0 failed, 1 skipped$' 'PASS' \
		-- "${common[@]}" -- sh -ec '
		VTOP_TESTS_DIR=/add/faketests run_tests.sh t_skip t_pass
		grep HugePages_Total /proc/meminfo
		[ ! -e /sys/class/iommu/dmar0 ]
		[ -c /dev/vtop ]
		/add/pin_holder 0 | sed "s/^# //"
		rmmod vtop
		modprobe vtop
		lsmod | grep "^vtop "'
done

echo "# vm selftest: $((n - failed)) passed, $failed failed"
[ $failed -eq 0 ]
