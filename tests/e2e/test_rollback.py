"""Rollback (saga, SPEC 3.9) through a real served host: undos newest first, each once, counted
in a file outside data/; the first failing undo stops the rest; automatic rollback when run()
raises and on terminate(rollback=True); a rollback killed half way goes on at the next start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ServerProcess, wait_for
from tests.saga_helpers import FINAL, Saga, lines, saga_deployment


@pytest.fixture(scope="module")
def saga(tmp_path_factory: pytest.TempPathFactory) -> Any:
    base = tmp_path_factory.mktemp("rollback")
    root = saga_deployment(base)
    with ServerProcess(root, extra_args=("--no-reload",)) as server:
        yield Saga(server, root, base / "side")


def kinds(journal: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in journal if e["type"].startswith(("undo_", "rollback_"))]


def test_rollback_all_runs_each_undo_once_newest_first_with_the_error_and_value(saga: Saga) -> None:
    log = saga.create("TRIP", "all", steps=["flight", "hotel", "car"], then="rollback_all")
    status = saga.wait_status("trip", "all", *FINAL)
    assert status["status"] == "complete" and status["output"] == "rolled back", status
    assert status["rollback"] == {"outcome": "complete"}
    assert lines(log) == [
        "do flight",
        "do hotel",
        "do car",
        "undo car car ValueError",
        "undo hotel hotel ValueError",
        "undo flight flight ValueError",
        "rollback_all returned",
    ]  # and the second rollback_all found nothing left to undo
    journal = saga.journal("trip", "all")
    assert kinds(journal) == ["rollback_start"] + ["undo_start", "undo_done"] * 3 + ["rollback_end"]
    assert [e["name"] for e in journal if e["type"] == "undo_done"] == ["car", "hotel", "flight"]
    statuses = [e["status"] for e in journal if e["type"] == "status"]
    assert "rollingBack" in statuses and statuses[statuses.index("rollingBack") + 1] == "running"


def test_the_first_failing_undo_stops_the_older_ones_and_rollback_all_raises_its_error(saga: Saga) -> None:
    log = saga.create(
        "TRIP", "fails", steps=["a", "b", "c"], then="rollback_all", fail_undo="b", undo_retries=1
    )
    status = saga.wait_status("trip", "fails", *FINAL)
    assert status["status"] == "complete" and status["output"] == "caught", status
    assert status["rollback"] == {
        "outcome": "failed",
        "error": {"name": "ValueError", "message": "cannot cancel b"},
    }
    done = lines(log)
    assert done[3:] == [
        "undo c c ValueError",
        "undo b b ValueError",
        "undo b b ValueError",  # its one retry (undo_retries 1)
        "rollback_all raised ValueError: cannot cancel b",
    ]  # a's undo never ran
    journal = saga.journal("trip", "fails")
    assert [e["type"] for e in journal if e.get("name") == "b" and e["type"].startswith("undo")] == [
        "undo_start",
        "undo_fail",
        "undo_start",
        "undo_error",
    ]


def test_an_uncaught_error_rolls_back_then_the_instance_is_errored(saga: Saga) -> None:
    log = saga.create("TRIP", "raises", steps=["a", "b"], then="raise", nested_undo="a")
    status = saga.wait_status("trip", "raises", *FINAL)
    assert status["status"] == "errored", status
    assert status["error"] == {"name": "RuntimeError", "message": "no rooms left"}
    assert status["rollback"] == {"outcome": "complete"}
    assert lines(log) == [
        "do a",
        "do b",
        "undo b b RuntimeError",
        "undo a a RuntimeError",
        "nested RuntimeError: step.rollback_all cannot be called inside an undo handler",
    ]
    start = next(e for e in saga.journal("trip", "raises") if e["type"] == "rollback_start")
    assert start["cause"] == "error" and start["error"]["message"] == "no rooms left"


def test_an_undo_that_waits_for_its_retry_hibernates_and_the_rollback_goes_on_after(saga: Saga) -> None:
    log = saga.create(
        "TRIP", "retry", steps=["a", "b"], then="raise", flaky_undo="b", undo_retries=1, undo_delay="1 second"
    )
    status = saga.wait_status("trip", "retry", *FINAL)
    assert status["status"] == "errored" and status["rollback"] == {"outcome": "complete"}, status
    assert lines(log)[2:] == ["undo b b RuntimeError", "undo b b RuntimeError", "undo a a RuntimeError"]
    statuses = [e["status"] for e in saga.journal("trip", "retry") if e["type"] == "status"]
    assert statuses[-4:] == ["rollingBack", "waiting", "rollingBack", "errored"]  # unloaded in between


def test_terminate_with_rollback_runs_the_undos_then_ends_terminated(saga: Saga) -> None:
    log = saga.create("TRIP", "stop", steps=["a", "b"], then="wait")
    saga.wait_status("trip", "stop", "waiting")
    assert saga.call("TRIP", "stop", "terminate", rollback=True).status_code == 200
    status = saga.wait_status("trip", "stop", *FINAL)
    assert status["status"] == "terminated" and status["rollback"] == {"outcome": "complete"}, status
    assert lines(log) == ["do a", "do b", "undo b b None", "undo a a None"]
    assert saga.journal("trip", "stop")[-1]["status"] == "terminated"
    # a plain terminate runs no undo and leaves no rollback outcome
    log = saga.create("TRIP", "plain", steps=["a"], then="wait")
    saga.wait_status("trip", "plain", "waiting")
    assert saga.call("TRIP", "plain", "terminate").status_code == 200
    status = saga.wait_status("trip", "plain", *FINAL)
    assert status["status"] == "terminated" and "rollback" not in status
    assert lines(log) == ["do a"]
    # with nothing done there is nothing to undo: a terminate(rollback=True) is a plain one
    saga.create("TRIP", "empty", steps=[], then="wait")
    saga.wait_status("trip", "empty", "waiting")
    assert saga.call("TRIP", "empty", "terminate", rollback=True).status_code == 200
    status = saga.wait_status("trip", "empty", *FINAL)
    assert status["status"] == "terminated" and "rollback" not in status


def test_terminate_with_rollback_while_a_step_runs_cancels_it_and_undoes_the_steps_done(
    saga: Saga, tmp_path: Path
) -> None:
    log = saga.create("TRIP", "busy", steps=["a"], then="block", gate=str(tmp_path / "never"))
    wait_for(lambda: "do slow" in lines(log), 10, what="the slow step to run")
    assert saga.call("TRIP", "busy", "terminate", rollback=True).status_code == 200
    status = saga.wait_status("trip", "busy", *FINAL)
    assert status["status"] == "terminated" and status["rollback"] == {"outcome": "complete"}, status
    assert lines(log) == ["do a", "do slow", "undo a a None"]  # slow never completed: nothing to undo


def test_a_plain_terminate_cuts_a_rollback_short_and_a_rolling_back_instance_cannot_pause(
    saga: Saga, tmp_path: Path
) -> None:
    gate = tmp_path / "never-either"
    log = saga.create("TRIP", "cut", steps=["a", "b"], then="raise", block_undo="b", gate=str(gate))
    wait_for(lambda: "undo b b RuntimeError" in lines(log), 10, what="undo b to be running")
    saga.wait_status("trip", "cut", "rollingBack")  # status.json is queued: it may trail the undo
    for action in ("pause", "event/go"):  # no pause, and no event that no wait would get
        answer = saga.call("TRIP", "cut", action)
        assert answer.status_code == 400 and "rolling back" in answer.json()["message"], answer.text
    assert saga.call("TRIP", "cut", "terminate").status_code == 200
    status = saga.wait_status("trip", "cut", *FINAL)
    assert status["status"] == "terminated", status
    assert status["rollback"]["outcome"] == "failed" and status["rollback"]["error"]["name"] == "Terminated"
    assert lines(log) == ["do a", "do b", "undo b b RuntimeError"]  # a's undo never ran


def test_a_with_rollback_step_without_an_undo_is_a_value_error_naming_it(saga: Saga) -> None:
    saga.create("TRIP", "noundo", steps=[], then="no_undo")
    status = saga.wait_status("trip", "noundo", *FINAL)
    assert status["status"] == "errored" and status["error"]["name"] == "ValueError"
    assert "'forgotten'" in status["error"]["message"] and ".undo" in status["error"]["message"]


@pytest.mark.parametrize("cause", ["raise", "terminate"])
def test_a_rollback_killed_half_way_goes_on_at_the_next_start(tmp_path: Path, cause: str) -> None:
    root = saga_deployment(tmp_path)
    gate = tmp_path / "gate"
    server = ServerProcess(root, extra_args=("--no-reload",)).start()
    then = "raise" if cause == "raise" else "wait"
    error = "RuntimeError" if cause == "raise" else "None"  # a terminate's undos get no error
    try:
        saga = Saga(server, root, tmp_path / "side")
        log = saga.create("TRIP", "killed", steps=["a", "b", "c"], then=then, block_undo="b", gate=str(gate))
        if cause == "terminate":
            saga.wait_status("trip", "killed", "waiting")
            assert saga.call("TRIP", "killed", "terminate", rollback=True).status_code == 200
        wait_for(lambda: f"undo b b {error}" in lines(log), 10, what="undo b to be running")
        saga.wait_status("trip", "killed", "rollingBack")
        server.kill()
        gate.touch()
        server.start()
        status = saga.wait_status("trip", "killed", *FINAL)
    finally:
        server.stop()
    final = "errored" if cause == "raise" else "terminated"
    assert status["status"] == final and status["rollback"] == {"outcome": "complete"}, status
    assert lines(log) == [
        "do a",
        "do b",
        "do c",
        f"undo c c {error}",
        f"undo b b {error}",  # killed in this attempt
        f"undo b b {error}",  # so it runs again (at least once, as a step does)
        f"undo a a {error}",
    ]
    done = [e["name"] for e in saga.journal("trip", "killed") if e["type"] == "undo_done"]
    assert done == ["c", "b", "a"]
