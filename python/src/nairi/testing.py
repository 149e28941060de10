"""Test your code offline: the Nairi emulator in-process, with a configured client.

```python
from nairi.testing import Emulator

with Emulator() as emu:                       # 127.0.0.1, an ephemeral port, fast timings
    client = emu.client()                     # nairi.Client (emu.async_client() for asyncio)
    agent = emu.create_agent("Billing", slug="billing", deployed=True)
    emu.script("billing", [{"reply": "Refunded."}])
    assert client.conversations.run("billing", "Refund it").text == "Refunded."
    emu.inject_fault({"path_prefix": "/api/public/v1/agents", "status": 503, "times": 1})
    print(emu.requests()[-1]["path"])
```

Installed as a pytest plugin: the `nairi_emulator` fixture is an `Emulator`, fresh per test.
Scripted turns (`reply`, `fail`, `progress`, `delay_ms`, `stuck`, ...), faults (`status`,
`latency_ms`, `drop_connection`, `malformed_json`, ...) and logged requests are the
emulator's own JSON forms (see crates/nairi-emulator/README.md).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Iterator

from . import _native

if TYPE_CHECKING:
    from ._client import AsyncClient, Client


class Emulator:
    """A running emulator of the Nairi API (stop it with `shutdown()` or `with`)."""

    def __init__(self, timings: str | dict[str, int] = "fast") -> None:
        """Starts it; `timings` is `"fast"` (milliseconds), `"default"` (human scale) or the
        emulator's `Timings` as a dict (`pickup_ms`, `step_ms`, `reply_ms`, ...)."""
        spec = timings if isinstance(timings, str) else json.dumps(timings)
        self._native = _native.NativeEmulator(spec)

    @property
    def base_url(self) -> str:
        """The root URL (`http://127.0.0.1:PORT`)."""
        return self._native.base_url

    @property
    def api_key(self) -> str:
        """The default organisation's API key."""
        return self._native.api_key

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for `nairi.Client`/`nairi.AsyncClient` that point at this emulator."""
        return {"api_key": self.api_key, "base_url": self.base_url, "use_env": False}

    def client(self, **options: Any) -> Client:
        """A blocking client for this emulator (options as for `nairi.Client`)."""
        from ._client import Client

        return Client(**{**self.client_options(), **options})

    def async_client(self, **options: Any) -> AsyncClient:
        """An asyncio client for this emulator (options as for `nairi.AsyncClient`)."""
        from ._client import AsyncClient

        return AsyncClient(**{**self.client_options(), **options})

    def new_org(self) -> str:
        """Creates another organisation and returns its key."""
        return self._native.new_org()

    def create_agent(
        self, name: str, *, slug: str | None = None, deployed: bool = True,
        instances_count: int | None = None, key: str | None = None,
    ) -> dict[str, Any]:
        """Creates an agent (deployed by default) and returns its JSON."""
        seed: dict[str, Any] = {"name": name, "deployed": deployed}
        if slug is not None:
            seed["slug"] = slug
        if instances_count is not None:
            seed["instances_count"] = instances_count
        out: dict[str, Any] = json.loads(self._native.create_agent(key or self.api_key, json.dumps(seed)))
        return out

    def seed_job(
        self, agent: str, *, source: str | None = None, status: str | None = None,
        prompt: str | None = None, reply: str | None = None, earlier_turns: int = 0,
        progress_per_turn: int = 0, key: str | None = None,
    ) -> dict[str, str]:
        """Seeds a conversation as if it had happened (its first prompt already answered when
        `reply` is given, after `earlier_turns` turns of `progress_per_turn` progress messages
        each: a long thread); returns its `job_id` and `message_id`."""
        seed: dict[str, Any] = {
            "agent": agent, "earlier_turns": earlier_turns, "progress_per_turn": progress_per_turn,
        }
        for name, value in (("source", source), ("status", status), ("prompt", prompt), ("reply", reply)):
            if value is not None:
                seed[name] = value
        out: dict[str, str] = json.loads(self._native.seed_job(key or self.api_key, json.dumps(seed)))
        return out

    def script(self, agent: str, turns: list[dict[str, Any]], *, key: str | None = None) -> None:
        """Scripts the agent's next turns, in order: replies, failures, progress, delays."""
        self._native.script(key or self.api_key, agent, json.dumps(turns))

    def inject_fault(self, fault: dict[str, Any]) -> str:
        """Injects a fault (`path_prefix`, `status`, `times`, `latency_ms`, ...); returns its id."""
        return self._native.inject_fault(json.dumps(fault))

    def clear_faults(self) -> None:
        """Removes every fault."""
        self._native.clear_faults()

    def set_job_status(self, job_id: str, status: str, reason: str | None = None, *, key: str | None = None) -> None:
        """Sets a conversation's status as the platform would (`completed`, `abandoned`...)."""
        self._native.set_job_status(key or self.api_key, job_id, status, reason)

    def requests(self) -> list[dict[str, Any]]:
        """The request log, oldest first: `method`, `path`, `query`, `status`, `headers`..."""
        out: list[dict[str, Any]] = json.loads(self._native.requests())
        return out

    def clear_requests(self) -> None:
        """Empties the request log."""
        self._native.clear_requests()

    def reset(self) -> None:
        """Clears all state, scripts, faults and the request log."""
        self._native.reset()

    def shutdown(self) -> None:
        """Stops serving (idempotent)."""
        self._native.shutdown()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        return f"Emulator(base_url={self.base_url!r})"


def _emulator_fixture() -> Iterator[Emulator]:
    """A fresh emulator for one test (fast timings), shut down afterwards."""
    with Emulator() as emulator:
        yield emulator


try:  # The pytest plugin, when pytest is installed (nairi.testing works without it).
    import pytest
except ImportError:  # pragma: no cover - exercised only without pytest
    pass
else:
    nairi_emulator = pytest.fixture(name="nairi_emulator")(_emulator_fixture)


__all__ = ["Emulator", "nairi_emulator"]
