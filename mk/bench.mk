# SPDX-License-Identifier: GPL-2.0-only
#
# Benchmarks (owner: benchmark engineer). See bench/run.sh and docs/bench.md.
#   make bench-bins   build/bin/vtop-bench-{translate,register,notify,events,guest}
#   make bench        every benchmark: host natively, guests on 6.1 and 6.12;
#                     writes results/<date>-<host kernel>/{results.md,
#                     results.csv,plot.png} and prints the table
#   make bench-smoke  the same with tiny sizes and one VM boot; checks that
#                     every benchmark ran and produced its rows, never speed
#   make bench-profile  perf profile and syscall counts of libvtop's and the
#                     raw ioctls' registration of one page, in a guest of the
#                     last of BENCH_KERNELS (bench/profile.sh)
# Variables: BENCH_KERNELS ("6.1 6.12"), BENCH_OUT (the results folder),
# BENCH_VM_ARGS (tools/vm/run.sh options; default --mem 2G --hugepages 320
# --timeout 2400: 512 MiB of hugetlb memory and a slow TCG guest).

BENCH_KERNELS ?= 6.1 6.12
BENCH_VM_ARGS ?= --mem 2G --hugepages 320 --timeout 2400
BENCH_OUT ?= $(TOP)/results/$(shell date -u +%Y-%m-%d)-$(shell uname -r)
BENCH_SMOKE_OUT ?= $(BUILD)/bench-smoke/results

BENCH_PROGS := translate register notify events iommu
BENCH_BINS := $(addprefix $(BUILD)/bin/vtop-bench-,$(BENCH_PROGS)) \
	      $(BUILD)/bin/vtop-bench-guest $(BUILD)/bin/vtop-bench-profile
BENCH_LIBVTOP = $(BUILD)/lib/libvtop.so.$(LIBVTOP_SOVERSION)
BENCH_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror -pthread \
		-I$(TOP)/include -I$(TOP)/bench -I$(TOP)/tools/vm/testmod
BENCH_LDFLAGS := -pthread -Wl,-rpath,'$$ORIGIN/../lib'
BENCH_COMMON := $(TOP)/bench/common.c $(TOP)/bench/common.h \
		$(TOP)/tools/vm/testmod/vtop_floor.h

.PHONY: bench bench-bins bench-progs bench-smoke bench-profile bench-clean
# Guest images carry the programs once the library can be built.
ifneq ($(wildcard $(TOP)/mk/lib.mk),)
GUEST_BINS_TARGETS += bench-bins
endif

# The library first (its own make logic decides what to rebuild), then the
# programs, which relink when it changed.
bench-bins: lib
	$(MAKE) bench-progs

bench-progs: $(BENCH_BINS)

# The registration benchmarks share the timed pair loop (bench/pair.c),
# which needs liburing for the io_uring baseline.
BENCH_PAIR := $(TOP)/bench/pair.c
$(BUILD)/bin/vtop-bench-register $(BUILD)/bin/vtop-bench-iommu: \
	$(BENCH_PAIR) $(TOP)/bench/pair.h
$(BUILD)/bin/vtop-bench-register: BENCH_EXTRA_SRCS := $(BENCH_PAIR)
$(BUILD)/bin/vtop-bench-register: BENCH_EXTRA_LIBS := -luring
$(BUILD)/bin/vtop-bench-iommu: BENCH_EXTRA_SRCS := $(BENCH_PAIR)
$(BUILD)/bin/vtop-bench-iommu: BENCH_EXTRA_LIBS := -luring

$(BUILD)/bin/vtop-bench-%: $(TOP)/bench/%.c $(BENCH_COMMON) $(wildcard $(BENCH_LIBVTOP))
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -o $@ $(TOP)/bench/$*.c $(TOP)/bench/common.c \
		$(BENCH_EXTRA_SRCS) $(BENCH_LDFLAGS) $(BENCH_LIBVTOP) \
		$(BENCH_EXTRA_LIBS)

$(BUILD)/bin/vtop-bench-profile: $(TOP)/bench/profile.sh
	@mkdir -p $(@D)
	install -m 0755 $< $@

$(BUILD)/bin/vtop-bench-guest: $(TOP)/bench/guest.sh
	@mkdir -p $(@D)
	install -m 0755 $< $@

bench:
	$(TOP)/scripts/deps.sh bench $(addprefix k,$(BENCH_KERNELS))
	$(MAKE) ksft-headers
	$(MAKE) bench-bins
	$(TOP)/bench/run.sh --kernels "$(BENCH_KERNELS)" \
		--vm-args "$(BENCH_VM_ARGS)" $(BENCH_OUT)

bench-smoke:
	$(TOP)/scripts/deps.sh bench k$(lastword $(BENCH_KERNELS))
	$(MAKE) ksft-headers
	$(MAKE) bench-bins
	$(TOP)/bench/run.sh --smoke --kernels "$(lastword $(BENCH_KERNELS))" \
		--vm-args "$(BENCH_VM_ARGS)" $(BENCH_SMOKE_OUT)

bench-profile:
	$(TOP)/scripts/deps.sh bench k$(lastword $(BENCH_KERNELS))
	$(MAKE) ksft-headers
	$(MAKE) bench-bins
	$(TOP)/tools/vm/run.sh --kernel $(lastword $(BENCH_KERNELS)) \
		$(BENCH_VM_ARGS) --pack /usr/bin/perf -- /vtop/bin/vtop-bench-profile

bench-clean:
	rm -f $(BENCH_BINS)
	rm -rf $(BUILD)/bench-smoke

CHECK_BENCH := bench-smoke
