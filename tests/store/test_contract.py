"""The InstanceStore contract (host.workflows.store), run against every backend in impls.BACKENDS.

One behaviour per test, each stated by the Protocol's docstrings or SPEC 4. "Another process" is
played by a second store object on the same data directory (its own descriptors, caches and
threads), or by a real child process where the point is the process (locks, kill -9, races).
"""

from __future__ import annotations

import inspect
import json
import os
import random
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from host.errors import InstanceExists, InstanceNotFound
from host.workflows import store as contract
from host.workflows.store import InstanceStore
from tests.store.conftest import Stores
from tests.store.crash import Zygote, check_whole, kill_round, progress_lines, visible_ids, wait_progress
from tests.store.helpers import (
    FAR,
    WF,
    create,
    dues,
    eventually,
    folder,
    is_queued_line,
    make_meta,
    opened,
    queued_status,
    snapshot,
    status_entry,
    step_done,
    step_start,
)
from tests.store.impls import Backend

pytestmark = pytest.mark.anyio


# ---- the interface ------------------------------------------------------------------------------


def _members(protocol: type) -> dict[str, Any]:
    return {
        name: value
        for name, value in vars(protocol).items()
        if inspect.isfunction(value) and not name.startswith("_")
    }


async def test_implementations_match_the_protocol(store: InstanceStore) -> None:
    """Every method has the Protocol's parameters and is async exactly where the Protocol's is."""
    await create(store, "i-1")
    lease = opened(store, "i-1")
    wrong = []
    for protocol, obj in ((contract.InstanceStore, store), (contract.Lease, lease)):
        for name, spec in _members(protocol).items():
            impl = getattr(type(obj), name, None)
            if impl is None:
                wrong.append(f"{type(obj).__name__}.{name} is missing")
                continue
            if inspect.iscoroutinefunction(impl) != inspect.iscoroutinefunction(spec):
                wanted = "async" if inspect.iscoroutinefunction(spec) else "not async"
                wrong.append(f"{type(obj).__name__}.{name} should be {wanted}")
            if list(inspect.signature(impl).parameters) != list(inspect.signature(spec).parameters):
                have, want = inspect.signature(impl), inspect.signature(spec)
                wrong.append(f"{type(obj).__name__}.{name}{have} should take {want}")
    await lease.release(None, set())
    assert wrong == []


async def test_durable_says_whether_writes_are_fsynced(store: InstanceStore, backend: Backend) -> None:
    assert store.durable is backend.durable


# ---- create ----------------------------------------------------------------------------------------


async def test_created_instance_exists(store: InstanceStore) -> None:
    assert not store.exists(WF, "i-1")
    await create(store, "i-1")
    assert store.exists(WF, "i-1")


async def test_created_instance_reads_as_queued(store: InstanceStore) -> None:
    await create(store, "i-1")
    status = store.read_status(WF, "i-1")
    assert (status["status"], status["id"], status["workflow"]) == ("queued", "i-1", WF)


async def test_created_journal_starts_with_a_queued_entry_holding_the_instance(store: InstanceStore) -> None:
    meta = await create(store, "i-1", params={"order": 7})
    entries, problems = store.read_journal(WF, "i-1")
    assert problems == []
    assert is_queued_line(entries[0]) and entries[0]["instance"] == meta


async def test_create_of_an_existing_id_raises_and_changes_nothing(
    store: InstanceStore, data_dir: Path
) -> None:
    await create(store, "i-1", params={"v": 1})
    before = snapshot(data_dir)
    with pytest.raises(InstanceExists):
        await create(store, "i-1", params={"v": 2})
    assert snapshot(data_dir) == before
    assert store.read_journal(WF, "i-1")[0][0]["instance"]["params"] == {"v": 1}


async def test_created_instances_are_listed(store: InstanceStore) -> None:
    await create(store, "i-1")
    await create(store, "i-2")
    await create(store, "other", workflow="billing")
    assert sorted(doc["id"] for doc in store.statuses(WF)) == ["i-1", "i-2"]


async def test_created_instance_is_due_at_its_creation_time(store: InstanceStore) -> None:
    await create(store, "i-1", created=1_700_000_000.25)
    assert dues(store, "i-1") == [pytest.approx(1_700_000_000.25, abs=0.002)]


