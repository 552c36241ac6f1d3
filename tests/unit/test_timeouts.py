"""timeouts.within: asyncio.timeout semantics, with the timer armed only for a callback that waits."""

from __future__ import annotations

import asyncio

import pytest

from host.workflows import timeouts


def test_a_callback_that_never_waits_arms_no_timer() -> None:
    async def quick() -> int:
        return 42

    async def main() -> tuple[int, int, int]:
        loop = asyncio.get_running_loop()
        before = len(loop._scheduled)  # type: ignore[attr-defined]
        value = await timeouts.within(quick(), 60)
        return value, before, len(loop._scheduled)  # type: ignore[attr-defined]

    value, before, after = asyncio.run(main())
    assert value == 42
    assert after == before


def test_a_callback_that_waits_gets_its_result_or_a_timeout() -> None:
    async def slow(seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "slept"

    async def main() -> str:
        assert await timeouts.within(slow(0.01), 10) == "slept"
        with pytest.raises(TimeoutError):
            await timeouts.within(slow(10), 0.05)
        return "ok"

    assert asyncio.run(main()) == "ok"


def test_the_time_counts_from_the_call_not_from_the_first_wait() -> None:
    async def busy_then_wait() -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + 0.1
        while loop.time() < end:  # 0.1 s without yielding, then a wait that outlasts the rest
            pass
        await asyncio.sleep(0.2)

    async def main() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(TimeoutError):
            await timeouts.within(busy_then_wait(), 0.15)
        return loop.time() - start

    assert asyncio.run(main()) < 0.25  # 0.15 from the call, not 0.1 + 0.15


def test_errors_and_cancellation_reach_the_callback_and_the_caller() -> None:
    cleaned: list[str] = []

    async def fails_after_a_wait() -> None:
        await asyncio.sleep(0)
        raise ValueError("boom")

    async def waits_forever() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            cleaned.append("finally ran")

    async def main() -> None:
        with pytest.raises(ValueError, match="boom"):
            await timeouts.within(fails_after_a_wait(), 10)
        task = asyncio.create_task(timeouts.within(waits_forever(), 10))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert cleaned == ["finally ran"]
