"""Sleepers are loaded hibernate_after ahead of their wake time, and earlier when a crowd of them
falls due together: early enough that loading them all is done by then."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from host.workflows import engine as engine_module
from host.workflows.engine import Engine


def _lead_with(tmp_path: Path, crowd: int, due_in: float) -> tuple[float, float]:
    async def measure() -> tuple[float, float]:
        engine = Engine(tmp_path, hibernate_after=1.0)
        now = time.time()
        for n in range(crowd):
            engine._schedule(("flow", f"i{n}"), now + due_in)
        return engine._lead(now), engine._lead(now + due_in + 2)  # before, and once they are past

    return asyncio.run(measure())


def test_a_lone_sleeper_is_loaded_hibernate_after_ahead(tmp_path: Path) -> None:
    before, _ = _lead_with(tmp_path, 1, 3.0)
    assert before < 1.01


def test_a_crowd_is_loaded_as_far_ahead_as_loading_it_takes(tmp_path: Path) -> None:
    before, after = _lead_with(tmp_path, 10_000, 3.0)
    assert before == 1.0 + min(engine_module.MAX_EXTRA_LEAD, 10_000 * engine_module.LOAD_COST)
    assert after == 1.0  # entries behind now no longer count


def test_a_rescheduled_instance_counts_once(tmp_path: Path) -> None:
    async def measure() -> float:
        engine = Engine(tmp_path, hibernate_after=1.0)
        now = time.time()
        for n in range(5_000):
            engine._schedule(("flow", f"i{n}"), now + 4)
            engine._schedule(("flow", f"i{n}"), now + 3)  # moved earlier: the old entry is void
        return engine._lead(now)

    assert asyncio.run(measure()) == 1.0 + 5_000 * engine_module.LOAD_COST
