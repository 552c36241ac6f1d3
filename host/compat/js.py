"""`import js`: a small stand-in for the JavaScript globals Cloudflare's Python examples use.

On Cloudflare, `js` is the JavaScript global scope seen through Pyodide. Here it is plain Python
with the same names and calling conventions: `Response.new(body, init)`, `Response.json(data)`,
`fetch(url, init)`, `console.log(...)`, `URL.new(url)`, `URLSearchParams.new(...)`,
`Headers.new(init)`, `Request.new(url, init)`, `JSON.stringify` / `JSON.parse`, `Object.fromEntries`
(and `keys`, `values`, `entries`, `assign`), `Date.now()`, `crypto.randomUUID()`,
`encodeURIComponent` / `decodeURIComponent` / `encodeURI` / `decodeURI`. Any other name is an
AttributeError that names it: nothing here is a silent stub.

JavaScript objects are dicts (`JsObject`: keys readable as attributes too, `.to_py()`); an `init`
may be a dict or keyword arguments, as Pyodide allows.
"""

from __future__ import annotations

import builtins
import json
import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any

from host.compat.jsbase import JS_NAMES, JsObject, _entries, _Global, _missing
from host.compat.jsurl import _URL, _URLSearchParams
from host.compat.jsurl import URL as URL
from host.compat.jsurl import URLSearchParams as URLSearchParams
from host.compat.jsurl import decodeURI as decodeURI
from host.compat.jsurl import decodeURIComponent as decodeURIComponent
from host.compat.jsurl import encodeURI as encodeURI
from host.compat.jsurl import encodeURIComponent as encodeURIComponent
from host.runtime import outbound
from host.runtime.context import current_worker
from host.runtime.http import Headers as _Headers
from host.runtime.http import HeadersInit
from host.runtime.http import Request as _Request
from host.runtime.http import Response as _Response

__all__ = list(JS_NAMES)


console_log = logging.getLogger("waypost.console")


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(f"module 'js' has no attribute {name!r}")
    _missing("js", name)


def __dir__() -> list[str]:
    return sorted(__all__)


class _Object(_Global):
    _js_name = "Object"

    @staticmethod
    def new(init: Any = None) -> JsObject:
        return JsObject(_entries(init) if init is not None else ())

    @staticmethod
    def fromEntries(entries: Any) -> JsObject:
        return JsObject(_entries(entries))

    @staticmethod
    def keys(obj: Mapping[str, Any]) -> list[str]:
        return list(obj.keys())

    @staticmethod
    def values(obj: Mapping[str, Any]) -> list[Any]:
        return list(obj.values())

    @staticmethod
    def entries(obj: Mapping[str, Any]) -> list[list[Any]]:
        return [[k, v] for k, v in obj.items()]

    @staticmethod
    def assign(target: dict[str, Any], *sources: Mapping[str, Any]) -> dict[str, Any]:
        for source in sources:
            target.update(source)
        return target


Object = _Object()


class _JSON(_Global):
    _js_name = "JSON"

    @staticmethod
    def stringify(value: Any, replacer: Any = None, space: int | str | None = None) -> str:
        """Compact JSON as JavaScript writes it (`space` indents); non-ASCII stays as it is."""
        if replacer is not None:
            raise TypeError("JSON.stringify: a replacer is not supported by Waypost's js stand-in")
        if space:
            return json.dumps(value, ensure_ascii=False, indent=space, default=_to_json)
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_to_json)

    @staticmethod
    def parse(text: str | builtins.bytes) -> Any:
        """Objects become JsObject (dicts with attribute access)."""
        return json.loads(text, object_hook=JsObject)


def _to_json(value: Any) -> Any:
    if isinstance(value, _URL | _URLSearchParams):
        return str(value)
    if isinstance(value, _Headers):
        return dict(value.items())
    raise TypeError(f"JSON.stringify: cannot serialise {type(value).__name__}")


JSON = _JSON()


class _Date(_Global):
    _js_name = "Date"

    @staticmethod
    def now() -> int:
        """Milliseconds since the epoch."""
        return int(time.time() * 1000)


Date = _Date()


