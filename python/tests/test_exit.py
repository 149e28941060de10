"""Interpreter exit with native work in flight: no tokio worker may take the GIL while CPython
finalises (CPython ends such a thread with `pthread_exit`, which cannot unwind through Rust
frames: the process aborts or crashes). Each child process starts many concurrent `watch`,
`list_all`, `wait` and attachment downloads on the embedded emulator and exits while they are
mid-flight; it is run many times, since the crash depended on a worker reaching Python inside
the few milliseconds of finalisation. On the code before the fix 57 of 120 children (3 runs of
this test) died with SIGSEGV or SIGABRT, every variant failing in every run; with only the
coroutine waker and the logging bridge left ungated (streams already on the queue), the
`coroutine` variant failed in 2 of 2 runs and the `logging` one in 1 of 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

CHILD = r"""
import asyncio, sys, tempfile
from nairi.testing import Emulator
from nairi._completions import queue_for

variant = sys.argv[1]
if variant == "logging":  # with NAIRI_LOG=debug: a record per response, formatted by a handler
    import logging, os
    logging.basicConfig(level=logging.DEBUG, stream=open(os.devnull, "w"))
N = 60
emu = Emulator()
emu.create_agent("B", slug="b", instances_count=N)
# Replies spread over 0-400 ms: some turns end before the exit, others during it.
emu.script("b", [{"reply": f"r{i}", "delay_ms": (i * 37) % 400} for i in range(N)])
c = emu.async_client()
tmp = tempfile.mkdtemp()
watched = []

async def watch(h):
    async for _ in c.conversations.watch(h, initial_interval=0.002, max_interval=0.01):
        pass
    watched.append(h)

async def list_all():
    while True:
        async for _ in c.agents.conversations.list_all("b"):
            pass

async def wait(h):
    await c.conversations.wait(h, initial_interval=0.002, max_interval=0.01)

async def save(att):
    while True:
        await c.attachments.download(att, tmp)

async def main():
    handles = [await c.conversations.start(agent_id="b", prompt=f"p{i}") for i in range(N)]
    att = (await c.attachments.upload(b"x" * 1000, filename="a.txt")).attachment_id
    tasks = [asyncio.create_task(watch(h)) for h in handles]
    tasks += [asyncio.create_task(wait(h)) for h in handles[::2]]
    tasks += [asyncio.create_task(list_all()) for _ in range(5)]
    tasks += [asyncio.create_task(save(att)) for _ in range(5)]
    await asyncio.sleep(0.15)
    queue = queue_for(asyncio.get_running_loop())
    in_flight = len(queue.pending) if queue is not None else sum(not t.done() for t in tasks)
    print("exiting", len(watched), in_flight, flush=True)

class NoReaderLoop(asyncio.SelectorEventLoop):
    # Like asyncio's Windows proactor loop: the native coroutines, not the completion queue.
    def add_reader(self, *args):
        raise NotImplementedError

if variant == "asyncio.run":  # the pending tasks are cancelled on the way out
    asyncio.run(main())
else:  # the loop is left as it is: every call still in flight at exit
    loop = NoReaderLoop() if variant == "coroutine" else asyncio.new_event_loop()
    loop.run_until_complete(main())
"""

RUNS = 10
"""Children per variant (two at a time)."""


@pytest.mark.parametrize("variant", ["queue", "asyncio.run", "coroutine", "logging"])
def test_exit_with_calls_in_flight_is_clean(variant: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NAIRI_LOG"}
    if variant == "logging":  # the logging bridge forwards records from the workers
        env["NAIRI_LOG"] = "debug"
    failures: list[str] = []
    for _ in range(RUNS // 2):
        procs = [subprocess.Popen([sys.executable, "-c", CHILD, variant], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
        for proc in procs:
            try:
                out, err = proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
                failures.append(f"hung at exit: {out!r} {err[-500:]!r}")
                continue
            words = out.split()
            if proc.returncode != 0 or any(s in err for s in ("panicked", "Fatal Python error", "Traceback")):
                failures.append(f"exit code {proc.returncode}: {err[-500:]!r}")
            elif len(words) != 3 or words[0] != "exiting":
                failures.append(f"unexpected output {out!r}")
            else:
                # The exit happened mid-flight: turns were still being watched, calls pending.
                done, in_flight = int(words[1]), int(words[2])
                if done >= 60 or in_flight == 0:
                    failures.append(f"nothing was in flight at exit: {out!r}")
    assert not failures, f"{len(failures)} of {RUNS} children: {failures}"
