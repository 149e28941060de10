#!/usr/bin/env bash
# Contract check: runs schemathesis (property-based, from PyPI) with spec/openapi.yaml against
# the nairi-emulator binary started on an ephemeral port with --fast timings.
# Exits non-zero on any failure. Exclusions live in spec/schemathesis.toml and are justified in
# spec/CHANGES.md.
#
# Env: CONTRACT_VENV (default target/contract-venv), CONTRACT_SEED (default 1),
#      CONTRACT_MAX_EXAMPLES (default from spec/schemathesis.toml), CARGO_TARGET_DIR,
#      CONTRACT_WORKERS (default 1: with more, Hypothesis on CPython 3.11 sometimes fails with
#      "AST constructor recursion depth mismatch", a thread-safety bug of the interpreter's ast
#      module, reported as a runtime error of a random operation).
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
config="$(mktemp --suffix=.toml)"
"$bin" --port 0 --fast >"$log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$log" "$config"
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

# Operations that need an existing entity (a skill, an assignment, an env var) never get past
# 404 with generated ids, and a generated skill archive is never valid. Seed such entities
# through the public API and bind their ids to those operations' parameters as schemathesis
# dictionaries: used for part of the positive cases only, so generated (unknown or malformed)
# ids are still sent too. The bindings go into a copy of spec/schemathesis.toml.
cp "$root/spec/schemathesis.toml" "$config"
python3 - "$base" "$key" >>"$config" <<'PY'
import io, json, sys, urllib.request, uuid, zipfile

base, key = sys.argv[1], sys.argv[2]


def call(method, path, body=None, content_type="application/json"):
    headers = {"Authorization": f"Bearer {key}"}
    data = None
    if body is not None:
        data = json.dumps(body).encode() if content_type == "application/json" else body
        headers["Content-Type"] = content_type
    req = urllib.request.Request(f"{base}/api/public/v1{path}", data, headers, method=method)
    with urllib.request.urlopen(req) as resp:
        raw = resp.read()
        return json.loads(raw) if raw else None


def skill(name):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("SKILL.md", f"---\nname: {name}\ndescription: Seeded for the contract check\n---\n")
    b = uuid.uuid4().hex
    body = (
        f'--{b}\r\nContent-Disposition: form-data; name="file"; filename="{name}.zip"\r\n'
        "Content-Type: application/zip\r\n\r\n"
    ).encode() + archive.getvalue() + f"\r\n--{b}--\r\n".encode()
    return call("POST", "/artifacts/skills", body, f"multipart/form-data; boundary={b}")["id"]


def agent(name):
    return call("POST", "/agents", {"name": name})["id"]


kept_skills = [skill(f"contract-kept-{i}") for i in range(4)]
deletable_skills = [skill(f"contract-deletable-{i}") for i in range(6)]
# One deletable skill stays assigned: deleting it is the documented 400.
holder = agent("contract-skill-holder")
call("POST", f"/agents/{holder}/resources",
     {"entity_type": "agent_artifact_skill", "entity_id": deletable_skills[0]})
assign_agents = [agent(f"contract-assign-{i}") for i in range(4)]
unassign_agent = agent("contract-unassign")
assignments = []
for i in range(10):
    rule = call("POST", "/artifacts/rules", {"title": f"r{i}", "description": "d", "content": "c"})
    assignments.append(call("POST", f"/agents/{unassign_agent}/resources",
                            {"entity_type": "agent_artifact_rule", "entity_id": rule["id"]})["id"])
# Positive-mode agent deletes take only these, so schemathesis never deletes (by an id or slug
# it read from a listing) the agents the bindings below rely on, with their assignments.
doomed_agents = [agent(f"contract-doomed-{i}") for i in range(6)]
env_agent = agent("contract-env")
env_vars = [call("POST", f"/agents/{env_agent}/env-vars", {"key": f"SEEDED_{i}", "value": "v"})["id"]
            for i in range(10)]
models = [m["id"] for m in call("GET", "/models")]

