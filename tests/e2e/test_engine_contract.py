"""What the rebuilt engine promises through real processes: status.json, the admin API, the
binding and the CLI give one answer at each status change; running workflows changes no setting
of the interpreter or the process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import locked_by_someone, run_cli, wait_for
from tests.workflow_helpers import FLOWS, Flows, flows_deployment, serve_flows

ADMIN = "/client/v4/accounts/local/workflows/script/instances"
BASELINE = """
import gc, json, resource, sys
print(json.dumps({"gc_enabled": gc.isenabled(), "gc_threshold": list(gc.get_threshold()),
                  "switch_interval": sys.getswitchinterval(),
                  "nofile": list(resource.getrlimit(resource.RLIMIT_NOFILE))}))
"""


def _answers(flows: Flows, root: Path, iid: str) -> dict[str, str]:
    """The instance's status from each of the four places a user can ask."""
    status_json = json.loads((flows.instance_dir(iid) / "status.json").read_text())["status"]
    api = flows.server.get(f"{ADMIN}/{iid}", params={"simple": "true"}).json()["result"]["status"]
    binding = flows.status(iid)["status"]
    cli = run_cli(["workflows", "instances", "describe", "script", iid, "--json"], cwd=root)
    assert cli.returncode == 0, cli.stderr
    return {
        "status.json": status_json,
        "api": api,
        "binding": binding,
        "cli": json.loads(cli.stdout)["status"],
    }


def test_status_json_the_api_the_binding_and_the_cli_agree_at_each_status(tmp_path: Path) -> None:
    # waits stay in memory (hibernate_after 30 s): status.json must follow memory, not a hibernation
    config = (FLOWS / "config.yaml").read_text().replace("hibernate_after: 0 ", "hibernate_after: 30 ")
    root, marks = flows_deployment(tmp_path, config)
    with serve_flows(root, marks) as server:
        flows = Flows(server, root, marks)
        iid = flows.create([["wait", "w", "go", "1 hour"], ["block", "b", "open"]])
        status_file = flows.instance_dir(iid) / "status.json"
        wait_for(
            lambda: json.loads(status_file.read_text())["status"] == "waiting", what="status.json waiting"
        )
        assert locked_by_someone(flows.instance_dir(iid) / "journal.jsonl")  # still in memory
        assert set(_answers(flows, root, iid).values()) == {"waiting"}
        assert flows.event(iid, "go", {"n": 1}).status_code == 200
        wait_for(
            lambda: json.loads(status_file.read_text())["status"] == "running", what="status.json running"
        )
        assert set(_answers(flows, root, iid).values()) == {"running"}
        flows.gate("open")
        wait_for(
            lambda: json.loads(status_file.read_text())["status"] == "complete", what="status.json complete"
        )
        assert set(_answers(flows, root, iid).values()) == {"complete"}
    journal = [e["status"] for e in flows.journal(iid) if e["type"] == "status"]
    assert journal == ["queued", "running", "waiting", "running", "complete"]


def test_running_workflows_changes_no_interpreter_or_process_setting(tmp_path: Path) -> None:
    root, marks = flows_deployment(tmp_path)
    # the same four readings, in a Python that never imported Waypost (flows.process_settings)
    fresh = subprocess.run([sys.executable, "-c", BASELINE], capture_output=True, text=True, check=True)
    with serve_flows(root, marks) as server:
        flows = Flows(server, root, marks)
        ids = [flows.create([["do", "a"], ["sleep", "s", 0.2], ["do", "b"]]) for _ in range(20)]
        for iid in ids:
            flows.wait_status(iid, "complete")
        settings = server.get("/wf/_process").json()
    assert settings == json.loads(fresh.stdout)


def test_a_wait_that_hibernates_never_shows_running_in_between(tmp_path: Path) -> None:
    # the event wait lingers in memory for hibernate_after, then unloads: waiting throughout
    config = (FLOWS / "config.yaml").read_text().replace("hibernate_after: 0 ", "hibernate_after: 0.3 ")
    root, marks = flows_deployment(tmp_path, config)
    with serve_flows(root, marks) as server:
        flows = Flows(server, root, marks)
        iid = flows.create([["wait", "w", "go", "1 hour"]])
        lock = flows.instance_dir(iid) / "journal.jsonl"
        wait_for(lambda: flows.status(iid)["status"] == "waiting", what="waiting")
        wait_for(lambda: not locked_by_someone(lock), what="the instance to hibernate")
        assert _answers(flows, root, iid)["api"] == "waiting"
    statuses = [e["status"] for e in flows.journal(iid) if e["type"] == "status"]
    assert statuses[statuses.index("waiting") :] == ["waiting", "waiting"]
