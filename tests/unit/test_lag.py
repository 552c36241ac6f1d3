"""LoopLag: whether the event loop is behind, as a worker thread sees it."""

from __future__ import annotations

import asyncio
import time

from host.workflows.lag import BEHIND, PROBE_EVERY, LoopLag


def test_behind_while_the_loop_is_blocked_and_not_once_it_catches_up() -> None:
    running = [True]
    lag = LoopLag(keep_going=lambda: running[0])

    async def main() -> tuple[bool, bool, bool]:
        lag.watch()
        await asyncio.sleep(PROBE_EVERY * 5)
        idle = await asyncio.to_thread(lag.behind)
        seen_blocked = []

        def block() -> None:  # a callback that holds the loop, as a burst of work does
            end = time.monotonic() + BEHIND * 10
            while time.monotonic() < end:
                pass
            seen_blocked.append(lag.behind())

        asyncio.get_running_loop().call_soon(block)
        await asyncio.sleep(0)
        await asyncio.sleep(PROBE_EVERY * 10)
        caught_up = await asyncio.to_thread(lag.behind)
        running[0] = False
        return idle, seen_blocked[0], caught_up

    idle, blocked, caught_up = asyncio.run(main())
    assert (idle, blocked, caught_up) == (False, True, False)


def test_an_idle_engine_stops_probing() -> None:
    lag = LoopLag(keep_going=lambda: False)

    async def main() -> int:
        lag.watch()
        await asyncio.sleep(PROBE_EVERY * 3)
        return len(asyncio.get_running_loop()._scheduled)  # type: ignore[attr-defined]

    assert asyncio.run(main()) == 0
    assert not lag.behind()
