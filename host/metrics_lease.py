"""The hook the engine runs at every journal line: a Lease wrapper that adds to one workflow's
tallies (plain ints and bucket lists, a few hundred nanoseconds a line); host.metrics builds the
Prometheus families from them when scraped."""

from __future__ import annotations

import time
from bisect import bisect_left
from typing import Any

from host.workflows.statuslog import log_status
from host.workflows.store import InboxItem, Lease

SLOW = (0.001, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)
LATE = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 30.0)


class Hist:
    """A histogram's buckets as plain numbers: observe() is one bisect and two additions."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    def buckets(self) -> list[tuple[str, float]]:
        running, out = 0, []
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            out.append(("+Inf" if bound == float("inf") else repr(bound), float(running)))
        return out


class WorkflowTally:
    """What the engine's hooks count for one workflow."""

    __slots__ = ("started", "completed", "failed", "retried", "steps", "late")

    def __init__(self) -> None:
        self.started = self.completed = self.failed = self.retried = 0
        self.steps = Hist(SLOW)
        self.late = Hist(LATE)


class ObservedLease:
    """A Lease that tells a WorkflowTally about each journal line written through it, and times
    flushes. Everything else goes to the lease it wraps."""

    def __init__(self, inner: Lease, tally: WorkflowTally, flushes: Hist) -> None:
        self._inner, self._tally, self._flushes = inner, tally, flushes
        self._attempts: dict[tuple[Any, Any], float] = {}  # (name, count) -> its attempt's start
        self._wake_at = _pending_sleep(inner.entries)

    @property
    def workflow(self) -> str:
        return self._inner.workflow

    @property
    def instance_id(self) -> str:
        return self._inner.instance_id

    @property
    def meta(self) -> dict[str, Any]:
        return self._inner.meta

    @property
    def entries(self) -> list[dict[str, Any]]:
        return self._inner.entries

    @property
    def damage(self) -> str | None:
        return self._inner.damage

    def __getattr__(self, name: str) -> Any:  # anything a later Lease grows
        return getattr(self._inner, name)

    def append(self, entry: dict[str, Any], raw: dict[str, str] | None = None) -> None:
        self._inner.append(entry, raw)
        self._seen(entry)

    def hold(self, entry: dict[str, Any], raw: dict[str, str] | None = None) -> None:
        self._inner.hold(entry, raw)
        self._seen(entry)

    async def flush(self) -> None:
        started = time.perf_counter()
        await self._inner.flush()
        self._flushes.observe(time.perf_counter() - started)

    def reset(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        entry = self._inner.reset(*args, **kwargs)
        self._attempts.clear()
        self._wake_at = None
        self._seen(entry)
        return entry

    def restart_from(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]] | None:
        entries: list[dict[str, Any]] | None = self._inner.restart_from(*args, **kwargs)
        if entries:
            self._attempts.clear()
            self._wake_at = None
            self._seen(entries[-1])  # the queued status it goes on with
        return entries

    def write_status(self, document: dict[str, Any]) -> None:
        self._inner.write_status(document)

    def inbox(self) -> list[InboxItem]:
        return self._inner.inbox()

    def inbox_done(self, name: str) -> None:
        self._inner.inbox_done(name)

    def mark_due(self, when: float) -> None:
        self._inner.mark_due(when)

    async def release(self, next_due: float | None, seen: set[str]) -> None:
        await self._inner.release(next_due, seen)

    def _seen(self, entry: dict[str, Any]) -> None:
        kind = entry["type"]
        tally = self._tally
        if self._wake_at is not None and kind != "control" and kind != "event":
            late = (entry.get("t") or time.time()) - self._wake_at
            self._wake_at = None
            if late >= 0:
                tally.late.observe(late)
        if kind == "step_start":
            tally.started += 1
            self._attempts[(entry.get("name"), entry.get("count"))] = entry.get("t") or time.time()
        elif kind == "step_done" or kind == "step_fail" or kind == "step_error":
            began = self._attempts.pop((entry.get("name"), entry.get("count")), None)
            if began is not None:
                tally.steps.observe(max(0.0, (entry.get("t") or time.time()) - began))
            if kind == "step_done":
                tally.completed += 1
            elif kind == "step_error":
                tally.failed += 1
            else:
                tally.retried += 1
        elif kind == "sleep":
            until = entry.get("until")
            self._wake_at = float(until) if isinstance(until, int | float) else None
        elif kind == "status":
            status = entry.get("status") or "queued"
            log_status(self._inner.workflow, self._inner.instance_id, status, entry.get("error"))


def _pending_sleep(entries: list[dict[str, Any]]) -> float | None:
    """The end of the sleep the journal ends in (only status lines after it), else None."""
    for entry in reversed(entries[-4:]):
        kind = entry.get("type")
        if kind == "sleep":
            until = entry.get("until")
            return float(until) if isinstance(until, int | float) else None
        if kind != "status":
            return None
    return None
