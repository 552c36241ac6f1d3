"""Retention and delete (SPEC 3.11) through a real host: instances go when their retention says,
not before; delete removes final instances only; a kill -9 mid-removal leaves nothing half read."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cloudflare.types.workflows import VersionListResponse

from tests.fault_helpers import FINAL
from tests.helpers import ServerProcess, make_deployment, run_cli, wait_for

WORKER = '''
from workers import Response, WorkflowEntrypoint


class Flow(WorkflowEntrypoint):
    """params: {"wait": true} waits for a "go" event; {"fail": true} ends errored."""

    async def run(self, event, step):
        params = event.payload or {}
        if params.get("wait"):
            await step.wait_for_event("hold", "go", timeout="1 hour")
        if params.get("fail"):
            raise ValueError("failed on purpose")
        return await step.do("work", lambda: "done")


async def fetch(request, env):
    parts = request.url.path.strip("/").split("/")[1:]
    binding = env[parts[0]]
    body = await request.json() if await request.body() else {}
    try:
        if request.method == "POST" and len(parts) == 1:
            options = {key: body.get(key) for key in ("id", "params", "retention")}
            made = await binding.create(**options)
            return {"id": made.id}
        instance = await binding.get(parts[1])
        if request.method == "DELETE":
            await instance.delete()
            return {"deleted": instance.id}
        return await instance.status()
    except Exception as exc:
        return Response.json({"error": type(exc).__name__, "message": str(exc)}, status=400)
'''

CONFIG = """
host:
  data_dir: data
  hibernate_after: 0
  sweep_interval: 0.1 seconds
workers:
  - name: keep
    main: functions/keep.py
    routes: ["/keep", "/keep/*"]
    workflows:
      - {name: flow, binding: FLOW, class_name: Flow}
      - name: kept
        binding: KEPT
        class_name: Flow
        retention: {success_retention: 3 seconds, error_retention: 5 seconds}
"""

API = "/client/v4/accounts/local/workflows"


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = make_deployment(tmp_path_factory.mktemp("retention"), {"functions/keep.py": WORKER}, CONFIG)
    with ServerProcess(root, extra_args=("--no-reload",)) as server:
        yield server


def create(server: ServerProcess, binding: str = "FLOW", **body: Any) -> str:
    response = server.post(f"/keep/{binding}", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def status(server: ServerProcess, instance_id: str, binding: str = "FLOW") -> dict[str, Any]:
    return server.get(f"/keep/{binding}/{instance_id}").json()  # type: ignore[no-any-return]


def folder(server: ServerProcess, instance_id: str, workflow: str = "flow") -> Path:
    return server.root / "data" / "workflows" / workflow / "instances" / instance_id


def finished(server: ServerProcess, instance_id: str, *states: str, binding: str = "FLOW") -> dict[str, Any]:
    return wait_for(
        lambda: doc if (doc := status(server, instance_id, binding)).get("status") in states else None,
        10.0,
        what=f"{instance_id} to be {'/'.join(states)}",
    )


def status_json(server: ServerProcess, instance_id: str, workflow: str = "flow") -> dict[str, Any]:
    return json.loads((folder(server, instance_id, workflow) / "status.json").read_text())  # type: ignore[no-any-return]


def final_json(server: ServerProcess, instance_id: str, workflow: str = "flow") -> dict[str, Any]:
    """status.json once it is final: the API answers before the writer thread has written it."""
    return wait_for(
        lambda: d if (d := status_json(server, instance_id, workflow))["status"] in FINAL else None,
        10.0,
        what=f"{instance_id}'s status.json to be final",
    )


def expiry_of(server: ServerProcess, instance_id: str, workflow: str = "flow") -> float:
    """expires_at of a final instance's status.json (epoch seconds)."""
    text = wait_for(lambda: status_json(server, instance_id, workflow).get("expires_at"), 15.0, what="expiry")
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def expiry_or_removed(server: ServerProcess, instance_id: str) -> float:
    """expires_at of a final instance; now if it is removed already (a 1 s retention may end before
    the test looks, and only a final, expired instance is removed)."""

    def read() -> float | None:
        try:
            text = status_json(server, instance_id).get("expires_at")
        except FileNotFoundError:
            return None if folder(server, instance_id).exists() else time.time()
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else None

    return wait_for(read, 10.0, what=f"{instance_id} to expire")


def gone_everywhere(server: ServerProcess, instance_id: str, binding: str, workflow: str) -> None:
    assert not folder(server, instance_id, workflow).exists()
    assert status(server, instance_id, binding)["error"] == "InstanceNotFound"
    assert server.get(f"{API}/{workflow}/instances/{instance_id}").status_code == 404
    listed = server.get(f"{API}/{workflow}/instances", params={"per_page": 100}).json()["result"]
    assert instance_id not in {doc["id"] for doc in listed}


