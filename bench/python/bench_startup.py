"""Start-up of the Python package against httpx, each in a fresh interpreter.

`python bench_startup.py BASE_URL API_KEY [--quick]` prints a markdown section.
Every figure is the best of N runs, the candidates alternating.
"""

from __future__ import annotations

import subprocess
import sys
import time

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
BASE, KEY = ARGS[0].rstrip("/"), ARGS[1]


def _agent() -> str:
    import nairi

    with nairi.Client(api_key=KEY, base_url=BASE) as c:
        return c.agents.create(name="bench").id


AGENT = _agent()
N = 5 if "--quick" in sys.argv else 15
PY = sys.executable


def wall(code: str, *flags: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([PY, *flags, "-c", code], check=True, capture_output=True)
    return (time.perf_counter() - t0) * 1e3


def importtime(module: str) -> float:
    """The cumulative µs of the top-level `import module` line of `-X importtime`, in ms."""
    p = subprocess.run([PY, "-X", "importtime", "-c", f"import {module}"], check=True, capture_output=True, text=True)
    for line in p.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[2].rstrip() == f" {module}":
            return int(parts[1]) / 1e3
    raise RuntimeError(f"no importtime line for {module}")


def first_call(code: str) -> float:
    """ms from before the import to the end of the first call, measured inside the process."""
    p = subprocess.run([PY, "-c", code], check=True, capture_output=True, text=True)
    return float(p.stdout.strip())


FIRST = {
    "nairi.Client": (
        "import time; t=time.perf_counter(); import nairi; "
        f"c=nairi.Client(api_key={KEY!r}, base_url={BASE!r}); c.agents.get({AGENT!r}); "
        "print((time.perf_counter()-t)*1e3)"
    ),
    "httpx.Client": (
        "import time; t=time.perf_counter(); import httpx; "
        f"c=httpx.Client(headers={{'authorization': 'Bearer ' + {KEY!r}}}); "
        f"r=c.get({BASE!r} + '/api/public/v1/agents/' + {AGENT!r}); r.raise_for_status(); r.json(); "
        "print((time.perf_counter()-t)*1e3)"
    ),
    "nairi.AsyncClient": (
        "import time; t=time.perf_counter(); import asyncio, nairi\n"
        "async def main():\n"
        f"    c=nairi.AsyncClient(api_key={KEY!r}, base_url={BASE!r}); await c.agents.get({AGENT!r})\n"
        "asyncio.run(main()); print((time.perf_counter()-t)*1e3)"
    ),
    "httpx.AsyncClient": (
        "import time; t=time.perf_counter(); import asyncio, httpx\n"
        "async def main():\n"
        f"    async with httpx.AsyncClient(headers={{'authorization': 'Bearer ' + {KEY!r}}}) as c:\n"
        f"        r=await c.get({BASE!r} + '/api/public/v1/agents/' + {AGENT!r}); r.raise_for_status(); r.json()\n"
        "asyncio.run(main()); print((time.perf_counter()-t)*1e3)"
    ),
}


def main() -> None:
    walls: dict[str, list[float]] = {"pass": [], "import nairi": [], "import httpx": []}
    imp: dict[str, list[float]] = {"nairi": [], "httpx": []}
    first: dict[str, list[float]] = {k: [] for k in FIRST}
    for _ in range(N):
        for k in walls:
            walls[k].append(wall(k))
        for k in imp:
            imp[k].append(importtime(k))
        for k, code in FIRST.items():
            first[k].append(first_call(code))
    w = {k: min(v) for k, v in walls.items()}
    i = {k: min(v) for k, v in imp.items()}
    f = {k: min(v) for k, v in first.items()}
    net_n, net_h = w["import nairi"] - w["pass"], w["import httpx"] - w["pass"]
    r_wall, r_imp = net_n / net_h, i["nairi"] / i["httpx"]
    ok = lambda r: f"≤ 0.3x: **{'met' if r <= 0.3 else 'missed'}**"  # noqa: E731
    print("### Python start-up: `import nairi` against `import httpx`\n")
    print(
        f"Best of {N} fresh interpreters each ({sys.version.split()[0]}). Wall = the whole "
        "`python -c` process, and net = minus the bare interpreter (`python -c pass`); "
        "importtime = the cumulative time of the top-level import in `-X importtime`. "
        "Target (issue 11): `import nairi` at most 0.3x `import httpx`.\n"
    )
    print("| measure | nairi ms | httpx ms | ratio nairi/httpx |")
    print("|---|---|---|---|")
    print(f"| wall of `python -c 'import X'` (bare interpreter {w['pass']:.1f} ms) | {w['import nairi']:.1f} | {w['import httpx']:.1f} | {w['import nairi'] / w['import httpx']:.2f} |")
    print(f"| net wall (minus the bare interpreter) | {net_n:.1f} | {net_h:.1f} | {r_wall:.2f} ({ok(r_wall)}) |")
    print(f"| `-X importtime` cumulative | {i['nairi']:.1f} | {i['httpx']:.1f} | {r_imp:.2f} ({ok(r_imp)}) |")
    print(
        f"| first completed `GET /agents/{{id}}`, blocking: from before the import, in the process "
        f"| {f['nairi.Client']:.1f} | {f['httpx.Client']:.1f} | {f['nairi.Client'] / f['httpx.Client']:.2f} |"
    )
    print(
        f"| the same with asyncio (`AsyncClient`, `asyncio.run` included) "
        f"| {f['nairi.AsyncClient']:.1f} | {f['httpx.AsyncClient']:.1f} | {f['nairi.AsyncClient'] / f['httpx.AsyncClient']:.2f} |"
    )
    print()


if __name__ == "__main__":
    main()
