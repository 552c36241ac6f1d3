"""How the admin API answers failures: every exception, and Starlette's own 404 and 405, as the error
envelope of host.admin.envelope."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, ExceptionHandler, Message, Receive, Scope, Send

from host.admin.body import TOO_DEEP
from host.admin.envelope import ApiError, failure, from_exception
from host.admin.gate import Gate, no_route, shown_path
from host.errors import WaypostError

log = logging.getLogger("waypost.admin")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
INTERNAL = ApiError("internal", "internal error; see the host log")


def exception_handlers(gate: Gate, routes: Sequence[BaseRoute]) -> dict[Any, ExceptionHandler]:
    """Starlette `exception_handlers` for the admin app: ApiError, Waypost's errors, ValueError, a full
    disk (507), RecursionError, and the router's 404 and 405 (after `gate` admits the request, so an
    unauthenticated caller learns nothing of the paths). Exceptions of other types are InternalErrors'."""

    async def routing(request: Request, exc: Exception) -> Response:
        return _routing_failure(request, exc, gate, routes)

    return {
        HTTPException: routing,
        ApiError: _mapped,
        WaypostError: _mapped,
        ValueError: _mapped,
        OSError: _mapped,
        RecursionError: _too_deep,
    }


async def _mapped(request: Request, exc: Exception) -> Response:
    error = from_exception(exc)
    if error.type == "internal":
        _log(request, exc)
    return failure(error)


async def _too_deep(request: Request, exc: Exception) -> Response:
    """A body nested too deeply for some step past host.admin.body's check is still the body's fault."""
    if request.method in BODY_METHODS:
        return failure(ApiError("request.invalid", TOO_DEEP))
    _log(request, exc)
    return failure(INTERNAL)


def _routing_failure(request: Request, exc: Exception, gate: Gate, routes: Sequence[BaseRoute]) -> Response:
    try:
        gate.check(request)
    except ApiError as refused:
        return failure(refused)
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 405:
        allowed = ", ".join(allowed_methods(request.scope, routes))
        message = f"{request.method} is not allowed on {shown_path(request)} (allowed: {allowed})"
        return failure(ApiError("method.not_allowed", message), headers={"Allow": allowed})
    if status == 404:
        return failure(no_route(request))
    if status < 500:
        return failure(ApiError("request.invalid", str(getattr(exc, "detail", exc))))
    _log(request, exc)
    return failure(INTERNAL)


def allowed_methods(scope: Scope, routes: Sequence[BaseRoute]) -> list[str]:
    """Every method some route takes on the scope's path (Starlette's 405 names one route's only)."""
    methods: set[str] = set()
    for route in routes:
        if isinstance(route, Route) and route.methods and route.matches(scope)[0] is not Match.NONE:
            methods |= route.methods
    return sorted(methods)


def _log(request: Request, exc: BaseException) -> None:
    log.error("admin API: %s %s failed", request.method, shown_path(request), exc_info=exc)


class InternalErrors:
    """ASGI middleware: an exception no handler took becomes the 500 `internal` envelope, logged once
    with its traceback.

    Not an `Exception` entry of exception_handlers: Starlette gives that one to ServerErrorMiddleware,
    which raises the exception again after answering, so uvicorn logs it a second time and drops the
    connection.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            if started:  # too late for an answer: the server logs it and closes the connection
                raise
            _log(Request(scope), exc)
            await failure(INTERNAL)(scope, receive, send)