async def test_created_instances_workflow_is_listed(store: InstanceStore) -> None:
    assert store.workflows() == []
    await create(store, "i-1")
    await create(store, "b-1", workflow="billing")
    assert sorted(store.workflows()) == ["billing", WF]


async def test_workflow_times_are_none_without_instances(store: InstanceStore) -> None:
    assert store.workflow_times(WF) is None
    await create(store, "b-1", workflow="billing")
    assert store.workflow_times(WF) is None


async def _clock_past(moment: float) -> None:
    """Wait until the clock (and so any file time stamped now) is clearly past `moment`."""
    await eventually(lambda: time.time() > moment + 0.02, "the clock to move on")


async def test_workflow_times_last_change_moves_with_a_new_instance(store: InstanceStore) -> None:
    await create(store, "i-1")
    times = store.workflow_times(WF)
    assert times is not None and times[0] <= times[1]
    await _clock_past(times[1])
    await create(store, "i-2")
    later = store.workflow_times(WF)
    assert later is not None and later[1] > times[1], (times, later)


async def test_workflow_times_first_store_stays_when_the_index_is_rebuilt(
    stores: Stores, data_dir: Path
) -> None:
    store = stores.new()
    await create(store, "i-1")
    times = store.workflow_times(WF)
    assert times is not None
    await _clock_past(times[1])
    shutil.rmtree(data_dir / "workflows" / WF / "pending")
    stores.new().prepare(WF)
    later = stores.new().workflow_times(WF)
    assert later is not None and later[0] == times[0], (times, later)


# ---- open ------------------------------------------------------------------------------------------


async def test_open_gives_a_lease_with_the_instance_and_its_journal(store: InstanceStore) -> None:
    meta = await create(store, "i-1")
    lease = opened(store, "i-1")
    assert (lease.workflow, lease.instance_id, lease.meta, lease.damage) == (WF, "i-1", meta, None)
    assert len(lease.entries) == 1 and is_queued_line(lease.entries[0])


async def test_open_of_a_held_instance_gives_none(store: InstanceStore, stores: Stores) -> None:
    await create(store, "i-1")
    assert store.open(WF, "i-1") is not None
    assert store.open(WF, "i-1") is None  # the same store: a new open file description conflicts
    assert stores.new().open(WF, "i-1") is None


async def test_open_of_an_instance_another_process_holds_gives_none(
    store: InstanceStore, backend: Backend, data_dir: Path, zygote: Zygote
) -> None:
    await create(store, "i-1")
    progress = data_dir.parent / "hold.progress"
    job = {
        "mode": "hold",
        "backend": backend.name,
        "data_dir": str(data_dir),
        "workflow": WF,
        "instance": "i-1",
        "progress": str(progress),
    }
    pid = zygote.fork(job)
    try:
        wait_progress(progress, "started")
        assert store.open(WF, "i-1") is None
    finally:
        os.kill(pid, 9)
        zygote.reap(pid)
    assert store.open(WF, "i-1") is not None  # a killed holder's lock is gone with it


async def test_released_instance_opens_again(store: InstanceStore) -> None:
    await create(store, "i-1")
    lease = opened(store, "i-1")
    await lease.release(None, set())
    assert store.open(WF, "i-1") is not None  # unlocked when release returns


async def test_open_of_a_missing_instance_raises_not_found(store: InstanceStore) -> None:
    await create(store, "i-1")
    with pytest.raises(InstanceNotFound):
        store.open(WF, "nope")
    with pytest.raises(InstanceNotFound):
        store.open("no-such-workflow", "i-1")


# ---- append and flush ------------------------------------------------------------------------------


async def test_flushed_entries_are_what_a_new_open_reads(store: InstanceStore, stores: Stores) -> None:
    await create(store, "i-1")
    lease = opened(store, "i-1")
    written = [step_start(1), step_done(1, {"a": 1}), status_entry("running"), step_start(2)]
    for entry in written:
        lease.append(dict(entry))
    await lease.flush()
    await lease.release(FAR, set())
    again = opened(stores.new(), "i-1")
    assert again.damage is None
    assert again.entries[1:] == written


async def test_appended_entries_are_written_when_append_returns(store: InstanceStore, stores: Stores) -> None:
    await create(store, "i-1")
    lease = opened(store, "i-1")
    lease.append(step_start(1))
    entries, problems = stores.new().read_journal(WF, "i-1")  # before any flush
    assert problems == [] and entries[1:] == [step_start(1)]


