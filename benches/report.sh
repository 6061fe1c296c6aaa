#!/usr/bin/env bash
# Runs every benchmark of the repository and writes BENCHMARKS.md at its root.
#
#   bash benches/report.sh            # full run (criterion: 1 s warm-up, 3 s measurement)
#   bash benches/report.sh --quick    # smoke run: short criterion measurements
#
# What it runs, in order:
#   1. every [[bench]] of benches/Cargo.toml:
#      - criterion benches (those calling `criterion_main!`) with the measurement times above;
#      - a bench with a driver script benches/<name>.sh (callgrind) through that script,
#        only when its tool is installed (valgrind for callgrind);
#      - any other bench (storm, table_memory) as is. A bench that writes its own
#        target/bench-report/<name>.md keeps it; otherwise its output becomes that fragment;
#   2. the size probe, benches/size-probe/measure.sh (target/bench-report/size.md);
#   3. the loopback HTTP bench, benches/http-peers/run.sh (with --quick under --quick); it
#      writes target/bench-report/http*.md;
#   4. relent-tower's layer over a bare hyper-util client, adapters/tower/benches/callgrind.sh
#      (when valgrind is installed), into target/bench-report/tower.md.
# Then BENCHMARKS.md: the machine, one table of medians and relent ÷ peer ratios per
# criterion group (benches/medians.py, results of this run only), every fragment of
# target/bench-report/, and how to reproduce. Nothing here names a group or a contender.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

quick=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg (try --quick)" >&2; exit 2 ;;
  esac
done
if [ "$quick" = 1 ]; then
  crit_args=(--warm-up-time 0.2 --measurement-time 0.5 --sample-size 10 --noplot)
  mode="--quick (criterion: 0.2 s warm-up, 0.5 s measurement, 10 samples: a smoke run, not numbers to quote)"
  export RELENT_BENCH_QUICK=1
else
  crit_args=(--warm-up-time 1 --measurement-time 3 --noplot)
  mode="full (criterion: 1 s warm-up, 3 s measurement, 100 samples)"
fi

report_dir="$root/target/bench-report"
mkdir -p "$report_dir"
rm -f "$report_dir"/*.md
started=$(date +%s)
log="$root/target/bench-report.log"
: >"$log"
timings=()
last_name=""
last_start=$(date +%s)
# Log a step and time the previous one (listed in BENCHMARKS.md).
step() {
  local now
  now=$(date +%s)
  [ -n "$last_name" ] && timings+=("| $last_name | $((now - last_start)) s |")
  last_name="$1"
  last_start=$now
  echo "== $*" | tee -a "$log" >&2
}
# Blank line before a table that directly follows text, so Markdown renders it.
tables_apart() { awk '/^\|/ && prev !~ /^\|/ && prev != "" {print ""} {print; prev = $0}'; }

# --- the machine, read before the load of the run -----------------------------------------
cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
[ -n "$cpu" ] || cpu=$(sysctl -n machdep.cpu.brand_string 2>/dev/null || uname -m)
cores=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)
ram=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null || echo "?")
os=$( (. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME") || uname -s)
kernel=$(uname -sr)
load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime | sed 's/.*average[s]*: //')
rustc_v=$(rustc -V)
cargo_v=$(cargo -V)
date_utc=$(date -u '+%Y-%m-%d %H:%M UTC')
commit=$(git rev-parse --short HEAD 2>/dev/null || echo "?")
dirty=$(git status --porcelain 2>/dev/null | grep -qv '^??' && echo " (with uncommitted changes)" || true)

# --- 1. the benches of relent-benches -----------------------------------------------------
benches=$(awk '/^\[\[bench\]\]/ {b=1; next} b && /^name *=/ {gsub(/.*= *"|".*/, ""); print; b=0}' benches/Cargo.toml)
for name in $benches; do
  src="benches/benches/$name.rs"
  if [ -f "benches/$name.sh" ]; then
    tool=""
    [ "$name" = callgrind ] && tool=valgrind
    if [ -n "$tool" ] && ! command -v "$tool" >/dev/null; then
      step "$name" "SKIPPED ($tool is not installed)"
      printf '## %s\n\nSKIPPED: `%s` is not installed.\n\n' "$name" "$tool" >"$report_dir/$name.md"
      continue
    fi
    step "$name" "bash benches/$name.sh"
    out=$(bash "benches/$name.sh" 2>>"$log") || { echo "$name failed (see $log)" >&2; out="FAILED (see target/bench-report.log)"; }
    if [ ! -f "$report_dir/$name.md" ]; then
      printf '## %s\n\n`bash benches/%s.sh`:\n\n```text\n%s\n```\n\n' "$name" "$name" "$out" >"$report_dir/$name.md"
    fi
  elif grep -q 'criterion_main!' "$src" 2>/dev/null; then
    step "$name" "cargo bench -p relent-benches --bench $name -- ${crit_args[*]}"
    cargo bench -q -p relent-benches --bench "$name" -- "${crit_args[@]}" >>"$log" 2>&1 ||
      echo "$name failed (see $log)" >&2
  else
    step "$name" "cargo bench -p relent-benches --bench $name"
    out=$(cargo bench -q -p relent-benches --bench "$name" 2>>"$log") || { echo "$name failed (see $log)" >&2; out="FAILED (see target/bench-report.log)"; }
    if [ ! -f "$report_dir/$name.md" ]; then
      printf '## %s\n\n`cargo bench -p relent-benches --bench %s`:\n\n%s\n\n' "$name" "$name" "$out" |
        tables_apart >"$report_dir/$name.md"
    fi
  fi
