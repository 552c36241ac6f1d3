"""What the `js` stand-in's pieces share: its names, the error for a missing one, and
JsObject (a JavaScript object as a dict whose keys are attributes too)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

from host.compat.pyodide.ffi import JsProxy

JS_NAMES = (
    "Date",
    "Headers",
    "JSON",
    "Object",
    "Request",
    "Response",
    "URL",
    "URLSearchParams",
    "console",
    "crypto",
    "decodeURI",
    "decodeURIComponent",
    "encodeURI",
    "encodeURIComponent",
    "fetch",
)


def _missing(owner: str, name: str) -> NoReturn:
    raise AttributeError(
        f"{owner}.{name}: this JavaScript name is not in Waypost's js stand-in "
        f"(it has {', '.join(JS_NAMES)}); see README.md, 'Writing a worker'"
    )


class _Global:
    """A JavaScript global object (console, JSON, ...): unknown members raise, naming them."""

    _js_name = "js"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        _missing(f"js.{self._js_name}", name)


# -- objects -------------------------------------------------------------------------------------


class JsObject(dict[str, Any], JsProxy):
    """A JavaScript object: a dict whose keys are also attributes (`obj.name`, `obj["name"]`)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def to_py(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """A plain dict (nested objects too), as a Pyodide JsProxy's to_py()."""
        return _plain(self)  # type: ignore[no-any-return]

    def as_object_map(self) -> JsObject:
        return self

    def object_values(self) -> list[Any]:
        return list(self.values())


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _entries(init: Any) -> Iterable[tuple[Any, Any]]:
    if isinstance(init, Mapping):
        return list(init.items())
    return [(pair[0], pair[1]) for pair in init]


class _JsClass(type):
    """The type of URL and URLSearchParams: an unknown static member (`URL.canParse`) is named too."""

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        _missing(f"js.{cls.__name__.lstrip('_')}", name)
