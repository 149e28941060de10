"""Hand-written adapters under the generated facade: argument encoding, result decoding,
context managers, iterators, file paths. No behaviour: every call is the core's."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Generic, TypeVar, Union

import msgspec

from . import _native
from ._model import Model, decode

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

    from . import models
    from ._completions import Runner

__version__ = _native.__version__

T = TypeVar("T")

FileInput = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]", IO[bytes]]
"""An upload: bytes, a path (str or PathLike) or a binary file object."""


class NotGiven:
    """The default of an optional argument that was not given (so `None` can be sent)."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven()


def _wire(value: Any) -> Any:
    """Models given as arguments in their wire form."""
    if isinstance(value, Model):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_wire(v) for v in value]
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    return value


def _given(fields: dict[str, Any]) -> dict[str, Any]:
    """The arguments that were given."""
    return {k: _wire(v) for k, v in fields.items() if v is not NOT_GIVEN}


_encoder = msgspec.json.Encoder()


def _file_kwargs(file: FileInput, filename: str | None, content_type: str | None) -> dict[str, Any]:
    if isinstance(file, (bytes, bytearray, memoryview)):
        return {"file_data": bytes(file), "filename": filename, "content_type": content_type}
    if isinstance(file, (str, os.PathLike)):
        return {"file_path": os.fspath(file), "filename": filename, "content_type": content_type}
    data = file.read()
    name = filename or os.path.basename(str(getattr(file, "name", "") or "")) or None
    return {"file_data": bytes(data), "filename": name, "content_type": content_type}


class _Transport:
    """Encodes the arguments of a call, runs it natively, decodes its result."""

    blocking: bool
    """Whether the native client runs its calls on the calling thread (the blocking client)."""

    def __init__(self, native: _native.NativeClient) -> None:
        self.native = native


class _AsyncTransport(_Transport):
    blocking = False

    def __init__(self, native: _native.NativeClient) -> None:
        super().__init__(native)
        # asyncio is loaded with the first asyncio client, not by `import nairi`.
        from ._completions import Runner

        self.run = Runner(native)
        """Runs a native call `(op, args bytes, file kwargs)` from the running loop and returns
        its JSON bytes (through the loop's completion queue)."""

    async def call(self, op: str, args: dict[str, Any], rtype: Any, **file: Any) -> Any:
        extra = _file_kwargs(file["file"], file.get("filename"), file.get("content_type")) if file else {}
        raw = await self.run(op, _encoder.encode(args), extra)
        return decode(raw, rtype)

    def stream(self, op: str, args: dict[str, Any], rtype: Any) -> AsyncStream[Any]:
        return AsyncStream(self.native.stream(op, _encoder.encode(args)), rtype, self.run)


class _SyncTransport(_Transport):
    blocking = True

    def call(self, op: str, args: dict[str, Any], rtype: Any, **file: Any) -> Any:
        extra = _file_kwargs(file["file"], file.get("filename"), file.get("content_type")) if file else {}
        raw = self.native.call_blocking(op, _encoder.encode(args), **extra)
        return decode(raw, rtype)

    def stream(self, op: str, args: dict[str, Any], rtype: Any) -> Stream[Any]:
        return Stream(self.native.stream(op, _encoder.encode(args)), rtype)


