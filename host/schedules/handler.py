"""Finding and calling a worker's scheduled handler: module-level `scheduled` or `on_scheduled`, or
`scheduled` on class Default (SPEC 2.1), with as many of (controller, env, ctx) as it takes."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

from host.runtime.entrypoint import WorkerEntrypoint
from host.runtime.loader import wanted

ScheduledHandler = Callable[[Any, Any, Any], Awaitable[Any] | Any]
"""handler(controller, env, ctx), whatever the user's function takes."""


class ScheduledController:
    """The first argument of a scheduled handler: `cron`, `scheduled_time` (epoch ms, also
    `scheduledTime`), `type` ("scheduled") and `no_retry()`."""

    type = "scheduled"

    def __init__(self, cron: str, scheduled_time: int) -> None:
        self.cron = cron
        self.scheduled_time = scheduled_time
        self.scheduledTime = scheduled_time
        self.retry = True

    def no_retry(self) -> None:
        """Accepted as on Cloudflare; Waypost never retries a scheduled handler anyway."""
        self.retry = False

    noRetry = no_retry

    def __repr__(self) -> str:
        return f"ScheduledController(cron={self.cron!r}, scheduled_time={self.scheduled_time})"


def find_scheduled(module: ModuleType) -> ScheduledHandler | None:
    """The module's scheduled handler, first of `scheduled`, `on_scheduled`, Default.scheduled."""
    for attr in ("scheduled", "on_scheduled"):
        fn = getattr(module, attr, None)
        if callable(fn) and not inspect.isclass(fn):
            return _positional(fn)
    default = getattr(module, "Default", None)
    if inspect.isclass(default) and callable(getattr(default, "scheduled", None)):
        return _method(default)
    return None


def _positional(fn: Callable[..., Any]) -> ScheduledHandler:
    count = wanted(fn)
    return lambda controller, env, ctx: fn(*(controller, env, ctx)[:count])


def _method(cls: type[Any]) -> ScheduledHandler:
    raw = inspect.getattr_static(cls, "scheduled", None)
    count = wanted(cls.scheduled, method=not isinstance(raw, staticmethod | classmethod))
    entrypoint = issubclass(cls, WorkerEntrypoint)

    def call(controller: Any, env: Any, ctx: Any) -> Any:
        if entrypoint:
            instance = cls(ctx, env)
        else:
            instance = cls()
            instance.ctx, instance.env = ctx, env
        return instance.scheduled(*(controller, env, ctx)[:count])

    return call


async def call_scheduled(
    handler: ScheduledHandler, controller: ScheduledController, env: Any, ctx: Any
) -> None:
    """Run the handler to its end (its result is ignored, as on Cloudflare)."""
    result = handler(controller, env, ctx)
    if inspect.isawaitable(result):
        await result
