"""The two call paths of the native bridge: the asyncio client's per-loop completion queue and
the blocking client's calls on the calling thread."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

import nairi
from nairi import _native
from nairi._completions import queue_for


def _wait_for(condition, what: str, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


async def test_many_calls_complete_in_one_drain_and_one_wake_up(emu) -> None:  # type: ignore[no-untyped-def]
    async with emu.async_client() as c:
        await c.agents.get("billing")  # this loop's queue exists from here on
        queue = queue_for(asyncio.get_running_loop())
        assert queue is not None
        titles = [f"rule {i}" for i in range(20)]
        tasks = [asyncio.create_task(c.rules.create(title=t, description="d", content="c")) for t in titles]
        await asyncio.sleep(0)  # every task runs up to its await: 20 calls submitted
        assert len(queue.pending) == 20
        # The loop thread is held here, so the calls finish while nobody drains.
        _wait_for(lambda: len(queue.native) == 20, "20 finished calls")
        # One signal for the whole batch: the eventfd counter (or the pipe) holds a single raise.
        raised = os.read(queue.native.fd, 64)
        assert (int.from_bytes(raised, sys.byteorder) if sys.platform == "linux" else len(raised)) == 1
        os.write(queue.native.fd, raised)  # put it back for the loop
        created = await asyncio.gather(*tasks)
        # Each future got its own call's result.
        assert [r.title for r in created] == titles
        assert len(queue.native) == 0 and queue.pending == {}


async def test_a_cancelled_call_leaves_nothing_pending(emu) -> None:  # type: ignore[no-untyped-def]
    emu.script("billing", [{"stuck": True}])
    async with emu.async_client() as c:
        handle = await c.conversations.start(agent_id="billing", prompt="hang")
        queue = queue_for(asyncio.get_running_loop())
        assert queue is not None
        task = asyncio.create_task(c.conversations.wait(handle, initial_interval=0.01, max_interval=0.01))
        await asyncio.sleep(0.1)
        assert len(queue.pending) == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert queue.pending == {}
        # The queue keeps working for the next calls.
        assert (await c.agents.get("billing")).agent_id == "billing"


async def test_stream_reads_and_attachment_saves_go_through_the_queue(emu, tmp_path) -> None:  # type: ignore[no-untyped-def]
    emu.script("billing", [{"stuck": True}])
    async with emu.async_client() as c:
        handle = await c.conversations.start(agent_id="billing", prompt="hang")
        queue = queue_for(asyncio.get_running_loop())
        assert queue is not None
        events = c.conversations.watch(handle, initial_interval=0.01, max_interval=0.01)
        assert (await events.__anext__()).type == "status_changed"
        # A stuck turn soon has no new event: the read stays pending in the queue.
        for _ in range(20):
            read = asyncio.create_task(events.__anext__())
            await asyncio.sleep(0.2)
            if not read.done():
                break
            read.result()
        else:
            pytest.fail("a stuck turn kept producing events")
        assert len(queue.pending) == 1
        read.cancel()
        with pytest.raises(asyncio.CancelledError):
            await read
        assert queue.pending == {}
        seen = len(emu.requests())  # the aborted read polls no more
        await asyncio.sleep(0.3)
        assert len(emu.requests()) == seen
        await events.aclose()
        # The end of a stream arrives as None: an agent without conversations lists nothing.
        emu.create_agent("Empty", slug="empty")
        assert [conv async for conv in c.agents.conversations.list_all("empty")] == []
        up = await c.attachments.upload(b"saved", filename="s.txt")
        saved = await c.attachments.download(up.attachment_id, tmp_path)
        assert saved == tmp_path / "s.txt" and saved.read_bytes() == b"saved"
        with pytest.raises(nairi.FileSystemError):
            await c.attachments.download(up.attachment_id, tmp_path / "missing")
        assert queue.pending == {} and len(queue.native) == 0


async def test_errors_and_panics_through_the_queue(emu) -> None:  # type: ignore[no-untyped-def]
    async with emu.async_client(max_retries=0) as c:
        with pytest.raises(nairi.NotFoundError) as e:
            await c.agents.get("no-such-agent")
        assert e.value.status == 404 and "agent not found" in str(e.value)
        emu.inject_fault({"path_prefix": "/api/public/v1/agents", "status": 429, "retry_after": "120", "times": 1})
        with pytest.raises(nairi.RateLimitError) as r:
            await c.agents.list()
        assert r.value.status == 429 and r.value.retry_after == 120
        with pytest.raises(nairi.ValidationError) as v:
            await c.agents.create(name="")
        assert v.value.field
        with pytest.raises(nairi.NairiError):
            await c._t.run("no.such.operation", b"{}", {})
        with pytest.raises(nairi.ValidationError) as bad:
            await c._t.run("agents.get", b"not json", {})
        assert bad.value.field == "args"
        with pytest.raises(nairi.ValidationError) as bad:
            await c._t.run("agents.get", b'{"path": 5}', {})
        assert bad.value.field == "path"
        queue = queue_for(asyncio.get_running_loop())
        assert queue is not None
        fut = asyncio.get_running_loop().create_future()
        call_id = next(queue.ids)
        queue.pending[call_id] = fut
        handle = _native._panic_queued(queue.native, call_id)
        with pytest.raises(nairi.NairiError, match="panic"):
            await fut
        handle.abort()


class _NoReaderLoop(asyncio.SelectorEventLoop):
    """A loop that cannot watch fds, like asyncio's Windows proactor loop."""

    def add_reader(self, *args: object) -> None:  # type: ignore[override]
        raise NotImplementedError


