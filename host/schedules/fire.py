"""What a tick does: call a worker's scheduled handler (once its tick is recorded) or create a
workflow's instance for it. Also the at-once calls of `serve --test-scheduled`."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
import anyio.to_thread

from host.errors import InstanceExists, WaypostError
from host.runtime.context import BackgroundWork, Context, current_worker
from host.runtime.registry import Registry
from host.schedules.crons import iso
from host.schedules.handler import ScheduledController, ScheduledHandler, call_scheduled, find_scheduled
from host.schedules.records import TickRecords
from host.schedules.ticks import Due, Schedule, instance_id
from host.workflows.service import WorkflowService

logger = logging.getLogger("waypost")

SleepUntil = Callable[[float], Awaitable[None]]
"""Waits until an epoch second (the runner's clock)."""


class Firing:
    """Fires ticks against the host's current workers (registry, envs) and workflows (service)."""

    def __init__(
        self,
        registry: Registry,
        envs: Callable[[], Mapping[str, Any]],
        background: BackgroundWork,
        service: WorkflowService,
        records: TickRecords,
    ) -> None:
        self.registry = registry
        self._envs = envs
        self.background = background
        self.service = service
        self.records = records

    def handler(self, worker: str) -> ScheduledHandler | None:
        loaded = self.registry.get(worker)
        return None if loaded is None else find_scheduled(loaded.module)

    async def fire(self, schedule: Schedule, due: Due, sleep_until: SleepUntil) -> None:
        """Fire `due`, which may lie up to CLAIM_LEAD ahead: `sleep_until` waits for it."""
        if schedule.kind == "worker":
            await self.worker_tick(schedule, due, sleep_until)
        else:
            await sleep_until(due.tick)
            await self.workflow_tick(schedule, due)

    async def worker_tick(self, schedule: Schedule, due: Due, sleep_until: SleepUntil) -> None:
        """Record the tick, then at the tick run the handler; a tick another host recorded is not
        fired. Shielded from shutdown: a recorded tick gets its handler, and shutdown waits for
        it as for wait_until work. The handler runs in this task, so that it starts the moment
        sleep_until returns, ahead of other work woken by the same second."""
        worker = schedule.target
        handler = self.handler(worker)
        if handler is None:
            why = "failed to load" if self.registry.get(worker) is None else "has no scheduled handler"
            logger.warning(
                "tick %s of %s not fired: worker %s %s", iso(due.tick), schedule.describe(), worker, why
            )
            return
        with anyio.CancelScope(shield=True):
            claimed = await anyio.to_thread.run_sync(self.records.claim, schedule, due.tick)
            if not claimed:
                logger.debug("tick %s of %s was fired by another host", iso(due.tick), schedule.describe())
                return
            await anyio.to_thread.run_sync(self.records.prune, schedule)
            await sleep_until(due.tick)
            await self.run_handler(worker, handler, ScheduledController(schedule.cron.text, due.scheduled_ms))

    async def run_handler(
        self, worker: str, handler: ScheduledHandler, controller: ScheduledController
    ) -> str | None:
        """Run the handler to its end; an exception is logged with an id (returned), never retried."""
        started = time.perf_counter()
        ctx = Context(self.background, worker)
        token = current_worker.set(worker)
        try:
            await call_scheduled(handler, controller, self._envs().get(worker), ctx)
        except Exception:
            error_id = secrets.token_hex(4)
            logger.exception(
                "error %s in worker %s scheduled handler (cron %r, tick %s); no retry, the next tick fires",
                error_id,
                worker,
                controller.cron,
                iso(controller.scheduled_time / 1000),
            )
            return error_id
        finally:
            current_worker.reset(token)
        ms = (time.perf_counter() - started) * 1000
        logger.info(
            "scheduled worker=%s cron=%r tick=%s ok %.1fms",
            worker,
            controller.cron,
            iso(controller.scheduled_time / 1000),
            ms,
        )
        return None

    async def workflow_tick(self, schedule: Schedule, due: Due) -> None:
        """Create the tick's instance; its id is the tick's, so a second host's create is refused."""
        iid = instance_id(schedule.cron, due.tick)
        stamp = {"cron": schedule.cron.text, "scheduledTime": due.scheduled_ms}
        try:
            await self.service.create(schedule.target, iid, {}, trigger="cron", schedule=stamp)
        except InstanceExists:
            logger.debug("tick %s of %s: instance %s exists already", iso(due.tick), schedule.describe(), iid)
        except (WaypostError, ValueError, OSError) as exc:
            logger.error(
                "tick %s of %s: cannot create instance %s: %s", iso(due.tick), schedule.describe(), iid, exc
            )
            return
        else:
            logger.info(
                "scheduled workflow=%s cron=%r tick=%s instance=%s",
                schedule.target,
                schedule.cron.text,
                iso(due.tick),
                iid,
            )
        await anyio.to_thread.run_sync(self.records.claim, schedule, due.tick)  # "last fired", for catch-up
        await anyio.to_thread.run_sync(self.records.prune, schedule)

    async def test_call(
        self, cron: str, scheduled_ms: int, worker: str | None
    ) -> list[tuple[str, str | None]]:
        """Call the scheduled handler of `worker` (or of every worker that has one) at once, with
        nothing recorded; (worker, error id or None) for each."""
        names = [worker] if worker is not None else sorted(self.registry.workers)
        results: list[tuple[str, str | None]] = []
        for name in names:
            handler = self.handler(name)
            if handler is not None:
                results.append(
                    (name, await self.run_handler(name, handler, ScheduledController(cron, scheduled_ms)))
                )
        return results
