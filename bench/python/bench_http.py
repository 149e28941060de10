"""Per-call throughput of the Python package against httpx, aiohttp and requests.

`python bench_http.py BASE_URL API_KEY [--quick]` prints markdown sections on stdout.

What a careful user writes as the baseline: one reused client for the whole run, the same
headers as the SDK (Authorization, a User-Agent, Content-Type on the POST), the JSON body
decoded into plain dicts with the library's own `.json()` (the standard `json` module). The
SDK decodes into its msgspec models (more work than a dict). Rounds alternate (the order of the
clients rotates each round), and the table gives medians of the rounds, their spread and
ratios; never one absolute time on its own.
"""

from __future__ import annotations

import asyncio
import sys
import time

import aiohttp
import httpx
import requests

import nairi

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
BASE, KEY = ARGS[0].rstrip("/"), ARGS[1]
QUICK = "--quick" in sys.argv
API = f"{BASE}/api/public/v1"
HEADERS = {"authorization": f"Bearer {KEY}", "user-agent": "bench/1"}
RULE = {"title": "bench", "description": "a rule", "content": "Be brief."}

ROUNDS = 3 if QUICK else 7
# Each client's round lasts about ROUND_S seconds: its number of calls is sized from a
# calibration run (throughput is a rate, so clients of very different speeds are compared on
# rounds of the same length rather than of the same count, which would make the fast ones'
# rounds a few milliseconds long and all noise).
ROUND_S = 0.25 if QUICK else 1.0


