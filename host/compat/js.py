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
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NoReturn
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit

from host.compat.pyodide.ffi import JsProxy
from host.runtime import outbound
from host.runtime.context import current_worker
from host.runtime.http import Headers as _Headers
from host.runtime.http import HeadersInit
from host.runtime.http import Request as _Request
from host.runtime.http import Response as _Response

__all__ = [
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
]

console_log = logging.getLogger("waypost.console")


def _missing(owner: str, name: str) -> NoReturn:
    raise AttributeError(
        f"{owner}.{name}: this JavaScript name is not in Waypost's js stand-in "
        f"(it has {', '.join(__all__)}); see README.md, 'Writing a worker'"
    )


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(f"module 'js' has no attribute {name!r}")
    _missing("js", name)


def __dir__() -> list[str]:
    return sorted(__all__)


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


# -- URL -----------------------------------------------------------------------------------------

_DEFAULT_PORTS = {"http:": "80", "https:": "443", "ws:": "80", "wss:": "443"}


class _JsClass(type):
    """The type of URL and URLSearchParams: an unknown static member (`URL.canParse`) is named too."""

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        _missing(f"js.{cls.__name__.lstrip('_')}", name)


class _URLSearchParams(metaclass=_JsClass):
    """JavaScript's URLSearchParams: `get`, `getAll`, `has`, `set`, `append`, `delete`, `keys`,
    `values`, `entries`, `toString`, `size`; changes show in the URL it came from."""

    def __init__(self, init: Any = None, owner: _URL | None = None) -> None:
        if init is None:
            pairs: list[tuple[str, str]] = []
        elif isinstance(init, str):
            pairs = parse_qsl(init.removeprefix("?"), keep_blank_values=True)
        else:
            pairs = [(str(k), str(v)) for k, v in _entries(init)]
        self._pairs = pairs
        self._owner = owner

    @staticmethod
    def new(init: Any = None) -> _URLSearchParams:
        return _URLSearchParams(init)

    def _changed(self) -> None:
        if self._owner is not None:
            self._owner._query = self.toString()

    def get(self, name: str) -> str | None:
        return next((v for k, v in self._pairs if k == name), None)

    def getAll(self, name: str) -> list[str]:
        return [v for k, v in self._pairs if k == name]

    def has(self, name: str) -> bool:
        return any(k == name for k, _ in self._pairs)

    def set(self, name: str, value: Any) -> None:
        out, done = [], False
        for k, v in self._pairs:
            if k != name:
                out.append((k, v))
            elif not done:
                out.append((k, str(value)))
                done = True
        if not done:
            out.append((name, str(value)))
        self._pairs = out
        self._changed()

    def append(self, name: str, value: Any) -> None:
        self._pairs.append((name, str(value)))
        self._changed()

    def delete(self, name: str) -> None:
        self._pairs = [(k, v) for k, v in self._pairs if k != name]
        self._changed()

    def keys(self) -> list[str]:
        return [k for k, _ in self._pairs]

    def values(self) -> list[str]:
        return [v for _, v in self._pairs]

    def entries(self) -> list[tuple[str, str]]:
        return list(self._pairs)

    @property
    def size(self) -> int:
        return len(self._pairs)

    def toString(self) -> str:
        return urlencode(self._pairs)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(list(self._pairs))

    def __str__(self) -> str:
        return self.toString()

    def __repr__(self) -> str:
        return f"URLSearchParams({self.toString()!r})"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        _missing("js.URLSearchParams", name)


class _URL(metaclass=_JsClass):
    """JavaScript's URL: `href`, `origin`, `protocol`, `username`, `password`, `host`, `hostname`,
    `port`, `pathname`, `search`, `hash`, `searchParams`, `toString()`; the parts can be set."""

    def __init__(self, url: Any, base: Any = None) -> None:
        text = str(url)
        if base is not None:
            text = urljoin(str(_URL(base)), text)
        parts = urlsplit(text)
        if not parts.scheme or (parts.scheme in ("http", "https", "ws", "wss") and not parts.hostname):
            raise TypeError(f"URL: invalid URL {text!r}")
        self.protocol = parts.scheme + ":"
        self.username = parts.username or ""
        self.password = parts.password or ""
        self.hostname = (parts.hostname or "").lower()
        port = "" if parts.port is None else str(parts.port)
        self.port = "" if _DEFAULT_PORTS.get(self.protocol) == port else port
        self.pathname = parts.path or ("/" if self.protocol in _DEFAULT_PORTS else "")
        self._query = parts.query
        self.hash = "#" + parts.fragment if parts.fragment else ""

    @staticmethod
    def new(url: Any, base: Any = None) -> _URL:
        return _URL(url, base)

    @property
    def host(self) -> str:
        return f"{self.hostname}:{self.port}" if self.port else self.hostname

    @host.setter
    def host(self, value: str) -> None:
        hostname, _, port = value.partition(":")
        self.hostname, self.port = hostname.lower(), port

    @property
    def origin(self) -> str:
        return f"{self.protocol}//{self.host}"

    @property
    def search(self) -> str:
        return "?" + self._query if self._query else ""

    @search.setter
    def search(self, value: str) -> None:
        self._query = value.removeprefix("?")

    @property
    def searchParams(self) -> _URLSearchParams:
        return _URLSearchParams(self._query, owner=self)

    @property
    def href(self) -> str:
        auth = ""
        if self.username or self.password:
            auth = self.username + (":" + self.password if self.password else "") + "@"
        return f"{self.protocol}//{auth}{self.host}{self.pathname}{self.search}{self.hash}"

    def toString(self) -> str:
        return self.href

    toJSON = toString

    def __str__(self) -> str:
        return self.href

    def __repr__(self) -> str:
        return f"URL({self.href!r})"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        _missing("js.URL", name)


URL = _URL
URLSearchParams = _URLSearchParams


def encodeURIComponent(value: Any) -> str:
    return quote(str(value), safe="-_.!~*'()")


def decodeURIComponent(value: str) -> str:
    return unquote(value)


def encodeURI(value: Any) -> str:
    return quote(str(value), safe="-_.!~*'();/?:@&=+$,#")


def decodeURI(value: str) -> str:
    return unquote(value)


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
