"""`waypost workflows ...` with wrangler's flags (SPEC 6), as subprocesses on the data directory of a
real served host: delete, terminate-all, paging, step output flags, send-event's default payload,
restart from a step, terminate with rollback, inspect NAME ID, -c and --cwd."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.lifecycle_deployment import lifecycle_deployment
from tests.helpers import ServerProcess, run_cli, wait_for
from tests.helpers import cli_ok as cli
from tests.helpers import cli_ok_json as cli_json


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = lifecycle_deployment(tmp_path_factory.mktemp("parity"))
    with ServerProcess(root, extra_args=("--no-reload",)) as proc:
        yield proc


def user_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    return done.stderr


def status(root: Path, workflow: str, instance_id: str) -> dict[str, Any]:
    path = root / "data/workflows" / workflow / "instances" / instance_id / "status.json"
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


def wait_status(root: Path, workflow: str, instance_id: str, *statuses: str) -> dict[str, Any]:
    return wait_for(
        lambda: (doc := status(root, workflow, instance_id))["status"] in statuses and doc,
        15,
        what=f"{instance_id} to be {' or '.join(statuses)}",
    )


def trigger(root: Path, workflow: str, instance_id: str, params: Any) -> None:
    cli(root, "workflows", "trigger", workflow, json.dumps(params), "--id", instance_id)


def test_send_event_without_payload_sends_an_empty_object(server: ServerProcess) -> None:
    root = server.root
    trigger(root, "flow", "ev-1", {"wait": "go"})
    wait_status(root, "flow", "ev-1", "waiting")
    cli(root, "workflows", "instances", "send-event", "flow", "latest", "--type", "go")
    done = wait_status(root, "flow", "ev-1", "complete", "errored")
    assert done["output"]["event"] == {}, done


def test_delete_removes_final_instances_and_reports_the_rest(server: ServerProcess) -> None:
    root = server.root
    for iid in ("cd-1", "cd-2"):
        trigger(root, "flow", iid, {})
    trigger(root, "flow", "cd-busy", {"wait": "never"})
    for iid in ("cd-1", "cd-2"):
        wait_status(root, "flow", iid, "complete")
    wait_status(root, "flow", "cd-busy", "waiting")
    assert "Deleted from flow: cd-1" in cli(root, "workflows", "instances", "delete", "flow", "cd-1")
    failed = run_cli(["workflows", "instances", "delete", "flow", "cd-2", "cd-busy", "cd-ghost"], cwd=root)
    errors = user_error(failed)
    assert "cd-busy: " in errors and "terminate it first" in errors
    assert "cd-ghost: " in errors and "not found" in errors
    assert "cd-2" in failed.stdout
    instances = root / "data/workflows/flow/instances"
    assert not (instances / "cd-1").exists() and not (instances / "cd-2").exists()
    assert (instances / "cd-busy").is_dir()
    assert "name at least one" in user_error(run_cli(["workflows", "instances", "delete", "flow"], cwd=root))


def test_terminate_all_asks_only_the_status_given(server: ServerProcess) -> None:
    root = server.root
    for iid in ("all-1", "all-2", "all-paused"):
        trigger(root, "saga", iid, {"count": "/dev/null"})
    for iid in ("all-1", "all-2", "all-paused"):
        wait_status(root, "saga", iid, "waiting")
    cli(root, "workflows", "instances", "pause", "saga", "all-paused")
    wait_status(root, "saga", "all-paused", "paused")
    asked = cli_json(root, "workflows", "instances", "terminate-all", "saga", "--status", "waiting")
    assert sorted(asked["terminate_requested"]) == ["all-1", "all-2"]
    for iid in ("all-1", "all-2"):
        wait_status(root, "saga", iid, "terminated")
    assert status(root, "saga", "all-paused")["status"] == "paused"
    user_error(run_cli(["workflows", "instances", "terminate-all", "saga", "--status", "complete"], cwd=root))


def test_page_and_per_page(server: ServerProcess) -> None:
    root = server.root
    for n in range(3):
        trigger(root, "broken", f"pg-{n}", {})
    everything = [i["id"] for i in cli_json(root, "workflows", "instances", "list", "broken")]
    second = cli_json(root, "workflows", "instances", "list", "broken", "--per-page", "2", "--page", "2")
    assert [i["id"] for i in second] == everything[2:4]
    names = [w["name"] for w in cli_json(root, "workflows", "list")]
    assert [
        w["name"] for w in cli_json(root, "workflows", "list", "--per-page", "1", "--page", "2")
    ] == names[1:2]
    user_error(run_cli(["workflows", "list", "--per-page", "0"], cwd=root))


def test_step_output_flags_and_sensitive_outputs(server: ServerProcess) -> None:
    root = server.root
    trigger(root, "secret", "sec-cli", {})
    wait_status(root, "secret", "sec-cli", "complete")
    shown = cli(root, "workflows", "instances", "describe", "secret", "sec-cli")
    assert "[REDACTED]" in shown and "visible-value" in shown and "s3cr3t-value" not in shown
    hidden = cli(root, "workflows", "instances", "describe", "secret", "sec-cli", "--step-output=false")
    assert "visible-value" not in hidden and "Output:" in hidden  # the run's output is still shown
    assert "Name:" in hidden
    cut = cli(root, "workflows", "instances", "describe", "secret", "sec-cli", "--truncate-output-limit", "5")
    assert '"vis…' in cut and "visible-value" not in cut
    for target in (["secret", "latest"], [str(root / "data/workflows/secret/instances/sec-cli")]):
        inspected = cli(root, "inspect", *target)
        assert "[REDACTED]" in inspected and "s3cr3t-value" not in inspected, inspected
        assert "visible-value" in inspected
    assert "s3cr3t-value" in (root / "data/workflows/secret/instances/sec-cli/journal.jsonl").read_text()


def test_restart_from_a_step_name(server: ServerProcess) -> None:
    root = server.root
    trigger(root, "flow", "rs-1", {})
    wait_status(root, "flow", "rs-1", "complete")
    before = {
        s["name"]: s["start"]
        for s in cli_json(root, "workflows", "instances", "describe", "flow", "rs-1")["steps"]
    }
    user_error(
        run_cli(["workflows", "instances", "restart", "flow", "rs-1", "--from-step-count", "2"], cwd=root)
    )
    missing = run_cli(
        ["workflows", "instances", "restart", "flow", "rs-1", "--from-step-name", "nowhere"], cwd=root
    )
    assert "nowhere" in user_error(missing)
    cli(root, "workflows", "instances", "restart", "flow", "rs-1", "--from-step-name", "finish")

    def rerun() -> Any:
        doc = cli_json(root, "workflows", "instances", "describe", "flow", "rs-1")
        now = {s["name"]: s["start"] for s in doc["steps"]}
        return doc["status"] == "complete" and now["finish"] != before["finish"] and now

    now = wait_for(rerun, 15, what="rs-1 to run again from finish")
    assert now["flaky"] == before["flaky"] and now["nap"] == before["nap"]


def test_restart_from_a_step_named_with_its_count_and_type(server: ServerProcess) -> None:
    root = server.root
    trigger(root, "flow", "rs-2", {})
    wait_status(root, "flow", "rs-2", "complete")

    def starts() -> dict[str, str]:
        doc = cli_json(root, "workflows", "instances", "describe", "flow", "rs-2")
        return {s["name"]: s["start"] for s in doc["steps"]} if doc["status"] == "complete" else {}

    before = starts()
    restart = ["workflows", "instances", "restart", "flow", "rs-2", "--from-step-name", "nap"]
    wrong = user_error(run_cli([*restart, "--from-step-type", "do"], cwd=root))  # nap is a sleep
    assert "nap" in wrong
    assert starts() == before  # refused: nothing changed
    cli(root, *restart, "--from-step-count", "1", "--from-step-type", "sleep")
    now = wait_for(
        lambda: (n := starts()) and n["nap"] != before["nap"] and n, 15, what="rs-2 again from nap"
    )
    assert now["flaky"] == before["flaky"] and now["finish"] != before["finish"]


def test_terminate_with_rollback_runs_the_undo(server: ServerProcess, tmp_path: Path) -> None:
    root, counts = server.root, tmp_path / "undo-runs"
    trigger(root, "saga", "rb-1", {"count": str(counts)})
    wait_status(root, "saga", "rb-1", "waiting")
    cli(root, "workflows", "instances", "terminate", "saga", "rb-1", "--rollback")
    ended = wait_status(root, "saga", "rb-1", "terminated")
    assert ended["rollback"] == {"outcome": "complete"}
    assert counts.read_text() == "undo 7\n"
    assert "Rollback:" in cli(root, "workflows", "instances", "describe", "saga", "rb-1")


def test_global_c_and_cwd(server: ServerProcess, tmp_path: Path) -> None:
    root = server.root
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "renamed.yaml").write_text((root / "config.yaml").read_text())
    listed = json.loads(
        cli(elsewhere, "--cwd", str(root), "-c", "renamed.yaml", "workflows", "list", "--json")
    )
    assert "saga" in [w["name"] for w in listed]
    local = json.loads(
        cli(elsewhere, "--cwd", str(root), "workflows", "list", "-c", "renamed.yaml", "--json")
    )
    assert local == listed
    assert "--cwd" in user_error(run_cli(["--cwd", str(tmp_path / "missing"), "workflows", "list"], cwd=root))
