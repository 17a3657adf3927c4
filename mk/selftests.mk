# SPDX-License-Identifier: GPL-2.0-only
# Selftests and the vtop CLI (selftests/Makefile, on kselftest's lib.mk):
#   make selftests   $(BUILD)/selftests/: a wrapper per test (vtop_check.sh
#                    around progs/<test>), progs/, tests.list, settings
#   make tools       $(BUILD)/bin/vtop
# Both are carried into the guests by the VM rig (GUEST_BINS_TARGETS).
# lib.mk and the harness come from linux-source-6.12 (ksft-tree, cached in
# $(BUILD)/ksft-tree); mk/ksft.mk runs the same directory through the
# kernel's own build and runner (make ksft-check).
.PHONY: selftests tools ksft-tree
GUEST_BINS_TARGETS += selftests tools

KSFT_TREE ?= $(BUILD)/ksft-tree
export KSFT_TREE

# libvtop_*_test.c link libvtop: build it first when the library exists.
SELFTESTS_DEPS := $(if $(and $(wildcard $(TOP)/selftests/libvtop_*_test.c),\
			$(wildcard $(TOP)/mk/lib.mk)),lib)

ksft-tree: deps-ksrc
	$(TOP)/scripts/ksft-tree.sh $(KSFT_TREE)

selftests: ksft-tree $(SELFTESTS_DEPS)
	$(MAKE) -C $(TOP)/selftests OUTPUT=$(BUILD)/selftests tests

tools: ksft-tree
	$(MAKE) -C $(TOP)/selftests OUTPUT=$(BUILD)/selftests tools
