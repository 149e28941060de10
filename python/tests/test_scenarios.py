"""The cross-language scenarios of tests/scenarios/, run through the package's generic call
with the same semantics as the Rust runner (crates/nairi/tests/scenarios.rs)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest

import nairi
from nairi import _native
from nairi.testing import Emulator

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "tests" / "scenarios").glob("*.json"))
STEP_KEYS = {"call", "args", "script", "fault", "job_status", "stream", "expect", "save"}
ENC = msgspec.json.Encoder()


def substitute(v: Any, vars: dict[str, Any]) -> Any:
    if isinstance(v, str):
        m = re.fullmatch(r"\$\{([^}]*)\}", v)
        if m and "${" not in m.group(1):
            assert m.group(1) in vars, f"unknown variable {m.group(1)}"
            return vars[m.group(1)]
        out = v
        for k, val in vars.items():
            out = out.replace("${" + k + "}", val if isinstance(val, str) else json.dumps(val, separators=(",", ":")))
        assert "${" not in out, f"unknown variable in {v!r}"
        return out
    if isinstance(v, list):
        return [substitute(x, vars) for x in v]
    if isinstance(v, dict):
        return {k: substitute(x, vars) for k, x in v.items()}
    return v


def contains(actual: Any, expected: Any, at: str = "") -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{at}: {actual!r} is not {expected!r}"
        for k, ev in expected.items():
            assert k in actual, f"{at}/{k}: missing in {actual!r}"
            contains(actual[k], ev, f"{at}/{k}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{at}: {actual!r} is not {expected!r}"
        assert len(actual) == len(expected), f"{at}: {len(actual)} items, expected {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            contains(a, e, f"{at}/{i}")
    else:
        # JSON equality: 1 == 1.0, but True is not 1.
        same = actual == expected and (isinstance(actual, bool) == isinstance(expected, bool))
        assert same, f"{at}: {actual!r} is not {expected!r}"


def pointer(doc: Any, ptr: str) -> Any:
    if ptr == "":
        return doc
    for part in ptr.lstrip("/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


def error_payload(err: nairi.NairiError) -> dict[str, Any]:
    """The error's serialised form, rebuilt from the exception's attributes."""
    out: dict[str, Any] = {"class": type(err).__name__, "message": err.message}
    for k, v in vars(err).items():
        if not k.startswith("_") and k != "message" and v not in (None, []):
            out[k] = v
    if err._system_messages:
        out["system_messages"] = err._system_messages
    return out


async def raw_call(native: Any, op: str, args: dict[str, Any]) -> Any:
    return msgspec.json.decode(await native.call(op, ENC.encode(args)))


async def check_stream(native: Any, op: str, args: dict[str, Any], expect: dict[str, Any], vars: dict[str, Any]) -> None:
    stream = native.stream(op, ENC.encode(args))
    items = []
    while (raw := await stream.next()) is not None:
        items.append(msgspec.json.decode(raw))
    if op != "conversations.watch":
        check(expect, items, None, vars)
        return
    types = [e.get("type", "") for e in items]
    want = expect.get("events")
    assert want is not None, "a watch step needs expect.events"
    seen = iter(types)
    for w in want:
        assert any(t == w for t in seen), f"events {types} do not contain {want} in order"
    assert types and types[-1] == want[-1], f"the last event of {types} is not {want[-1]}"
    if "result" in expect:
        contains(items[-1], expect["result"], "last event")


def check(expect: dict[str, Any], value: Any, err: nairi.NairiError | None, vars: dict[str, Any]) -> None:
    if err is None:
        assert "error" not in expect, f"expected the error {expect['error']}, got {value!r}"
        if "result" in expect:
            contains(value, substitute(expect["result"], vars))
        if "len" in expect:
            assert isinstance(value, list) and len(value) == expect["len"], f"expected {expect['len']} items, got {value!r}"
    else:
        assert "error" in expect, f"unexpected error: {err!r}"
        contains(error_payload(err), substitute(expect["error"], vars), "error")


async def run_scenario(path: Path) -> None:
    scenario = json.loads(path.read_text())
    assert set(scenario) <= {"name", "description", "setup", "steps", "requests"}, path
    assert scenario["name"], f"{path}: a scenario needs a name"
    setup = scenario.get("setup", {})
    with Emulator() as emu:
        vars: dict[str, Any] = {}
        for seed in setup.get("agents", []):
            agent = json.loads(emu._native.create_agent(emu.api_key, json.dumps(seed)))
            vars[agent["agent_id"]] = agent
        options = {**setup.get("client", {}), "api_key": emu.api_key, "base_url": emu.base_url, "use_env": False}
        native = _native.NativeClient(json.dumps(options))
        for i, step in enumerate(scenario["steps"]):
            label = f"{path.name} step {i}"
            assert set(step) <= STEP_KEYS, f"{label}: unknown keys {set(step) - STEP_KEYS}"
            if "script" in step:
                emu.script(step["script"]["agent"], step["script"]["turns"])
            if "fault" in step:
                emu.inject_fault(step["fault"])
            if "job_status" in step:
                j = step["job_status"]
                emu.set_job_status(substitute(j["job"], vars), j["status"], j.get("reason"))
            args = substitute(step.get("args") or {}, vars)
            expect = step.get("expect", {})
            if "stream" in step:
                try:
                    await check_stream(native, step["stream"], args, expect, vars)
                except nairi.NairiError as e:
                    raise AssertionError(f"{label} ({step['stream']}): the stream failed: {e}") from e
                except AssertionError as e:
                    raise AssertionError(f"{label} ({step['stream']}): {e}") from e
                continue
            if "call" not in step:
                continue
            try:
                value, err = await raw_call(native, step["call"], args), None
            except nairi.NairiError as e:
                value, err = None, e
            try:
                check(expect, value, err, vars)
            except AssertionError as e:
                raise AssertionError(f"{label} ({step['call']}): {e}") from e
            if err is None:
                for name, ptr in step.get("save", {}).items():
                    vars[name] = pointer(value, ptr)
        log = emu.requests()
        cursor = iter(log)
        for want in scenario.get("requests", []):
            want_path = "/api/public/v1" + substitute(want["path"], vars)
            found = any(
                r["method"] == want["method"] and r["path"] == want_path
                and want.get("status") in (None, r["status"])
                and ("query" not in want or r.get("query") == want["query"])
                for r in cursor
            )
            assert found, (
                f"{path.name}: request {want['method']} {want_path} (status {want.get('status')}) not recorded in order; "
                f"log: {[(r['method'], r['path'], r['status']) for r in log]}"
            )


def test_scenarios_are_found() -> None:
    assert len(SCENARIOS) >= 8, SCENARIOS


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
async def test_scenario(path: Path) -> None:
    await run_scenario(path)


def test_the_scenarios_cover_every_group_turn_call_and_error_class() -> None:
    surface = json.loads((Path(__file__).resolve().parents[2] / "spec" / "surface.json").read_text())
    ops = {o["id"]: o["group"] for o in surface["operations"]}
    turn_calls = {t["id"] for t in surface["turn_calls"]}
    groups, calls, classes = set(), set(), set()
    for path in SCENARIOS:
        for step in json.loads(path.read_text())["steps"]:
            if "call" in step:
                if step["call"] in ops:
                    groups.add(ops[step["call"]])
                else:
                    assert step["call"] in turn_calls, step["call"]
                    calls.add(step["call"])
            if "stream" in step:
                calls.add(step["stream"])
            if "error" in step.get("expect", {}):
                classes.add(step["expect"]["error"]["class"])
    assert groups == set(ops.values())
    assert calls == turn_calls
    reachable = {c["class"] for c in surface["errors"]["classes"]} - {"ConfigurationError", "FileSystemError"}
    assert reachable <= classes, reachable - classes