async def test_raw_fields_are_spliced_in_as_json(store: InstanceStore, stores: Stores) -> None:
    await create(store, "i-1")
    lease = opened(store, "i-1")
    lease.append({"type": "step_done", "name": "s", "count": 1, "t": 5.0}, raw={"result": '{"a":1}'})
    await lease.flush()
    await lease.release(FAR, set())
    again = opened(stores.new(), "i-1")
    assert again.entries[1] == {"type": "step_done", "name": "s", "count": 1, "t": 5.0, "result": {"a": 1}}


async def test_journal_lines_on_disk_are_json_objects(store: InstanceStore, data_dir: Path) -> None:
    await create(store, "i-1")
    lease = opened(store, "i-1")
    lease.append(step_start(1))
    lease.append(status_entry("running", output='é\n"x"'))
    lease.append({"type": "step_done", "name": "s", "count": 1, "t": 5.0}, raw={"result": '{"a":[1,2]}'})
    await lease.flush()
    lines = (folder(data_dir, "i-1") / "journal.jsonl").read_bytes().split(b"\n")
    assert lines[-1] == b""
    parsed = [json.loads(line) for line in lines[:-1]]  # what cat | jq does
    assert all(isinstance(value, dict) for value in parsed) and len(parsed) == 4
    assert parsed[2]["output"] == 'é\n"x"' and parsed[3]["result"] == {"a": [1, 2]}


async def test_failed_append_leaves_the_journal_as_it_was(
    store: InstanceStore, stores: Stores, data_dir: Path
) -> None:
    await create(store, "i-1")
    lease = opened(store, "i-1")
    lease.append(step_start(1))
    before = (folder(data_dir, "i-1") / "journal.jsonl").read_bytes()
    with pytest.raises(Exception):  # noqa: B017 - any error; what matters is what is left
        lease.append(step_done(1, object()))  # not JSON
    assert (folder(data_dir, "i-1") / "journal.jsonl").read_bytes() == before
    lease.append(step_start(3))
    await lease.flush()
    await lease.release(FAR, set())
    again = opened(stores.new(), "i-1")
    assert again.damage is None and again.entries[1:] == [step_start(1), step_start(3)]


async def test_write_failing_part_way_leaves_the_journal_as_it_was(
    store: InstanceStore, backend: Backend, data_dir: Path, zygote: Zygote
) -> None:
    await create(store, "i-1")
    journal = folder(data_dir, "i-1") / "journal.jsonl"
    before = journal.read_bytes()
    progress = data_dir.parent / "too-big.progress"
    job = {
        "mode": "too_big",
        "backend": backend.name,
        "data_dir": str(data_dir),
        "workflow": WF,
        "instance": "i-1",
        "progress": str(progress),
    }
    status = zygote.reap(zygote.fork(job))  # the child's file size limit fails its write part-way
    lines = progress_lines(progress)
    assert status == 0 and any(line.startswith("raised ") for line in lines), lines
    assert "raised nothing" not in lines
    assert journal.read_bytes() == before
    lease = opened(store, "i-1")
    assert lease.damage is None and len(lease.entries) == 1


# ---- damage ----------------------------------------------------------------------------------------


async def _journal_of_four_lines(stores: Stores, data_dir: Path) -> Path:
    store = stores.new()
    await create(store, "i-1")
    lease = opened(store, "i-1")
    for count in (1, 2, 3):
        lease.append(step_start(count))
    await lease.flush()
    await lease.release(FAR, set())
    await stores.finish(store)
    return folder(data_dir, "i-1") / "journal.jsonl"


def _change_a_digit(path: Path, line_number: int) -> bytes:
    lines = path.read_bytes().split(b"\n")
    line = lines[line_number - 1]
    assert b'"attempt":1' in line
    lines[line_number - 1] = line.replace(b'"attempt":1', b'"attempt":7')
    json.loads(lines[line_number - 1])  # still valid JSON: only a check of the line can tell
    path.write_bytes(b"\n".join(lines))
    return path.read_bytes()


