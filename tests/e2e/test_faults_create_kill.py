"""Fault: the host is killed (kill -9) inside a create.

The kill point cannot be hit exactly, so each test makes the state such a kill leaves by hand,
from files the host's own code wrote (`workflows trigger` with no server running), then starts
the host on it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.fault_helpers import (
    Admin,
    error_message,
    fault_deployment,
    instance_dir,
    instances_dir,
    pending_dir,
    runs,
    serve,
    sleeps,
    trigger,
)
from tests.helpers import wait_for


def _pending_entries(root: Path, instance_id: str) -> list[Path]:
    assert pending_dir(root).is_dir(), "these tests plant today's index layout: pending/<due-ms>.<id>"
    return [p for p in pending_dir(root).iterdir() if p.name.endswith(f".{instance_id}")]


def test_an_instance_folder_without_its_pending_entry_runs_after_a_restart(tmp_path: Path) -> None:
    # killed after the instance's files were written, before its pending-index entry was:
    # instance.json and a journal whose first line is the queued status, no index entry
    root, marks = fault_deployment(tmp_path)
    trigger(root, marks, "other", sleeps(0.05))  # keeps pending/ present (no rebuild from folders)
    trigger(root, marks, "orphan", sleeps(0.05))
    folder = instance_dir(root, "orphan")
    first = json.loads((folder / "journal.jsonl").read_text().splitlines()[0])
    assert first["type"] == "status" and first["status"] == "queued"
    for entry in _pending_entries(root, "orphan"):
        entry.unlink()
    for path in folder.iterdir():  # status.json and anything else a create writes later
        if path.is_dir():
            shutil.rmtree(path)
        elif path.name not in ("instance.json", "journal.jsonl"):
            path.unlink()
    assert _pending_entries(root, "other") and not _pending_entries(root, "orphan")

    with serve(root, marks) as server:
        admin = Admin(server)
        admin.wait_status("other", "complete")
        done = wait_for(
            lambda: (
                (a := admin.get("orphan")).status_code == 200 and a.json()["result"]["status"] == "complete"
            ),
            10,
            what="the instance without an index entry to complete",
        )
        assert done
        assert admin.status("orphan")["output"] == ["a done", "slept nap", "b done"]
    assert runs(marks, "orphan", "a") == 1 and runs(marks, "orphan", "b") == 1


def test_an_empty_instance_folder_does_not_block_its_id_for_ever(tmp_path: Path) -> None:
    # killed right after the mkdir that claims the id: an empty folder. Either the host cleans
    # it up (a create of that id then works) or GET and create agree that the id is taken.
    root, marks = fault_deployment(tmp_path)
    trigger(root, marks, "other", sleeps(0.05))
    instance_dir(root, "half").mkdir()
    with serve(root, marks) as server:
        admin = Admin(server)
        admin.wait_status("other", "complete")
        seen: list[tuple[int, int]] = []

        def consistent() -> bool:
            got = admin.get("half").status_code
            made = admin.create("half", sleeps(0.05))
            seen.append((got, made.status_code))
            if made.status_code == 409:
                error_message(made)
            return made.status_code == 201 or (got == 200 and made.status_code == 409)

        try:
            wait_for(consistent, 5, interval=0.2, what="GET and create of the id to agree")
        except AssertionError:
            raise AssertionError(f"(GET, create) answers for the empty folder's id: {seen[-3:]}") from None
        if seen[-1][1] == 201:
            assert admin.wait_status("half", "complete")["output"] == ["a done", "slept nap", "b done"]


def test_a_leftover_temporary_folder_is_not_listed_as_an_instance(tmp_path: Path) -> None:
    # killed while a create staged its files under a temporary name (".<id>...") in instances/,
    # before the rename that makes it the instance: a full copy of the files, under a dot name
    root, marks = fault_deployment(tmp_path)
    trigger(root, marks, "other", sleeps(0.05))
    trigger(root, marks, "staged", sleeps(0.05))
    staging = instances_dir(root) / ".staged.4242.tmp"
    shutil.copytree(instance_dir(root, "staged"), staging)
    shutil.rmtree(instance_dir(root, "staged"))
    for entry in _pending_entries(root, "staged"):
        entry.unlink()
    with serve(root, marks) as server:
        admin = Admin(server)
        admin.wait_status("other", "complete")
        listed = admin.listed()
        assert listed == ["other"], listed
        assert admin.get("staged").status_code == 404
        assert admin.get(".staged.4242.tmp").status_code in (400, 404)
