#!/usr/bin/env bash
# Contract check: runs schemathesis (property-based, from PyPI) with spec/openapi.yaml against
# the nairi-emulator binary started on an ephemeral port with --fast timings.
# Exits non-zero on any failure. Exclusions live in spec/schemathesis.toml and are justified in
# spec/CHANGES.md.
#
# Env: CONTRACT_VENV (default target/contract-venv), CONTRACT_SEED (default 1),
#      CONTRACT_MAX_EXAMPLES (default from spec/schemathesis.toml), CARGO_TARGET_DIR.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${CONTRACT_VENV:-$root/target/contract-venv}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"

if [ ! -x "$venv/bin/schemathesis" ]; then
  echo "contract-check: installing schemathesis into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet "schemathesis>=4.32,<5"
fi

cargo build --quiet -p nairi-emulator --bin nairi-emulator
bin="$target_dir/debug/nairi-emulator"

log="$(mktemp)"
"$bin" --port 0 --fast >"$log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$log"
}
trap cleanup EXIT

base=""
for _ in $(seq 1 300); do
  base="$(sed -n 's/^NAIRI_BASE_URL=//p' "$log")"
  [ -n "$base" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "contract-check: the emulator exited early:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$base" ]; then
  echo "contract-check: the emulator did not start" >&2
  exit 1
fi
key="$(sed -n 's/^NAIRI_API_KEY=//p' "$log")"
echo "contract-check: emulator at $base"

args=(--config-file "$root/spec/schemathesis.toml" run "$root/spec/openapi.yaml"
  --url "$base/api/public/v1"
  --header "Authorization: Bearer $key"
  --workers 2
  --seed "${CONTRACT_SEED:-1}")
if [ -n "${CONTRACT_MAX_EXAMPLES:-}" ]; then
  args+=(--max-examples "$CONTRACT_MAX_EXAMPLES")
fi
"$venv/bin/schemathesis" "${args[@]}"