async def test_changed_line_is_damage_naming_the_file_and_line(stores: Stores, data_dir: Path) -> None:
    path = await _journal_of_four_lines(stores, data_dir)
    _change_a_digit(path, 3)
    lease = opened(stores.new(), "i-1")
    assert lease.damage is not None
    assert "journal.jsonl" in lease.damage and re.search(r"\bline 3\b", lease.damage), lease.damage


async def test_damaged_journal_is_left_as_it_was(stores: Stores, data_dir: Path) -> None:
    path = await _journal_of_four_lines(stores, data_dir)
    damaged = _change_a_digit(path, 2)
    lease = opened(stores.new(), "i-1")
    assert lease.damage is not None
    await lease.release(None, set())
    assert path.read_bytes() == damaged


async def test_torn_last_line_is_dropped_silently(stores: Stores, data_dir: Path) -> None:
    path = await _journal_of_four_lines(stores, data_dir)
    whole = path.read_bytes()
    with open(path, "ab") as fh:
        fh.write(b'{"type":"step_done","name":"s","cou')
    lease = opened(stores.new(), "i-1")
    assert lease.damage is None
    assert lease.entries[1:] == [step_start(1), step_start(2), step_start(3)]
    assert path.read_bytes() == whole  # cut off


async def test_append_after_a_torn_line_starts_a_whole_line(stores: Stores, data_dir: Path) -> None:
    path = await _journal_of_four_lines(stores, data_dir)
    with open(path, "ab") as fh:
        fh.write(b'{"type":"step_st')
    lease = opened(stores.new(), "i-1")
    lease.append(step_start(4))
    await lease.flush()
    await lease.release(FAR, set())
    again = opened(stores.new(), "i-1")
    assert again.damage is None and again.entries[-1] == step_start(4)


async def test_read_journal_never_writes(stores: Stores, data_dir: Path) -> None:
    path = await _journal_of_four_lines(stores, data_dir)
    with open(path, "ab") as fh:
        fh.write(b'{"type":"step_st')
    torn = path.read_bytes()
    entries, problems = stores.new().read_journal(WF, "i-1")
    assert (len(entries), problems) == (4, [])  # the torn tail is being written: no problem
    assert path.read_bytes() == torn


# ---- status ----------------------------------------------------------------------------------------


def _running(meta: dict[str, Any], n: int) -> dict[str, Any]:
    return dict(queued_status(meta), status="running", step_count=n)


async def test_read_status_after_release_is_the_last_document_written(store: InstanceStore) -> None:
    meta = await create(store, "i-1")
    lease = opened(store, "i-1")
    lease.write_status(_running(meta, 1))
    lease.write_status(_running(meta, 2))
    await lease.release(FAR, set())
    assert store.read_status(WF, "i-1") == _running(meta, 2)


async def test_newest_of_quick_writes_is_on_disk_once_unlocked(
    store: InstanceStore, stores: Stores, data_dir: Path
) -> None:
    meta = await create(store, "i-1")
    lease = opened(store, "i-1")
    for n in range(200):
        lease.write_status(_running(meta, n))
    await lease.release(FAR, set())
    other = stores.new()
    opened(other, "i-1")  # unlocked only after the writes queued before the release
    assert json.loads((folder(data_dir, "i-1") / "status.json").read_bytes()) == _running(meta, 199)
    assert other.read_status(WF, "i-1") == _running(meta, 199)


async def test_aclose_finishes_queued_status_writes(stores: Stores, data_dir: Path) -> None:
    store = stores.new()
    meta = await create(store, "i-1")
    lease = opened(store, "i-1")
    for n in range(50):
        lease.write_status(_running(meta, n))
    await store.aclose()
    assert json.loads((folder(data_dir, "i-1") / "status.json").read_bytes()) == _running(meta, 49)


@pytest.mark.parametrize("spoil", ["deleted", "garbage", "empty", "cut"])
async def test_read_status_without_a_good_status_json_is_rebuilt_from_the_journal(
    store: InstanceStore, stores: Stores, data_dir: Path, spoil: str
) -> None:
    await create(store, "i-1")
    lease = opened(store, "i-1")
    lease.append(status_entry("running"))
    lease.append(step_start(1))
    await lease.flush()
    await lease.release(FAR, set())
    status_json = folder(data_dir, "i-1") / "status.json"
    if spoil == "deleted":
        status_json.unlink()
    else:
        status_json.write_bytes(
            {"garbage": b"\x00\xffnot json", "empty": b"", "cut": status_json.read_bytes()[:20]}[spoil]
        )
    status = stores.new().read_status(WF, "i-1")
    assert (status["status"], status["id"], status["workflow"]) == ("running", "i-1", WF)


