"""The expiry index of one workflow: which final instances are to be removed, and when.

data/workflows/<workflow>/expiry/<hour>/<expiry-ms>.<instance-id>

An instance that ended with a retention (SPEC 3.11) has an entry named by its expiry time, in the
folder of the hour it falls in (`hour` = expiry-ms // 3,600,000, zero-padded). A sweep lists
expiry/ (one name per hour that has entries) and only the hour folders up to now, so what it
reads grows with the instances due to go, not with the instances kept. Like the due index, each
entry is a hard link to the instance's instance.json (an empty file where there is no link), and
the index is a cache: ensure() makes it again from the instances' status.json files when its
`.complete` marker is missing, adding entries in place, so rebuilds at once or cut short only add.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
from collections.abc import Callable
from pathlib import Path

from host.store.fileindex import entry_name, parse_entry
from host.store.fsio import NOFOLLOW, fsync_path, read_file, real_dir

log = logging.getLogger("waypost.workflows")
MARKER = ".complete"  # in expiry/: every final instance with a retention has an entry
HOUR_MS = 3_600_000


def bucket_of(when: float) -> str:
    """The hour folder of an expiry time (rounded up to the millisecond, as entry_name is)."""
    return f"{max(0, math.ceil(when * 1000)) // HOUR_MS:08d}"


class ExpiryIndex:
    """The expiry/ folder of one workflow; `instances` is the folder holding its instances."""

    def __init__(self, folder: Path, instances: Path, durable: bool) -> None:
        self.path = folder
        self.instances = instances
        self.durable = durable
        self.tidied = False  # the first sweep here has finished removals a crash cut short

    def add(self, instance_id: str, when: float, target: str) -> None:
        """An entry at `when`, a link to `target` (the instance's instance.json); durable when this
        returns with durability fsync. Adding one that exists does nothing."""
        bucket = self.path / bucket_of(when)
        entry = bucket / entry_name(when, instance_id)
        for _ in range(3):
            try:
                os.link(target, entry, follow_symlinks=False)
                break
            except FileExistsError:
                return
            except FileNotFoundError:
                if not real_dir(str(bucket)):
                    bucket.mkdir(parents=True, exist_ok=True)  # (a sweep may remove it again: retry)
                    if self.durable:
                        fsync_path(self.path)
                    continue
            except OSError:
                pass
            try:  # no instance.json to link to, or no hard links here: an empty file does the same
                os.close(os.open(entry, os.O_CREAT | os.O_WRONLY | NOFOLLOW, 0o644))
                break
            except FileNotFoundError:
                continue
        if self.durable:
            fsync_path(bucket)

    def remove(self, instance_id: str, when: float) -> None:
        try:
            os.unlink(self.path / bucket_of(when) / entry_name(when, instance_id))
        except FileNotFoundError:
            pass

    def due(self, until: float) -> list[tuple[float, str]]:
        """(expiry, id) of the entries due by `until`, soonest first; empty past hour folders go."""
        last = bucket_of(until)
        try:
            buckets = sorted(n for n in os.listdir(self.path) if n.isdigit() and n <= last)
        except FileNotFoundError:
            return []
        found: list[tuple[float, str]] = []
        for bucket in buckets:
            folder = self.path / bucket
            try:
                names = os.listdir(folder)
            except (FileNotFoundError, NotADirectoryError):
                continue
            entries = [parsed for name in names if (parsed := parse_entry(name)) is not None]
            found.extend(entry for entry in entries if entry[0] <= until)
            if not names and bucket < last:
                try:
                    os.rmdir(folder)  # an add racing this makes it again
                except OSError:
                    pass
        return sorted(found)

    def ensure(self, expiry_of: Callable[[str], float | None], folders: Callable[[], list[str]]) -> bool:
        """Rebuild the index from the instance folders unless it is complete; True if rebuilt.
        `expiry_of`: an instance id's expiry from its files (None: kept)."""
        if os.path.lexists(self.path / MARKER):
            return False
        self.path.mkdir(parents=True, exist_ok=True)
        for instance_id in folders():
            try:
                when = expiry_of(instance_id)
            except OSError as exc:
                log.error("skipping instance folder %s: %s", self.instances / instance_id, exc)
                continue
            if when is not None:
                self.add(instance_id, when, str(self.instances / instance_id / "instance.json"))
        os.close(os.open(self.path / MARKER, os.O_CREAT | os.O_WRONLY, 0o644))
        return True

    def mark_complete(self) -> None:
        """A workflow with no instance yet: its (empty) index is whole."""
        self.path.mkdir(parents=True, exist_ok=True)
        os.close(os.open(self.path / MARKER, os.O_CREAT | os.O_WRONLY | NOFOLLOW, 0o644))


def expiry_from_status(path: str) -> float | None:
    """An instance's expiry from its status.json (`expires_at` of a final status), else None."""
    try:
        status = json.loads(read_file(path))
        final = status.get("status") in ("complete", "errored", "terminated")
    except FileNotFoundError:
        return None
    except (ValueError, AttributeError):
        return None
    return epoch_of(status.get("expires_at")) if final else None


def epoch_of(text: object) -> float | None:
    """Epoch seconds of an ISO time as the status document writes it (None if it is not one)."""
    if not isinstance(text, str):
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
