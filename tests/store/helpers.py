"""Documents, entries and waits the store contract tests share."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio

from host.workflows.entries import ReplayState, replay_state
from host.workflows.status import iso, status_document
from host.workflows.store import InstanceStore, Lease

T = TypeVar("T")
WF = "orders"
FAR = 4_000_000_000.0  # a due time far in the future (2096), on a whole millisecond


def make_meta(
    instance_id: str, workflow: str = WF, created: float | None = None, params: Any = None
) -> dict[str, Any]:
    """An instance document as the engine makes one (instance.json's content)."""
    now = round(time.time(), 3) if created is None else created
    return {
        "id": instance_id,
        "workflow": workflow,
        "params": {"n": 1} if params is None else params,
        "created_on": iso(now),
        "created_on_epoch": now,
        "trigger_source": "api",
    }


def queued_status(meta: dict[str, Any]) -> dict[str, Any]:
    return status_document(meta, ReplayState(), now=meta["created_on_epoch"])


async def create(
    store: InstanceStore,
    instance_id: str,
    workflow: str = WF,
    created: float | None = None,
    params: Any = None,
) -> dict[str, Any]:
    """Create a queued instance; returns its instance document."""
    meta = make_meta(instance_id, workflow, created, params)
    await store.create(meta, queued_status(meta))
    return meta


def step_start(count: int, name: str = "s", t: float = 1_700_000_000.5) -> dict[str, Any]:
    return {"type": "step_start", "name": name, "count": count, "attempt": 1, "t": t}


def step_done(count: int, result: Any = None, name: str = "s", t: float = 1_700_000_000.75) -> dict[str, Any]:
    return {"type": "step_done", "name": name, "count": count, "result": result, "t": t}


def status_entry(status: str, t: float = 1_700_000_001.5, **fields: Any) -> dict[str, Any]:
    return {"type": "status", "status": status, "t": t, **fields}


def is_queued_line(entry: dict[str, Any]) -> bool:
    return entry.get("type") == "status" and entry.get("status") == "queued"


async def eventually(condition: Callable[[], T], what: str, timeout: float = 10.0) -> T:
    """Poll `condition` (yielding to the event loop) until it is truthy; AssertionError after
    `timeout`. Exceptions count as "not yet"; the last one is shown."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - "not yet"
            last = exc
        if time.monotonic() >= deadline:
            detail = f" (last error: {last!r})" if last else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{detail}")
        await anyio.sleep(0.002)


def opened(store: InstanceStore, instance_id: str, workflow: str = WF) -> Lease:
    """The instance's lease, which must be free now."""
    lease = store.open(workflow, instance_id)
    assert lease is not None, f"{workflow}/{instance_id} is locked"
    return lease


def dues(store: InstanceStore, instance_id: str, workflow: str = WF) -> list[float]:
    """The due times the index holds for one instance, soonest first."""
    return sorted(due for due, iid in store.due(workflow) if iid == instance_id)


def folder(data_dir: Path, instance_id: str, workflow: str = WF) -> Path:
    """An instance's folder (SPEC 4.1: the layout is user-facing)."""
    return data_dir / "workflows" / workflow / "instances" / instance_id


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file and folder under `root`: relative path -> bytes (None for a folder)."""
    found: dict[str, bytes | None] = {}
    for base, dirs, files in os.walk(root):
        for name in dirs:
            found[os.path.relpath(os.path.join(base, name), root)] = None
        for name in files:
            path = os.path.join(base, name)
            found[os.path.relpath(path, root)] = Path(path).read_bytes()
    return found


async def create_final(
    store: InstanceStore,
    instance_id: str,
    retention: dict[str, float] | None,
    ended: float,
    status: str = "complete",
    workflow: str = WF,
) -> None:
    """Create an instance that ended in `status` at `ended`, with `retention` (seconds), as the
    engine leaves one: its final status journaled and written, then released."""
    meta = make_meta(instance_id, workflow)
    if retention is not None:
        meta["retention"] = retention
    await store.create(meta, queued_status(meta))
    lease = store.open(workflow, instance_id)
    assert lease is not None
    entry = status_entry(status, t=ended, **({"output": 1} if status == "complete" else {}))
    lease.append(dict(entry))
    await lease.flush()
    lease.write_status(status_document(meta, replay_state([*lease.entries, entry])))
    await lease.release(None, set())
