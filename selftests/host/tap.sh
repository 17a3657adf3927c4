# SPDX-License-Identifier: LGPL-2.1-or-later
#
# TAP lines for the shell tests (sourced): set tap_prefix first, call
#   t NAME CMD...    run CMD: "ok N PREFIX.NAME" or "not ok N PREFIX.NAME"
# and end with tap_exit (status 1 if any failed). n and fails are the
# counts so far.
n=0
fails=0
t() {
	local name=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n ${tap_prefix:+$tap_prefix.}$name"
	else
		echo "not ok $n ${tap_prefix:+$tap_prefix.}$name"
		fails=$((fails + 1))
	fi
}
tap_exit() { exit $((fails > 0)); }
