"""The Request, Response, URL and Headers types worker handlers see (SPEC section 2).

Each is the Starlette type with Cloudflare's Python names added, so code written for either runs:
`request.url` is a `str` holding the full URL that also has Starlette URL's attributes.
"""

from __future__ import annotations

import builtins
import json as _json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, overload
from urllib.parse import unquote, urlsplit

from starlette.background import BackgroundTask
from starlette.datastructures import URL as StarletteURL
from starlette.datastructures import MutableHeaders
from starlette.requests import Request as StarletteRequest
from starlette.requests import empty_receive, empty_send
from starlette.responses import Response as StarletteResponse
from starlette.types import Message, Receive, Scope, Send

HeadersInit = Mapping[str, str] | Iterable[tuple[str, str]] | Iterable[list[str]] | None
"""What a header list may be given as: a mapping, Headers, or (name, value) pairs (JavaScript's forms)."""


class URL(str, StarletteURL):
    """The full URL as a `str` (`urlparse(url)`, `url.split("?")`, `url.startswith(...)`) that also has
    Starlette URL's attributes: `.path`, `.query`, `.hostname`, `.port`, `.scheme`, `.netloc`,
    `.components`, `.replace(path=...)`, `.include_query_params(...)`.

    `replace` with positional arguments is `str.replace`; with keywords it is Starlette's.
    """

    _url: str

    def __new__(cls, url: str = "", scope: Scope | None = None, **components: Any) -> URL:
        if scope is not None or components:
            url = str(StarletteURL(url, scope, **components))
        return super().__new__(cls, url)

    def __init__(self, url: str = "", scope: Scope | None = None, **components: Any) -> None:
        self._url = str.__str__(self)

    def replace(self, *args: Any, **kwargs: Any) -> Any:
        """`url.replace("http:", "https:")` as a str; `url.replace(path="/x")` as Starlette's URL."""
        if args:
            return str.replace(self, *args, **kwargs)
        return StarletteURL.replace(self, **kwargs)

    __eq__ = str.__eq__
    __ne__ = str.__ne__
    __hash__ = str.__hash__
    __str__ = str.__str__
    __repr__ = str.__repr__


class Headers(MutableHeaders):
    """Cloudflare's (and JavaScript's) `Headers`: case-insensitive, built from a dict or from pairs,
    with `get`, `set`, `append`, `has`, `delete`, `entries` besides the Mapping methods."""

    def __init__(
        self,
        init: HeadersInit = None,
        *,
        raw: list[tuple[bytes, bytes]] | None = None,
        scope: Scope | None = None,
    ) -> None:
        if init is None or raw is not None or scope is not None:
            super().__init__(raw=raw, scope=scope)
            return
        pairs = init.items() if isinstance(init, Mapping) else init
        super().__init__(raw=[(str(k).lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in pairs])

    def set(self, key: str, value: str) -> None:
        self[key] = str(value)

    def has(self, key: str) -> bool:
        return key in self

    def delete(self, key: str) -> None:
        del self[key]

    def entries(self) -> list[tuple[str, str]]:
        return self.items()


def request_scope(
    url: str, method: str = "GET", headers: HeadersInit = None, body: bytes | str | None = None
) -> tuple[Scope, Receive]:
    """An ASGI http scope for `url` (absolute, or a path taken on http://localhost) and a receive
    callable that delivers `body` once."""
    parts = urlsplit(url if "://" in url else "http://localhost" + ("" if url.startswith("/") else "/") + url)
    data = body.encode("utf-8") if isinstance(body, str) else (body or b"")
    host = parts.hostname or "localhost"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    given = headers if isinstance(headers, Headers) else Headers(headers)
    raw = [(k, v) for k, v in given.raw if k not in (b"host", b"content-length")]
    raw.append((b"host", parts.netloc.encode("latin-1")))
    if data or method.upper() not in ("GET", "HEAD"):
        raw.append((b"content-length", str(len(data)).encode()))
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method.upper(),
        "scheme": parts.scheme or "http",
        "path": unquote(parts.path or "/"),
        "raw_path": (parts.path or "/").encode("utf-8"),
        "query_string": parts.query.encode("latin-1"),
        "root_path": "",
        "headers": raw,
        "server": (host, port),
        "client": ("127.0.0.1", 0),
    }
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": data, "more_body": False}

    return scope, receive


