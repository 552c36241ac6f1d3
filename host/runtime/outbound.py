"""Outbound HTTP for workers: `workers.fetch`, `js.fetch` and `pyodide.http.pyfetch`, on httpx."""

from __future__ import annotations

import asyncio
import builtins
import json
from collections.abc import Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from starlette.requests import Request as StarletteRequest

from host.runtime.http import Headers, HeadersInit, Response

if TYPE_CHECKING:
    import httpx

# not forwarded from a request given to fetch, nor passed on from a fetched response
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host"}
)
KNOWN_OPTIONS = ("method", "headers", "body", "redirect")
REDIRECT_MODES = ("follow", "manual", "error")
IGNORED_OPTIONS = frozenset({"cf", "cache", "signal", "integrity", "keepalive", "mode", "credentials"})


def _new_client() -> httpx.AsyncClient:
    import httpx  # imported at the first fetch, not at start

    # fetch has no timeout of its own in JavaScript; only connecting is bounded here
    return httpx.AsyncClient(timeout=httpx.Timeout(None, connect=30.0))


class OutboundClient:
    """The connection pool of a host's outbound fetches: made at the first fetch, closed with the
    host. The host hands it to handler code through `outbound_client`."""

    def __init__(self) -> None:
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:  # a pool belongs to one event loop
            self._client, self._loop = _new_client(), loop
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


outbound_client: ContextVar[OutboundClient | None] = ContextVar("waypost_outbound_client", default=None)
"""The host's pool, set by the host for its lifespan and each request; unset (a script, a test
calling a handler directly), fetch uses a client of its own for the one call."""


class FetchResponse:
    """What `await fetch(...)` returns: `status` (also `status_code`), `ok`, `status_text`, `headers`,
    `url`, `redirected`, and the body by `await text()`, `await json()`, `await bytes()` (and
    pyodide's `await string()`). A handler may return it as it is (the response is passed on)."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status: int = response.status_code
        self.status_code = self.status
        self.ok = 200 <= self.status < 300
        self.status_text: str = response.reason_phrase
        self.statusText = self.status_text
        self.headers = Headers(raw=[(k.lower(), v) for k, v in response.headers.raw])
        self.url = str(response.url)
        self.redirected = bool(response.history)
        self.body: bytes = response.content

    async def text(self) -> str:
        return self._response.text

    string = text  # pyodide.http.FetchResponse's name

    async def json(self) -> Any:
        return json.loads(self.body)

    async def bytes(self) -> builtins.bytes:
        return self.body

    @property
    def js_object(self) -> FetchResponse:
        return self

    def to_response(self) -> Response:
        """A host Response with this status, headers and body (httpx has already decoded the body)."""
        dropped = {b"content-encoding", b"content-length", *(h.encode() for h in HOP_BY_HOP)}
        raw = [(k, v) for k, v in self._response.headers.raw if k.lower() not in dropped]
        out = Response(self.body, status_code=self.status)
        out.raw_headers = [*raw, (b"content-length", str(len(self.body)).encode())]
        return out

    def __repr__(self) -> str:
        return f"<FetchResponse {self.status} {self.url}>"


async def fetch(
    resource: str | StarletteRequest,
    init: Mapping[str, Any] | StarletteRequest | None = None,
    /,
    **options: Any,
) -> FetchResponse:
    """Send an HTTP request, as JavaScript's and Cloudflare's `fetch`.

    `resource` is a URL (a str or anything whose str() is one) or a Request; `init` (a dict, or a
    Request) and keyword options give `method`, `headers`, `body` and `redirect` ("follow", the
    default, "manual" or "error"). `cf`, `cache`, `signal` and the like are accepted and ignored.
    """
    settings: dict[str, Any] = {}
    if isinstance(resource, StarletteRequest):
        settings.update(await _from_request(resource))
        url = str(resource.url)
    else:
        url = str(resource)
    if isinstance(init, StarletteRequest):
        settings.update(await _from_request(init))
    elif init is not None:
        settings.update(init)
    settings.update(options)
    unknown = sorted(k for k in settings if k not in KNOWN_OPTIONS and k not in IGNORED_OPTIONS)
    if unknown:
        known = ", ".join(KNOWN_OPTIONS)
        raise TypeError(f"fetch: unknown option(s) {', '.join(unknown)} (known: {known})")
    redirect = settings.get("redirect") or "follow"
    if redirect not in REDIRECT_MODES:
        raise TypeError(f"fetch: redirect must be one of {', '.join(REDIRECT_MODES)}, got {redirect!r}")
    headers = _outgoing_headers(settings.get("headers"))
    body = settings.get("body")
    if body is not None and not isinstance(body, str | builtins.bytes | bytearray | memoryview):
        raise TypeError(f"fetch: body must be str or bytes, got {type(body).__name__}")
    content = body.encode() if isinstance(body, str) else None if body is None else builtins.bytes(body)
    method = str(settings.get("method") or "GET").upper()
    pool = outbound_client.get()
    if pool is not None:
        response = await _send(pool.get(), method, url, headers, content, redirect == "follow")
    else:
        async with _new_client() as client:
            response = await _send(client, method, url, headers, content, redirect == "follow")
    if redirect == "error" and response.is_redirect:
        raise TypeError(f"fetch: {url} redirected (status {response.status_code}) and redirect is 'error'")
    return FetchResponse(response)


async def _send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    content: bytes | None,
    follow: bool,
) -> httpx.Response:
    return await client.request(method, url, headers=headers, content=content, follow_redirects=follow)


async def _from_request(request: StarletteRequest) -> dict[str, Any]:
    body = await request.body()
    return {
        "method": request.method,
        "headers": [(k, v) for k, v in request.headers.items() if k not in HOP_BY_HOP | {"content-length"}],
        "body": body if body or request.method not in ("GET", "HEAD") else None,
    }


def _outgoing_headers(given: HeadersInit) -> list[tuple[str, str]]:
    if given is None:
        return []
    pairs = given.items() if isinstance(given, Mapping) else given
    return [(str(k), str(v)) for k, v in pairs if str(k).lower() not in HOP_BY_HOP]
