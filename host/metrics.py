"""Prometheus metrics of one host (SPEC 8), in a registry of its own, and the hooks that feed them.

Nothing here is global: a Host makes one Metrics and hands its hooks to the Dispatcher (requests)
and the Engine (an observer that wraps each lease it opens and watches the journal lines go by).
Labels are workflow and worker names and HTTP status codes, never instance ids.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from host.workflows.store import InboxItem, Lease

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
status_log = logging.getLogger("waypost.instance")  # one line per instance status change
_FAST = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_SLOW = (0.001, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)
_LATE = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 30.0)


class _Gauges(Collector):
    """Gauges read when scraped: instances by workflow and status, and instances loaded now."""

    def __init__(self, counts: Callable[[], Mapping[str, Mapping[str, int]]], loaded: Callable[[], int]):
        self.counts, self.loaded = counts, loaded

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "waypost_instances", "Stored instances by workflow and status", labels=["workflow", "status"]
        )
        for workflow, by_status in sorted(self.counts().items()):
            for status, count in sorted(by_status.items()):
                family.add_metric([workflow, status], count)
        yield family
        yield GaugeMetricFamily("waypost_loaded_instances", "Instances loaded in memory now", self.loaded())


class Metrics:
    """Every family of SPEC 8. `counts()` and `loaded()` are read at each scrape (set by attach())."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        r = self.registry
        self.requests = Counter(
            "waypost_http_requests",
            "Worker HTTP requests by worker and status",
            ["worker", "status"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "waypost_http_request_duration_seconds",
            "Worker request duration",
            ["worker"],
            buckets=_FAST,
            registry=r,
        )
        self.steps_started = Counter(
            "waypost_steps_started", "Step attempts started", ["workflow"], registry=r
        )
        self.steps_completed = Counter(
            "waypost_steps_completed", "Steps that succeeded", ["workflow"], registry=r
        )
        self.steps_failed = Counter(
            "waypost_steps_failed", "Steps that failed for good (retries exhausted)", ["workflow"], registry=r
        )
        self.steps_retried = Counter(
            "waypost_steps_retried", "Step attempts that failed and will be retried", ["workflow"], registry=r
        )
        self.step_seconds = Histogram(
            "waypost_step_duration_seconds",
            "Duration of one step attempt",
            ["workflow"],
            buckets=_SLOW,
            registry=r,
        )
        self.flush_seconds = Histogram(
            "waypost_journal_flush_duration_seconds",
            "Time to make journal lines durable",
            buckets=_FAST,
            registry=r,
        )
        self.wake_lateness = Histogram(
            "waypost_wake_lateness_seconds",
            "How long after a sleep's end the instance went on",
            ["workflow"],
            buckets=_LATE,
            registry=r,
        )
        self.schedule_fired = Counter(
            "waypost_schedule_ticks_fired", "Schedule ticks that started their work", ["workflow"], registry=r
        )
        self.schedule_missed = Counter(
            "waypost_schedule_ticks_missed",
            "Schedule ticks missed (the host was down or busy)",
            ["workflow"],
            registry=r,
        )
        self._counts: Callable[[], Mapping[str, Mapping[str, int]]] = dict
        self._loaded: Callable[[], int] = lambda: 0
        r.register(_Gauges(lambda: self._counts(), lambda: self._loaded()))

    def attach(
        self, counts: Callable[[], Mapping[str, Mapping[str, int]]], loaded: Callable[[], int]
    ) -> None:
        """Where the gauges read from: counts by workflow and status, and the loaded instances."""
        self._counts, self._loaded = counts, loaded

    def render(self) -> bytes:
        """The Prometheus text exposition of every family."""
        return generate_latest(self.registry)

    # -- hooks -----------------------------------------------------------------------------------

    def request(self, worker: str, status: int, seconds: float) -> None:
        """One worker request answered (the Dispatcher calls this)."""
        self.requests.labels(worker, str(status)).inc()
        self.request_seconds.labels(worker).observe(seconds)

    def observe(self, lease: Lease) -> Lease:
        """The lease the engine hands an activation: the same lease, counted (the Engine calls this)."""
        return cast(Lease, ObservedLease(lease, self))


class ObservedLease:
    """A Lease that tells Metrics about each journal line written through it, and times flushes."""

    def __init__(self, inner: Lease, metrics: Metrics) -> None:
        self._inner, self._metrics = inner, metrics
        workflow = inner.workflow
        self._started = metrics.steps_started.labels(workflow)
        self._completed = metrics.steps_completed.labels(workflow)
        self._failed = metrics.steps_failed.labels(workflow)
        self._retried = metrics.steps_retried.labels(workflow)
        self._duration = metrics.step_seconds.labels(workflow)
        self._attempts: dict[tuple[Any, Any], float] = {}  # (name, count) -> its attempt's start
        self._wake_at = _pending_sleep(inner.entries)

    # the Lease's data, as the inner lease has it
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
        self._metrics.flush_seconds.observe(time.perf_counter() - started)

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
        kind = entry.get("type")
        t = entry.get("t") or time.time()
        if self._wake_at is not None and kind not in ("control", "event"):
            late, self._wake_at = t - self._wake_at, None
            if late >= 0:
                self._metrics.wake_lateness.labels(self._inner.workflow).observe(late)
        if kind == "step_start":
            self._started.inc()
            self._attempts[(entry.get("name"), entry.get("count"))] = t
        elif kind in ("step_done", "step_fail", "step_error"):
            began = self._attempts.pop((entry.get("name"), entry.get("count")), None)
            if began is not None:
                self._duration.observe(max(0.0, t - began))
            if kind == "step_done":
                self._completed.inc()
            elif kind == "step_error":
                self._failed.inc()
            else:
                self._retried.inc()
        elif kind == "sleep":
            until = entry.get("until")
            self._wake_at = float(until) if isinstance(until, int | float) else None
        elif kind == "status":
            self._status(entry)

    def _status(self, entry: dict[str, Any]) -> None:
        if status_log.isEnabledFor(logging.INFO):
            status = entry.get("status") or "queued"
            fields = {
                "workflow": self._inner.workflow,
                "instance_id": self._inner.instance_id,
                "status": status,
            }
            if entry.get("error"):
                fields["error"] = entry["error"]
            status_log.info(
                "instance %s/%s %s",
                fields["workflow"],
                fields["instance_id"],
                status,
                extra={"fields": fields},
            )


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
