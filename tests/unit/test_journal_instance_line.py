"""A journal's first line holds instance.json's content, so loading an instance reads one file;
journals made before that (no such line) still load, from instance.json."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from host.workflows import instances
from host.workflows.engine import Engine, WorkflowDef
from host.workflows.entrypoint import WorkflowEntrypoint


class Echo(WorkflowEntrypoint):
    async def run(self, event, step):  # type: ignore[no-untyped-def]
        async def payload() -> Any:
            return event["payload"]

        return await step.do("echo", payload)


def _folder(data: Path, instance_id: str) -> Path:
    return data / "workflows" / "flow" / "instances" / instance_id


def _journal(data: Path, instance_id: str) -> list[dict[str, Any]]:
    text = (_folder(data, instance_id) / "journal.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines()]


def _run_until_final(data: Path, instance_id: str) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        async with Engine(data, durability="relaxed") as engine:
            engine.set_workflows({"flow": WorkflowDef("flow", load_class=lambda: Echo, env=None)})
            deadline = time.monotonic() + 20
            while True:
                status = engine.status("flow", instance_id)
                if status["status"] in ("complete", "errored", "terminated"):
                    return status
                assert time.monotonic() < deadline, f"still {status['status']}"
                await asyncio.sleep(0.01)

    return asyncio.run(main())


def test_a_new_journal_starts_with_the_queued_status_holding_the_instance(tmp_path: Path) -> None:
    instances.create_instance(tmp_path, "flow", "a", {"n": 1}, durability="relaxed", trigger="api")
    meta = json.loads((_folder(tmp_path, "a") / "instance.json").read_text())
    first = _journal(tmp_path, "a")[0]
    assert first["type"] == "status" and first["status"] == "queued"
    assert first["instance"] == meta
    assert first["t"] == meta["created_on_epoch"]


def test_an_instance_loads_from_its_journal_without_reading_instance_json(tmp_path: Path) -> None:
    instances.create_instance(tmp_path, "flow", "a", {"n": 1}, durability="relaxed", trigger="api")
    (_folder(tmp_path, "a") / "instance.json").write_text("{not json")  # were it read, the load would fail
    status = _run_until_final(tmp_path, "a")
    assert status["status"] == "complete"
    assert status["output"] == {"n": 1}


def test_a_journal_from_before_the_instance_line_loads_from_instance_json(tmp_path: Path) -> None:
    instances.create_instance(tmp_path, "flow", "old", {"n": 2}, durability="relaxed", trigger="api")
    (_folder(tmp_path, "old") / "journal.jsonl").write_text("")  # as create left it before
    status = _run_until_final(tmp_path, "old")
    assert status["status"] == "complete"
    assert status["output"] == {"n": 2}
    assert "instance" not in _journal(tmp_path, "old")[0]  # nothing rewrites an old journal's start
