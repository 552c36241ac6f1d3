"""`ctx` for handlers: `ctx.wait_until(awaitable)` work that outlives the response but not the host."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from types import TracebackType
from typing import Any

import anyio
from anyio.abc import TaskGroup

logger = logging.getLogger("waypost")

current_worker: ContextVar[str] = ContextVar("waypost_current_worker", default="-")
"""The worker whose handler is running (console.log lines name it); set by the dispatcher."""


class BackgroundWork:
    """The task group that runs every wait_until awaitable; leaving it waits for all of them."""

    def __init__(self) -> None:
        self._group: TaskGroup | None = None
        self.pending = 0

    async def __aenter__(self) -> BackgroundWork:
        self._group = anyio.create_task_group()
        await self._group.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        assert self._group is not None
        if self.pending:
            logger.info("waiting for %d wait_until task(s) to finish", self.pending)
        try:
            return await self._group.__aexit__(exc_type, exc, tb)
        finally:
            self._group = None

    def start_service(self, fn: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run a host task (the reloader) until it returns or is cancelled."""
        if self._group is None:
            raise RuntimeError("the host is not running")
        self._group.start_soon(fn)

    def spawn(self, awaitable: Awaitable[Any], label: str) -> None:
        """Start `awaitable` now; its failure is logged, never raised."""
        if self._group is None:
            raise RuntimeError("wait_until called while the host is not running")
        self.pending += 1
        self._group.start_soon(self._run, awaitable, label)

    async def _run(self, awaitable: Awaitable[Any], label: str) -> None:
        try:
            await awaitable
        except Exception:
            logger.exception("wait_until task of worker %s failed", label)
        finally:
            self.pending -= 1


class Context:
    """The third handler argument (and `self.ctx` in the class form)."""

    def __init__(self, background: BackgroundWork, worker: str) -> None:
        self._background = background
        self._worker = worker
        self.props: dict[str, object] = {}  # Cloudflare's ctx.props; nothing sets any here

    def wait_until(self, awaitable: Awaitable[Any]) -> None:
        """Run `awaitable` after (or alongside) the response; the host waits for it on shutdown."""
        if not inspect.isawaitable(awaitable):
            raise TypeError(f"ctx.wait_until expects an awaitable, got {type(awaitable).__name__}")
        self._background.spawn(awaitable, self._worker)

    waitUntil = wait_until  # JavaScript's name, which Cloudflare's Python examples use too

    def pass_through_on_exception(self) -> None:
        """Accepted for Cloudflare compatibility; there is no origin to fall back to here."""

    passThroughOnException = pass_through_on_exception
