"""`pyodide.http.pyfetch`: outbound HTTP, as Pyodide's (the response also has `await string()`)."""

from __future__ import annotations

from typing import Any

from host.runtime.outbound import FetchResponse, fetch

__all__ = ["FetchResponse", "pyfetch"]


async def pyfetch(url: str, **kwargs: Any) -> FetchResponse:
    """`await pyfetch(url, method=..., headers=..., body=...)`."""
    return await fetch(url, **kwargs)


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(f"module 'pyodide.http' has no attribute {name!r}")
    raise AttributeError(
        f"pyodide.http.{name} is not in Waypost's pyodide.http stand-in (it has {', '.join(__all__)}); "
        "see README.md, 'Writing a worker'"
    )
