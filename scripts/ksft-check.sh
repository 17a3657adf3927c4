#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make ksft-check: the selftests as a kselftest target of a kernel tree,
# built, installed and run by the kernel's own tools.
#
#  1. The kernel-tree subset of linux-source-6.12 (scripts/ksft-tree.sh,
#     cached) is copied to build/ksft-check/linux, and selftests/ into it as
#     tools/testing/selftests/vtop, plus one canary test written here
#     (vtop_ksftcheck_canary_test.c: picked up by the Makefile's wildcard;
#     SKIPs unless VTOP_KSFT_CANARY=leak, then leaks a pin to a child).
#  2. In a clean environment (nothing of the vtop build exported):
#       make -C tools/testing/selftests TARGETS=vtop VTOP_SRC=<vtop tree>
#       MAKEFLAGS="TARGETS=vtop VTOP_SRC=..." kselftest_install.sh <dir>
#     and the install directory must hold run_kselftest.sh, the kernel's
#     runner and a kselftest-list.txt naming every test in the Makefile's
#     order.
#  3. One guest per kernel (tools/vm/run.sh --add <dir>) runs the installed
#     run_kselftest.sh: every test must report "ok" (or "ok ... # SKIP") in
#     its TAP and none "not ok"; then the canary alone with
#     VTOP_KSFT_CANARY=leak must report "not ok" with a pin leak, which
#     shows the per-program checks (vtop_check.sh) work under that runner.
#
# Prints TAP; ends with "ksft: N passed, N failed"; exit 1 on a failure.
# usage: scripts/ksft-check.sh [--kernels "6.12 6.1"] [--no-guest]
set -uo pipefail

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BUILD=${BUILD:-$TOP/build}
KSFT_TREE=${KSFT_TREE:-$BUILD/ksft-tree}
kernels="6.12"
guest=1
while [ $# -gt 0 ]; do
	case "$1" in
	--kernels) kernels=$2; shift ;;
	--no-guest) guest=0 ;;
	-h|--help) sed -n '4,25p' "$0" | cut -c 3-; exit 0 ;;
	*) echo "ksft-check.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
	shift
done

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n $*"; }
finish() {
	echo "ksft: $((n - failed)) passed, $failed failed"
	[ $failed -eq 0 ]
	exit
}
bail() { not_ok "$*"; finish; }

echo "TAP version 13"
"$TOP/scripts/ksft-tree.sh" "$KSFT_TREE" || bail "kernel-tree subset from linux-source-6.12"

work=$BUILD/ksft-check
rm -rf "$work"
mkdir -p "$work"
cp -a "$KSFT_TREE/linux" "$work/linux"
st=$work/linux/tools/testing/selftests
cp -a "$TOP/selftests" "$st/vtop"
canary=vtop_ksftcheck_canary_test
cat >"$st/vtop/$canary.c" <<'EOF'
// SPDX-License-Identifier: GPL-2.0-only
/*
 * Canary of make ksft-check (scripts/ksft-check.sh writes it into the copy
 * of selftests/ it builds in a kernel tree; never part of the vtop tree).
 * Without VTOP_KSFT_CANARY it skips. With VTOP_KSFT_CANARY=leak it pins 16
 * pages as an io_uring fixed buffer, hands the ring to a child that sleeps,
 * and exits 0 at once: vtop_check.sh must report the pin leak and the
 * process left behind, so the kernel's runner says "not ok".
 */
#define _GNU_SOURCE
#include <linux/io_uring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

int main(void)
{
	const char *mode = getenv("VTOP_KSFT_CANARY");
	struct io_uring_params p;
	size_t len = 16 * 4096;
	struct iovec iov;
	void *buf;
	int ring;

	if (!mode || strcmp(mode, "leak")) {
		printf("# canary of make ksft-check: VTOP_KSFT_CANARY unset\n");
		return 4;
	}
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return 1;
	memset(buf, 1, len);
	memset(&p, 0, sizeof(p));
	ring = (int)syscall(__NR_io_uring_setup, 4, &p);
	if (ring < 0)
		return 1;
	iov.iov_base = buf;
	iov.iov_len = len;
	if (syscall(__NR_io_uring_register, ring, IORING_REGISTER_BUFFERS,
		    &iov, 1) < 0)
		return 1;
	printf("# canary: 16 pages pinned, left to a child\n");
	fflush(stdout);
	if (fork() == 0) {
		close(0);
		close(1);
		close(2);
		sleep(600);
		_exit(0);
	}
	return 0;
}
EOF

# The kernel's make, as a kernel developer runs it: nothing of the vtop
# build's environment (TOP, BUILD, VERSION, ...) is passed on.
kmake() {
	env -i PATH="$PATH" HOME="${HOME:-/root}" LANG=C \
		nice make -j"$(nproc)" "$@"
}

if kmake -C "$st" TARGETS=vtop VTOP_SRC="$TOP" >"$work/build.log" 2>&1; then
	ok "make -C tools/testing/selftests TARGETS=vtop VTOP_SRC=..."
