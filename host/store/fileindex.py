"""The due index of one workflow: which instances need a host, and when, as file names.

data/workflows/<workflow>/pending/<due-ms>.<instance-id>

Queued, running and waiting instances have an entry; paused and finished ones have none. Each
entry is a hard link to the instance's instance.json (a new name for an existing inode costs a
few microseconds, a new empty file a few hundred; its content is never read). The names carry
everything, so a start lists one folder instead of reading every instance, and other processes
signal "look at this instance now" by adding an entry due at 0. The index is a cache: ensure()
makes it again from the instance folders when its `.complete` marker is missing (the folder was
deleted, or a rebuild was interrupted). A rebuild adds entries in place, so rebuilds by several
processes at once, or one cut short, only ever add.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable
from pathlib import Path

from host.store.fsio import real_dir

log = logging.getLogger("waypost.workflows")
SIGNAL = 0.0
MARKER = ".complete"  # in pending/: every due instance has an entry (written last by a rebuild)
DueOf = Callable[[str], float | None]  # instance id -> its due time from its files (None: not due)


def entry_name(due: float, instance_id: str) -> str:
    # rounded up: an entry read back is never due before the instance is
    return f"{max(0, math.ceil(due * 1000)):013d}.{instance_id}"


def parse_entry(name: str) -> tuple[float, str] | None:
    due, dot, instance_id = name.partition(".")
    if not dot or not due.isdigit() or not instance_id:
        return None
    return int(due) / 1000.0, instance_id


class DueIndex:
    """The pending/ folder of one workflow; `instances` is the folder holding its instances."""

    def __init__(self, folder: Path, instances: Path) -> None:
        self.path = folder
        self.instances = instances
        self._known: dict[str, set[float]] = {}  # id -> due times of its entries last seen or written

    def add(self, instance_id: str, due: float, target: str) -> None:
        """The first entry of a new instance, a link to `target` (its instance.json)."""
        self._make(entry_name(due, instance_id), target)
        self._known[instance_id] = {math.ceil(due * 1000) / 1000.0}

    def put(self, instance_id: str, due: float) -> None:
        """Give the instance an entry at `due` and remove its other entries."""
        new = entry_name(due, instance_id)
        old = {entry_name(d, instance_id) for d in self._entries_of(instance_id)} - {new}
        old.add(entry_name(SIGNAL, instance_id))  # whoever holds the instance answers a signal
        moved = False
        for name in old:
            if not moved:
                try:
                    os.rename(self.path / name, self.path / new)
                    moved = True
                    continue
                except FileNotFoundError:
                    pass
            _unlink(self.path / name)
        if not moved:
            self._make(new, str(self.instances / instance_id / "instance.json"))
        self._known[instance_id] = {math.ceil(due * 1000) / 1000.0}

    def remove(self, instance_id: str) -> None:
        """Remove every entry of the instance, and its signal."""
        for due in self._entries_of(instance_id) | {SIGNAL}:
            _unlink(self.path / entry_name(due, instance_id))
        self._known.pop(instance_id, None)

    def forget(self, instance_id: str) -> None:
        """Remove the entries of a final instance (only its signal, unless seen here) without
        listing the folder."""
        for due in self._known.pop(instance_id, set()) | {SIGNAL}:
            _unlink(self.path / entry_name(due, instance_id))

    def _entries_of(self, instance_id: str) -> set[float]:
        """Due times of the instance's entries: as last seen here, or listed now if never seen."""
        known = self._known.get(instance_id)
        if known is None:
            suffix = f".{instance_id}"
            try:
                names = [n for n in os.listdir(self.path) if n.endswith(suffix)]
            except FileNotFoundError:
                names = []
            known = {p[0] for n in names if (p := parse_entry(n)) is not None and p[1] == instance_id}
        return known

    def signal(self, instance_id: str) -> None:
        """An entry due at once, beside any other (what another process adds after an inbox write)."""
        self._make(entry_name(SIGNAL, instance_id), str(self.instances / instance_id / "instance.json"))

    def _make(self, name: str, target: str) -> None:
        entry = self.path / name
        for _ in range(2):
            try:
                os.link(target, entry, follow_symlinks=False)
                return
            except FileExistsError:
                return
            except FileNotFoundError:
                if not real_dir(str(self.path)):
                    self.path.mkdir(parents=True, exist_ok=True)
                    continue
            except OSError:
                pass
            # no instance.json to link to, or no hard links here: an empty file does the same job
            os.close(os.open(entry, os.O_CREAT | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0), 0o644))
            return

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
        found = [parsed for name in names if (parsed := parse_entry(name)) is not None]
        known: dict[str, set[float]] = {}
        for due, instance_id in found:
            known.setdefault(instance_id, set()).add(due)
        self._known = known
        return found

    def ensure(self, due_of: DueOf) -> bool:
        """Rebuild the index from the instance folders unless it is complete; True if rebuilt."""
        if os.path.lexists(self.path / MARKER):
            return False
        self.path.mkdir(parents=True, exist_ok=True)
        for instance_id in self.folders():
            try:
                due = due_of(instance_id)
            except OSError as exc:
                log.error("skipping instance folder %s: %s", self.instances / instance_id, exc)
                continue
            if due is not None:
                self._make(entry_name(due, instance_id), str(self.instances / instance_id / "instance.json"))
        os.close(os.open(self.path / MARKER, os.O_CREAT | os.O_WRONLY, 0o644))
        return True

    def folders(self) -> list[str]:
        """The instance ids that have a folder (temporary ones left out)."""
        try:
            names = os.listdir(self.instances) if real_dir(str(self.instances)) else []
        except OSError as exc:
            log.error("cannot list %s: %s", self.instances, exc)
            names = []
        return [name for name in names if not name.startswith(".")]


def due_from_status(text: bytes, created: float) -> float | None:
    """When an instance is due, from its status.json text (None: paused or final)."""
    try:
        status = json.loads(text)
        state = status.get("status")
    except (ValueError, AttributeError):
        return SIGNAL  # unreadable: let a host look at it
    if state in ("complete", "errored", "terminated", "paused"):
        return None
    if state == "waiting" and isinstance(status.get("wake_at"), int | float):
        return float(status["wake_at"])
    return float(status.get("created_on_epoch") or created)


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
