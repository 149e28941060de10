"""The Nairi SDK for Python: `AsyncClient` (asyncio) and `Client` (blocking) over the Rust core.

```python
import nairi

async with nairi.AsyncClient() as client:      # NAIRI_API_KEY, NAIRI_BASE_URL
    turn = await client.conversations.run("my-agent", "Refund the failed charge")
    print(turn.text)
```

`import nairi` is cheap: the clients, the models (`nairi.models`) and asyncio are loaded when
first used. Every error is a `nairi.NairiError`; API errors are `nairi.APIError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._errors import *  # noqa: F403  (the exception classes, light to import)
from ._errors import __all__ as _error_names

if TYPE_CHECKING:
    from . import models as models
    from ._base import NOT_GIVEN as NOT_GIVEN
    from ._base import AsyncStream as AsyncStream
    from ._base import NotGiven as NotGiven
    from ._base import Stream as Stream
    from ._client import AsyncClient as AsyncClient
    from ._client import Client as Client

__version__ = "0.1.0"

_LAZY = {
    "AsyncClient": "._client",
    "Client": "._client",
    "AsyncStream": "._base",
    "Stream": "._base",
    "NotGiven": "._base",
    "NOT_GIVEN": "._base",
}


def __getattr__(name: str) -> Any:
    if name == "models":
        import importlib

        return importlib.import_module(".models", __name__)
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nairi' has no attribute {name!r}")


__all__ = [*_error_names, "AsyncClient", "Client", "AsyncStream", "Stream", "NotGiven", "NOT_GIVEN", "models"]
