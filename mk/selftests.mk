# SPDX-License-Identifier: GPL-2.0-only
# Selftests and the vtop CLI (selftests/Makefile):
#   make selftests   $(BUILD)/selftests/<test> and tests.list, settings
#   make tools       $(BUILD)/bin/vtop
# Both are carried into the guests by the VM rig (GUEST_BINS_TARGETS).
.PHONY: selftests tools
GUEST_BINS_TARGETS += selftests tools

# libvtop_*_test.c link libvtop: build it first when the library exists.
SELFTESTS_DEPS := $(if $(and $(wildcard $(TOP)/selftests/libvtop_*_test.c),\
			$(wildcard $(TOP)/mk/lib.mk)),lib)

selftests: ksft-headers $(SELFTESTS_DEPS)
	$(MAKE) -C $(TOP)/selftests tests

tools:
	$(MAKE) -C $(TOP)/selftests tools
