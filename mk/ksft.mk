# SPDX-License-Identifier: GPL-2.0-only
#
# The selftests as a kselftest target of a kernel tree, proven with the
# kernel's own build, installer and runner (scripts/ksft-check.sh):
#
#   make ksft-check   copy selftests/ into the kernel-tree subset of
#                     linux-source-6.12 as tools/testing/selftests/vtop,
#                     make TARGETS=vtop, kselftest_install.sh, then run the
#                     installed run_kselftest.sh in a guest per kernel of
#                     KSFT_KERNELS (default 6.12; "6.12 6.1" for both):
#                     every test ok/skip in its TAP, and a leaking canary
#                     reported "not ok" by the per-program checks
#   make ksft-build   the same without the guest
.PHONY: ksft-check ksft-build

KSFT_KERNELS ?= 6.12
DEPS_ALL += ksft
CHECK_KSFT := ksft-check

ksft-check:
	$(TOP)/scripts/deps.sh ksft $(addprefix k,$(KSFT_KERNELS))
	$(TOP)/scripts/ksft-check.sh --kernels "$(KSFT_KERNELS)"

ksft-build:
	$(TOP)/scripts/deps.sh ksft
	$(TOP)/scripts/ksft-check.sh --no-guest
