"""Killing a store mid-write (kill -9) and checking what it left: the crash tests' machinery.

`Zygote` runs child.py and forks children from it; `kill_round` starts one child looping over a
mutating method and SIGKILLs it at a random moment; `check_whole` states what must hold of the
data directory afterwards, whatever moment the kill hit.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from host.workflows.store import InstanceStore
from tests.store.helpers import WF, folder, is_queued_line

CHILD = Path(__file__).with_name("child.py")
ROOT = Path(__file__).resolve().parents[2]


class Zygote:
    """child.py as a fork server: imports done once, each child a fork."""

    def __init__(self) -> None:
        env = dict(
            os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        )
        self._proc = subprocess.Popen(
            [sys.executable, "-u", str(CHILD)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
            env=env,
            text=True,
        )
        assert self._read() == "ready"

    def _read(self) -> str:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"child.py zygote ended (exit {self._proc.wait()})")
        return line.strip()

    def _send(self, request: dict[str, Any]) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(request) + "\n")
        self._proc.stdin.flush()

    def fork(self, job: dict[str, Any]) -> int:
        self._send({"cmd": "fork", "job": job})
        word, pid = self._read().split()
        assert word == "pid"
        return int(pid)

    def reap(self, pid: int) -> int:
        """Wait for a child to end; its wait status."""
        self._send({"cmd": "wait", "pid": pid})
        word, _, status = self._read().split()
        assert word == "exit"
        return int(status)

    def close(self) -> None:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.close()
        self._proc.wait(timeout=10)
        self._proc.stdout.close()


def progress_lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except FileNotFoundError:
        return []


def wait_progress(path: Path, word: str, timeout: float = 10.0) -> list[str]:
    """Poll the progress file until a line is `word` (AssertionError on "error ..." or timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = progress_lines(path)
        for line in lines:
            if line.startswith("error"):
                raise AssertionError(f"the child failed: {line}")
        if word in lines:
            return lines
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {word!r} in {path}: {lines[-5:]}")
        time.sleep(0.0005)


@dataclass
class Round:
    """What one killed child reported before it died."""

    lines: list[str] = field(default_factory=list)

    def words(self, word: str) -> list[str]:
        return [line.split(" ", 1)[1] for line in self.lines if line.startswith(word + " ")]


def kill_round(zygote: Zygote, job: dict[str, Any], rng: random.Random, after: str = "started") -> Round:
    """Fork a child looping over `job`, SIGKILL it 0-50 ms after it reported `after`; what it
    reported."""
    progress = Path(job["progress"])
    pid = zygote.fork(job)
    try:
        wait_progress(progress, after)
        time.sleep(rng.uniform(0.0, 0.05))  # the kill's random moment (not a wait for anything)
    finally:
        os.kill(pid, signal.SIGKILL)
        status = zygote.reap(pid)
    lines = progress_lines(progress)
    errors = [line for line in lines if line.startswith("error")]
    assert not errors, f"the child failed before it was killed: {errors[0]}"
    assert os.WIFSIGNALED(status), f"the child ended by itself (status {status}): {lines[-3:]}"
    return Round(lines)


# ---- what must hold after a kill -----------------------------------------------------------------


def visible_ids(data_dir: Path, workflow: str = WF) -> set[str]:
    """Instance folder names a person listing instances/ would take for instances."""
    root = data_dir / "workflows" / workflow / "instances"
    return {name for name in os.listdir(root) if not name.startswith(".")} if root.is_dir() else set()


def _whole_lines(data: bytes, what: str) -> list[dict[str, Any]]:
    assert data == b"" or data.endswith(b"\n"), f"{what} ends in a partial line: {data[-80:]!r}"
    entries = []
    for number, line in enumerate(data.splitlines(), start=1):
        value = json.loads(line)
        assert isinstance(value, dict), f"{what} line {number} is not an object"
        entries.append(value)
    return entries


async def check_whole(
    store: InstanceStore, data_dir: Path, ids: set[str], *, reset: bool = False, workflow: str = WF
) -> dict[str, list[dict[str, Any]]]:
    """Assert that the store shows only whole instances, and that each of `ids` is whole: its
    status answers, it opens (unlocked: its killer is dead) without damage, its files parse.
    `reset`: the journal may have been restarted (empty, or starting again with a queued line).
    Returns each of `ids`' journal entries as the open read them."""
    listed = {doc["id"]: doc for doc in store.statuses(workflow)}
    on_disk = visible_ids(data_dir, workflow)
    assert set(listed) == on_disk, f"statuses() and the folders disagree: {set(listed) ^ on_disk}"
    assert store.workflows() == [workflow], f"workflows() shows {store.workflows()}"
    for instance_id in on_disk:
        assert store.exists(workflow, instance_id)
        status = store.read_status(workflow, instance_id)
        assert (status["id"], status["workflow"]) == (instance_id, workflow)
        if instance_id not in ids:
            continue  # untouched since an earlier round checked it
        entries, problems = store.read_journal(workflow, instance_id)
        assert problems == [], f"{instance_id}: {problems}"
        if not reset:
            assert (
                entries
                and is_queued_line(entries[0])
                and entries[0].get("instance", {}).get("id") == instance_id
            )
    journals: dict[str, list[dict[str, Any]]] = {}
    due_now: dict[str, list[float]] = {}
    for due, iid in store.due(workflow):
        due_now.setdefault(iid, []).append(due)
    for instance_id in sorted(ids):
        path = folder(data_dir, instance_id, workflow)
        seen: set[str] = set()
        lease = store.open(workflow, instance_id)
        assert lease is not None, f"{instance_id} is still locked after its holder was killed"
        try:
            assert lease.damage is None, f"{instance_id}: {lease.damage}"
            assert lease.meta["id"] == instance_id
            if reset:
                assert not lease.entries or is_queued_line(lease.entries[0]), lease.entries[:2]
            else:
                assert is_queued_line(lease.entries[0]) and lease.entries[0]["instance"] == lease.meta
            on_file = _whole_lines((path / "journal.jsonl").read_bytes(), f"{instance_id}/journal.jsonl")
            assert len(on_file) == len(lease.entries), f"{instance_id}: the open did not cut the torn tail"
            status_json = json.loads((path / "status.json").read_bytes())
            assert isinstance(status_json, dict) and "status" in status_json
            inbox = path / "inbox"
            requests = sorted(n for n in os.listdir(inbox) if not n.startswith(".")) if inbox.is_dir() else []
            for name in requests:
                assert isinstance(json.loads((inbox / name).read_bytes()), dict), (
                    f"{instance_id}/inbox/{name}"
                )
            seen = {item.name for item in lease.inbox()}
            assert sorted(seen) == requests, f"{instance_id}: inbox() and inbox/ disagree"
            for copy in path.glob("journal.*.restarted.jsonl"):
                _whole_lines(copy.read_bytes(), f"{instance_id}/{copy.name}")
            journals[instance_id] = lease.entries
        finally:
            # put it back as it was: due when it was due
            await lease.release(min(due_now[instance_id]) if instance_id in due_now else None, seen)
    return journals
