"""One instance's folder: instance.json, journal.jsonl, status.json, inbox/ and the lock.

Atomicity of each operation:
- create(): mkdir is the claim (a second create of the same id fails); then the files.
- status_writer(): status.json swapped with an empty spare (renameat2 exchange), or temp file +
  os.replace, so readers see the old or the new summary, never half.
- JournalWriter.append(): one write() of a whole line on an O_APPEND descriptor; fsync when durable.
- inbox_put(): temp name + os.rename into inbox/, so a reader never sees a half-written request;
  names sort in arrival order.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import itertools
import json
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import anyio.to_thread

from host.errors import InstanceExists, InstanceNotFound
from host.workflows import journal, jsonenc
from host.workflows.delays import FixedDelay
from host.workflows.lock import LOCK_IN_PLACE, HeldLock, try_lock
from host.workflows.syncer import GroupSync

DURABILITY = ("fsync", "relaxed")
START_WRITE_DELAY = 0.02  # seconds a step_start line may wait to be written with the step's result


def workflows_root(data_dir: Path) -> Path:
    return data_dir / "workflows"


def instances_root(data_dir: Path, workflow: str) -> Path:
    return data_dir / "workflows" / workflow / "instances"


_temp_names = itertools.count()


def _load_exchange() -> Callable[[str, str], None] | None:
    """renameat2(RENAME_EXCHANGE) where Linux and the C library have it: swaps two names atomically."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None

    def exchange(a: str, b: str) -> None:
        if renameat2(-100, os.fsencode(a), -100, os.fsencode(b), 2) != 0:  # AT_FDCWD, RENAME_EXCHANGE
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code), a)

    return exchange


_exchange = _load_exchange()
# Held while a spare is written and swapped, and while one is emptied: the swap may run on the
# event loop (a lone instance) while the janitor thread empties an earlier swap's spare, and an
# emptying that lands between the write and the swap would swap in an empty status.json.
_spare_lock = threading.Lock()


def replace_keeping_spare(
    path: str | Path, spare: str | Path, text: str, later: Callable[[Callable[[], None]], None]
) -> None:
    """Replace `path` with `text` atomically without making a new inode each time.

    A new inode costs the kernel 0.2-0.7 ms of CPU on the disks we measured; swapping names costs
    tens of microseconds. The text goes into `spare` (an empty file kept beside `path`), the two
    names are exchanged, and the spare (now holding the old text) is emptied by `later`, a second
    on, so a reader that had just opened the old file still reads all of it. At rest the spare
    is empty: no data block. The first time, the spare is a new file, and the swap makes the old
    file the spare. Without renameat2 it is the classic temporary file and rename.
    """
    if _exchange is None:
        write_atomic(path, text)
        return
    with _spare_lock:
        fd = _open_spare(str(spare))
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)
        try:
            _exchange(str(spare), str(path))
        except FileNotFoundError:  # no status.json (someone removed it): the spare becomes it
            os.replace(spare, path)
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                raise
            _disable_exchange()  # a filesystem without RENAME_EXCHANGE: the classic way from now on
            os.replace(spare, path)
    later(partial(_empty, spare))


def _open_spare(spare: str) -> int:
    """The spare, open for writing and empty; made if missing."""
    try:
        fd: int | None = os.open(spare, os.O_WRONLY)
    except FileNotFoundError:
        fd = None
    if fd is not None:
        try:
            info = os.fstat(fd)
            if info.st_nlink == 1 and info.st_size:  # still holding an earlier document (see later)
                os.ftruncate(fd, 0)
        except BaseException:
            os.close(fd)
            raise
        if info.st_nlink == 1:
            return fd
        # a second name of another file: that state (below), left by an older version, or a
        # hard-link copy of the folder; writing into it would change that file too
        os.close(fd)
        os.unlink(spare)
    # a new file, never a second name of the old status.json: a process killed between such a
    # link and the swap would leave one inode under both names, and every later write into the
    # spare would then empty status.json
    return os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)


def _disable_exchange() -> None:
    global _exchange
    _exchange = None


def _empty(path: str | Path) -> None:
    with _spare_lock:
        try:
            os.truncate(path, 0)
        except FileNotFoundError:
            pass


def write_atomic(path: str | Path, text: str) -> None:
    """Replace `path` with `text` so readers see either the old or the new content."""
    # pid + counter: unique without reading random bytes; plain os calls: open() adds three
    # system calls (fstat, ioctl, lseek) to each of many small writes
    folder, name = os.path.split(path)
    tmp = f"{folder}/.{name}.{os.getpid()}.{next(_temp_names)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


FIRST_READ = 65536  # bytes asked for by the first read of a whole file: most are far smaller


