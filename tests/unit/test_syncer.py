"""Group commit: many waiting writers, one flush; each caller learns its own outcome."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from host.workflows.syncer import GroupSync


def _open_files(folder: Path, count: int) -> list[int]:
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
    return [os.open(folder / f"j{n}.jsonl", flags, 0o644) for n in range(count)]


def test_concurrent_syncs_all_return_with_their_lines_in_place(tmp_path: Path) -> None:
    fds = _open_files(tmp_path, 50)
    syncer = GroupSync(tmp_path)

    async def one(n: int, fd: int) -> None:
        for line in range(3):
            os.write(fd, f"{n}:{line}\n".encode())
            await syncer.sync(fd)

    async def main() -> None:
        await asyncio.wait_for(asyncio.gather(*(one(n, fd) for n, fd in enumerate(fds))), 30)

    try:
        asyncio.run(main())
    finally:
        syncer.close()
        for fd in fds:
            os.close(fd)
    for n in range(50):
        assert (tmp_path / f"j{n}.jsonl").read_text() == f"{n}:0\n{n}:1\n{n}:2\n"


def test_a_lone_caller_with_a_bad_descriptor_gets_the_error(tmp_path: Path) -> None:
    syncer = GroupSync(tmp_path)
    fd = _open_files(tmp_path, 1)[0]
    os.close(fd)  # nothing may be open at that number now

    async def main() -> None:
        with pytest.raises(OSError):
            await asyncio.wait_for(syncer.sync(fd), 30)

    try:
        asyncio.run(main())
    finally:
        syncer.close()


def test_a_big_flush_resumes_its_waiters_a_few_per_loop_turn(tmp_path: Path) -> None:
    """So that a timer falling due meanwhile (a sleeper's wake-up) is not queued behind them all."""
    from host.workflows.syncer import RESUME_PER_TURN

    syncer = GroupSync(tmp_path)
    waiters = RESUME_PER_TURN * 3 + 1

    async def main() -> list[int]:
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[None]] = [loop.create_future() for _ in range(waiters)]
        seen: list[int] = []
        syncer._resume([(future, None, False) for future in futures])  # what the flusher hands back
        for _ in range(5):
            seen.append(sum(future.done() for future in futures))
            await asyncio.sleep(0)  # one loop turn
        return seen

    try:
        seen = asyncio.run(main())
    finally:
        syncer.close()
    per = RESUME_PER_TURN
    assert seen == [per, 2 * per, 3 * per, waiters, waiters]


def test_final_flushes_resume_after_the_steps_that_finished_with_them(tmp_path: Path) -> None:
    """An instance with only its final status left waits; a step that can go on goes first."""
    from host.workflows.syncer import RESUME_PER_TURN

    syncer = GroupSync(tmp_path)

    async def main() -> tuple[list[bool], list[bool]]:
        loop = asyncio.get_running_loop()
        finals = [loop.create_future() for _ in range(3)]
        steps = [loop.create_future() for _ in range(RESUME_PER_TURN + 5)]
        done = [(future, None, True) for future in finals] + [(future, None, False) for future in steps]
        syncer._resume(done)
        first_turn = [future.done() for future in steps] + [future.done() for future in finals]
        for _ in range(3):
            await asyncio.sleep(0)
        return first_turn, [future.done() for future in steps + finals]

    try:
        first_turn, later = asyncio.run(main())
    finally:
        syncer.close()
    assert first_turn == [True] * RESUME_PER_TURN + [False] * 5 + [False] * 3
    assert all(later)


def test_no_waiter_resumes_while_a_wake_up_is_due(tmp_path: Path) -> None:
    hold = [True]
    syncer = GroupSync(tmp_path, hold_back=lambda: hold[0])

    async def main() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in range(10)]
        syncer._resume([(future, None, False) for future in futures])
        for _ in range(5):
            await asyncio.sleep(0)
        held = sum(future.done() for future in futures)
        hold[0] = False
        for _ in range(3):
            await asyncio.sleep(0)
        return held, sum(future.done() for future in futures)

    try:
        held, after = asyncio.run(main())
    finally:
        syncer.close()
    assert (held, after) == (0, 10)
