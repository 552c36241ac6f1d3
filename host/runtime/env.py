"""`env`: a worker's bindings (vars, services, workflows) by attribute and by key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from starlette.requests import Request as StarletteRequest

from host.config import Config
from host.runtime.http import Request, Response

Invoke = Callable[[str, Request], Awaitable[Response]]
"""invoke(worker name, request) -> that worker's Response, in-process."""


class Env:
    """Bindings as attributes (`env.CURRENCY`) and as keys (`env["CURRENCY"]`)."""

    def __init__(self, bindings: Mapping[str, Any]) -> None:
        self.__dict__.update(bindings)

    def __getitem__(self, key: str) -> Any:
        return self.__dict__[key]

    def __contains__(self, key: object) -> bool:
        return key in self.__dict__

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.__dict__))

    def __len__(self) -> int:
        return len(self.__dict__)

    def get(self, key: str, default: Any = None) -> Any:
        return self.__dict__.get(key, default)

    def keys(self) -> list[str]:
        return list(self.__dict__)

    def __repr__(self) -> str:
        return f"Env({', '.join(self.__dict__)})"


class ServiceBinding:
    """`env.BILLING`: calls another worker's handler in-process."""

    def __init__(self, service: str, invoke: Invoke) -> None:
        self.service = service
        self._invoke = invoke

    async def fetch(
        self,
        request_or_url: StarletteRequest | str,
        *,
        method: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | str | None = None,
    ) -> Response:
        """Send a request to the worker `service` and return its Response."""
        if isinstance(request_or_url, StarletteRequest):
            source = request_or_url
            url = str(source.url)
            method = method or source.method
            if headers is None:
                headers = dict(source.headers)
            if body is None:
                body = await source.body()
        else:
            url = str(request_or_url)
        request = build_request(url, method or "GET", headers or {}, body)
        return await self._invoke(self.service, request)

    def __repr__(self) -> str:
        return f"ServiceBinding({self.service!r})"


def build_request(url: str, method: str, headers: Mapping[str, str], body: bytes | str | None) -> Request:
    """A Request for `url` (absolute, or a path taken on http://localhost) that carries `body`."""
    parts = urlsplit(url if "://" in url else "http://localhost" + ("" if url.startswith("/") else "/") + url)
    data = body.encode("utf-8") if isinstance(body, str) else (body or b"")
    host = parts.hostname or "localhost"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    raw = [
        (k.lower().encode("latin-1"), str(v).encode("latin-1"))
        for k, v in headers.items()
        if k.lower() not in ("host", "content-length")
    ]
    raw.append((b"host", parts.netloc.encode("latin-1")))
    if data or method.upper() not in ("GET", "HEAD"):
        raw.append((b"content-length", str(len(data)).encode()))
    scope = {
        "type": "http",
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

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": data, "more_body": False}

    return Request(scope, receive)


def build_envs(config: Config, invoke: Invoke, workflow_binding: Callable[[str], Any]) -> dict[str, Env]:
    """One Env per worker: its vars, a ServiceBinding per service, a workflow binding per workflow."""
    envs: dict[str, Env] = {}
    for worker in config.workers:
        bindings: dict[str, Any] = dict(worker.vars)
        for svc in worker.services:
            bindings[svc.binding] = ServiceBinding(svc.service, invoke)
        for wf in worker.workflows:
            bindings[wf.binding] = workflow_binding(wf.name)
        envs[worker.name] = Env(bindings)
    return envs
