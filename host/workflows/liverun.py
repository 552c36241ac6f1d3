"""The live side of a run: the StepHost that journals each step of an activation for real.

It holds the instance's replay state and its lease while the activation runs: status changes
(journal line, then status.json), durable records, waits in memory or hibernation, and the
inbox (control requests taken in arrival order, events buffered for the waits).
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import anyio

from host.errors import Evicted, LimitExceeded, StoreUnavailable, Suspend
from host.workflows.entries import ReplayState, StepRecord
from host.workflows.status import InstanceStatus, decide, from_step_key, status_document
from host.workflows.store import InboxItem, Lease

SLOT_STATUSES = frozenset({InstanceStatus.RUNNING, InstanceStatus.WAITING_FOR_PAUSE})  # SPEC 3.8


class Slots(Protocol):
    """The engine side of an activation: only instances `running` or `waitingForPause` (and not
    waiting in memory) use a slot of their workflow's concurrency limit."""

    def waiting(self, workflow: str, instance_id: str, waiting: bool) -> None: ...


class LiveRun:
    """The StepHost of a real run of one instance (see host.workflows.step)."""

    def __init__(self, lease: Lease, steps_limit: int, hibernate_after: float, slots: Slots) -> None:
        self.lease, self.slots = lease, slots
        self.steps_limit = steps_limit
        self.hibernate_after = hibernate_after
        self.state = ReplayState()
        self.steps_in_flight = 0
        self.pause_requested = False
        self.evict: str | None = None  # "terminate" or "restart": the run must stop
        self.rollback_requested = False  # the terminate asked for the undos to run first
        self.undoing = False  # undo handlers run now (SPEC 3.9)
        self.restart_from: tuple[str, str, int] | None = None  # the restart's step (kind, name, count)
        self.restart_request: str | None = None  # the inbox name of the restart carried out
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.seen: set[str] = set()  # inbox names looked at
        self.executing = False  # run() is in progress
        self.scope: anyio.CancelScope | None = None  # cancels run() on terminate or restart
        self.suspended_for = "sleep"
        self.resting = False  # the journal says waiting, and replay has not gone past that wait yet
        self._changed = anyio.Event()  # set when a drain took something a wait should look at
        self._new_event = False

    # -- status ------------------------------------------------------------------------------------

    def document(self) -> dict[str, Any]:
        return status_document(self.lease.meta, self.state)

    async def set_status(self, status: InstanceStatus, durable: bool = False, **fields: Any) -> None:
        """Journal a status change and queue status.json; `durable`: flushed before status.json."""
        entry: dict[str, Any] = {"type": "status", "status": status.value, "t": time.time(), **fields}
        if durable:
            self._append(entry)
            await self.flush()
        else:
            self.write(entry)  # with the next line: a status that lasts a moment costs no write
        self.state.apply(entry)
        self.lease.write_status(self.document())
        self._use_slot()

    def _use_slot(self) -> None:
        """Tell the slots whether the status now counts against the concurrency limit (SPEC 3.8)."""
        uses = self.state.status in SLOT_STATUSES
        self.slots.waiting(self.lease.workflow, self.lease.instance_id, not uses)

    async def finish(
        self, status: InstanceStatus, error: dict[str, str] | None = None, output: Any = None
    ) -> None:
        """A final status, durable before status.json or anyone else shows it."""
        fields: dict[str, Any] = {"error": error} if error is not None else {}
        if status is InstanceStatus.COMPLETE:
            fields["output"] = output
        await self.set_status(status, durable=True, **fields)

    # -- the StepHost protocol ------------------------------------------------------------------------

    def asked(self, kind: str, name: str, count: int, record: StepRecord | None) -> None:
        pass

    def begin_step(self) -> None:
        limit = self.steps_limit
        if self.state.step_count >= limit:
            raise LimitExceeded(
                f"instance {self.lease.instance_id!r} reached the limit of {limit} steps "
                "per instance (limits.steps)"
            )

    def checkpoint(self) -> None:
        if self.evict and not self.undoes_first():
            raise Evicted()
        if self.pause_requested and not self.undoing:
            raise Suspend(None)

    def undoes_first(self) -> bool:
        """A terminate(rollback=True) lets the undos that run now go on."""
        return self.undoing and self.rollback_requested and self.evict == "terminate"

    async def rolling_back(self, active: bool) -> None:
        self.undoing = active
        status = InstanceStatus.ROLLING_BACK if active else InstanceStatus.RUNNING
        if self.state.status is not status:
            await self.set_status(status)
        else:
            self._use_slot()  # replayed into a rollback the journal already shows

    def write(self, entry: dict[str, Any], raw: dict[str, str] | None = None) -> None:
        if self.resting:
            self._append(entry, raw)  # the running status goes first
        else:
            self.lease.hold(entry, raw)  # written with the next line, or within HOLD on its own

    async def record(self, entry: dict[str, Any], raw: dict[str, str] | None = None) -> None:
        self._append(entry, raw)
        await self.flush()
        self.state.apply(entry)

    def _append(self, entry: dict[str, Any], raw: dict[str, str] | None = None) -> None:
        """Journal `entry`; a store that fails stops the activation (StoreUnavailable unwinds run()
        past user code, which never sees it)."""
        try:
            if self.resting and entry["type"] != "status":
                self.resting = False  # something new happens before the wait: it runs now
                running = {"type": "status", "status": "running", "t": time.time()}
                self.lease.append(running)
                self.state.apply(running)
            self.lease.append(entry, raw)
        except OSError as exc:
            raise StoreUnavailable(exc) from None

    async def flush(self) -> None:
        try:
            await self.lease.flush()
        except OSError as exc:
            raise StoreUnavailable(exc) from None

    async def wait_until(self, when: float, reason: str, new: bool = False) -> None:
        remaining = when - time.time()
        # below zero (hibernate_every_wait), a new wait unloads even if it is due already
        if remaining > max(self.hibernate_after, 0.0) or (new and self.hibernate_after < 0):
            self.suspended_for = reason
            raise Suspend(when)
        if remaining <= 0:
            return
        await self._wait(when, False, reason)

    async def wait_for_inbox(self, timeout_at: float, linger_until: float, waiting_for: str) -> None:
        now = time.time()
        if now >= linger_until and (timeout_at > now or self.hibernate_after < 0):
            self.suspended_for = waiting_for
            raise Suspend(timeout_at)
        # past linger_until (and before the timeout) the caller hibernates: no running in between
        await self._wait(
            min(timeout_at, linger_until), True, waiting_for, timeout_at, timeout_at <= linger_until
        )

    async def _wait(
        self,
        deadline: float,
        for_news: bool,
        waiting_for: str,
        wake_at: float | None = None,
        goes_on: bool = True,
    ) -> None:
        """Wait in memory until `deadline` (or news, `for_news`); status waiting until `wake_at`
        (the deadline by default). `goes_on`: the run goes on at the deadline (else it hibernates
        then, and stays waiting)."""
        self.slots.waiting(self.lease.workflow, self.lease.instance_id, True)
        news = False
        try:
            if not self.resting:  # a replay that reached its wait early: the journal says so already
                until = deadline if wake_at is None else wake_at
                await self.set_status(InstanceStatus.WAITING, wake_at=until, waiting_for=waiting_for)
            while True:
                self.checkpoint()
                if for_news and self._new_event:
                    news = True
                    break
                remaining = deadline - time.time()
                if remaining <= 0:
                    break
                with anyio.move_on_after(remaining):
                    await self._changed.wait()
                self._changed = anyio.Event()
        finally:
            self._use_slot()  # waiting still: no slot until the status says running again
        self._new_event = False
        if news or goes_on:
            self.resting = False
            await self.set_status(InstanceStatus.RUNNING)

    def take_event(self, event_type: str) -> tuple[str, dict[str, Any]] | None:
        for index, (name, event) in enumerate(self.events):
            if event["type"] == event_type:
                del self.events[index]
                return name, event
        return None

    def event_taken(self, name: str) -> None:
        self.lease.inbox_done(name)

    # -- inbox -------------------------------------------------------------------------------------

    async def drain(self) -> None:
        """Take new control requests (in arrival order) and buffer new events."""
        for item in self.lease.inbox():
            if item.name in self.seen:
                continue
            self.seen.add(item.name)
            delivered = self.state.delivered
            if item.name in delivered or item.body.get("restored_from") in delivered:
                self.lease.inbox_done(item.name)  # (restored_from: put back by a restart cut short)
            elif item.kind == "event":
                self._buffer(item)
            else:
                await self._control(item.body, item.name)
                self.lease.inbox_done(item.name)
        self._changed.set()

    def _undoable(self) -> bool:
        """Whether a step.do completed (one that never did has nothing to undo: a plain terminate)."""
        return any(r.kind == "do" and r.done and r.error is None for r in self.state.steps.values())

    def _buffer(self, item: InboxItem) -> None:
        body = item.body
        event = {"type": body.get("type"), "payload": body.get("payload"), "timestamp": body.get("timestamp")}
        self.events.append((item.name, event))
        self._new_event = True

    async def _control(self, body: dict[str, Any], name: str) -> None:
        action, source = str(body.get("action")), str(body.get("source", "api"))
        entry: dict[str, Any] = {"type": "control", "action": action, "source": source, "inbox": name}
        if action == "terminate" and body.get("rollback") is True and self._undoable():
            entry["rollback"] = True
        from_step = body.get("from_step") if action == "restart" else None
        if isinstance(from_step, dict):
            entry["from_step"] = from_step
        await self.record(entry)  # durable first: a crash before its effect leaves it pending
        await self.carry_out(entry)

    async def carry_out(self, entry: dict[str, Any], replayed: bool = False) -> None:
        """Do what a control entry asks: one taken now, or (`replayed`) one the journal says was
        taken and not carried out (a crash cut it short: the journal's last word wins, SPEC 4.3)."""
        action, rollback = entry["action"], bool(entry.get("rollback"))
        from_step = entry.get("from_step")
        step = from_step_key(from_step) if isinstance(from_step, dict) else None
        if replayed and step is not None and step not in self.state.order:
            return  # pending since a restart that found no such step: it never will
        change = decide(action, self.state.status, self.executing, self.steps_in_flight, rollback)
        if change.evict:
            self.evict = change.evict
        if change.evict == "terminate":
            self.rollback_requested = rollback  # a plain terminate cuts short a rollback asked before
        if change.evict == "restart":
            self.restart_from, self.restart_request = step, entry.get("inbox")
        if change.status is InstanceStatus.TERMINATED and self.state.rollback_open is not None:
            cut = {"name": "Terminated", "message": "terminated before the rollback finished"}
            await self.record({"type": "rollback_end", "outcome": "failed", "error": cut})
        if change.status is not None and change.status is not self.state.status:
            await self.set_status(change.status, durable=change.durable)
        if change.pause:
            self.pause_requested = True
        if self.evict and self.scope is not None and not self.undoes_first():
            self.scope.cancel()
