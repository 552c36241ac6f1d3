"""Stopping the engine cancels what runs and starts nothing new, even when that frees a slot."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from host.store.filestore import FileStore
from host.workflows.activation import WorkflowDef
from host.workflows.engine import Engine
from host.workflows.entrypoint import WorkflowEntrypoint
from host.workflows.service import WorkflowService


class Forever(WorkflowEntrypoint):
    async def run(self, event, step):  # type: ignore[no-untyped-def]
        async def block() -> None:
            await asyncio.sleep(3600)

        await step.do("block", block)


def _journal(data: Path, instance_id: str) -> list[dict[str, object]]:
    path = data / "workflows" / "flow" / "instances" / instance_id / "journal.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_shutdown_does_not_start_the_instance_waiting_for_a_concurrency_slot(tmp_path: Path) -> None:
    flow = WorkflowDef("flow", load_class=lambda: Forever, env=None, concurrency_limit=1)

    async def main() -> None:
        engine = Engine(FileStore(tmp_path, "relaxed"))
        async with engine:
            engine.set_workflows({"flow": flow})
            service = WorkflowService(engine)
            await service.create("flow", "first", None)
            await service.create("flow", "second", None)
            deadline = time.monotonic() + 10
            while not any(e["type"] == "step_start" for e in _journal(tmp_path, "first")):
                assert time.monotonic() < deadline
                await asyncio.sleep(0.01)
        # the with block ended: shutdown returned instead of waiting for "second" to finish

    asyncio.run(asyncio.wait_for(main(), 20))
    assert not any(e["type"] == "step_start" for e in _journal(tmp_path, "second"))
