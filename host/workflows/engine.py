"""The engine: decides which instances run when, in this process, and keeps nothing else in memory.

In memory: a heap of (due time, instance) built from the pending index, the activations running
now, and per-workflow FIFO queues for the concurrency limit. A sleeping instance is one heap entry
until hibernate_after before it is due (earlier when many fall due together, see _lead): then it
is loaded (with spare room only) and replayed up to its wait, so that when the time comes it only
has to go on.
Other processes' changes (a second host, the CLI) arrive by polling the index folders' mtimes.
"""

from __future__ import annotations

import asyncio
import gc
import heapq
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
import anyio.to_thread
from anyio.abc import TaskGroup

from host.errors import WorkflowNotFound
from host.workflows import instances
from host.workflows.delays import FixedDelay
from host.workflows.files import START_WRITE_DELAY, InstanceDir, instances_root
from host.workflows.index import PendingIndex
from host.workflows.janitor import Janitor
from host.workflows.lag import LoopLag
from host.workflows.lock import LOCK_IN_PLACE
from host.workflows.runner import (
    HELD_ELSEWHERE,
    MAX_STATUS_WRITE_DELAY,
    STATUS_WRITE_DELAY,
    STILL_QUEUED,
    Activation,
)
from host.workflows.syncer import GroupSync
from host.workflows.wakes import WakeBoard

log = logging.getLogger("waypost.workflows")

Key = tuple[str, str]
START_BATCH = 64  # instances the scheduler starts before it lets other tasks run
RETRY_HELD_AFTER = 1.0  # seconds before trying again an instance another process holds
LOAD_COST = 0.0003  # seconds to load and replay one instance (measured: 0.2-0.4 ms here)
MAX_EXTRA_LEAD = 5.0  # seconds a crowd of sleepers may be loaded ahead beyond hibernate_after
STATUS_LOAD_UNIT = 500  # loaded instances per STATUS_WRITE_DELAY a status.json rewrite waits
GC_YOUNG_THRESHOLD = 20_000  # allocations between collections of the youngest generation


def tune_gc() -> None:
    """Collect young objects every GC_YOUNG_THRESHOLD allocations instead of Python's 700.

    A loaded instance is about 55 objects (its coroutine chain, task, timers, replay state); with
    thousands loaded, the default thresholds spent 3 of 5 seconds of the event loop in the cyclic
    collector while 10,000 sleepers woke, in pauses of up to 0.46 s. Raised, it was 0.75 s. A
    process that tuned or disabled the collector itself is left as it is.
    """
    young, middle, old = gc.get_threshold()
    if 0 < young < GC_YOUNG_THRESHOLD:
        gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def status_delay(loaded: int) -> float:
    """How long a running or waiting state lasts before status.json shows it, with `loaded`
    instances loaded: STATUS_WRITE_DELAY doubled until it covers STATUS_WRITE_DELAY per
    STATUS_LOAD_UNIT instances, up to MAX_STATUS_WRITE_DELAY (a few values: one queue each)."""
    wanted = STATUS_WRITE_DELAY * loaded / STATUS_LOAD_UNIT
    delay = STATUS_WRITE_DELAY
    while delay < wanted and delay < MAX_STATUS_WRITE_DELAY:
        delay = min(delay * 2, MAX_STATUS_WRITE_DELAY)
    return delay


