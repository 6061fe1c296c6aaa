#!/usr/bin/env bash
# Client-thread instructions per sequential GET, under callgrind: noise-free, unlike wall
# time on two shared cores. Counts the user-space instructions of the client thread only
# (the loopback server runs on its own thread and is not collected), not kernel time,
# cache misses or waiting, so it is the client's own CPU cost, next to criterion's
# wall-clock medians.
#
#   benches/http-peers/callgrind.sh [N]     N measured requests per contender (default 2000)
#
# Prints a Markdown table (run.sh appends it to http-throughput.md) and keeps the
# callgrind files in target/callgrind/ (`callgrind_annotate --inclusive=yes FILE`).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
n="${1:-2000}"
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
bin=$(cargo bench --locked --bench loopback --no-run --message-format=json 2>/dev/null \
  | grep -o '"executable":"[^"]*loopback-[^"]*"' | tail -1 | cut -d'"' -f4)
[ -x "$bin" ] || { echo "could not build the loopback bench" >&2; exit 1; }
out="$here/target/callgrind"
mkdir -p "$out"
echo
echo "**Client-thread instructions per request, sequential** (callgrind, $n requests after 200 warm-up ones; user space only; \`benches/http-peers/callgrind.sh\`)"
echo
echo "| contender | instructions per request | over bare (same reqwest) | bare / contender |"
echo "|---|---:|---:|---:|"
declare -A per
for name in bare-reqwest-0.13 reqwest-middleware-0.5 relent-middleware relent-client \
            relent-middleware-untimed relent-client-untimed \
            reqwest-retry-0.9 bare-reqwest-0.13+timeout \
            bare-reqwest-0.12 reqwest-retry-0.7+reqwest-retry-after; do
  file="$out/$name.out"
  RELENT_HTTP_CALLGRIND="$name" RELENT_HTTP_CALLGRIND_N="$n" \
    valgrind --tool=callgrind --toggle-collect='*callgrind_measured*' \
    --callgrind-out-file="$file" "$bin" >/dev/null 2>&1
  total=$(grep -E '^(summary|totals):' "$file" | tail -1 | awk '{print $2}')
  per[$name]=$((total / n))
  case "$name" in *0.12*|*0.7*) bare=${per[bare-reqwest-0.12]} ;; *) bare=${per[bare-reqwest-0.13]} ;; esac
  awk -v n="$name" -v p="${per[$name]}" -v b="$bare" \
    'BEGIN { printf "| `%s` | %d | %+d | %.3fx |\n", n, p, p - b, b / p }'
done
