#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `make install` into a DESTDIR, then build and run a consumer against the
# installed files only, found through pkg-config.
set -u
: "${TOP:?}" "${BUILD:?}" "${VERSION:?}"
major=$(cat "$TOP/libvtop/SOVERSION")	# the soname version
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
tap_prefix=install
# shellcheck source=selftests/host/tap.sh
. "$TOP/selftests/host/tap.sh"

make -s -C "$TOP/libvtop" install DESTDIR="$dest" PREFIX=/opt/vt \
	BUILD="$BUILD" >"$dest/log" 2>&1
rc=$?
[ $rc -eq 0 ] || sed 's/^/# /' "$dest/log"
t make_install test $rc -eq 0
t files test -f "$dest/opt/vt/lib/libvtop.so.$VERSION" \
	-a -L "$dest/opt/vt/lib/libvtop.so.$major" \
	-a -L "$dest/opt/vt/lib/libvtop.so" \
	-a -f "$dest/opt/vt/lib/libvtop.a" \
	-a -f "$dest/opt/vt/include/vtop.h" \
	-a -f "$dest/opt/vt/include/vtop/uapi/linux/vtop.h" \
	-a -f "$dest/opt/vt/lib/pkgconfig/libvtop.pc"
t uapi_verbatim cmp -s "$TOP/include/uapi/linux/vtop.h" \
	"$dest/opt/vt/include/vtop/uapi/linux/vtop.h"
t pc_prefix grep -qx 'prefix=/opt/vt' "$dest/opt/vt/lib/pkgconfig/libvtop.pc"

cat > "$dest/consumer.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <vtop.h>

int main(void)
{
	struct vtop_mem_map *m = vtop_mem_map_alloc(7, NULL, NULL);
	struct vtop_info info = { .size = sizeof(info) };	/* uapi type */

	if (!m || vtop_mem_map_set_translation(m, 0x200000, 0x200000, 3))
		return 1;
	if (vtop_mem_map_translate(m, 0x300000, NULL) != 3 ||
	    vtop_mem_map_translate(m, 0x400000, NULL) != 7)
		return 2;
	vtop_mem_map_free(&m);
	printf("%s %u\n", vtop_version(), info.size == sizeof(info));
	return 0;
}
C
export PKG_CONFIG_PATH=$dest/opt/vt/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror $(pkg-config --cflags libvtop) -o "$dest/consumer" "$dest/consumer.c" \
	$(pkg-config --libs libvtop) 2>"$dest/cc.log"
rc=$?
[ $rc -eq 0 ] || sed 's/^/# /' "$dest/cc.log"
t consumer_builds test $rc -eq 0
out=$(LD_LIBRARY_PATH=$dest/opt/vt/lib "$dest/consumer" 2>&1)
t consumer_runs test "$out" = "$VERSION 1"
t consumer_uses_installed_lib bash -c "LD_LIBRARY_PATH='$dest/opt/vt/lib' ldd '$dest/consumer' | grep -q '$dest/opt/vt/lib/libvtop.so.$major'"
# SPDK-style code against the installed SPDK compatibility header
cat > "$dest/spdk.c" <<'C'
#include <vtop/spdk_env_mem.h>

int main(void)
{
	struct spdk_mem_map *m = spdk_mem_map_alloc(7, NULL, NULL);

	if (!m || spdk_mem_map_set_translation(m, 0x200000, 0x200000, 3) ||
	    spdk_mem_map_translate(m, 0x300000, NULL) != 3)
		return 1;
	spdk_mem_map_free(&m);
	return spdk_mem_register((void *)0x1000, 5) == -EINVAL ? 0 : 2;
}
C
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags libvtop) -o "$dest/spdk" \
	"$dest/spdk.c" $(pkg-config --libs libvtop) 2>"$dest/cc2.log"
rc=$?
[ $rc -eq 0 ] || sed 's/^/# /' "$dest/cc2.log"
t spdk_header_builds test $rc -eq 0
t spdk_header_runs env LD_LIBRARY_PATH="$dest/opt/vt/lib" "$dest/spdk"

# .pc honours INCLUDEDIR and LIBDIR (multiarch layouts), and the headers
# and libraries go there
make -s -C "$TOP/libvtop" install DESTDIR="$dest/ml" PREFIX=/usr \
	LIBDIR=/usr/lib/x86_64-linux-gnu INCLUDEDIR=/usr/include/vt \
	BUILD="$BUILD" >"$dest/log2" 2>&1
pc=$dest/ml/usr/lib/x86_64-linux-gnu/pkgconfig/libvtop.pc
t pc_libdir grep -qx 'libdir=/usr/lib/x86_64-linux-gnu' "$pc"
t pc_includedir grep -qx 'includedir=/usr/include/vt' "$pc"
t header_in_includedir test -f "$dest/ml/usr/include/vt/vtop.h"
t pc_no_libkmod bash -c "! grep -q kmod '$pc'"
tap_exit
