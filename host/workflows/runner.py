"""One activation of one instance: take its lock, read its journal, run() it until it ends or sleeps.

The activation is the only code that writes an instance's journal and status.json, and only while
it holds the instance lock, so two processes never run one instance at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio

from host.errors import Evicted, InstanceNotFound, LimitExceeded, NondeterminismError, Suspend
from host.workflows.entrypoint import WorkflowEntrypoint, WorkflowEvent
from host.workflows.files import InstanceDir, JournalWriter
from host.workflows.ids import encode_json
from host.workflows.journal import JournalDamaged, ReplayState, instance_of, replay_state
from host.workflows.lock import HeldLock
from host.workflows.status import FINAL, InstanceStatus
from host.workflows.step import WorkflowStep, describe_error

if TYPE_CHECKING:
    from host.workflows.engine import Engine, WorkflowDef

log = logging.getLogger("waypost.workflows")
FINAL_VALUES = frozenset(status.value for status in FINAL)

HELD_ELSEWHERE = -1.0  # run() result: another process holds the lock
STATUS_WRITE_DELAY = 0.25  # seconds a running/waiting state holds before status.json shows it
MAX_STATUS_WRITE_DELAY = 5.0  # ... at most, with many instances loaded (see engine.status_delay)
STILL_QUEUED = -2.0  # run() result of a controls-only activation: the instance waits for a slot


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC).isoformat().replace("+00:00", "Z")


def _let_go(lock: HeldLock, journal_fd: int | None) -> None:
    """Undo a failed open: close the journal if it was opened apart from the lock, then unlock."""
    try:
        if journal_fd is not None:
            os.close(journal_fd)
    finally:
        lock.release()


def status_document(meta: dict[str, Any], state: ReplayState, **extra: Any) -> dict[str, Any]:
    """The status.json summary of an instance in `state`."""
    doc = {
        "id": meta["id"],
        "workflow": meta["workflow"],
        "status": state.status.value,
        "output": state.output,
        "error": state.error,
        "step_count": state.step_count,
        "created_on": meta.get("created_on"),
        "created_on_epoch": meta.get("created_on_epoch"),
        "start_time": iso(state.started_at),
        "end_time": iso(state.ended_at),
        "modified_on": iso(time.time()),
        "wake_at": state.wake_at,
        "waiting_for": state.waiting_for,
    }
    doc.update(extra)
    return doc


class Activation:
    """Runs one instance once; returns when it is finished, paused, or asleep on disk."""

    def __init__(
        self,
        engine: Engine,
        definition: WorkflowDef,
        folder: InstanceDir,
        controls_only: bool = False,
        lead: float | None = None,
    ) -> None:
        """`lead`: the engine loaded it up to that long before its wake time (hibernate_after by
        default); a sleeper loaded ahead waits that long in memory instead of hibernating again."""
        self.engine = engine
        self.controls_only = controls_only
        self.definition = definition
        self.folder = folder
        self._key = (folder.workflow, folder.instance_id)
        self._lead = max(lead or 0.0, engine.hibernate_after)
        self.state = ReplayState()
        self.steps_in_flight = 0
        self.pause_requested = False
        self.evict: str | None = None
        self._signal = asyncio.Event()  # set by a wait's deadline, or with _poked by news
        self._poked = False
        self._events: list[tuple[str, dict[str, Any]]] = []
        self._seen: set[str] = set()
        self._executing = False
        self._scope: anyio.CancelScope | None = None
        self.meta: dict[str, Any] = {}
        self.journal: JournalWriter
        self._lock: HeldLock
        self._damage: JournalDamaged | None = None
        self._status_lock = asyncio.Lock()
        self._suspended_for = "sleep"
        self._status_version = 0
        self._final: tuple[dict[str, Any], dict[str, Any]] | None = None
        self._inbox_at_open: list[str] = []
        self._opened = False
        self._running_pending = False  # loaded ahead of its wake time: "running" once it wakes
        self._final_durable = False
        self._closed = False
        self.closing_started = False  # the engine's shutdown does not cancel an activation past this

    # -- entry point -------------------------------------------------------------------------------

    async def run(self) -> float | None:
        """Return when to look at this instance next (epoch seconds), None for never, or HELD_ELSEWHERE."""
        opened = self._open()
        if opened is not True:
            return opened
        result: float | None = None
        finished = False
        try:
            if self._damage is not None:
                error = {"name": "JournalDamaged", "message": str(self._damage)}
                await self._finish(InstanceStatus.ERRORED, error=error)
            else:
                result = await self._run_locked()
            finished = True
        finally:
            self.closing_started = True  # the lock is always released, even on shutdown
            update = self.engine.index_after(self, result) if finished else None
            async with self._status_lock:  # after any deferred status.json write in flight
                await self._close(update, self._final if finished else None)
        return result

    def _open(self) -> bool | float | None:
        """Take the lock and read the instance.

        On the event loop: a lock and two small reads cost less than handing them to a thread,
        and a thread doing many system calls waits for the GIL after each one while the loop is busy.
        """
        try:
            lock = self.folder.try_lock()
        except InstanceNotFound:
            return None
        if lock is None:
            return HELD_ELSEWHERE
        journal_fd, owned = lock.fileno(), False
        try:
            journal_fd, owned, entries = self.folder.open_journal(lock)
            # instance.json's content is in the journal's first line (three system calls and a
            # parse fewer per load); journals written before that have only instance.json
            self.meta = instance_of(entries) or self.folder.read_meta()
        except InstanceNotFound:
            _let_go(lock, journal_fd if owned else None)
            return None
        except JournalDamaged as exc:
            self.meta = self._meta_despite_damage()
            self._damage, entries = exc, []
        except BaseException:  # unreadable instance.json, EMFILE...: the next try must find it unlocked
            _let_go(lock, journal_fd if owned else None)
            raise
        self.state = replay_state(entries)
        self.journal = JournalWriter(
            self.folder.journal_path,
            self.engine.durable,
            self.engine.syncer,
            fd=journal_fd,
            owned=owned,
            held_later=self.engine.held_later,
        )
        self._inbox_at_open = self.folder.inbox_names()
        self._lock = lock
        self._opened = True
        return True

    def _meta_despite_damage(self) -> dict[str, Any]:
        try:
            return self.folder.read_meta()
        except (InstanceNotFound, ValueError, OSError):
            return {"id": self.folder.instance_id, "workflow": self.folder.workflow}

    async def _close(
        self, update_index: Callable[[], None] | None, final: tuple[dict[str, Any], dict[str, Any]] | None
    ) -> None:
        """Record the final status durably; the janitor then writes status.json, closes the journal,
        moves the index entry (still under the lock) and unlocks, in that order."""
        persisted = False
        try:
            if final is not None:
                await self._persist_status(*final, durable=True)
            persisted = True
        finally:
            self._closed = True
            journal, lock = self.journal, self._lock

            def release() -> None:
                try:
                    journal.close()
                    if persisted and update_index is not None:
                        update_index()
                finally:
                    lock.release()

            self.engine.closing(self, release)

    async def _run_locked(self) -> float | None:
        await self.drain_inbox(self._inbox_at_open)
        status = self.state.status
        if self.evict == "restart":
            return await self._restart()
        if status in FINAL or status is InstanceStatus.PAUSED:
            if self._status_on_disk() != status.value:
                self._queue_status(status_document(self.meta, self.state))
            return None
        wake_at = self.state.wake_at
        # loaded up to its lead ahead of its wake time (the engine prefetches), so that the
        # replay is done by then; further ahead, with nothing new arrived, it stays asleep
        ahead = wake_at is not None and wake_at > time.time() + self._lead
        if status is InstanceStatus.WAITING and ahead and not self._events:
            return wake_at
        if self.controls_only:
            return STILL_QUEUED
        return await self._execute()

    async def _execute(self) -> float | None:
        try:
            cls = self.definition.load_class()
            if not (isinstance(cls, type) and (issubclass(cls, WorkflowEntrypoint) or hasattr(cls, "run"))):
                raise TypeError(f"{cls!r} is not a WorkflowEntrypoint class")
            factory: Any = cls  # a user class: its __init__ takes (ctx, env) as Cloudflare's does
            workflow: WorkflowEntrypoint = factory(None, self.definition.env)
        except Exception as exc:
            log.error("workflow %s: cannot load its class: %s", self.definition.name, exc)
            return await self._finish(
                InstanceStatus.ERRORED,
                error={"name": type(exc).__name__, "message": f"cannot load workflow class: {exc}"},
            )
        event = WorkflowEvent.build(
            self.meta.get("params"),
            self.meta.get("created_on_epoch", time.time()),
            self.folder.instance_id,
            self.folder.workflow,
        )
        wake_at = self.state.wake_at
        if self.state.status is InstanceStatus.WAITING and wake_at and wake_at > time.time():
            self._running_pending = True  # replaying up to its wait writes nothing
        else:
            self._note_status(InstanceStatus.RUNNING)
        self._executing = True
        outcome: tuple[str, Any] = ("evicted", None)
        with anyio.CancelScope() as self._scope:
            try:
                output = await workflow.run(event, WorkflowStep(self))
                outcome = ("complete", output)
            except Suspend as signal:
                outcome = ("suspend", signal.wake_at)
            except Evicted:
                pass
            except NondeterminismError as exc:
                outcome = ("error", exc)
            except BaseExceptionGroup as group:
                outcome = _from_group(group)
            except Exception as exc:
                outcome = ("error", exc)
        self._executing = False
        kind, value = outcome
        if self.evict == "terminate":
            return await self._finish(InstanceStatus.TERMINATED)
        if self.evict == "restart":
            return await self._restart()
        if kind == "suspend":
            if self.pause_requested:
                await self._set_status(InstanceStatus.PAUSED, durable=True)
                return None
            self.state.wake_at = value
            reason = self._suspended_for
            # not fsynced: the sleep or wait entry that led here already is, and this follows from it
            await self._set_status(InstanceStatus.WAITING, wake_at=value, waiting_for=reason)
            return value if value is not None else time.time()
        if kind == "error":
            return await self._finish(InstanceStatus.ERRORED, error=describe_error(value))
        if kind == "evicted":  # nothing asked for it; run the instance again
            return time.time()
        try:
            output = json.loads(encode_json(value, "run() output"))
        except ValueError as exc:
            return await self._finish(
                InstanceStatus.ERRORED, error={"name": type(exc).__name__, "message": str(exc)}
            )
        return await self._finish(InstanceStatus.COMPLETE, output=output)

    @property
    def hibernate_after(self) -> float:
        """How long a wait may last in memory: up to the lead for a sleeper loaded ahead of time,
        until it journals anything new."""
        return self._lead if self._running_pending else self.engine.hibernate_after

    # -- status ------------------------------------------------------------------------------------

    async def _set_status(self, status: InstanceStatus, durable: bool = False, **fields: Any) -> None:
        """Journal a status change and rewrite status.json at once (see _note_status for later)."""
        self._running_pending = False
        entry: dict[str, Any] = {"type": "status", "status": status.value, "t": time.time(), **fields}
        self.state.apply(entry)
        self._status_version += 1
        document = status_document(self.meta, self.state)
        async with self._status_lock:  # status.json writes land in the order they were made
            await self._persist_status(entry, document, durable)

    def _note_status(self, status: InstanceStatus, **fields: Any) -> None:
        """Journal a status change (with the next line, at most START_WRITE_DELAY later: one
        write instead of two); status.json follows after STATUS_WRITE_DELAY if it still holds."""
        self._running_pending = False
        entry: dict[str, Any] = {"type": "status", "status": status.value, "t": time.time(), **fields}
        self.state.apply(entry)
        self._status_version += 1
        self.journal.hold(entry)
        self.engine.status_later().call(self._write_status_if_current, self._status_version)

    def _wake(self) -> None:
        """Before journalling anything new: a prefetched instance is running from here on."""
        if self._running_pending:
            self._note_status(InstanceStatus.RUNNING)

    def _write_status_if_current(self, version: int) -> None:
        # Most activations go running -> waiting or complete within milliseconds; rewriting
        # status.json for a state that lasts that long only costs a file replace each time.
        # A newer status (its own write is under way or done) or a closed activation skips it.
        # With many instances loaded the state must last longer (engine.status_later), and
        # none is written while sleepers are due: the rewrites would compete with their steps.
        if version != self._status_version or self._closed:
            return
        if self.engine.wakes.overdue():
            self.engine.status_later().call(self._write_status_if_current, version)
            return
        self._queue_status(status_document(self.meta, self.state))

    def _queue_status(self, document: dict[str, Any]) -> None:
        janitor = self.engine.janitor
        janitor.submit(self.folder.status_writer(document, janitor.later), inline=self.engine.quiet())

    async def _persist_status(self, entry: dict[str, Any], document: dict[str, Any], durable: bool) -> None:
        self.journal.write(entry)
        final = entry["status"] in FINAL_VALUES
        if durable and self.engine.durable:
            await self.journal.flush(last=final)
        self._final_durable = final
        self._queue_status(document)

    async def _finish(self, status: InstanceStatus, **fields: Any) -> float | None:
        """End the activation in a final status; _close records it durably before unlocking."""
        entry: dict[str, Any] = {"type": "status", "status": status.value, "t": time.time(), **fields}
        self.state.apply(entry)
        self._status_version += 1  # a pending deferred write must not overwrite this one
        self._final = (entry, status_document(self.meta, self.state))
        return None

    def visible_status(self, brief: bool = False) -> dict[str, Any] | None:
        """The status as this activation knows it, fresher than status.json (whose writes may be
        deferred); None when status.json should answer: before the journal is read, and while a
        final status is not yet on disk (a finished instance is never reported before it is).
        `brief`: only status, output and error (what a binding's status() returns; polled often)."""
        if not self._opened or (self.state.status in FINAL and not self._final_durable):
            return None
        if brief:
            return {"status": self.state.status.value, "output": self.state.output, "error": self.state.error}
        return status_document(self.meta, self.state)

    def _status_on_disk(self) -> str | None:
        try:
            return str(self.folder.read_status().get("status"))
        except (InstanceNotFound, ValueError):
            return None

    async def _restart(self) -> float:
        self.journal.write_held()
        self.folder.reset_journal(self.journal.fileno())
        self.state = ReplayState()
        await self._set_status(InstanceStatus.QUEUED, durable=True, instance=self.meta)  # see created_line
        return time.time()

    # -- services for WorkflowStep ------------------------------------------------------------------

    async def record(self, entry: dict[str, Any], raw: dict[str, str] | None = None) -> None:
        """Journal a decisive fact durably, then fold it into the replay state.

        `raw` holds fields already encoded as JSON (written as they are; `entry` has their values).
        """
        self._wake()
        await self.journal.append(entry, raw)
        self.state.apply(entry)

    def hold(self, entry: dict[str, Any]) -> None:
        """Journal the start of a step attempt (written with its result when that comes soon)."""
        self._wake()
        self.journal.hold(entry)

    def begin_step(self) -> None:
        limit = self.definition.steps_limit
        if self.state.step_count >= limit:
            raise LimitExceeded(
                f"instance {self.folder.instance_id!r} reached the limit of {limit} steps "
                "per instance (limits.steps)"
            )

    def checkpoint(self) -> None:
        """Stop here if the instance was asked to pause, terminate or restart."""
        if self.evict:
            raise Evicted()
        if self.pause_requested:
            raise Suspend(None)

    async def wait_until(self, when: float, reason: str = "sleep") -> None:
        """Wait in memory when short, else hibernate until `when`."""
        remaining = when - time.time()
        if remaining <= 0:
            return
        if remaining > self.hibernate_after:
            self._suspended_for = reason
            raise Suspend(when)
        await self._wait(when, until_signal=False, waiting_for=reason)

    async def wait_for_inbox(self, timeout_at: float, linger_until: float, waiting_for: str) -> None:
        """Wait for something new in inbox/; hibernate once the wait outlasts hibernate_after."""
        now = time.time()
        if now >= linger_until and timeout_at > now:
            self._suspended_for = waiting_for
            raise Suspend(timeout_at)
        await self._wait(min(timeout_at, linger_until), until_signal=True, waiting_for=waiting_for)

    async def _wait(self, deadline: float, until_signal: bool, waiting_for: str) -> None:
        self.engine.instance_waiting(self, True)
        if not self._running_pending:  # a prefetched instance is already waiting on disk
            self._note_status(InstanceStatus.WAITING, waiting_for=waiting_for)
        due: list[bool] = []

        def time_up() -> None:
            due.append(True)
            self._signal.set()

        # the engine's wake board keeps the deadline (one loop timer for all waiting instances)
        wake = self.engine.wakes.expect(deadline, time_up)
        try:
            while True:
                if self._poked:  # something new in inbox/, or a pause asked for
                    self._poked = False
                    await self.drain_inbox()
                    self.checkpoint()
                    if until_signal:
                        break
                if due:
                    break
                self._signal.clear()
                await self._signal.wait()
        finally:
            self.engine.wakes.woke(wake)
            self.engine.instance_waiting(self, False)
        self._note_status(InstanceStatus.RUNNING)

    def take_event(self, event_type: str) -> tuple[str, dict[str, Any]] | None:
        for index, (name, event) in enumerate(self._events):
            if event["type"] == event_type:
                del self._events[index]
                return name, event
        return None

    def inbox_done(self, name: str) -> None:
        self.folder.inbox_remove(name)

    # -- inbox -------------------------------------------------------------------------------------

    def _poke(self) -> None:
        """Wake a wait in progress to look at the inbox and the pause flag."""
        self._poked = True
        self._signal.set()

    def notify(self) -> None:
        """Something new is in inbox/ (called by the engine)."""
        self._poke()
        if self._executing:
            # controls take effect now even while a step runs (pause -> waitingForPause, terminate)
            self.engine.spawn(self.drain_inbox)

    async def drain_inbox(self, names: list[str] | None = None) -> None:
        """Take new control requests (in arrival order) and buffer new events."""
        for name in self.folder.inbox_names() if names is None else names:
            if name in self._seen:
                continue
            self._seen.add(name)
            if name in self.state.delivered:
                self.folder.inbox_remove(name)
                continue
            body = self.folder.inbox_read(name)
            if body is None:
                continue
            if body.get("kind") == "event":
                self._events.append(
                    (
                        name,
                        {
                            "type": body["type"],
                            "payload": body.get("payload"),
                            "timestamp": body.get("timestamp"),
                        },
                    )
                )
                continue
            await self._control(str(body.get("action")), str(body.get("source", "api")))
            self.folder.inbox_remove(name)

    async def _control(self, action: str, source: str) -> None:
        status = self.state.status
        await self.record({"type": "control", "action": action, "source": source})
        if action == "restart":
            self.evict = "restart"
        elif status in FINAL:
            return
        elif action == "terminate":
            self.evict = "terminate"
            if not self._executing:
                await self._set_status(InstanceStatus.TERMINATED, durable=True)
        elif action == "pause" and status is not InstanceStatus.PAUSED:
            if not self._executing:
                await self._set_status(InstanceStatus.PAUSED, durable=True)
                return
            self.pause_requested = True
            if self.steps_in_flight:
                await self._set_status(InstanceStatus.WAITING_FOR_PAUSE)
            self._poke()
        elif action == "resume" and status is InstanceStatus.PAUSED:
            await self._set_status(InstanceStatus.QUEUED)
        if self.evict and self._scope is not None:
            self._scope.cancel()


def _from_group(group: BaseExceptionGroup) -> tuple[str, Any]:  # type: ignore[type-arg]
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
