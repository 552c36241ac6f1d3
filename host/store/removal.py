"""Removing instance folders (deleted, expired, or left by a crash), atomically under kill -9.

1. Lock the instance (flock on its journal, as a lease does) and check, from the journal, that
   it has ended (and for a sweep, that its retention has run out).
2. Rename instances/<id> to instances/.deleting.<id>.<pid>.<random>: one atomic step after
   which the instance is gone for every reader (they skip names starting with "."); fsynced.
3. Remove its due signal and expiry entries, then the renamed folder, then unlock.

A kill after 2 leaves a `.deleting.` folder that finish_removals() (run by prepare() and by every
sweep) removes. A process that opened the journal before the rename and gets the lock after it
sees the name no longer leads to its file, and takes the instance as gone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from host.errors import InstanceNotFound, InvalidTransition
from host.store import fsio
from host.store.expiry import ExpiryIndex, expiry_from_status
from host.store.fileindex import SIGNAL, DueIndex, entry_name
from host.store.lease import lock, still_there
from host.workflows.entries import replay_state
from host.workflows.journal import instance_of, read_lenient
from host.workflows.retention import expires_at
from host.workflows.statuses import FINAL_VALUES

log = logging.getLogger("waypost.workflows")
TOMB = ".deleting."
HELD_WAIT = 2.0  # seconds delete() waits for another holder of a final instance to let go


class Home(Protocol):
    """What removal needs of the file store (host.store.filestore.FileStore)."""

    durable: bool

    def folder(self, workflow: str, instance_id: str) -> str: ...

    def index(self, workflow: str) -> DueIndex: ...

    def expiry(self, workflow: str) -> ExpiryIndex: ...

    def read_status(self, workflow: str, instance_id: str) -> dict[str, object]: ...


class Held(Exception):
    """Another holder has the instance's lock."""


@contextlib.contextmanager
def _locked(folder: str, workflow: str, instance_id: str) -> Iterator[bytes]:
    """Hold the instance's lock; yields its journal's bytes. InstanceNotFound, Held."""
    path = f"{folder}/journal.jsonl"
    missing = InstanceNotFound(f"instance {instance_id!r} not found in workflow {workflow!r}")
    try:
        fd = fsio.open_file(path, os.O_RDWR)
    except (FileNotFoundError, NotADirectoryError):
        raise missing from None
    unlock = lock(fd, folder)
    if unlock is None:
        os.close(fd)
        raise Held(instance_id)
    try:
        if not still_there(path, fd):  # removed (or replaced) between our open and our lock
            raise missing
        yield fsio.read_all(fd)
    finally:
        unlock()


def _ended(home: Home, workflow: str, instance_id: str, data: bytes) -> tuple[str, float | None]:
    """(status, expiry) as the journal says; status.json's word for the status where it is damaged."""
    entries, problems = read_lenient(data)
    state = replay_state(entries)
    status, ended = state.status.value, state.ended_at
    if problems and status not in FINAL_VALUES:
        status = str(home.read_status(workflow, instance_id).get("status"))  # errored: damaged
    meta = instance_of(entries) or {}
    return status, expires_at(meta, status, ended)


def remove(home: Home, workflow: str, instance_id: str, *, expired_by: float | None = None) -> bool:
    """Remove the instance if it has ended (and, with `expired_by`, if its expiry is not after
    it); True if removed. Without `expired_by`: InvalidTransition if it has not ended. Held if
    another holder has it; InstanceNotFound if it is gone."""
    folder = home.folder(workflow, instance_id)
    with _locked(folder, workflow, instance_id) as data:
        status, expiry = _ended(home, workflow, instance_id, data)
        if status not in FINAL_VALUES:
            if expired_by is not None:
                return False
            raise InvalidTransition(
                f"cannot delete instance {instance_id!r}: it is {status}; terminate it first "
                "(only complete, errored or terminated instances can be deleted)"
            )
        if expired_by is not None and (expiry is None or expiry > expired_by):
            if expiry is not None:  # kept longer (ended again after a restart): due then
                home.expiry(workflow).add(instance_id, expiry, f"{folder}/instance.json")
            return False
        instances = os.path.dirname(folder)
        tomb = f"{instances}/{TOMB}{instance_id}.{os.getpid()}.{os.urandom(4).hex()}"
        os.rename(folder, tomb)
        if home.durable:
            fsio.fsync_path(instances)
        home.index(workflow).forget(instance_id)
        if expiry is not None:
            home.expiry(workflow).remove(instance_id, expiry)
        _rmtree(tomb)
    return True


