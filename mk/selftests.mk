# SPDX-License-Identifier: GPL-2.0-only
# Selftests and the vtop CLI (selftests/Makefile, on kselftest's lib.mk):
#   make selftests   $(BUILD)/selftests/: a wrapper per test (vtop_check.sh
#                    around progs/<test>), progs/, tests.list, settings
#   make tools       $(BUILD)/bin/vtop (the CLI; plain rules below)
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

# The vtop CLI shares the tests' helpers (vtop_test_util.c) but not their
# build: no kernel source needed (make deb builds it).
TOOLS_OBJ := $(BUILD)/tools
TOOLS_WARN := -Wall -Wextra -Werror
TOOLS_CPPFLAGS := -I$(TOP)/include -I$(TOP)/selftests

tools: deps-base
	$(MAKE) -C $(TOP) $(BUILD)/bin/vtop

$(TOOLS_OBJ)/vtop_test_util.o: $(TOP)/selftests/vtop_test_util.c \
		$(TOP)/selftests/vtop_test_util.h $(TOP)/include/uapi/linux/vtop.h
	@mkdir -p $(@D)
	$(CC) $(TOOLS_CPPFLAGS) -std=gnu11 $(TOOLS_WARN) -O2 -g -c -o $@ $<

$(BUILD)/bin/vtop: $(TOP)/tools/vtop.c $(TOOLS_OBJ)/vtop_test_util.o \
		$(TOP)/selftests/vtop_test_util.h $(TOP)/include/uapi/linux/vtop.h \
		$(TOP)/VERSION
	@mkdir -p $(@D)
	$(CC) $(TOOLS_CPPFLAGS) -DVTOP_VERSION_STR='"$(VERSION)"' -std=c11 \
		$(TOOLS_WARN) -O2 -g -o $@ $< $(TOOLS_OBJ)/vtop_test_util.o \
		$(LDFLAGS)
