"""The engine loads at most max_active instances at once (each holds a lock and a journal open)."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from host.store.filestore import FileStore
from host.workflows.activation import WorkflowDef
from host.workflows.binding import WorkflowBinding
from host.workflows.engine import Engine, default_max_loaded
from host.workflows.entrypoint import WorkflowEntrypoint
from host.workflows.service import WorkflowService

pytestmark = pytest.mark.anyio


class Gate:
    running = 0
    peak = 0
    release = anyio.Event()


class Blocking(WorkflowEntrypoint):
    async def run(self, event: object, step: object) -> str:
        async def hold() -> str:
            Gate.running += 1
            Gate.peak = max(Gate.peak, Gate.running)
            await Gate.release.wait()
            Gate.running -= 1
            return "done"

        return await step.do("hold", hold)  # type: ignore[attr-defined,no-any-return]


async def test_instances_beyond_max_active_wait_their_turn(tmp_path: Path) -> None:
    Gate.release = anyio.Event()
    async with Engine(FileStore(tmp_path / "data"), max_active=3) as engine:
        engine.set_workflows({"w": WorkflowDef("w", lambda: Blocking, None)})
        binding = WorkflowBinding(WorkflowService(engine), "w")
        handles = [await binding.create(id=f"i{n}") for n in range(10)]
        with anyio.fail_after(10):
            while Gate.running < 3:
                await anyio.sleep(0.01)
        await anyio.sleep(0.2)  # give a wrongly unbounded engine the chance to start more
        assert Gate.peak == 3
        Gate.release.set()
        with anyio.fail_after(10):
            while [(await h.status())["status"] for h in handles] != ["complete"] * 10:
                await anyio.sleep(0.02)
        assert Gate.peak == 3


def test_the_default_cap_follows_the_open_file_limit() -> None:
    assert 64 <= default_max_loaded() <= 16384
