# SPDX-License-Identifier: GPL-2.0-only
#
# The fresh-machine check (scripts/fresh-check.sh): a minimal Debian 12 root
# from debootstrap (--variant=minbase, plus git and make), a clean clone of
# the committed HEAD in it, and `make demo` run there as a new user would;
# fails unless every package came from scripts/deps.sh and the demo printed
# its success lines. Then the Debian packages in the same root
# (scripts/fresh-deb.sh): make deb, apt-get install ./...deb, DKMS built for
# both guest kernels, a pkg-config-built consumer run in a guest booted with
# the DKMS-built module. The debootstrap result is cached pristine under
# ${VTOP_CACHE:-/var/cache/vtop}/fresh/<key>.tar.
#
#   make fresh-check    (root; FRESH_KEEP=1 keeps the root, FRESH_TIMEOUT,
#                       FRESH_PKG=0 leaves the packages out)
#   make fresh-check FRESH_TARGETS="host-check install checkpatch"
#                       other targets in the new root, one make each

.PHONY: fresh-check

fresh-check:
	$(TOP)/scripts/deps.sh fresh
	$(TOP)/scripts/fresh-check.sh

CHECK_FRESH := fresh-check