class _Crypto(_Global):
    _js_name = "crypto"

    @staticmethod
    def randomUUID() -> str:
        return str(uuid.uuid4())


crypto = _Crypto()


class _Console(_Global):
    """console.log/info/debug to the host log at info/info/debug, warn at warning, error at error,
    as one line naming the worker: `hello console.log: message`."""

    _js_name = "console"

    def log(self, *args: Any) -> None:
        _emit(logging.INFO, "log", args)

    def info(self, *args: Any) -> None:
        _emit(logging.INFO, "info", args)

    def debug(self, *args: Any) -> None:
        _emit(logging.DEBUG, "debug", args)

    def warn(self, *args: Any) -> None:
        _emit(logging.WARNING, "warn", args)

    def error(self, *args: Any) -> None:
        _emit(logging.ERROR, "error", args)


def _emit(level: int, method: str, args: tuple[Any, ...]) -> None:
    if console_log.isEnabledFor(level):
        text = " ".join(a if isinstance(a, str) else _show(a) for a in args)
        console_log.log(level, "%s console.%s: %s", current_worker.get(), method, text)


def _show(value: Any) -> str:
    if isinstance(value, dict | list):
        try:
            return JSON.stringify(value)
        except (TypeError, ValueError):
            pass
    return str(value)


console = _Console()


# -- Request, Response, Headers, fetch ------------------------------------------------------------


def _init(init: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """An `init` argument (dict, JsObject, Request, None) merged with keyword arguments."""
    merged: dict[str, Any] = dict(init) if isinstance(init, Mapping) else {}
    merged.update(kwargs)
    return merged


def _headers(value: Any) -> HeadersInit:
    if value is None or isinstance(value, Mapping):
        return value
    return list(_entries(value))


class _HeadersGlobal(_Global):
    _js_name = "Headers"

    @staticmethod
    def new(init: Any = None) -> _Headers:
        """`Headers.new({"a": "1"}.items())`, `Headers.new({"a": "1"})` or `Headers.new([["a", "1"]])`."""
        return _Headers(_headers(init))


Headers = _HeadersGlobal()


class _ResponseGlobal(_Global):
    _js_name = "Response"

    @staticmethod
    def new(body: Any = None, init: Any = None, **kwargs: Any) -> _Response:
        """`Response.new("text", status=201, headers={...})`, or with an init dict."""
        options = _init(init, kwargs)
        unknown = sorted(set(options) - {"status", "statusText", "headers"})
        if unknown:
            raise TypeError(f"Response.new: unknown init key(s) {', '.join(unknown)}")
        if body is not None and not isinstance(body, str | builtins.bytes | bytearray | memoryview):
            raise TypeError(f"Response.new: body must be a str, bytes or None, got {type(body).__name__}")
        content = builtins.bytes(body) if isinstance(body, bytearray | memoryview) else body
        return _Response(
            content, status_code=int(options.get("status", 200)), headers=_headers(options.get("headers"))
        )

    @staticmethod
    def json(data: Any, init: Any = None, **kwargs: Any) -> _Response:
        options = _init(init, kwargs)
        response = _Response.json(data, status=int(options.get("status", 200)))
        for key, value in _Headers(_headers(options.get("headers"))).items():
            response.headers[key] = value
        return response

    @staticmethod
    def redirect(url: Any, status: int = 302) -> _Response:
        return _Response.redirect(str(url), status)


Response = _ResponseGlobal()


class _RequestGlobal(_Global):
    _js_name = "Request"

    @staticmethod
    def new(url: Any, init: Any = None, **kwargs: Any) -> _Request:
        options = _init(init, kwargs)
        return _Request(
            str(url),
            method=options.get("method"),
            headers=_headers(options.get("headers")),
            body=options.get("body"),
        )


Request = _RequestGlobal()


async def fetch(resource: Any, init: Any = None, **kwargs: Any) -> outbound.FetchResponse:
    """`await fetch(url, init)` as JavaScript's: init (a dict or keywords) with method, headers, body."""
    target = resource if isinstance(resource, _Request) else str(resource)
    options = init if isinstance(init, _Request) else _init(init, {})
    return await outbound.fetch(target, options, **kwargs)
