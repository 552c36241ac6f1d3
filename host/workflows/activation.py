"""One activation of one instance: replay its journal, run() it until it ends, waits or is stopped.

The activation holds a Lease (the instance's lock and journal) handed to it by the engine and
knows nothing of the engine: it reports in-memory waits to a Slots object (concurrency counting)
and returns an Outcome saying when the instance is due next. What happens inside run() (the
step API's host: journal, waits, inbox) is its LiveRun.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio

from host.errors import Evicted, NondeterminismError, StoreUnavailable, Suspend
from host.workflows.entries import replay_state
from host.workflows.entrypoint import WorkflowEvent, start
from host.workflows.ids import encode_json
from host.workflows.liverun import LiveRun, Slots
from host.workflows.modifiers import Modifiers
from host.workflows.rollback import roll_back_after_run
from host.workflows.status import FINAL, InstanceStatus
from host.workflows.step import WorkflowStep
from host.workflows.stepcall import describe_error
from host.workflows.store import Lease

log = logging.getLogger("waypost.workflows")
STORE_RETRY = 5.0  # seconds before running again an instance whose journal could not be written

__all__ = ["Activation", "Outcome", "Slots", "WorkflowDef"]


@dataclass(frozen=True)
class WorkflowDef:
    """A workflow the host can run: where its class comes from and the env it gets."""

    name: str
    load_class: Callable[[], type]
    env: Any
    steps_limit: int = 10_000
    concurrency_limit: int | None = None
    runnable: bool = True  # False while its worker's module fails to load: instances wait on disk
    modifiers: Modifiers | None = None  # a test's modifications (host.testing); None when served


@dataclass(frozen=True)
class Outcome:
    """How an activation ended: when the instance is due next (None: when something arrives)."""

    next_due: float | None
    queued: bool = False  # a controls-only activation: the instance still waits for a slot


class Activation:
    """Runs one instance once: `await Activation(...).run()` -> Outcome; the lease is released."""

    def __init__(
        self,
        lease: Lease,
        definition: WorkflowDef,
        hibernate_after: float,
        slots: Slots,
        controls_only: bool = False,
    ) -> None:
        self.lease, self.definition = lease, definition
        self.controls_only = controls_only
        if definition.modifiers is not None:
            hibernate_after = definition.modifiers.hibernate(hibernate_after)
        self.live = LiveRun(lease, definition.steps_limit, hibernate_after, slots)
        self._news = anyio.Event()  # set by notify(): something new in inbox/

    async def run(self) -> Outcome:
        outcome = Outcome(time.time())  # if cancelled (shutdown): due again at the next start
        try:
            if self.lease.damage is not None:
                error = {"name": "JournalDamaged", "message": self.lease.damage}
                await self.live.finish(InstanceStatus.ERRORED, error)
                outcome = Outcome(None)
            else:
                outcome = await self._run_locked()
        finally:
            await self.lease.release(outcome.next_due, self.live.seen)
        return outcome

    def notify(self) -> None:
        """Something new is in inbox/ (called by the engine while this activation runs)."""
        self._news.set()

    async def _run_locked(self) -> Outcome:
        live = self.live
        live.state = replay_state(self.lease.entries)
        if live.state.pending is not None:  # taken, and a crash came before its effect: do it now
            await live.carry_out(live.state.pending, replayed=True)
        if live.evict != "restart":  # (a restart goes first: its put-back events are kept)
            await live.drain()
        if live.evict == "restart":
            return Outcome(await self._restart())
        status = live.state.status
        if status in FINAL or status is InstanceStatus.PAUSED:
            self.lease.write_status(live.document())  # rebuilt, in case it was missing or old
            return Outcome(None)
        wake_at = live.state.wake_at
        if status is InstanceStatus.WAITING and wake_at is not None and wake_at > time.time():
            if live.events:
                self.lease.mark_due(time.time())  # it runs now: the index must not say later
            elif wake_at > time.time() + live.hibernate_after:
                return Outcome(wake_at)  # woken early with nothing for it
            else:
                live.resting = True  # loaded just ahead of its wake time: it replays up to its wait
        if self.controls_only:
            return Outcome(time.time(), queued=True)
        return Outcome(await self._execute())

    async def _execute(self) -> float | None:
        live = self.live
        try:
            run = start(self.definition.load_class(), self.definition.env)
        except Exception as exc:
            message = f"cannot load workflow class: {exc}"
            await live.finish(InstanceStatus.ERRORED, {"name": type(exc).__name__, "message": message})
            return None
        meta = self.lease.meta
        event = WorkflowEvent.build(
            meta.get("params"),
            meta.get("created_on_epoch", time.time()),
            self.lease.instance_id,
            self.lease.workflow,
            meta.get("schedule"),
        )
        rolling_back = live.state.rollback_open is not None or live.rollback_requested
        if rolling_back and live.state.status is not InstanceStatus.ROLLING_BACK:
            await live.set_status(InstanceStatus.ROLLING_BACK)  # replay leads back into the undos
        elif not live.resting and not rolling_back:
            await live.set_status(InstanceStatus.RUNNING)
        live.executing = True
        outcome: tuple[str, Any] = ("evicted", None)
        step = WorkflowStep(live, self.definition.modifiers)
        async with anyio.create_task_group() as watchers:
            watchers.start_soon(self._watch)
            with anyio.CancelScope() as live.scope:
                try:
                    outcome = ("complete", await run(event, step))
                except Suspend as signal:
                    outcome = ("suspend", signal.wake_at)
                except Evicted:
                    pass
                except StoreUnavailable as exc:
                    outcome = ("unavailable", exc.error)
                except NondeterminismError as exc:
                    outcome = ("error", exc)
                except BaseExceptionGroup as group:
                    outcome = _from_group(group)
                except Exception as exc:
                    outcome = ("error", exc)
            outcome = await self._roll_back(step, outcome)
            watchers.cancel_scope.cancel()
        live.executing = False
        return await self._conclude(*outcome)

    async def _roll_back(self, step: WorkflowStep, outcome: tuple[str, Any]) -> tuple[str, Any]:
        """The undos once run() ended: it raised (SPEC 3.9), or a terminate asked for them."""
        live, (kind, value) = self.live, outcome
        if live.evict == "terminate" and live.rollback_requested:
            cause, error = "terminate", None
        elif kind == "error" and isinstance(value, Exception) and step.saga.pending(live.state.undos):
            cause, error = "error", value
        else:
            return outcome
        live.undoing = True
        try:
            with anyio.CancelScope() as live.scope:
                stopped = await roll_back_after_run(step, cause, error)
                if stopped is not None:
                    return stopped
                return outcome if cause == "error" else ("rolled back", None)
        finally:
            live.undoing = False
        return outcome  # cancelled by a plain terminate or a restart

    async def _conclude(self, kind: str, value: Any) -> float | None:
        live = self.live
        if kind == "suspend" and live.evict == "terminate" and live.rollback_requested:
            pass  # an undo waits for its retry; the terminate goes on after it
        elif live.evict == "terminate":
            if live.state.rollback_open is not None:  # a plain terminate cut the undos short
                cut = {"name": "Terminated", "message": "terminated before the rollback finished"}
                await live.record({"type": "rollback_end", "outcome": "failed", "error": cut})
            await live.finish(InstanceStatus.TERMINATED)
            return None
        if live.evict == "restart":
            return await self._restart()
        if kind == "suspend":
            if live.pause_requested:
                await live.set_status(InstanceStatus.PAUSED, durable=True)
                return None
            # not flushed: the sleep or wait entry that led here already is, and this follows from it
            await live.set_status(InstanceStatus.WAITING, wake_at=value, waiting_for=live.suspended_for)
            return float(value) if value is not None else time.time()
        if kind == "error":
            await live.finish(InstanceStatus.ERRORED, describe_error(value))
            return None
        if kind == "evicted":  # nothing asked for it; run the instance again
            return time.time()
        if kind == "unavailable":  # the step that could not be recorded runs again then
            where = (self.lease.workflow, self.lease.instance_id)
            log.error("workflow %s instance %s: %s; trying again in %g s", *where, value, STORE_RETRY)
            return time.time() + STORE_RETRY
        try:
            output = encode_json(value, "run() output")
        except ValueError as exc:
            await live.finish(InstanceStatus.ERRORED, {"name": type(exc).__name__, "message": str(exc)})
            return None
        await live.finish(InstanceStatus.COMPLETE, output=json.loads(output))
        return None

    async def _restart(self) -> float:
        live = self.live
        if live.restart_from is None:
            entries = [self.lease.reset(live.restart_request)]
        else:
            found = self.lease.restart_from(live.restart_from, live.restart_request)
            if found is None:  # gone since it was asked for (a restart before it): nothing changes
                where = (self.lease.workflow, self.lease.instance_id, live.restart_from)
                log.warning("workflow %s instance %s: no step %r to restart from; not restarted", *where)
                return time.time()
            entries = found
        live.state, live.events = replay_state(entries), []
        await live.flush()
        self.lease.write_status(live.document())
        return time.time()

    async def _watch(self) -> None:
        while True:
            await self._news.wait()
            self._news = anyio.Event()
            try:
                await self.live.drain()
            except StoreUnavailable as exc:  # the request stays in inbox/ for the next activation
                log.error(
                    "workflow %s instance %s: %s", self.lease.workflow, self.lease.instance_id, exc.error
                )


def _from_group(group: BaseExceptionGroup[BaseException]) -> tuple[str, Any]:
    """Pick the outcome from concurrent steps: an engine signal first, else the first error."""
    flat: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                walk(inner)
        else:
            flat.append(exc)

    walk(group)
    for exc in flat:
        if isinstance(exc, Suspend):
            return "suspend", exc.wake_at
    for exc in flat:
        if isinstance(exc, Evicted):
            return "evicted", None
    for exc in flat:
        if isinstance(exc, Exception | NondeterminismError):
            return "error", exc
    raise group
