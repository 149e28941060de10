"""Where Rust-backed packages usually fail: cancellation, panics, fork, threads, loops,
Ctrl+C, logging, key redaction, import cost."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

import nairi
from nairi import _native


async def test_a_cancelled_task_cancels_the_rust_request(emu) -> None:  # type: ignore[no-untyped-def]
    emu.script("billing", [{"stuck": True}])
    async with emu.async_client() as c:
        handle = await c.conversations.start(agent_id="billing", prompt="hang")
        task = asyncio.create_task(c.conversations.wait(handle, initial_interval=0.01, max_interval=0.01))
        # Let it poll a few times (the log proves the wait is running).
        deadline = time.monotonic() + 30
        while sum(r["path"].endswith(handle.message_id) for r in emu.requests()) < 3:
            assert not task.done(), f"the wait ended instead of polling: {task}"
            assert time.monotonic() < deadline, "the wait never polled"
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        seen = len(emu.requests())
        await asyncio.sleep(0.3)  # 30 poll intervals: a live wait would have polled again
        assert len(emu.requests()) == seen


async def test_a_cancelled_stream_read_stops_polling(emu) -> None:  # type: ignore[no-untyped-def]
    emu.script("billing", [{"stuck": True}])
    async with emu.async_client() as c:
        handle = await c.conversations.start(agent_id="billing", prompt="hang")
        events = c.conversations.watch(handle, initial_interval=0.01, max_interval=0.01)
        first = await events.__anext__()
        assert first.type == "status_changed"
        # A stuck turn has a few status events, then none: a read is cancelled mid-poll.
        for _ in range(20):
            try:
                await asyncio.wait_for(events.__anext__(), 0.2)
            except asyncio.TimeoutError:
                break
        else:
            pytest.fail("a stuck turn kept producing events")
        await events.aclose()
        seen = len(emu.requests())
        await asyncio.sleep(0.3)
        assert len(emu.requests()) == seen


async def test_a_panic_is_a_nairi_error() -> None:
    with pytest.raises(nairi.NairiError, match="panic"):
        await _native._panic_async()
    for where in ("task", "sync"):
        with pytest.raises(nairi.NairiError, match="panic"):
            _native._panic_blocking(where)
    try:
        _native._panic_blocking("sync")
    except Exception as e:  # a PanicException would slip past `except Exception`
        assert isinstance(e, nairi.NairiError)


def _child_call(base_url: str, key: str, q: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    q.put(len(PARENT_CLIENT.agents.list()))


PARENT_CLIENT: nairi.Client


def test_a_client_made_before_fork_works_in_the_child(emu) -> None:  # type: ignore[no-untyped-def]
    global PARENT_CLIENT
    PARENT_CLIENT = emu.client()
    assert len(PARENT_CLIENT.agents.list()) == 1  # the parent has used its runtime and pool
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    procs = [ctx.Process(target=_child_call, args=(emu.base_url, emu.api_key, q)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert [q.get(timeout=5), q.get(timeout=5)] == [1, 1]
    assert len(PARENT_CLIENT.agents.list()) == 1  # and the parent still works


def test_raw_os_fork(emu) -> None:  # type: ignore[no-untyped-def]
    c = emu.client()
    c.agents.list()
    pid = os.fork()
    if pid == 0:
        try:
            code = 0 if c.agents.get("billing").agent_id == "billing" else 1
        except BaseException:
            code = 2
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_successive_asyncio_run(emu) -> None:  # type: ignore[no-untyped-def]
    c = emu.async_client()

    async def once() -> int:
        return len(await c.agents.list())

    assert [asyncio.run(once()) for _ in range(3)] == [1, 1, 1]


def test_threads_share_a_sync_client(emu) -> None:  # type: ignore[no-untyped-def]
    c = emu.client()
    results: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                results.append(c.agents.get("billing").agent_id)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and results == ["billing"] * 40


def test_two_event_loops_in_two_threads(emu) -> None:  # type: ignore[no-untyped-def]
    c = emu.async_client()
    out: list[int] = []

    def loop_thread() -> None:
        async def main() -> None:
            got = await asyncio.gather(*(c.agents.list() for _ in range(5)))
            out.extend(len(x) for x in got)

        asyncio.run(main())

    threads = [threading.Thread(target=loop_thread) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == [1] * 10


CTRL_C = r"""
import os, signal, sys, threading
import nairi
from nairi.testing import Emulator
emu = Emulator()
emu.create_agent("B", slug="b")
emu.script("b", [{"stuck": True}])
c = emu.client()
h = c.conversations.start(agent_id="b", prompt="hang")
print("waiting", flush=True)
try:
    c.conversations.wait(h)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    n = len(emu.requests())
    import time; time.sleep(0.5)
    print("stopped" if len(emu.requests()) == n else "still polling", flush=True)
"""


def test_ctrl_c_interrupts_a_blocking_wait() -> None:
    proc = subprocess.Popen([sys.executable, "-c", CTRL_C], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "waiting"
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert out.split() == ["interrupted", "stopped"], out


LOGGING = r"""
import logging, sys
logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, format="%(name)s %(levelname)s %(message)s")
from nairi.testing import Emulator
emu = Emulator()
emu.inject_fault({"path_prefix": "/api/public/v1/agents", "status": 503, "times": 1,
                  "body": "upstream echoed Authorization: Bearer " + emu.api_key})
c = emu.client(initial_backoff=0.01)
c.agents.list()
print("KEY", emu.api_key)
"""


def test_logging_bridge_and_key_redaction() -> None:
    env = {**os.environ, "NAIRI_LOG": "debug"}
    out = subprocess.run([sys.executable, "-c", LOGGING], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    key = lines[-1].split()[1]
    logged = "\n".join(lines[:-1])
    assert "nairi DEBUG" in logged and "retrying" in logged, logged
    assert key not in logged and key not in out.stderr
    # Off without NAIRI_LOG.
    quiet = subprocess.run([sys.executable, "-c", LOGGING], env={k: v for k, v in env.items() if k != "NAIRI_LOG"},
                           capture_output=True, text=True, timeout=60)
    assert "retrying" not in quiet.stdout


def test_set_log_level_at_run_time(emu, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG, logger="nairi")
    _native.set_log_level("debug")
    try:
        emu.client().agents.list()
    finally:
        _native.set_log_level("off")
    assert any(r.name == "nairi" for r in caplog.records)
    assert all(emu.api_key not in r.getMessage() for r in caplog.records)
    with pytest.raises(ValueError):
        _native.set_log_level("loud")


def test_the_key_is_in_no_error_or_traceback(emu) -> None:  # type: ignore[no-untyped-def]
    import traceback

    emu.inject_fault({"path_prefix": "/api/public/v1/agents", "status": 500, "times": 3,
                      "body": "echo " + emu.api_key})
    c = emu.client(max_retries=0)
    with pytest.raises(nairi.InternalServerError) as e:
        c.agents.list()
    text = "".join(traceback.format_exception(e.value)) + repr(e.value) + str(vars(e.value))
    assert emu.api_key not in text


def test_import_is_lazy() -> None:
    code = (
        "import sys, nairi\n"
        "bad = [m for m in ('asyncio', 'nairi.models', 'nairi._client', 'msgspec') if m in sys.modules]\n"
        "assert not bad, bad\n"
        "nairi.NotFoundError\n"
        "assert 'nairi.models' not in sys.modules\n"
        "nairi.Client\n"
        "assert 'nairi.models' in sys.modules\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr
