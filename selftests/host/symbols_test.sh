#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Library hygiene (issue 16 item 6): every global symbol libvtop.a defines
# is vtop_-prefixed, and those that are not API (not in libvtop.map) are
# vtop__-prefixed, so a static link never collides with a program's own
# names; the test hooks exist in neither the installed .a nor the .so;
# libvtop.so does not depend on libkmod (dlopen()ed for
# VTOP_ENV_LOAD_MODULE); -Werror is a variable packagers can clear.
set -u
: "${TOP:?}" "${BUILD:?}"
lib=$BUILD/lib
tap_prefix=symbols
# shellcheck source=selftests/host/tap.sh
. "$TOP/selftests/host/tap.sh"

api=$(sed -n 's/^[[:space:]]*\(vtop_[a-z0-9_]*\);/\1/p' "$TOP/libvtop/libvtop.map" | sort -u)
# NAME or NAME@VERSION, one per defined global of the archive
globals=$(nm -g --defined-only "$lib/libvtop.a" | awk 'NF == 3 { print $3 }' |
	sed 's/@.*//' | sort -u)

unprefixed() {
	local bad
	bad=$(printf '%s\n' "$globals" | grep -v '^vtop_')
	[ -z "$bad" ] || { echo "# not vtop_-prefixed: $bad" | tr '\n' ' '; echo; }
	[ -z "$bad" ]
}
internal_not_vtop__() {
	local bad
	bad=$(printf '%s\n' "$globals" | grep '^vtop_' | grep -v '^vtop__' |
		grep -vFx "$api")
	[ -z "$bad" ] || { echo "# internal but not vtop__: $bad" | tr '\n' ' '; echo; }
	[ -z "$bad" ]
}
no_hooks() {
	! nm -g "$lib/libvtop.a" "$lib/libvtop.so" 2>/dev/null |
		grep -E 'vtop__calloc_hook|vtop__env_init_backend|vtop__mem_check_regs'
}
t static_globals_prefixed unprefixed
t static_internal_vtop__ internal_not_vtop__
t static_has_api bash -c "printf '%s\n' '$globals' | grep -qx vtop_dma_malloc"
t static_has_dev_api bash -c "printf '%s\n' '$globals' | grep -qx vtop_dev_attach"
t so_dev_api_0_5 bash -c "nm -D --defined-only '$lib/libvtop.so' | grep -q ' vtop_vtophys_dev@@LIBVTOP_0.5$'"
t so_dev_is_revoked_0_6 bash -c "nm -D --defined-only '$lib/libvtop.so' | grep -q ' vtop_dev_is_revoked@@LIBVTOP_0.6$'"
t no_dev_hook_installed bash -c "! nm -g '$lib/libvtop.a' '$lib/libvtop.so' 2>/dev/null | grep -q vtop__dev_open_hook"
t no_test_hooks_installed no_hooks
t so_no_libkmod bash -c "! readelf -d '$lib/libvtop.so' | grep -q 'NEEDED.*libkmod'"
t so_dlopens_libkmod grep -q 'libkmod.so.2' "$lib/libvtop.so"
t werror_clearable grep -q '^WERROR ?= -Werror' "$TOP/libvtop/Makefile"

# dlopen() of libvtop.so with glibc's static TLS surplus at its smallest:
# the library's initial-exec TLS makes glibc take its whole TLS block from
# that surplus, so the block must stay a few bytes (512 of them once made
# a fourth dlopen()ed copy fail with the default surplus).
dlopen_small_tls() {
	local d rc
	d=$(mktemp -d) || return 1
	printf '%s\n' '#include <dlfcn.h>' '#include <stdio.h>' \
		'int main(int c, char **v) { (void)c; if (dlopen(v[1], RTLD_NOW)) return 0; printf("# %s\n", dlerror()); return 1; }' \
		> "$d/dl.c"
	"${CC:-cc}" -o "$d/dl" "$d/dl.c" -ldl &&
		GLIBC_TUNABLES=glibc.rtld.nns=1:glibc.rtld.optional_static_tls=0 \
		"$d/dl" "$lib/libvtop.so"
	rc=$?
	rm -rf "$d"
	return "$rc"
}
t so_dlopen_small_static_tls dlopen_small_tls
tap_exit
