# SPDX-License-Identifier: GPL-2.0-only
#
# VM rig: run the selftest suite in QEMU guests booting the installed Debian
# kernels (tools/vm/run.sh; see its --help).
#
#   make vm-check            suite on 6.1 and on 6.12 (both must pass)
#   make vm-check-6.1        suite on 6.1 only (likewise vm-check-6.12)
#   make vm-shell            interactive guest shell (VM_KERNEL=6.12, VM_ARGS=)
#   make vm-run VM_ARGS=...  tools/vm/run.sh with arbitrary options
#   make guest-bins          everything the guest carries besides the module
#   make vm-selftest         the rig's own checks (tools/vm/selftest.sh)
#
# Other fragments add the targets that build guest binaries (library, test
# binaries into build/selftests/ + tests.list, tools into build/bin/) with
#   GUEST_BINS_TARGETS += <target>
# run.sh calls `make guest-bins` before it packs the initramfs. The list is
# expanded in the recipe, so the order in which fragments are read does not
# matter.

VM_RUN := $(TOP)/tools/vm/run.sh
VM_KERNEL ?= 6.12
VM_ARGS ?=
GUEST_BINS_TARGETS ?=

.PHONY: guest-bins vm-check vm-check-6.1 vm-check-6.12 vm-shell vm-run \
	vm-selftest

guest-bins:
	$(if $(strip $(GUEST_BINS_TARGETS)),$(MAKE) -C $(TOP) $(GUEST_BINS_TARGETS),@:)

# Each target installs the rig and the kernels it boots (scripts/deps.sh).
# Sequential on purpose: the machine has two cores and each guest uses both.
vm-check:
	$(TOP)/scripts/deps.sh rig k6.1 k6.12
	$(VM_RUN) --kernel 6.1 $(VM_ARGS)
	$(VM_RUN) --kernel 6.12 $(VM_ARGS)

vm-check-6.1 vm-check-6.12: vm-check-%:
	$(TOP)/scripts/deps.sh rig k$*
	$(VM_RUN) --kernel $* $(VM_ARGS)

vm-shell:
	$(TOP)/scripts/deps.sh rig k$(VM_KERNEL)
	$(VM_RUN) --kernel $(VM_KERNEL) --shell $(VM_ARGS)

vm-run:
	$(TOP)/scripts/deps.sh rig k$(VM_KERNEL)
	$(VM_RUN) --kernel $(VM_KERNEL) $(VM_ARGS)

vm-selftest:
	$(TOP)/scripts/deps.sh rig k6.1 k6.12
	$(TOP)/tools/vm/selftest.sh

CHECK_VM := vm-check
