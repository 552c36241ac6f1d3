"""File work that must happen in order but that no step waits for, done off the event loop.

Rewriting status.json, moving an index entry and unlocking a finished instance are metadata
operations: each makes or frees an inode or a directory entry, which costs the kernel 0.1-0.3 ms
of CPU on the disks we measured, far more than a journal append. Done on the event loop they
delay every other instance (when thousands wake in the same second, by seconds). Done here, by
one thread in submission order, they use the second core, and the event loop only journals.
Order is what keeps them correct: an instance's status.json writes land in the order they were
made, and its lock is released only after them. New instances' folders are made here too when
the loop is busy (`call`: ahead of the rest, which waits while the loop has more urgent work),
and `later` empties status.json's spare a second after a swap.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from host.workflows.wakes import give_way

log = logging.getLogger("waypost.workflows")

Work = Callable[[], None]
T = TypeVar("T")
LATER_DELAY = 1.0  # seconds later() waits: how long a reader of a replaced file has to read it


class Janitor:
    """`submit(work, done)`: run `work` on the janitor thread, then `done` on the event loop."""

    def __init__(self, yield_to: Callable[[], bool] = lambda: False) -> None:
        """`yield_to`: whether the event loop has more urgent work (sleepers due, a backlog);
        while it does, submitted work waits (up to wakes.MAX_YIELD a batch), `call` work does not."""
        self._yield_to = yield_to
        Queue = deque[tuple[Work, Callable[[], None] | None, asyncio.AbstractEventLoop | None]]
        self._queue: Queue = deque()
        self._urgent: Queue = deque()  # call(): someone awaits it; independent of the queue's order
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._busy = False  # the thread has taken a batch of the queue it has not finished
        self._idle = False  # the thread waits for work (rather than giving way)
        self._local: deque[tuple[Work, Callable[[], None] | None]] = deque()  # inline, on the loop
        self._later: deque[tuple[float, Work]] = deque()  # (due on the monotonic clock, work)

    def submit(
        self, work: Work, done: Callable[[], None] | None = None, inline: bool = False, urgent: bool = False
    ) -> None:
        """Queue `work`; with `inline`, do it on the event loop instead, right after the current
        callback, when nothing queued for the thread comes before it (a lone instance gains
        nothing from the thread and would pay two hand-offs). `urgent` work goes before the
        queue and never gives way; it must not depend on the queue's order."""
        loop = asyncio.get_running_loop()
        with self._cond:
            if self._closed:
                raise RuntimeError("the janitor has stopped")
            here = not urgent and (bool(self._local) or (inline and not self._queue and not self._busy))
            if not here:
                (self._urgent if urgent else self._queue).append((work, done, loop))
                self._start()
                if urgent or self._idle:  # a thread giving way is not woken for more of the same
                    self._cond.notify()
        if here:  # in order: while any local work waits, everything after it waits there too
            self._local.append((work, done))
            if len(self._local) == 1:
                loop.call_soon(self._run_local)

    async def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the janitor thread, ahead of submitted work, and return its result."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        outcome: list[Any] = []

        def work() -> None:
            try:
                outcome.append((True, fn()))
            except Exception as exc:
                outcome.append((False, exc))

        def done() -> None:
            if future.done():
                return
            ok, value = outcome[0]
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

        self.submit(work, done, urgent=True)
        return await future

    def later(self, work: Work, delay: float = LATER_DELAY) -> None:
        """Run `work` on the janitor thread once `delay` seconds have passed (from any thread).

        All later work has the same delay, so it comes due in the order it was asked for; at
        close() whatever is still waiting runs at once.
        """
        with self._cond:
            closed = self._closed
            if not closed:
                self._later.append((time.monotonic() + delay, work))
                self._start()
                if self._idle:
                    self._cond.notify()
        if closed:  # shutting down (this is the janitor finishing its last batch): now
            _run(work)

    def _start(self) -> None:  # under self._cond
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="waypost-janitor", daemon=True)
            self._thread.start()

    def _run_local(self) -> None:
        while self._local:
            work, done = self._local[0]
            _run(work)
            self._local.popleft()
            if done is not None:
                _run_all([done])

    def close(self) -> None:
        """Finish what was submitted, then stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()

    def _work(self) -> None:
        while True:
            with self._cond:
                self._idle = True
                while not (self._queue or self._urgent or self._closed or self._later_is_due()):
                    self._cond.wait(self._later[0][0] - time.monotonic() if self._later else None)
                self._idle = False
                stop = self._closed and not self._queue and not self._urgent
                later = self._take_later(everything=stop)
                urgent = self._take(self._urgent)
            _run_batch(urgent)
            for work in later:
                _run(work)
            if stop:
                return
            self._give_way()
            with self._cond:
                batch = self._take(self._queue)
                self._busy = True
            _run_batch(batch)
            with self._cond:
                self._busy = False

    def _give_way(self) -> None:
        """Wait while the loop has more urgent work (wakes.give_way), running `urgent` work meanwhile.

        Each system call of this thread gives the GIL away and must get it back, and each time
        it does the event loop waits for the GIL in turn: while sleepers are due or the loop is
        behind, that wait is their delay, and status.json rewrites and unlocks can come later.
        """
        give_way(lambda: bool(self._queue) and self._yield_to(), self._pause)

    def _pause(self, seconds: float) -> bool:
        """Wait up to `seconds` for urgent work and run it; False once the janitor is closing."""
        with self._cond:
            if not self._urgent and not self._closed:
                self._cond.wait(seconds)
            if self._closed:
                return False
            urgent = self._take(self._urgent)
        _run_batch(urgent)
        return True

    def _take(self, queue: deque[Any]) -> list[Any]:  # under self._cond
        taken = list(queue)
        queue.clear()
        return taken

    def _later_is_due(self) -> bool:  # under self._cond
        return bool(self._later) and self._later[0][0] <= time.monotonic()

    def _take_later(self, everything: bool) -> list[Work]:  # under self._cond
        now, due = time.monotonic(), []
        while self._later and (everything or self._later[0][0] <= now):
            due.append(self._later.popleft()[1])
        return due


def _run_batch(batch: list[tuple[Work, Callable[[], None] | None, asyncio.AbstractEventLoop | None]]) -> None:
    finished: dict[asyncio.AbstractEventLoop, list[Callable[[], None]]] = {}
    for work, done, loop in batch:
        _run(work)
        if done is not None and loop is not None:
            finished.setdefault(loop, []).append(done)
    for loop, callbacks in finished.items():  # one wake-up of the loop per batch
        try:
            loop.call_soon_threadsafe(_run_all, callbacks)
        except RuntimeError:  # the loop has closed: nobody is waiting any more
            pass


def _run(work: Work) -> None:
    try:
        work()
    except Exception:
        log.exception("background file work of an instance failed")


def _run_all(callbacks: list[Callable[[], None]]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("completing background file work failed")
