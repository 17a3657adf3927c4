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
#   make fresh-check  make demo in a new minimal Debian 12 root (mk/fresh.mk)

TOP := $(CURDIR)
VERSION := $(shell cat $(TOP)/VERSION)
VERSION_MAJOR := $(firstword $(subst ., ,$(VERSION)))
# The library's soname version: its own, not the project's (libvtop/SOVERSION).
LIBVTOP_SOVERSION := $(shell cat $(TOP)/libvtop/SOVERSION)
BUILD ?= $(TOP)/build
KRELEASE ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KRELEASE)/build
PREFIX ?= /usr/local
KSFT_DIR ?= $(BUILD)/ksft

export TOP VERSION VERSION_MAJOR LIBVTOP_SOVERSION BUILD PREFIX KSFT_DIR

.PHONY: all deps ksft-headers check clean
all:

# Debian packages (scripts/deps.sh; the group table is in its header). Every
# target a user runs installs exactly the groups it needs first: in its own
# recipe (mk/demo.mk, vm.mk, nvme.mk, bench.mk, fresh.mk) or by a deps-GROUP
# prerequisite: named below for targets whose rule has no prerequisites of
# its own (make runs a recipe rule's prerequisites before those added by
# other rules), first in the rule's own list otherwise (mk/lib.mk).
# `make deps` installs every group (what `make check` needs).
DEPS_ALL := base vm checkpatch dkms debug bench fresh rdma abi man caps deb
DEPS_ALL += dpdk
deps:
	$(TOP)/scripts/deps.sh $(DEPS_ALL)

deps-%:
	@$(TOP)/scripts/deps.sh $*

all: deps-base
checkpatch: deps-checkpatch
modules-all: deps-base deps-k6.1 deps-k6.12
dkms-check dkms-install: deps-dkms
check-debug debug-check debug-kernel: deps-debug

ksft-headers: deps-ksrc
	$(TOP)/scripts/ksft-headers.sh $(KSFT_DIR)

include $(sort $(wildcard $(TOP)/mk/*.mk))

# The README's test command. Each step is a separate make so that the order
# is fixed and a failure stops the run.
# Fragments set CHECK_KMOD (mk/kmod.mk), CHECK_HOST (mk/lib.mk),
# CHECK_VM (mk/vm.mk), CHECK_NVME (mk/nvme.mk), CHECK_KSFT (mk/ksft.mk: the
# selftests through the kernel's kselftest runner), CHECK_BENCH (mk/bench.mk,
# a smoke run only), CHECK_DEBUG (mk/debug.mk) and CHECK_FRESH (mk/fresh.mk).
# fresh-check is last: it tests the committed HEAD (not the working tree the
# other steps test) and needs the Debian mirror, so the steps that judge the
# tree itself report first and a mirror outage cannot hide their results.
CHECK_STEPS = $(CHECK_KMOD) $(CHECK_HOST) $(CHECK_MAN) $(CHECK_VM) $(CHECK_NVME) \
	      $(CHECK_RDMA) \
	      $(CHECK_KSFT) \
	      $(CHECK_DPDK) \
	      $(CHECK_BENCH) $(CHECK_DEBUG) $(CHECK_FRESH)

check: deps
	$(MAKE) ksft-headers
	$(TOP)/scripts/check.sh $(CHECK_STEPS)

clean:
	rm -rf $(BUILD)
