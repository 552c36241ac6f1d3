"""Whether the event loop is behind: a timer that notes how late it runs, readable from any thread.

Worker threads ask before work no step waits for (status.json rewrites, unlocks): each of their
system calls costs the loop a GIL hand-off, so while the loop has a backlog (ten thousand
instances recovering at once) that work is better done after it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

PROBE_EVERY = 0.01  # seconds between two looks at the loop's lateness
BEHIND = 0.01  # seconds late from which the loop counts as behind


class LoopLag:
    """`watch()` on the loop starts the probe; it stops once `keep_going()` says nothing runs."""

    def __init__(self, keep_going: Callable[[], bool]) -> None:
        self._keep_going = keep_going
        self._due = math.inf  # when the probe should run next (monotonic clock)
        self._late = 0.0  # how late it ran last time
        self._watching = False

    def watch(self) -> None:
        if not self._watching:
            self._watching = True
            self._next(asyncio.get_running_loop(), time.monotonic())

    def behind(self) -> bool:
        """Whether the loop ran the probe late, or has not run it although it is due."""
        return self._late > BEHIND or time.monotonic() - self._due > BEHIND

    def _next(self, loop: asyncio.AbstractEventLoop, now: float) -> None:
        self._due = now + PROBE_EVERY
        loop.call_later(PROBE_EVERY, self._probe, loop)

    def _probe(self, loop: asyncio.AbstractEventLoop) -> None:
        now = time.monotonic()
        self._late = now - self._due
        if self._keep_going():
            self._next(loop, now)
        else:
            self._watching, self._due, self._late = False, math.inf, 0.0