def test_an_instance_goes_when_its_retention_ends_and_not_before(host: ServerProcess) -> None:
    short = create(host, params={}, retention={"success_retention": "3 seconds"})
    in_ms = create(host, params={}, retention={"success_retention": 3500})  # a number is milliseconds
    forever = create(host, params={})
    for instance_id in (short, in_ms, forever):
        finished(host, instance_id, "complete")
    assert folder(host, short).is_dir()  # right after it completed
    expiry = expiry_of(host, short)
    doc = status_json(host, short)
    assert doc["retention"] == {"success_retention": 3.0}
    assert final_json(host, in_ms)["retention"] == {"success_retention": 3.5}
    assert "expires_at" not in final_json(host, forever)

    early: list[float] = []  # (wait_for takes an exception as "not yet": collect, assert after)

    def gone() -> bool:
        looked = time.time()
        exists = folder(host, short).is_dir()
        if not exists and looked < expiry:
            early.append(expiry - looked)
        return not exists

    wait_for(gone, 10.0, interval=0.01, what="the expired instance to be removed")
    assert early == [], f"removed {early[0]:.3f} s before its retention ended"
    gone_everywhere(host, short, "FLOW", "flow")
    wait_for(lambda: not folder(host, in_ms).exists(), 10.0, what="the 3500 ms instance to go")
    assert folder(host, forever).is_dir()
    assert status(host, forever)["status"] == "complete"  # no retention: kept


def test_the_workflow_default_applies_by_final_status(host: ServerProcess) -> None:
    ok = create(host, "KEPT", params={})
    failed = create(host, "KEPT", params={"fail": True})
    own = create(host, "KEPT", params={}, retention={"success_retention": "1 hour"})
    finished(host, ok, "complete", binding="KEPT")
    finished(host, failed, "errored", binding="KEPT")
    finished(host, own, "complete", binding="KEPT")
    assert final_json(host, ok, "kept")["retention"] == {"success_retention": 3.0, "error_retention": 5.0}
    assert expiry_of(host, failed, "kept") - expiry_of(host, ok, "kept") > 0.5  # 5 s against 3 s
    wait_for(lambda: not folder(host, ok, "kept").exists(), 10.0, what="the complete one to go")
    wait_for(lambda: not folder(host, failed, "kept").exists(), 10.0, what="the errored one to go")
    gone_everywhere(host, failed, "KEPT", "kept")
    assert folder(host, own, "kept").is_dir()  # its own retention, not the default


def _tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_delete_removes_a_final_instance_and_refuses_a_running_one(host: ServerProcess) -> None:
    waiting = create(host, params={"wait": True})
    finished(host, waiting, "waiting")
    # the API answers from the status the writer thread is still to write: wait for the file too
    wait_for(lambda: status_json(host, waiting)["status"] == "waiting", 10.0, what="status.json waiting")
    before = _tree(folder(host, waiting))
    refused = host.request("DELETE", f"/keep/FLOW/{waiting}").json()
    assert refused["error"] == "InvalidTransition" and "terminate it first" in refused["message"]
    admin = host.request("DELETE", f"{API}/flow/instances/{waiting}")
    assert admin.status_code == 409, admin.text
    assert "terminate it first" in admin.text
    assert _tree(folder(host, waiting)) == before  # nothing changed
    assert status(host, waiting)["status"] == "waiting"

    done = create(host, params={})
    finished(host, done, "complete")
    assert host.request("DELETE", f"/keep/FLOW/{done}").json() == {"deleted": done}
    gone_everywhere(host, done, "FLOW", "flow")
    missing = host.request("DELETE", f"/keep/FLOW/{done}").json()
    assert missing["error"] == "InstanceNotFound"


def test_bad_retention_is_an_error_naming_the_key_and_creates_nothing(host: ServerProcess) -> None:
    for retention, words in (
        ({"success_retention": "11 years"}, "10 years"),
        ({"error_retention": "soon"}, "error_retention"),
        ({"keep": "1 day"}, "keep"),
    ):
        response = host.post("/keep/FLOW", json={"id": "bad-one", "params": {}, "retention": retention})
        assert response.status_code == 400 and words in response.json()["message"], response.text
        assert not folder(host, "bad-one").exists()


# ---- kill -9 ----------------------------------------------------------------------------------------


def _serve(root: Path) -> ServerProcess:
    return ServerProcess(root, extra_args=("--no-reload",)).start()


def _whole_listing(server: ServerProcess, workflow: str) -> set[str]:
    """Every listed instance reads whole; no temporary folder shows as one."""
    listed = server.get(f"{API}/{workflow}/instances", params={"per_page": 100}).json()["result"]
    ids = {doc["id"] for doc in listed}
    assert not any(i.startswith(".") for i in ids), ids
    for instance_id in ids:
        doc = server.get(f"{API}/{workflow}/instances/{instance_id}")
        assert doc.status_code in (200, 404), doc.text  # 404: removed since the listing
    return ids


