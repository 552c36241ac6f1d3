"""The `workers` module that worker code imports, so Cloudflare Python workers run unchanged.

`register()` puts this package in `sys.modules` as `workers` and its `workflows` submodule as
`workers.workflows`, and makes `import js`, `import pyodide.ffi` / `pyodide.http` and
`import asgi` find Waypost's stand-ins (host.compat.js, host.compat.pyodide, host.compat.asgi);
the loader calls it before any worker module runs. The stand-ins enter `sys.modules` only when
something imports them, so libraries that look for a real Pyodide there are not misled.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, TypeVar

from host.compat import workflows
from host.runtime.entrypoint import WorkerEntrypoint
from host.runtime.http import Headers, Request, Response
from host.runtime.outbound import FetchResponse, fetch
from host.workflows.entrypoint import WorkflowEntrypoint

__all__ = [
    "FetchResponse",
    "Headers",
    "Request",
    "Response",
    "WorkerEntrypoint",
    "WorkflowEntrypoint",
    "fetch",
    "handler",
    "workflows",
]

STAND_INS = {
    "js": "host.compat.js",
    "pyodide": "host.compat.pyodide",
    "pyodide.ffi": "host.compat.pyodide.ffi",
    "pyodide.http": "host.compat.pyodide.http",
    "asgi": "host.compat.asgi",
}
"""Module names Cloudflare's Python runtime provides -> the Waypost module that stands in for each."""

F = TypeVar("F", bound=Callable[..., Any])


def handler(fn: F) -> F:
    """`@handler` of Cloudflare's earlier Python workers: marks `on_fetch`; here it changes nothing."""
    return fn


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(f"module 'workers' has no attribute {name!r}")
    raise AttributeError(
        f"workers.{name} is not in Waypost's workers module (it has {', '.join(__all__)}); "
        "see README.md, 'Writing a worker'"
    )


class _StandInFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves the names of STAND_INS to their Waypost modules, ahead of anything on sys.path."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in STAND_INS:
            return None
        return importlib.util.spec_from_loader(fullname, self, is_package=fullname == "pyodide")

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(STAND_INS[spec.name])

    def exec_module(self, module: ModuleType) -> None:
        """The module ran when create_module imported it under its own name."""


_finder = _StandInFinder()


def register() -> None:
    """Make `import workers` and `import workers.workflows` resolve to this package, and `js`,
    `pyodide` and `asgi` to their stand-ins."""
    sys.modules["workers"] = sys.modules[__name__]
    sys.modules["workers.workflows"] = workflows
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


def coverage_hint(module: str) -> str | None:
    """For an ImportError naming a stand-in module (by its Cloudflare name or its own): what that
    stand-in has, or None."""
    module = {real: name for name, real in {**STAND_INS, "workers": __name__}.items()}.get(module, module)
    root = module.split(".")[0]
    if module != "workers" and module not in STAND_INS and root not in STAND_INS:
        return None
    if module == "workers":
        names = [n for n in __all__ if n != "workflows"]
    elif module in STAND_INS:
        target = importlib.import_module(STAND_INS[module])
        names = list(getattr(target, "__all__", []))
    else:
        have = ", ".join(n for n in STAND_INS if n.split(".")[0] == root)
        return f"Waypost's {root} stand-in has no {module}; there is {have}"
    return f"Waypost's {module} stand-in has {', '.join(names)}; see README.md, 'Writing a worker'"
