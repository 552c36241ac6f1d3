"""Restart from a step (SPEC 3.8) through a real served host: what was recorded before the step
is kept (its side effects do not run again), that step and all after it run again, the events
their waits took go back to the inbox in order, and an unknown step changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ServerProcess, stays, wait_for
from tests.saga_helpers import FINAL, Saga, lines, saga_deployment


@pytest.fixture(scope="module")
def saga(tmp_path_factory: pytest.TempPathFactory) -> Any:
    base = tmp_path_factory.mktemp("fromstep")
    root = saga_deployment(base)
    with ServerProcess(root, extra_args=("--no-reload",)) as server:
        yield Saga(server, root, base / "side")


def restarted(saga: Saga, iid: str, copies: int) -> dict[str, Any]:
    """Wait for the instance's `copies`-th restart to have run to its end."""
    folder = saga.folder("steps", iid)

    def ended() -> bool:
        journal = saga.journal("steps", iid)
        over = journal[-1].get("status") in FINAL and any("from_step" in e for e in journal)
        return over and len(list(folder.glob("journal.*.restarted.jsonl"))) == copies

    wait_for(ended, 10, what=f"{iid} to run again to its end")
    return finish(saga, iid)


def finish(saga: Saga, iid: str) -> dict[str, Any]:
    status = saga.wait_status("steps", iid, *FINAL)
    assert status["status"] == "complete", status
    return status


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_restart_from_a_step_keeps_what_came_before_and_runs_the_rest_again(saga: Saga) -> None:
    log = saga.create("STEPS", "cut", ops=[["do", "a"], ["do", "b"], ["do", "b"], ["do", "c"]])
    first = finish(saga, "cut")
    before = saga.journal("steps", "cut")
    assert saga.call("STEPS", "cut", "restart", from_step={"name": "b", "count": 2}).status_code == 200
    again = restarted(saga, "cut", 1)
    assert again["output"] == first["output"] == ["a #1", "b #1", "b #2", "c #1"]
    assert lines(log) == ["do a #1", "do b #1", "do b #2", "do c #1", "do b #2", "do c #1"]
    after = saga.journal("steps", "cut")
    cut = next(i for i, e in enumerate(before) if e.get("name") == "b" and e.get("count") == 2)
    assert after[:cut] == before[:cut]  # kept as they were, byte for byte in meaning
    assert after[cut]["status"] == "queued" and after[cut]["from_step"]["name"] == "b"
    copies = list(saga.folder("steps", "cut").glob("journal.*.restarted.jsonl"))
    assert len(copies) == 1
    copied = [json.loads(line) for line in copies[0].read_text().splitlines()]
    assert copied[:-1] == before and copied[-1]["action"] == "restart"  # the whole journal, kept
    # a bare string names the step (count 1, type do)
    assert saga.call("STEPS", "cut", "restart", from_step="c").status_code == 200
    restarted(saga, "cut", 2)
    assert lines(log)[6:] == ["do c #1"]


def test_events_the_dropped_waits_took_go_back_to_the_inbox_in_their_order(saga: Saga) -> None:
    ops = [["do", "a"], ["wait", "w1", "go"], ["do", "b"], ["wait", "w2", "go"], ["do", "c"]]
    log = saga.create("STEPS", "events", ops=ops)
    saga.wait_status("steps", "events", "waiting")
    assert saga.call("STEPS", "events", "event/go", n=1).status_code == 200
    assert saga.call("STEPS", "events", "event/go", n=2).status_code == 200
    first = finish(saga, "events")
    assert first["output"] == ["a #1", {"n": 1}, "b #1", {"n": 2}, "c #1"]
    answer = saga.call("STEPS", "events", "restart", from_step={"name": "w1", "type": "waitForEvent"})
    assert answer.status_code == 200, answer.text
    again = restarted(saga, "events", 1)
    assert again["output"] == first["output"]  # each wait got its event again, in the order sent
    assert lines(log) == ["do a #1", "do b #1", "do c #1", "do b #1", "do c #1"]
    delivered = [e for e in saga.journal("steps", "events") if e["type"] == "event"]
    assert [e["event"]["payload"] for e in delivered] == [{"n": 1}, {"n": 2}]
    assert all(e["inbox"].endswith("-event.json") for e in delivered)
    inbox = saga.folder("steps", "events") / "inbox"
    assert not inbox.exists() or not list(inbox.iterdir())


def test_an_unknown_step_is_an_error_naming_it_and_nothing_changes(saga: Saga) -> None:
    saga.create("STEPS", "unknown", ops=[["do", "a"], ["sleep", "nap", 0.01]])
    finish(saga, "unknown")
    folder = saga.folder("steps", "unknown")
    before = snapshot(folder)
    for from_step, named in [
        ({"name": "nope"}, "'nope'"),
        ({"name": "a", "count": 2}, "'a' #2"),
        ({"name": "a", "type": "sleep"}, "type sleep"),
        ({"name": "nap", "type": "waitForEvent"}, "'nap'"),
    ]:
        answer = saga.call("STEPS", "unknown", "restart", from_step=from_step)
        assert answer.status_code == 400 and answer.json()["error"] == "ValueError", answer.text
        assert named in answer.json()["message"]
    for bad in [{"name": "a", "count": 0}, {"name": "a", "type": "step"}, {"name": "a", "x": 1}, 5]:
        answer = saga.call("STEPS", "unknown", "restart", from_step=bad)
        assert answer.status_code == 400 and answer.json()["error"] == "ValueError", answer.text
    assert stays(lambda: snapshot(folder) == before, 0.3)
    # the step that is there: a sleep, by its type
    assert (
        saga.call("STEPS", "unknown", "restart", from_step={"name": "nap", "type": "sleep"}).status_code
        == 200
    )
    restarted(saga, "unknown", 1)
