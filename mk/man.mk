# SPDX-License-Identifier: GPL-2.0-only
#
# Manual pages (man/): vtop(4), vtop(8), libvtop(3) and a page (or a .so
# link page) per public function of include/vtop.h.
#
#   make man-check    mandoc -Tlint of every page, and the coverage test:
#                     fails when a function of vtop.h, an ioctl or errno of
#                     the uapi header, or a subcommand of the CLI has no
#                     page or entry (scripts/man-check.sh; then --selftest
#                     shows that each kind of gap fails it)
#   make install-man  the pages into $(DESTDIR)$(MANDIR)/manN (part of
#                     make install)

MANDIR ?= $(PREFIX)/share/man
MAN_PAGES := $(sort $(wildcard $(TOP)/man/man[0-9]/*.[0-9]))

.PHONY: man-check install-man

man-check:
	$(TOP)/scripts/deps.sh base man
	$(TOP)/scripts/man-check.sh
	$(TOP)/scripts/man-check.sh --selftest

# Link pages stay .so pages (".so man3/PAGE.3" resolves against the man
# root, as man-db and mandoc do); packaging turns them into symlinks.
install-man:
	set -e; for p in $(MAN_PAGES); do \
		s=$$(basename $$(dirname $$p)); \
		install -d $(DESTDIR)$(MANDIR)/$$s; \
		install -m 0644 $$p $(DESTDIR)$(MANDIR)/$$s/; \
	done

install: install-man

# deferred: pkg.mk and deb.mk add their steps to CHECK_PKG
CHECK_MAN = man-check $(CHECK_PKG)