# ---- inbox -----------------------------------------------------------------------------------------


async def test_inbox_holds_requests_oldest_first_with_kind_and_body(
    store: InstanceStore, stores: Stores
) -> None:
    await create(store, "i-1")
    sent: list[tuple[str, dict[str, Any]]] = [
        ("event", {"type": "paid", "payload": {"amount": 3}}),
        ("control", {"action": "pause", "source": "api"}),
        ("event", {"type": "shipped", "payload": None}),
    ]
    other = stores.new()
    names = [other.put_inbox(WF, "i-1", kind, body) for kind, body in sent]
    lease = opened(store, "i-1")
    items = lease.inbox()
    assert [item.name for item in items] == names
    assert [item.kind for item in items] == [kind for kind, _ in sent]
    for item, (_, body) in zip(items, sent, strict=True):
        assert item.body.items() >= body.items()  # the store may add its own fields (such as kind)


async def test_inbox_done_removes_the_request(store: InstanceStore, data_dir: Path) -> None:
    await create(store, "i-1")
    first = store.put_inbox(WF, "i-1", "event", {"type": "a", "payload": 1})
    second = store.put_inbox(WF, "i-1", "event", {"type": "b", "payload": 2})
    lease = opened(store, "i-1")
    lease.inbox_done(first)
    await lease.release(FAR, {first, second})
    again = opened(store, "i-1")
    assert [item.name for item in again.inbox()] == [second]
    on_disk = [
        json.loads(p.read_bytes())
        for p in (folder(data_dir, "i-1") / "inbox").iterdir()
        if not p.name.startswith(".")
    ]
    assert [body["type"] for body in on_disk] == ["b"]


async def test_pending_actions_are_the_waiting_control_requests(store: InstanceStore) -> None:
    await create(store, "i-1")
    assert store.pending_actions(WF, "i-1") == ()
    store.put_inbox(WF, "i-1", "control", {"action": "pause", "source": "api"})
    store.put_inbox(WF, "i-1", "event", {"type": "a", "payload": 1})
    store.put_inbox(WF, "i-1", "control", {"action": "terminate", "source": "cli"})
    assert sorted(store.pending_actions(WF, "i-1")) == ["pause", "terminate"]


async def test_put_inbox_to_a_missing_instance_raises_not_found(store: InstanceStore) -> None:
    await create(store, "i-1")
    with pytest.raises(InstanceNotFound):
        store.put_inbox(WF, "nope", "event", {"type": "a", "payload": 1})
    with pytest.raises(InstanceNotFound):
        store.put_inbox("no-such-workflow", "i-1", "control", {"action": "pause", "source": "api"})


# ---- due and release -------------------------------------------------------------------------------


async def test_release_with_a_due_time_leaves_only_that_entry(store: InstanceStore) -> None:
    await create(store, "i-1", created=1_700_000_000.0)
    lease = opened(store, "i-1")
    await lease.release(FAR, set())
    assert dues(store, "i-1") == [FAR]


async def test_release_by_another_process_leaves_only_that_entry(
    store: InstanceStore, stores: Stores
) -> None:
    await create(store, "i-1", created=1_700_000_000.0)  # the API process creates it
    lease = opened(stores.new(), "i-1")  # a host that has not listed due() since
    await lease.release(FAR, set())
    assert dues(store, "i-1") == [FAR]


async def test_release_replaces_a_signal_another_process_left(store: InstanceStore, stores: Stores) -> None:
    await create(store, "i-1")
    name = stores.new().put_inbox(WF, "i-1", "event", {"type": "a", "payload": 1})
    lease = opened(store, "i-1")
    assert [item.name for item in lease.inbox()] == [name]
    await lease.release(FAR, {name})  # looked at it (no wait for it yet): due later, not now
    assert dues(store, "i-1") == [FAR]


async def test_release_with_no_due_time_leaves_no_entry(store: InstanceStore) -> None:
    await create(store, "i-1")
    lease = opened(store, "i-1")
    await lease.release(None, set())
    assert dues(store, "i-1") == []


