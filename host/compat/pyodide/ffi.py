"""`pyodide.ffi`: with no JavaScript side, conversions and proxies return their argument."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

__all__ = [
    "IN_BROWSER",
    "JsException",
    "JsProxy",
    "create_once_callable",
    "create_proxy",
    "destroy_proxies",
    "to_js",
]

T = TypeVar("T")

IN_BROWSER = False


class JsProxy:
    """The type of JavaScript objects seen from Python; here only js.JsObject (a dict) is one."""

    def to_py(self, *args: Any, **kwargs: Any) -> Any:
        return self


class JsException(Exception):
    """An error thrown by JavaScript code; nothing here throws one, but `except JsException` works."""


def to_js(obj: T, *args: Any, **kwargs: Any) -> T:
    """`obj` itself: Python values are what the stand-ins take (any `dict_converter` is not needed)."""
    return obj


def create_proxy(obj: T, *args: Any, **kwargs: Any) -> T:
    return obj


def create_once_callable(obj: Callable[..., T], *args: Any, **kwargs: Any) -> Callable[..., T]:
    return obj


def destroy_proxies(proxies: Iterable[Any]) -> None:
    """Nothing to destroy: create_proxy made no proxy."""


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(f"module 'pyodide.ffi' has no attribute {name!r}")
    raise AttributeError(
        f"pyodide.ffi.{name} is not in Waypost's pyodide.ffi stand-in (it has {', '.join(__all__)}); "
        "see README.md, 'Writing a worker'"
    )
