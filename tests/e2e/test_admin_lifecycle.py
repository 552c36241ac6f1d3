"""The lifecycle fields of the admin API (issue 15) through Cloudflare's official client and plain HTTP,
against a real served host: accounts and memberships, trailing slashes, instance_retention, rollback
and restart `from`, rollingBack, delete one or a batch, terminate-all, sensitive outputs, the request
log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudflare
import httpx
import pytest
from cloudflare import Cloudflare

from tests.e2e.lifecycle_deployment import lifecycle_deployment
from tests.helpers import ServerProcess, wait_for

ACCOUNT = "acct"
TOKEN = "life-token"
BASE = f"/client/v4/accounts/{ACCOUNT}/workflows"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = lifecycle_deployment(tmp_path_factory.mktemp("lifecycle"))
    with ServerProcess(root, extra_args=("--no-reload",), env={"WAYPOST_API_TOKEN": TOKEN}) as proc:
        yield proc


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[Cloudflare]:
    with Cloudflare(api_token=TOKEN, base_url=f"{server.url}/client/v4", max_retries=0) as cf:
        yield cf


@pytest.fixture(scope="module")
def raw(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url + BASE, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        yield http


def get(client: Cloudflare, workflow: str, instance_id: str) -> Any:
    return client.workflows.instances.get(instance_id, account_id=ACCOUNT, workflow_name=workflow)


def wait_status(client: Cloudflare, workflow: str, instance_id: str, *statuses: str) -> Any:
    return wait_for(
        lambda: (doc := get(client, workflow, instance_id)).status in statuses and doc,
        15,
        what=f"{instance_id} to be {' or '.join(statuses)}",
    )


def wait_at_event_wait(client: Cloudflare, workflow: str, instance_id: str) -> Any:
    """Until the instance waits for its event: past the short sleep before it, which is waiting too."""
    return wait_for(
        lambda: (
            (doc := get(client, workflow, instance_id)).status == "waiting"
            and any(s.type == "waitForEvent" for s in doc.steps)
            and doc
        ),
        15,
        what=f"{instance_id} to wait for its event",
    )


def create(client: Cloudflare, workflow: str, instance_id: str, params: Any, **more: Any) -> None:
    client.workflows.instances.create(
        workflow, account_id=ACCOUNT, instance_id=instance_id, params=params, **more
    )


def folder(server: ServerProcess, workflow: str, instance_id: str) -> Path:
    return server.root / "data" / "workflows" / workflow / "instances" / instance_id


def test_accounts_and_memberships_answer_the_one_account(client: Cloudflare) -> None:
    accounts = list(client.accounts.list())
    assert [(a.id, a.type) for a in accounts] == [(ACCOUNT, "standard")]
    memberships = list(client.memberships.list())
    assert [m.account.id for m in memberships if m.account] == [ACCOUNT]
    assert memberships[0].status == "accepted"


def test_a_trailing_slash_is_the_same_path(raw: httpx.Client, client: Cloudflare) -> None:
    create(client, "flow", "slash", {})
    plain, slashed = raw.get("/flow/instances"), raw.get("/flow/instances/")
    assert plain.status_code == slashed.status_code == 200
    assert [i["id"] for i in plain.json()["result"]] == [i["id"] for i in slashed.json()["result"]]
    assert "slash" in [i["id"] for i in slashed.json()["result"]]
    assert raw.get("/flow/instances/slash/").json()["result"]["params"] == {}
    assert raw.get("/flow/instances//").status_code == 404  # one slash only


def test_create_keeps_instance_retention(client: Cloudflare, server: ServerProcess) -> None:
    create(
        client,
        "flow",
        "kept",
        {},
        instance_retention={"success_retention": "1 hour", "error_retention": 5000},
    )
    meta = json.loads((folder(server, "flow", "kept") / "instance.json").read_text())
    assert meta["retention"] == {"success_retention": 3600, "error_retention": 5}
    with pytest.raises(cloudflare.BadRequestError, match=r"instance_retention\.success_retention"):
        create(client, "flow", "bad-retention", {}, instance_retention={"success_retention": "1 parsec"})
    assert not folder(server, "flow", "bad-retention").exists()


def test_batch_create_keeps_each_items_retention(client: Cloudflare, server: ServerProcess) -> None:
    client.workflows.instances.bulk(
        "flow",
        account_id=ACCOUNT,
        body=[
            {"instance_id": "batch-kept", "instance_retention": {"success_retention": "2 days"}},
            {"instance_id": "batch-plain"},
        ],
    )
    kept = json.loads((folder(server, "flow", "batch-kept") / "instance.json").read_text())
    plain = json.loads((folder(server, "flow", "batch-plain") / "instance.json").read_text())
    assert kept["retention"] == {"success_retention": 172800}
    assert "retention" not in plain
    with pytest.raises(cloudflare.BadRequestError, match="item 1"):
        client.workflows.instances.bulk(
            "flow",
            account_id=ACCOUNT,
            body=[{"instance_id": "batch-ok"}, {"instance_id": "batch-bad", "instance_retention": {"x": 1}}],
        )
    assert not folder(server, "flow", "batch-ok").exists()  # all or nothing
    with pytest.raises(cloudflare.BadRequestError, match="'batch-twice' appears twice"):
        client.workflows.instances.bulk(
            "flow", account_id=ACCOUNT, body=[{"instance_id": "batch-twice"}, {"instance_id": "batch-twice"}]
        )
    assert not folder(server, "flow", "batch-twice").exists()


def test_terminate_with_rollback_is_rolling_back_then_terminated(client: Cloudflare, tmp_path: Path) -> None:
    counts, gate = tmp_path / "undo-runs", tmp_path / "gate"
    create(client, "saga", "saga-1", {"count": str(counts), "gate": str(gate)})
    wait_status(client, "saga", "saga-1", "waiting")
    changed = client.workflows.instances.status.edit(
        "saga-1", account_id=ACCOUNT, workflow_name="saga", status="terminate", rollback=True
    )
    assert changed.status == "terminated"
    wait_status(client, "saga", "saga-1", "rollingBack")  # the undo waits for the gate
    listed = client.workflows.instances.list("saga", account_id=ACCOUNT, status="rollingBack")
    assert [i.id for i in listed] == ["saga-1"]
    gate.write_text("open")
    ended = wait_status(client, "saga", "saga-1", "terminated")
    assert ended.rollback is not None and ended.rollback.outcome == "complete"
    assert [s.type for s in ended.steps if getattr(s, "name", None) == "reserve"] == ["step", "rollback"]
    assert counts.read_text() == "undo 7\n"  # once
    undo = client.workflows.instances.step(
        "saga-1",
        account_id=ACCOUNT,
        workflow_name="saga",
        name="reserve",
        type="rollback",  # type: ignore[arg-type]
    )
    assert undo.status == "complete"


def test_rollback_goes_only_with_terminate(client: Cloudflare) -> None:
    create(client, "flow", "no-rollback", {"wait": "never"})
    wait_at_event_wait(client, "flow", "no-rollback")
    with pytest.raises(cloudflare.BadRequestError, match="rollback goes with status terminate"):
        client.patch(
            f"/accounts/{ACCOUNT}/workflows/flow/instances/no-rollback/status",
            body={"status": "pause", "rollback": True},
            cast_to=object,
            options={"headers": {"content-type": "application/json"}},
        )
    assert get(client, "flow", "no-rollback").status == "waiting"


def test_restart_from_a_step_and_an_unknown_step(client: Cloudflare) -> None:
    create(client, "flow", "from-1", {})
    first = wait_status(client, "flow", "from-1", "complete")
    starts = {s.name: s.start for s in first.steps if hasattr(s, "start")}
    with pytest.raises(cloudflare.BadRequestError, match="nowhere"):
        client.workflows.instances.status.edit(
            "from-1", account_id=ACCOUNT, workflow_name="flow", status="restart", from_={"name": "nowhere"}
        )
    assert get(client, "flow", "from-1").status == "complete"  # nothing changed
    client.workflows.instances.status.edit(
        "from-1",
        account_id=ACCOUNT,
        workflow_name="flow",
        status="restart",
        from_={"name": "nap", "type": "sleep", "count": 1},
    )

    def rerun() -> Any:
        doc = get(client, "flow", "from-1")
        now = {s.name: s.start for s in doc.steps if hasattr(s, "start")}
        return doc.status == "complete" and now.get("nap") != starts["nap"] and now

    now = wait_for(rerun, 15, what="from-1 to run again from nap")
    assert now["flaky"] == starts["flaky"]  # before the cut: kept
    assert now["finish"] != starts["finish"]  # after it: run again


def test_delete_one_instance(raw: httpx.Client, client: Cloudflare, server: ServerProcess) -> None:
    create(client, "flow", "del-1", {})
    create(client, "flow", "del-busy", {"wait": "never"})
    wait_status(client, "flow", "del-1", "complete")
    wait_at_event_wait(client, "flow", "del-busy")
    answer = raw.delete("/flow/instances/del-1")
    assert answer.status_code == 200 and answer.json()["result"] == {"id": "del-1"}
    assert not folder(server, "flow", "del-1").exists()
    with pytest.raises(cloudflare.NotFoundError):
        get(client, "flow", "del-1")
    busy = raw.delete("/flow/instances/del-busy")
    assert busy.status_code == 409 and "terminate it first" in busy.json()["errors"][0]["message"]
    assert raw.delete("/flow/instances/del-1").status_code == 404
    assert folder(server, "flow", "del-busy").is_dir()


def test_batch_delete_answers_deleted_and_errors(raw: httpx.Client, client: Cloudflare) -> None:
    for iid in ("bd-1", "bd-2"):
        create(client, "flow", iid, {})
    create(client, "flow", "bd-busy", {"wait": "never"})
    for iid in ("bd-1", "bd-2"):
        wait_status(client, "flow", iid, "complete")
    wait_at_event_wait(client, "flow", "bd-busy")
    answer = raw.post(
        "/flow/instances/batch/delete", json={"instances": ["bd-1", "bd-2", "bd-busy", "bd-ghost", "bad id!"]}
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()["result"]
    assert result["deleted"] == [{"id": "bd-1"}, {"id": "bd-2"}]
    errors = {e["id"]: e["message"] for e in result["errors"]}
    assert set(errors) == {"bd-busy", "bd-ghost", "bad id!"}
    assert "terminate it first" in errors["bd-busy"] and "not found" in errors["bd-ghost"]
    types = {e["id"]: (e["code"], e["type"]) for e in result["errors"]}
    assert types["bd-busy"] == (10031, "instance.invalid_state")
    assert types["bd-ghost"] == (10023, "instance.not_found")
    assert types["bad id!"] == (10001, "request.invalid")
    assert get(client, "flow", "bd-busy").status == "waiting"
    too_many = raw.post("/flow/instances/batch/delete", json={"instances": [f"x{i}" for i in range(101)]})
    assert too_many.status_code == 400
    assert raw.post("/flow/instances/batch/delete", json={"instances": "bd-1"}).status_code == 400


def test_terminate_all_by_status(raw: httpx.Client, client: Cloudflare) -> None:
    for iid in ("ta-1", "ta-2"):
        create(client, "broken", iid, {})  # errored at once: final, left alone
        wait_status(client, "broken", iid, "errored")
    create(client, "saga", "ta-waiting", {"count": "/dev/null"})
    wait_status(client, "saga", "ta-waiting", "waiting")
    bad = raw.put("/saga/instances/terminate", params={"status": "complete"})
    assert bad.status_code == 400
    answer = raw.put("/saga/instances/terminate", params={"status": "waiting"})
    assert answer.status_code == 200 and answer.json()["result"]["status"] == "ok"
    wait_status(client, "saga", "ta-waiting", "terminated")
    everything = raw.put("/broken/instances/terminate")
    assert everything.status_code == 200 and everything.json()["result"]["count"] == 0


def test_a_sensitive_output_is_redacted_but_journaled(
    raw: httpx.Client, client: Cloudflare, server: ServerProcess
) -> None:
    create(client, "secret", "sec-1", {})
    done = wait_status(client, "secret", "sec-1", "complete")
    outputs = {s.name: s.output for s in done.steps if hasattr(s, "output")}
    assert outputs == {"token": "[REDACTED]", "plain": "visible-value"}
    token = next(s for s in done.steps if getattr(s, "name", None) == "token")
    assert token.config.sensitive == "output"
    step = raw.get("/secret/instances/sec-1/step", params={"name": "token", "type": "step"})
    assert step.json()["result"]["output"] == "[REDACTED]"
    journal = (folder(server, "secret", "sec-1") / "journal.jsonl").read_text()
    assert "s3cr3t-value" in journal  # replay needs it
    page = httpx.get(
        f"{server.url}/__waypost/workflows/secret/instances/sec-1",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert page.status_code == 200 and "visible-value" in page.text
    assert "[REDACTED]" in page.text and "s3cr3t-value" not in page.text  # the dashboard
    assert "s3cr3t-value" not in server.log


def test_every_admin_request_is_in_the_request_log(server: ServerProcess) -> None:
    httpx.get(f"{server.url}{BASE}/flow/instances/logged-ghost", headers={"Authorization": f"Bearer {TOKEN}"})
    httpx.get(f"{server.url}{BASE}", headers={"Authorization": "Bearer wrong"})
    server.wait_for_log(f"GET {BASE}/flow/instances/logged-ghost worker=(admin) status=404")
    server.wait_for_log(f"GET {BASE} worker=(admin) status=403")
