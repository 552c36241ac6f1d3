"""One instance held by this process: the file side of host.workflows.store.Lease, and taking it.

The journal descriptor is the lock (flock) and the one the journal is read and written through;
appends go at the known end with pwrite and are cut back on failure (host.store.fsio).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from typing import Any, Protocol

from host.errors import InstanceNotFound, InstanceUnreadable
from host.store import fsio, restart
from host.store.expiry import ExpiryIndex, epoch_of
from host.store.fileinbox import Inbox
from host.store.fileindex import DueIndex
from host.store.filelist import LEFT_SETTLED, SETTLED, note_left
from host.store.groupsync import GroupSync
from host.store.writer import Writer
from host.workflows import jsonenc
from host.workflows.entries import replay_state
from host.workflows.journal import JournalDamaged, encode, instance_of, parse, queued_entry, read_lenient
from host.workflows.status import status_document
from host.workflows.store import InboxItem

log = logging.getLogger("waypost.workflows")
HOLD = 0.02  # seconds a held line (an attempt's start) waits for the next append to go with it

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class Home(Protocol):
    """What a lease needs of the file store that made it (host.store.filestore.FileStore)."""

    durable: bool
    writer: Writer
    sync: GroupSync
    leases: int  # open now

    def folder(self, workflow: str, instance_id: str) -> str: ...

    def index(self, workflow: str) -> DueIndex: ...

    def expiry(self, workflow: str) -> ExpiryIndex: ...

    def inbox(self, workflow: str, instance_id: str) -> Inbox: ...


def lock(fd: int, folder: str) -> Callable[[], None] | None:
    """Lock the instance whose journal is open at `fd`; returns the unlock (which also closes
    `fd`), or None if another holder has the lock."""
    if fcntl is None:  # pragma: no cover - Windows
        from filelock import FileLock, Timeout

        held = FileLock(f"{folder}/.lock", timeout=0, thread_local=False)
        try:
            held.acquire()
        except Timeout:
            return None

        def release_filelock() -> None:
            os.close(fd)
            held.release()

        return release_filelock
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return None
    return lambda: os.close(fd)  # closing the only descriptor drops the flock


class FileLease:
    def __init__(
        self,
        store: Home,
        workflow: str,
        instance_id: str,
        fd: int,
        end: int,
        unlock: Callable[[], None],
        meta: dict[str, Any],
        entries: list[dict[str, Any]],
        damage: str | None,
    ) -> None:
        self.workflow, self.instance_id = workflow, instance_id
        self.meta, self.entries, self.damage = meta, entries, damage
        self._store = store
        self._folder = store.folder(workflow, instance_id)
        self._path = f"{self._folder}/journal.jsonl"
        self._fd, self._end, self._unlock = fd, end, unlock
        self._held: list[bytes] = []  # lines kept to go with the next append (hold)
        self._timer: asyncio.TimerHandle | None = None
        self._expiry: float | None = None  # the expiry entry written by this lease
        # the status the journal or this lease last gave (write_status: did it leave a settled one?)
        self._status = next(
            (e.get("status") or "queued" for e in reversed(entries) if e.get("type") == "status"), None
        )
        store.leases += 1
        self._inbox = store.inbox(workflow, instance_id)

    def append(self, entry: dict[str, Any], raw: dict[str, str] | None = None) -> None:
        entry.setdefault("t", time.time())
        self._write(self._take_held() + encode(entry, raw))

    def hold(self, entry: dict[str, Any], raw: dict[str, str] | None = None) -> None:
        entry.setdefault("t", time.time())
        self._held.append(encode(entry, raw))
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(HOLD, self._write_held)

    def _take_held(self) -> bytes:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        held, self._held = b"".join(self._held), []
        return held

    def _write_held(self) -> None:
        self._timer = None
        try:
            self._write(self._take_held())
        except OSError as exc:  # an attempt's start only: its outcome, when written, says enough
            log.error("cannot write to %s: %s", self._path, exc)

    def _write(self, data: bytes) -> None:
        self._end = fsio.append(self._fd, self._end, data, self._path)

    async def flush(self) -> None:
        if self._store.durable:
            await self._store.sync.sync(self._fd)

    def reset(self, request: str | None = None) -> dict[str, Any]:
        self._take_held()  # an attempt of the run being discarded
        data = fsio.read_all(self._fd)[: self._end]
        if data:
            restart.keep(self._folder, data, self._store.durable)
        # a kill between these two leaves an empty journal beside its copy: FileStore.open
        # finishes the restart then
        os.ftruncate(self._fd, 0)
        self._end = 0
        first = restart.named(queued_entry(self.meta, time.time()), request)
        self.append(first)
        self._inbox.drop_events()
        return first

    def restart_from(
        self, step: tuple[str, str, int], request: str | None = None
    ) -> list[dict[str, Any]] | None:
        held = self._take_held()
        if held:
            self._write(held)  # an attempt's start is part of the journal's order
        data = fsio.read_all(self._fd)[: self._end]
        found = restart.cut(data, step)
        if found is None:
            return None
        kept, offset, events = found
        restart.keep_and_put_back(self._folder, data, self._inbox, events, self._store.durable)
        os.ftruncate(self._fd, offset)
        self._end = offset
        queued = restart.named(restart.queued_from(step), request)
        self.append(queued)
        return [*kept, queued]

    def write_status(self, document: dict[str, Any]) -> None:
        self._store.writer.status(f"{self._folder}/status.json", document)
        status, was = document.get("status"), self._status
        self._status = status
        if was in SETTLED and status not in SETTLED:  # resumed or restarted: listings must look again
            log_path = f"{os.path.dirname(os.path.dirname(self._folder))}/{LEFT_SETTLED}"
            line = f"{self.instance_id}\n".encode()
            self._store.writer.call(lambda: note_left(log_path, line))  # after the status.json write
        expiry = epoch_of(document.get("expires_at"))
        if expiry is not None and expiry != self._expiry:  # final, with a retention (SPEC 3.11)
            self._expiry = expiry
            index, target = self._store.expiry(self.workflow), f"{self._folder}/instance.json"
            self._store.writer.call(lambda: index.add(self.instance_id, expiry, target))

    def inbox(self) -> list[InboxItem]:
        return self._inbox.items()

    def inbox_done(self, name: str) -> None:
        self._store.writer.call(lambda: self._inbox.remove(name))

    def mark_due(self, when: float) -> None:
        index = self._store.index(self.workflow)
        self._store.writer.call(lambda: index.put(self.instance_id, when))

    async def release(self, next_due: float | None, seen: set[str]) -> None:
        if self._held:
            self._write_held()
        index = self._store.index(self.workflow)

        def release() -> None:
            try:
                if next_due is None:
                    index.remove(self.instance_id)
                else:
                    index.put(self.instance_id, next_due)
                if any(name not in seen for name in self._inbox.names()):
                    index.put(self.instance_id, time.time())  # arrived after the last look
            finally:
                self._unlock()

        self._store.leases -= 1
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def released() -> None:
            if not done.done():
                done.set_result(None)

        self._store.writer.call(release, done=released)
        await asyncio.shield(done)


# ---- taking a lease ------------------------------------------------------------------------------


def open_lease(store: Home, workflow: str, instance_id: str, folder: str) -> FileLease | None:
    """Lock the instance in `folder` and read its journal (FileStore.open's work)."""
    path = f"{folder}/journal.jsonl"
    damage = None
    try:
        fd = fsio.open_file(path, os.O_RDWR)
    except FileNotFoundError:
        if not os.path.lexists(f"{folder}/instance.json"):
            raise InstanceNotFound(f"instance {instance_id!r} not found in workflow {workflow!r}") from None
        fd = fsio.open_file(path, os.O_RDWR | os.O_CREAT | os.O_EXCL)
        damage = f"{path} is missing: the instance's record of its steps is gone"
    except OSError as exc:  # a symlink, a folder, no permission: never run it from such a file
        raise _unreadable(store, folder, workflow, instance_id, path, exc) from None
    unlock = lock(fd, folder)
    if unlock is None:
        os.close(fd)
        return None
    try:
        if not still_there(path, fd):  # removed (host.store.removal) between the open and the lock
            raise InstanceNotFound(f"instance {instance_id!r} not found in workflow {workflow!r}")
        data = fsio.read_all(fd)
        entries: list[dict[str, Any]] = []
        good = 0
        if not data and damage is None:
            data = _after_interrupted_restart(folder, fd, workflow, instance_id)
        if not data and damage is None:
            damage = f"{path} is empty: the instance's record of its steps is gone"
        try:
            entries, good = parse(data, path)
            if good < len(data):
                os.ftruncate(fd, good)
        except JournalDamaged as exc:
            damage, good = str(exc), len(data)
        meta = instance_of(entries) or read_meta(folder, workflow, instance_id, data)
    except BaseException:
        unlock()
        raise
    if not os.path.lexists(f"{folder}/instance.json"):
        text = jsonenc.document(meta).encode()
        store.writer.call(lambda: fsio.write_atomic(f"{folder}/instance.json", text))
    return FileLease(store, workflow, instance_id, fd, good, unlock, meta, entries, damage)


def still_there(path: str, fd: int) -> bool:
    try:
        return os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _unreadable(
    store: Home, folder: str, workflow: str, instance_id: str, path: str, exc: OSError
) -> InstanceUnreadable:
    """Say in status.json (replaced, never written through) that the instance cannot run."""
    message = f"{path}: {exc.strerror or exc}; the instance cannot run until it is repaired"
    document = status_document(read_meta(folder, workflow, instance_id, b""), replay_state([]))
    document.update(status="errored", error={"name": "InstanceUnreadable", "message": message})
    store.writer.status(f"{folder}/status.json", document)
    return InstanceUnreadable(message)


def _after_interrupted_restart(folder: str, fd: int, workflow: str, instance_id: str) -> bytes:
    """An empty journal beside a restarted copy is a restart cut short between emptying the
    journal and writing its first line: write that line now (b"" if it is not that)."""
    if not any(n.startswith("journal.") and n.endswith(".restarted.jsonl") for n in os.listdir(folder)):
        return b""
    line = encode(queued_entry(read_meta(folder, workflow, instance_id, b""), time.time()))
    fsio.append(fd, 0, line, f"{folder}/journal.jsonl")
    return line


def read_meta(folder: str, workflow: str, instance_id: str, journal: bytes) -> dict[str, Any]:
    """instance.json, else the journal's first line read leniently, else the bare names."""
    try:
        meta = jsonenc.loads_object(fsio.read_file(f"{folder}/instance.json"))
        if meta is not None:
            return meta
    except OSError:
        pass
    return instance_of(read_lenient(journal)[0]) or {"id": instance_id, "workflow": workflow}
