#!/usr/bin/env bash
# make bench: the SDK against the plain HTTP client of each language, on one emulator process,
# in one run; writes bench/results/latest.md (and a dated copy). BENCH_QUICK=1: a subset that
# finishes in about a minute and prints the same table.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
quick=()
if [[ "${BENCH_QUICK:-}" == 1 ]]; then quick=(--quick); fi
$CARGO build --release -p nairi-emulator -p nairi-bench
out=$(mktemp)
target/release/nairi-emulator --port 0 --fast >"$out" &
emulator=$!
trap 'kill $emulator 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 100); do grep -q '^NAIRI_API_KEY=' "$out" && break; sleep 0.1; done
base=$(sed -n 's/^NAIRI_BASE_URL=//p' "$out")
key=$(sed -n 's/^NAIRI_API_KEY=//p' "$out")
[[ -n "$base" && -n "$key" ]] || { echo "the emulator did not start: $(cat "$out")" >&2; exit 1; }
mkdir -p bench/results
result=bench/results/latest.md
{
  echo "# Benchmark results"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)${BENCH_QUICK:+ (BENCH_QUICK=1)}"
  echo "- machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(uname -sr)"
  echo "- rustc: $(rustc --version)"
  echo "- emulator: its own process (release build, fast timings), at $base"
  echo
  target/release/nairi-bench "$base" "$key" "${quick[@]}"
} | tee "$result"
cp "$result" "bench/results/$(date -u +%Y%m%d-%H%M%S).md"
