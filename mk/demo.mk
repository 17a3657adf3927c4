# SPDX-License-Identifier: GPL-2.0-only
# make demo: boot a 6.12 guest with an emulated NVMe controller and run
# tools/demo.sh in it.
.PHONY: demo demo-bins
GUEST_BINS_TARGETS += demo-bins

demo-bins:
	mkdir -p $(BUILD)/bin
	install -m 0755 $(TOP)/tools/demo.sh $(BUILD)/bin/vtop-demo

demo:
	$(TOP)/scripts/deps.sh base vm
	$(MAKE) ksft-headers
	$(TOP)/tools/vm/run.sh --kernel $(or $(DEMO_KERNEL),6.12) --nvme -- /vtop/bin/vtop-demo
