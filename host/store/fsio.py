"""File operations the store is made of, each safe against symlinks, torn writes and a full disk.

Every open uses O_NOFOLLOW, so a symlink planted in the data directory is refused rather than
followed out of it. A write that fails (ENOSPC, EDQUOT, a short write) leaves the file as it was:
appends are cut back to the previous end, new files are removed, replacements never happen.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from host.errors import StorageFull

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_FULL = (errno.ENOSPC, errno.EDQUOT)


def storage_error(exc: OSError, what: str) -> OSError:
    """StorageFull for a full disk or quota, naming what could not be written; else `exc`."""
    if exc.errno in _FULL:
        return StorageFull(exc.errno, f"the data directory's disk is full: cannot write {what}")
    return exc


def open_file(path: str, flags: int, mode: int = 0o644) -> int:
    """os.open without following a symlink in the last component (ELOOP names it)."""
    try:
        return os.open(path, flags | NOFOLLOW, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(errno.ELOOP, "refusing to follow a symlink in the data directory", path) from None
        raise


def real_dir(path: str) -> bool:
    """True if `path` is a folder and not a symlink to one (False if missing)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def read_all(fd: int) -> bytes:
    """The whole file open at `fd`, from its start."""
    chunks, offset = [], 0
    while chunk := os.pread(fd, max(65536, offset), offset):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def read_file(path: str) -> bytes:
    fd = open_file(path, os.O_RDONLY)
    try:
        return read_all(fd)
    finally:
        os.close(fd)


def _write_whole(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, "short write")
        view = view[written:]


def append(fd: int, end: int, data: bytes, what: str) -> int:
    """Write `data` at `end` (the file's current length) all or nothing; returns the new end.

    A failed or short write is cut back to `end`, so the next append never glues onto a fragment.
    The descriptor must not be O_APPEND (Linux's pwrite ignores the offset then).
    """
    offset = end
    view = memoryview(data)
    try:
        while view:
            written = os.pwrite(fd, view, offset)
            if written <= 0:
                raise OSError(errno.ENOSPC, "short write")
            view, offset = view[written:], offset + written
    except OSError as exc:
        try:
            os.ftruncate(fd, end)
        except OSError:
            pass
        raise storage_error(exc, what) from None
    return offset


def write_new(path: str, data: bytes, sync: bool = False) -> None:
    """Make `path` (which must not exist) holding `data`; on failure nothing is left."""
    fd = open_file(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        _write_whole(fd, data)
        if sync:
            os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        _remove(path)
        raise storage_error(exc, path) from None
    os.close(fd)


def write_atomic(path: str, data: bytes, sync: bool = False) -> None:
    """Replace `path` with `data`: readers see the old or the new content, never a part."""
    folder, name = os.path.split(path)
    tmp = f"{folder}/.{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    write_new(tmp, data, sync)
    try:
        os.replace(tmp, path)
    except OSError:
        _remove(tmp)
        raise


def touch_new(path: str) -> None:
    """Make an empty file at `path` unless something is there."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o644))
    except FileExistsError:
        pass


def fsync_path(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY | NOFOLLOW)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
