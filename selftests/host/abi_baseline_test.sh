#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# libvtop's ABI, guarded (issue 12 item 6):
#  - abidiff of the built libvtop.so against the committed baseline of its
#    soname (libvtop/abi/libvtop.so.N.abi, `make -C libvtop abi-baseline`):
#    an incompatible change (a symbol removed, a public type changed
#    incompatibly) fails unless the soname changes; any other change of
#    existing symbols or public types fails until the baseline is
#    regenerated in a reviewed commit; added symbols are fine;
#  - a consumer that uses only the inline lookups references the versioned
#    layout symbol and refuses to load against a library without it;
#  - vtop.h (and vtop/spdk_env_mem.h) compile warning-free for 32-bit
#    consumers.
set -u
: "${TOP:?}" "${BUILD:?}"
lib=$BUILD/lib
sover=$(cat "$TOP/libvtop/SOVERSION")
so=$lib/libvtop.so.$sover
base=$TOP/libvtop/abi/libvtop.so.$sover.abi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tap_prefix=abi_baseline
# shellcheck source=selftests/host/tap.sh
. "$TOP/selftests/host/tap.sh"

abi_compatible() {
	local rc
	if [ ! -f "$base" ]; then
		echo "# no baseline for soname libvtop.so.$sover: make -C libvtop abi-baseline"
		return 1
	fi
	abidiff --no-added-syms --headers-dir2 "$TOP/include" \
		--drop-private-types "$base" "$so" >"$tmp/abidiff" 2>&1
	rc=$?
	sed 's/^/# /' "$tmp/abidiff"
	if [ $((rc & 8)) -ne 0 ]; then
		echo "# INCOMPATIBLE ABI change: a new soname (libvtop/SOVERSION) is needed"
	elif [ $((rc & 4)) -ne 0 ]; then
		echo "# ABI change: if compatible, review it and run make -C libvtop abi-baseline"
	fi
	return $rc
}
t abidiff_baseline abi_compatible
t baseline_soname grep -q "soname='libvtop.so.$sover'" "$base"

# Only the inline lookups: no call into the library at all.
cat >"$tmp/inl.c" <<'C'
#include <vtop.h>

int main(int argc, char **argv)
{
	if (argc > 100)	/* never: the lookup is compiled in, not run */
		return (int)vtop_mem_map_lookup((const struct vtop_mem_map *)argv, 0) +
		       (int)vtop_vtophys_lookup((const struct vtop_mem_map *)argv, argv);
	return 0;
}
C
cc -std=c11 -Wall -Wextra -Werror -I"$TOP/include" -o "$tmp/inl" "$tmp/inl.c" \
	-L"$lib" -lvtop 2>&1 | sed 's/^/# /'
t inline_consumer_versioned bash -c "readelf -W --dyn-syms '$tmp/inl' | grep -q 'vtop__map_layout_1@LIBVTOP_0.4'"
t inline_consumer_loads env LD_LIBRARY_PATH="$lib" "$tmp/inl"
# The same objects linked as a 0.3 library: no LIBVTOP_0.4 node (nor 0.5 or 0.6,
# which inherit it).
mkdir -p "$tmp/old"
sed '/^LIBVTOP_0.[456] {/,/^}/d' "$TOP/libvtop/libvtop.map" >"$tmp/old.map"
cc -shared -Wl,-soname=libvtop.so.$sover -Wl,--version-script="$tmp/old.map" \
	-o "$tmp/old/libvtop.so.$sover" "$BUILD"/libvtop/*.o -ldl -pthread
refused() {
	local out
	out=$(LD_LIBRARY_PATH="$tmp/old" "$tmp/inl" 2>&1) && return 1
	printf '# %s\n' "$out"
	printf '%s\n' "$out" | grep -q 'LIBVTOP_0.4'
}
t inline_consumer_refuses_old_lib refused

# 32-bit consumers: warning-free, or a clear #error (not the case).
cat >"$tmp/m32.c" <<'C'
#include <vtop.h>
#include <vtop/spdk_env_mem.h>

uint64_t f(const struct vtop_mem_map *m, const void *p);
uint64_t f(const struct vtop_mem_map *m, const void *p)
{
	return vtop_mem_map_lookup(m, (uintptr_t)p) + vtop_vtophys_lookup(m, p);
}
C
t header_m32 bash -c "cc -m32 -std=c11 -Wall -Wextra -Werror -I'$TOP/include' -c -o '$tmp/m32.o' '$tmp/m32.c' 2>&1 | sed 's/^/# /'; test \${PIPESTATUS[0]} -eq 0"
t header_m32_pedantic bash -c "cc -m32 -std=c11 -pedantic -Wall -Wextra -Werror -I'$TOP/include' -c -o '$tmp/m32p.o' '$tmp/m32.c' 2>&1 | sed 's/^/# /'; test \${PIPESTATUS[0]} -eq 0"
t header_cxx bash -c "c++ -Wall -Wextra -Werror -x c++ -I'$TOP/include' -c -o '$tmp/cxx.o' '$tmp/m32.c' 2>&1 | sed 's/^/# /'; test \${PIPESTATUS[0]} -eq 0"
tap_exit
