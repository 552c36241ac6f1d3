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


class GroupSync:
    """Queue fsyncs from the event loop; `await sync(fd)` returns once fd's data is on disk."""

    def __init__(self, threads: int = 8) -> None:
        self._threads = threads
        self._cond = threading.Condition()
        self._queue: list[tuple[int, asyncio.Future[None]]] = []
        self._workers: list[threading.Thread] = []
        self._closed = False

    async def sync(self, fd: int) -> None:
        # asyncio rather than anyio: the hand-back must be one call_soon_threadsafe per batch
        future = asyncio.get_running_loop().create_future()
        with self._cond:
            self._queue.append((fd, future))
            if len(self._workers) < self._threads:
                self._start_worker()
            self._cond.notify()
        await future

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
            for fd, future in batch:
                try:
                    os.fsync(fd)
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
