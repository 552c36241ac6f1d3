"""Group commit: many instances' fsyncs answered by one flush on one thread.

Writes happen on the event loop (a small write to the page cache costs microseconds, less than a
thread hand-off); only the wait for the disk leaves it. One flusher thread takes every request
queued since its last flush and makes them durable together: with more than one, by a single
syncfs(2) of the data directory's filesystem (Linux), which commits all of them in one journal
transaction; alone, by fsync of that file (a new folder: by syncfs too, one call for its files
and directory entries). syncfs also waits for unrelated dirty data on the same filesystem, yet
an fsync each for small batches measured worse (figure 1 halved). Callers are woken with one
event-loop callback per batch. While a flush runs, the next batch gathers, so the disk is never
idle under load and a step never waits for more than two flushes.

Why one thread and not a pool: every return from a system call in a Python thread needs the GIL,
which a busy event loop holds for up to the switch interval. A pool of threads doing one fsync
each spends most of its time queueing for the GIL; one thread doing one syncfs per batch asks
for it once per batch.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from host.workflows.wakes import give_way

INLINE_BELOW = 0.001  # an fsync that usually takes less than this may run on the event loop
SYNCFS_FROM = 2  # requests in a batch from which one syncfs replaces an fsync each
SWITCH_INTERVAL = 0.0005  # seconds; the GIL hand-off a finished flush waits for at most
RESUME_PER_TURN = 32  # waiting steps resumed per event-loop turn (see _resume)


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
    folder: Path | None  # a new instance folder: its files and its entry in the parent
    future: asyncio.Future[None] = field(repr=False)
    last: bool = False  # an instance's final flush: its waiter resumes after the others


class GroupSync:
    """`await sync(fd)` / `await sync_new(folder)` return once the data is on disk."""

    def __init__(
        self,
        root: Path,
        solo: Callable[[], bool] = lambda: False,
        hold_back: Callable[[], bool] = lambda: False,
    ) -> None:
        """`solo` says whether one instance alone is loaded (then a fast fsync runs inline);
        `hold_back` whether a timer is overdue (then no waiter resumes before it has run)."""
        self._root = root
        self._solo = solo
        self._hold_back = hold_back
        self._root_fd: int | None = None
        self._root_lock = threading.Lock()  # opened on first use, from the flusher or the loop
        self._cond = threading.Condition()
        self._queue: list[_Request] = []
        self._worker: threading.Thread | None = None
        self._closed = False
        self._in_flight = 0
        self._typical = 0.01  # moving average of one flush, seconds; starts pessimistic
        # loop side: waiters whose flush is done; final flushes' waiters (`last`) go after the rest
        self._to_resume: deque[tuple[asyncio.Future[None], OSError | None]] = deque()
        self._to_finish: deque[tuple[asyncio.Future[None], OSError | None]] = deque()
        self._pumping = False  # a _resume_some is scheduled
        if sys.getswitchinterval() > SWITCH_INTERVAL:
            # a flush that finished must not wait 5 ms for a busy event loop to let it report
            sys.setswitchinterval(SWITCH_INTERVAL)

    async def sync(self, fd: int, last: bool = False) -> None:
        """Return once what was written to `fd` is on disk; `last`: the instance's final flush,
        resumed after the steps whose flush finished with it (see _resume)."""
        if self._inline():
            self._flush_one(fd, None)
            return
        await self._enqueue(fd, None, last)

    async def sync_new(self, folder: Path) -> None:
        """Return once a newly made instance folder (its files and its name) is on disk."""
        if self._inline():
            self._flush_one(None, folder)
            return
        await self._enqueue(None, folder)

    def _inline(self) -> bool:
        # One instance stepping alone gains nothing from batching, and the thread hand-off
        # costs as much as a fast disk's fsync. A slow disk (an SD card) never takes this path.
        return self._solo() and not self._in_flight and self._typical < INLINE_BELOW

    async def _enqueue(self, fd: int | None, folder: Path | None, last: bool = False) -> None:
        # asyncio rather than anyio: the hand-back must be one call_soon_threadsafe per batch
        future = asyncio.get_running_loop().create_future()
        self._in_flight += 1  # touched on the event loop only
        with self._cond:
            self._queue.append(_Request(fd, folder, future, last))
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="waypost-fsync", daemon=True)
                self._worker.start()
            self._cond.notify()
        try:
            await future
        finally:
            self._in_flight -= 1

    def _resume(self, done: list[tuple[asyncio.Future[None], OSError | None, bool]]) -> None:
        """On the event loop: resume the steps whose flush finished, RESUME_PER_TURN per turn.

        Resuming one costs the rest of its activation (~0.1-0.2 ms). A flush under load answers
        hundreds at once; resumed together they would hold the loop for tens of milliseconds,
        and a sleeper falling due meanwhile (its timer is queued behind them) would wake that
        late. In chunks, timers due between two chunks run first; the total work is the same.
        Under load the order is: a sleeper that is due, then steps that wait for their result to
        be durable, then instances that only have their final status left to close.
        """
        for future, error, last in done:
            (self._to_finish if last else self._to_resume).append((future, error))
        if not self._pumping:
            self._pumping = True
            self._resume_some()

    def _resume_some(self) -> None:
        if self._to_resume:
            loop = self._to_resume[0][0].get_loop()
        elif self._to_finish:
            loop = self._to_finish[0][0].get_loop()
        else:
            self._pumping = False
            return
        if not self._hold_back():
            for _ in range(RESUME_PER_TURN):
                waiting = self._to_resume or self._to_finish
                if not waiting:
                    break
                future, error = waiting.popleft()
                _settle(future, error)
        # again on the next turn, after what this one made ready (a due sleeper's wake-up)
        loop.call_soon(self._resume_some)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        with self._root_lock:
            if self._root_fd is not None:
                os.close(self._root_fd)
                self._root_fd = None

    # -- the flusher thread --------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
            give_way(self._hold_back)  # its waiters would not resume before that anyway
            with self._cond:
                batch, self._queue = self._queue, []
            done = [(r.future, error, r.last) for r, error in zip(batch, self._flush(batch), strict=True)]
            for loop in {future.get_loop() for future, _, _ in done}:
                mine = [item for item in done if item[0].get_loop() is loop]
                try:
                    loop.call_soon_threadsafe(self._resume, mine)
                except RuntimeError:  # the loop has closed: nobody is waiting any more
                    pass

    def _flush(self, batch: list[_Request]) -> list[OSError | None]:
        """Make a batch durable: one syncfs for many, else fsync each; the error of each request."""
        started = time.perf_counter()
        if len(batch) >= SYNCFS_FROM:
            try:
                if self._syncfs():
                    self._typical = 0.9 * self._typical + 0.1 * (time.perf_counter() - started)
                    return [None] * len(batch)
            except OSError as exc:
                return [exc] * len(batch)
        results: list[OSError | None] = []
        for request in batch:
            try:
                self._flush_one(request.fd, request.folder)
                results.append(None)
            except OSError as exc:
                results.append(exc)
        return results

    def _syncfs(self) -> bool:
        """Flush the whole filesystem holding the data directory; False where there is no syncfs."""
        if _SYNCFS is None:
            return False
        with self._root_lock:
            if self._root_fd is None:
                self._root_fd = os.open(self._root, os.O_RDONLY)
        if _SYNCFS(self._root_fd) != 0:  # type: ignore[operator]
            errno = ctypes.get_errno()
            raise OSError(errno, f"syncfs: {os.strerror(errno)}")
        return True

    def _flush_one(self, fd: int | None, folder: Path | None) -> None:
        started = time.perf_counter()
        if fd is not None:
            os.fsync(fd)
        if folder is not None and not self._syncfs():
            pending = folder.parent.parent / "pending"  # the index entry made with it
            for path in (folder / "instance.json", folder, folder.parent, pending):
                try:
                    fd_new = os.open(path, os.O_RDONLY)
                except FileNotFoundError:
                    continue
                try:
                    os.fsync(fd_new)
                finally:
                    os.close(fd_new)
        self._typical = 0.9 * self._typical + 0.1 * (time.perf_counter() - started)


def _settle(future: asyncio.Future[None], error: OSError | None) -> None:
    if future.done():  # the waiting step was cancelled (terminate, shutdown)
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
