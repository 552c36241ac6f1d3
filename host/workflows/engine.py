"""The engine: runs the instances of the defined workflows that are due, in this process.

It keeps only the scheduler's heap and queues and the activations running now. It starts the
activations the scheduler hands out, each holding a lease from the store, and learns what other
processes (a second host, the CLI) changed by polling the store's change token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from types import TracebackType
from typing import Protocol

import anyio.to_thread

from host.errors import InstanceNotFound, InstanceUnreadable, StoreUnavailable, WorkflowNotFound
from host.workflows.activation import Activation, Outcome, WorkflowDef
from host.workflows.scheduler import Key, Scheduler
from host.workflows.store import InstanceStore, Lease
from host.workflows.sweeper import Sweeper

log = logging.getLogger("waypost.workflows")

RETRY_HELD_AFTER = 1.0  # seconds before trying again an instance another process holds
RETRY_FAILED_AFTER = 5.0  # seconds before trying again an instance the engine failed to run

__all__ = ["Engine", "WorkflowDef"]


class Observer(Protocol):
    """Watches the instances the engine runs (host.metrics.Metrics): given each lease first."""

    def observe(self, lease: Lease) -> Lease: ...


def default_max_loaded() -> int:
    """How many instances may be loaded at once, 64 to 16384: each holds a descriptor (its
    journal, which is its lock), and a quarter of the open-file limit stays for the rest."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        soft = 65536 if soft == resource.RLIM_INFINITY else soft
    except (ImportError, ValueError, OSError):
        soft = 1024
    return max(64, min(16384, int(soft) - max(256, int(soft) // 4)))


class Engine:
    """Runs the workflow instances kept in `store`; use as `async with Engine(store) as engine:`
    (host.store.filestore.FileStore is the store on files). The engine closes the store."""

    def __init__(
        self,
        store: InstanceStore,
        hibernate_after: float = 1.0,
        poll_interval: float = 0.5,
        max_active: int | None = None,
        observer: Observer | None = None,
        sweep_interval: float = 30.0,
    ) -> None:
        self.store = store
        self.sweeper = Sweeper(store, sweep_interval)  # removes expired instances (SPEC 3.11)
        self.observer = observer  # host.metrics.Metrics: sees each lease an activation gets
        self.hibernate_after = hibernate_after
        self.poll_interval = poll_interval
        self.definitions: dict[str, WorkflowDef] = {}
        self.scheduler = Scheduler(max_active or default_max_loaded())
        self._active: dict[Key, Activation] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._wakeup = asyncio.Event()
        self._versions: dict[str, int] = {}
        self._released: dict[Key, float] = {}  # monotonic time each instance was last released here
        self.stopping = False

    async def __aenter__(self) -> Engine:
        self._loops = [
            asyncio.create_task(self._schedule_loop()),
            asyncio.create_task(self._poll_loop()),
            asyncio.create_task(self.sweeper.run()),
        ]
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stopping = True
        for task in self._loops:
            task.cancel()
        for task in self._tasks:
            task.cancel()  # each activation releases its lease; the instance is due at the next start
        await asyncio.gather(*self._loops, *self._tasks, return_exceptions=True)
        await self.store.aclose()

    def set_workflows(self, definitions: dict[str, WorkflowDef]) -> None:
        """Install the current workflow definitions; new ones are recovered from the store."""

        def runs(name: str, table: dict[str, WorkflowDef]) -> bool:
            return name in table and table[name].runnable

        # new, back after a reload without it, or runnable again: its instances may be due
        added = [name for name in definitions if runs(name, definitions) and not runs(name, self.definitions)]
        self.definitions = dict(definitions)
        for name, definition in definitions.items():
            self.scheduler.set_limit(name, definition.concurrency_limit)
        for name in added:
            try:
                self.store.prepare(name)
                self._versions[name] = self.store.change_token(name)
                self._take_due(name, self.store.due(name), since=None)
            except OSError as exc:
                log.error("workflow %s: cannot read its instances: %s", name, exc)
                continue
            task = asyncio.get_running_loop().create_task(self._find_unindexed(name))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        self._wakeup.set()

    async def _find_unindexed(self, workflow: str) -> None:
        """In the background after a start: instances the due index misses (SPEC 4.1: it is a cache)."""
        try:
            found = await anyio.to_thread.run_sync(self.store.unindexed, workflow)
        except OSError as exc:
            log.error("workflow %s: cannot look for instances its index misses: %s", workflow, exc)
            return
        if found:
            log.warning("workflow %s: %d instance(s) were missing from the due index", workflow, len(found))
            self._take_due(workflow, found, since=None)

    @property
    def loaded(self) -> int:
        """How many instances are loaded (running or waiting in memory) now."""
        return len(self._active)

    def require(self, workflow: str) -> WorkflowDef:
        try:
            return self.definitions[workflow]
        except KeyError:
            raise WorkflowNotFound(f"workflow {workflow!r} is not defined on this host") from None

    # -- what the service tells the engine ---------------------------------------------------------

    def poke(self, workflow: str, instance_id: str) -> None:
        """Something new is stored for the instance (created, or a request in its inbox): run it."""
        key = (workflow, instance_id)
        active = self._active.get(key)
        if active is not None:
            active.notify()
        elif self.scheduler.queued(key):
            if self.scheduler.load_aside(key):  # over the concurrency limit: take its requests only
                self._start(key, controls_only=True)
        else:
            self.scheduler.schedule(key, time.time())
            self._wakeup.set()

    # -- Slots, for activations --------------------------------------------------------------------

    def waiting(self, workflow: str, instance_id: str, waiting: bool) -> None:
        self.scheduler.waiting((workflow, instance_id), waiting)
        if waiting:
            self._wakeup.set()  # a slot is free for a queued instance

    # -- running -------------------------------------------------------------------------------------

    async def _schedule_loop(self) -> None:
        while True:
            # loaded up to hibernate_after early, a sleeper has replayed up to its wait by then
            now = time.time() + self.hibernate_after
            for key in self.scheduler.take(now):
                self._start(key)
            due = self.scheduler.next_due()
            delay = 1.0 if due is None else min(max(due - now, 0.0), 1.0)
            with contextlib.suppress(TimeoutError):  # not wait_for: 3.11's may swallow a cancel
                async with asyncio.timeout(delay):
                    await self._wakeup.wait()
            self._wakeup.clear()

    def _start(self, key: Key, controls_only: bool = False) -> None:
        definition = self.definitions.get(key[0])
        if definition is None or not definition.runnable or self.stopping:
            self.scheduler.finished(key, None)  # its worker is gone or broken: the entry waits for it
            return
        try:
            lease = self.store.open(*key)
        except InstanceNotFound:
            lease, retry = None, None
        except InstanceUnreadable as exc:
            log.error("workflow %s instance %s: %s", *key, exc)
            lease, retry = None, None
        except OSError as exc:
            log.error(
                "workflow %s instance %s: cannot open it: %s (not retried until it is signalled)", *key, exc
            )
            lease, retry = None, None
        else:
            retry = time.time() + RETRY_HELD_AFTER  # held by another process when there is no lease
        if lease is None:
            self.scheduler.finished(key, retry, requeue=controls_only and retry is not None)
            return
        if self.observer is not None:
            lease = self.observer.observe(lease)
        activation = Activation(lease, definition, self.hibernate_after, self, controls_only)
        self._active[key] = activation
        task = asyncio.create_task(self._run(key, activation))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, key: Key, activation: Activation) -> None:
        outcome = Outcome(None)
        try:
            outcome = await activation.run()
        except StoreUnavailable as exc:
            log.error("workflow %s instance %s: %s; retrying in 5 s", *key, exc.error)
            outcome = Outcome(time.time() + RETRY_FAILED_AFTER)
        except Exception:
            log.exception("workflow %s instance %s: the engine failed running it; retrying in 5 s", *key)
            outcome = Outcome(time.time() + RETRY_FAILED_AFTER)
        finally:
            del self._active[key]
            self._released[key] = time.monotonic()
            self.scheduler.finished(key, None if self.stopping else outcome.next_due, requeue=outcome.queued)
            self._wakeup.set()

    # -- other processes -------------------------------------------------------------------------------

    async def _poll_loop(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            for workflow in list(self.definitions):
                try:
                    version = self.store.change_token(workflow)
                    if version == self._versions.get(workflow):
                        continue
                    self._versions[workflow] = version
                    since = time.monotonic()
                    entries = await anyio.to_thread.run_sync(self.store.due, workflow)
                except OSError as exc:
                    log.error("workflow %s: cannot read its due index: %s", workflow, exc)
                    continue
                self._take_due(workflow, entries, since)
            horizon = time.monotonic() - 10 * self.poll_interval
            self._released = {k: t for k, t in self._released.items() if t > horizon}

    def _take_due(self, workflow: str, entries: list[tuple[float, str]], since: float | None) -> None:
        """Schedule what the store says is due; `since`: when the listing began (an instance released
        here after that may have an entry the listing saw before it moved)."""
        for due, instance_id in entries:
            key = (workflow, instance_id)
            if due == 0.0:
                self.poke(workflow, instance_id)
            elif key in self._active:
                continue
            elif since is None or self._released.get(key, -1.0) < since:
                self.scheduler.schedule(key, due)
        self._wakeup.set()
