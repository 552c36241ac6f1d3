"""An instance the engine cannot read is retried later, and its lock is not left held meanwhile."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest

from host.workflows import instances
from host.workflows.engine import Engine, WorkflowDef
from host.workflows.entrypoint import WorkflowEntrypoint
from tests.helpers import locked_by_someone


class Nothing(WorkflowEntrypoint):
    async def run(self, event, step):  # type: ignore[no-untyped-def]
        return None


def test_an_unreadable_instance_json_leaves_the_instance_unlocked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    instances.create_instance(tmp_path, "flow", "broken", None, durability="relaxed", trigger="api")
    folder = tmp_path / "workflows" / "flow" / "instances" / "broken"
    (folder / "instance.json").write_text("{not json")
    # a journal made before its first line held instance.json's content: instance.json is read
    (folder / "journal.jsonl").write_text("")

    async def main() -> bool:
        async with Engine(tmp_path, durability="relaxed") as engine:
            engine.set_workflows({"flow": WorkflowDef("flow", load_class=lambda: Nothing, env=None)})
            deadline = time.monotonic() + 20
            while "failed running it" not in caplog.text:
                assert time.monotonic() < deadline, "the engine never tried the instance"
                await asyncio.sleep(0.01)
            return locked_by_someone(folder / "journal.jsonl")

    with caplog.at_level(logging.ERROR, logger="waypost.workflows"):
        assert asyncio.run(main()) is False