def default_max_active() -> int:
    """How many instances may be loaded at once, 64 to 16384: each holds one descriptor (its
    journal, which is its lock; two where the lock is a separate file), and a quarter of the
    open-file limit (at least 256) stays free for connections and short-lived files.

    Raises the soft limit to the hard one first, as servers that hold many files commonly do.
    """
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = hard if hard != resource.RLIM_INFINITY else 65536
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, 65536), hard))
            soft = min(wanted, 65536)
    except (ImportError, ValueError, OSError):
        soft = 1024
    room = int(soft) - max(256, int(soft) // 4)
    return max(64, min(16384, room if LOCK_IN_PLACE else room // 2))


@dataclass(frozen=True)
class WorkflowDef:
    """A workflow the host can run: where its class comes from and the env it gets."""

    name: str
    load_class: Callable[[], type]
    env: Any
    steps_limit: int = 10_000
    concurrency_limit: int | None = None


class Engine:
    """Runs workflow instances stored under `data_dir`; use as `async with Engine(...) as engine:`."""

    def __init__(
        self,
        data_dir: Path,
        durability: str = "fsync",
        hibernate_after: float = 1.0,
        poll_interval: float = 0.5,
        max_active: int | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.durability = durability
        self.durable = durability == "fsync"
        self.hibernate_after = hibernate_after
        self.poll_interval = poll_interval
        self.definitions: dict[str, WorkflowDef] = {}
        self._indexes: dict[str, PendingIndex] = {}
        self._index_versions: dict[str, int] = {}
        self._heap: list[tuple[float, str, str]] = []
        self._due: dict[Key, float] = {}
        self._per_second: dict[int, int] = {}  # heap entries in force, by whole second due
        self._on_disk: dict[Key, float] = {}
        self._active: dict[Key, Activation] = {}
        self._counted: set[Key] = set()
        self._running: dict[str, int] = {}
        self._queues: dict[str, deque[str]] = {}
        self._queued: set[Key] = set()
        self._touched: set[Key] = set()  # keys whose pending entry this host moved since the last scan
        self._overflow: deque[Key] = deque()
        self._overflowing: set[Key] = set()
        self.max_active = max_active or default_max_active()
        tune_gc()
        self._wakeup = anyio.Event()
        self._group: TaskGroup | None = None
        self._tasks: dict[asyncio.Task[None], Activation] = {}  # plain asyncio tasks, see _start
        self.stopping = False
        self.wakes = WakeBoard()  # loaded sleepers' wake times: a due one goes before other work
        self._status_queues: dict[float, FixedDelay] = {}  # deferred status.json writes, by delay
        self.held_later = FixedDelay(START_WRITE_DELAY)  # held-back journal lines
        self.syncer = GroupSync(self.data_dir, solo=self.quiet, hold_back=self.wakes.overdue)
        self.lag = LoopLag(keep_going=lambda: bool(self._tasks or self._closing))
        # status.json rewrites and unlocks wait while sleepers are due or the loop is behind
        self.janitor = Janitor(yield_to=lambda: self.wakes.overdue() or self.lag.behind())
        self._closing: dict[Key, Activation] = {}  # finished here; the janitor still has their files
        self._ready_after_close: set[Key] = set()

    # -- lifecycle ---------------------------------------------------------------------------------

    async def __aenter__(self) -> Engine:
        self._group = anyio.create_task_group()
        await self._group.__aenter__()
        self._group.start_soon(self._schedule_loop)
        self._group.start_soon(self._poll_loop)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        self.stopping = True
        assert self._group is not None
        self._group.cancel_scope.cancel()
        try:
            return await self._group.__aexit__(exc_type, exc, tb)
        finally:
            for task, activation in self._tasks.items():
                if not activation.closing_started:  # one already closing finishes that undisturbed
                    task.cancel()
            while self._tasks:  # each closes its instance: its lock goes to the janitor to release
                await asyncio.wait(list(self._tasks))
            await anyio.to_thread.run_sync(self.janitor.close)  # every status.json and unlock lands
            self.syncer.close()
            self.wakes.close()

    def set_workflows(self, definitions: dict[str, WorkflowDef]) -> None:
        """Install the current workflow definitions; new ones are recovered from their index."""
        added = [name for name in definitions if name not in self.definitions]
        self.definitions = dict(definitions)
        for name in added:  # new, or back after a reload without it: its instances may be due
            index = self._indexes.setdefault(name, PendingIndex(self.data_dir, name))
            if index.ensure():
                log.info("workflow %s: rebuilt the pending index from instance folders", name)
            self._index_versions[name] = index.version()
            self._load_entries(name, index.scan())
        self._wakeup.set()

    def binding(self, workflow: str) -> Any:
        from host.workflows.binding import WorkflowBinding

        return WorkflowBinding(self, workflow)

    def spawn(self, fn: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        """Run background work of an activation (a late status write, an inbox drain).

        Its failure is logged, never raised: one full disk or descriptor table must not take
        down the task group that runs every other instance.
        """

        async def guarded() -> None:
            try:
                await fn()
            except Exception:
                log.exception("background work of an instance failed")

        if self._group is not None and not self.stopping:
            self._group.start_soon(guarded)

    def require(self, workflow: str) -> WorkflowDef:
        try:
            return self.definitions[workflow]
        except KeyError:
            raise WorkflowNotFound(f"workflow {workflow!r} is not defined on this host") from None

    # -- operations (binding, admin API) --------------------------------------------------------------

    async def create(
        self, workflow: str, instance_id: str, params: Any, trigger: str = "api"
    ) -> dict[str, Any]:
        """Create one validated instance and schedule it now."""
        self.require(workflow)

        def make() -> dict[str, Any]:
            return instances.create_instance(
                self.data_dir, workflow, instance_id, params, durability="relaxed", trigger=trigger
            )

        # A folder, two new files and an index link cost the kernel up to a millisecond here:
        # made on the event loop when little else runs (cheaper than a hand-off), else on the
        # janitor's thread so the loop goes on stepping other instances. Either way the group
        # commit makes them durable.
        status = make() if self.quiet() else await self.janitor.call(make)
        if self.durable:
            await self.syncer.sync_new(instances_root(self.data_dir, workflow) / instance_id)
        due = float(status["created_on_epoch"])
        key = (workflow, instance_id)
        self._on_disk[key] = due
        if key in self._due or key in self._active:
            self._schedule(key, due)
            return status
        try:
            self._ready(key)  # start it now rather than on the scheduler's next turn
        except OSError:
            self._schedule(key, due)
        return status

    async def control(self, workflow: str, instance_id: str, action: str, source: str = "api") -> None:
        self.require(workflow)
        await anyio.to_thread.run_sync(
            lambda: instances.request_control(
                self.data_dir, workflow, instance_id, action, durability=self.durability, source=source
            )
        )
        self.poke(workflow, instance_id)

    async def send_event(self, workflow: str, instance_id: str, event_type: str, payload: Any) -> None:
        self.require(workflow)
        await anyio.to_thread.run_sync(
            lambda: instances.send_event(
                self.data_dir, workflow, instance_id, event_type, payload, durability=self.durability
            )
        )
        self.poke(workflow, instance_id)

    def status(self, workflow: str, instance_id: str, brief: bool = False) -> dict[str, Any]:
        """The instance's status.json document; `brief` may leave out all but status, output, error."""
        self.require(workflow)
        key = (workflow, instance_id)
        active = self._active.get(key) or self._closing.get(key)
        document = active.visible_status(brief) if active is not None else None
        if document is not None:
            return document  # loaded here: memory is ahead of a deferred status.json write
        return instances.read_status(self.data_dir, workflow, instance_id)

    def poke(self, workflow: str, instance_id: str) -> None:
        """Something new is in the instance's inbox: tell its activation, or run it now."""
        active = self._active.get((workflow, instance_id))
        if active is not None:
            active.notify()
        else:
            self._schedule((workflow, instance_id), time.time())

    # -- scheduling ----------------------------------------------------------------------------------

    def _schedule(self, key: Key, due: float) -> None:
        current = self._due.get(key)
        if current is not None and current <= due:
            return
        if current is not None:
            self._uncount_due(current)
        self._due[key] = due
        second = int(due)
        self._per_second[second] = self._per_second.get(second, 0) + 1
        heapq.heappush(self._heap, (due, key[0], key[1]))
        if self._heap[0][0] >= due:
            self._wakeup.set()

    def _load_entries(
        self, workflow: str, entries: list[tuple[float, str]], known: set[Key] | frozenset[Key] = frozenset()
    ) -> None:
        for due, instance_id in entries:
            key = (workflow, instance_id)
            if due == instances.SIGNAL_DUE:
                self.poke(workflow, instance_id)
                continue
            if key in known or key in self._closing:
                continue  # this host moves that entry (or did while the folder was listed)
            self._on_disk.setdefault(key, due)
            if key not in self._active:
                self._schedule(key, due)

    def _uncount_due(self, due: float) -> None:
        second = int(due)
        left = self._per_second[second] - 1
        if left:
            self._per_second[second] = left
        else:
            del self._per_second[second]

    def _lead(self, now: float) -> float:
        """How far ahead of their due time to load instances: hibernate_after, plus the time it
        takes to load those due within the next MAX_EXTRA_LEAD after that (10,000 sleepers due
        in one second need about 3 s of loading, which must be done by then)."""
        start = int(now + self.hibernate_after)
        seconds = range(start, start + int(MAX_EXTRA_LEAD) + 1)
        crowd = sum(self._per_second.get(second, 0) for second in seconds)
        return self.hibernate_after + min(MAX_EXTRA_LEAD, crowd * LOAD_COST)

    async def _schedule_loop(self) -> None:
        while True:
            self._admit_overflow()
            now = time.time()
            lead = self._lead(now)
            started = 0
            while self._heap and self._heap[0][0] <= now + lead:
                if started == START_BATCH:  # thousands due at once (a restart): let HTTP in between
                    await anyio.sleep(0)
                    started, now = 0, time.time()
                started += 1
                due, workflow, instance_id = self._heap[0]
                if due > now and self._loaded() >= self.max_active - self.max_active // 8:
                    break  # loading ahead of time leaves room for work that is due now
                heapq.heappop(self._heap)
                key = (workflow, instance_id)
                if self._due.get(key) != due:
                    continue  # superseded by an earlier or later schedule
                del self._due[key]
                self._uncount_due(due)
                try:
                    self._ready(key, lead)
                except OSError:
                    log.exception("workflow %s instance %s: cannot start it; retrying in 5 s", *key)
                    self._schedule(key, now + 5)
            delay = self._heap[0][0] - lead - now if self._heap else 1.0
            with anyio.move_on_after(min(max(delay, 0.0), 1.0)):
                await self._wakeup.wait()
            self._wakeup = anyio.Event()

    def _ready(self, key: Key, lead: float | None = None) -> None:
        """Start the instance now (or queue it); `lead`: it was loaded that far ahead at most."""
        if self.stopping:
            return  # shutting down: the instance stays due on disk for the next start
        if key in self._closing:  # its lock is still ours until the janitor releases it
            self._ready_after_close.add(key)
            return
        active = self._active.get(key)
        if active is not None:
            active.notify()
            return
        definition = self.definitions.get(key[0])
        if definition is None:
            return  # its worker is gone; the index entry stays for when it comes back
        if self._loaded() >= self.max_active:
            # every activation holds descriptors (lock, journal): beyond the cap, wait in line
            if key not in self._overflowing:
                self._overflowing.add(key)
                self._overflow.append(key)
            return
        limit = definition.concurrency_limit
        if limit is not None and self._running.get(key[0], 0) >= limit:
            if key not in self._queued:
                self._queued.add(key)
                self._queues.setdefault(key[0], deque()).append(key[1])
            folder = InstanceDir(self.data_dir, key[0], key[1], self.durability)
            if folder.inbox_names():  # pause/terminate/events for a queued instance apply now
                self._start(key, definition, controls_only=True)
            return
        self._start(key, definition, lead=lead)

    def _start(
        self, key: Key, definition: WorkflowDef, controls_only: bool = False, lead: float | None = None
    ) -> None:
        if self.stopping:  # a slot freed by shutdown's cancellations: the instance waits on disk
            return
        folder = InstanceDir(self.data_dir, key[0], key[1], self.durability)
        activation = Activation(self, definition, folder, controls_only=controls_only, lead=lead)
        self._active[key] = activation
        if not controls_only:
            self._count(key, True)
        # A plain asyncio task, not one in the anyio task group: starting one costs a fifth of
        # what an anyio task with its own cancel scope does, and a burst starts thousands.
        # __aexit__ cancels and awaits them itself.
        task = asyncio.get_running_loop().create_task(self._activate(key, activation))
        self._tasks[task] = activation
        self.lag.watch()
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        del self._tasks[task]

    async def _activate(self, key: Key, activation: Activation) -> None:
        try:
            result = await activation.run()
        except Exception:
            log.exception("workflow %s instance %s: the engine failed running it; retrying in 5 s", *key)
            result = time.time() + 5
        finally:
            self._active.pop(key, None)
            self._count(key, False)
            self._room_freed()  # if it never opened; else once the janitor has closed it
        if result == HELD_ELSEWHERE:
            self._schedule(key, time.time() + RETRY_HELD_AFTER)
        elif result == STILL_QUEUED:
            pass  # it keeps its place in the workflow's queue
        elif result is not None:
            self._schedule(key, result)

    def _count(self, key: Key, running: bool) -> None:
        """Track instances that count against concurrency limits; start queued ones when a slot frees."""
        workflow = key[0]
        if running and key not in self._counted:
            self._counted.add(key)
            self._running[workflow] = self._running.get(workflow, 0) + 1
        elif not running and key in self._counted:
            self._counted.discard(key)
            self._running[workflow] -= 1
            self._start_queued(workflow)

    def _start_queued(self, workflow: str) -> None:
        queue = self._queues.get(workflow)
        definition = self.definitions.get(workflow)
        while queue and definition is not None:
            limit = definition.concurrency_limit
            if limit is not None and self._running.get(workflow, 0) >= limit:
                return
            key = (workflow, queue.popleft())
            self._queued.discard(key)
            if key not in self._active:
                self._start(key, definition)

    # -- hooks for activations -------------------------------------------------------------------------

    def closing(self, activation: Activation, release: Callable[[], None]) -> None:
        """Hand a finished activation's file work to the janitor; until it is done, the instance
        is not started again here."""
        key = (activation.folder.workflow, activation.folder.instance_id)
        inline = self.quiet()
        self._closing[key] = activation

        def closed() -> None:
            if self._closing.get(key) is activation:
                del self._closing[key]
            self._touched.add(key)  # a listing taken before the janitor moved its entry is stale
            if key in self._ready_after_close:
                self._ready_after_close.discard(key)
                self._schedule(key, time.time())
            self._room_freed()

        self.janitor.submit(release, done=closed, inline=inline)

    def quiet(self) -> bool:
        """At most one instance loaded: file work and fsyncs are cheaper done at once than handed off."""
        return len(self._active) <= 1 and not self._closing

    def status_later(self) -> FixedDelay:
        """The queue of deferred status.json writes: a running or waiting state shows there once
        it has lasted STATUS_WRITE_DELAY, or longer with more than STATUS_LOAD_UNIT instances
        loaded (up to MAX_STATUS_WRITE_DELAY, in a few steps, each with its own queue).

        Each rewrite is a file swap on the janitor thread, whose every system call costs the
        event loop a GIL hand-off; under load most such states end before they would show."""
        delay = status_delay(self._loaded())
        queue = self._status_queues.get(delay)
        if queue is None:
            queue = self._status_queues[delay] = FixedDelay(delay)
        return queue

    def _loaded(self) -> int:
        """Instances holding descriptors here: running, or finished with their files still open."""
        return len(self._active) + len(self._closing)

    def _room_freed(self) -> None:
        # the scheduler task starts them (this may run in a plain loop callback, where no task
        # group can start tasks): those waiting for room, then any due to be loaded by now
        now = time.time()
        if self._overflow or (self._heap and self._heap[0][0] <= now + self._lead(now)):
            self._wakeup.set()

    def _admit_overflow(self) -> None:
        while self._overflow and self._loaded() < self.max_active:
            waiting = self._overflow.popleft()
            self._overflowing.discard(waiting)
            self._ready(waiting)

    def instance_waiting(self, activation: Activation, waiting: bool) -> None:
        """Waiting instances do not count against the concurrency limit."""
        self._count((activation.folder.workflow, activation.folder.instance_id), not waiting)

    def index_after(self, activation: Activation, next_due: float | None) -> Callable[[], None]:
        """Record the instance's next due time; returns the file change to make under its lock."""
        workflow, instance_id = activation.folder.workflow, activation.folder.instance_id
        index = self._indexes.get(workflow) or PendingIndex(self.data_dir, workflow)
        key = (workflow, instance_id)
        old = self._on_disk.pop(key, None)
        if next_due is not None:
            self._on_disk[key] = next_due
        self._touched.add(key)

        def move_entry() -> None:
            if next_due is None:
                if old is not None:
                    index.remove(instance_id, old)
            else:
                index.put(instance_id, next_due, old_due=old)
            index.remove(instance_id, instances.SIGNAL_DUE)

        return move_entry

    # -- other processes -------------------------------------------------------------------------------

    async def _poll_loop(self) -> None:
        while True:
            await anyio.sleep(self.poll_interval)
            for workflow, index in list(self._indexes.items()):
                version = index.version()
                if version == self._index_versions.get(workflow):
                    continue
                self._index_versions[workflow] = version
                # keys moved since the previous scan too: their file operation may still have been
                # in flight in a worker thread when this listing was taken
                before, self._touched = self._touched, set()
                try:
                    entries = await anyio.to_thread.run_sync(index.scan)
                except OSError:
                    log.exception("workflow %s: cannot read its pending index", workflow)
                    continue
                self._load_entries(workflow, entries, known=before | self._touched)
