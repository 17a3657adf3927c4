# SPDX-License-Identifier: GPL-2.0-only
#
# The administrator's side (issue 12): the vtop CLI's tests.
#
#   make cli-check        host tests of vtop stats/pins/--json on fixture
#                         files (selftests/cli/cli_test.sh)
#   make pkg-guest-check  a 6.1 and a 6.12 guest (PKG_KERNELS=...): vtop info/stats/
#                         pins against a live pin (selftests/cli/guest_test.sh)

PKG_KERNELS ?= 6.1 6.12

.PHONY: cli-check pkg-guest-check

cli-check: deps-base
	$(MAKE) -C $(TOP) tools
	$(TOP)/selftests/cli/cli_test.sh $(BUILD)/bin/vtop

pkg-guest-check:
	$(TOP)/scripts/deps.sh rig $(addprefix k,$(PKG_KERNELS))
	set -e; for k in $(PKG_KERNELS); do \
		$(TOP)/tools/vm/run.sh --kernel $$k --timeout 600 \
			--add $(TOP)/selftests/cli/guest_test.sh \
			-- /add/guest_test.sh; \
	done

CHECK_MAN += cli-check pkg-guest-check