async def test_mark_due_records_when_the_instance_needs_a_host(store: InstanceStore, stores: Stores) -> None:
    await create(store, "i-1")
    lease = opened(store, "i-1")
    lease.mark_due(FAR)
    other = stores.new()
    await eventually(lambda: FAR in dues(other, "i-1"), "the mark to land")


async def test_put_inbox_signals_the_instance_due_at_zero(store: InstanceStore, stores: Stores) -> None:
    await create(store, "i-1")
    lease = opened(store, "i-1")
    await lease.release(None, set())
    stores.new().put_inbox(WF, "i-1", "control", {"action": "terminate", "source": "api"})
    assert dues(store, "i-1") == [0.0]


async def test_put_inbox_by_another_process_changes_the_change_token(
    store: InstanceStore, stores: Stores
) -> None:
    await create(store, "i-1")
    other = stores.new()
    lease = opened(store, "i-1")
    for n in range(20):  # again and again: a token coarser than the writes would repeat itself
        before = store.change_token(WF)
        other.put_inbox(WF, "i-1", "event", {"type": "a", "payload": n})
        assert store.change_token(WF) != before, f"round {n}"
        await lease.release(FAR + n, {item.name for item in lease.inbox()})
        lease = opened(store, "i-1")  # the release has moved the entry just before


async def test_release_not_seeing_a_request_leaves_the_instance_due_at_once(
    store: InstanceStore, stores: Stores
) -> None:
    await create(store, "i-1")
    lease = opened(store, "i-1")
    seen = {item.name for item in lease.inbox()}
    stores.new().put_inbox(WF, "i-1", "event", {"type": "late", "payload": 1})  # after the look
    await lease.release(FAR, seen)
    # at once: now, give or take the index's millisecond (it rounds due times up)
    assert dues(store, "i-1")[0] <= time.time() + 0.001


# ---- reset -----------------------------------------------------------------------------------------


async def _reset_instance(store: InstanceStore) -> None:
    """An instance with three entries, one event and one control request, then reset and released."""
    await create(store, "i-1")
    store.put_inbox(WF, "i-1", "event", {"type": "a", "payload": 1})
    store.put_inbox(WF, "i-1", "control", {"action": "restart", "source": "api"})
    lease = opened(store, "i-1")
    lease.append(status_entry("running"))
    lease.append(step_start(1))
    await lease.flush()
    lease.reset()
    await lease.flush()
    await lease.release(0.0, {item.name for item in lease.inbox()})


async def test_reset_empties_the_journal(stores: Stores) -> None:
    await _reset_instance(stores.new())
    lease = opened(stores.new(), "i-1")
    assert lease.damage is None
    assert lease.entries == [] or (len(lease.entries) == 1 and is_queued_line(lease.entries[0])), (
        lease.entries
    )


async def test_reset_keeps_the_old_bytes_beside_the_journal(store: InstanceStore, data_dir: Path) -> None:
    await create(store, "i-1")
    lease = opened(store, "i-1")
    lease.append(status_entry("running"))
    lease.append(step_start(1))
    await lease.flush()
    old = (folder(data_dir, "i-1") / "journal.jsonl").read_bytes()
    lease.reset()
    await lease.flush()
    await lease.release(0.0, set())
    copies = sorted(folder(data_dir, "i-1").glob("journal.*.restarted.jsonl"))
    assert [copy.read_bytes() for copy in copies] == [old]


async def test_reset_drops_events_and_keeps_control_requests(stores: Stores, data_dir: Path) -> None:
    await _reset_instance(stores.new())
    lease = opened(stores.new(), "i-1")
    assert [(item.kind, item.body["action"]) for item in lease.inbox()] == [("control", "restart")]
    left = [
        json.loads(p.read_bytes())
        for p in (folder(data_dir, "i-1") / "inbox").iterdir()
        if not p.name.startswith(".")
    ]
    assert [body.get("action") for body in left] == ["restart"]


async def test_reset_keeps_the_instance_locked(store: InstanceStore, stores: Stores) -> None:
    await create(store, "i-1")
    lease = opened(store, "i-1")
    lease.reset()
    await lease.flush()
    assert stores.new().open(WF, "i-1") is None