class AsyncStream(Generic[T]):
    """An async iterator over a streaming call (`watch`, `list_all`); closing it stops it."""

    def __init__(self, native: _native.NativeStream, rtype: Any, run: Runner) -> None:
        self._native = native
        self._rtype = rtype
        self._run = run

    def __aiter__(self) -> AsyncStream[T]:
        return self

    async def __anext__(self) -> T:
        raw = await self._run.next(self._native)
        if raw is None:
            raise StopAsyncIteration
        return decode(raw, self._rtype)  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        """Stops the stream: no further request is made."""
        self._native.close()

    async def __aenter__(self) -> AsyncStream[T]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class Stream(Generic[T]):
    """An iterator over a streaming call (`watch`, `list_all`); closing it stops it."""

    def __init__(self, native: _native.NativeStream, rtype: Any) -> None:
        self._native = native
        self._rtype = rtype

    def __iter__(self) -> Stream[T]:
        return self

    def __next__(self) -> T:
        raw = self._native.next_blocking()
        if raw is None:
            raise StopIteration
        return decode(raw, self._rtype)  # type: ignore[no-any-return]

    def close(self) -> None:
        """Stops the stream: no further request is made."""
        self._native.close()

    def __enter__(self) -> Stream[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Resource:
    """A namespace of operations."""

    def __init__(self, transport: Any) -> None:
        self._t = transport

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


def _user_agent(suffix: str | None) -> str:
    own = f"nairi-python/{__version__} (python {sys.version_info[0]}.{sys.version_info[1]})"
    return f"{own} {suffix}" if suffix else own


class _ClientBase:
    _t: Any
    _transport: type[_Transport]
    """How this client runs its calls: awaiting them, or blocking."""

    def _init_native(self, options: dict[str, Any], user_agent_suffix: str | None) -> None:
        given = {k: v for k, v in options.items() if v is not None}
        given["user_agent_suffix"] = _user_agent(user_agent_suffix)
        native = _native.NativeClient(_encoder.encode(given).decode(), blocking=self._transport.blocking)
        self._set_native(native)

    def _set_native(self, native: _native.NativeClient) -> None:
        self._t = self._transport(native)

    @property
    def base_url(self) -> str:
        """The API root, ending in `/api/public/v1`."""
        return self._t.native.base_url  # type: ignore[no-any-return]

    def with_options(
        self, *, max_retries: int | None = None, timeout: float | None = None, recover_prompts: bool | None = None
    ) -> Self:
        """A copy whose calls use these overrides (same connection pool). `recover_prompts=False`
        turns off the search for a `start`/`follow_up` whose answer was lost (the prompt is then
        never sent twice, and an ambiguous failure is raised as it happened)."""
        copy = object.__new__(type(self))
        copy._set_native(
            self._t.native.with_options(max_retries=max_retries, timeout=timeout, recover_prompts=recover_prompts)
        )
        return copy

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"


class BaseAsyncClient(_ClientBase):
    """The asyncio client's plumbing."""

    _transport = _AsyncTransport

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Releases nothing that needs waiting for: the connection pool closes with the client."""


class BaseClient(_ClientBase):
    """The blocking client's plumbing."""

    _transport = _SyncTransport

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Releases nothing that needs waiting for: the connection pool closes with the client."""


class _AsyncAttachments:
    _t: Any

    async def download(self, attachment_id: str, dir: str | os.PathLike[str] | None = None) -> bytes | Path:
        """The attachment's bytes, or, with `dir`, the path it was saved to (under its sanitised
        name; a file of that name is replaced)."""
        raw = await self._t.run("attachments.get", _encoder.encode({"path": {"attachment_id": attachment_id}}), {})
        if dir is None:
            att: models.Attachment = decode(raw, _models().Attachment)
            return att.data
        return Path(await self._t.run.save_attachment(raw, os.fspath(dir)))


class _SyncAttachments:
    _t: Any

    def download(self, attachment_id: str, dir: str | os.PathLike[str] | None = None) -> bytes | Path:
        """The attachment's bytes, or, with `dir`, the path it was saved to (under its sanitised
        name; a file of that name is replaced)."""
        raw = self._t.native.call_blocking("attachments.get", _encoder.encode({"path": {"attachment_id": attachment_id}}))
        if dir is None:
            att: models.Attachment = decode(raw, _models().Attachment)
            return att.data
        return Path(self._t.native.save_attachment_blocking(raw, os.fspath(dir)))


class _AsyncSkills:
    """Skills are uploaded as zip archives: `create(file)` takes bytes or a path."""


class _SyncSkills:
    """Skills are uploaded as zip archives: `create(file)` takes bytes or a path."""


def _models() -> Any:
    from . import models

    return models
