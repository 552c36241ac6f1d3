"""Load a worker's file by path into its own module and find its fetch handler (SPEC section 2)."""

from __future__ import annotations

import importlib.util
import inspect
import logging
import sys
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from host import compat
from host.config import display_path
from host.errors import WorkerLoadError
from host.runtime.entrypoint import WorkerEntrypoint

logger = logging.getLogger("waypost")

Handler = Callable[[Any, Any, Any], Awaitable[Any] | Any]
"""A normalised handler: handler(request, env, ctx) -> response-like (or an awaitable of one)."""


@dataclass(frozen=True)
class LoadedWorker:
    """A worker whose module imported; `handler` is None when it defines no fetch handler."""

    name: str
    path: Path
    module: ModuleType
    handler: Handler | None
    form: str  # "fetch", "on_fetch", "class" or "none"


def module_name(worker: str) -> str:
    """The unique sys.modules name of a worker's module."""
    return "waypost_worker_" + worker.replace("-", "_")


def load_worker(name: str, path: Path) -> LoadedWorker:
    """Import `path` (a .py file or a package's __init__.py) afresh as the module of worker `name`.

    Raises WorkerLoadError whose message starts with the user's file:line.
    """
    compat.register()
    modname = module_name(name)
    is_package = path.name == "__init__.py"
    spec = importlib.util.spec_from_file_location(
        modname, path, submodule_search_locations=[str(path.parent)] if is_package else None
    )
    if spec is None or spec.loader is None:
        raise WorkerLoadError(f"{display_path(path)}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    folder = str((path.parent.parent if is_package else path.parent).resolve())
    if folder not in sys.path:
        # lets worker files import their `_helpers.py` neighbours, as Cloudflare bundles them
        sys.path.append(folder)
    saved = {k: v for k, v in sys.modules.items() if k == modname or k.startswith(modname + ".")}
    for key in saved:
        del sys.modules[key]
    _forget_helpers(Path(folder))
    sys.modules[modname] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        for key in [k for k in sys.modules if k == modname or k.startswith(modname + ".")]:
            del sys.modules[key]
        sys.modules.update(saved)
        if not isinstance(exc, Exception):
            raise
        raise WorkerLoadError(describe_import_error(exc, path)) from exc
    handler, form = find_handler(module)
    if handler is None:
        logger.warning(
            "%s: no fetch handler (define fetch(request, env, ctx), on_fetch(...) or "
            "class Default(WorkerEntrypoint)); requests to worker %r get 404",
            display_path(path),
            name,
        )
    return LoadedWorker(name=name, path=path, module=module, handler=handler, form=form)


def _forget_helpers(folder: Path) -> None:
    """Drop cached helper modules from the functions folder so an edit to them is picked up too."""
    for key, mod in list(sys.modules.items()):
        file = getattr(mod, "__file__", None)
        if file and not key.startswith("waypost_worker_") and Path(file).parent == folder:
            del sys.modules[key]


def describe_import_error(exc: BaseException, path: Path) -> str:
    """`file:line: Type: message`, pointing into the user's code rather than into the import machinery."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{display_path(Path(exc.filename))}:{exc.lineno}: {type(exc).__name__}: {exc.msg}"
    root = (path.parent if path.name == "__init__.py" else path).resolve()
    frames = traceback.extract_tb(exc.__traceback__)
    user = [f for f in frames if _inside(Path(f.filename), root)] or [
        f for f in frames if "importlib" not in f.filename
    ]
    if user:
        frame = user[-1]
        where = f"{display_path(Path(frame.filename))}:{frame.lineno}"
    else:
        where = display_path(path)
    hint = compat.coverage_hint(exc.name) if isinstance(exc, ImportError) and exc.name else None
    return f"{where}: {type(exc).__name__}: {exc}" + (f" ({hint})" if hint else "")


def _inside(file: Path, root: Path) -> bool:
    try:
        file = file.resolve()
    except OSError:
        return False
    return file == root or root in file.parents


def find_handler(module: ModuleType) -> tuple[Handler | None, str]:
    """The first of module-level fetch, on_fetch, or class Default with a fetch method (a module-level
    `fetch` that is the imported HTTP client does not count)."""
    for attr in ("fetch", "on_fetch"):
        fn = getattr(module, attr, None)
        if callable(fn) and not inspect.isclass(fn) and not _is_outbound(fn):
            return _positional(fn), attr
    default = getattr(module, "Default", None)
    if inspect.isclass(default) and callable(getattr(default, "fetch", None)):
        return _class_handler(default), "class"
    return None, "none"


def _is_outbound(fn: Any) -> bool:
    """`from workers import fetch` (or js's) in a class-form worker is the HTTP client, not a handler."""
    return getattr(fn, "__module__", None) in ("host.runtime.outbound", "host.compat.js")


OFFERED = 3  # request, env, ctx


def wanted(fn: Callable[..., Any], *, method: bool = False) -> int:
    """How many of (request, env, ctx) `fn` takes: its positional parameters (all 3 for `*args`, or
    when the signature cannot be read), less `self` for a method looked up on its class."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return OFFERED
    if method and params:
        params = params[1:]
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return OFFERED
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return min(OFFERED, sum(1 for p in params if p.kind in kinds))


def _positional(fn: Callable[..., Any]) -> Handler:
    """handler(request, env, ctx) calling `fn` with as many of them as it takes (decided here, once)."""
    count = wanted(fn)
    if count == 3:
        return fn
    if count == 2:
        return lambda request, env, ctx: fn(request, env)
    if count == 1:
        return lambda request, env, ctx: fn(request)
    return lambda request, env, ctx: fn()


def _class_handler(cls: type[Any]) -> Handler:
    """handler(request, env, ctx) making one instance per request (self.env, self.ctx set) and calling
    its fetch with as many of (request, env, ctx) as it takes."""
    raw = inspect.getattr_static(cls, "fetch", None)
    count = wanted(cls.fetch, method=not isinstance(raw, staticmethod | classmethod))
    entrypoint = issubclass(cls, WorkerEntrypoint)

    def make(env: Any, ctx: Any) -> Any:
        if entrypoint:
            return cls(ctx, env)
        instance = cls()
        instance.ctx, instance.env = ctx, env
        return instance

    if count == 0:
        return lambda request, env, ctx: make(env, ctx).fetch()
    if count == 1:
        return lambda request, env, ctx: make(env, ctx).fetch(request)
    if count == 2:
        return lambda request, env, ctx: make(env, ctx).fetch(request, env)
    return lambda request, env, ctx: make(env, ctx).fetch(request, env, ctx)