async def test_entries_appended_after_reset_are_the_whole_journal(
    store: InstanceStore, stores: Stores
) -> None:
    meta = await create(store, "i-1")
    lease = opened(store, "i-1")
    lease.append(step_start(1))
    first = lease.reset()  # the journal starts again with the queued status holding the instance
    assert first["status"] == "queued" and first["instance"] == meta
    fresh = [step_start(1, "again")]
    for entry in fresh:
        lease.append(dict(entry))
    await lease.flush()
    await lease.release(0.0, set())
    again = opened(stores.new(), "i-1")
    assert again.damage is None and again.entries == [first, *fresh]


# ---- prepare ---------------------------------------------------------------------------------------


async def _finish(store: InstanceStore, instance_id: str) -> None:
    lease = opened(store, instance_id)
    lease.append(status_entry("complete", output=1))
    await lease.flush()
    lease.write_status(dict(queued_status(lease.meta), status="complete", output=1))
    await lease.release(None, set())


async def test_prepare_rebuilds_a_deleted_due_index(stores: Stores, data_dir: Path) -> None:
    store = stores.new()
    for n in range(5):
        await create(store, f"i-{n}")
    await _finish(store, "i-0")
    await stores.finish(store)
    shutil.rmtree(data_dir / "workflows" / WF / "pending")
    fresh = stores.new()  # a host starting on the data directory
    assert fresh.due(WF) == []
    fresh.prepare(WF)
    assert sorted(iid for _, iid in fresh.due(WF)) == ["i-1", "i-2", "i-3", "i-4"]


async def test_prepare_rebuilds_an_index_a_signal_made_again(stores: Stores, data_dir: Path) -> None:
    store = stores.new()
    for n in range(3):
        await create(store, f"i-{n}")
    shutil.rmtree(data_dir / "workflows" / WF / "pending")
    stores.new().put_inbox(WF, "i-2", "control", {"action": "pause", "source": "cli"})  # the CLI
    fresh = stores.new()
    fresh.prepare(WF)
    assert sorted({iid for _, iid in fresh.due(WF)}) == ["i-0", "i-1", "i-2"]


async def test_prepare_skips_bad_instance_folders(stores: Stores, data_dir: Path) -> None:
    store = stores.new()
    await create(store, "i-1")
    await create(store, "i-2")
    await stores.finish(store)
    instances = data_dir / "workflows" / WF / "instances"
    (instances / "empty").mkdir()
    (instances / "a-file").write_text("not a folder")
    (instances / "unreadable").mkdir()
    (instances / "unreadable" / "status.json").mkdir()  # a folder where a file belongs
    shutil.rmtree(data_dir / "workflows" / WF / "pending")
    fresh = stores.new()
    fresh.prepare(WF)
    assert {"i-1", "i-2"} <= {iid for _, iid in fresh.due(WF)}


async def test_processes_preparing_a_fresh_copy_at_once_both_succeed(
    stores: Stores, backend: Backend, tmp_path: Path, zygote: Zygote
) -> None:
    store = stores.new()
    for n in range(30):
        await create(store, f"i-{n:02}")
    await _finish(store, "i-00")
    await stores.finish(store)
    template = stores.data_dir
    shutil.rmtree(template / "workflows" / WF / "pending")
    for round_ in range(8):
        copy = tmp_path / f"copy-{round_}"
        shutil.copytree(template, copy)
        go = tmp_path / f"go-{round_}"
        children = []
        for side in "ab":
            progress = tmp_path / f"prepare-{round_}-{side}"
            job = {
                "mode": "prepare",
                "backend": backend.name,
                "data_dir": str(copy),
                "workflow": WF,
                "progress": str(progress),
                "go": str(go),
            }
            children.append((zygote.fork(job), progress))
        for _, progress in children:
            wait_progress(progress, "started")
        go.touch()
        for pid, progress in children:
            status = zygote.reap(pid)
            assert status == 0 and "ok" in progress_lines(progress), (
                f"round {round_}: {progress_lines(progress)}"
            )
        due = backend.make(copy)
        try:
            ids = sorted(iid for _, iid in due.due(WF))
            assert ids == [f"i-{n:02}" for n in range(1, 30)], f"round {round_}"
        finally:
            await due.aclose()


# ---- kill -9 in the middle of each mutating method -------------------------------------------------

ROUNDS = 16


