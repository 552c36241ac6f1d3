"""`env`: a worker's bindings (vars, services, workflows) by attribute and by key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

from starlette.requests import Request as StarletteRequest

from host.config import Config
from host.runtime.http import HeadersInit, Request, Response, request_scope
from host.storage.bindings import storage_bindings

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
        headers: HeadersInit = None,
        body: bytes | str | None = None,
    ) -> Response:
        """Send a request to the worker `service` and return its Response."""
        if isinstance(request_or_url, StarletteRequest):
            source = request_or_url
            url = str(source.url)
            method = method or source.method
            if headers is None:
                headers = source.headers.items()
            if body is None:
                body = await source.body()
        else:
            url = str(request_or_url)
        request = build_request(url, method or "GET", headers or {}, body)
        return await self._invoke(self.service, request)

    def __repr__(self) -> str:
        return f"ServiceBinding({self.service!r})"


def build_request(url: str, method: str, headers: HeadersInit, body: bytes | str | None) -> Request:
    """A Request for `url` (absolute, or a path taken on http://localhost) that carries `body`."""
    scope, receive = request_scope(url, method, headers, body)
    return Request(scope, receive)


def build_envs(config: Config, invoke: Invoke, workflow_binding: Callable[[str], Any]) -> dict[str, Env]:
    """One Env per worker: its vars, a ServiceBinding per service, a workflow binding per workflow,
    and its KV, D1 and R2 bindings on files under the data directory."""
    envs: dict[str, Env] = {}
    for worker in config.workers:
        bindings: dict[str, Any] = dict(worker.vars)
        for svc in worker.services:
            bindings[svc.binding] = ServiceBinding(svc.service, invoke)
        for wf in worker.workflows:
            bindings[wf.binding] = workflow_binding(wf.name)
        bindings.update(storage_bindings(worker, config.host.data_dir))
        envs[worker.name] = Env(bindings)
    return envs
