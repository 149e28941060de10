"""CPU time and context switches per call of the Python package's two call paths.

`python bridge_cpu.py BASE_URL API_KEY MODE N [ROUNDS]`, MODE one of `async10`, `async50`,
`async10-post`, `sync1`, `sync1-post`: N calls per round (GET one agent or POST a rule; the
async modes with 10 or 50 asyncio tasks making calls one after the other), ROUNDS rounds (5)
after a warm-up. Prints the median per call of the rounds: wall µs, CPU µs of the process (all
threads, `getrusage`), voluntary and involuntary context switches, and the CPU seconds of each
thread name (/proc, Linux) over the whole run. Run it alternately with two installs to compare
them (bench/results/python-bridge-20261201.md): unlike throughput, these figures hardly move
with the load of a shared machine.
"""

from __future__ import annotations

import asyncio
import os
import resource
import sys
import time

import nairi

BASE, KEY, MODE, N = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ROUNDS = int(sys.argv[5]) if len(sys.argv) > 5 else 5
RULE = {"title": "bench", "description": "a rule", "content": "Be brief."}


def thread_cpu() -> dict[str, float]:
    """CPU seconds per thread name (Linux /proc; empty elsewhere)."""
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir("/proc/self/task") if os.path.isdir("/proc/self/task") else []:
        try:
            stat = open(f"/proc/self/task/{tid}/stat").read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def snap() -> tuple[float, float, int, int]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return time.perf_counter(), r.ru_utime + r.ru_stime, r.ru_nvcsw, r.ru_nivcsw


def per_call(a: tuple[float, float, int, int], b: tuple[float, float, int, int], n: int) -> list[float]:
    return [(b[0] - a[0]) * 1e6 / n, (b[1] - a[1]) * 1e6 / n, (b[2] - a[2]) / n, (b[3] - a[3]) / n]


def main() -> None:
    with nairi.Client(api_key=KEY, base_url=BASE) as c:
        agent_id = c.agents.create(name="bridge-cpu").id
    post = MODE.endswith("-post")
    rounds: list[list[float]] = []
    if MODE.startswith("async"):
        in_flight = int(MODE[len("async") :].split("-")[0])

        async def run() -> None:
            sdk = nairi.AsyncClient(api_key=KEY, base_url=BASE, max_retries=0)

            async def call() -> None:
                if post:
                    await sdk.rules.create(**RULE)
                else:
                    await sdk.agents.get(agent_id)

            async def worker(calls: int) -> None:
                for _ in range(calls):
                    await call()

            await asyncio.gather(*(worker(50) for _ in range(in_flight)))
            for _ in range(ROUNDS):
                start = snap()
                await asyncio.gather(*(worker(N // in_flight) for _ in range(in_flight)))
                rounds.append(per_call(start, snap(), N // in_flight * in_flight))

        asyncio.run(run())
    else:
        sdk = nairi.Client(api_key=KEY, base_url=BASE, max_retries=0)

        def call() -> None:
            if post:
                sdk.rules.create(**RULE)
            else:
                sdk.agents.get(agent_id)

        for _ in range(200):
            call()
        for _ in range(ROUNDS):
            start = snap()
            for _ in range(N):
                call()
            rounds.append(per_call(start, snap(), N))

    def med(i: int) -> float:
        return sorted(r[i] for r in rounds)[len(rounds) // 2]

    threads = {k: round(v, 2) for k, v in thread_cpu().items()}
    print(f"{MODE}: wall {med(0):.1f} µs, CPU {med(1):.1f} µs, voluntary switches {med(2):.2f}, "
          f"involuntary {med(3):.2f} per call; thread CPU s {threads}")


if __name__ == "__main__":
    main()
