"""Scale (issue 11, item 3), Python: N concurrent turns with `nairi.AsyncClient` in this process.

`python scale.py VIA API_KEY MODE N AGENT_IDS` is one child of the harness
`target/release/nairi-scale` (bench/rust/src/bin/nairi-scale.rs), which seeds the agents
(AGENT_IDS, comma-separated), counts the connections through its relay at VIA, the requests in
the emulator's log, and this process's peak RSS and CPU time; this script only makes the SDK
calls and prints one JSON line: {"wall_s", "errors", "first_error"}.

MODE `wait`: N `conversations.start` one after the other, then N concurrent
`conversations.wait`; MODE `run`: N concurrent `conversations.run`. The client's defaults
(including its connection bound) apart from an overall wait timeout of 600 s, as in the Rust
child. Each call drops its turn as soon as it returns (the Rust child maps it to `()`): the
peak is the pending calls', not that of 10,000 turns the script would keep.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import nairi

TIMEOUT_S = 600.0


def describe(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


async def scale(via: str, key: str, mode: str, n: int, agents: list[str]) -> dict:
    client = nairi.AsyncClient(api_key=key, base_url=via)
    t0 = time.perf_counter()
    if mode == "wait":
        handles: list[object] = []
        for i in range(n):
            try:
                handles.append(
                    await client.conversations.start(agent_id=agents[i % len(agents)], prompt="scale")
                )
            except Exception as e:  # counted like the waits' errors, shown as the first error
                handles.append(e)

        async def wait(handle: object) -> None:
            if isinstance(handle, BaseException):
                raise handle
            await client.conversations.wait(handle, timeout=TIMEOUT_S)

        calls = [wait(h) for h in handles]
    elif mode == "run":

        async def run(agent_id: str) -> None:
            await client.conversations.run(agent_id, "scale", timeout=TIMEOUT_S)

        calls = [run(agents[i % len(agents)]) for i in range(n)]
    else:
        raise SystemExit(f"unknown mode {mode!r} (wait or run)")
    results = await asyncio.gather(*calls, return_exceptions=True)
    wall = time.perf_counter() - t0
    errors = [r for r in results if isinstance(r, BaseException)]
    return {
        "wall_s": wall,
        "errors": len(errors),
        "first_error": describe(errors[0]) if errors else None,
    }


def main() -> None:
    if len(sys.argv) != 6:
        raise SystemExit("usage: scale.py VIA API_KEY MODE N AGENT_IDS")
    via, key, mode, n, agents = sys.argv[1:]
    out = asyncio.run(scale(via, key, mode, int(n), agents.split(",")))
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