dictionaries = {
    "kept-skills": kept_skills,
    "deletable-skills": deletable_skills,
    "assign-agents": assign_agents,
    "model-entity-type": ["llm_model"],
    "models": models,
    "unassign-agent": [unassign_agent],
    "assignments": assignments,
    "env-agent": [env_agent],
    "env-vars": env_vars,
    "doomed-agents": doomed_agents,
}
# (operations, probability, {parameter: dictionary}). Where two path parameters must both be
# seeded ones, each needs a high probability; deletes take seeded entities only (probability 1,
# positive cases; negative cases are generated as usual), so that they cannot remove what the
# other bindings use.
bindings = [
    (["getSkill", "replaceSkill"], 0.8, {"path.skill_id": "kept-skills"}),
    (["deleteSkill"], 1.0, {"path.skill_id": "deletable-skills"}),
    (["assignAgentResource"], 0.6, {"path.agent_id": "assign-agents",
                                    "body.entity_type": "model-entity-type",
                                    "body.entity_id": "models"}),
    (["unassignAgentResource"], 0.9, {"path.agent_id": "unassign-agent",
                                      "path.resource_id": "assignments"}),
    (["updateEnvVar", "deleteEnvVar"], 0.9, {"path.agent_id": "env-agent",
                                             "path.env_var_id": "env-vars"}),
    (["deleteAgent"], 1.0, {"path.agent_id": "doomed-agents"}),
]
print("\n# ---- appended by scripts/contract-check.sh: ids seeded into this run's emulator")
for name, values in dictionaries.items():
    print(f"[dictionaries.{name}]\nvalues = {json.dumps(values)}")
for ops, probability, params in bindings:
    inner = ", ".join(f'"{p}" = {{ dictionary = "{d}", probability = {probability} }}'
                      for p, d in params.items())
    print(f"[[operations]]\ninclude-operation-id = {json.dumps(ops)}\nparameters = {{ {inner} }}")
# The coverage phase fills path parameters with ids captured from earlier responses and does not
# use the bindings, so its agent deletes could still pick a seeded agent.
print('[[operations]]\ninclude-operation-id = ["deleteAgent"]\nphases.coverage.enabled = false')
PY

args=(--config-file "$config" run "$root/spec/openapi.yaml"
  --url "$base/api/public/v1"
  --header "Authorization: Bearer $key"
  --workers "${CONTRACT_WORKERS:-1}"
  --seed "${CONTRACT_SEED:-1}")
if [ -n "${CONTRACT_MAX_EXAMPLES:-}" ]; then
  args+=(--max-examples "$CONTRACT_MAX_EXAMPLES")
fi
"$venv/bin/schemathesis" "${args[@]}"

# Prove from the emulator's request log that every operation the seeding is for succeeded at
# least once (schemathesis only warns about operations stuck at 404).
python3 - "$base" <<'PY'
import json, re, sys, urllib.request

base = sys.argv[1]
with urllib.request.urlopen(f"{base}/_emulator/requests") as resp:
    log = json.load(resp)["requests"]
ulid = "[0-9A-HJKMNP-TV-Z]{26}"
prefix = "/api/public/v1"
# Each needs a 2xx; a replaced skill archive is generated, so never valid: there a 400 for a
# well-formed id shows the skill was found (the id is checked, then existence, then the archive).
targets = {
    "getSkill": ("GET", rf"/artifacts/skills/ask_{ulid}", {200}),
    "replaceSkill": ("PUT", rf"/artifacts/skills/ask_{ulid}", {200, 400}),
    "deleteSkill": ("DELETE", rf"/artifacts/skills/ask_{ulid}", {204}),
    "assignAgentResource": ("POST", r"/agents/.+/resources", {201}),
    "unassignAgentResource": ("DELETE", rf"/agents/.+/resources/ccr_{ulid}", {204}),
    "updateEnvVar": ("PATCH", rf"/agents/.+/env-vars/cev_{ulid}", {200}),
    "deleteEnvVar": ("DELETE", rf"/agents/.+/env-vars/cev_{ulid}", {204}),
    "deleteAgent": ("DELETE", r"/agents/[^/]+", {204}),
}
missing = []
for op, (method, path, wanted) in targets.items():
    pattern = re.compile(re.escape(prefix) + path)
    hits = [r for r in log if r["method"] == method and pattern.fullmatch(r["path"])]
    statuses = sorted({r["status"] for r in hits})
    print(f"contract-check: {op}: {len(hits)} requests, statuses {statuses}")
    if not wanted & set(statuses):
        missing.append(op)
if missing:
    print(f"contract-check: never reached past the lookup (no success): {', '.join(missing)}",
          file=sys.stderr)
    if log and log[0]["seq"] > 1:
        print("contract-check: the emulator keeps only the newest 10,000 requests, and older ones "
              "were dropped: lower CONTRACT_MAX_EXAMPLES", file=sys.stderr)
    sys.exit(1)
PY
