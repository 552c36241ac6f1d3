"""`serve --test-scheduled`: Cloudflare's test routes, /cdn-cgi/handler/scheduled?cron=... and
/__scheduled?cron=..., which call the scheduled handler at once (nothing is recorded)."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

PATHS = ("/cdn-cgi/handler/scheduled", "/__scheduled")


async def _scheduled(request: Request) -> Response:
    runner = request.app.state.host.schedules
    cron = request.query_params.get("cron", "")
    worker = request.query_params.get("worker") or None
    raw_time = request.query_params.get("time")
    if raw_time is not None and not raw_time.isdigit():
        return PlainTextResponse("Bad Request: time must be epoch milliseconds\n", status_code=400)
    scheduled_ms = int(raw_time) if raw_time is not None else int(time.time() * 1000)
    if worker is not None and runner.firing.registry.get(worker) is None:
        return PlainTextResponse(f"Not Found: no worker {worker!r} is loaded\n", status_code=404)
    results = await runner.firing.test_call(cron, scheduled_ms, worker)
    if not results:
        return PlainTextResponse("Not Found: no worker has a scheduled handler\n", status_code=404)
    failed = [(name, error_id) for name, error_id in results if error_id is not None]
    if failed:
        text = ", ".join(f"worker {name} (error id: {error_id})" for name, error_id in failed)
        return PlainTextResponse(
            f"Internal Server Error: scheduled handler failed: {text}\n", status_code=500
        )
    return PlainTextResponse("Ran scheduled event\n")


def scheduled_test_routes() -> list[BaseRoute]:
    """The routes serve adds before worker dispatch when --test-scheduled is given."""
    return [Route(path, _scheduled, methods=["GET", "POST"]) for path in PATHS]
