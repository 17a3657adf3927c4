# SPDX-License-Identifier: GPL-2.0-only
#
# Kernel module targets (owner: kernel module engineer).
#   make modules        vtop.ko in the top directory, against KDIR
#   make modules-all    build/kmod/<release>/vtop.ko for both Debian kernels
#   make dkms-check     dkms add + build for both kernels + remove (root)
#   make checkpatch     checkpatch --strict over kmod/ and the ABI header
#   make kmod-clean     remove the in-tree module build products
#   make dkms-install   copy the module sources to /usr/src/vtop-VERSION,
#                       dkms add + install for KRELEASE (root)
#   make dkms-uninstall dkms remove every kernel's vtop VERSION (root)

# The installed Debian 6.1 and 6.12 releases (resolved, never hard-coded:
# a fresh machine may get a newer ABI number).
KMOD_RELEASES ?= $(foreach k,6.1 6.12,$(shell $(TOP)/tools/vm/kernels.sh resolve $(k) 2>/dev/null | head -n 1))

.PHONY: modules modules-all dkms-check checkpatch kmod-clean dkms-install \
	dkms-uninstall

# `make` builds the module too when there is a kernel build tree for it
# (the host may run a kernel without headers: then say so and go on).
ifneq ($(wildcard $(KDIR)/Makefile),)
all: modules
else ifeq ($(filter-out all,$(MAKECMDGOALS)),)
$(info mk/kmod.mk: no kernel build tree at $(KDIR); skipping the module (set KDIR= or KRELEASE=, or run make modules-all))
endif

modules:
	$(MAKE) -C $(KDIR) M=$(TOP) modules

modules-all:
	set -e; for r in $(KMOD_RELEASES); do \
		$(TOP)/scripts/build-kmod.sh $$r; done

dkms-check:
	$(TOP)/scripts/dkms-check.sh $(KMOD_RELEASES)

# Only the module's sources go to /usr/src (not build/ or the library).
KMOD_DKMS_SRC := /usr/src/vtop-$(VERSION)

dkms-install: dkms-uninstall
	mkdir -p $(KMOD_DKMS_SRC)/kmod $(KMOD_DKMS_SRC)/include/uapi/linux
	cp -p $(TOP)/dkms.conf $(TOP)/Kbuild $(TOP)/VERSION $(KMOD_DKMS_SRC)/
	cp -p $(TOP)/kmod/*.[ch] $(KMOD_DKMS_SRC)/kmod/
	cp -p $(TOP)/include/uapi/linux/*.h $(KMOD_DKMS_SRC)/include/uapi/linux/
	dkms add -m vtop -v $(VERSION)
	dkms install -m vtop -v $(VERSION) -k $(KRELEASE)

dkms-uninstall:
	-dkms remove -m vtop -v $(VERSION) --all
	rm -rf $(KMOD_DKMS_SRC)

checkpatch:
	$(TOP)/scripts/checkpatch.sh

kmod-clean:
	rm -f $(TOP)/kmod/*.o $(TOP)/kmod/.*.cmd $(TOP)/vtop.ko $(TOP)/vtop.o \
		$(TOP)/vtop.mod $(TOP)/vtop.mod.c $(TOP)/vtop.mod.o \
		$(TOP)/.vtop*.cmd $(TOP)/.module-common.o $(TOP)/.Module.symvers.cmd \
		$(TOP)/.modules.order.cmd $(TOP)/Module.symvers $(TOP)/modules.order

clean: kmod-clean

CHECK_KMOD := checkpatch dkms-check
