"""`import pyodide`: Waypost's stand-in for the parts of Pyodide that Cloudflare workers use.

`pyodide.ffi` (`to_js`, `create_proxy`, ... return their argument: there is no JavaScript side
to convert for) and `pyodide.http.pyfetch` (outbound HTTP). Other names are an AttributeError.
"""

from __future__ import annotations

from typing import Any

from host.compat.pyodide import ffi, http

__all__ = ["ffi", "http"]


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(f"module 'pyodide' has no attribute {name!r}")
    raise AttributeError(
        f"pyodide.{name} is not in Waypost's pyodide stand-in (it has pyodide.ffi and pyodide.http); "
        "see README.md, 'Writing a worker'"
    )
