#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# libvtop.so's ABI: soname, exported symbols exactly the version script's
# (and every function vtop.h declares), all versioned LIBVTOP_*, no test
# hooks exported, libvtop.pc filled in.
set -u
: "${TOP:?}" "${BUILD:?}" "${VERSION:?}"
lib=$BUILD/lib
major=$(cat "$TOP/libvtop/SOVERSION")	# the soname version
tap_prefix=abi
# shellcheck source=selftests/host/tap.sh
. "$TOP/selftests/host/tap.sh"

so=$lib/libvtop.so.$major
# a symbol may be listed in several nodes (a new version of it)
map_syms=$(sed -n 's/^[[:space:]]*\(vtop_[a-z0-9_]*\);/\1/p' "$TOP/libvtop/libvtop.map" | sort -u)
# Functions the header declares, less its static inline ones (and the
# vtop__ layout helpers they use), which are never exported.
inl_syms=$(grep -o 'static inline [a-z0-9_ *]*\bvtop_[a-z0-9_]*(' "$TOP/include/vtop.h" |
	grep -o 'vtop_[a-z0-9_]*' | sort -u)
hdr_syms=$(grep -o '\bvtop_[a-z0-9][a-z0-9_]*(' "$TOP/include/vtop.h" | tr -d '(' |
	sort -u | comm -23 - <(printf '%s\n' "$inl_syms"))
dyn=$(nm -D --defined-only "$so" | awk '$2 == "T" || $2 == "R" { print $3 }')
dyn_names=$(printf '%s\n' "$dyn" | sed 's/@.*//' | sort -u)
# Compatibility entry points: old versions kept for old binaries.
compat='vtop_mem_map_alloc@LIBVTOP_0.1'


t soname bash -c "readelf -d '$so' | grep -q 'SONAME.*\[libvtop.so.$major\]'"
t exports_match_map test "$dyn_names" = "$map_syms"
# the map's data symbol vtop__map_layout_1 is the inline lookups' layout
t header_matches_map test "$hdr_syms" = "$(printf '%s\n' "$map_syms" | grep -v '^vtop__')"
t inline_not_exported bash -c "test -n '$inl_syms' && ! printf '%s\n' '$dyn_names' | grep -Fxf <(printf '%s\n' '$inl_syms')"
t all_versioned bash -c "! printf '%s\n' '$dyn' | grep -v '@@LIBVTOP_' | grep -vFx '$compat'"
t compat_alloc_0_1 bash -c "printf '%s\n' '$dyn' | grep -qFx 'vtop_mem_map_alloc@LIBVTOP_0.1'"
t default_alloc_0_3 bash -c "printf '%s\n' '$dyn' | grep -qFx 'vtop_mem_map_alloc@@LIBVTOP_0.3'"
# the map file is append-only: the released nodes are still there, in order
t map_nodes bash -c "test \"\$(grep -o '^LIBVTOP_[0-9.]*' '$TOP/libvtop/libvtop.map' | tr '\n' ' ')\" = 'LIBVTOP_0.1 LIBVTOP_0.2 LIBVTOP_0.3 LIBVTOP_0.4 LIBVTOP_0.5 LIBVTOP_0.6 '"
t no_hooks_exported bash -c "! nm -D '$so' | grep -v ' vtop__map_layout_1@@LIBVTOP_0.4$' | grep -E 'vtop__|vtop_map_|vtop_err|vtop_backend'"
t no_undefined_vtop bash -c "! nm -D --undefined-only '$so' | grep vtop"
t no_libkmod_needed bash -c "! readelf -d '$so' | grep -q 'NEEDED.*libkmod'"
t static_lib_has_api bash -c "nm '$lib/libvtop.a' | grep -q ' T vtop_mem_register$'"
t pc_version grep -qx "Version: $VERSION" "$lib/libvtop.pc"
t symlinks bash -c "test \"\$(readlink '$lib/libvtop.so')\" = libvtop.so.$major && test \"\$(readlink '$so')\" = libvtop.so.$VERSION"
tap_exit
