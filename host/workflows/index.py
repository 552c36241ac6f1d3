"""The pending index: which instances want to run, and when, as file names that carry the due time.

data/workflows/<workflow>/pending/<due-ms>.<instance-id>

An instance that is queued, running, or waiting has an entry; paused and finished ones have none.
Each entry is a hard link to the instance's instance.json (cheaper than a new file; its content is
never read). The names alone carry everything, so start-up lists one folder instead of reading
every instance, and other processes (a second host, the CLI) signal "look at this instance now"
by adding an entry with an early due time. The index is a cache: rebuild() makes it again from
the instance folders.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from host.workflows.files import instances_root
from host.workflows.status import FINAL, InstanceStatus


def entry_name(due: float, instance_id: str) -> str:
    # rounded up: an entry read back must never be due before the instance is (that would wake
    # it a fraction of a millisecond early, only to find it still asleep and wake it again)
    return f"{max(0, math.ceil(due * 1000)):013d}.{instance_id}"


def parse_entry(name: str) -> tuple[float, str] | None:
    due, dot, instance_id = name.partition(".")
    if not dot or not due.isdigit() or not instance_id:
        return None
    return int(due) / 1000.0, instance_id


class PendingIndex:
    """The pending/ folder of one workflow."""

    def __init__(self, data_dir: Path, workflow: str) -> None:
        self.data_dir = data_dir
        self.workflow = workflow
        self.path = data_dir / "workflows" / workflow / "pending"

    def ensure(self) -> bool:
        """Create the folder (rebuilding it from instance folders); True if it had to be rebuilt."""
        if self.path.is_dir():
            return False
        self.rebuild()
        return True

    def put(self, instance_id: str, due: float, old_due: float | None = None) -> None:
        """Point the instance's entry at `due`, moving the old entry when there is one."""
        new = self.path / entry_name(due, instance_id)
        if old_due is not None:
            old = self.path / entry_name(old_due, instance_id)
            if old == new:
                return
            try:
                os.rename(old, new)
                return
            except FileNotFoundError:
                pass
        try:
            self._make(new, instance_id)
        except FileNotFoundError:
            self.path.mkdir(parents=True, exist_ok=True)
            self._make(new, instance_id)

    def _make(self, entry: Path, instance_id: str) -> None:
        # A hard link to the instance's instance.json: a new name for an existing inode costs a
        # few microseconds, a new empty file a few hundred on ext4. The entry's content is unused.
        target = instances_root(self.data_dir, self.workflow) / instance_id / "instance.json"
        try:
            os.link(target, entry)
        except FileExistsError:
            pass
        except OSError:  # no instance.json, or no hard links here: an empty file does the same job
            os.close(os.open(entry, os.O_CREAT | os.O_WRONLY, 0o644))  # FileNotFoundError: no folder

    def remove(self, instance_id: str, due: float) -> None:
        try:
            os.unlink(self.path / entry_name(due, instance_id))
        except FileNotFoundError:
            pass

    def version(self) -> int:
        """Changes whenever an entry is added or removed (the folder's mtime)."""
        try:
            return os.stat(self.path).st_mtime_ns
        except FileNotFoundError:
            return 0

    def scan(self) -> list[tuple[float, str]]:
        try:
            names = os.listdir(self.path)
        except FileNotFoundError:
            return []
        return [parsed for name in names if (parsed := parse_entry(name)) is not None]

    def rebuild(self) -> None:
        """Make the index again from status.json of every instance (slow; only when it is missing)."""
        tmp = self.path.with_name("pending.rebuild")
        tmp.mkdir(parents=True, exist_ok=True)
        root = instances_root(self.data_dir, self.workflow)
        for instance_id in os.listdir(root) if root.is_dir() else []:
            due = _due_from_status(root / instance_id)
            if due is not None:
                self._make(tmp / entry_name(due, instance_id), instance_id)
        try:
            os.rename(tmp, self.path)
        except OSError:  # another process rebuilt it first
            for name in os.listdir(tmp):
                os.unlink(tmp / name)
            tmp.rmdir()


def _due_from_status(folder: Path) -> float | None:
    try:
        status = json.loads((folder / "status.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0.0 if (folder / "instance.json").exists() else None  # unreadable: let a host look
    state = status.get("status")
    if state in {s.value for s in FINAL} or state == InstanceStatus.PAUSED.value:
        has_inbox = any((folder / "inbox").glob("*.json"))
        return 0.0 if has_inbox and state == InstanceStatus.PAUSED.value else None
    if state == InstanceStatus.WAITING.value and status.get("wake_at"):
        return float(status["wake_at"])
    return float(status.get("created_on_epoch", 0.0))
