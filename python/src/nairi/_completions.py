"""The asyncio side of the native completion queue.

Each event loop gets one `_native.CompletionQueue` whose fd is watched with `loop.add_reader`.
A call creates an asyncio future, submits the native call with an integer id and awaits the
future; the native task finishes without the GIL and signals the fd only for the first of a
batch of completions, and the reader callback (`_LoopQueue.drain`) sets every finished call's
future in one go. Loops without `add_reader` (asyncio's Windows proactor loop) use the native
coroutine `NativeClient.call` instead.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import weakref
from typing import Any

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

    async def call(self, loop: asyncio.AbstractEventLoop, native: _native.NativeClient, op: str,
                   args: bytes, extra: dict[str, Any]) -> bytes:
        call_id = next(self.ids)
        fut: asyncio.Future[bytes] = loop.create_future()
        self.pending[call_id] = fut
        try:
            handle = native.submit(self.native, call_id, op, args, **extra)
        except BaseException:
            del self.pending[call_id]
            raise
        try:
            return await fut
        except BaseException:
            # Cancelled (or closed): stop the Rust task now; the handle's traceback may keep
            # it alive for a while.
            handle.abort()
            self.pending.pop(call_id, None)
            raise


# None: the loop has no `add_reader`.
_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopQueue | None] = weakref.WeakKeyDictionary()


def _queue_for(loop: asyncio.AbstractEventLoop) -> _LoopQueue | None:
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


async def call(native: _native.NativeClient, op: str, args: bytes, extra: dict[str, Any]) -> bytes:
    """Runs a native call from the running loop and returns its JSON bytes."""
    loop = asyncio.get_running_loop()
    queue = _queue_for(loop)
    if queue is None:
        return await native.call(op, args, **extra)
    return await queue.call(loop, native, op, args, extra)


def _forget_queues() -> None:
    # A forked child's copies of the queues belong to the parent's loops and runtime.
    _queues.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_queues)
