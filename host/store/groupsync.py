"""Group commit: many instances' fsyncs answered by one flush on one thread.

Appends happen on the event loop (a small write to the page cache costs microseconds); only the
wait for the disk leaves it. One flusher thread takes every request queued since its last flush
and makes them durable together: two or more by one syncfs(2) of the data directory's
filesystem (Linux; one journal commit for all of them), one alone by fsync. While a flush runs
the next batch gathers, so under load the disk is never idle and a step waits for at most two
flushes. Waiters are woken with one event-loop callback per batch.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from host.store.fsio import fsync_path


def _load_syncfs() -> object | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None


_SYNCFS = _load_syncfs()


@dataclass
class _Request:
    fd: int | None  # a file whose written data must reach the disk
    paths: tuple[Path, ...]  # new files and folders (and their parents) to make durable
    future: asyncio.Future[None]


class GroupSync:
    """`await sync(fd)` / `await sync_paths(...)` return once the data is on disk."""

    def __init__(self, root: Path, alone: Callable[[], bool] = lambda: False) -> None:
        """`alone()`: only one instance is running, so nothing would share a flush with it."""
        self._root = root
        self._alone = alone
        self._root_fd: int | None = None
        self._cond = threading.Condition()
        self._queue: list[_Request] = []
        self._worker: threading.Thread | None = None
        self._closed = False
        self._busy = False  # the flusher is flushing a batch

    async def sync(self, fd: int) -> None:
        """Return once what was written to `fd` is on disk. An instance running alone, with no
        flush under way, fsyncs on the event loop: nothing could share its flush, and the hand-off
        to the flusher thread and back cost more than a fast disk's fsync (A/B in the commit)."""
        if self._alone() and not self._queue and not self._busy:
            os.fsync(fd)
            return
        await self._enqueue(fd, ())

    async def sync_paths(self, *paths: Path) -> None:
        """Return once new files and folders (each path's own inode) are on disk."""
        await self._enqueue(None, paths)

    async def _enqueue(self, fd: int | None, paths: tuple[Path, ...]) -> None:
        future = asyncio.get_running_loop().create_future()
        with self._cond:
            if self._closed:
                raise RuntimeError("the store is closed")
            self._queue.append(_Request(fd, paths, future))
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="waypost-fsync", daemon=True)
                self._worker.start()
            self._cond.notify()
        await future

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            worker = self._worker
        if worker is not None:
            worker.join()
        if self._root_fd is not None:
            os.close(self._root_fd)
            self._root_fd = None

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
                batch, self._queue = self._queue, []
                self._busy = True
            errors = self._flush(batch)
            self._busy = False
            for loop in {r.future.get_loop() for r in batch}:
                mine = [
                    (r.future, e) for r, e in zip(batch, errors, strict=True) if r.future.get_loop() is loop
                ]
                try:
                    loop.call_soon_threadsafe(_settle, mine)
                except RuntimeError:  # the loop has closed: nobody is waiting any more
                    pass

    def _flush(self, batch: list[_Request]) -> list[OSError | None]:
        if len(batch) > 1 or (batch[0].paths and batch[0].fd is None):
            try:
                if self._syncfs():
                    return [None] * len(batch)
            except OSError as exc:
                return [exc] * len(batch)
        results: list[OSError | None] = []
        for request in batch:
            try:
                if request.fd is not None:
                    os.fsync(request.fd)
                for path in request.paths:
                    fsync_path(path)
                results.append(None)
            except OSError as exc:
                results.append(exc)
        return results

    def _syncfs(self) -> bool:
        """Flush the filesystem holding the data directory; False where there is no syncfs."""
        if _SYNCFS is None:
            return False
        if self._root_fd is None:
            self._root_fd = os.open(self._root, os.O_RDONLY)
        if _SYNCFS(self._root_fd) != 0:  # type: ignore[operator]
            code = ctypes.get_errno()
            raise OSError(code, f"syncfs: {os.strerror(code)}")
        return True


def _settle(done: list[tuple[asyncio.Future[None], OSError | None]]) -> None:
    for future, error in done:
        if future.done():  # the waiting step was cancelled (terminate, shutdown)
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
