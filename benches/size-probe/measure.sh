#!/usr/bin/env bash
# Code size of relent in a no_std firmware image, per bare-metal target.
#
#   bash benches/size-probe/measure.sh
#
# Builds this standalone crate (release: opt-level "z", fat LTO, one codegen unit, panic =
# abort) for each target, as `baseline` (entry point + panic handler, no relent) and as
# `probe` with each part of relent alone and all together, and reports the `.text` and
# `.rodata` sections. "relent's cost" = the image's `.text` minus the baseline's.
# Writes target/bench-report/size.md (workspace root) and prints it. A target that is not
# installed (`rustup target add <target>`) is reported as SKIPPED with the reason.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out_dir="$root/target/bench-report"
build_dir="$root/target/size-probe"
mkdir -p "$out_dir"
targets=(thumbv7em-none-eabihf thumbv6m-none-eabi riscv32imc-unknown-none-elf)
sysroot="$(rustc --print sysroot)"

# Section sizes in bytes: "<text> <rodata>". llvm-size and GNU size read any ELF
# (checked on ARM and RISC-V images); readelf is the fallback.
sections() {
  local f="$1"
  if command -v llvm-size >/dev/null; then
    llvm-size -A "$f" | awk '$1==".text"{t=$2} $1==".rodata"{r=$2} END{print t+0, r+0}'
  elif command -v size >/dev/null; then
    size -A "$f" | awk '$1==".text"{t=$2} $1==".rodata"{r=$2} END{print t+0, r+0}'
  else
    readelf -SW "$f" | awk '{for(i=1;i<=NF;i++) if($i==".text"||$i==".rodata") {s[$i]=strtonum("0x" $(i+4))}} END{print s[".text"]+0, s[".rodata"]+0}'
  fi
}
tool=$(command -v llvm-size || command -v size || command -v readelf)

variants=("all three (the probe)|" "backoff only|--no-default-features --features backoff"
          "Retry-After parser only|--no-default-features --features parser"
          "retry machine only|--no-default-features --features machine")

{
  echo "## Code size (no_std, no alloc)"
  echo
  echo "\`bash benches/size-probe/measure.sh\`: \`benches/size-probe\` built in release with"
  echo "\`opt-level = \"z\"\`, \`lto = true\`, \`codegen-units = 1\`, \`panic = \"abort\"\`, relent with"
  echo "no default features. The probe runs a jittered exponential backoff, parses a Retry-After"
  echo "value (delay-seconds or IMF-fixdate) and drives the retry machine through one 503, with every"
  echo "input from \`core::hint::black_box\`. *relent's cost* = the image's \`.text\` minus the"
  echo "baseline's (an entry point and a panic handler). Sizes from \`$(basename "$tool")\`; $(rustc -V)."
  echo "The machine alone includes the backoff it runs; the three parts share code, so the parts"
  echo "do not add up to the whole."
  echo
  echo "| target | image | .text (bytes) | .rodata (bytes) | relent's cost (.text) |"
  echo "|---|---|---:|---:|---:|"
} >"$out_dir/size.md.tmp"

for t in "${targets[@]}"; do
  if [ ! -d "$sysroot/lib/rustlib/$t" ]; then
    echo "| $t | SKIPPED: target not installed (\`rustup target add $t\`) | | | |" >>"$out_dir/size.md.tmp"
    echo "SKIPPED $t: target not installed" >&2
    continue
  fi
  cd "$here"
  if ! log=$(cargo build -q --release --target "$t" --target-dir "$build_dir" --bin baseline 2>&1); then
    echo "| $t | SKIPPED: baseline build failed | | | |" >>"$out_dir/size.md.tmp"
    echo "SKIPPED $t: baseline build failed: $log" >&2
    continue
  fi
  read -r base_text base_ro < <(sections "$build_dir/$t/release/baseline")
  echo "| $t | baseline (empty) | $base_text | $base_ro | 0 |" >>"$out_dir/size.md.tmp"
  for v in "${variants[@]}"; do
    name="${v%%|*}"; flags="${v#*|}"
    # shellcheck disable=SC2086
    if ! log=$(cargo build -q --release --target "$t" --target-dir "$build_dir" --bin probe $flags 2>&1); then
      echo "| $t | $name: SKIPPED, build failed | | | |" >>"$out_dir/size.md.tmp"
      echo "SKIPPED $t $name: build failed: $log" >&2
      continue
    fi
    read -r text ro < <(sections "$build_dir/$t/release/probe")
    echo "| $t | $name | $text | $ro | $((text - base_text)) |" >>"$out_dir/size.md.tmp"
  done
done
echo >>"$out_dir/size.md.tmp"
mv "$out_dir/size.md.tmp" "$out_dir/size.md"
cat "$out_dir/size.md"
