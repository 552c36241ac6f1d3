"""The InstanceStore contract for removal (SPEC 3.11): delete(), sweep(), expiring(), and what
prepare() finishes; run against every backend, kill -9 included (as test_contract.py)."""

from __future__ import annotations

import os
import random
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from host.errors import InstanceNotFound, InvalidTransition
from host.workflows.store import InstanceStore
from tests.store.conftest import Stores
from tests.store.crash import Zygote, check_whole, kill_round, visible_ids
from tests.store.helpers import (
    FAR,
    WF,
    create,
    create_final,
    dues,
    folder,
    opened,
    snapshot,
    status_entry,
)
from tests.store.impls import Backend

pytestmark = pytest.mark.anyio
ENDED = 1_700_000_000.0  # long ago, on a whole millisecond
KEEP = {"success_retention": 60.0, "error_retention": 120.0}


def _leftovers(data_dir: Path, workflow: str = WF) -> list[str]:
    root = data_dir / "workflows" / workflow / "instances"
    return sorted(n for n in os.listdir(root) if n.startswith(".")) if root.is_dir() else []


async def _assert_gone(store: InstanceStore, data_dir: Path, instance_id: str) -> None:
    assert not store.exists(WF, instance_id)
    assert instance_id not in {doc["id"] for doc in store.statuses(WF)}
    with pytest.raises(InstanceNotFound):
        store.read_status(WF, instance_id)
    with pytest.raises(InstanceNotFound):
        store.open(WF, instance_id)
    assert dues(store, instance_id) == []
    assert instance_id not in {iid for _, iid in store.expiring(WF, FAR)}
    assert not folder(data_dir, instance_id).exists()


# ---- the expiry index --------------------------------------------------------------------------------


async def test_a_final_status_with_a_retention_records_its_expiry(
    store: InstanceStore, stores: Stores
) -> None:
    await create_final(store, "ok", KEEP, ENDED)
    await create_final(store, "bad", KEEP, ENDED, status="errored")
    await create_final(store, "kept", None, ENDED)
    other = stores.new()  # what another process reads
    assert other.expiring(WF, FAR) == [(ENDED + 60.0, "ok"), (ENDED + 120.0, "bad")]
    assert other.expiring(WF, ENDED + 61.0) == [(ENDED + 60.0, "ok")]
    assert other.read_status(WF, "ok")["expires_at"] == "2023-11-14T22:14:20Z"


async def test_a_retention_for_the_other_outcome_records_nothing(store: InstanceStore) -> None:
    await create_final(store, "ok", {"error_retention": 5.0}, ENDED)
    assert store.expiring(WF, FAR) == []
    assert store.read_status(WF, "ok")["expires_at"] is None


# ---- delete ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["complete", "errored", "terminated"])
async def test_delete_removes_a_final_instance_and_everything_of_it(
    status: str, store: InstanceStore, stores: Stores, data_dir: Path
) -> None:
    await create_final(store, "i-1", KEEP, ENDED, status=status)
    await create(store, "other")
    store.put_inbox(WF, "i-1", "control", {"action": "restart", "source": "api"})  # a signal too
    store.delete(WF, "i-1")
    for reader in (store, stores.new()):
        await _assert_gone(reader, data_dir, "i-1")
    assert _leftovers(data_dir) == []
    assert store.exists(WF, "other") and dues(store, "other")


async def test_delete_of_an_instance_that_has_not_ended_is_refused_and_changes_nothing(
    store: InstanceStore, data_dir: Path
) -> None:
    await create(store, "queued")
    lease = opened(store, "queued")
    lease.append(status_entry("waiting", wake_at=FAR))
    await lease.flush()
    await lease.release(FAR, set())
    before = snapshot(data_dir)
    with pytest.raises(InvalidTransition, match="terminate it first"):
        store.delete(WF, "queued")
    assert snapshot(data_dir) == before


async def test_delete_of_a_missing_instance_raises_not_found(store: InstanceStore) -> None:
    await create_final(store, "i-1", None, ENDED)
    with pytest.raises(InstanceNotFound):
        store.delete(WF, "nope")
    with pytest.raises(InstanceNotFound):
        store.delete("no-such-workflow", "i-1")


async def test_delete_of_an_instance_another_holder_keeps_is_refused(
    store: InstanceStore, stores: Stores, data_dir: Path
) -> None:
    await create_final(store, "i-1", None, ENDED)
    held = opened(stores.new(), "i-1")
    with pytest.raises(InvalidTransition, match="try again"):
        store.delete(WF, "i-1")
    assert store.exists(WF, "i-1") and _leftovers(data_dir) == []
    await held.release(None, set())
    store.delete(WF, "i-1")
    await _assert_gone(store, data_dir, "i-1")


