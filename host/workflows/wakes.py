"""The wake times of instances waiting in memory, on one event-loop timer; work that can wait
yields to them.

A sleeper loaded ahead of its wake time waits here rather than on a timer of its own: asyncio
keeps its timers in a heap ordered by a Python-level comparison, and ten thousand of them make
every other timer of the loop dearer. This heap compares plain tuples, and one loop timer is
armed for its earliest entry.

When ten thousand fall due in one second, the loop is also busy finishing the ones that woke
just before (their step's flush, their final status): a wake-up queued behind that work runs
late. Work that can wait asks `overdue()` first and goes on a later turn while some wake-up is
due and has not run yet. The cyclic garbage collector waits too: the board pauses it while it
fires wake-ups and lets it run once the burst is over (or after MAX_GC_PAUSE).
"""

from __future__ import annotations

import asyncio
import gc
import heapq
import itertools
import math
import time
from collections.abc import Callable
from typing import Any

MAX_PRIORITY_LATENESS = 5.0  # seconds; a wake-up later than this no longer holds other work back
GC_PAUSE_HORIZON = 0.05  # seconds: while another wake-up is due this soon, the collector stays paused
MAX_GC_PAUSE = 2.0  # seconds the cyclic garbage collector is paused at most at a time
YIELD_STEP = 0.002  # seconds a worker thread waits at a time while the loop has urgent work
MAX_YIELD = 2.0  # seconds a worker thread gives way at most before a batch of work

Entry = list[Any]  # [deadline (epoch s), sequence, callback or None once fired or woken, fired]


class WakeBoard:
    """`expect(deadline, callback)`: call `callback()` on the loop once `deadline` has passed."""

    def __init__(self) -> None:
        self._heap: list[Entry] = []  # waits not fired yet (and dead ones, dropped at the top)
        self._sequence = itertools.count()
        self._fired = 0  # fired, and their waiter has not run yet
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        self._gc_paused_at: float | None = None  # when this board paused the collector (monotonic)

    def expect(self, deadline: float, callback: Callable[[], None]) -> Entry:
        """On the event loop: note a wait; pass the result to woke() when the wait ends, however."""
        entry: Entry = [deadline, next(self._sequence), callback, False]
        heapq.heappush(self._heap, entry)
        if deadline < self._timer_at:
            self._arm(asyncio.get_running_loop())
        return entry

    def woke(self, entry: Entry) -> None:
        """The wait of `entry` is over (its deadline came, or something else ended it)."""
        if entry[3]:
            entry[3] = False
            self._fired -= 1
        entry[2] = None
        self._drop_dead()
        if self._gc_paused_at is not None:
            self._resume_gc_when_done()

    def overdue(self) -> bool:
        """Whether some wait's deadline has passed and its waiter has not run yet (by less than
        MAX_PRIORITY_LATENESS). Safe to call from any thread."""
        if self._fired > 0:
            return True
        try:
            deadline = float(self._heap[0][0])
        except IndexError:
            return False
        return 0 <= time.time() - deadline < MAX_PRIORITY_LATENESS

    def close(self) -> None:
        """The engine stops: the collector runs again if this board paused it."""
        if self._gc_paused_at is not None:
            self._gc_paused_at = None
            gc.enable()

    def _pause_gc(self) -> None:
        """Sleepers are waking: collect cyclic garbage after the burst, not in the middle of it.

        With thousands waking in one second the collector's passes over their objects took a
        fifth of the event loop; most of those objects are gone by the end of the burst. A
        collector disabled by someone else is left alone.
        """
        if self._gc_paused_at is None and gc.isenabled():
            gc.disable()
            self._gc_paused_at = time.monotonic()

    def _resume_gc_when_done(self) -> None:
        heap = self._heap
        done = not self._fired and (not heap or heap[0][0] > time.time() + GC_PAUSE_HORIZON)
        if done or time.monotonic() - self._gc_paused_at > MAX_GC_PAUSE:  # type: ignore[operator]
            self._gc_paused_at = None
            gc.enable()

    def _drop_dead(self) -> None:
        heap = self._heap
        while heap and heap[0][2] is None:  # the top is always live: overdue() only reads it
            heapq.heappop(heap)

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = self._heap[0][0]
        self._timer = loop.call_at(loop.time() + max(0.0, self._timer_at - time.time()), self._fire, loop)

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer, self._timer_at = None, math.inf
        heap, now = self._heap, time.time()
        while heap and heap[0][0] <= now:  # the loop's clock may fire a little early: re-armed
            entry = heapq.heappop(heap)
            callback = entry[2]
            if callback is not None:
                entry[2], entry[3] = None, True
                self._fired += 1
                self._pause_gc()
                callback()
        self._drop_dead()
        if heap:
            self._arm(loop)
        if self._gc_paused_at is not None:  # a burst longer than MAX_GC_PAUSE lets it run between
            self._resume_gc_when_done()


def give_way(urgent: Callable[[], bool], pause: Callable[[float], bool] | None = None) -> None:
    """On a worker thread: wait while `urgent()`, up to MAX_YIELD, YIELD_STEP at a time.

    Every system call of a worker thread gives the GIL away and must get it back, and each time
    it does, the event loop waits for the GIL in turn. While sleepers are due, that wait is
    their lateness; work that no step waits for can start a little later. `pause(seconds)`
    waits in the caller's own way (default: sleep); False from it stops giving way at once.
    """
    give_up_at = time.monotonic() + MAX_YIELD
    while time.monotonic() < give_up_at and urgent():
        if pause is None:
            time.sleep(YIELD_STEP)
        elif not pause(YIELD_STEP):
            return
