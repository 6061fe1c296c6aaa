#!/usr/bin/env bash
# Instruction counts per operation for the `core` bench's contenders, under callgrind.
# Noise-free (the count does not depend on the machine's load), unlike wall time; it does
# not see cache misses or branch mispredictions, so use it next to the criterion medians.
#
#   bash benches/callgrind.sh [FILTER]      e.g. bash benches/callgrind.sh decision/
#   RUNS=1 bash benches/callgrind.sh        one run per workload instead of two
#
# Runs every workload RUNS times (default 2) to show whether its count is stable, prints
# `workload  instructions-per-operation (run 1)  (run 2)  same`, and writes
# target/bench-report/callgrind.md (per case: relent's count, each peer's, the ratio) and
# target/bench-report/callgrind.tsv (raw). An operation is one repetition of the workload
# (one decision, one 10-decision sequence, one parse, one 10-attempt operation) or, for
# deadline_table, one step of the stream (2 lookups + 1 record).
set -euo pipefail
cd "$(dirname "$0")/.."
filter="${1:-}"
runs="${RUNS:-2}"
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
bin=$(cargo bench -p relent-benches --bench callgrind --no-run --message-format=json 2>/dev/null \
  | grep -o '"executable":"[^"]*callgrind-[^"]*"' | tail -1 | cut -d'"' -f4)
[ -x "$bin" ] || { echo "could not build the callgrind bench" >&2; exit 1; }
report=target/bench-report
mkdir -p "$report"
tsv="$report/callgrind.tsv"
: > "$tsv"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$bin" --list | while read -r name reps; do
  case "$name" in *"$filter"*) ;; *) continue ;; esac
  counts=()
  for run in $(seq 1 "$runs"); do
    file="$out/$(echo "$name" | tr '/' '_').$run.out"
    valgrind --tool=callgrind --toggle-collect='*measured*' --callgrind-out-file="$file" \
      "$bin" "$name" >/dev/null 2>&1
    total=$(grep -E '^(summary|totals):' "$file" | tail -1 | awk '{print $2}')
    counts+=("$(awk -v t="$total" -v r="$reps" 'BEGIN { printf "%.1f", t / r }')")
  done
  same=yes
  for c in "${counts[@]}"; do [ "$c" = "${counts[0]}" ] || same=no; done
  printf '%-50s %12s %12s  %s\n' "$name" "${counts[0]}" "${counts[-1]}" "$same"
  printf '%s\t%s\t%s\t%s\n' "$name" "${counts[0]}" "${counts[-1]}" "$same" >> "$tsv"
done
python3 - "$tsv" "$runs" "$filter" > "$report/callgrind.md" <<'PY'
import sys
tsv, runs, flt = sys.argv[1], sys.argv[2], sys.argv[3]
rows = [l.rstrip("\n").split("\t") for l in open(tsv) if l.strip()]
relent = {}
for name, a, b, same in rows:
    group, who, case = name.split("/", 2)
    if who.startswith("relent"):
        relent[(group, case)] = float(a)
cmd = "bash benches/callgrind.sh" + (f" {flt}" if flt else "")
print("### Instruction counts (callgrind)\n")
print(f"Instructions executed per operation under `valgrind --tool=callgrind` (only the "
      f"measured loop is collected; each workload run {runs} times, the last column says "
      f"whether the runs gave the same count); command: `{cmd}`.\n")
print("| group | case | contender | Ir per operation | Ir, run 2 | relent ÷ contender | runs identical |")
print("|---|---|---|---:|---:|---:|---|")
for name, a, b, same in rows:
    group, who, case = name.split("/", 2)
    r = relent.get((group, case))
    ratio = "–" if who.startswith("relent") or r is None else (
        f"1/{float(a) / r:.0f}" if r / float(a) < 0.1 else f"{r / float(a):.2f}")
    print(f"| {group} | {case} | {who} | {float(a):,.1f} | {float(b):,.1f} | {ratio} | {same} |")
PY
echo "wrote $report/callgrind.md" >&2