async def test_an_id_can_be_used_again_after_its_delete(store: InstanceStore) -> None:
    await create_final(store, "i-1", None, ENDED)
    store.delete(WF, "i-1")
    meta = await create(store, "i-1", params={"again": True})
    assert store.read_status(WF, "i-1")["status"] == "queued" and dues(store, "i-1")
    assert opened(store, "i-1").meta == meta


async def test_a_lease_opened_before_a_delete_is_not_an_instance_after_it(
    store: InstanceStore, stores: Stores, data_dir: Path
) -> None:
    """The journal opened by a host just before the removal renamed it away: its lock, taken
    after, must not hand out the removed instance."""
    await create_final(store, "i-1", None, ENDED)
    journal = os.open(folder(data_dir, "i-1") / "journal.jsonl", os.O_RDONLY)
    try:
        store.delete(WF, "i-1")
        with pytest.raises(InstanceNotFound):
            stores.new().open(WF, "i-1")
    finally:
        os.close(journal)


async def test_put_inbox_after_a_delete_raises_not_found_and_makes_nothing(
    store: InstanceStore, data_dir: Path
) -> None:
    await create_final(store, "i-1", None, ENDED)
    store.delete(WF, "i-1")
    with pytest.raises(InstanceNotFound):
        store.put_inbox(WF, "i-1", "control", {"action": "restart", "source": "api"})
    assert not folder(data_dir, "i-1").exists()


# ---- sweep -------------------------------------------------------------------------------------------


async def test_sweep_removes_the_expired_instances_only(
    store: InstanceStore, stores: Stores, data_dir: Path
) -> None:
    await create_final(store, "soon", KEEP, ENDED)  # expires at ENDED + 60
    await create_final(store, "later", KEEP, ENDED, status="errored")  # at ENDED + 120
    await create_final(store, "never", None, ENDED)
    await create(store, "running")
    sweeper = stores.new()  # another process
    assert sweeper.sweep(WF, ENDED + 59.0) == []
    assert store.exists(WF, "soon")
    assert sweeper.sweep(WF, ENDED + 60.0) == ["soon"]
    await _assert_gone(store, data_dir, "soon")
    assert sweeper.sweep(WF, ENDED + 119.0) == []
    assert sweeper.sweep(WF, FAR) == ["later"]
    assert sorted(doc["id"] for doc in store.statuses(WF)) == ["never", "running"]
    assert _leftovers(data_dir) == []


async def test_sweep_leaves_a_held_instance_for_the_next_sweep(store: InstanceStore, stores: Stores) -> None:
    await create_final(store, "i-1", KEEP, ENDED)
    held = opened(stores.new(), "i-1")
    assert store.sweep(WF, FAR) == []
    assert store.exists(WF, "i-1")
    await held.release(None, set())
    assert store.sweep(WF, FAR) == ["i-1"]


async def test_sweep_keeps_an_instance_running_again_and_drops_its_old_entry(store: InstanceStore) -> None:
    await create_final(store, "i-1", KEEP, ENDED)
    lease = opened(store, "i-1")  # restarted since it ended: running again
    lease.reset()
    await lease.flush()
    await lease.release(FAR, set())
    assert store.sweep(WF, FAR) == []
    assert store.exists(WF, "i-1") and store.expiring(WF, FAR) == []


async def test_sweep_moves_the_entry_of_an_instance_that_ended_again_later(store: InstanceStore) -> None:
    await create_final(store, "i-1", KEEP, ENDED)
    lease = opened(store, "i-1")
    lease.append(status_entry("running", t=ENDED + 10))
    lease.append(status_entry("complete", t=ENDED + 100, output=2))  # its second end, no status.json
    await lease.flush()
    await lease.release(None, set())
    assert store.sweep(WF, ENDED + 61.0) == []
    assert store.expiring(WF, FAR) == [(ENDED + 160.0, "i-1")]
    assert store.sweep(WF, ENDED + 160.0) == ["i-1"]


async def test_sweep_drops_an_entry_whose_instance_is_gone(store: InstanceStore, data_dir: Path) -> None:
    await create_final(store, "i-1", KEEP, ENDED)
    shutil.rmtree(folder(data_dir, "i-1"))  # removed by hand
    assert store.sweep(WF, FAR) == []
    assert store.expiring(WF, FAR) == []


