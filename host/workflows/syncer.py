"""Group commit for journals: many instances' fsyncs done by a few threads, in batches.

A step waits for exactly one fsync of its own journal. Handing each fsync to a thread of its own
costs a thread hop per step; here callers queue the descriptor, a small pool of threads drains
the queue, and each batch wakes all of its callers with one event-loop callback. The fsyncs of
different files still run in parallel, which is what the disk is good at.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time

INLINE_BELOW = 0.001  # an fsync that usually takes less than this may run on the event loop


class GroupSync:
    """Queue fsyncs from the event loop; `await sync(fd)` returns once fd's data is on disk."""

    def __init__(self, threads: int = 8) -> None:
        self._threads = threads
        self._cond = threading.Condition()
        self._queue: list[tuple[int, bytes, asyncio.Future[None]]] = []
        self._workers: list[threading.Thread] = []
        self._closed = False
        self._in_flight = 0
        self._typical = 0.01  # moving average of one fsync, seconds; starts pessimistic
        self.solo = False  # set by the engine: only one instance is loaded

    async def sync(self, fd: int, data: bytes = b"") -> None:
        """Write `data` (if any) to fd and fsync it; returns once both are done.

        The write happens on the sync thread too: while the filesystem commits other files'
        fsyncs, even a small append can stall, and it should not stall the event loop.
        """
        if self.solo and not self._in_flight and self._typical < INLINE_BELOW:
            # One instance stepping alone gains nothing from batching, and the thread hand-off
            # costs as much as a fast disk's fsync. A slow disk (an SD card) never takes this path.
            self._write_and_sync(fd, data)
            return
        # asyncio rather than anyio: the hand-back must be one call_soon_threadsafe per batch
        future = asyncio.get_running_loop().create_future()
        self._in_flight += 1  # touched on the event loop only
        with self._cond:
            self._queue.append((fd, data, future))
            if len(self._workers) < self._threads:
                self._start_worker()
            self._cond.notify()
        try:
            await future
        finally:
            self._in_flight -= 1

    def _write_and_sync(self, fd: int, data: bytes) -> None:
        if data:
            os.write(fd, data)
        started = time.perf_counter()
        os.fsync(fd)
        self._typical = 0.9 * self._typical + 0.1 * (time.perf_counter() - started)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _start_worker(self) -> None:
        worker = threading.Thread(target=self._work, name="waypost-fsync", daemon=True)
        self._workers.append(worker)
        worker.start()

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
                share = -(-len(self._queue) // self._threads)  # split a big queue across the pool
                batch, self._queue[:share] = self._queue[:share], []
            done: list[tuple[asyncio.Future[None], OSError | None]] = []
            for fd, data, future in batch:
                try:
                    self._write_and_sync(fd, data)
                    done.append((future, None))
                except OSError as exc:
                    done.append((future, exc))
            loops = {future.get_loop() for future, _ in done}
            for loop in loops:
                try:
                    loop.call_soon_threadsafe(_resolve, [d for d in done if d[0].get_loop() is loop])
                except RuntimeError:  # the loop has closed: nobody is waiting any more
                    pass


def _resolve(done: list[tuple[asyncio.Future[None], OSError | None]]) -> None:
    for future, error in done:
        if future.done():  # the waiting step was cancelled (terminate, shutdown)
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
