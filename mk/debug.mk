# SPDX-License-Identifier: GPL-2.0-only
#
# Debug-kernel lane: Debian's linux-source-6.12 built with KASAN, kmemleak,
# lockdep, DEBUG_VM/LIST, fault injection (tools/debug-kernel/), booted by the
# VM rig with panic_on_warn=1 kmemleak=on; the whole selftest suite runs there,
# including the fail-nth sweep (vtop_failnth_test) and a longer stress run
# (vtop_stress_test), then the ioctl fuzzer. The in-guest runner checks the
# pin counters, kmemleak and the kernel log after each program.
#
#   make debug-kernel   build the kernel, or reuse the cached one; prints its
#                       directory (${VTOP_CACHE:-/var/cache/vtop}/debug-kernel/)
#   make check-debug    the lane (alias: debug-check)
#   make fuzz           $(BUILD)/bin/vtop-fuzz (carried into every guest)
#
# Knobs: DEBUG_STRESS_SECONDS (60), DEBUG_FUZZ_ITERATIONS (100000),
# DEBUG_FUZZ_SEED (random), DEBUG_TEST_TIMEOUT (per test program, 1500 s),
# DEBUG_VM_TIMEOUT (whole guest, 3600 s), DEBUG_VM_ARGS (more run.sh options).

DEBUG_KERNEL_SH := $(TOP)/tools/debug-kernel/build.sh
DEBUG_STRESS_SECONDS ?= 60
DEBUG_FUZZ_ITERATIONS ?= 100000
DEBUG_FUZZ_SEED ?=
DEBUG_TEST_TIMEOUT ?= 1500
DEBUG_VM_TIMEOUT ?= 3600
DEBUG_VM_ARGS ?=

FUZZ_BIN := $(BUILD)/bin/vtop-fuzz
FUZZ_SRC := $(TOP)/tools/vtop-fuzz.c $(TOP)/selftests/vtop_test_util.c
FUZZ_DEPS := $(FUZZ_SRC) $(TOP)/selftests/vtop_test_util.h \
	     $(TOP)/include/uapi/linux/vtop.h

GUEST_BINS_TARGETS += fuzz

.PHONY: debug-kernel fuzz check-debug debug-check

debug-kernel:
	$(DEBUG_KERNEL_SH)

fuzz: $(FUZZ_BIN)

$(FUZZ_BIN): $(FUZZ_DEPS)
	mkdir -p $(@D)
	$(CC) -std=c11 -Wall -Wextra -Werror -O2 -g -I$(TOP)/include \
		-I$(TOP)/selftests -o $@ $(FUZZ_SRC)

# One guest with an IOMMU and an NVMe controller (bound to uio_pci_generic
# by guest.sh, so that ATTACH is swept too): the suite, then the fuzzer,
# both under the in-guest runner (tools/debug-kernel/guest.sh).
# iommu.strict=1: ATTACH refuses lazy (DMA-FQ) IOMMU domains (issue 11).
# no5lvl: with 5-level paging (TCG's -cpu max has LA57), an interrupt that
# lands while identify_cpu() has cleared boot_cpu_data's feature bits makes
# KASAN take direct-map addresses for 4-level ones and report a bogus
# "wild-memory-access" at boot (6.12; about 1 boot in 10 here).
# The kmemleak canary (tools/debug-kernel/canary/, a module that leaks one
# object) is built against the debug kernel; guest.sh requires the
# per-program check to report it before it runs the suite. Its line in the
# kernel log ("kmemleak: 1 new suspected memory leaks") must be there and is
# the one such line the whole-log scan lets pass (run.sh --expect-log).
CANARY_DIR := $(BUILD)/debug-canary
check-debug:
	dir=$$($(DEBUG_KERNEL_SH) | tail -n 1) && \
	rm -rf $(CANARY_DIR) && mkdir -p $(CANARY_DIR) && \
	cp $(TOP)/tools/debug-kernel/canary/vtop_leak_canary.c \
	   $(TOP)/tools/debug-kernel/canary/Kbuild $(CANARY_DIR)/ && \
	$(MAKE) -s -C $$dir/build M=$(CANARY_DIR) modules >/dev/null
	$(TOP)/tools/vm/run.sh --kernel debug --mem 2G --iommu --nvme \
		--timeout $(DEBUG_VM_TIMEOUT) --append "no5lvl iommu.strict=1" \
		--add $(TOP)/tools/debug-kernel/guest.sh \
		--add $(CANARY_DIR)/vtop_leak_canary.ko \
		--expect-log '^kmemleak: [0-9]+ new suspected memory leak' \
		$(DEBUG_VM_ARGS) \
		-- /add/guest.sh $(DEBUG_STRESS_SECONDS) \
		$(DEBUG_FUZZ_ITERATIONS) $(DEBUG_TEST_TIMEOUT) $(DEBUG_FUZZ_SEED)

debug-check: check-debug

CHECK_DEBUG := check-debug
