"""The store's paged listing (the dashboard's instance list) against real instance folders: newest
first, filtered, searched, paged; and its counts by status, which follow status changes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from host.store.filestore import FileStore
from host.workflows.entries import ReplayState
from host.workflows.status import iso, status_document

pytestmark = pytest.mark.anyio


async def make(store: FileStore, instance_id: str, created: float) -> None:
    meta = {
        "id": instance_id,
        "workflow": "wf",
        "params": {},
        "created_on": iso(created),
        "created_on_epoch": created,
        "trigger_source": "api",
    }
    await store.create(meta, status_document(meta, ReplayState(), created))
    folder = Path(store.folder("wf", instance_id))
    os.utime(folder / "instance.json", (created, created))  # the order the listing sorts by


async def finish(store: FileStore, instance_id: str, status: str) -> None:
    lease = store.open("wf", instance_id)
    assert lease is not None
    document = dict(store.read_status("wf", instance_id), status=status)
    lease.append({"type": "status", "status": status})
    lease.write_status(document)
    await lease.flush()
    await lease.release(None, set())


async def test_pages_newest_first_with_filter_and_search(tmp_path: Path) -> None:
    store = FileStore(tmp_path, "relaxed")
    base = time.time() - 100
    for n in range(7):
        await make(store, f"job-{n}", base + n)
    await make(store, "other", base + 50)
    docs, more = store.listing("wf", None, "", 0, 3)
    assert [d["id"] for d in docs] == ["other", "job-6", "job-5"] and more
    docs, more = store.listing("wf", None, "", 6, 3)
    assert [d["id"] for d in docs] == ["job-1", "job-0"] and not more
    docs, _ = store.listing("wf", None, "JOB-", 0, 100)
    assert [d["id"] for d in docs] == [f"job-{n}" for n in range(6, -1, -1)]
    await finish(store, "job-3", "complete")
    docs, more = store.listing("wf", "complete", "", 0, 10)
    assert [d["id"] for d in docs] == ["job-3"] and not more
    assert store.status_counts("wf") == {"queued": 7, "complete": 1}
    # a new instance shows at once, first
    await make(store, "newest", time.time())
    assert store.listing("wf", None, "", 0, 1)[0][0]["id"] == "newest"
    assert store.status_counts("wf") == {"queued": 8, "complete": 1}
    await store.aclose()


async def test_a_settled_status_that_changes_again_is_counted_anew(tmp_path: Path) -> None:
    store = FileStore(tmp_path, "relaxed")
    await make(store, "a", time.time() - 10)
    await finish(store, "a", "complete")
    assert store.status_counts("wf") == {"complete": 1}
    store.put_inbox("wf", "a", "control", {"action": "restart"})  # signals it in the due index
    lease = store.open("wf", "a")
    assert lease is not None
    lease.write_status(dict(store.read_status("wf", "a"), status="queued"))
    await lease.release(time.time(), set())
    assert store.status_counts("wf") == {"queued": 1}
    await store.aclose()


async def test_a_paused_instance_resumed_by_another_process_is_counted_anew(tmp_path: Path) -> None:
    """No due entry is left to say so (the resume was taken): the workflow's left-settled log does."""
    store = FileStore(tmp_path, "relaxed")  # the dashboard's host
    await make(store, "p", time.time() - 10)
    await finish(store, "p", "paused")
    assert store.status_counts("wf") == {"paused": 1}
    other = FileStore(tmp_path, "relaxed")  # the host that took the resume
    await finish(other, "p", "running")
    await other.aclose()  # its writer has written status.json, then the log
    assert (tmp_path / "workflows" / "wf" / "left-settled.log").read_text() == "p\n"
    assert store.status_counts("wf") == {"running": 1}
    docs, _ = store.listing("wf", "running", "", 0, 10)
    assert [d["id"] for d in docs] == ["p"]
    await store.aclose()
