"""Serving a request: find the worker by route, call its handler, turn what it returns into a Response."""

from __future__ import annotations

import inspect
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.responses import Response as StarletteResponse
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Lifespan, Receive, Scope, Send

from host.runtime.context import BackgroundWork, Context, current_worker
from host.runtime.env import Env
from host.runtime.http import Request, Response
from host.runtime.outbound import FetchResponse, OutboundClient, outbound_client
from host.runtime.registry import Registry
from host.runtime.routing import RouteTable

logger = logging.getLogger("waypost")
request_log = logging.getLogger("waypost.request")


class Dispatcher:
    """The catch-all ASGI endpoint for worker routes, and the in-process caller behind service bindings."""

    def __init__(
        self,
        registry: Registry,
        background: BackgroundWork,
        view: Callable[[], tuple[RouteTable, Mapping[str, Env]]],
        on_request: Callable[[str, int, float], None] | None = None,
        outbound: OutboundClient | None = None,
    ) -> None:
        self.registry = registry
        self.outbound = outbound  # the host's pool for the handlers' fetch (host.runtime.outbound)
        self.on_request = on_request  # (worker, status, seconds) of each answered request: metrics
        self.background = background
        self._view = view  # the current route table and envs; replaced together on reload
        self._empty_env = Env({})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        path: str = scope["path"]
        routes = self._view()[0]
        route = routes.match(_host_header(scope) if routes.by_host else "", path)
        error_id = None
        if route is None:
            worker = "-"
            response: StarletteResponse = Response(f"Not Found: no worker serves {path}\n", status_code=404)
        else:
            worker = route.worker
            response, error_id = await self.call(worker, Request(scope, receive))
        await response(scope, receive, send)
        if self.on_request is not None:
            self.on_request(worker, response.status_code, time.perf_counter() - started)
        if request_log.isEnabledFor(logging.INFO):
            ms = (time.perf_counter() - started) * 1000
            suffix = f" error={error_id}" if error_id else ""
            args = (scope["method"], path, worker, response.status_code, ms, suffix)
            request_log.handle(_request_record(args))

    async def invoke(self, worker: str, request: Request) -> Response:
        """Call worker `worker` in-process (a service binding); always returns a host Response."""
        response, _ = await self.call(worker, request)
        return await _buffered(response)

    async def call(self, worker: str, request: Request) -> tuple[StarletteResponse, str | None]:
        """Run the worker's handler; a failure becomes a 500 carrying an error id, also logged."""
        loaded = self.registry.get(worker)
        if loaded is None:
            return _unavailable(worker, self.registry.error_ids.get(worker))
        handler = loaded.handler
        if handler is None:
            return Response(f"Not Found: worker {worker!r} has no fetch handler\n", status_code=404), None
        env = self._view()[1].get(worker, self._empty_env)
        token = current_worker.set(worker)
        pool = outbound_client.set(self.outbound) if self.outbound is not None else None
        try:
            result: Any = handler(request, env, Context(self.background, worker))
            if inspect.isawaitable(result):
                result = await result
        except Exception:
            error_id = secrets.token_hex(4)
            logger.exception(
                "error %s in worker %s on %s %s", error_id, worker, request.method, request.scope["path"]
            )
            return _error_response(error_id), error_id
        finally:
            current_worker.reset(token)
            if pool is not None:
                outbound_client.reset(pool)
        response = coerce(result)
        if response is None:
            error_id = secrets.token_hex(4)
            logger.error(
                "error %s in worker %s: the handler returned %s; return a Response, dict, list or str",
                error_id,
                worker,
                _describe(result),
            )
            return _error_response(error_id), error_id
        return response, None


