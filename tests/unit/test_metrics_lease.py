"""ObservedLease (the metrics hook) stands in for a Lease: every method of the Lease protocol is
its own, forwarding to the lease it wraps, and its tallies count what a real journal gets."""

from __future__ import annotations

import inspect
import time
from pathlib import Path

import pytest

from host.metrics import Metrics
from host.store.filestore import FileStore
from host.workflows import store as contract
from host.workflows.entries import ReplayState
from host.workflows.status import iso, status_document

pytestmark = pytest.mark.anyio


def test_every_lease_method_is_wrapped() -> None:
    from host.metrics_lease import ObservedLease

    wanted = {n for n, v in vars(contract.Lease).items() if inspect.isfunction(v) and not n.startswith("_")}
    assert wanted <= set(vars(ObservedLease)), wanted - set(vars(ObservedLease))


async def test_the_tallies_follow_the_journal(tmp_path: Path) -> None:
    store = FileStore(tmp_path, "relaxed")
    now = time.time()
    meta = {"id": "i", "workflow": "wf", "params": {}, "created_on": iso(now), "created_on_epoch": now}
    await store.create(meta, status_document(meta, ReplayState(), now))
    metrics = Metrics()
    inner = store.open("wf", "i")
    assert inner is not None
    lease = metrics.observe(inner)
    lease.append({"type": "step_start", "name": "a", "count": 1, "attempt": 1, "t": now})
    lease.append(
        {"type": "step_fail", "name": "a", "count": 1, "attempt": 1, "t": now + 0.5, "retry_at": now + 1}
    )
    lease.append({"type": "step_start", "name": "a", "count": 1, "attempt": 2, "t": now + 1})
    lease.append({"type": "step_done", "name": "a", "count": 1, "result": 1, "t": now + 1.25})
    lease.append({"type": "sleep", "name": "nap", "count": 1, "until": now + 2, "t": now + 1.3})
    lease.append({"type": "status", "status": "running", "t": now + 2.1})
    await lease.flush()
    await lease.release(None, set())
    tally = metrics.workflows["wf"]
    assert (tally.started, tally.completed, tally.retried, tally.failed) == (2, 1, 1, 0)
    assert sum(tally.steps.counts) == 2 and tally.steps.total == pytest.approx(0.75)
    assert sum(tally.late.counts) == 1 and tally.late.total == pytest.approx(0.1, abs=1e-6)
    assert sum(metrics.flush_seconds.counts) == 1
    entries, _ = store.read_journal("wf", "i")
    assert [e["type"] for e in entries][-2:] == ["sleep", "status"]  # all of it reached the journal
    await store.aclose()
