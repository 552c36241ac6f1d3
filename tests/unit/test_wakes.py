"""The wake board: one loop timer for every instance waiting in memory, and the 'a wake-up is
due' signal that work which can wait yields to."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from host.workflows.wakes import WakeBoard, give_way


@pytest.fixture(autouse=True)
def collector_back_on() -> Iterator[None]:
    """A board that fired pauses the collector until its waiters are done or it is closed."""
    import gc

    yield
    gc.enable()


def test_callbacks_run_in_deadline_order_once_each_deadline_has_passed() -> None:
    board = WakeBoard()

    async def main() -> list[tuple[str, float]]:
        fired: list[tuple[str, float]] = []
        done = asyncio.Event()
        start = time.time()
        deadlines = {"c": start + 0.15, "a": start + 0.05, "b": start + 0.10}
        for name, deadline in deadlines.items():

            def note(name: str = name) -> None:
                fired.append((name, time.time() - deadlines[name]))
                if len(fired) == 3:
                    done.set()

            board.expect(deadline, note)
        await asyncio.wait_for(done.wait(), 10)
        return fired

    fired = asyncio.run(main())
    board.close()
    assert [name for name, _ in fired] == ["a", "b", "c"]
    assert all(late >= 0 for _, late in fired)  # never before its deadline


def test_a_wait_ended_early_never_fires() -> None:
    board = WakeBoard()

    async def main() -> tuple[list[str], bool]:
        fired: list[str] = []
        early = board.expect(time.time() + 0.05, lambda: fired.append("early"))
        board.expect(time.time() + 0.10, lambda: fired.append("late"))
        board.woke(early)  # its instance was poked, or cancelled
        deadline = time.time() + 10
        while "late" not in fired and time.time() < deadline:
            await asyncio.sleep(0.01)
        return fired, board.overdue()

    fired, overdue_after = asyncio.run(main())
    board.close()
    assert fired == ["late"]
    assert overdue_after is True  # "late" fired and its waiter never said woke()


def test_overdue_from_the_deadline_until_the_waiter_has_run() -> None:
    board = WakeBoard()

    async def main() -> list[bool]:
        seen = [board.overdue()]
        fired = asyncio.Event()
        entry = board.expect(time.time() + 0.05, fired.set)
        seen.append(board.overdue())  # not due yet
        await asyncio.wait_for(fired.wait(), 10)
        seen.append(board.overdue())  # fired; the waiter has not gone on yet
        seen.append(await asyncio.to_thread(board.overdue))  # as a worker thread sees it
        board.woke(entry)
        seen.append(board.overdue())
        return seen

    assert asyncio.run(main()) == [False, False, True, True, False]


def test_a_worker_thread_gives_way_until_nothing_is_urgent() -> None:
    urgent = threading.Event()
    urgent.set()
    finished = threading.Event()

    def worker() -> None:
        give_way(urgent.is_set)
        finished.set()

    thread = threading.Thread(target=worker)
    thread.start()
    assert not finished.wait(0.1)  # still giving way
    urgent.clear()
    assert finished.wait(10)
    thread.join()


def test_the_collector_pauses_while_sleepers_wake_and_runs_again_after() -> None:
    import gc

    assert gc.isenabled()
    board = WakeBoard()

    async def main() -> list[bool]:
        seen: list[bool] = []
        fired = asyncio.Event()
        first = board.expect(time.time() + 0.02, fired.set)
        second = board.expect(time.time() + 0.03, lambda: None)
        await asyncio.wait_for(fired.wait(), 10)
        seen.append(gc.isenabled())  # a burst is waking: paused
        board.woke(first)
        seen.append(gc.isenabled())  # another is due within the horizon: still paused
        board.woke(second)  # ended before it fired; nothing else is due
        seen.append(gc.isenabled())
        return seen

    try:
        assert asyncio.run(main()) == [False, False, True]
    finally:
        gc.enable()


def test_a_collector_disabled_by_the_application_stays_disabled() -> None:
    import gc

    board = WakeBoard()
    gc.disable()
    try:

        async def main() -> None:
            fired = asyncio.Event()
            entry = board.expect(time.time() + 0.01, fired.set)
            await asyncio.wait_for(fired.wait(), 10)
            board.woke(entry)

        asyncio.run(main())
        board.close()
        assert not gc.isenabled()
    finally:
        gc.enable()
