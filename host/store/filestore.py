"""The store on files: the only module that knows the layout of SPEC 4.1.

data/workflows/<workflow>/instances/<id>/
    instance.json   journal.jsonl   status.json   inbox/   journal.<ns>.restarted.jsonl
data/workflows/<workflow>/pending/   the due index (host.store.fileindex)

A create builds the folder under a temporary name and renames it into place, so an instance
appears whole or not at all. The instance lock is flock(2) on journal.jsonl, the descriptor the
journal is read and appended through (filelock on a `.lock` file where there is no flock).
status.json and instance.json are derived: both are rebuilt from the journal when missing.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from host.errors import InstanceExists, InstanceNotFound, InstanceUnreadable, StorageFull
from host.store import fsio, removal
from host.store.expiry import ExpiryIndex
from host.store.fileinbox import Inbox
from host.store.fileindex import SIGNAL, DueIndex, due_from_status, parse_entry
from host.store.filelist import Catalog
from host.store.fsio import read_file, real_dir, write_new
from host.store.groupsync import GroupSync
from host.store.lease import FileLease, open_lease, read_meta
from host.store.writer import Writer
from host.workflows import jsonenc
from host.workflows.entries import replay_state
from host.workflows.journal import (
    created_line,
    instance_of,
    read_lenient,
)
from host.workflows.status import status_document
from host.workflows.statuslog import log_status

log = logging.getLogger("waypost.workflows")
STALE_CREATE = 60.0  # seconds after which a temporary create folder is an interrupted create
CREATED = ".created"  # in a workflow's folder: made with its first instance (its mtime says when)


class FileStore:
    """Instances as folders under `data_dir`/workflows (see the module docstring)."""

    def __init__(self, data_dir: Path, durability: str = "fsync") -> None:
        self.root = Path(data_dir)
        self.durable = durability == "fsync"
        self.leases = 0  # open here now; GroupSync fsyncs on the loop for one alone
        self.sync = GroupSync(self.root, alone=lambda: self.leases <= 1)
        self.writer = Writer()
        self._indexes: dict[str, DueIndex] = {}
        self._expiries: dict[str, ExpiryIndex] = {}
        self.catalog = Catalog(f"{self.root}/workflows", self.read_status, self._due_ids)

    # -- paths -----------------------------------------------------------------------------------

    def folder(self, workflow: str, instance_id: str) -> str:
        return f"{self.root}/workflows/{workflow}/instances/{instance_id}"

    def expiry(self, workflow: str) -> ExpiryIndex:
        index = self._expiries.get(workflow)
        if index is None:
            base = self.root / "workflows" / workflow
            index = self._expiries[workflow] = ExpiryIndex(base / "expiry", base / "instances", self.durable)
        return index

    def index(self, workflow: str) -> DueIndex:
        index = self._indexes.get(workflow)
        if index is None:
            base = self.root / "workflows" / workflow
            index = self._indexes[workflow] = DueIndex(base / "pending", base / "instances")
        return index

    def inbox(self, workflow: str, instance_id: str) -> Inbox:
        return Inbox(self.folder(workflow, instance_id), self.durable)

    def _found(self, workflow: str, instance_id: str) -> str:
        folder = self.folder(workflow, instance_id)
        if not real_dir(folder):
            raise InstanceNotFound(f"instance {instance_id!r} not found in workflow {workflow!r}")
        return folder

    # -- create ----------------------------------------------------------------------------------

    async def create(self, meta: dict[str, Any], status: dict[str, Any]) -> None:
        # on the event loop: a thread per create (200 at once in figure 1) cost three times as
        # much (A/B in the commit)
        folder = self._create_files(meta, status)
        # the first status is this store's to log: before an await lets the engine run it
        log_status(meta["workflow"], meta["id"], str(status.get("status")))
        if self.durable:
            parent = Path(folder).parent
            await self.sync.sync_paths(Path(folder), parent, self.index(meta["workflow"]).path)

    def _create_files(self, meta: dict[str, Any], status: dict[str, Any]) -> str:
        workflow, instance_id = meta["workflow"], meta["id"]
        final = self.folder(workflow, instance_id)
        parent = os.path.dirname(final)
        if not os.path.isdir(parent):
            os.makedirs(parent, exist_ok=True)
            fsio.touch_new(f"{os.path.dirname(parent)}/{CREATED}")
        exists = InstanceExists(f"instance {instance_id!r} already exists in workflow {workflow!r}")
        if os.path.lexists(final):
            raise exists
        tmp = f"{parent}/.creating.{instance_id}.{os.getpid()}.{os.urandom(4).hex()}"
        os.mkdir(tmp)
        try:
            write_new(f"{tmp}/instance.json", jsonenc.document(meta).encode())
            write_new(f"{tmp}/journal.jsonl", created_line(meta))
            write_new(f"{tmp}/status.json", jsonenc.document(status).encode())
            # the due entry first: an instance in place always has one (a kill between the two
            # leaves an entry whose folder is missing, which a host drops)
            self.index(workflow).add(instance_id, float(meta["created_on_epoch"]), f"{tmp}/instance.json")
            try:
                os.rename(tmp, final)
            except OSError:
                if os.path.lexists(final):
                    raise exists from None
                raise
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return final

    # -- leases ----------------------------------------------------------------------------------

    def open(self, workflow: str, instance_id: str) -> FileLease | None:
        return open_lease(self, workflow, instance_id, self._found(workflow, instance_id))

    # -- reading ---------------------------------------------------------------------------------

    def exists(self, workflow: str, instance_id: str) -> bool:
        return real_dir(self.folder(workflow, instance_id))

    def read_status(self, workflow: str, instance_id: str) -> dict[str, Any]:
        folder = self.folder(workflow, instance_id)
        pending = self.writer.pending(f"{folder}/status.json")
        if pending is not None:
            return pending
        folder = self._found(workflow, instance_id)
        try:
            document = jsonenc.loads_object(read_file(f"{folder}/status.json"))
        except OSError:
            document = None
        if document is not None and "status" in document:
            return document
        return self._status_from_journal(folder, workflow, instance_id)

    def _status_from_journal(self, folder: str, workflow: str, instance_id: str) -> dict[str, Any]:
        try:
            data = read_file(f"{folder}/journal.jsonl")
        except FileNotFoundError:
            data = b""
        except OSError as exc:
            raise InstanceUnreadable(f"{folder}/journal.jsonl: {exc.strerror or exc}") from None
        entries, _ = read_lenient(data)
        meta = instance_of(entries) or read_meta(folder, workflow, instance_id, data)
        return status_document(meta, replay_state(entries))

    def read_journal(self, workflow: str, instance_id: str) -> tuple[list[dict[str, Any]], list[str]]:
        folder = self._found(workflow, instance_id)
        try:
            data = read_file(f"{folder}/journal.jsonl")
        except FileNotFoundError:
            return [], ["journal.jsonl is missing"]
        except OSError as exc:
            return [], [f"journal.jsonl cannot be read: {exc.strerror or exc}"]
        return read_lenient(data)

    def statuses(self, workflow: str) -> list[dict[str, Any]]:
        root = f"{self.root}/workflows/{workflow}/instances"
        found: list[dict[str, Any]] = []
        for name in os.listdir(root) if real_dir(root) else []:
            if name.startswith("."):
                continue
            try:
                found.append(self.read_status(workflow, name))
            except (OSError, ValueError, LookupError):
                continue
        return found

    def listing(
        self, workflow: str, status: str | None, search: str, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], bool]:
        return self.catalog.page(workflow, status, search, offset, limit)

    def status_counts(self, workflow: str) -> dict[str, int]:
        return self.catalog.counts(workflow)

    def _due_ids(self, workflow: str) -> set[str]:
        # its own listing: DueIndex.scan() also updates what the index knows, which is the engine's
        try:
            names = os.listdir(self.index(workflow).path)
        except FileNotFoundError:
            return set()
        return {parsed[1] for name in names if (parsed := parse_entry(name)) is not None}

    def workflows(self) -> list[str]:
        root = self.root / "workflows"
        names = os.listdir(root) if real_dir(str(root)) else []
        return sorted(n for n in names if not n.startswith(".") and real_dir(str(root / n)))

    def workflow_times(self, workflow: str) -> tuple[float, float] | None:
        base = self.root / "workflows" / workflow
        try:
            changed = os.stat(base / "instances").st_mtime  # an instance added or removed
        except FileNotFoundError:
            return None
        try:
            created = os.stat(base / CREATED).st_mtime
        except FileNotFoundError:  # made before the marker existed
            created = os.stat(base / "instances").st_ctime
        return created, max(created, changed)

    # -- inbox -----------------------------------------------------------------------------------

    def put_inbox(self, workflow: str, instance_id: str, kind: str, body: dict[str, Any]) -> str:
        folder = self._found(workflow, instance_id)
        try:
            name = self.inbox(workflow, instance_id).put(kind, body)
        except StorageFull:
            raise
        except OSError as exc:
            self._found(workflow, instance_id)  # removed meanwhile: InstanceNotFound
            raise InstanceUnreadable(f"{folder}/inbox: {exc.strerror or exc}") from None
        self.index(workflow).signal(instance_id)
        return name

    def pending_actions(self, workflow: str, instance_id: str) -> tuple[str, ...]:
        return self.inbox(workflow, instance_id).actions()

    # -- the due index ---------------------------------------------------------------------------

    def prepare(self, workflow: str) -> None:
        base = self.root / "workflows" / workflow
        for part in (base, base / "instances"):
            if os.path.islink(part):
                raise OSError(f"{part} is a symlink; folders inside the data directory must be real folders")
        removal.clear_interrupted(base / "instances", STALE_CREATE)
        if removal.finish_removals(base / "instances", self.index(workflow)):
            log.info("workflow %s: finished removing instances a crash had left half removed", workflow)
        if self.index(workflow).ensure(lambda instance_id: self._due_of(workflow, instance_id)):
            log.info("workflow %s: rebuilt the due index from the instance folders", workflow)

    def _due_of(self, workflow: str, instance_id: str) -> float | None:
        folder = self.folder(workflow, instance_id)
        if not real_dir(folder):
            return None
        try:
            text = read_file(f"{folder}/status.json")
        except FileNotFoundError:
            return SIGNAL  # a host rebuilds it from the journal
        due = due_from_status(text, 0.0)
        if due is None and self.inbox(workflow, instance_id).actions():
            return SIGNAL  # paused or final with a request waiting (resume, restart)
        return due

    def unindexed(self, workflow: str) -> list[tuple[float, str]]:
        index = self.index(workflow)
        indexed = {instance_id for _, instance_id in index.scan()}
        found = []
        for instance_id in index.folders():
            if instance_id in indexed:
                continue
            try:
                due = self._due_of(workflow, instance_id)
            except OSError as exc:
                log.error("skipping instance folder %s: %s", self.folder(workflow, instance_id), exc)
                continue
            if due is not None:
                index.put(instance_id, due)
                found.append((due, instance_id))
        return found

    def due(self, workflow: str) -> list[tuple[float, str]]:
        return self.index(workflow).scan()

    # -- removal (host.store.removal, host.store.expiry) ------------------------------------------

    def delete(self, workflow: str, instance_id: str) -> None:
        removal.delete(self, workflow, instance_id)

    def sweep(self, workflow: str, now: float) -> list[str]:
        return removal.sweep(self, workflow, now)

    def expiring(self, workflow: str, until: float) -> list[tuple[float, str]]:
        return self.expiry(workflow).due(until)

    def change_token(self, workflow: str) -> int:
        return self.index(workflow).version()

    async def aclose(self) -> None:
        await anyio.to_thread.run_sync(self.writer.close)
        self.sync.close()