async def test_sweep_rebuilds_a_deleted_expiry_index(stores: Stores, data_dir: Path) -> None:
    store = stores.new()
    await create_final(store, "a", KEEP, ENDED)
    await create_final(store, "b", None, ENDED)
    await create(store, "c")
    await stores.finish(store)
    shutil.rmtree(data_dir / "workflows" / WF / "expiry")
    fresh = stores.new()
    assert fresh.sweep(WF, ENDED) == []  # rebuilt, nothing due yet
    assert fresh.expiring(WF, FAR) == [(ENDED + 60.0, "a")]
    assert fresh.sweep(WF, FAR) == ["a"]


async def test_prepare_finishes_a_removal_a_crash_cut_short(stores: Stores, data_dir: Path) -> None:
    store = stores.new()
    await create_final(store, "i-1", KEEP, ENDED)
    await create(store, "i-2")
    store.put_inbox(WF, "i-1", "control", {"action": "restart", "source": "api"})
    await stores.finish(store)
    tomb = folder(data_dir, "i-1").with_name(".deleting.i-1.99.0000abcd")
    os.rename(folder(data_dir, "i-1"), tomb)  # killed right after the rename
    fresh = stores.new()
    await _no_half_instance(fresh, data_dir)
    fresh.prepare(WF)
    assert not tomb.exists() and _leftovers(data_dir) == []
    assert dues(fresh, "i-1") == []  # its signal went with it
    assert dues(fresh, "i-2")  # another instance's entries stay


async def test_the_first_sweep_finishes_a_removal_without_a_prepare(stores: Stores, data_dir: Path) -> None:
    """A workflow no host defines any more is never prepared; its sweeps still tidy up."""
    store = stores.new()
    await create_final(store, "i-1", None, ENDED)
    await stores.finish(store)
    tomb = folder(data_dir, "i-1").with_name(".deleting.i-1.99.0000abcd")
    os.rename(folder(data_dir, "i-1"), tomb)
    assert stores.new().sweep(WF, FAR) == []
    assert not tomb.exists() and _leftovers(data_dir) == []


async def _no_half_instance(store: InstanceStore, data_dir: Path) -> None:
    """Whatever a removal left, readers see whole instances only."""
    await check_whole(store, data_dir, set())
    for name in _leftovers(data_dir):
        instance_id = name.split(".")[2]
        assert not store.exists(WF, instance_id) or folder(data_dir, instance_id).is_dir()


# ---- kill -9 -----------------------------------------------------------------------------------------

ROUNDS = 12
PER_ROUND = 12


async def _kill_rounds(mode: str, stores: Stores, backend: Backend, zygote: Zygote, tmp_path: Path) -> None:
    rng = random.Random()
    data_dir = stores.data_dir
    setup = stores.new()
    gone: set[str] = set()
    for round_ in range(ROUNDS):
        targets = [f"r{round_}-{n}" for n in range(PER_ROUND)]
        for instance_id in targets:
            await create_final(setup, instance_id, {"success_retention": 0.0}, ENDED)
        job: dict[str, Any] = {
            "mode": mode,
            "backend": backend.name,
            "data_dir": str(data_dir),
            "workflow": WF,
            "instances": targets,
            "now": time.time(),
            "progress": str(tmp_path / f"{mode}-{round_}"),
        }
        # every fourth round is killed after its removals returned, so "returned" is tested
        # however slow the machine is; the others at a random moment, often in the middle
        report = kill_round(zygote, job, rng, after="done" if round_ % 4 == 3 else "started")
        removed = set(report.words("removed"))
        assert removed <= set(targets)
        gone |= removed
        checker = stores.new()  # a host starting after the crash
        try:
            visible = visible_ids(data_dir)
            assert not removed & visible, f"round {round_}: a removal that returned is undone"
            await _no_half_instance(checker, data_dir)
            await check_whole(checker, data_dir, visible & set(targets))
            checker.prepare(WF)
            assert _leftovers(data_dir) == [], f"round {round_}: prepare left {_leftovers(data_dir)}"
            assert sorted(checker.sweep(WF, time.time())) == sorted(visible & set(targets))
            assert visible_ids(data_dir) == set()
        finally:
            await checker.aclose()
    assert gone, "no removal returned before a kill in any round"


@pytest.mark.parametrize("mode", ["delete", "sweep"])
async def test_kill_during_a_removal_leaves_whole_instances_and_prepare_finishes_it(
    mode: str, stores: Stores, backend: Backend, zygote: Zygote, tmp_path: Path
) -> None:
    await _kill_rounds(mode, stores, backend, zygote, tmp_path)