def test_a_loop_without_add_reader_uses_the_native_coroutine(emu, tmp_path) -> None:  # type: ignore[no-untyped-def]
    c = emu.async_client(max_retries=0)
    loop = _NoReaderLoop()

    async def stream_and_save() -> tuple[list[str], object]:
        handle = await c.conversations.start(agent_id="billing", prompt="hi")
        kinds = [e.type async for e in c.conversations.watch(handle)]
        up = await c.attachments.upload(b"coro", filename="c.txt")
        return kinds, await c.attachments.download(up.attachment_id, tmp_path)

    try:
        got = loop.run_until_complete(c.agents.get("billing"))
        assert got.agent_id == "billing"
        with pytest.raises(nairi.NotFoundError):
            loop.run_until_complete(c.agents.get("no-such-agent"))
        kinds, saved = loop.run_until_complete(stream_and_save())
        assert "completed" in kinds and saved == tmp_path / "c.txt"
        assert queue_for(loop) is None
    finally:
        loop.close()


def _exit_code_of_child(pid: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung")
        time.sleep(0.01)


def test_an_async_client_and_its_loop_made_before_fork_work_in_the_child(emu) -> None:  # type: ignore[no-untyped-def]
    c = emu.async_client()
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(c.agents.get("billing")).agent_id == "billing"
        pid = os.fork()
        if pid == 0:
            try:
                # A new loop, then the parent's loop object: neither may use the parent's queue.
                ok = asyncio.run(c.agents.get("billing")).agent_id == "billing"
                ok = ok and loop.run_until_complete(c.agents.get("billing")).agent_id == "billing"
                code = 0 if ok else 1
            except BaseException:
                code = 2
            os._exit(code)
        assert _exit_code_of_child(pid) == 0
    finally:
        loop.close()
    assert asyncio.run(c.agents.get("billing")).agent_id == "billing"  # and the parent still works


async def test_a_blocking_native_client_refuses_async_calls(emu) -> None:  # type: ignore[no-untyped-def]
    options = json.dumps(emu.client_options())
    native = _native.NativeClient(options, blocking=True)
    assert native.blocking and not _native.NativeClient(options).blocking
    assert native.with_options(max_retries=1).blocking
    args = json.dumps({"path": {"agent_id": "billing"}}).encode()
    assert json.loads(native.call_blocking("agents.get", args))["agent_id"] == "billing"
    with pytest.raises(TypeError, match="blocking"):
        await native.call("agents.get", args)
    with pytest.raises(TypeError, match="blocking"):
        native.submit(_native.CompletionQueue(), 0, "agents.get", args)
    stream = native.stream("agents.conversations.list_all", json.dumps({"path": {"agent_id": "billing"}}).encode())
    with pytest.raises(TypeError, match="blocking"):
        await stream.next()
    assert stream.next_blocking() is None  # no conversations yet: the end
    # An asyncio-side client's blocking methods still work (through the shared runtime).
    assert json.loads(_native.NativeClient(options).call_blocking("agents.get", args))["agent_id"] == "billing"


def test_a_panic_on_the_calling_thread_is_a_nairi_error() -> None:
    with pytest.raises(nairi.NairiError, match="panic"):
        _native._panic_blocking("here")


NO_SHARED_RUNTIME = r"""
import os, sys, threading
import nairi
c = nairi.Client(api_key=sys.argv[1], base_url=sys.argv[2], use_env=False)
ids = []
t = threading.Thread(target=lambda: ids.append(c.agents.get("billing").agent_id))
t.start(); t.join()
ids.append(c.agents.get("billing").agent_id)
with c.conversations.watch(c.conversations.start(agent_id="billing", prompt="hi")) as events:
    kinds = [e.type for e in events]
names = sorted({open(f"/proc/self/task/{t}/comm").read().strip() for t in os.listdir("/proc/self/task")})
print(ids, "completed" in kinds, names)
"""


def test_the_blocking_client_never_starts_the_shared_runtime(emu) -> None:  # type: ignore[no-untyped-def]
    """Its calls, from the main thread or another, and its streams run on the calling thread:
    the multi-thread runtime (threads named nairi-runtime) is never started."""
    emu.script("billing", [{"reply": "hello"}])
    out = subprocess.run([sys.executable, "-c", NO_SHARED_RUNTIME, emu.api_key, emu.base_url],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("['billing', 'billing'] True"), out.stdout
    assert "nairi-runtime" not in out.stdout, out.stdout


def test_threads_block_on_the_calling_thread_runtime_at_once(emu) -> None:  # type: ignore[no-untyped-def]
    """While one thread's call waits for a slow answer, other threads' calls complete: whichever
    thread drives the current-thread runtime serves them all."""
    slow_client = emu.client(max_retries=0, timeout=5)
    emu.inject_fault({"path_prefix": "/api/public/v1/artifacts/rules", "latency_ms": 60000, "times": 1})
    slow: list[BaseException] = []

    def slow_call() -> None:
        try:
            slow_client.rules.list()
        except BaseException as e:  # the client's timeout ends it
            slow.append(e)

    t = threading.Thread(target=slow_call)
    t.start()
    _wait_for(lambda: any(r["path"].endswith("/artifacts/rules") for r in emu.requests()), "the slow request")
    c = emu.client()
    assert [c.agents.get("billing").agent_id for _ in range(5)] == ["billing"] * 5
    assert t.is_alive(), "the slow call ended before the others ran"
    t.join()
    assert len(slow) == 1 and isinstance(slow[0], nairi.APITimeoutError), slow


def test_blocking_calls_answered_during_and_after_the_spin(emu) -> None:  # type: ignore[no-untyped-def]
    """A blocking call first keeps its thread running for a short while (answers from this
    machine come within it), then sleeps until its answer: either way it returns its own answer,
    and slow answers switch the spin off for the next calls without losing any."""
    c = emu.client(max_retries=0)
    emu.inject_fault({"path_prefix": "/api/public/v1/agents/billing", "latency_ms": 30, "times": 2})
    got = [c.agents.get("billing").agent_id for _ in range(2)]  # slower than the spin: they sleep
    titles = [f"rule {i}" for i in range(70)]  # past the one-in-64 probe while answers are fast again
    created = [c.rules.create(title=t, description="d", content="c").title for t in titles]
    assert got == ["billing", "billing"]
    assert created == titles
    logged = [r for r in emu.requests() if r["path"].endswith("/artifacts/rules")]
    assert len(logged) == 70, "each call sent once"


def test_a_connection_the_server_closed_while_idle_is_not_reused(emu) -> None:  # type: ignore[no-untyped-def]
    """Between two blocking calls nothing drives the calling-thread runtime: the client must
    still notice that the server closed the kept-alive connection (no retries allowed here)."""
    import http.server

    agent = emu.client().agents.get("billing").to_dict()
    body = json.dumps(agent).encode()
    closed = threading.Semaphore(0)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive
        timeout = 0.1  # then the server closes the idle connection

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    class Server(http.server.ThreadingHTTPServer):
        def shutdown_request(self, request: Any) -> None:
            super().shutdown_request(request)  # the FIN is sent
            closed.release()

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        c = nairi.Client(api_key=emu.api_key, base_url=f"http://127.0.0.1:{server.server_address[1]}",
                         use_env=False, max_retries=0)
        for _ in range(3):
            assert c.agents.get("billing").agent_id == "billing"
            assert closed.acquire(timeout=30), "the server did not close the connection"
    finally:
        server.shutdown()
        server.server_close()
