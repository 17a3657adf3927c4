# SPDX-License-Identifier: GPL-2.0-only
# make demo: boot a 6.12 guest with an emulated NVMe controller and run
# tools/demo.sh in it.
.PHONY: demo demo-bins
GUEST_BINS_TARGETS += demo-bins

demo-bins:
	mkdir -p $(BUILD)/bin
	install -m 0755 $(TOP)/tools/demo.sh $(BUILD)/bin/vtop-demo

DEMO_KERNEL ?= 6.12

# The rig and the one kernel the demo boots (scripts/deps.sh).
demo:
	$(TOP)/scripts/deps.sh rig k$(DEMO_KERNEL)
	$(MAKE) ksft-headers
	$(TOP)/tools/vm/run.sh --kernel $(DEMO_KERNEL) --nvme -- /vtop/bin/vtop-demo
