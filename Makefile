# SPDX-License-Identifier: GPL-2.0-only
#
# vtop top-level Makefile. Human-facing targets only: kbuild reads ./Kbuild
# when it builds the module (make modules, DKMS). Each component adds its
# targets in mk/<component>.mk; this file fixes the order of `make check`.
#
#   make            module for the running kernel (or KDIR=), library, tests
#   make demo       boot a guest and show pinned buffers and their addresses
#   make check      every test: host, DKMS, both Debian kernels, debug kernel
#   make bench      benchmarks (see README)
#   make install    library, headers and pkg-config file (PREFIX, DESTDIR)

TOP := $(CURDIR)
VERSION := $(shell cat $(TOP)/VERSION)
VERSION_MAJOR := $(firstword $(subst ., ,$(VERSION)))
BUILD ?= $(TOP)/build
KRELEASE ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KRELEASE)/build
PREFIX ?= /usr/local
KSFT_DIR ?= $(BUILD)/ksft

export TOP VERSION VERSION_MAJOR BUILD PREFIX KSFT_DIR

.PHONY: all deps ksft-headers check clean
all:

deps:
	$(TOP)/scripts/deps.sh base vm debug bench

ksft-headers:
	$(TOP)/scripts/ksft-headers.sh $(KSFT_DIR)

include $(sort $(wildcard $(TOP)/mk/*.mk))

# The README's test command. Each step is a separate make so that the order
# is fixed and a failure stops the run.
# Fragments set CHECK_KMOD (mk/kmod.mk), CHECK_HOST (mk/lib.mk),
# CHECK_VM (mk/vm.mk), CHECK_NVME (mk/nvme.mk), CHECK_BENCH (mk/bench.mk,
# a smoke run only) and CHECK_DEBUG (mk/debug.mk).
CHECK_STEPS = $(CHECK_KMOD) $(CHECK_HOST) $(CHECK_VM) $(CHECK_NVME) \
	      $(CHECK_BENCH) $(CHECK_DEBUG)

check: deps
	$(MAKE) ksft-headers
	$(TOP)/scripts/check.sh $(CHECK_STEPS)

clean:
	rm -rf $(BUILD)
