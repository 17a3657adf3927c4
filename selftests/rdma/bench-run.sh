#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make bench-rdma: the MR-cache benchmark (bench/rdma.c) in one soft-RoCE
# guest per kernel; writes OUTDIR/rdma.csv (bench/common.h's CSV) and
# OUTDIR/rdma.md (per message: the cache's lookup against ibv_reg_mr +
# ibv_dereg_mr) and prints the table.
#
#   selftests/rdma/bench-run.sh [--kernels "6.1 6.12"] [--smoke] OUTDIR
set -uo pipefail

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
kernels="6.1 6.12"
args=()
# shellcheck disable=SC2054 # commas inside option values
while [ $# -gt 1 ]; do
	case "$1" in
	--kernels) kernels=$2; shift 2 ;;
	--smoke) args=(--sizes 4K,64K --repeats 2 --lookups 1000 --regs 10); shift ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || { sed -n '3,9s/^# \{0,1\}//p' "$0" >&2; exit 2; }
out=$1
mkdir -p "$out" || exit 1
# shellcheck source=selftests/rdma/rig.sh
. "$TOP/selftests/rdma/rig.sh" || exit 2

failed=0
csv=$out/rdma.csv
echo "bench,env,case,page,size,param,unit,median,p10,p90,min,max,repeats" >"$csv"
for k in $kernels; do
	log=$(mktemp)
	echo "=== vtop-bench-rdma on $k ==="
	"$TOP/tools/vm/run.sh" --kernel "$k" --timeout 1200 "${rdma_rig[@]}" \
		--add "$TOP/selftests/rdma" -- /add/rdma/bench.sh "${args[@]}" \
		>"$log" 2>&1 || { failed=1; echo "guest $k failed:"; tail -n 30 "$log"; }
	grep '^BENCH-CSV: ' "$log" | tr -d '\r' | sed 's/^BENCH-CSV: //' |
		grep -v '^bench,' >>"$csv"
	rm -f "$log"
done

# One row per kernel and size: ns per message, and the ratios.
awk -F, '
NR > 1 { v[$2 "|" $3 "|" $5] = $8; env[$2] = 1; size[$5] = 1 }
function f(x) { return x == "" ? "-" : sprintf("%.3g", x) }
function r(a, b) { return (a == "" || b == "" || a == 0) ? "-" : sprintf("%.0fx", b / a) }
END {
	print "| kernel | message | cache lookup (ns) | mrc_sges (ns) | ibv_reg_mr+ibv_dereg_mr (ns) | reg+dereg / lookup |"
	print "|---|---|---|---|---|---|"
	n = 0
	for (e in env) es[++n] = e
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
		if (es[j] < es[i]) { t = es[i]; es[i] = es[j]; es[j] = t }
	m = 0
	for (s in size) sz[++m] = s + 0
	for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++)
		if (sz[j] < sz[i]) { t = sz[i]; sz[i] = sz[j]; sz[j] = t }
	for (e = 1; e <= n; e++) for (i = 1; i <= m; i++) {
		k = es[e] "|"; s = sz[i]
		lu = v[k "lookup|" s]; sg = v[k "sges|" s]; rd = v[k "reg_dereg|" s]
		printf "| %s | %s KiB | %s | %s | %s | %s |\n", es[e], s / 1024,
			f(lu), f(sg), f(rd), r(lu, rd)
	}
}' "$csv" >"$out/rdma.md"
cat "$out/rdma.md"
rows=$(($(wc -l <"$csv") - 1))
[ "$rows" -gt 0 ] || { echo "bench-run.sh: no rows"; failed=1; }
exit $failed
