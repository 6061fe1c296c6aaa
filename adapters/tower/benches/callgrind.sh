#!/usr/bin/env bash
# relent-tower's retry layer: client-thread instructions per request over a bare hyper-util
# client (keep-alive GETs on loopback, HTTP/1.1), under callgrind; noise-free, unlike wall time.
#
#   bash adapters/tower/benches/callgrind.sh [N]     N requests per run (default 2000)
#
# Prints a Markdown fragment (benches/report.sh writes it to target/bench-report/tower.md).
set -euo pipefail
cd "$(dirname "$0")/../../.."
n="${1:-2000}"
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
bin=$(cargo bench -q -p relent-tower --bench layer_overhead --no-run --message-format=json 2>/dev/null \
  | grep -o '"executable":"[^"]*layer_overhead-[^"]*"' | tail -1 | cut -d'"' -f4)
[ -x "$bin" ] || { echo "could not build the layer_overhead bench" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
declare -A per
for m in bare layer layer-untimed; do
  valgrind --tool=callgrind --toggle-collect='*measured*' --callgrind-out-file="$out/$m" \
    "$bin" "$m" "$n" >/dev/null 2>&1
  total=$(grep -E '^(summary|totals):' "$out/$m" | tail -1 | awk '{print $2}')
  per[$m]=$((total / n))
done
echo "## relent-tower: the retry layer over a bare hyper-util client"
echo
echo "Client-thread instructions per request, $n sequential keep-alive GETs on loopback (HTTP/1.1),"
echo "under callgrind (\`bash adapters/tower/benches/callgrind.sh\`; goal: at most 2,000 extra)."
echo
echo "| contender | instructions per request | extra over bare |"
echo "|---|---:|---:|"
echo "| bare hyper-util client | ${per[bare]} | +0 |"
echo "| \`RetryLayer\` (defaults: a 10 s per-attempt timeout, one timer per request) | ${per[layer]} | +$((per[layer] - per[bare])) |"
echo "| \`RetryLayer\` without time limits | ${per[layer-untimed]} | +$((per[layer-untimed] - per[bare])) |"
