"""Which instances to start, and when: a due heap, a FIFO per workflow for its concurrency limit,
and a cap on loaded instances. Pure: it takes the time as an argument and does no I/O.

An instance is loaded from take() until finished(). Only the loaded instances that use a slot
count against their workflow's concurrency limit (SPEC 3.8: those `running` or
`waitingForPause`; one waiting in memory or `rollingBack` gives its slot up, see waiting()); one
due while its workflow is at the limit waits in that workflow's FIFO and is handed out when a
slot frees.
"""

from __future__ import annotations

import heapq
from collections import deque

Key = tuple[str, str]  # (workflow, instance id)


class Scheduler:
    def __init__(self, max_loaded: int) -> None:
        self.max_loaded = max_loaded
        self._heap: list[tuple[float, str, str]] = []
        self._due: dict[Key, float] = {}
        self._limits: dict[str, int | None] = {}
        self._fifo: dict[str, deque[Key]] = {}
        self._queued: set[Key] = set()
        self._loaded: set[Key] = set()
        self._counted: dict[str, set[Key]] = {}
        self._aside: set[Key] = set()  # loaded without a slot, to take its control requests
        self._after: dict[Key, float] = {}  # due again once its current activation finishes

    def set_limit(self, workflow: str, limit: int | None) -> None:
        self._limits[workflow] = limit

    def schedule(self, key: Key, when: float) -> None:
        """The instance is due at `when` (the earliest of several schedules wins)."""
        if key in self._loaded:
            self._after[key] = min(when, self._after.get(key, when))
            return
        if key in self._queued:
            return  # already waiting for a slot
        current = self._due.get(key)
        if current is not None and current <= when:
            return
        self._due[key] = when
        heapq.heappush(self._heap, (when, key[0], key[1]))

    def next_due(self) -> float | None:
        """When the earliest scheduled instance is due (None: none is)."""
        while self._heap and self._due.get((self._heap[0][1], self._heap[0][2])) != self._heap[0][0]:
            heapq.heappop(self._heap)  # superseded by an earlier schedule, or taken
        return self._heap[0][0] if self._heap else None

    def take(self, now: float) -> list[Key]:
        """Instances to start now, in order: first those a freed slot lets out of their FIFO, then
        those due by `now`; each is loaded until finished(). Stops at the loaded cap."""
        ready: list[Key] = []
        for workflow, fifo in self._fifo.items():
            while fifo and self._room(workflow) and len(self._loaded) < self.max_loaded:
                key = fifo.popleft()
                self._queued.discard(key)
                self._load(key, ready)
        while len(self._loaded) < self.max_loaded:
            due = self.next_due()
            if due is None or due > now:
                break
            _, workflow, instance_id = heapq.heappop(self._heap)
            key = (workflow, instance_id)
            del self._due[key]
            if not self._room(workflow):
                self._queued.add(key)
                self._fifo.setdefault(workflow, deque()).append(key)
                continue
            self._load(key, ready)
        return ready

    def _room(self, workflow: str) -> bool:
        limit = self._limits.get(workflow)
        return limit is None or len(self._counted.get(workflow, ())) < limit

    def _load(self, key: Key, ready: list[Key]) -> None:
        self._loaded.add(key)
        self._counted.setdefault(key[0], set()).add(key)
        ready.append(key)

    def loaded(self, key: Key) -> bool:
        return key in self._loaded

    def queued(self, key: Key) -> bool:
        """Waiting in its workflow's FIFO for a slot."""
        return key in self._queued

    def load_aside(self, key: Key) -> bool:
        """Load a queued instance without a slot (to take its control requests); False at the cap."""
        if key in self._loaded or key not in self._queued or len(self._loaded) >= self.max_loaded:
            return False
        self._queued.discard(key)
        self._fifo[key[0]].remove(key)
        self._loaded.add(key)
        self._aside.add(key)
        return True

    def waiting(self, key: Key, waiting: bool) -> None:
        """A loaded instance gave its slot up (True: it waits in memory, or its status is one that
        does not count, such as rollingBack) or takes it back (False: running again). One loaded
        aside never takes a slot."""
        counted = self._counted.setdefault(key[0], set())
        if waiting:
            counted.discard(key)
        elif key in self._loaded and key not in self._aside:
            counted.add(key)

    def finished(self, key: Key, next_due: float | None, requeue: bool = False) -> None:
        """A loaded instance's activation ended; it is due again at `next_due` (None: not until
        something arrives). `requeue`: it goes back to the front of its workflow's FIFO."""
        self._loaded.discard(key)
        self._aside.discard(key)
        self._counted.get(key[0], set()).discard(key)
        again = self._after.pop(key, None)
        if requeue:
            self._queued.add(key)
            self._fifo.setdefault(key[0], deque()).appendleft(key)
            return
        if next_due is not None or again is not None:
            self.schedule(key, min(d for d in (next_due, again) if d is not None))

    def loaded_count(self) -> int:
        return len(self._loaded)
