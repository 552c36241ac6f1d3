"""Many callbacks that all wait the same delay, on one event-loop timer.

asyncio keeps its timers in a heap ordered by a Python-level comparison, so with ten thousand
instances loaded every call_later costs tens of comparisons. Callbacks that all wait the same
delay come due in the order they were asked for: a queue with one timer for its head does.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger("waypost.workflows")
SLACK = 0.1  # of the delay: a timer serves every callback due within that, not one each


class FixedDelay:
    """`call(fn, *args)`: run `fn(*args)` on the event loop `delay` seconds from now (up to a
    tenth of it later, so that one timer serves many)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._slack = delay * SLACK  # the timer fires this much late at most, for what is due by then
        self._queue: deque[tuple[float, Callable[..., Any], tuple[Any, ...]]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        loop = asyncio.get_running_loop()
        self._queue.append((loop.time() + self.delay, fn, args))
        if self._timer is None:
            self._timer = loop.call_at(self._queue[0][0] + self._slack, self._run, loop)

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        queue, now = self._queue, loop.time()
        while queue and queue[0][0] <= now:
            _, fn, args = queue.popleft()
            try:
                fn(*args)
            except Exception:
                log.exception("a delayed callback of an instance failed")
        if queue:
            self._timer = loop.call_at(queue[0][0] + self._slack, self._run, loop)
