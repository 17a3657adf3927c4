#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make man-check: the manual pages in man/ are lint-clean and cover the API.
#
#   1. every page is `mandoc -Tlint -W warning` clean (warnings and worse;
#      mandoc's STYLE notes depend on the pages the host has installed);
#      a link page is the single line ".so manN/PAGE.N" naming a real page;
#   2. every public function of include/vtop.h (each vtop_* function
#      declared or defined there, static inline ones included; vtop__ names
#      are internal) has man/man3/NAME.3, and the page it is (or links to)
#      has ".Nm NAME" and ".Fn NAME" in its synopsis;
#   3. every ioctl (VTOP_IOC_*) of include/uapi/linux/vtop.h has an entry
#      (".It Dv VTOP_IOC_...") in vtop(4), and every errno the header names
#      is in vtop(4) (".Er E...");
#   4. every subcommand tools/vtop.c accepts is in vtop(8) (".Cm NAME").
#
# Usage: scripts/man-check.sh [MANDIR]     (default: man/ of this tree)
#        scripts/man-check.sh --selftest   also show that the check fails
#                                          for a removed page, ioctl entry,
#                                          errno and subcommand
# Ends with "man-check: N passed, N failed".
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
prog=man-check
hdr=$top/include/vtop.h
uapi=$top/include/uapi/linux/vtop.h
cli=$top/tools/vtop.c

for t in mandoc gcc; do
	command -v "$t" >/dev/null || {
		echo "$prog: $t not found (scripts/deps.sh man base)" >&2
		exit 1
	}
done

# The public functions of vtop.h, one a line: every identifier vtop_* that
# is followed by "(" once comments are gone (gcc -fpreprocessed strips them
# and expands nothing). Typedef'd callback types read "(*vtop_x_cb)(", so
# they do not match; macros are upper case.
functions() {
	gcc -fpreprocessed -dD -E -P -x c "$hdr" 2>/dev/null |
		grep -v '^#' |
		grep -oE '\bvtop_[a-z0-9_]+[[:space:]]*\(' |
		sed -E 's/[[:space:]]*\($//' | grep -v '^vtop__' | sort -u
}
ioctls() {
	sed -nE 's/^#define[[:space:]]+(VTOP_IOC_[A-Z_]+)[[:space:]].*/\1/p' "$uapi" | sort -u
}
# Errnos the ABI header names (-EXXX), those user space can see (the ones
# the libc headers define: not the kernel-internal -ERESTARTSYS).
errnos() {
	local e
	for e in $(grep -oE -- '-E[A-Z0-9]+\b' "$uapi" | cut -c2- | sort -u); do
		grep -qE "#define[[:space:]]+$e[[:space:]]" \
			/usr/include/asm-generic/errno-base.h \
			/usr/include/asm-generic/errno.h && echo "$e"
	done
	return 0
}
subcommands() {
	grep -oE 'strcmp\(argv\[1\], "[a-z][a-z-]*"\)' "$cli" |
		sed -E 's/.*"([^"]+)".*/\1/' | sort -u
}