def sized(rate: float, in_flight: int) -> int:
    return max(in_flight * 4, int(rate * ROUND_S) // in_flight * in_flight)


def median(v: list[float]) -> float:
    s = sorted(v)
    return s[len(s) // 2]


def spread(v: list[float]) -> float:
    return (max(v) - min(v)) / median(v) * 100


def verdict(ratio: float, target: float) -> str:
    return f"≥ {target:g}x: **{'met' if ratio >= target else 'missed'}**"


# ---- async ---------------------------------------------------------------------------------


async def async_round(call, total: int, in_flight: int) -> tuple[float, float]:
    """`total` calls, `in_flight` at a time; returns (calls per second, CPU µs per call)."""
    per = total // in_flight

    async def worker() -> None:
        for _ in range(per):
            await call()

    c0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = per * in_flight
    return n / wall, cpu * 1e6 / n


async def async_main(agent_id: str) -> None:
    sdk = nairi.AsyncClient(api_key=KEY, base_url=BASE, max_retries=0)
    hx = httpx.AsyncClient(headers=HEADERS)
    aio = aiohttp.ClientSession(headers=HEADERS)
    agent_url, rules_url = f"{API}/agents/{agent_id}", f"{API}/artifacts/rules"

    async def hx_get() -> None:
        r = await hx.get(agent_url)
        r.raise_for_status()
        r.json()

    async def hx_post() -> None:
        r = await hx.post(rules_url, json=RULE)
        r.raise_for_status()
        r.json()

    async def aio_get() -> None:
        async with aio.get(agent_url) as r:
            r.raise_for_status()
            await r.json()

    async def aio_post() -> None:
        async with aio.post(rules_url, json=RULE) as r:
            r.raise_for_status()
            await r.json()

    async def sdk_get() -> None:
        await sdk.agents.get(agent_id)

    async def sdk_post() -> None:
        await sdk.rules.create(**RULE)

    calls = {
        "GET /agents/{id}": {"nairi": sdk_get, "httpx": hx_get, "aiohttp": aio_get},
        "POST /artifacts/rules": {"nairi": sdk_post, "httpx": hx_post, "aiohttp": aio_post},
    }
    print("### Python `AsyncClient` against httpx.AsyncClient and aiohttp\n")
    print(
        f"{ROUNDS} rounds of about {ROUND_S:g} s per client (calls per round sized from a "
        "calibration run), the order of the clients rotating "
        "each round; asyncio tasks each making calls one after the other. Throughput = calls per "
        "second of wall time (median of the rounds); CPU = this process's CPU time per call; "
        "spread = (max - min) / median of the rounds. Targets (issue 11): nairi at least 8x "
        "httpx and 1.5x aiohttp.\n"
    )
    print(
        "| call | in flight | nairi calls/s | httpx calls/s | aiohttp calls/s | nairi/httpx "
        "| nairi/aiohttp | CPU µs/call nairi / httpx / aiohttp | spread nairi / httpx / aiohttp |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, impl in calls.items():
        for in_flight in (10, 50):
            # warm-up and calibration: connections opened, code paths run once
            n = {k: sized((await async_round(fn, 100, in_flight))[0], in_flight) for k, fn in impl.items()}
            thr: dict[str, list[float]] = {k: [] for k in impl}
            cpu: dict[str, list[float]] = {k: [] for k in impl}
            order = list(impl)
            for i in range(ROUNDS):
                for k in order[i % 3 :] + order[: i % 3]:
                    t, c = await async_round(impl[k], n[k], in_flight)
                    thr[k].append(t)
                    cpu[k].append(c)
            m = {k: median(v) for k, v in thr.items()}
            mc = {k: median(v) for k, v in cpu.items()}
            r_hx, r_aio = m["nairi"] / m["httpx"], m["nairi"] / m["aiohttp"]
            print(
                f"| `{name}` | {in_flight} | {m['nairi']:.0f} | {m['httpx']:.0f} | "
                f"{m['aiohttp']:.0f} | {r_hx:.1f}x ({verdict(r_hx, 8)}) | "
                f"{r_aio:.2f}x ({verdict(r_aio, 1.5)}) | "
                f"{mc['nairi']:.0f} / {mc['httpx']:.0f} / {mc['aiohttp']:.0f} | "
                f"{spread(thr['nairi']):.0f}% / {spread(thr['httpx']):.0f}% / "
                f"{spread(thr['aiohttp']):.0f}% |",
                flush=True,
            )
    print()
    await breakdown(sdk, aio_get, agent_id)
    await hx.aclose()
    await aio.close()
    await sdk.close()


async def breakdown(sdk: nairi.AsyncClient, aio_get, agent_id: str) -> None:
    """Where the SDK's time goes on the GET at 10 in flight: the native call alone (JSON bytes
    out, no model) through the loop's completion queue (what the SDK uses) and as the native
    coroutine (the fallback for loops without `add_reader`), the whole SDK call, and the
    Python-side encode + decode in a tight loop."""
    from nairi import models
    from nairi._base import _encoder
    from nairi._model import decode

    native = sdk._t.native  # noqa: SLF001 (a measurement of the layers)
    run = sdk._t.run  # noqa: SLF001
    args = {"path": {"agent_id": agent_id}}

    async def native_get() -> None:
        await run("agents.get", _encoder.encode(args), {})

    async def coroutine_get() -> None:
        await native.call("agents.get", _encoder.encode(args))

    async def sdk_get() -> None:
        await sdk.agents.get(agent_id)

    impl = {"nairi": sdk_get, "native only": native_get, "native coroutine": coroutine_get, "aiohttp": aio_get}
    n = {k: sized((await async_round(fn, 100, 10))[0], 10) for k, fn in impl.items()}
    thr: dict[str, list[float]] = {k: [] for k in impl}
    cpu: dict[str, list[float]] = {k: [] for k in impl}
    order = list(impl)
    for i in range(ROUNDS):
        for k in order[i % len(order) :] + order[: i % len(order)]:
            t, c = await async_round(impl[k], n[k], 10)
            thr[k].append(t)
            cpu[k].append(c)
    raw = await native.call("agents.get", _encoder.encode(args))
    loops = 20000
    t0 = time.perf_counter()
    for _ in range(loops):
        _encoder.encode(args)
        decode(raw, models.Agent)
    py_us = (time.perf_counter() - t0) * 1e6 / loops
    print("#### Where the async GET's time goes (10 in flight)\n")
    print(
        "`native only` awaits the native module's generic call through the event loop's "
        "completion queue (as the SDK does) and keeps its JSON bytes (no model); `native "
        "coroutine` is the same call as a pyo3 coroutine (`NativeClient.call`, the path before "
        "the completion queue and the fallback for loops without `add_reader`); `nairi` is the "
        "whole `client.agents.get`. The last line times the Python-side "
        f"work of one call (msgspec encode of the arguments + decode of {len(raw)} bytes into "
        "the `Agent` model) in a tight loop.\n"
    )
    print("| client | calls/s | CPU µs/call | spread |")
    print("|---|---|---|---|")
    for k in impl:
        print(f"| {k} | {median(thr[k]):.0f} | {median(cpu[k]):.0f} | {spread(thr[k]):.0f}% |")
    print(f"| Python encode + decode alone | | {py_us:.1f} | |")
    print()


# ---- sync ----------------------------------------------------------------------------------


def sync_round(call, total: int) -> tuple[float, float]:
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(total):
        call()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return total / wall, cpu * 1e6 / total


def sync_main(agent_id: str) -> None:
    sdk = nairi.Client(api_key=KEY, base_url=BASE, max_retries=0)
    hx = httpx.Client(headers=HEADERS)
    rq = requests.Session()
    rq.headers.update(HEADERS)
    agent_url, rules_url = f"{API}/agents/{agent_id}", f"{API}/artifacts/rules"

    def hx_get() -> None:
        r = hx.get(agent_url)
        r.raise_for_status()
        r.json()

    def hx_post() -> None:
        r = hx.post(rules_url, json=RULE)
        r.raise_for_status()
        r.json()

    def rq_get() -> None:
        r = rq.get(agent_url)
        r.raise_for_status()
        r.json()

    def rq_post() -> None:
        r = rq.post(rules_url, json=RULE)
        r.raise_for_status()
        r.json()

    calls = {
        "GET /agents/{id}": {
            "nairi": lambda: sdk.agents.get(agent_id),
            "httpx": hx_get,
            "requests": rq_get,
        },
        "POST /artifacts/rules": {
            "nairi": lambda: sdk.rules.create(**RULE),
            "httpx": hx_post,
            "requests": rq_post,
        },
    }
    print("### Python `Client` (blocking) against httpx.Client and requests.Session\n")
    print(
        f"{ROUNDS} rounds of about {ROUND_S:g} s of sequential calls per client, the order rotating each "
        "round; medians of calls per second, CPU time per call, spread as above. Targets: nairi "
        "at least 4x httpx and 4x requests.\n"
    )
    print(
        "| call | nairi calls/s | httpx calls/s | requests calls/s | nairi/httpx "
        "| nairi/requests | CPU µs/call nairi / httpx / requests | spread nairi / httpx / requests |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, impl in calls.items():
        n = {k: sized(sync_round(fn, 50)[0], 1) for k, fn in impl.items()}
        thr: dict[str, list[float]] = {k: [] for k in impl}
        cpu: dict[str, list[float]] = {k: [] for k in impl}
        order = list(impl)
        for i in range(ROUNDS):
            for k in order[i % 3 :] + order[: i % 3]:
                t, c = sync_round(impl[k], n[k])
                thr[k].append(t)
                cpu[k].append(c)
        m = {k: median(v) for k, v in thr.items()}
        mc = {k: median(v) for k, v in cpu.items()}
        r_hx, r_rq = m["nairi"] / m["httpx"], m["nairi"] / m["requests"]
        print(
            f"| `{name}` | {m['nairi']:.0f} | {m['httpx']:.0f} | {m['requests']:.0f} | "
            f"{r_hx:.1f}x ({verdict(r_hx, 4)}) | {r_rq:.1f}x ({verdict(r_rq, 4)}) | "
            f"{mc['nairi']:.0f} / {mc['httpx']:.0f} / {mc['requests']:.0f} | "
            f"{spread(thr['nairi']):.0f}% / {spread(thr['httpx']):.0f}% / "
            f"{spread(thr['requests']):.0f}% |",
            flush=True,
        )
    print()
    hx.close()
    rq.close()


def main() -> None:
    with nairi.Client(api_key=KEY, base_url=BASE) as c:
        agent_id = c.agents.create(name="bench").id
    asyncio.run(async_main(agent_id))
    sync_main(agent_id)


if __name__ == "__main__":
    main()
