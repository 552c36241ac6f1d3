"""`python -m host workflows ...` and `inspect` as subprocesses on a data dir, with and without a server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.admin_deployment import admin_deployment
from tests.helpers import ServerProcess, run_cli, wait_for
from tests.helpers import cli_ok as cli
from tests.helpers import cli_ok_json as cli_json


def status(root: Path, instance_id: str, workflow: str = "flow") -> str:
    doc = json.loads(
        (root / "data/workflows" / workflow / "instances" / instance_id / "status.json").read_text()
    )
    return str(doc["status"])


def user_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    return done.stderr


def test_trigger_offline_then_a_server_runs_it(tmp_path: Path) -> None:
    root = admin_deployment(tmp_path)
    assert "Queued instance job-1" in cli(
        root, "workflows", "trigger", "flow", '{"fail": 1}', "--id", "job-1"
    )
    made = cli_json(root, "workflows", "trigger", "broken")
    assert made["status"] == "queued" and len(made["id"]) == 32

    listing = cli(root, "workflows", "instances", "list", "flow")
    assert "job-1" in listing and "queued" in listing
    workflows = {w["name"]: w for w in cli_json(root, "workflows", "list")}
    assert workflows["flow"]["instances"]["queued"] == 1 and workflows["flow"]["class_name"] == "Flow"
    assert "Steps limit:     50" in cli(root, "workflows", "describe", "flow")

    with ServerProcess(root):
        wait_for(lambda: status(root, "job-1") == "complete", 10, what="job-1 to complete")
        wait_for(lambda: status(root, made["id"], "broken") == "errored", 10, what="the broken one to fail")

    detail = cli_json(root, "workflows", "instances", "describe", "flow", "latest")
    assert detail["id"] == "job-1" and detail["output"]["first"] == {"attempt": 2}
    assert [s["name"] for s in detail["steps"]] == ["flaky", "nap", "finish"]
    text = cli(root, "workflows", "instances", "describe", "flow", "job-1")
    assert "Status:    complete" in text and "ValueError: attempt 1 failed" in text
    failed = cli(root, "workflows", "instances", "describe", "broken", made["id"])
    assert "RuntimeError: no way" in failed
    assert (
        cli_json(root, "workflows", "instances", "list", "flow", "--status", "complete")[0]["id"] == "job-1"
    )
    assert cli_json(root, "workflows", "instances", "list", "flow", "--status", "running") == []

    timeline = cli(root, "inspect", "data/workflows/flow/instances/job-1")
    for words in (
        "step 'flaky' attempt 1 failed after",
        "ValueError: attempt 1 failed; retry in",
        "step 'flaky' done after",
        "sleep 'nap' for 50 ms",
        "status complete",
    ):
        assert words in timeline, timeline
    inspected = cli_json(root, "inspect", "data/workflows/flow/instances/job-1")
    assert inspected["status"]["status"] == "complete" and len(inspected["steps"][0]["attempts"]) == 2


def test_pause_resume_and_events_from_the_cli_while_the_server_runs(tmp_path: Path) -> None:
    root = admin_deployment(tmp_path)
    with ServerProcess(root):
        cli(root, "workflows", "trigger", "flow", '{"wait": "go"}', "--id", "w1")
        wait_for(lambda: status(root, "w1") == "waiting", 10, what="w1 to wait")
        cli(root, "workflows", "instances", "pause", "flow", "w1")
        wait_for(lambda: status(root, "w1") == "paused", 10, what="w1 to pause")
        described = cli_json(root, "workflows", "instances", "describe", "flow", "w1")
        assert described["status"] == "paused"

        cli(
            root,
            "workflows",
            "instances",
            "send-event",
            "flow",
            "w1",
            "--type",
            "go",
            "--payload",
            '{"n": 7}',
        )
        inbox = cli(root, "inspect", "data/workflows/flow/instances/w1")
        assert "event 'go' (not delivered yet)" in inbox and "pause requested" in inbox
        cli(root, "workflows", "instances", "resume", "flow", "w1")
        wait_for(lambda: status(root, "w1") == "complete", 10, what="w1 to complete")
        assert cli_json(root, "workflows", "instances", "describe", "flow", "w1")["output"]["event"] == {
            "n": 7
        }

        cli(root, "workflows", "trigger", "flow", '{"wait": "go"}', "--id", "w2")
        wait_for(lambda: status(root, "w2") == "waiting", 10, what="w2 to wait")
        cli(root, "workflows", "instances", "terminate", "flow", "latest")
        wait_for(lambda: status(root, "w2") == "terminated", 10, what="w2 to terminate")
        cli(root, "workflows", "instances", "restart", "flow", "w2")
        wait_for(lambda: status(root, "w2") == "waiting", 10, what="w2 to run again")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A deployment with one queued instance, `taken`, and no server."""
    root = admin_deployment(tmp_path_factory.mktemp("cli"))
    cli(root, "workflows", "trigger", "flow", "--id", "taken")
    return root


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("workflows", "trigger", "nope"), "workflow 'nope' not found"),
        (("workflows", "trigger", "flow", "{oops"), "PARAMS_JSON is not valid JSON"),
        (("workflows", "trigger", "flow", "--id", "bad id"), "must match"),
        (("workflows", "trigger", "flow", "--id", "taken"), "already exists"),
        (("workflows", "describe", "../etc"), "must match"),
        (("workflows", "instances", "describe", "flow", "ghost"), "instance 'ghost' not found"),
        (("workflows", "instances", "describe", "broken", "latest"), "has no instances yet"),
        (("workflows", "instances", "resume", "flow", "taken"), "not paused"),
        (("workflows", "instances", "send-event", "flow", "taken", "--type", "bad type"), "event type"),
        (
            ("workflows", "instances", "send-event", "flow", "taken", "--type", "go", "--payload", "{"),
            "--payload",
        ),
        (("inspect", "data/nothing/here"), "no such instance folder"),
        (("inspect", "data"), "not an instance folder"),
        (("workflows", "list", "--config", "missing.yaml"), "missing.yaml: file not found"),
    ],
)
def test_user_errors_are_one_line_and_change_nothing(
    prepared: Path, args: tuple[str, ...], words: str
) -> None:
    root = prepared
    folder = root / "data/workflows/flow/instances"
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    assert words in user_error(run_cli(args, cwd=root))
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before


def test_data_flag_without_config(tmp_path: Path) -> None:
    root = admin_deployment(tmp_path)
    cli(root, "workflows", "trigger", "flow", "--id", "one")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    listed = cli_json(elsewhere, "workflows", "instances", "list", "flow", "--data", str(root / "data"))
    assert [i["id"] for i in listed] == ["one"]
    assert "workflow 'nope' not found" in user_error(
        run_cli(["workflows", "trigger", "nope", "--data", str(root / "data")], cwd=elsewhere)
    )
