"""Workflow semantics end to end: a served worker drives the binding; the files are checked."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.helpers import stays, wait_for
from tests.workflow_helpers import Flows, flows_deployment, serve_flows


@pytest.fixture(scope="module")
def flows(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flows]:
    root, marks = flows_deployment(tmp_path_factory.mktemp("flows"))
    with serve_flows(root, marks) as server:
        yield Flows(server, root, marks)


def test_steps_run_once_and_output_lands_in_status_json(flows: Flows) -> None:
    iid = flows.create([["do", "a"], ["sync", "b"], ["sleep", "nap", 0.2], ["do", "c"]], "basic")
    status = flows.wait_status(iid, "complete")
    assert status == {"status": "complete", "output": ["a done", "B", "slept nap", "c done"], "error": None}
    for name in "abc":
        assert len(flows.runs(iid, name)) == 1, name  # hibernate_after 0 replayed, never re-ran
    on_disk = flows.on_disk(iid, "complete")
    assert on_disk["output"][1] == "B" and on_disk["step_count"] == 4
    meta = json.loads((flows.instance_dir(iid) / "instance.json").read_text())
    assert meta["params"] == {"ops": [["do", "a"], ["sync", "b"], ["sleep", "nap", 0.2], ["do", "c"]]}


def test_retries_are_seen_through_ctx_attempt(flows: Flows) -> None:
    iid = flows.create([["flaky", "f", 3, 5], ["flaky", "g", 9, 1]])
    status = flows.wait_status(iid, "complete")
    assert status["output"] == [3, "caught ValueError: attempt 2 failed"]
    assert [line.split()[1] for line in flows.runs(iid, "f")] == ["1", "2", "3"]
    assert [line.split()[1] for line in flows.runs(iid, "g")] == ["1", "2"]
    fails = [e for e in flows.journal(iid) if e["type"] == "step_fail"]
    assert [e["attempt"] for e in fails] == [1, 2, 1]


def test_timeout_counts_as_a_failed_attempt(flows: Flows) -> None:
    iid = flows.create([["slowstep", "slow"]])
    assert flows.wait_status(iid, "complete")["output"] == [2]
    fail = next(e for e in flows.journal(iid) if e["type"] == "step_fail")
    assert fail["error"]["name"] == "TimeoutError" and "timed out" in fail["error"]["message"]


def test_non_retryable_error_ends_the_instance_at_once(flows: Flows) -> None:
    iid = flows.create([["do", "a"], ["fatal", "charge"], ["do", "never"]])
    status = flows.wait_status(iid, "errored")
    assert status["error"] == {"name": "CardError", "message": "card declined"}
    assert len(flows.runs(iid, "charge")) == 1 and flows.runs(iid, "never") == []


def test_wait_for_event_timeout_is_catchable(flows: Flows) -> None:
    iid = flows.create([["wait", "w", "never", "300 ms"], ["do", "after"]])
    assert flows.wait_status(iid, "complete")["output"] == ["timeout", "after done"]


def test_events_sent_before_the_wait_are_delivered_in_order(flows: Flows) -> None:
    iid = flows.create(
        [
            ["block", "hold", "gate.early"],
            ["wait", "w1", "paid", "5 seconds"],
            ["wait", "w2", "paid", "5 seconds"],
        ]
    )
    wait_for(lambda: flows.runs(iid, "hold"))
    assert flows.event(iid, "paid", {"n": 1}).status_code == 200
    assert flows.event(iid, "paid", {"n": 2}).status_code == 200
    assert len(flows.inbox(iid)) == 2  # kept until a wait takes them
    flows.gate("gate.early")
    assert flows.wait_status(iid, "complete")["output"] == ["hold released", {"n": 1}, {"n": 2}]
    assert flows.inbox(iid) == []


def test_event_wakes_a_hibernated_wait(flows: Flows) -> None:
    iid = flows.create([["wait", "w", "shipment", "1 hour"]])
    flows.wait_status(iid, "waiting")
    assert flows.event(iid, "shipment", {"carrier": "dhl"}).status_code == 200
    assert flows.wait_status(iid, "complete")["output"] == [{"carrier": "dhl"}]


def test_pause_resume_and_waiting_for_pause(flows: Flows) -> None:
    iid = flows.create([["block", "busy", "gate.pause"], ["do", "next"]])
    wait_for(lambda: flows.runs(iid, "busy"))
    assert flows.action(iid, "pause").status_code == 200
    flows.wait_status(iid, "waitingForPause")
    flows.gate("gate.pause")
    flows.wait_status(iid, "paused")
    assert stays(lambda: flows.runs(iid, "next") == [], 0.3)  # paused means no further steps
    response = flows.action(iid, "pause")
    assert response.status_code == 400 and response.json()["error"] == "InvalidTransition"
    assert flows.action(iid, "resume").status_code == 200
    assert flows.wait_status(iid, "complete")["output"] == ["busy released", "next done"]
    assert len(flows.runs(iid, "busy")) == 1


def test_pause_a_sleeper_and_resume_after_its_wake_time(flows: Flows) -> None:
    iid = flows.create([["sleep", "nap", 2.0], ["do", "after"]])
    flows.wait_status(iid, "waiting")
    assert flows.action(iid, "pause").status_code == 200
    flows.wait_status(iid, "paused")
    assert stays(lambda: flows.status(iid)["status"] == "paused", 2.5)  # the wake time passes while paused
    assert flows.action(iid, "resume").status_code == 200
    assert flows.wait_status(iid, "complete")["output"] == ["slept nap", "after done"]


def test_terminate_and_the_transitions_final_instances_refuse(flows: Flows) -> None:
    iid = flows.create([["wait", "w", "never", "1 hour"]])
    flows.wait_status(iid, "waiting")
    assert flows.action(iid, "terminate").status_code == 200
    flows.wait_status(iid, "terminated")
    for action in ("terminate", "pause", "resume"):
        response = flows.action(iid, action)
        assert response.status_code == 400 and response.json()["error"] == "InvalidTransition", action
    response = flows.event(iid, "never", {})
    assert response.status_code == 400 and "terminated" in response.json()["message"]
    assert flows.inbox(iid) == []  # refused requests leave nothing


def test_terminate_cancels_a_running_step(flows: Flows) -> None:
    iid = flows.create([["block", "stuck", "gate.never"], ["do", "after"]])
    wait_for(lambda: flows.runs(iid, "stuck"))
    flows.action(iid, "terminate")
    flows.wait_status(iid, "terminated")
    assert flows.runs(iid, "after") == []


def test_restart_runs_again_from_the_start_with_the_same_params(flows: Flows) -> None:
    iid = flows.create([["do", "a"]], "again")
    flows.wait_status(iid, "complete")
    journal = flows.instance_dir(iid) / "journal.jsonl"
    inode = journal.stat().st_ino
    assert flows.action(iid, "restart").status_code == 200
    wait_for(lambda: len(flows.runs(iid, "a")) == 2)
    assert flows.wait_status(iid, "complete")["output"] == ["a done"]
    kept = list(flows.instance_dir(iid).glob("journal.*.restarted.jsonl"))  # old history kept
    assert len(kept) == 1 and '"status":"complete"' in kept[0].read_text()
    # emptied in place, not replaced: the journal is the instance lock, one inode for good
    assert journal.stat().st_ino == inode
    assert [e["status"] for e in flows.journal(iid) if e["type"] == "status"][0] == "queued"
    # and it starts as a new journal does, with the instance document (the next load reads no more)
    meta = json.loads((flows.instance_dir(iid) / "instance.json").read_text())
    assert flows.journal(iid)[0]["instance"] == meta


def test_resume_of_a_running_instance_is_an_error(flows: Flows) -> None:
    iid = flows.create([["block", "b", "gate.resume"]])
    wait_for(lambda: flows.runs(iid, "b"))
    response = flows.action(iid, "resume")
    assert response.status_code == 400 and "not paused" in response.json()["message"]
    flows.gate("gate.resume")
    flows.wait_status(iid, "complete")


def test_concurrency_limit_queues_fifo(flows: Flows) -> None:
    ids = [flows.create([["block", "b", "gate.limit"]], f"lim-{n}", binding="LIMITED") for n in range(4)]
    wait_for(lambda: sum(bool(flows.runs(i, "b")) for i in ids) == 2)

    def statuses() -> list[str]:
        return [flows.status(i, "LIMITED")["status"] for i in ids]

    wait_for(lambda: statuses() == ["running", "running", "queued", "queued"])  # status.json lags <= 50 ms
    assert stays(lambda: statuses() == ["running", "running", "queued", "queued"], 0.3)
    flows.gate("gate.limit")
    for i in ids:
        flows.wait_status(i, "complete", binding="LIMITED")


def test_queued_instances_can_be_terminated_and_paused_while_they_wait_for_a_slot(flows: Flows) -> None:
    running = [flows.create([["block", "b", "gate.slots"]], f"slot-{n}", binding="LIMITED") for n in range(2)]
    wait_for(lambda: all(flows.runs(i, "b") for i in running))
    doomed = flows.create([["do", "never"]], "slot-doomed", binding="LIMITED")
    parked = flows.create([["do", "later"]], "slot-parked", binding="LIMITED")
    flows.wait_status(doomed, "queued", binding="LIMITED")
    assert flows.action(doomed, "terminate", binding="LIMITED").status_code == 200
    assert flows.action(parked, "pause", binding="LIMITED").status_code == 200
    flows.wait_status(doomed, "terminated", binding="LIMITED")
    flows.wait_status(parked, "paused", binding="LIMITED")
    for i in running:  # untouched by the controls of their queued neighbours (status.json lags <= 50 ms)
        flows.wait_status(i, "running", binding="LIMITED")
    flows.gate("gate.slots")
    for i in running:
        flows.wait_status(i, "complete", binding="LIMITED")
    assert stays(lambda: flows.status(parked, "LIMITED")["status"] == "paused", 0.3)
    flows.action(parked, "resume", binding="LIMITED")
    flows.wait_status(parked, "complete", binding="LIMITED")
    assert flows.runs(doomed, "never") == [] and len(flows.runs(parked, "later")) == 1


def test_waiting_instances_do_not_count_against_the_limit(flows: Flows) -> None:
    sleepers = [
        flows.create([["wait", "w", "go", "1 hour"]], f"lim-sleep-{n}", binding="LIMITED") for n in range(3)
    ]
    for i in sleepers:
        flows.wait_status(i, "waiting", binding="LIMITED")
    runner = flows.create([["do", "x"]], "lim-runner", binding="LIMITED")
    flows.wait_status(runner, "complete", binding="LIMITED")
    for i in sleepers:
        flows.event(i, "go", None, binding="LIMITED")
        flows.wait_status(i, "complete", binding="LIMITED")


def test_steps_limit_is_enforced_with_its_name(flows: Flows) -> None:
    iid = flows.create([["do", "a"], ["do", "b"], ["sleep", "c", 0.01], ["do", "d"]], binding="SHORT")
    status = flows.wait_status(iid, "errored", binding="SHORT")
    assert "limit of 3 steps" in status["error"]["message"] and "limits.steps" in status["error"]["message"]


def test_step_results_must_be_small_json(flows: Flows) -> None:
    iid = flows.create([["big", "huge"]])
    status = flows.wait_status(iid, "errored")
    assert "1 MiB" in status["error"]["message"]


def test_script_name_binding_runs_the_class_of_the_other_worker(flows: Flows) -> None:
    response = flows.server.get("/other")
    assert response.status_code == 200, response.text
    iid = response.json()["id"]
    assert flows.wait_status(iid, "complete")["output"] == ["remote done"]


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        ({"id": "../escape", "params": {}}, "ValueError", "instance id"),
        ({"id": "x" * 65, "params": {}}, "ValueError", "1 to 64"),
        ({"id": "big", "params": {"blob": "x" * (1024 * 1024)}}, "LimitExceeded", "1 MiB"),
    ],
)
def test_bad_creates_change_nothing_on_disk(
    flows: Flows, body: dict[str, object], error: str, message: str
) -> None:
    before = sorted(p.name for p in (flows.root / "data" / "workflows" / "script" / "instances").iterdir())
    response = flows.call("POST", "SCRIPT", json=body)
    assert response.status_code == 400 and response.json()["error"] == error
    assert message in response.json()["message"]
    after = sorted(p.name for p in (flows.root / "data" / "workflows" / "script" / "instances").iterdir())
    assert after == before
    assert (
        not (flows.root / "escape").exists() and not (flows.root / "data" / "workflows" / "escape").exists()
    )


def test_duplicate_ids_and_unknown_instances(flows: Flows) -> None:
    flows.create([["do", "a"]], "dup")
    response = flows.call("POST", "SCRIPT", json={"id": "dup", "params": {}})
    assert response.status_code == 400 and response.json()["error"] == "InstanceExists"
    response = flows.call("GET", "SCRIPT/nobody-here")
    assert response.status_code == 400 and response.json()["error"] == "InstanceNotFound"


def test_bad_event_types_are_refused(flows: Flows) -> None:
    iid = flows.create([["wait", "w", "ok", "1 hour"]])
    response = flows.event(iid, "bad.type", {})
    assert response.status_code == 400 and "event type" in response.json()["message"]
    flows.action(iid, "terminate")


def test_create_batch_is_all_or_nothing(flows: Flows) -> None:
    root = flows.root / "data" / "workflows" / "script" / "instances"
    bad = [{"id": "batch-ok", "params": {"ops": []}}, {"id": "bad/id", "params": {}}]
    response = flows.call("POST", "SCRIPT/batch", json=bad)
    assert response.status_code == 400 and "item 1" in response.json()["message"]
    assert not (root / "batch-ok").exists()
    response = flows.call("POST", "SCRIPT/batch", json=[{"params": {}}] * 101)
    assert response.status_code == 400 and "100" in response.json()["message"]
    response = flows.call(
        "POST",
        "SCRIPT/batch",
        json=[{"id": f"batch-{n}", "params": {"ops": [["do", "a"]]}} for n in range(3)],
    )
    assert response.json() == ["batch-0", "batch-1", "batch-2"]
    for n in range(3):
        flows.wait_status(f"batch-{n}", "complete")


def test_status_json_is_readable_while_instances_wait(flows: Flows) -> None:
    iid = flows.create([["sleep", "long", "1 hour"]])
    flows.wait_status(iid, "waiting")
    assert flows.on_disk(iid, "waiting")["wake_at"] > 0
    pending = flows.root / "data" / "workflows" / "script" / "pending"
    assert [p.name for p in pending.iterdir() if p.name.endswith("." + iid)]
    flows.action(iid, "terminate")
    flows.wait_status(iid, "terminated")
    wait_for(lambda: not [p for p in pending.iterdir() if p.name.endswith("." + iid)])


def test_dag_steps_run_dependencies_concurrently_and_once(flows: Flows) -> None:
    iid = flows.create([["dag", "d"]])
    status = flows.wait_status(iid, "complete")
    assert status["output"] == ["D-LEFT+R", "d-left+R", True]
    for step in ("d-left", "d-right", "d-join"):
        assert len(flows.runs(iid, step)) == 1, step


def test_hibernation_unwinds_through_a_users_except_exception(flows: Flows) -> None:
    iid = flows.create([["guarded", "nap"], ["do", "after"]])
    assert flows.wait_status(iid, "complete")["output"] == ["slept through", "after done"]


def test_sleep_until_an_epoch_time(flows: Flows) -> None:
    iid = flows.create([["until", "alarm", 0.3], ["do", "after"]])
    assert flows.wait_status(iid, "complete")["output"] == ["woke alarm", "after done"]


def test_a_long_step_shows_as_started_in_the_journal_while_it_runs(flows: Flows) -> None:
    iid = flows.create([["block", "long", "gate.started"]])
    wait_for(lambda: flows.runs(iid, "long"))
    started = wait_for(lambda: [e for e in flows.journal(iid) if e["type"] == "step_start"])
    assert started[0]["name"] == "long" and started[0]["attempt"] == 1
    assert not [e for e in flows.journal(iid) if e["type"] == "step_done"]
    flows.gate("gate.started")
    flows.wait_status(iid, "complete")
    assert [e["type"] for e in flows.journal(iid)].count("step_start") == 1  # written once, not again
