"""Fault: symlinks planted in instance folders (with the host stopped) that point outside the data
directory. Whatever the host does with the instance, it never writes or truncates what they point
at; it reports the instance (errored, or the request refused with a message) and keeps serving."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fault_helpers import (
    FINAL,
    Admin,
    brief,
    error_message,
    fault_deployment,
    instance_dir,
    serve,
    waits_for,
)
from tests.helpers import ServerProcess, stays

PLANTED = {"journal.jsonl": "file", "inbox": "folder", "status.json": "file"}
IDS = {name: f"link-{name.split('.')[0]}" for name in PLANTED}  # journal.jsonl -> link-journal


@dataclass
class Planted:
    server: ServerProcess
    admin: Admin
    root: Path
    outside: Path
    before: dict[str, Any]


def snapshot(path: Path) -> Any:
    """What must not change: a file's bytes and mtime, a folder's entries (with theirs) and mtime."""
    info = os.stat(path)
    if path.is_dir():
        return (info.st_mtime_ns, sorted((p.name, snapshot(p)) for p in path.iterdir()))
    return (info.st_mtime_ns, info.st_size, path.read_bytes())


def _short(state: Any) -> str:
    if isinstance(state[1], list):
        return f"folder of {[entry for entry, _ in state[1]]} (mtime {state[0]})"
    return f"file of {state[1]} bytes (mtime {state[0]})"


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Planted]:
    tmp_path = tmp_path_factory.mktemp("symlinks")
    root, marks = fault_deployment(tmp_path)
    outside = tmp_path / "outside"  # beside the deployment, not inside its data directory
    outside.mkdir()
    with serve(root, marks) as server:
        admin = Admin(server)
        for iid in IDS.values():
            assert admin.create(iid, waits_for()).status_code == 201
        for iid in IDS.values():
            admin.wait_status(iid, "waiting")
    for name, kind in PLANTED.items():
        link = instance_dir(root, IDS[name]) / name
        target = outside / IDS[name]
        if kind == "folder":
            target.mkdir()
            (target / "keep.txt").write_text("not the host's\n")
            if link.exists():
                shutil.rmtree(link)
        else:  # the real file's bytes, so that a host that follows the link finds a usable file
            shutil.copyfile(link, target)
            link.unlink()
        link.symlink_to(target)
    before = {name: snapshot(outside / IDS[name]) for name in PLANTED}
    with serve(root, marks) as server:
        yield Planted(server, Admin(server), root, outside, before)


@pytest.mark.parametrize("name", list(PLANTED))
def test_a_planted_symlink_is_never_written_through(planted: Planted, name: str) -> None:
    iid = IDS[name]
    admin = planted.admin
    sent = admin.event(iid, "go", {"via": name})
    assert sent.status_code < 500, sent.text
    status = None
    if sent.status_code == 200:  # accepted: wait for what the host makes of it
        try:
            status = admin.wait_status(iid, *FINAL)
        except AssertionError:
            status = admin.status(iid)
    got = admin.get(iid)
    assert got.status_code < 500, got.text
    # later writes too (a status.json spare is emptied a second after its swap)
    unchanged = stays(lambda: snapshot(planted.outside / iid) == planted.before[name], 1.5)
    after = snapshot(planted.outside / iid)
    assert unchanged, (
        f"the host wrote through the planted {name} symlink into {planted.outside / iid}: "
        f"{_short(planted.before[name])} became {_short(after)}"
    )
    assert planted.server.running and planted.server.get("/").status_code < 500
    if status is None:
        error_message(sent)  # refused, with a message
    elif name == "status.json":  # a derived file: replaced by a real one, never written through
        assert not (instance_dir(planted.root, iid) / name).is_symlink()
        assert status["status"] in FINAL, brief(status)
    else:
        assert status["status"] == "errored" and status["error"]["message"], brief(status)