def read_small(path: str) -> bytes:
    """A small file's bytes in three system calls (open, read, close); open() adds four more and
    a text wrapper, and an activation reads instance.json this way every time it loads."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return read_all(fd)
    finally:
        os.close(fd)


def read_all(fd: int) -> bytes:
    """The whole file open at `fd`, without asking its size first (an fstat more for each of
    thousands of activations): one pread when it is under FIRST_READ, else reads that double."""
    data = os.pread(fd, FIRST_READ, 0)
    if len(data) < FIRST_READ:
        return data
    chunks, size = [data], len(data)
    while chunk := os.pread(fd, size, size):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _write_new(path: str, text: str, *, sync: bool = False) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, text.encode())
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


class InstanceDir:
    """Paths and file operations of one instance; ids must be validated before they get here."""

    def __init__(self, data_dir: Path, workflow: str, instance_id: str, durability: str = "fsync") -> None:
        self.workflow = workflow
        self.instance_id = instance_id
        self.durable = durability == "fsync"
        # plain strings: building these as pathlib paths was a tenth of the loop's time when
        # thousands of instances woke at once, and os functions take strings as they are
        self.dir = f"{data_dir}/workflows/{workflow}/instances/{instance_id}"
        self.instance_json = f"{self.dir}/instance.json"
        self.journal_path = f"{self.dir}/journal.jsonl"
        self.status_json = f"{self.dir}/status.json"
        self.status_spare = f"{self.dir}/.status.json.spare"  # see replace_keeping_spare
        self.inbox = f"{self.dir}/inbox"
        # POSIX: flock on the journal itself (it exists from create on, so locking costs no new
        # file, and the locked descriptor appends); filelock elsewhere writes to its lock file,
        # so it gets a separate .lock there
        self.lock_path = self.journal_path if LOCK_IN_PLACE else f"{self.dir}/.lock"

    @property
    def path(self) -> Path:
        return Path(self.dir)

    # -- create and read ---------------------------------------------------------------------

    def create(self, meta: dict[str, Any], status: dict[str, Any]) -> None:
        """Claim the id by mkdir and write the initial files; InstanceExists if taken."""
        os.makedirs(os.path.dirname(self.dir), exist_ok=True)
        try:
            os.mkdir(self.dir)
        except FileExistsError:
            raise InstanceExists(
                f"instance {self.instance_id!r} already exists in workflow {self.workflow!r}"
            ) from None
        # the folder is new and ours, so plain writes suffice. The journal is made here, so its
        # new inode is paid at create, off the path of the first step; its first line (the
        # queued status) carries instance.json's content, so that loading the instance reads
        # one file, not two (see journal.instance_of). inbox/ appears on first use
        _write_new(self.instance_json, jsonenc.document(meta), sync=self.durable)
        _write_new(self.status_json, jsonenc.document(status))
        _write_new(self.journal_path, journal.created_line(meta).decode())

    def exists(self) -> bool:
        return os.path.exists(self.instance_json)

    def not_found(self) -> InstanceNotFound:
        return InstanceNotFound(f"instance {self.instance_id!r} not found in workflow {self.workflow!r}")

    def read_meta(self) -> dict[str, Any]:
        """instance.json; InstanceNotFound when the instance does not exist."""
        return self._read_json(self.instance_json)

    def read_status(self) -> dict[str, Any]:
        """The current summary; InstanceNotFound when the instance does not exist."""
        return self._read_json(self.status_json)

    def _read_json(self, path: str) -> dict[str, Any]:
        for attempt in range(3):
            try:
                data = read_small(path)
            except FileNotFoundError:
                raise self.not_found() from None
            try:
                return json.loads(data)  # type: ignore[no-any-return]
            except ValueError:
                # status.json is swapped with its spare, which is emptied a second later: a
                # reader that opened the old file and stalled that long reads it empty; again
                if attempt == 2:
                    raise
                time.sleep(0.001)
        raise AssertionError("unreachable")

    def status_writer(
        self, status: dict[str, Any], later: Callable[[Callable[[], None]], None] | None = None
    ) -> Callable[[], None]:
        """The write of this status.json, encoded now, to run later (on the janitor's thread);
        with `later` (the janitor's), by swapping with a spare file instead of a new one."""
        # not fsynced: the journal is the record, status.json is rebuilt from it on the next run
        text = jsonenc.document(status)
        if later is None:
            return partial(write_atomic, self.status_json, text)
        return partial(replace_keeping_spare, self.status_json, self.status_spare, text, later)

    def open_journal(self, lock: HeldLock) -> tuple[int, bool, list[dict[str, Any]]]:
        """The journal's descriptor for appending (the lock's own where it has one), whether the
        caller must close it, and the entries read through it; a torn last line is cut off.
        JournalDamaged for damage elsewhere."""
        fd = lock.fileno()
        owned = fd is None
        if fd is None:
            try:
                fd = os.open(self.journal_path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            except FileNotFoundError:  # the folder went away
                raise self.not_found() from None
        try:
            data = read_all(fd)
            entries, good = journal.parse(data, self.journal_path)
            if good < len(data):
                os.ftruncate(fd, good)
        except BaseException:
            if owned:
                os.close(fd)
            raise
        return fd, owned, entries

    def reset_journal(self, fd: int) -> None:
        """Empty the journal open at `fd`, keeping a copy beside it (restart discards progress,
        not history). Emptied in place, never renamed: its inode may be the instance lock."""
        data = read_all(fd)
        if data:
            kept = os.open(
                f"{self.dir}/journal.{time.time_ns()}.restarted.jsonl",
                os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                0o644,
            )
            try:
                os.write(kept, data)  # bytes as they were, damaged lines too
            finally:
                os.close(kept)
        os.ftruncate(fd, 0)

    # -- inbox ---------------------------------------------------------------------------------

    def inbox_put(self, body: dict[str, Any]) -> str:
        """Drop a request into inbox/ by rename; the name sorts in arrival order."""
        if not self.exists():
            raise self.not_found()
        os.makedirs(self.inbox, exist_ok=True)  # made on first use
        name = f"{time.time_ns():020d}-{secrets.token_hex(4)}-{body['kind']}.json"
        tmp = f"{self.dir}/.{name}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(body, fh, ensure_ascii=False)
            if self.durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.rename(tmp, f"{self.inbox}/{name}")
        return name

    def inbox_names(self) -> list[str]:
        try:
            return sorted(n for n in os.listdir(self.inbox) if n.endswith(".json"))
        except FileNotFoundError:
            return []

    def inbox_read(self, name: str) -> dict[str, Any] | None:
        try:
            with open(f"{self.inbox}/{name}", encoding="utf-8") as fh:
                return json.loads(fh.read())  # type: ignore[no-any-return]
        except (FileNotFoundError, ValueError):
            return None

    def inbox_remove(self, name: str) -> None:
        try:
            os.unlink(f"{self.inbox}/{name}")
        except FileNotFoundError:
            pass

    # -- lock ----------------------------------------------------------------------------------

    def try_lock(self) -> HeldLock | None:
        """Take the instance lock without waiting; None if another process (or owner) holds it."""
        try:
            return try_lock(self.lock_path)
        except FileNotFoundError:
            pass
        if not self.exists():
            raise self.not_found()
        # made before its journal was made at create: the journal (and lock) file appears now
        os.close(os.open(self.lock_path, os.O_WRONLY | os.O_CREAT, 0o644))
        try:
            return try_lock(self.lock_path)
        except FileNotFoundError:
            raise self.not_found() from None


class JournalWriter:
    """Appends entries to an open journal; durable appends are fsynced before they return.

    A line may be held back (`hold`): it is written with the next line, or on its own once
    `START_WRITE_DELAY` passes. Steps hold their step_start line, so a step that finishes within
    that delay costs one write (done on the sync thread) instead of two, while a longer step still
    shows as started in the journal.
    """

    def __init__(
        self,
        path: str | Path,
        durable: bool,
        syncer: GroupSync | None = None,
        fd: int | None = None,
        owned: bool = True,
        held_later: FixedDelay | None = None,
    ) -> None:
        """Append to `path`, or to `fd` when the caller already opened it (O_APPEND); `owned`
        False: close() leaves `fd` open (it is the instance lock's, closed when that is released).
        `held_later`: a shared START_WRITE_DELAY queue for held lines (else a loop timer each)."""
        self._fd = fd if fd is not None else os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._owned = owned or fd is None
        self._durable = durable
        self._syncer = syncer
        self._held: list[bytes] = []
        self._held_lock = threading.Lock()  # the close runs on a worker thread
        self._held_timer = False  # a _write_held_soon is scheduled
        self._held_later = held_later

    def hold(self, entry: dict[str, Any]) -> None:
        """Keep `entry` to be written with the next line, or by itself within START_WRITE_DELAY."""
        entry.setdefault("t", time.time())
        with self._held_lock:
            self._held.append(journal.encode(entry))
        if not self._held_timer:  # one timer per journal at a time, not one per step
            self._held_timer = True
            if self._held_later is not None:
                self._held_later.call(self._write_held_soon)
            else:
                asyncio.get_running_loop().call_later(START_WRITE_DELAY, self._write_held_soon)

    def _write_held_soon(self) -> None:
        self._held_timer = False
        self.write_held()

    def _take_held(self) -> bytes:
        with self._held_lock:
            held, self._held = self._held, []
        return b"".join(held)

    def write_held(self) -> None:
        """Write any held-back line now."""
        # under the lock: close() on a worker thread must not close the descriptor mid-write
        with self._held_lock:
            held, self._held = self._held, []
            if held and self._fd >= 0:
                os.write(self._fd, b"".join(held))

    def write(self, entry: dict[str, Any], raw: dict[str, str] | None = None) -> None:
        """Append without waiting for the disk (attempt starts and other non-decisive facts)."""
        entry.setdefault("t", time.time())
        os.write(self._fd, self._take_held() + journal.encode(entry, raw))

    async def append(self, entry: dict[str, Any], raw: dict[str, str] | None = None) -> None:
        """Append and, with durability fsync, wait until the line is on disk."""
        self.write(entry, raw)
        if self._durable:
            await self.flush()

    async def flush(self, last: bool = False) -> None:
        """Wait until everything written so far is on disk (group commit when a syncer is given);
        `last`: the instance's final status, which yields to steps under load."""
        if self._syncer is not None:
            await self._syncer.sync(self._fd, last)
        else:
            await anyio.to_thread.run_sync(os.fsync, self._fd)

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        self.write_held()
        with self._held_lock:
            if self._fd >= 0 and self._owned:
                os.close(self._fd)
            self._fd = -1
