"""Prometheus metrics of one host (SPEC 8), in a registry of its own, and the hooks that feed them.

Nothing here is global: a Host makes one Metrics and hands its hooks to the Dispatcher (requests)
and the Engine (an observer that wraps each lease it opens and watches the journal lines go by).
Labels are workflow and worker names and HTTP status codes, never instance ids.

The hooks run on the event loop at every journal line and request, so they only add to plain ints
and bucket lists (a few hundred nanoseconds; prometheus_client's Counter and Histogram take a lock
and cost several microseconds a call); the families are built from those tallies when scraped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import cast

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from host.metrics_lease import Hist, ObservedLease, WorkflowTally
from host.workflows.store import Lease

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
FAST = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
STEP_COUNTERS = ("started", "completed", "failed", "retried")


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
