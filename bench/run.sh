#!/usr/bin/env bash
# make bench: the SDK against the plain HTTP client of each language, on one emulator process,
# in one run; writes bench/results/latest.md (and a dated copy). BENCH_QUICK=1: a subset that
# finishes in about a minute (once the release artifacts are built) and prints the same tables.
#
# Release artifacts are built once and reused while their sources do not change: the emulator
# and the Rust bench (cargo), the Python wheel (maturin --release, installed into the bench venv
# target/bench/venv with httpx, aiohttp and requests from PyPI) and the Node addon
# (napi build --release into node/, as `make node-build` does in debug) with undici from
# bench/node/package-lock.json. BENCH_REBUILD=1 forces the wheel and the addon.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
CARGO=${CARGO:-cargo}
PYTHON=${PYTHON:-python3}
NPM=${NPM:-npm}
quick=()
if [[ "${BENCH_QUICK:-}" == 1 ]]; then quick=(--quick); fi
work=target/bench
mkdir -p "$work"
$CARGO build --release -p nairi-emulator -p nairi-bench

# Is anything under the given paths newer than the stamp (or the stamp missing)?
stale() {
  local stamp=$1; shift
  [[ "${BENCH_REBUILD:-}" == 1 || ! -f $stamp ]] && return 0
  [[ -n "$(find "$@" -newer "$stamp" -type f -not -path '*/node_modules/*' -not -path '*/dist/*' \
    -not -name '*.node' -not -name 'native.js' -not -name 'native.d.ts' -print -quit)" ]]
}

# ---- Python: release wheel + bench venv -----------------------------------------------------
venv=$work/venv
if [[ ! -x $venv/bin/python ]]; then
  $PYTHON -m venv "$venv"
  $venv/bin/pip install --quiet --disable-pip-version-check -r bench/python/requirements.txt
fi
if stale "$work/wheel.stamp" crates/nairi/src bindings/python python/src python/pyproject.toml Cargo.lock; then
  [[ -x target/py-tools/bin/maturin ]] || make --no-print-directory target/py-tools/.ok
  rm -rf "$work/wheels"
  (cd python && CARGO_TARGET_DIR=$root/target ../target/py-tools/bin/maturin build --quiet --release \
    --out "$root/$work/wheels")
  $venv/bin/pip install --quiet --disable-pip-version-check --force-reinstall "$work"/wheels/*.whl
  touch "$work/wheel.stamp"
fi

# ---- Node: release addon + undici -----------------------------------------------------------
addon=node/nairi.linux-x64-gnu.node
addon_sum=$(sha256sum "$addon" 2>/dev/null | cut -d' ' -f1 || true)
if stale "$work/addon.stamp" crates/nairi/src bindings/node node/src Cargo.lock \
  || [[ "$addon_sum" != "$(cat "$work/addon.sum" 2>/dev/null)" ]]; then
  make --no-print-directory node-deps
  (cd node && CARGO_TARGET_DIR=$root/target npx napi build --platform --release \
    --manifest-path ../bindings/node/Cargo.toml --output-dir . --js native.js --dts native.d.ts \
    && $NPM run --silent build:ts)
  sha256sum "$addon" | cut -d' ' -f1 >"$work/addon.sum"
  touch "$work/addon.stamp"
fi
if [[ ! -f bench/node/node_modules/.stamp || bench/node/package-lock.json -nt bench/node/node_modules/.stamp ]]; then
  (cd bench/node && $NPM ci --no-audit --no-fund --loglevel=error && touch node_modules/.stamp)
fi

# ---- the emulator, in its own process -------------------------------------------------------
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
  echo "- machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(uname -sr), load average at the start $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- rustc: $(rustc --version); $($venv/bin/python --version); node $(node --version)"
  echo "- Python baselines: $($venv/bin/pip freeze --disable-pip-version-check 2>/dev/null | grep -iE '^(httpx|aiohttp|requests)==' | tr '\n' ' ')"
  echo "- emulator: its own process (release build, fast timings), at $base; SDKs in release builds"
  echo "- every figure below comes from this run; ratios compare clients within it (the machine is shared: absolute times are not comparable between runs)"
  echo
  target/release/nairi-bench "$base" "$key" "${quick[@]}"
  target/release/nairi-poll "$base" "$key" "${quick[@]}"
  target/release/nairi-memory "$base" "$key" "${quick[@]}"
  # The usual file limit: 10,000 turns must share the client's bounded connections. One table:
  # Rust, Python (bench/python/scale.py) and Node (bench/node/scale.mjs), each SDK and mode in
  # a child of the harness under this limit; the emulator's pid for its CPU time.
  (ulimit -n 1024 && target/release/nairi-scale "$base" "$key" "${quick[@]}" \
    --python "$venv/bin/python" --node node --emulator-pid "$emulator")
  $venv/bin/python bench/python/bench_http.py "$base" "$key" "${quick[@]}"
  $venv/bin/python bench/python/bench_startup.py "$base" "$key" "${quick[@]}"
  (cd bench/node && node bench.mjs "$base" "$key" "${quick[@]}")
  (cd bench/node && node startup.mjs "$base" "$key" "${quick[@]}")
  if [[ -f bench/NOTES.md ]]; then cat bench/NOTES.md; fi
} | tee "$result"
cp "$result" "bench/results/$(date -u +%Y%m%d-%H%M%S).md"
