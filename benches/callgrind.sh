#!/usr/bin/env bash
# Instruction counts per operation for the `core` bench's contenders, under callgrind.
# Noise-free (the count does not depend on the machine's load), unlike wall time; it does
# not see cache misses or branch mispredictions, so use it next to the criterion medians.
#
#   bash benches/callgrind.sh [FILTER]      e.g. bash benches/callgrind.sh deadline_table
#
# Prints `workload  instructions-per-operation`; an operation is one repetition of the
# workload (10 backoff delays, one parse, one retry operation) or, for deadline_table, one
# step of the stream (2 lookups + 1 record).
set -euo pipefail
cd "$(dirname "$0")/.."
filter="${1:-}"
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
bin=$(cargo bench -p relent-benches --bench callgrind --no-run --message-format=json 2>/dev/null \
  | grep -o '"executable":"[^"]*callgrind-[^"]*"' | tail -1 | cut -d'"' -f4)
[ -x "$bin" ] || { echo "could not build the callgrind bench" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$bin" --list | while read -r name reps; do
  case "$name" in *"$filter"*) ;; *) continue ;; esac
  file="$out/$(echo "$name" | tr '/' '_').out"
  valgrind --tool=callgrind --toggle-collect='*measured*' --callgrind-out-file="$file" \
    "$bin" "$name" >/dev/null 2>&1
  total=$(grep -E '^(summary|totals):' "$file" | tail -1 | awk '{print $2}')
  awk -v n="$name" -v t="$total" -v r="$reps" 'BEGIN { printf "%-50s %12.1f\n", n, t / r }'
done
