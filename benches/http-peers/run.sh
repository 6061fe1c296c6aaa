#!/usr/bin/env bash
# Runs the HTTP benchmarks of this standalone crate and writes two Markdown fragments:
#   <repo root>/target/bench-report/http-throughput.md   (criterion, benches/loopback.rs)
#   <repo root>/target/bench-report/http-memory.md       (allocation-counter, benches/memory.rs)
#
#   benches/http-peers/run.sh            full run: longer criterion samples, up to 1,000,000 URLs
#   benches/http-peers/run.sh --quick    short samples, up to 100,000 URLs
#
# The crate has its own Cargo.lock and target/ (see README.md): the first run compiles
# reqwest 0.12 with native-tls (openssl) beside reqwest 0.13, which takes a few minutes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

case "${1:-}" in
  --quick) export RELENT_HTTP_QUICK=1 ;;
  "") unset RELENT_HTTP_QUICK ;;
  *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac

start=$SECONDS
# Build first, so compile time is not mistaken for run time.
nice -n 10 cargo bench --locked --no-run
built=$SECONDS
nice -n 10 cargo bench --locked --bench loopback
report="$here/../../target/bench-report"
# Instruction counts (noise-free) when valgrind is installed; quick runs count fewer requests.
if command -v valgrind >/dev/null; then
  nice -n 10 ./callgrind.sh "$([ -n "${RELENT_HTTP_QUICK:-}" ] && echo 500 || echo 2000)" \
    | tee -a "$report/http-throughput.md"
else
  printf '\n(valgrind not installed: no instruction counts.)\n' >> "$report/http-throughput.md"
fi
nice -n 10 cargo bench --locked --bench memory
end=$SECONDS
echo
cat "$report/http-throughput.md"
echo
cat "$report/http-memory.md"
echo
echo "run.sh${1:+ $1}: build $((built - start)) s, benchmarks $((end - built)) s"