done

# --- 2. code size -------------------------------------------------------------------------
step size "bash benches/size-probe/measure.sh"
bash benches/size-probe/measure.sh >>"$log" 2>&1 || echo "size probe failed (see $log)" >&2

# --- 3. loopback HTTP bench (another crate, optional) ---------------------------------------
if [ -d benches/http-peers ]; then
  http_args=()
  [ -n "${RELENT_BENCH_QUICK:-}" ] && http_args=(--quick)
  step http-peers "bash benches/http-peers/run.sh ${http_args[*]:-}"
  bash benches/http-peers/run.sh "${http_args[@]}" >>"$log" 2>&1 || echo "http-peers failed (see $log)" >&2
else
  step http-peers "not present, skipped"
fi
# --- 4. relent-tower's layer (callgrind, optional) -----------------------------------------
if [ -f adapters/tower/benches/callgrind.sh ]; then
  if command -v valgrind >/dev/null; then
    step tower "bash adapters/tower/benches/callgrind.sh"
    bash adapters/tower/benches/callgrind.sh >"$report_dir/tower.md" 2>>"$log" ||
      { echo "tower bench failed (see $log)" >&2; echo "## relent-tower: FAILED (see target/bench-report.log)" >"$report_dir/tower.md"; }
  else
    printf '## relent-tower\n\nSKIPPED: valgrind is not installed.\n' >"$report_dir/tower.md"
  fi
fi
step done

finished=$(date +%s)
took=$((finished - started))

# --- BENCHMARKS.md ----------------------------------------------------------------------------
{
  echo "# relent benchmarks"
  echo
  echo "Generated by \`bash benches/report.sh$([ "$quick" = 1 ] && echo " --quick")\` on $date_utc"
  echo "at commit \`$commit\`$dirty; the run took $((took / 60)) min $((took % 60)) s. Mode: $mode."
  echo "Do not edit by hand: run the command again."
  echo
  echo "## Machine"
  echo
  echo "| | |"
  echo "|---|---|"
  echo "| CPU | $cpu |"
  echo "| cores | $cores |"
  echo "| RAM | $ram |"
  echo "| OS | $os ($kernel) |"
  echo "| load average at start (1, 5, 15 min) | $load |"
  echo "| Rust | $rustc_v; $cargo_v |"
  echo "| date | $date_utc |"
  echo
  echo "## How to read the timings"
  echo
  echo "- **Median** is criterion's \`median.point_estimate\` for the run above (each bench's own"
  echo "  parameters are in \`benches/README.md\` and in the bench sources)."
  echo "- **relent ÷ peer**: the relent contender's median divided by the peer's, in the same"
  echo "  group and case. Below 1, relent is faster (\`1/20\`: it takes a twentieth of the time)."
  echo "  A contender whose name starts with \`relent\` is relent's; every other one is a peer or"
  echo "  a baseline (\`bare\` = the operation with no retry layer at all)."
  echo "- A shared or loaded machine makes medians noisy; compare ratios within one run only."
  echo
  echo "## Timed benchmarks (criterion)"
  echo
  tables=$(python3 benches/medians.py --markdown --since "$started")
  if [ -n "$(echo "$tables" | tr -d '[:space:]')" ]; then
    echo "$tables"
  else
    echo "No criterion results from this run (see target/bench-report.log)."
  fi
  echo
  for f in "$report_dir"/*.md; do
    [ -e "$f" ] || continue
    cat "$f"
    echo
  done
  echo "## How to reproduce"
  echo
  echo '```sh'
  echo "bash benches/report.sh            # everything, then BENCHMARKS.md (about ${took}s here$([ "$quick" = 1 ] && echo " with --quick"))"
  echo "bash benches/report.sh --quick    # a smoke run with short measurements"
  echo '```'
  echo
  echo "Needs: a Rust toolchain ($rustc_v here), python3 (for \`benches/medians.py\`);"
  echo "optional: valgrind (instruction counts), the targets thumbv7em-none-eabihf,"
  echo "thumbv6m-none-eabi and riscv32imc-unknown-none-elf (\`rustup target add …\`, for the size"
  echo "probe), llvm-size or binutils' \`size\`. Missing optional tools are reported as SKIPPED."
  echo "Each part alone:"
  echo
  echo '```sh'
  for name in $benches; do
    if [ -f "benches/$name.sh" ]; then
      echo "bash benches/$name.sh"
    elif grep -q 'criterion_main!' "benches/benches/$name.rs" 2>/dev/null; then
      echo "cargo bench -p relent-benches --bench $name -- ${crit_args[*]}"
    else
      echo "cargo bench -p relent-benches --bench $name"
    fi
  done
  echo "bash benches/size-probe/measure.sh"
  echo "bash adapters/tower/benches/callgrind.sh"
  [ -d benches/http-peers ] && echo "cargo run --release --manifest-path benches/http-peers/Cargo.toml"
  echo "python3 benches/medians.py --markdown [GROUP ...]   # tables from target/criterion"
  echo '```'
  echo
  echo "Time per step in this run (builds included):"
  echo
  echo "| step | time |"
  echo "|---|---:|"
  printf '%s\n' "${timings[@]}"
  echo
  echo "The full log of the last run is \`target/bench-report.log\`."
} >"$root/BENCHMARKS.md"

echo "wrote BENCHMARKS.md in ${took}s" >&2
