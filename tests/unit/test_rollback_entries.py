"""The journal entry kinds of rollback and restart from a step: how they fold, how the step log
and the timeline show them, how the replayer treats them, and the service's argument checks."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from host import WorkflowEntrypoint
from host.admin.steplog import build_steps, timeline
from host.store.filestore import FileStore
from host.workflows.entries import first_line_of, replay_state
from host.workflows.journal import encode, parse
from host.workflows.replay import replay
from host.workflows.service import WorkflowService
from host.workflows.status import InstanceStatus, status_document

META = {"id": "i-1", "workflow": "wf", "params": {}, "created_on_epoch": 1.0}


def journal(*tail: dict[str, Any]) -> list[dict[str, Any]]:
    head = [{"type": "status", "status": "queued", "instance": META}, {"type": "status", "status": "running"}]
    entries = []
    for n, entry in enumerate([*head, *tail]):
        entries.append({**entry, "t": 10.0 + n})
    return entries


def booked(name: str) -> list[dict[str, Any]]:
    return [
        {"type": "step_start", "name": name, "count": 1, "attempt": 1},
        {"type": "step_done", "name": name, "count": 1, "result": {"booked": name}},
    ]


def undone(name: str) -> list[dict[str, Any]]:
    return [
        {"type": "undo_start", "name": name, "count": 1, "attempt": 1},
        {"type": "undo_done", "name": name, "count": 1, "result": None},
    ]


START = {"type": "rollback_start", "cause": "call", "error": {"name": "ValueError", "message": "x"}}
END = {"type": "rollback_end", "outcome": "complete"}
ROLLING = {"type": "status", "status": "rollingBack"}
FULL = journal(*booked("a"), *booked("b"), START, ROLLING, *undone("b"), *undone("a"), END)


def booking(step: Any, name: str) -> Any:
    @step.with_rollback(name)
    async def reserve() -> dict[str, str]:
        return {"booked": name}

    @reserve.undo
    async def cancel(error: Any, value: Any) -> None:
        pass

    return reserve


class Trip(WorkflowEntrypoint):  # type: ignore[misc]
    """Two with_rollback steps, then step.rollback_all (no side effects: replay runs nothing)."""

    async def run(self, event: Any, step: Any) -> str:
        for name in event.payload.get("names", ["a", "b"]):
            await booking(step, name)()
        await step.rollback_all(ValueError("x"))
        return "done"


def test_undo_entries_fold_apart_from_the_steps_and_the_rollback_outcome_reaches_the_status() -> None:
    lines = b"".join(encode(e) for e in FULL)
    entries, good = parse(lines)
    assert good == len(lines) and len(entries) == len(FULL)  # every kind is one the engine accepts
    state = replay_state(entries)
    assert state.step_count == 2 and set(state.undos) == {("a", 1), ("b", 1)}
    assert all(r.done and r.kind == "undo" for r in state.undos.values())
    assert ("undo", "a", 1) not in state.order
    assert state.rollback == {"outcome": "complete"} and state.rollback_open is None
    assert status_document(META, state)["rollback"] == {"outcome": "complete"}
    open_state = replay_state(FULL[:-3])
    assert open_state.rollback_open is not None and open_state.status is InstanceStatus.ROLLING_BACK
    assert "rollback" not in status_document(META, open_state)
    failed = replay_state([*FULL[:-1], {"type": "rollback_end", "outcome": "failed", "error": {"name": "E"}}])
    assert failed.rollback == {"outcome": "failed", "error": {"name": "E"}}


def test_a_terminate_with_rollback_is_remembered_until_the_instance_ends() -> None:
    control = {"type": "control", "action": "terminate", "rollback": True}
    assert replay_state(journal(*booked("a"), control)).terminate_rollback
    ended = journal(*booked("a"), control, {"type": "status", "status": "terminated"})
    assert not replay_state(ended).terminate_rollback


def test_undo_steps_show_as_type_rollback_in_the_step_log_and_the_timeline() -> None:
    steps = build_steps(FULL, now=100.0)
    assert [(s["type"], s["name"]) for s in steps] == [
        ("step", "a"),
        ("step", "b"),
        ("rollback", "b"),
        ("rollback", "a"),
    ]
    assert steps[2]["success"] is True and len(steps[2]["attempts"]) == 1
    text = [line["text"] for line in timeline(FULL, 10.0)]
    assert "rollback started (step.rollback_all): ValueError: x" in text
    assert any(t.startswith("undo of step 'b' attempt 1 started") for t in text)
    assert any(t.startswith("undo of step 'a' done after") for t in text)
    assert text[-1] == "rollback complete"


def test_the_first_line_of_a_step_is_where_a_restart_from_it_cuts() -> None:
    entries = journal(*booked("a"), {"type": "sleep", "name": "a", "count": 1, "until": 5.0})
    assert first_line_of(entries, "do", "a", 1) == 2
    assert first_line_of(entries, "sleep", "a", 1) == 4
    assert first_line_of(entries, "do", "a", 2) is None
    assert first_line_of(FULL, "do", "b", 1) == 4  # an undo of b is not where b began


def test_the_replayer_follows_a_rollback_and_stops_where_one_was_cut_short() -> None:
    assert asyncio.run(replay(FULL, Trip)).ok
    assert asyncio.run(replay(FULL[:-3], Trip)).ok  # killed in the middle: the frontier
    diverged = asyncio.run(
        replay(
            [
                {**e, "instance": {**META, "params": {"names": ["a", "c"]}}} if "instance" in e else e
                for e in FULL
            ],
            Trip,
        )
    )
    assert not diverged.ok and diverged.divergence is not None
    assert diverged.divergence.journal == ("do", "b", 1) and diverged.divergence.code == ("do", "c", 1)


def test_rollback_goes_with_terminate_and_from_step_with_restart_only(tmp_path: Path) -> None:
    async def main() -> None:
        service = WorkflowService(store=FileStore(tmp_path), known=lambda: {"wf"})
        await service.create("wf", "i-1", {})
        with pytest.raises(ValueError, match="rollback goes with terminate only"):
            await service.control("wf", "i-1", "restart", rollback=True)
        with pytest.raises(ValueError, match="from_step goes with restart only"):
            await service.control("wf", "i-1", "terminate", from_step="a")
        with pytest.raises(ValueError, match="rollback must be true or false"):
            await service.control("wf", "i-1", "terminate", rollback="yes")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="'a' #1"):
            await service.control("wf", "i-1", "restart", from_step="a")
        assert service.store.pending_actions("wf", "i-1") == ()  # nothing was written
        await service.control("wf", "i-1", "terminate", rollback=True)
        assert service.store.pending_actions("wf", "i-1") == ("terminate",)
        await service.store.aclose()

    asyncio.run(main())
