"""Prometheus metrics of one host (SPEC 8), in a registry of its own, and the hooks that feed them.

Nothing here is global: a Host makes one Metrics and hands its hooks to the Dispatcher (requests)
and the Engine (an observer that wraps each lease it opens and watches the journal lines go by).
Labels are workflow and worker names and HTTP status codes, never instance ids.

The hooks run on the event loop at every journal line and request, so they only add to plain ints
and bucket lists (a few hundred nanoseconds; prometheus_client's Counter and Histogram take a lock
and cost several microseconds a call); the families are built from those tallies when scraped.
"""

from __future__ import annotations

import logging
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from host.workflows.store import InboxItem, Lease

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
status_log = logging.getLogger("waypost.instance")  # one line per instance status change
FAST = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
SLOW = (0.001, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)
LATE = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 30.0)
STEP_COUNTERS = ("started", "completed", "failed", "retried")


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


class Metrics:
    """Every family of SPEC 8, read from tallies at each scrape; counts() and loaded() via attach()."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.requests: dict[tuple[str, int], int] = {}
        self.request_seconds: dict[str, Hist] = {}
        self.flush_seconds = Hist(FAST)
        self.workflows: dict[str, WorkflowTally] = {}
        self.ticks: dict[str, list[int]] = {}  # schedule target -> [fired, missed]
        self._counts: Callable[[], Mapping[str, Mapping[str, int]]] = dict
        self._loaded: Callable[[], int] = lambda: 0
        self.registry.register(_Families(self))

    def attach(
        self, counts: Callable[[], Mapping[str, Mapping[str, int]]], loaded: Callable[[], int]
    ) -> None:
        """Where the gauges read from: counts by workflow and status, and the loaded instances."""
        self._counts, self._loaded = counts, loaded

    def render(self) -> bytes:
        """The Prometheus text exposition of every family."""
        return generate_latest(self.registry)

    def workflow(self, name: str) -> WorkflowTally:
        tally = self.workflows.get(name)
        if tally is None:
            tally = self.workflows[name] = WorkflowTally()
        return tally

    def schedule_tick(self, target: str, skipped: int) -> None:
        """A schedule of `target` (a workflow, or a worker's cron) fired a tick, and skipped
        `skipped` older ones missed while no host ran (the ScheduleRunner calls this)."""
        counts = self.ticks.get(target)
        if counts is None:
            counts = self.ticks[target] = [0, 0]
        counts[0] += 1
        counts[1] += skipped

    # -- hooks -----------------------------------------------------------------------------------

    def request(self, worker: str, status: int, seconds: float) -> None:
        """One worker request answered (the Dispatcher calls this)."""
        key = (worker, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        hist = self.request_seconds.get(worker)
        if hist is None:
            hist = self.request_seconds[worker] = Hist(FAST)
        hist.observe(seconds)

    def observe(self, lease: Lease) -> Lease:
        """The lease the engine hands an activation: the same lease, counted (the Engine calls this)."""
        return cast(Lease, ObservedLease(lease, self.workflow(lease.workflow), self.flush_seconds))


class _Families(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self.m = metrics

    def collect(self) -> Iterator[Metric]:
        m = self.m
        requests = CounterMetricFamily(
            "waypost_http_requests", "Worker HTTP requests by worker and status", labels=["worker", "status"]
        )
        for (worker, status), count in sorted(dict(m.requests).items()):
            requests.add_metric([worker, str(status)], count)
        yield requests
        durations = HistogramMetricFamily(
            "waypost_http_request_duration_seconds", "Worker request duration", labels=["worker"]
        )
        for worker, hist in sorted(dict(m.request_seconds).items()):
            durations.add_metric([worker], hist.buckets(), hist.total)
        yield durations
        tallies = sorted(dict(m.workflows).items())
        helps = {
            "started": "Step attempts started",
            "completed": "Steps that succeeded",
            "failed": "Steps that failed for good (retries exhausted)",
            "retried": "Step attempts that failed and will be retried",
        }
        for name in STEP_COUNTERS:
            family = CounterMetricFamily(f"waypost_steps_{name}", helps[name], labels=["workflow"])
            for workflow, tally in tallies:
                family.add_metric([workflow], getattr(tally, name))
            yield family
        for metric, help_text, attr in (
            ("waypost_step_duration_seconds", "Duration of one step attempt", "steps"),
            ("waypost_wake_lateness_seconds", "How long after a sleep's end the instance went on", "late"),
        ):
            hist_family = HistogramMetricFamily(metric, help_text, labels=["workflow"])
            for workflow, tally in tallies:
                hist = getattr(tally, attr)
                hist_family.add_metric([workflow], hist.buckets(), hist.total)
            yield hist_family
        flush = HistogramMetricFamily(
            "waypost_journal_flush_duration_seconds", "Time to make journal lines durable"
        )
        flush.add_metric([], m.flush_seconds.buckets(), m.flush_seconds.total)
        yield flush
        ticks = sorted(dict(m.ticks).items())
        for index, (name, help_text) in enumerate(
            (("fired", "Schedule ticks fired"), ("missed", "Schedule ticks missed while no host ran"))
        ):
            family = CounterMetricFamily(f"waypost_schedule_ticks_{name}", help_text, labels=["target"])
            for target, counts in ticks:
                family.add_metric([target], counts[index])
            yield family
        instances = GaugeMetricFamily(
            "waypost_instances", "Stored instances by workflow and status", labels=["workflow", "status"]
        )
        for workflow, by_status in sorted(m._counts().items()):
            for state, number in sorted(by_status.items()):
                instances.add_metric([workflow, state], number)
        yield instances
        yield GaugeMetricFamily("waypost_loaded_instances", "Instances loaded in memory now", m._loaded())


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
        elif kind == "status" and status_log.isEnabledFor(logging.INFO):
            self._log_status(entry)

    def _log_status(self, entry: dict[str, Any]) -> None:
        status = entry.get("status") or "queued"
        fields: dict[str, Any] = {
            "workflow": self._inner.workflow,
            "instance_id": self._inner.instance_id,
            "status": status,
        }
        if entry.get("error"):
            fields["error"] = entry["error"]
        where = f"{fields['workflow']}/{fields['instance_id']}"
        status_log.info("instance %s %s", where, status, extra={"fields": fields})


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
