#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Translation stability across processes (issue 14 goal 4): run
# vtop-bench-translate N times, each a fresh process with address-space
# randomisation on (as users run it), so that the tables land somewhere
# else each time, and summarise the per-process medians of the inline
# lookups and of their ratio to the bare lookup of the same depth.
#
#   bench/procs.sh N LABEL -- vtop-bench-translate ARGS...
#
# Prints CSV rows on stdout (the header first), param "<access> procs" (or
# "<access> procs LABEL" when LABEL is not "-"): median, p10, p90, min and
# max over the N per-process medians; repeats = N. The environment is
# passed on (e.g. VTOP_MAP_ARENA for the table-placement ablation).
# Where a process also reports its paired ratios (vtop-bench-translate's
# "random paired" rows: each lookup and its bare lookup timed in the same
# rounds, so that the machine's load changes both alike), their
# per-process medians are summarised too, param "<access> procs paired".
# VTOP_PROCS_KEEP=DIR keeps each process's own CSV and log there
# (p<i>.csv, p<i>.log), so that an outlier can be traced to its process.
set -uo pipefail

if [ $# -lt 4 ] || [ "$3" != -- ]; then
	echo "usage: bench/procs.sh N LABEL -- vtop-bench-translate ARGS..." >&2
	exit 2
fi
n=$1
label=$2
shift 3
[ "$(cat /proc/sys/kernel/randomize_va_space 2>/dev/null)" = 0 ] &&
	echo "bench/procs.sh: address-space randomisation is off on this machine" >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for i in $(seq 1 "$n"); do
	"$@" > "$tmp/p$i.csv" 2> "$tmp/p$i.log" || {
		cat "$tmp/p$i.log" >&2
		echo "bench/procs.sh: process $i failed" >&2
		exit 1
	}
done
if [ -n "${VTOP_PROCS_KEEP:-}" ]; then
	mkdir -p "$VTOP_PROCS_KEEP" && cp "$tmp"/p* "$VTOP_PROCS_KEEP/"
fi
echo "bench,env,case,page,size,param,unit,median,p10,p90,min,max,repeats"
cat "$tmp"/p*.csv | awk -F, -v n="$n" -v label="$label" '
function stats(key, c, p, s, par, u,   i, j, t, m, q, lo, hi) {
	m = cnt[key]
	for (i = 1; i <= m; i++) a[i] = val[key, i]
	for (i = 2; i <= m; i++) {
		t = a[i]
		for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]
		a[j + 1] = t
	}
	printf "translate,%s,%s,%s,%s,%s,%s,%.4g,%.4g,%.4g,%.4g,%.4g,%d\n", env,
	       c, p, s, par, u, pct(0.5, m), pct(0.1, m), pct(0.9, m), a[1], a[m], m
}
function pct(f, m,   x, i) {
	x = 1 + f * (m - 1); i = int(x)
	return i >= m ? a[m] : a[i] + (x - i) * (a[i + 1] - a[i])
}
function add(key, v) { val[key, ++cnt[key]] = v; if (!(key in seen)) { seen[key] = 1; keys[++nk] = key } }
$1 == "bench" { proc++; next }
$1 == "translate" && $7 == "ns/lookup" && ($6 == "random" || $6 == "sequential") {
	env = $2
	t[proc, $3, $6] = $8; pg[$3] = $4; sz = $5
}
$1 == "translate" && $7 == "ratio" && $6 ~ / paired$/ {
	split($6, w, " ")
	pr[proc, $3, w[1]] = $8; pg[$3] = $4
}
END {
	suf = label == "-" ? "" : " " label
	split("lookup_2m:bare2 lookup_4k:bare3 vtophys_lookup:bare2 bare2: bare3:", cs, " ")
	for (ci = 1; ci <= 5; ci++) {
		split(cs[ci], cb, ":")
		c = cb[1]; b = cb[2]
		for (ai = 1; ai <= 2; ai++) {
			acc = ai == 1 ? "random" : "sequential"
			delete val; delete cnt
			for (p = 1; p <= proc; p++) {
				if (!((p, c, acc) in t)) continue
				add("t", t[p, c, acc])
				if (b != "" && ((p, b, acc) in t) && t[p, b, acc] > 0)
					add("r", t[p, c, acc] / t[p, b, acc])
			}
			for (p = 1; p <= proc; p++)
				if (b != "" && ((p, c "/" b, acc) in pr))
					add("q", pr[p, c "/" b, acc])
			if (cnt["t"]) stats("t", c, pg[c], sz, acc " procs" suf, "ns/lookup")
			if (cnt["r"]) stats("r", c "/" b, pg[c], sz, acc " procs" suf, "ratio")
			if (cnt["q"]) stats("q", c "/" b, pg[c], sz, acc " procs paired" suf, "ratio")
		}
	}
}'
