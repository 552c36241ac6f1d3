"""`import asgi`: serve an ASGI application (FastAPI, Starlette, ...) from a worker, as on Cloudflare.

    import asgi
    from workers import WorkerEntrypoint
    from app import app                      # a FastAPI() or Starlette() application

    class Default(WorkerEntrypoint):
        async def fetch(self, request):
            return await asgi.fetch(app, request, self.env)

As Cloudflare's `asgi` module does, each call runs the application's lifespan (startup before the
request, shutdown after the response), reads the whole request body before the application
starts, and puts `env` in the request's ASGI scope: `request.scope["env"]` in the application, or
`env = asgi.env` as a FastAPI dependency (`async def route(env=asgi.env)`). A response sent in
several parts (`StreamingResponse`, server-sent events) is streamed on as it comes.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.requests import Request as StarletteRequest
from starlette.responses import Response as StarletteResponse
from starlette.responses import StreamingResponse
from starlette.types import ASGIApp, Message, Scope

from host.runtime.http import Response

__all__ = ["fetch"]  # and `env`, made on first use (it needs FastAPI)

logger = logging.getLogger("waypost")

ASGI = {"version": "3.0", "spec_version": "2.3"}


async def fetch(
    app: ASGIApp, request: StarletteRequest, env: Any = None, ctx: Any = None
) -> StarletteResponse:
    """Serve `request` with the ASGI application `app`; returns its response. `env` reaches the
    application as `scope["env"]`; `ctx` is accepted as on Cloudflare (the host keeps a streamed
    response's application running until the stream ends)."""
    state: dict[str, Any] = {}
    shutdown = await _start(app, state)
    try:
        response, streaming = await _serve(app, request, env, state, shutdown)
    except BaseException:
        await shutdown()
        raise
    if not streaming:
        await shutdown()
    return response


async def _start(app: ASGIApp, state: dict[str, Any]) -> Callable[[], Awaitable[None]]:
    """Run the application's lifespan startup; returns the coroutine function that shuts it down.
    An application that does not speak the lifespan protocol is served without one."""
    loop = asyncio.get_running_loop()
    started: asyncio.Future[bool] = loop.create_future()
    stopping = asyncio.Event()
    asked = False

    async def receive() -> Message:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "lifespan.startup"}
        await stopping.wait()
        return {"type": "lifespan.shutdown"}

    async def send(message: Message) -> None:
        kind = message["type"]
        if kind == "lifespan.startup.complete" and not started.done():
            started.set_result(True)
        elif kind == "lifespan.startup.failed" and not started.done():
            started.set_exception(RuntimeError(f"ASGI lifespan startup failed: {message.get('message', '')}"))
        elif kind == "lifespan.shutdown.failed":
            logger.error("ASGI lifespan shutdown failed: %s", message.get("message", ""))

    async def run() -> None:
        try:
            await app({"type": "lifespan", "asgi": ASGI, "state": state}, receive, send)
        except Exception:
            if started.done():
                logger.exception("ASGI lifespan of %r failed", app)
        finally:
            if not started.done():
                started.set_result(False)  # no lifespan support: serve without it

    task = loop.create_task(run())
    supported = await started

    async def shutdown() -> None:
        if supported:
            stopping.set()
        await task

    return shutdown


def _scope(request: StarletteRequest, env: Any, state: dict[str, Any]) -> Scope:
    source = request.scope
    scope: Scope = {
        "type": "http",
        "asgi": ASGI,
        "http_version": source.get("http_version", "1.1"),
        "method": source["method"],
        "scheme": source.get("scheme", "http"),
        "path": source["path"],
        "query_string": source.get("query_string", b""),
        "root_path": "",
        "headers": list(source["headers"]),
        "client": source.get("client"),
        "server": source.get("server"),
        "env": env,
        "state": dict(state),
    }
    if source.get("raw_path") is not None:
        scope["raw_path"] = source["raw_path"]
    return scope


async def _serve(
    app: ASGIApp,
    request: StarletteRequest,
    env: Any,
    state: dict[str, Any],
    shutdown: Callable[[], Awaitable[None]],
) -> tuple[StarletteResponse, bool]:
    body = await request.body()
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[bytes | None] = loop.create_future()  # the whole body, or None: streamed
    chunks: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
    finished = asyncio.Event()
    head: list[Any] = []  # [status, raw headers] once http.response.start came
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            head[:] = [
                message["status"],
                [(bytes(k).lower(), bytes(v)) for k, v in message.get("headers", [])],
            ]
        elif kind == "http.response.body":
            data = bytes(message.get("body", b""))
            more = bool(message.get("more_body", False))
            if not ready.done():
                if not head:
                    raise RuntimeError("ASGI application sent a body before http.response.start")
                if not more:
                    ready.set_result(data)
                    return
                ready.set_result(None)
            if data:
                chunks.put_nowait(data)
            if not more:
                chunks.put_nowait(None)

    async def run() -> None:
        try:
            await app(_scope(request, env, state), receive, send)
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            else:
                chunks.put_nowait(exc)
            if not isinstance(exc, Exception):
                raise
        else:
            if not ready.done():
                if head:
                    ready.set_result(b"")
                else:
                    ready.set_exception(RuntimeError("the ASGI application returned without a response"))
            chunks.put_nowait(None)  # a stream the application left unfinished ends here
        finally:
            finished.set()

    task = loop.create_task(run())
    try:
        whole = await ready
    except BaseException:
        if not task.done():
            task.cancel()
        with contextlib.suppress(BaseException):
            await task
        raise
    status, raw = head
    if whole is not None:
        await task  # as on Cloudflare: the application (and its background tasks) finish first
        response = Response(whole, status_code=status)
        if not any(k == b"content-length" for k, _ in raw):
            raw = [*raw, (b"content-length", str(len(whole)).encode())]
        response.raw_headers = raw
        return response, False

    async def stream() -> AsyncIterator[bytes]:
        try:
            while True:
                item = await chunks.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            finished.set()
            if not task.done():
                task.cancel()
            with contextlib.suppress(BaseException):
                await task
            await shutdown()

    streamed = StreamingResponse(stream(), status_code=status)
    streamed.raw_headers = raw
    return streamed, True


def __getattr__(name: str) -> Any:
    """`asgi.env`: a FastAPI dependency giving the worker's env (`request.scope["env"]`)."""
    if name == "env":
        fastapi = importlib.import_module("fastapi")

        async def worker_env(request: Any) -> Any:
            return request.scope.get("env")

        worker_env.__annotations__["request"] = fastapi.Request
        return fastapi.Depends(worker_env)
    if name.startswith("__"):
        raise AttributeError(f"module 'asgi' has no attribute {name!r}")
    raise AttributeError(
        f"asgi.{name} is not in Waypost's asgi stand-in (it has fetch and env); "
        "see README.md, 'Writing a worker'"
    )
