"""The instances of a workflow newest first, and how many are in each status, without reading every
instance folder per question (the dashboard's list and counts, the metrics' instance gauge).

A cache of what the folders say, kept in the store object (rebuilt from them at the first question):
- the ids, newest first by the time instance.json was written (it is written once, at create). The
  instances/ folder is listed again only when its mtime changed (an instance was created or
  deleted), or changed less than a second ago (a second create in the same clock tick leaves it);
- each instance's last status read. A final or paused status is taken from the cache unless the
  instance is in the due index (a restart or resume signals it there) or is named in the
  workflow's LEFT_SETTLED log, where a lease appends an instance's id after the status.json that
  takes it out of a final or paused status (host.store.lease): the cache reads the log from where
  it stopped, so a resume or restart taken by any process is seen at the next question. Any other
  status is read again, from status.json, at each question that needs it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from host.errors import InstanceUnreadable
from host.store.fsio import open_file

SETTLED = frozenset({"complete", "errored", "terminated", "paused"})
RECENT = 1.0  # seconds: a folder changed this recently is listed again (same-tick creates)
LEFT_SETTLED = "left-settled.log"  # in data/workflows/<workflow>/: an id a line
LEFT_SETTLED_MAX = 1024 * 1024  # bytes: the lease empties it past this; readers then read all again


@dataclass
class _Listing:
    stamp: int = -1  # mtime_ns of instances/ when it was last listed
    order: list[str] = field(default_factory=list)  # newest first
    created: dict[str, float] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)  # last status read, by id
    left_read: int = 0  # bytes of LEFT_SETTLED taken into account


class Catalog:
    """Listings of the workflows under `root` (data/workflows); `read_status(workflow, id)` and
    `due_ids(workflow)` are the store's."""

    def __init__(
        self,
        root: str,
        read_status: Callable[[str, str], dict[str, Any]],
        due_ids: Callable[[str], set[str]],
    ) -> None:
        self.root = root
        self.read_status = read_status
        self.due_ids = due_ids
        self._listings: dict[str, _Listing] = {}
        self._lock = threading.Lock()

    def ids(self, workflow: str) -> list[str]:
        """The workflow's instance ids, newest first (a list the caller must not change)."""
        with self._lock:
            return self._refresh(workflow).order

    def page(
        self, workflow: str, status: str | None, search: str, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], bool]:
        """Status documents of up to `limit` instances, newest first, after skipping `offset` that
        match (status equal to `status`, id containing `search`); and whether more match after.
        Only the documents returned are read (and, with `status`, the unsettled ones skipped)."""
        with self._lock:
            listing = self._refresh(workflow)
            order = listing.order
        needle = search.lower()
        ids = [i for i in order if needle in i.lower()] if needle else order
        due: set[str] = set()
        if status is None:
            ids, offset = ids[offset:], 0
        else:
            due = self.due_ids(workflow)
        chosen: list[dict[str, Any]] = []
        skipped = 0
        for instance_id in ids:
            if status is not None and self._status(workflow, listing, instance_id, due) != status:
                continue
            if skipped < offset:
                skipped += 1
                continue
            if len(chosen) == limit:
                return chosen, True
            try:
                document = self.read_status(workflow, instance_id)
            except (OSError, ValueError, LookupError, InstanceUnreadable):
                continue  # deleted since, or unreadable: left out, as statuses() does
            listing.status[instance_id] = str(document.get("status"))
            if status is None or document.get("status") == status:
                chosen.append(document)
        return chosen, False

    def counts(self, workflow: str) -> dict[str, int]:
        """How many instances of the workflow are in each status."""
        counts: dict[str, int] = {}
        with self._lock:
            listing = self._refresh(workflow)
            order = listing.order
        due = self.due_ids(workflow)
        for instance_id in order:
            status = self._status(workflow, listing, instance_id, due)
            if status is not None:
                counts[status] = counts.get(status, 0) + 1
        return counts

    # -- inside --------------------------------------------------------------------------------------

    def _status(self, workflow: str, listing: _Listing, instance_id: str, due: set[str]) -> str | None:
        known = listing.status.get(instance_id)
        if known in SETTLED and instance_id not in due:
            return known
        try:
            status = str(self.read_status(workflow, instance_id).get("status"))
        except (OSError, ValueError, LookupError, InstanceUnreadable):
            return None
        listing.status[instance_id] = status
        return status

    def _forget_left(self, workflow: str, listing: _Listing) -> None:
        """Drop the cached status of each instance the LEFT_SETTLED log names since the last look
        (all settled ones when the log was emptied meanwhile)."""
        path = f"{self.root}/{workflow}/{LEFT_SETTLED}"
        try:
            size = os.stat(path).st_size
        except FileNotFoundError:
            size = 0
        if size == listing.left_read:
            return
        if size < listing.left_read:  # emptied and perhaps written again: trust nothing settled
            listing.status = {i: s for i, s in listing.status.items() if s not in SETTLED}
            listing.left_read = 0
        try:
            fd = open_file(path, os.O_RDONLY)
        except OSError:  # gone meanwhile, or not a plain file: looked at again next time
            return
        try:
            data = os.pread(fd, size - listing.left_read, listing.left_read)
        finally:
            os.close(fd)
        whole = data[: data.rfind(b"\n") + 1]  # a line being appended is read next time
        for line in whole.split(b"\n")[:-1]:
            listing.status.pop(line.decode("utf-8", "replace"), None)
        listing.left_read += len(whole)

    def _refresh(self, workflow: str) -> _Listing:
        listing = self._listings.setdefault(workflow, _Listing())
        folder = f"{self.root}/{workflow}/instances"
        try:
            stamp = os.stat(folder).st_mtime_ns
        except FileNotFoundError:
            self._listings[workflow] = _Listing()
            return self._listings[workflow]
        self._forget_left(workflow, listing)
        if stamp == listing.stamp and time.time() - stamp / 1e9 > RECENT:
            return listing
        names = {n for n in os.listdir(folder) if not n.startswith(".")}
        gone = listing.created.keys() - names
        new = names - listing.created.keys()
        for instance_id in gone:
            del listing.created[instance_id]
            listing.status.pop(instance_id, None)
        added: list[tuple[float, str]] = []
        for instance_id in new:
            try:
                created = os.stat(f"{folder}/{instance_id}/instance.json").st_mtime
            except OSError:
                try:
                    created = os.stat(f"{folder}/{instance_id}").st_mtime
                except OSError:
                    continue
            listing.created[instance_id] = created
            added.append((created, instance_id))
        if added or gone:
            created_of = listing.created
            oldest_new = min(added)[0] if added else None
            newest_old = (
                created_of[listing.order[0]] if listing.order and listing.order[0] in created_of else None
            )
            if not gone and oldest_new is not None and (newest_old is None or oldest_new >= newest_old):
                added.sort(reverse=True)  # the usual case: only newer instances, put in front
                listing.order = [i for _, i in added] + listing.order
            else:
                listing.order = sorted(created_of, key=lambda i: (created_of[i], i), reverse=True)
        listing.stamp = stamp
        return listing


def note_left(path: str, line: bytes) -> None:
    """Append an instance id line to its workflow's LEFT_SETTLED log `path` (the lease's side of
    it), or start the log again when it is over LEFT_SETTLED_MAX. A cache hint: not flushed."""
    fd = open_file(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        if os.fstat(fd).st_size > LEFT_SETTLED_MAX:
            os.ftruncate(fd, 0)
        os.write(fd, line)
    finally:
        os.close(fd)
