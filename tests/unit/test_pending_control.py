"""The fold of control entries (host.workflows.entries): a terminate, restart or pause taken is
pending until the line that carries it out, so one a crash cut short is carried out at the next
open (SPEC 4.3: the journal's last word wins)."""

from __future__ import annotations

from typing import Any

import pytest

from host.workflows.entries import replay_state

META = {"id": "i-1", "workflow": "wf", "params": {}, "created_on_epoch": 1.0}


def status(value: str, **fields: Any) -> dict[str, Any]:
    return {"type": "status", "status": value, **fields}


def control(action: str, inbox: str | None = None, **fields: Any) -> dict[str, Any]:
    entry = {"type": "control", "action": action, "source": "api", **fields}
    if inbox is not None:
        entry["inbox"] = inbox
    return entry


def fold(*tail: dict[str, Any]) -> Any:
    head = [status("queued", instance=META), status("running")]
    entries = [{**entry, "t": 10.0 + n} for n, entry in enumerate([*head, *tail])]
    return replay_state(entries)


def pending_action(*tail: dict[str, Any]) -> str | None:
    pending = fold(*tail).pending
    return None if pending is None else str(pending["action"])


@pytest.mark.parametrize("action", ["terminate", "restart", "pause"])
def test_a_control_taken_is_pending_until_its_effect_is_journalled(action: str) -> None:
    state = fold(control(action, "n1"))
    assert state.pending is not None and state.pending["action"] == action
    assert "n1" in state.delivered  # the inbox request is taken: never taken again


@pytest.mark.parametrize(
    ("action", "effect"),
    [
        ("terminate", status("terminated")),
        ("pause", status("paused")),
        ("restart", status("queued", from_step={"kind": "do", "name": "a", "count": 1})),
        ("restart", status("queued", instance=META)),
        ("pause", status("complete", output=1)),  # the run ended before the pause took hold
        ("pause", status("errored", error={"name": "E", "message": "m"})),
    ],
)
def test_the_line_that_carries_it_out_clears_it(action: str, effect: dict[str, Any]) -> None:
    assert pending_action(control(action), effect) is None


def test_lines_that_do_not_carry_it_out_leave_it_pending() -> None:
    step = {"type": "step_done", "name": "a", "count": 1, "result": 1}
    assert pending_action(control("pause"), status("waitingForPause"), step) == "pause"
    assert pending_action(control("terminate", rollback=True), status("rollingBack")) == "terminate"
    assert pending_action(control("restart"), status("paused")) == "restart"  # a pause after it
    assert pending_action(control("terminate"), status("queued")) == "terminate"


def test_the_last_terminate_or_restart_asked_wins_and_a_pause_never_replaces_one() -> None:
    assert pending_action(control("terminate"), control("restart")) == "restart"
    assert pending_action(control("restart"), control("terminate")) == "terminate"
    assert pending_action(control("pause"), control("terminate")) == "terminate"
    assert pending_action(control("terminate"), control("pause")) == "terminate"
    assert pending_action(control("restart"), control("pause")) == "restart"
    assert pending_action(control("pause"), control("resume")) == "pause"
    plain = fold(control("terminate", rollback=True), status("rollingBack"), control("terminate"))
    assert plain.pending is not None and not plain.terminate_rollback  # cuts the undos short


def test_controls_that_change_nothing_are_not_pending() -> None:
    assert pending_action(status("complete", output=1), control("terminate")) is None
    assert pending_action(status("terminated"), control("pause")) is None
    assert pending_action(status("paused"), control("pause")) is None
    assert pending_action(status("rollingBack"), control("pause")) is None
    assert pending_action(control("resume")) is None
    assert pending_action(status("complete", output=1), control("restart")) == "restart"


def test_a_restarts_queued_line_names_the_request_it_carried_out() -> None:
    state = replay_state([status("queued", instance=META, inbox="n1", t=1.0)])
    assert state.pending is None and "n1" in state.delivered
