# SPDX-License-Identifier: GPL-2.0-only
#
# The administrator's side (issue 12): the vtop CLI's tests, the udev rule
# and the vtop group (data/), their installation.
#
#   make cli-check        host tests of vtop stats/pins/--json on fixture
#                         files (selftests/cli/cli_test.sh)
#   make pkg-guest-check  a 6.1 and a 6.12 guest (PKG_KERNELS=...): vtop info/stats/
#                         pins against a live pin, and the group/capability
#                         model as non-root users, setcap included
#                         (selftests/cli/guest_test.sh)
#   make install-tools    the vtop CLI into $(DESTDIR)$(SBINDIR) (part of
#                         make install)
#   make install-udev     data/60-vtop.rules into $(UDEVRULESDIR), the
#                         sysusers.d file into $(SYSUSERSDIR), and, unless
#                         DESTDIR is set, the vtop group (groupadd --system)

PKG_KERNELS ?= 6.1 6.12
UDEVRULESDIR ?= /etc/udev/rules.d
SYSUSERSDIR ?= /etc/sysusers.d
SBINDIR ?= $(PREFIX)/sbin

.PHONY: cli-check pkg-guest-check install-udev install-tools

cli-check: deps-base
	$(MAKE) -C $(TOP) tools
	$(TOP)/selftests/cli/cli_test.sh $(BUILD)/bin/vtop

pkg-guest-check:
	$(TOP)/scripts/deps.sh rig caps $(addprefix k,$(PKG_KERNELS))
	set -e; for k in $(PKG_KERNELS); do \
		$(TOP)/tools/vm/run.sh --kernel $$k --timeout 600 \
			--add $(TOP)/selftests/cli/guest_test.sh \
			--add $(TOP)/data/60-vtop.rules \
			--add "$$(command -v setcap)" -- /add/guest_test.sh; \
	done

install-tools: deps-base tools
	install -d $(DESTDIR)$(SBINDIR)
	install -m 0755 $(BUILD)/bin/vtop $(DESTDIR)$(SBINDIR)/vtop

install: install-tools

install-udev:
	install -d $(DESTDIR)$(UDEVRULESDIR) $(DESTDIR)$(SYSUSERSDIR)
	install -m 0644 $(TOP)/data/60-vtop.rules $(DESTDIR)$(UDEVRULESDIR)/
	install -m 0644 $(TOP)/data/vtop.sysusers $(DESTDIR)$(SYSUSERSDIR)/vtop.conf
	if [ -z "$(DESTDIR)" ]; then \
		getent group vtop >/dev/null || groupadd --system vtop; \
		if command -v udevadm >/dev/null; then udevadm control --reload || true; \
			udevadm trigger --subsystem-match=misc --sysname-match=vtop || true; fi; \
	fi

CHECK_PKG += cli-check pkg-guest-check