def test_a_removal_cut_short_is_finished_at_the_next_start(tmp_path: Path) -> None:
    root = make_deployment(tmp_path, {"functions/keep.py": WORKER}, CONFIG)
    server = _serve(root)
    try:
        ids = [create(server, params={}, retention={"success_retention": "1 hour"}) for _ in range(3)]
        for instance_id in ids:
            finished(server, instance_id, "complete")
    finally:
        server.kill()
    # what a kill -9 between the rename and the end of the rmtree leaves
    instances = root / "data" / "workflows" / "flow" / "instances"
    tomb = instances / f".deleting.{ids[0]}.4242.0badc0de"
    os.rename(instances / ids[0], tomb)
    (tomb / "journal.jsonl").unlink()
    server = _serve(root)
    try:
        assert _whole_listing(server, "flow") == set(ids[1:])
        assert server.get(f"{API}/flow/instances/{ids[0]}").status_code == 404
        wait_for(lambda: not tomb.exists(), 10.0, what="the half-removed folder to be finished")
        cli = run_cli(["workflows", "instances", "list", "flow", "--json"], cwd=root)
        assert cli.returncode == 0, cli.stderr
        assert {doc["id"] for doc in json.loads(cli.stdout)} == set(ids[1:])
    finally:
        server.stop()


def test_kill_during_a_retention_sweep_then_every_expired_instance_goes(tmp_path: Path) -> None:
    root = make_deployment(tmp_path, {"functions/keep.py": WORKER}, CONFIG)
    server = _serve(root)
    count = 40
    try:
        kept = create(server, params={})
        ids = [create(server, params={}, retention={"success_retention": "1 second"}) for _ in range(count)]
        first = min(expiry_or_removed(server, i) for i in ids)
        wait_for(lambda: time.time() >= first, 10.0, what="the first expiry")
        time.sleep(random.uniform(0.0, 0.3))  # the kill's random moment in the sweeps (not a wait)
    finally:
        server.kill()
    instances = root / "data" / "workflows" / "flow" / "instances"
    left = {name for name in os.listdir(instances)}
    server = _serve(root)
    try:
        listed = _whole_listing(server, "flow")
        assert kept in listed and listed <= {kept, *ids} and listed <= left
        wait_for(lambda: os.listdir(instances) == [kept], 10.0, what="every expired instance to go")
        assert status(server, kept)["status"] == "complete"
    finally:
        server.stop()


def test_the_cli_applies_the_workflow_default_and_deletes(host: ServerProcess) -> None:
    made = run_cli(["workflows", "trigger", "kept", "{}", "--id", "from-cli"], cwd=host.root)
    assert made.returncode == 0, made.stderr
    meta = json.loads((folder(host, "from-cli", "kept") / "instance.json").read_text())
    assert meta["retention"] == {"success_retention": 3.0, "error_retention": 5.0}
    wait_for(lambda: not folder(host, "from-cli", "kept").exists(), 10.0, what="the CLI's instance to go")

    done = create(host, params={})
    finished(host, done, "complete")
    deleted = run_cli(["workflows", "instances", "delete", "flow", done], cwd=host.root)
    assert deleted.returncode == 0, deleted.stderr
    gone_everywhere(host, done, "FLOW", "flow")


def test_two_hosts_on_one_data_directory_remove_each_expired_instance_once(tmp_path: Path) -> None:
    root = make_deployment(tmp_path, {"functions/keep.py": WORKER}, CONFIG)
    first, second = _serve(root), _serve(root)
    try:
        ids = [create(first, params={}, retention={"success_retention": "1 second"}) for _ in range(20)]
        ids += [create(second, params={}, retention={"success_retention": "1 second"}) for _ in range(20)]
        for instance_id in ids:  # complete, or already removed: a 1 s retention may end before we look
            wait_for(
                lambda i=instance_id: (
                    status(first, i).get("status") == "complete"
                    or status(first, i).get("error") == "InstanceNotFound"
                ),
                10.0,
                what=f"{instance_id} to be complete",
            )
        instances = root / "data" / "workflows" / "flow" / "instances"
        wait_for(lambda: os.listdir(instances) == [], 10.0, what="every expired instance to go")
        for server in (first, second):
            assert _whole_listing(server, "flow") == set()
    finally:
        first.stop()
        second.stop()
    for server in (first, second):
        assert "Traceback" not in server.log and "cannot remove" not in server.log, server.log


def test_the_version_shows_the_default_and_an_unused_workflow_keeps_its_dates(tmp_path: Path) -> None:
    root = make_deployment(tmp_path, {"functions/keep.py": WORKER}, CONFIG)
    with ServerProcess(root, extra_args=("--no-reload",)) as server:
        (version,) = server.get(f"{API}/kept/versions").json()["result"]
        parsed = VersionListResponse.model_validate(version)  # the official client's shape
        assert parsed.default_retention is not None
        assert (parsed.default_retention.success_retention, parsed.default_retention.error_retention) == (
            3000,
            5000,
        )
        (plain,) = server.get(f"{API}/flow/versions").json()["result"]
        assert "default_retention" not in plain
        first = server.get(f"{API}/kept").json()["result"]
        again = server.get(f"{API}/kept").json()["result"]
        assert first["instances"] == again["instances"] and sum(first["instances"].values()) == 0
        assert (first["created_on"], first["modified_on"]) == (again["created_on"], again["modified_on"])
        defined = (root / "functions/keep.py").stat().st_mtime
        shown = dt.datetime.fromisoformat(first["created_on"].replace("Z", "+00:00")).timestamp()
        assert abs(shown - defined) < 0.002  # the file's time, to the millisecond, not the request's
