"""ASGI layers around the admin API's router: the request log line, and a trailing slash that names the
same path (wrangler asks `GET .../instances/` for `latest`)."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_log = logging.getLogger("waypost.request")
# the worker requests' line (host.runtime.dispatch), with "(admin)" or "(dashboard)" where it names
# the worker: no worker can have those names
REQUEST_LINE = "%s %s worker=%s status=%d %.1fms%s"
ADMIN = "(admin)"
DASHBOARD = "(dashboard)"


class RequestLog:
    """One line in the request log per admin (or dashboard: `label`) request, as for a worker
    request: method, path, status, milliseconds. A request whose answer never started (the client
    went away) is logged as 499."""

    def __init__(self, app: ASGIApp, label: str = ADMIN, quiet: bytes | None = None) -> None:
        self.app, self.label = app, label
        self.quiet = quiet  # a request header that keeps a request out of the log (the dashboard's polls)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not request_log.isEnabledFor(logging.INFO)
            or (self.quiet is not None and any(name == self.quiet for name, _ in scope["headers"]))
        ):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 499

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            ms = (time.perf_counter() - started) * 1000
            request_log.info(REQUEST_LINE, scope["method"], scope["path"], self.label, status, ms, "")


class TrailingSlash:
    """`/a/b/` is routed as `/a/b` (one slash dropped; the mount's own root keeps its slash)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        root: str = scope.get("root_path", "")
        if scope["type"] == "http" and path.endswith("/") and len(path) > len(root) + 1:
            scope = dict(scope, path=path[:-1])
        await self.app(scope, receive, send)