def delete(home: Home, workflow: str, instance_id: str) -> None:
    """remove() now, waiting a moment for a holder that is letting go of a final instance."""
    deadline = time.monotonic() + HELD_WAIT
    while True:
        try:
            remove(home, workflow, instance_id)
            return
        except Held:
            if time.monotonic() > deadline:
                raise InvalidTransition(
                    f"cannot delete instance {instance_id!r}: a host is working on it right now; "
                    "try again in a moment"
                ) from None
            time.sleep(0.02)


def sweep(home: Home, workflow: str, now: float) -> list[str]:
    """Remove every instance whose expiry entry is due by `now` and whose retention has run out."""
    index = home.expiry(workflow)

    def expiry_of(instance_id: str) -> float | None:
        return expiry_from_status(f"{home.folder(workflow, instance_id)}/status.json")

    if index.ensure(expiry_of, home.index(workflow).folders):
        log.info("workflow %s: rebuilt the expiry index from the instance folders", workflow)
    if not index.tidied:  # once per process: a workflow no host prepares (not defined) too
        index.tidied = True
        finish_removals(index.instances, home.index(workflow))
    removed = []
    for when, instance_id in index.due(now):
        try:
            if remove(home, workflow, instance_id, expired_by=now):
                removed.append(instance_id)
                continue
        except Held:
            continue  # running again (restarted), or another host removes it: look next time
        except InstanceNotFound:
            pass
        except OSError as exc:
            log.error("workflow %s instance %s: cannot remove it: %s", workflow, instance_id, exc)
            continue
        index.remove(instance_id, when)  # gone, running again, or kept longer: not due at `when`
    return removed


def finish_removals(instances: Path, due: DueIndex) -> int:
    """Remove what removals cut short by a crash left (`.deleting.` folders); how many."""
    try:
        names = [n for n in os.listdir(instances) if n.startswith(TOMB)]
    except OSError:
        return 0
    for name in names:
        tomb = instances / name
        instance_id = name[len(TOMB) :].rsplit(".", 2)[0]
        _drop_signal(due, tomb, instance_id)
        _rmtree(str(tomb))
    return len(names)


def clear_interrupted(instances: Path, stale: float) -> None:
    """Remove the temporary folders of creates older than `stale` seconds (cut short by a crash)."""
    try:
        names = [n for n in os.listdir(instances) if n.startswith(".creating.")]
    except OSError:
        return
    for name in names:
        path = instances / name
        try:
            if time.time() - os.lstat(path).st_mtime > stale:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass


def _drop_signal(due: DueIndex, tomb: Path, instance_id: str) -> None:
    """The due signal of the removed instance, if it is still there and still its own."""
    entry = due.path / entry_name(SIGNAL, instance_id)
    try:
        linked = os.stat(entry, follow_symlinks=False)
    except FileNotFoundError:
        return
    try:
        ours = os.stat(tomb / "instance.json", follow_symlinks=False).st_ino == linked.st_ino
    except FileNotFoundError:  # its instance.json is gone already: the entry is its last name
        ours = linked.st_nlink == 1 and not fsio.real_dir(str(due.instances / instance_id))
    if ours:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(entry)


def _rmtree(path: str) -> None:
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.error("cannot remove %s: %s (it is removed at the next start)", path, exc)
