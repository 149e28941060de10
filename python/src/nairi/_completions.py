"""The asyncio side of the native completion queue.

Each event loop gets one `_native.CompletionQueue` whose fd is watched with `loop.add_reader`.
A call creates an asyncio future, submits the native call with an integer id and awaits the
future; the native task finishes without the GIL and signals the fd only for the first of a
batch of completions, and the reader callback (`_LoopQueue.drain`) sets every finished call's
future in one go. Stream reads (`NativeStream.submit_next`) and attachment saves
(`NativeClient.submit_save_attachment`) go the same way, so on such a loop no tokio worker ever
takes the GIL (one that did while the interpreter finalises is ended by CPython and aborts the
process). Loops without `add_reader` (asyncio's Windows proactor loop) use the native coroutines
(`NativeClient.call`, `NativeStream.next`, `NativeClient.save_attachment`) instead, whose wakers
the native module stops at exit.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import weakref
from typing import Any, Callable

from . import _native


class _LoopQueue:
    """One event loop's completion queue and the futures of its calls in flight."""

    __slots__ = ("__weakref__", "native", "pending", "ids")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.native = _native.CompletionQueue()
        self.pending: dict[int, asyncio.Future[bytes]] = {}
        self.ids = itertools.count()
        # The callback holds this queue, not the loop: the loop's entry in `_queues` goes
        # when the loop is garbage-collected.
        loop.add_reader(self.native.fd, self.drain)

    def drain(self) -> None:
        """Sets the future of every finished call (a cancelled call's outcome is dropped)."""
        pending = self.pending
        for call_id, value, failed in self.native.drain():
            fut = pending.pop(call_id, None)
            if fut is None or fut.done():
                continue
            if failed:
                fut.set_exception(value)
            else:
                fut.set_result(value)

    async def run(self, submit: Callable[..., _native.NativeCall], *args: Any, **kwargs: Any) -> Any:
        """Submits a native call (`submit(queue, call_id, *args, **kwargs)`) and awaits its
        value; a cancelled await aborts it."""
        call_id = next(self.ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        pending = self.pending
        pending[call_id] = fut
        try:
            handle = submit(self.native, call_id, *args, **kwargs)
        except BaseException:
            del pending[call_id]
            raise
        try:
            return await fut
        except BaseException:
            # Cancelled (or closed): stop the Rust task now (the handle would also abort it
            # when dropped, but a traceback may keep this frame alive for a while).
            handle.abort()
            pending.pop(call_id, None)
            raise


_forks = 0
"""How many times this process is a forked child: the parent's queues are inert here."""

# None: the loop has no `add_reader`.
_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopQueue | None] = weakref.WeakKeyDictionary()


def _dead() -> None:
    return None


def queue_for(loop: asyncio.AbstractEventLoop) -> _LoopQueue | None:
    """The loop's queue, made on first use (None if the loop cannot watch an fd)."""
    try:
        return _queues[loop]
    except KeyError:
        pass
    try:
        queue: _LoopQueue | None = _LoopQueue(loop)
    except (NotImplementedError, OSError):
        queue = None
    _queues[loop] = queue
    return queue


class Runner:
    """Runs one client's native calls from whichever loop is running, remembering the last
    loop's queue (a weak reference: a finished `asyncio.run` leaves nothing behind)."""

    __slots__ = ("native", "_last")

    def __init__(self, native: _native.NativeClient) -> None:
        self.native = native
        self._last: tuple[Any, _LoopQueue | None, int] = (_dead, None, _forks)

    def _queue(self, loop: asyncio.AbstractEventLoop) -> _LoopQueue | None:
        ref, queue, forks = self._last
        if ref() is not loop or forks != _forks:
            queue = queue_for(loop)
            self._last = (weakref.ref(loop), queue, _forks)
        return queue

    async def next(self, stream: _native.NativeStream) -> bytes | None:
        """Reads a stream's next item (JSON bytes, None at the end)."""
        queue = self._queue(asyncio.get_running_loop())
        if queue is None:
            return await stream.next()
        item: bytes | None = await queue.run(stream.submit_next)
        return item

    async def save_attachment(self, attachment: bytes, dir: str) -> str:
        """Writes an attachment (the JSON of `attachments.get`) into `dir`; the path written."""
        queue = self._queue(asyncio.get_running_loop())
        if queue is None:
            return await self.native.save_attachment(attachment, dir)
        path: str = await queue.run(self.native.submit_save_attachment, attachment, dir)
        return path

    async def __call__(self, op: str, args: bytes, extra: dict[str, Any]) -> bytes:
        """Runs a native call and returns its JSON bytes."""
        queue = self._queue(asyncio.get_running_loop())
        if queue is None:
            return await self.native.call(op, args, **extra)
        out: bytes = await queue.run(self.native.submit, op, args, **extra)
        return out


def _forget_queues() -> None:
    # A forked child's copies of the queues belong to the parent's runtime: a loop made before
    # the fork gets a new queue in the child. (The parent's fd stays registered with such a
    # loop: removing it would remove it from the epoll set the parent shares.)
    global _forks
    _forks += 1
    _queues.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_queues)
