"""`js.URL`, `js.URLSearchParams` and the URI encoding functions of the `js` stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit

from host.compat.jsbase import _entries, _JsClass, _missing

_DEFAULT_PORTS = {"http:": "80", "https:": "443", "ws:": "80", "wss:": "443"}


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