class Request(StarletteRequest):
    """A Starlette Request shaped like Cloudflare's Python Request.

    `Request(scope, receive)` as Starlette's, or `Request(url, method=..., headers=..., body=...)`
    as Cloudflare's. `url` is a `URL` (a str); `text()`, `json()`, `bytes()`, `cf`, `js_object`.
    """

    _full_url: URL

    def __init__(
        self,
        scope: Scope | str,
        receive: Receive = empty_receive,
        send: Send = empty_send,
        *,
        method: str | None = None,
        headers: HeadersInit = None,
        body: bytes | str | None = None,
    ) -> None:
        if isinstance(scope, str):
            scope, receive = request_scope(scope, method or "GET", headers, body)
        super().__init__(scope, receive, send)

    @property
    def url(self) -> URL:
        """The full URL, a str with Starlette URL's attributes."""
        try:
            return self._full_url
        except AttributeError:
            self._full_url = URL(scope=self.scope)
            return self._full_url

    async def text(self) -> str:
        """The body decoded as UTF-8 (undecodable bytes are replaced)."""
        return (await self.body()).decode("utf-8", errors="replace")

    async def bytes(self) -> builtins.bytes:
        """The body as bytes (Cloudflare's name; Starlette's is `body()`)."""
        return await self.body()

    async def form_data(self) -> Any:
        """The parsed form (Cloudflare's name; Starlette's is `form()`)."""
        return await self.form()

    @property
    def cf(self) -> dict[str, Any]:
        """What the host knows of the client, under Cloudflare's `request.cf` key names."""
        client = self.scope.get("client")
        return {
            "clientIp": client[0] if client else None,
            "httpProtocol": "HTTP/" + str(self.scope.get("http_version", "1.1")),
        }

    @property
    def js_object(self) -> Request:
        """The request itself (on Cloudflare, the JavaScript object behind the Python one)."""
        return self


class _JsonMember:
    """`Response.json(data, status=200, headers=None)` builds a JSON response (on the class, as
    Cloudflare's static method); `await response.json()` reads one (on an instance, as JavaScript's)."""

    @overload
    def __get__(self, obj: None, owner: type[Response]) -> Callable[..., Response]: ...
    @overload
    def __get__(self, obj: Response, owner: type[Response]) -> Callable[[], Awaitable[Any]]: ...
    def __get__(self, obj: Response | None, owner: type[Response]) -> Callable[..., Any]:
        if obj is None:

            def build(data: Any, status: int = 200, headers: HeadersInit = None) -> Response:
                body = _json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
                encoded = body.encode("utf-8")
                return owner(encoded, status=status, headers=headers, media_type="application/json")

            return build
        response = obj

        async def read() -> Any:
            return _json.loads(bytes(response.body))

        return read


class Response(StarletteResponse):
    """A Starlette Response that also takes Cloudflare's `status=`, headers as pairs or `Headers`,
    and has `Response.json(...)`, `Response.redirect(...)`, `status`, `ok`, `await text()`,
    `await json()` and `await bytes()` (for a response got back from a service binding)."""

    json = _JsonMember()

    def __init__(
        self,
        content: Any = None,
        status_code: int = 200,
        headers: HeadersInit = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
        *,
        status: int | None = None,
    ) -> None:
        if status is not None:
            status_code = status
        if media_type is None and isinstance(content, str):
            media_type = "text/plain"
        if headers is not None and not isinstance(headers, Mapping):
            headers = Headers(headers)
        super().__init__(content, status_code, headers, media_type, background)

    @classmethod
    def redirect(cls, url: str, status: int = 302) -> Response:
        """A redirect to `url` (301, 302, 303, 307 or 308, as JavaScript's `Response.redirect`)."""
        if status not in (301, 302, 303, 307, 308):
            raise ValueError(f"Response.redirect: {status} is not one of 301, 302, 303, 307, 308")
        return cls(b"", status_code=status, headers={"location": str(url)})

    @property
    def status(self) -> int:
        """The HTTP status code (Cloudflare's name for it)."""
        return self.status_code

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    async def text(self) -> str:
        """The body decoded as text, for a response got back from a service binding."""
        return bytes(self.body).decode(self.charset, errors="replace")

    async def bytes(self) -> builtins.bytes:
        return builtins.bytes(self.body)