# check MANDIR: prints TAP-like lines, returns the number of failures.
check() {
	local man=$1 n=0 failed=0 f out tgt page name
	t() {	# t NAME OK(0|1) [DETAIL]
		n=$((n + 1))
		if [ "$2" = 0 ]; then
			echo "ok $n $1"
		else
			echo "not ok $n $1${3:+: $3}"
			failed=$((failed + 1))
		fi
	}
	# A link page: its target (relative to the man root), else empty.
	so_target() {
		if [ "$(wc -l <"$1")" -le 1 ]; then
			sed -nE '1s/^\.so[[:space:]]+(man[0-9]\/[^[:space:]]+)$/\1/p' "$1"
		fi
	}
	# The page a name resolves to (following one .so), or nothing.
	resolve() {
		local p=$1 s
		[ -f "$p" ] || return 0
		s=$(so_target "$p")
		if [ -n "$s" ]; then
			[ -f "$man/$s" ] && echo "$man/$s"
		else
			echo "$p"
		fi
	}

	shopt -s nullglob
	local pages=("$man"/man[0-9]/*.[0-9])
	shopt -u nullglob
	[ ${#pages[@]} -gt 0 ] || { t "pages in $man" 1 "none"; return 1; }
	for f in "${pages[@]}"; do
		name=${f#"$man"/}
		tgt=$(so_target "$f")
		if grep -q '^\.so' "$f"; then
			if [ -z "$tgt" ]; then
				t "$name: link page" 1 "not a single '.so manN/PAGE' line"
			elif [ ! -f "$man/$tgt" ] || [ -n "$(so_target "$man/$tgt")" ]; then
				t "$name: link page" 1 "$tgt is not a page"
			else
				t "$name: link to $tgt" 0
			fi
			continue
		fi
		out=$(cd "$man" && mandoc -Tlint -W warning "$name" 2>&1) || true
		if [ -z "$out" ]; then
			t "$name: mandoc -Tlint clean" 0
		else
			t "$name: mandoc -Tlint clean" 1 "$(printf '\n%s' "$out")"
		fi
	done

	for name in $(functions); do
		page=$(resolve "$man/man3/$name.3")
		if [ -z "$page" ]; then
			t "vtop.h: $name() has a page" 1 "no man/man3/$name.3 (or its .so target)"
		elif ! grep -qE "^\.Nm $name( ,)?$" "$page" ||
		     ! grep -qE "^\.Fn $name( |$)" "$page"; then
			t "vtop.h: $name() has a page" 1 "${page#"$man"/} lacks '.Nm $name' or '.Fn $name'"
		else
			t "vtop.h: $name() in ${page#"$man"/}" 0
		fi
	done

	page=$man/man4/vtop.4
	for name in $(ioctls); do
		if [ -f "$page" ] && grep -qE "^\.It Dv $name( |$)" "$page"; then
			t "uapi: $name in vtop(4)" 0
		else
			t "uapi: $name in vtop(4)" 1 "no '.It Dv $name' entry in man4/vtop.4"
		fi
	done
	for name in $(errnos); do
		if [ -f "$page" ] && grep -qE "(^\.| )Er $name( |$)" "$page"; then
			t "uapi: $name in vtop(4)" 0
		else
			t "uapi: $name in vtop(4)" 1 "man4/vtop.4 never names '.Er $name'"
		fi
	done

	page=$man/man8/vtop.8
	for name in $(subcommands); do
		if [ -f "$page" ] && grep -qE "^\.It Cm $name( |$)" "$page"; then
			t "vtop(8): $name" 0
		else
			t "vtop(8): $name" 1 "no '.It Cm $name' entry in man8/vtop.8"
		fi
	done
	echo "$prog: $((n - failed)) passed, $failed failed"
	return "$failed"
}

# Sanity: the extractors found something (an empty list passes vacuously).
for what in functions ioctls errnos subcommands; do
	[ -n "$($what)" ] || { echo "$prog: FAIL: found no $what" >&2; exit 1; }
done

if [ "${1:-}" != --selftest ]; then
	check "${1:-$top/man}"
	exit
fi

# --selftest: the check passes on this tree, and fails for each kind of gap.
rc=0
check "$top/man" >/dev/null || { echo "$prog: FAIL: the tree itself fails"; rc=1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gap() {	# gap WHAT EDIT-COMMAND...: copy man/, apply it, expect a failure
	local what=$1
	shift
	rm -rf "$tmp/man"
	cp -r "$top/man" "$tmp/man"
	"$@"
	if check "$tmp/man" >"$tmp/out"; then
		echo "not ok selftest: the check passed with $what"
		rc=1
	else
		echo "ok selftest: fails with $what ($(grep -m1 '^not ok' "$tmp/out"))"
	fi
}
fn=$(functions | tail -n 1)
gap "man3/$fn.3 removed" rm -f "$tmp/man/man3/$fn.3"
io=$(ioctls | tail -n 1)
gap "$io dropped from vtop(4)" sed -i "s/^\.It Dv $io/.It Dv VTOP_IOC_NONE/" "$tmp/man/man4/vtop.4"
er=$(errnos | tail -n 1)
gap "$er dropped from vtop(4)" sed -i -E "s/(^\.| )Er $er\b/\1Er EXX/g" "$tmp/man/man4/vtop.4"
sc=$(subcommands | head -n 1)
gap "'$sc' dropped from vtop(8)" sed -i "s/^\.It Cm $sc\b/.It Cm none/" "$tmp/man/man8/vtop.8"
gap "a lint warning in vtop(8)" sed -i '1i .Sh BOGUS' "$tmp/man/man8/vtop.8"
[ $rc = 0 ] && echo "$prog: selftest passed" || echo "$prog: selftest FAILED"
exit $rc
