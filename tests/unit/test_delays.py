"""FixedDelay: callbacks that all wait the same delay share one loop timer."""

from __future__ import annotations

import asyncio

from host.workflows.delays import FixedDelay


def test_each_callback_runs_once_its_delay_has_passed_in_the_order_asked() -> None:
    later = FixedDelay(0.05)

    async def main() -> list[tuple[int, float]]:
        loop = asyncio.get_running_loop()
        ran: list[tuple[int, float]] = []
        asked: dict[int, float] = {}
        for n in range(5):
            asked[n] = loop.time()
            later.call(lambda n=n: ran.append((n, loop.time() - asked[n])))
            await asyncio.sleep(0.01)
        deadline = loop.time() + 10
        while len(ran) < 5 and loop.time() < deadline:
            await asyncio.sleep(0.01)
        return ran

    ran = asyncio.run(main())
    assert [n for n, _ in ran] == [0, 1, 2, 3, 4]
    assert all(waited >= 0.05 - 0.002 for _, waited in ran)  # the loop's clock resolution


def test_a_failing_callback_does_not_stop_the_others() -> None:
    later = FixedDelay(0.01)

    async def main() -> list[str]:
        ran: list[str] = []
        later.call(lambda: 1 / 0)
        later.call(ran.append, "after")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while not ran and loop.time() < deadline:
            await asyncio.sleep(0.01)
        return ran

    assert asyncio.run(main()) == ["after"]
