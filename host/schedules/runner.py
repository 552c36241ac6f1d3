"""The firing loop: sleeps until the next tick of any schedule, fires what is due. The one place
that reads the clock (`now`); every timing decision is host.schedules.ticks'."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator

import anyio
import anyio.to_thread

from host.runtime.context import BackgroundWork
from host.schedules.crons import iso
from host.schedules.fire import Firing
from host.schedules.ticks import CLAIM_LEAD, Schedule, next_wake, skipped_text, start_point, to_fire

logger = logging.getLogger("waypost")

Key = tuple[str, str, str]
SPIN = 0.003  # seconds of busy-waiting at most before a tick (sleep_until)


class ScheduleRunner:
    """Fires every schedule of the current configuration; `set_schedules` swaps them (reload)."""

    def __init__(
        self,
        firing: Firing,
        clock: Callable[[], float] = time.time,
        on_tick: Callable[[str, int], None] | None = None,
    ) -> None:
        self.firing = firing
        self.on_tick = on_tick  # (target, ticks skipped) of each tick fired: host.metrics
        self._clock = clock
        self._schedules: dict[Key, Schedule] = {}
        self._last: dict[Key, float] = {}  # the newest tick handled (fired, or passed over)
        self._started = False
        self._changed = anyio.Event()

    def now(self) -> float:
        return self._clock()

    async def sleep_until(self, t: float) -> None:
        """Return at epoch second `t`, not before: sleep to SPIN short of it, then spin. The spin
        (up to SPIN of blocking) puts a tick ahead of the other work its second wakes (sleepers
        whose timers fall due in the same loop iteration), rather than behind all of it."""
        delay = t - SPIN - self.now()
        if delay > 0:
            await anyio.sleep(delay)
        while self.now() < t:
            pass

    @property
    def schedules(self) -> list[Schedule]:
        return list(self._schedules.values())

    def set_schedules(self, schedules: Iterable[Schedule]) -> None:
        """Use `schedules` from now on. A cron added while running starts at now: no past tick
        fires for it; one kept keeps its place."""
        new = {s.key: s for s in schedules}
        now = self.now()
        for key, s in new.items():
            if key not in self._schedules:
                logger.info("schedule: %s, next tick %s", s.describe(), iso(s.cron.next_after(now)))
                if self._started:
                    self._last[key] = now
        for key, s in self._schedules.items():
            if key not in new:
                logger.info("schedule removed: %s", s.describe())
                self._last.pop(key, None)
        self._schedules = new
        self._changed.set()

    async def run(self) -> None:
        """Fire ticks until cancelled. At start each cron resumes from its newest tick record, so
        the most recent tick missed while no host ran fires once and older ones are skipped."""
        now = self.now()
        for key, s in list(self._schedules.items()):
            newest = await anyio.to_thread.run_sync(self.firing.records.newest, s)
            self._last.setdefault(key, start_point(newest, now))
        self._started = True
        async with anyio.create_task_group() as group:
            while True:
                self._changed = anyio.Event()
                now = self.now()
                for key, s in list(self._schedules.items()):
                    last = self._last.setdefault(key, now)
                    for tick in to_fire(s.cron, last, now):
                        self._last[key] = tick.tick
                        if tick.skipped:
                            logger.warning(
                                "%s: %s older tick(s) since %s missed, skipped; firing the most recent, %s",
                                s.describe(),
                                skipped_text(tick.skipped),
                                iso(last),
                                iso(tick.tick),
                            )
                        if self.on_tick is not None:
                            self.on_tick(s.target, tick.skipped)
                        group.start_soon(self.firing.fire, s, tick, self.sleep_until)
                wake = next_wake((s.cron, self._last[k]) for k, s in self._schedules.items())
                delay = math.inf if wake is None else max(wake - CLAIM_LEAD - self.now(), 0.001)
                with anyio.move_on_after(delay):
                    await self._changed.wait()


@contextlib.contextmanager
def running(background: BackgroundWork, runner: ScheduleRunner) -> Iterator[None]:
    """Run `runner` in the host's task group until the block ends."""
    scope = anyio.CancelScope()

    async def run() -> None:
        with scope:
            await runner.run()

    background.start_service(run)
    try:
        yield
    finally:
        scope.cancel()
