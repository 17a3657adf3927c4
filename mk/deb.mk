# SPDX-License-Identifier: GPL-2.0-only
#
# Debian packages (debian/, debhelper and dh-dkms), built offline:
#
#   make deb        $(BUILD)/deb/*.deb: vtop-dkms, libvtop$(LIBVTOP_SOVERSION),
#                   libvtop-dev, vtop-tools; then lintian, which must report no
#                   error (the warnings accepted are in debian/lintian-accepted
#                   with their reasons; any other warning fails too)
#
# The package is built from a copy of the working tree's tracked files in
# $(BUILD)/deb/vtop-VERSION (dpkg-buildpackage writes next to it).

DEB_DIR := $(BUILD)/deb
DEB_SRC := $(DEB_DIR)/vtop-$(VERSION)

.PHONY: deb deb-lint

deb:
	$(TOP)/scripts/deps.sh deb
	@grep -q '^Package: libvtop$(LIBVTOP_SOVERSION)$$' $(TOP)/debian/control || \
		{ echo "debian/control: no package libvtop$(LIBVTOP_SOVERSION) (libvtop/SOVERSION is $(LIBVTOP_SOVERSION)): rename the library package" >&2; exit 1; }
	@head -n 1 $(TOP)/debian/changelog | grep -q '^vtop ($(VERSION))' || \
		{ echo "debian/changelog: the top entry is not version $(VERSION) (VERSION): add one (dch -v $(VERSION))" >&2; exit 1; }
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_SRC)
	cd $(TOP) && git ls-files -z --cached | \
		xargs -0 sh -c 'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done' sh | \
		tar --null -T - -cf - | tar -C $(DEB_SRC) -xf -
	cd $(DEB_SRC) && dpkg-buildpackage -b -us -uc -j2 >$(DEB_DIR)/build.log 2>&1 || \
		{ tail -n 40 $(DEB_DIR)/build.log; exit 1; }
	$(MAKE) -C $(TOP) deb-lint
	@ls $(DEB_DIR)/*.deb

# lintian: no error, and no warning that debian/lintian-accepted does not
# list (tag, then its reason).
deb-lint:
	cd $(DEB_DIR) && lintian --no-cfg --fail-on none --display-info \
		$(DEB_DIR)/*.changes >$(DEB_DIR)/lintian.log 2>&1 || true
	@cat $(DEB_DIR)/lintian.log
	@if grep -q '^E: ' $(DEB_DIR)/lintian.log; then \
		echo "deb-lint: lintian reports errors" >&2; exit 1; fi
	@bad=$$(sed -nE 's/^W: [^:]+: ([a-z0-9-]+).*/\1/p' $(DEB_DIR)/lintian.log | sort -u | \
		while read -r tag; do grep -qE "^$$tag( |$$)" $(TOP)/debian/lintian-accepted || echo $$tag; done); \
	if [ -n "$$bad" ]; then echo "deb-lint: warnings not in debian/lintian-accepted: $$bad" >&2; exit 1; fi
	@echo "deb-lint: no errors, only accepted warnings"

CHECK_PKG += deb
