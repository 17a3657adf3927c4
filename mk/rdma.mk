# SPDX-License-Identifier: GPL-2.0-only
#
# libvtop as an RDMA memory-region cache (issue 13), proven over soft-RoCE
# (rdma_rxe on a dummy netdev) in the guest.
#
#   make rdma-example    build/bin/vtop-rdma (links libvtop and libibverbs)
#   make rdma-check      the five scenarios on 6.1 and 6.12, one guest boot
#                        per kernel (selftests/rdma/check.sh --help)
#   make rdma-check RDMA_KERNELS=6.12 RDMA_SCENARIOS="1 3"
#
# Scenarios (selftests/rdma/scenario*.sh, all in one boot):
#   1 RDMA WRITE, READ and SEND/RECV between two RC QPs with 4 KiB-page, THP
#     and hugetlb buffers registered only with vtop_mem_register(), keys
#     from the cache, every byte checked; a buffer over two registrations
#     travels as two SGEs
#   2 the same with the cache created after the registrations (replay)
#   3 munmap + mmap(MAP_FIXED) of a registered buffer: the invalidation
#     drops the MR, the buffer is registered again and the WRITE lands in
#     the new pages; with events off the stale MR writes the old pages and
#     vtop-rdma fails (the check can fail)
#   4 ibv_reg_mr() failing under RLIMIT_MEMLOCK: -ENOMEM from
#     vtop_mem_register(), no MR, no pin, no map entry
#   5 teardown: no MR, nr_foll_pin_acquired == nr_foll_pin_released

RDMA_BIN := $(BUILD)/bin/vtop-rdma
RDMA_SRCS := $(wildcard $(TOP)/examples/rdma/*.c)
RDMA_HDRS := $(wildcard $(TOP)/examples/rdma/*.h)
RDMA_CFLAGS := -std=c11 -Wall -Wextra -Werror -O2 -g -I$(TOP)/include
RDMA_KERNELS ?= 6.1 6.12
RDMA_SCENARIOS ?= 1 2 3 4 5

.PHONY: rdma-example rdma-check
all: rdma-example
GUEST_BINS_TARGETS += rdma-example
CHECK_RDMA := rdma-check

# after lib (a sub-make): the binaries depend on the library's file,
# which has no rule here
rdma-example: deps-rdma lib
	$(MAKE) -C $(TOP) $(RDMA_BIN) $(RDMA_BENCH_BIN)

$(RDMA_BIN): $(RDMA_SRCS) $(RDMA_HDRS) $(TOP)/include/vtop.h \
		$(TOP)/include/uapi/linux/vtop.h \
		$(BUILD)/lib/libvtop.so.$(LIBVTOP_SOVERSION)
	@mkdir -p $(@D)
	$(CC) $(RDMA_CFLAGS) -o $@ $(RDMA_SRCS) -L$(BUILD)/lib -lvtop \
		-libverbs -Wl,-rpath,'$$ORIGIN/../lib'

rdma-check:
	$(TOP)/scripts/deps.sh rdma $(addprefix k,$(RDMA_KERNELS))
	$(TOP)/selftests/rdma/check.sh --kernels "$(RDMA_KERNELS)" \
		--scenarios "$(RDMA_SCENARIOS)"

# The benchmark row (bench/rdma.c): per message, the cache's lookup against
# ibv_reg_mr + ibv_dereg_mr, 4 KiB ... 1 MiB, in soft-RoCE guests.
#   make bench-rdma      RDMA_BENCH_OUT/rdma.{csv,md} (default: the results
#                        folder of `make bench`), the table printed;
#                        `make bench` runs it first (not bench-smoke: no
#                        cost in make check)
RDMA_BENCH_BIN := $(BUILD)/bin/vtop-bench-rdma
RDMA_BENCH_OUT ?= $(BENCH_OUT)
RDMA_LIB_SRCS := $(TOP)/examples/rdma/mrcache.c $(TOP)/examples/rdma/loop.c

.PHONY: bench-rdma
bench: bench-rdma

$(RDMA_BENCH_BIN): $(TOP)/bench/rdma.c $(TOP)/bench/common.c \
		$(TOP)/bench/common.h $(RDMA_LIB_SRCS) $(RDMA_HDRS) \
		$(TOP)/include/vtop.h $(BUILD)/lib/libvtop.so.$(LIBVTOP_SOVERSION)
	@mkdir -p $(@D)
	$(CC) $(RDMA_CFLAGS) -I$(TOP)/bench -I$(TOP)/examples/rdma -o $@ \
		$(TOP)/bench/rdma.c $(TOP)/bench/common.c $(RDMA_LIB_SRCS) \
		-L$(BUILD)/lib -lvtop -libverbs -Wl,-rpath,'$$ORIGIN/../lib'

bench-rdma:
	$(TOP)/scripts/deps.sh rdma $(addprefix k,$(RDMA_KERNELS))
	$(MAKE) rdma-example
	$(TOP)/selftests/rdma/bench-run.sh --kernels "$(RDMA_KERNELS)" \
		$(RDMA_BENCH_OUT)