else
	sed 's/^/# /' "$work/build.log" | tail -n 40
	bail "make -C tools/testing/selftests TARGETS=vtop VTOP_SRC=..."
fi

inst=$work/kselftest_install
mkdir -p "$inst"
if (cd "$st" && env -i PATH="$PATH" HOME="${HOME:-/root}" LANG=C \
	MAKEFLAGS="TARGETS=vtop VTOP_SRC=$TOP" ./kselftest_install.sh "$inst") \
	>"$work/install.log" 2>&1; then
	ok "kselftest_install.sh (TARGETS=vtop)"
else
	sed 's/^/# /' "$work/install.log" | tail -n 40
	bail "kselftest_install.sh (TARGETS=vtop)"
fi

# The tests the Makefile knows, in its order, must be the runner's list.
want=$(env -i PATH="$PATH" make -s --no-print-directory -C "$st/vtop" \
	VTOP_SRC="$TOP" list 2>/dev/null | sed 's/^/vtop:/')
have=$(cat "$inst/kselftest-list.txt" 2>/dev/null)
if [ -n "$want" ] && [ "$want" = "$have" ] &&
   grep -qx "vtop:$canary" <<<"$have"; then
	ok "kselftest-list.txt: $(wc -l <<<"$have") tests in the Makefile's order, the added canary included"
else
	diff <(echo "$want") <(echo "$have") | sed 's/^/# /'
	not_ok "kselftest-list.txt lists the Makefile's tests"
fi
missing=""
for f in run_kselftest.sh kselftest/runner.sh vtop/vtop_check.sh \
	 vtop/settings vtop/config; do
	[ -f "$inst/$f" ] || missing="$missing $f"
done
while read -r t; do
	t=${t#vtop:}
	[ -x "$inst/vtop/$t" ] && [ -x "$inst/vtop/progs/$t" ] ||
		missing="$missing vtop/$t"
done <<<"$have"
# The libvtop tests carry the library (static): nothing of build/lib needed.
for f in "$inst"/vtop/progs/libvtop_*; do
	if readelf -d "$f" 2>/dev/null | grep -q 'libvtop\.so'; then
		missing="$missing $(basename "$f")-links-libvtop.so"
	fi
done
if [ -z "$missing" ]; then
	ok "install directory: runner, wrappers, programs, vtop_check.sh, settings, config"
else
	not_ok "install directory lacks:$missing"
fi

[ $guest = 1 ] || finish

cat >"$work/guest.sh" <<'EOF'
#!/bin/sh
# In the guest: the installed suite through the kernel's runner, then the
# canary alone, asked to leak.
cd /add/kselftest_install || exit 1
echo "KSFT-RUN: suite"
./run_kselftest.sh
echo "KSFT-RUN: canary"
VTOP_KSFT_CANARY=leak ./run_kselftest.sh -t vtop:vtop_ksftcheck_canary_test
echo "KSFT-RUN: end"
EOF
chmod +x "$work/guest.sh"
ntests=$(wc -l <<<"$have")

for k in $kernels; do
	log=$work/guest-$k.log
	"$TOP/tools/vm/run.sh" --kernel "$k" --timeout 1200 \
		--add "$inst" --add "$work/guest.sh" -- /add/guest.sh \
		>"$log" 2>&1
	rc=$?
	suite=$(sed -n '/^KSFT-RUN: suite$/,/^KSFT-RUN: canary$/p' "$log")
	can=$(sed -n '/^KSFT-RUN: canary$/,/^KSFT-RUN: end$/p' "$log")
	nok=$(grep -cE '^ok [0-9]+ selftests: vtop: ' <<<"$suite")
	nskip=$(grep -cE '^ok [0-9]+ selftests: vtop: .* # SKIP' <<<"$suite")
	bad=$(grep -E '^not ok [0-9]+ ' <<<"$suite")
	if [ $rc = 0 ] && [ -z "$bad" ] && [ "$nok" = "$ntests" ] &&
	   grep -qx "1\.\.$ntests" <<<"$suite" &&
	   grep -qE "^ok [0-9]+ selftests: vtop: $canary # SKIP$" <<<"$suite"; then
		ok "$k: run_kselftest.sh: $nok of $ntests ok ($nskip skipped), none not ok"
	else
		grep -E '^(not )?ok [0-9]+ selftests: |^vtop-vm: ' "$log" | sed 's/^/# /'
		[ -n "$bad" ] && tail -n 80 <<<"$suite" | sed 's/^/# /'
		not_ok "$k: run_kselftest.sh: every test ok (run.sh status $rc, $nok of $ntests ok)"
	fi
	if grep -qx "not ok 1 selftests: vtop: $canary # exit=1" <<<"$can" &&
	   grep -qE '^# # pin leak: ' <<<"$can" &&
	   grep -qE '^# # left running: ' <<<"$can"; then
		ok "$k: the leaking canary is not ok under the kernel's runner (pin leak, left process)"
	else
		tail -n 30 <<<"$can" | sed 's/^/# /'
		not_ok "$k: the leaking canary is not ok under the kernel's runner"
	fi
done
finish
