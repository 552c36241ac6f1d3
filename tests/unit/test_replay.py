"""The replayer against the golden journals: nothing runs, and a changed workflow is caught."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from host import WorkflowEntrypoint
from host.workflows.journal import parse
from host.workflows.replay import ReplayResult, replay

GOLDEN = Path(__file__).parent.parent / "journals"
RAN: list[str] = []


def entries(name: str) -> list[dict[str, Any]]:
    return parse((GOLDEN / name).read_bytes())[0]


def run(name: str, cls: type) -> ReplayResult:
    return anyio.run(replay, entries(name), cls)


class Same(WorkflowEntrypoint):
    """The code that wrote complete.jsonl."""

    async def run(self, event: Any, step: Any) -> Any:
        def charge() -> dict[str, int]:
            RAN.append("charge")
            return {"charged": 10}

        charged = await step.do("charge", charge)
        assert charged == {"charged": 10}  # the recorded result, not a new one
        shipped = await step.wait_for_event("shipped", "shipment", timeout="1 hour")
        assert shipped["payload"] == {"carrier": "dhl"}
        await step.sleep("cool down", "1 hour")  # recorded: returns at once
        return {"ok": True}


class Renamed(WorkflowEntrypoint):
    """A deploy renamed the wait: an instance in flight would not find its event."""

    async def run(self, event: Any, step: Any) -> Any:
        await step.do("charge", lambda: {"charged": 10})
        await step.wait_for_event("delivered", "shipment")
        return {"ok": True}


class Shorter(WorkflowEntrypoint):
    """A deploy dropped the last steps."""

    async def run(self, event: Any, step: Any) -> Any:
        await step.do("charge", lambda: {"charged": 10})
        return {"ok": True}


class Longer(WorkflowEntrypoint):
    """New code adds a step after the journal's last: fine, it runs when the instance goes on."""

    async def run(self, event: Any, step: Any) -> Any:
        await step.do("charge", lambda: None)
        await step.wait_for_event("shipped", "shipment")
        await step.sleep("cool down", 1)
        await step.do("invoice", lambda: RAN.append("invoice"))
        return None


def test_the_code_that_wrote_a_journal_replays_it_without_running_any_step() -> None:
    RAN.clear()
    result = run("complete.jsonl", Same)
    assert result.ok and result.replayed == 3
    assert RAN == []


def test_a_renamed_step_is_the_first_divergence_with_the_line_that_asked() -> None:
    result = run("complete.jsonl", Renamed)
    assert not result.ok and result.divergence is not None
    assert result.divergence.index == 1
    assert result.divergence.journal == ("wait", "shipped", 1)
    assert result.divergence.code == ("wait", "delivered", 1)
    assert result.divergence.where is not None and result.divergence.where.startswith(__file__)
    text = str(result.divergence)
    assert "- journal: step.wait_for_event 'shipped' #1" in text and "+ code:" in text


def test_code_that_ends_before_the_journal_does_diverges_at_the_first_step_it_skipped() -> None:
    result = run("complete.jsonl", Shorter)
    assert result.divergence is not None
    assert result.divergence.journal == ("wait", "shipped", 1) and result.divergence.code is None


def test_steps_after_the_journal_are_not_run_and_are_no_divergence() -> None:
    RAN.clear()
    result = run("complete.jsonl", Longer)
    assert result.ok and RAN == []


def test_a_step_the_journal_was_inside_of_is_the_frontier() -> None:
    torn = entries("torn-tail.jsonl")
    names = [e.get("name") for e in torn if e["type"] == "step_done"]

    class Follows(WorkflowEntrypoint):
        async def run(self, event: Any, step: Any) -> Any:
            for name in names:
                await step.do(name, lambda: pytest.fail("a recorded step ran"))
            await step.do("never recorded", lambda: pytest.fail("a new step ran"))

    assert anyio.run(replay, torn, Follows).ok
