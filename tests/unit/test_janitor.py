"""The janitor: file work in submission order on its own thread, completions back on the loop."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from host.workflows.janitor import Janitor


def test_work_runs_in_order_off_the_loop_and_completions_run_on_it() -> None:
    janitor = Janitor()
    done_order: list[int] = []
    work_threads: set[int] = set()
    work_order: list[int] = []

    async def main() -> None:
        loop_thread = threading.get_ident()
        finished = asyncio.Event()

        def work(n: int) -> None:
            work_threads.add(threading.get_ident())
            work_order.append(n)

        def done(n: int) -> None:
            assert threading.get_ident() == loop_thread
            assert n in work_order  # its work ran first
            done_order.append(n)
            if len(done_order) == 200:
                finished.set()

        for n in range(200):
            janitor.submit(lambda n=n: work(n), done=lambda n=n: done(n))
        await asyncio.wait_for(finished.wait(), 30)
        assert loop_thread not in work_threads

    try:
        asyncio.run(main())
    finally:
        janitor.close()
    assert work_order == list(range(200)) and done_order == list(range(200))


def test_a_failing_job_is_logged_and_the_rest_still_run(caplog: pytest.LogCaptureFixture) -> None:
    janitor = Janitor()
    ran: list[str] = []

    def broken() -> None:
        raise OSError("disk full")

    async def main() -> None:
        janitor.submit(broken)
        janitor.submit(lambda: ran.append("after"))

    with caplog.at_level(logging.ERROR, logger="waypost.workflows"):
        asyncio.run(main())
        janitor.close()  # waits for what was submitted
    assert ran == ["after"]
    assert "background file work of an instance failed" in caplog.text


def test_nothing_is_taken_after_close() -> None:
    janitor = Janitor()
    janitor.close()

    async def main() -> None:
        with pytest.raises(RuntimeError):
            janitor.submit(lambda: None)

    asyncio.run(main())


def test_inline_work_runs_on_the_loop_after_the_caller_and_in_order() -> None:
    janitor = Janitor()
    events: list[str] = []

    async def main() -> None:
        loop_thread = threading.get_ident()

        def work(name: str) -> None:
            assert threading.get_ident() == loop_thread
            events.append(name)

        janitor.submit(lambda: work("first"), inline=True)
        janitor.submit(lambda: work("second"))  # not inline, but behind inline work: stays in order
        events.append("caller goes on")
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    try:
        asyncio.run(main())
    finally:
        janitor.close()
    assert events == ["caller goes on", "first", "second"]


def test_call_returns_the_result_or_raises_the_error_of_the_work() -> None:
    janitor = Janitor()

    def broken() -> int:
        raise ValueError("bad input")

    async def main() -> None:
        assert await janitor.call(lambda: threading.get_ident()) != threading.get_ident()
        with pytest.raises(ValueError, match="bad input"):
            await janitor.call(broken)

    try:
        asyncio.run(main())
    finally:
        janitor.close()


def test_submitted_work_waits_while_the_loop_is_busy_but_call_does_not() -> None:
    """Status rewrites and unlocks give way to a loop with a backlog; creating an instance,
    which a request awaits, goes first."""
    busy = threading.Event()
    busy.set()
    janitor = Janitor(yield_to=busy.is_set)
    ran: list[str] = []

    async def main() -> None:
        janitor.submit(lambda: ran.append("submitted"))
        result = await asyncio.wait_for(janitor.call(lambda: "called"), 10)
        ran.append(result)
        await asyncio.sleep(0.1)
        assert ran == ["called"]  # the submitted work still gives way
        busy.clear()
        for _ in range(1000):
            if "submitted" in ran:
                break
            await asyncio.sleep(0.01)

    try:
        asyncio.run(main())
    finally:
        janitor.close()
    assert ran == ["called", "submitted"]


def test_giving_way_has_a_limit() -> None:
    from host.workflows import wakes as module  # the janitor gives way through wakes.give_way

    janitor = Janitor(yield_to=lambda: True)  # a loop that is never done
    ran = threading.Event()

    async def main() -> None:
        janitor.submit(ran.set)

    try:
        asyncio.run(main())
        assert ran.wait(module.MAX_YIELD + 10)
    finally:
        janitor.close()