async def _kill_rounds(mode: str, stores: Stores, backend: Backend, zygote: Zygote, tmp_path: Path) -> None:
    rng = random.Random()
    data_dir = stores.data_dir
    setup = stores.new()
    idle = 0  # create rounds killed before the child's first create began (a loaded machine)
    for round_ in range(ROUNDS):
        target = f"t-{round_}"
        if mode != "create":
            await create(setup, target)
        if mode == "reset":
            setup.put_inbox(WF, target, "control", {"action": "pause", "source": "test"})
        job = {
            "mode": mode,
            "backend": backend.name,
            "data_dir": str(data_dir),
            "workflow": WF,
            "instance": target,
            "prefix": f"c{round_}-",
            "progress": str(tmp_path / f"{mode}-{round_}"),
        }
        report = kill_round(zygote, job, rng)
        if mode == "create" and not report.words("begin"):
            idle += 1
            continue
        checker = stores.new()  # a host starting after the crash
        try:
            await _after_kill(mode, checker, data_dir, target, report.words, round_)
        finally:
            await checker.aclose()
    assert idle <= ROUNDS // 2, f"{idle} of {ROUNDS} create rounds were killed before creating anything"


async def _after_kill(
    mode: str, store: InstanceStore, data_dir: Path, target: str, words: Any, round_: int
) -> None:
    where = f"{mode} round {round_}"
    if mode == "create":
        begun, done = words("begin"), words("done")
        due_ids = {iid for _, iid in store.due(WF)}
        for instance_id in done:  # create returned: it is there, and due
            assert store.exists(WF, instance_id), f"{where}: {instance_id} is gone"
            assert instance_id in due_ids, f"{where}: {instance_id} is not due"
        last = begun[-1]
        shown = store.exists(WF, last)
        assert shown == (last in visible_ids(data_dir)) == (last in {d["id"] for d in store.statuses(WF)}), (
            where
        )
        if not shown:
            with pytest.raises(InstanceNotFound):
                store.read_status(WF, last)
        store.prepare(WF)
        try:
            meta = make_meta(last)
            await store.create(meta, queued_status(meta))
        except InstanceExists:
            assert shown, f"{where}: {last} answers InstanceExists but is not shown"
        this_round = {iid for iid in visible_ids(data_dir) if iid.startswith(f"c{round_}-")}
        await check_whole(store, data_dir, this_round | set(done) | {last})
        return
    journals = await check_whole(store, data_dir, {target}, reset=mode == "reset")
    entries = journals[target]
    if mode == "append":
        steps = [(e["type"], e["count"], e.get("result")) for e in entries[1:]]
        expected = [
            ("step_start", i // 2 + 1, None) if i % 2 == 0 else ("step_done", i // 2 + 1, {"n": i // 2 + 1})
            for i in range(len(steps))
        ]
        assert steps == expected, f"{where}: the journal is not the appends in order"
        flushed = [int(w) for w in words("flushed")]
        assert not flushed or len(steps) >= 2 * flushed[-1], f"{where}: a flushed entry is gone"
    elif mode == "put_inbox":
        lease = store.open(WF, target)
        assert lease is not None
        names = {item.name for item in lease.inbox()}
        await lease.release(FAR, names)
        assert set(words("done")) <= names, f"{where}: a request put_inbox returned is gone"
    elif mode == "reset":
        lease = store.open(WF, target)
        assert lease is not None
        kinds = [item.kind for item in lease.inbox()]
        await lease.release(FAR, {item.name for item in lease.inbox()})
        assert "control" in kinds, f"{where}: reset dropped a control request"
        assert len([e for e in entries if not is_queued_line(e)]) <= 1, f"{where}: {entries}"
    elif mode == "release":
        for due in dues(store, target):
            assert due >= FAR or due == pytest.approx(
                store.read_status(WF, target)["created_on_epoch"], abs=0.002
            ), where
    elif mode == "write_status":
        assert store.read_status(WF, target)["status"] in ("queued", "running"), where


@pytest.mark.parametrize("mode", ["create", "append", "write_status", "put_inbox", "reset", "release"])
async def test_kill_during_a_write_leaves_every_instance_whole(
    mode: str, stores: Stores, backend: Backend, zygote: Zygote, tmp_path: Path
) -> None:
    await _kill_rounds(mode, stores, backend, zygote, tmp_path)