class HostApp(Starlette):
    """The host's Starlette app. A worker request goes straight to the dispatcher: Starlette's router
    and middleware are for the routes listed before it (the admin API) and the lifespan."""

    def __init__(self, routes: Sequence[BaseRoute], dispatcher: Dispatcher, lifespan: Lifespan[Any]) -> None:
        super().__init__(routes=[*routes, Route("/{path:path}", endpoint=dispatcher)], lifespan=lifespan)
        self._before = tuple(routes)
        self._dispatcher = dispatcher

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not any(r.matches(scope)[0] is not Match.NONE for r in self._before):
            scope["app"] = self
            scope["router"] = self.router
            await self._dispatcher(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


_REQUEST_LINE = "%s %s worker=%s status=%d %.1fms%s"
_RECORD_CONSTANTS = {
    "name": request_log.name,
    "msg": _REQUEST_LINE,
    "levelname": "INFO",
    "levelno": logging.INFO,
    "pathname": __file__,
    "filename": os.path.basename(__file__),
    "module": __name__.rpartition(".")[2],
    "exc_info": None,
    "exc_text": None,
    "stack_info": None,
    "lineno": 0,
    "funcName": "Dispatcher.__call__",
    "processName": "MainProcess",
    "taskName": None,
}


def _request_record(args: tuple[Any, ...]) -> logging.LogRecord:
    """The request line's LogRecord, made without Logger.info's caller lookup and LogRecord's
    per-call path and process work (about 10 us of a request at the default log level). Every
    standard attribute is set, so any formatter or filter works; a custom setLogRecordFactory is
    not used for this one line."""
    record = logging.LogRecord.__new__(logging.LogRecord)
    now = time.time()
    record.__dict__.update(_RECORD_CONSTANTS)
    record.args = args
    record.created = now
    record.msecs = int((now - int(now)) * 1000) + 0.0
    record.relativeCreated = (now - _LOG_START) * 1000
    record.thread = threading.get_ident()
    record.threadName = threading.current_thread().name
    record.process = os.getpid()
    return record


_LOG_START: float = getattr(logging, "_startTime", time.time())


def _host_header(scope: Scope) -> str:
    for key, value in scope["headers"]:
        if key == b"host":
            return value.decode("latin-1")  # type: ignore[no-any-return]
    return ""


def _unavailable(worker: str, error_id: str | None) -> tuple[StarletteResponse, str | None]:
    """The answer for a worker whose module failed to load and has no good version to serve."""
    ref = f" (error id: {error_id})" if error_id else ""
    body = f"Service Unavailable: worker {worker!r} failed to load{ref}; the host log has the file and line\n"
    headers = {"x-waypost-error-id": error_id} if error_id else None
    return Response(body, status_code=503, headers=headers), error_id


def coerce(result: Any) -> StarletteResponse | None:
    """A Response as is, dict/list as JSON, str as text; None for anything else."""
    if isinstance(result, StarletteResponse):
        return result
    if isinstance(result, dict | list):
        try:
            return Response.json(result)
        except (TypeError, ValueError):
            return None
    if isinstance(result, str):
        return Response(result, media_type="text/plain")
    if isinstance(result, FetchResponse):
        return result.to_response()  # `return await fetch(...)`: pass the fetched response on
    return None


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:80]}{'...' if len(text) > 80 else ''}"


def _error_response(error_id: str) -> Response:
    return Response(
        f"Internal Server Error (error id: {error_id})\n",
        status_code=500,
        headers={"x-waypost-error-id": error_id},
    )


async def _buffered(response: StarletteResponse) -> Response:
    """A host Response with the whole body in memory, so the caller can read `.body` / `await .text()`."""
    if isinstance(response, Response) and not hasattr(response, "body_iterator"):
        return response
    body = getattr(response, "body", None)
    if body is None:
        stream: Any = response  # a StreamingResponse: its body is an async iterator
        chunks = [c if isinstance(c, bytes) else str(c).encode("utf-8") async for c in stream.body_iterator]
        body = b"".join(chunks)
    out = Response(bytes(body), status_code=response.status_code)
    out.raw_headers = [(k, v) for k, v in response.raw_headers if k != b"content-length"]
    out.raw_headers.append((b"content-length", str(len(body)).encode()))
    return out
