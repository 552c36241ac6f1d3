"""The admin REST API through Cloudflare's official Python client, against a real served host."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudflare
import httpx
import pytest
from cloudflare import AsyncCloudflare, Cloudflare

from tests.e2e.admin_deployment import admin_deployment
from tests.helpers import ServerProcess, wait_for

ACCOUNT = "acct"
TOKENS = "first-token,second-token"
BASE = f"/client/v4/accounts/{ACCOUNT}/workflows"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = admin_deployment(tmp_path_factory.mktemp("admin"))
    with ServerProcess(root, env={"WAYPOST_API_TOKEN": TOKENS}) as proc:
        yield proc


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[Cloudflare]:
    with Cloudflare(api_token="second-token", base_url=f"{server.url}/client/v4", max_retries=0) as cf:
        yield cf


@pytest.fixture
def raw(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url + BASE, headers={"Authorization": "Bearer first-token"}) as http:
        yield http


def status_of(client: Cloudflare, instance_id: str, workflow: str = "flow") -> str:
    return client.workflows.instances.get(
        instance_id, account_id=ACCOUNT, workflow_name=workflow, simple="true"
    ).status


def wait_status(client: Cloudflare, instance_id: str, status: str, workflow: str = "flow") -> None:
    wait_for(
        lambda: status_of(client, instance_id, workflow) == status, 10, what=f"{instance_id} to be {status}"
    )


def disk_state(root: Path) -> dict[str, Any]:
    """Instance folders and inbox files: what a request that changes nothing must leave as it was."""
    found: dict[str, Any] = {}
    for folder in sorted((root / "data" / "workflows").glob("*/instances/*")):
        inbox = folder / "inbox"
        key = str(folder.relative_to(root))
        found[key] = sorted(p.name for p in inbox.glob("*")) if inbox.is_dir() else []
    return found


def test_list_and_get_workflows(client: Cloudflare) -> None:
    client.workflows.instances.create("flow", account_id=ACCOUNT, instance_id="counted", params={})  # type: ignore[arg-type]
    wait_status(client, "counted", "complete")
    listed = {w.name: w for w in client.workflows.list(account_id=ACCOUNT)}
    assert set(listed) == {"flow", "broken"}
    assert listed["flow"].class_name == "Flow" and listed["flow"].script_name == "jobs"
    assert listed["flow"].instances["complete"] >= 1
    got = client.workflows.get("flow", account_id=ACCOUNT)
    assert got.id == listed["flow"].id and got.triggered_on is not None
    assert [w.name for w in client.workflows.list(account_id=ACCOUNT, search="bro")] == ["broken"]

    versions = list(client.workflows.versions.list("flow", account_id=ACCOUNT))
    assert len(versions) == 1 and versions[0].language == "python" and versions[0].limits.steps == 50  # type: ignore[union-attr]
    version = client.workflows.versions.get(versions[0].id, account_id=ACCOUNT, workflow_name="flow")
    assert version.class_name == "Flow"
    assert (
        client.workflows.versions.graph(versions[0].id, account_id=ACCOUNT, workflow_name="flow").graph
        is None
    )


def test_instance_lifecycle_with_steps_and_event(client: Cloudflare) -> None:
    created = client.workflows.instances.create(
        "flow", account_id=ACCOUNT, instance_id="order-1", params={"fail": 1, "wait": "go"}
    )  # type: ignore[arg-type]
    assert created.id == "order-1" and created.status == "queued" and created.trigger_source == "api"
    wait_status(client, "order-1", "waiting")

    sent = client.workflows.instances.events.create(
        "go", account_id=ACCOUNT, workflow_name="flow", instance_id="order-1", body={"ok": True}
    )
    assert sent.instance_id == "order-1"
    wait_status(client, "order-1", "complete")

    got = client.workflows.instances.get("order-1", account_id=ACCOUNT, workflow_name="flow")
    assert got.params == {"fail": 1, "wait": "go"} and got.trigger.source == "api" and got.success is True
    assert got.output == {"first": {"attempt": 2}, "event": {"ok": True}, "second": "done"}  # type: ignore[comparison-overlap]
    assert got.queued <= got.start <= got.end  # type: ignore[operator]
    assert got.step_count == 4 and got.error is None
    assert [(s.type, s.name) for s in got.steps] == [  # type: ignore[union-attr]
        ("step", "flaky"),
        ("sleep", "nap"),
        ("waitForEvent", "approval"),
        ("step", "finish"),
    ]
    flaky = got.steps[0]
    assert [(a.success, a.error and a.error.message) for a in flaky.attempts] == [  # type: ignore[union-attr]
        (False, "attempt 1 failed"),
        (True, None),
    ]
    assert got.steps[1].finished and got.steps[2].event_type == "go"  # type: ignore[union-attr]

    desc = client.workflows.instances.get("order-1", account_id=ACCOUNT, workflow_name="flow", order="desc")
    assert [s.name for s in desc.steps] == ["finish", "approval", "nap", "flaky"]  # type: ignore[union-attr]
    simple = client.workflows.instances.get(
        "order-1", account_id=ACCOUNT, workflow_name="flow", simple="true"
    )
    assert simple.steps == [] and simple.step_count == 4

    step = client.workflows.instances.step(
        "order-1", account_id=ACCOUNT, workflow_name="flow", name="flaky", type="step"
    )
    assert step.status == "complete" and step.output == {"attempt": 2}
    first = client.workflows.instances.step(
        "order-1", account_id=ACCOUNT, workflow_name="flow", name="flaky", type="step", attempt=1
    )
    assert first.status == "errored" and first.error.name == "ValueError"  # type: ignore[union-attr]
    waited = client.workflows.instances.step(
        "order-1", account_id=ACCOUNT, workflow_name="flow", name="approval", type="waitForEvent"
    )
    assert waited.output == {"ok": True} and waited.event_type == "go"
    with pytest.raises(cloudflare.NotFoundError):
        client.workflows.instances.step(
            "order-1", account_id=ACCOUNT, workflow_name="flow", name="nope", type="step"
        )


def test_errored_instance_reports_its_error(client: Cloudflare) -> None:
    client.workflows.instances.create("broken", account_id=ACCOUNT, instance_id="b-1")
    wait_status(client, "b-1", "errored", "broken")
    got = client.workflows.instances.get("b-1", account_id=ACCOUNT, workflow_name="broken")
    assert got.error is not None and (got.error.name, got.error.message) == ("RuntimeError", "no way")
    assert got.success is False and got.steps[0].success is False  # type: ignore[union-attr]


def test_pause_resume_terminate_restart(client: Cloudflare) -> None:
    edit = client.workflows.instances.status.edit
    client.workflows.instances.create("flow", account_id=ACCOUNT, instance_id="ctl", params={"wait": "go"})  # type: ignore[arg-type]

    def at_its_event_wait() -> bool:  # past the short sleep before it, which is waiting too
        got = client.workflows.instances.get("ctl", account_id=ACCOUNT, workflow_name="flow")
        return got.status == "waiting" and any(s.type == "waitForEvent" for s in got.steps or [])  # type: ignore[union-attr]

    wait_for(at_its_event_wait, 10, what="ctl to wait for its event")
    assert edit("ctl", account_id=ACCOUNT, workflow_name="flow", status="pause").status == "paused"
    wait_status(client, "ctl", "paused")
    with pytest.raises(cloudflare.ConflictError, match="already paused"):
        edit("ctl", account_id=ACCOUNT, workflow_name="flow", status="pause")
    edit("ctl", account_id=ACCOUNT, workflow_name="flow", status="resume")
    wait_status(client, "ctl", "waiting")
    assert edit("ctl", account_id=ACCOUNT, workflow_name="flow", status="terminate").status == "terminated"
    wait_status(client, "ctl", "terminated")
    got = client.workflows.instances.get("ctl", account_id=ACCOUNT, workflow_name="flow")
    assert got.steps[-1].type == "termination"  # type: ignore[union-attr]
    with pytest.raises(cloudflare.ConflictError):
        edit("ctl", account_id=ACCOUNT, workflow_name="flow", status="resume")
    with pytest.raises(cloudflare.ConflictError):
        client.workflows.instances.events.create(
            "go", account_id=ACCOUNT, workflow_name="flow", instance_id="ctl", body={}
        )
    edit("ctl", account_id=ACCOUNT, workflow_name="flow", status="restart")
    wait_status(client, "ctl", "waiting")
    client.workflows.instances.events.create(
        "go", account_id=ACCOUNT, workflow_name="flow", instance_id="ctl", body=[1, 2]
    )
    wait_status(client, "ctl", "complete")


def test_batch_list_filter_and_paginate(client: Cloudflare) -> None:
    made = client.workflows.instances.bulk(
        "broken", account_id=ACCOUNT, body=[{"instance_id": f"p-{i}", "params": {"i": i}} for i in range(5)]
    )  # type: ignore[misc]
    assert [m.id for m in made] == [f"p-{i}" for i in range(5)]
    for i in range(5):
        wait_status(client, f"p-{i}", "errored", "broken")

    instances = client.workflows.instances
    every = [i.id for i in instances.list("broken", account_id=ACCOUNT, per_page=2)]  # auto-paginates
    assert set(every) >= {f"p-{i}" for i in range(5)} and len(every) == len(set(every))
    page2 = instances.list("broken", account_id=ACCOUNT, per_page=2, page=2)
    assert len(page2.result) == 2 and page2.result_info.page == 2  # type: ignore[union-attr]
    assert all(i.status == "errored" for i in instances.list("broken", account_id=ACCOUNT, status="errored"))
    assert list(instances.list("broken", account_id=ACCOUNT, status="running")) == []

    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = instances.list(
            "broken",
            account_id=ACCOUNT,
            per_page=2,
            direction="asc",
            **({"cursor": cursor} if cursor else {}),
        )  # type: ignore[arg-type]
        seen += [i.id for i in page.result]
        cursor = page.result_info.cursor  # type: ignore[union-attr]
        if not cursor:
            break
    assert seen == sorted(seen, key=every[::-1].index) and len(seen) == len(every)


def test_auth(server: ServerProcess) -> None:
    url = f"{server.url}/client/v4"
    with Cloudflare(api_token="wrong", base_url=url, max_retries=0) as wrong:
        with pytest.raises(cloudflare.PermissionDeniedError):
            wrong.workflows.list(account_id=ACCOUNT)
    answer = httpx.get(server.url + BASE)
    assert answer.status_code == 401 and answer.json()["success"] is False
    assert answer.json()["errors"][0]["code"] == 10010
    with Cloudflare(api_token="first-token", base_url=url, max_retries=0) as first:
        assert {w.name for w in first.workflows.list(account_id=ACCOUNT)} == {"flow", "broken"}


def test_not_found(client: Cloudflare, raw: httpx.Client) -> None:
    with pytest.raises(cloudflare.NotFoundError, match="workflow 'nope'"):
        client.workflows.get("nope", account_id=ACCOUNT)
    with pytest.raises(cloudflare.NotFoundError, match="instance 'ghost' not found"):
        client.workflows.instances.get("ghost", account_id=ACCOUNT, workflow_name="flow")
    with pytest.raises(cloudflare.NotFoundError, match="account 'other'"):
        client.workflows.list(account_id="other")
    for method, path in (
        ("GET", "/flow/instances/ghost/step?name=a&type=step"),
        ("GET", "/../../x"),
        ("PATCH", "/flow/instances/ghost/status"),
        ("POST", "/flow/instances/ghost/events/go"),
    ):
        answer = raw.request(method, path, json={"status": "pause"})
        assert answer.status_code == 404, (path, answer.text)
        assert answer.json()["success"] is False and answer.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "words"),
    [
        ("POST", "/flow/instances", b"{not json", 400, "not valid JSON"),
        ("POST", "/flow/instances", b"[1]", 400, "must be a JSON object"),
        ("POST", "/flow/instances", b'{"instance_id": 5}', 400, "must be a string"),
        ("POST", "/flow/instances", b'{"instance_id": "bad id!"}', 400, "must match"),
        ("POST", "/flow/instances", b'{"instance_id": "x", "colour": 1}', 400, "unknown key 'colour'"),
        ("POST", "/flow/instances", b'{"params": NaN}', 400, "not valid JSON"),
        ("POST", "/flow/instances", b'{"params": "' + b"x" * 5000 + b'"}', 413, "host.max_body"),
        ("POST", "/flow/instances", b'{"instance_id": "order-1"}', 409, "already exists"),
        ("POST", "/flow/instances/batch", b'{"instance_id": "a"}', 400, "JSON array"),
        (
            "POST",
            "/flow/instances/batch",
            b'[{"instance_id": "new-a"}, {"instance_id": "-bad"}]',
            400,
            "item 1",
        ),
        (
            "POST",
            "/flow/instances/batch",
            b'[{"instance_id": "new-b"}, {"instance_id": "order-1"}]',
            409,
            "order-1",
        ),
        ("POST", "/flow/instances/batch", b"[]", 400, "1 to 100"),
        ("PATCH", "/flow/instances/order-1/status", b'{"status": "explode"}', 400, "status must be one of"),
        ("PATCH", "/flow/instances/order-1/status", b'{"status": "pause"}', 409, "already complete"),
        ("PATCH", "/flow/instances/order-1/status", b"", 400, "status must be one of"),
        ("POST", "/flow/instances/order-1/events/bad%20type", b"{}", 400, "event type"),
        ("GET", "/flow/instances?per_page=0", b"", 400, "per_page"),
        ("GET", "/flow/instances?status=sleeping", b"", 400, "status must be one of"),
        ("GET", "/flow/instances?cursor=zzz", b"", 400, "cursor"),
        ("GET", "/flow/instances/bad%20id", b"", 400, "instance id"),
        ("GET", "/flow/instances/order-1/step?name=flaky", b"", 400, "type is required"),
        ("DELETE", "/flow", b"", 405, "config.yaml"),
        ("PUT", "/flow/instances", b"{}", 405, "not allowed"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    client: Cloudflare,
    server: ServerProcess,
    raw: httpx.Client,
    method: str,
    path: str,
    body: bytes,
    status: int,
    words: str,
) -> None:
    if status_of_or_none(client, "order-1") is None:  # the lifecycle test made it; run alone, make it here
        client.workflows.instances.create("flow", account_id=ACCOUNT, instance_id="order-1")
        wait_status(client, "order-1", "complete")
    before = disk_state(server.root)
    answer = raw.request(method, path, content=body, headers={"content-type": "application/json"})
    assert answer.status_code == status, answer.text
    envelope = answer.json()
    assert envelope["success"] is False and envelope["result"] is None
    assert isinstance(envelope["errors"][0]["code"], int) and words in envelope["errors"][0]["message"]
    assert disk_state(server.root) == before


def status_of_or_none(client: Cloudflare, instance_id: str) -> str | None:
    try:
        return status_of(client, instance_id)
    except cloudflare.NotFoundError:
        return None


@pytest.mark.anyio
async def test_async_client(server: ServerProcess) -> None:
    async with AsyncCloudflare(
        api_token="first-token", base_url=f"{server.url}/client/v4", max_retries=0
    ) as cf:
        made = await cf.workflows.instances.create("broken", account_id=ACCOUNT, params={"a": 1})  # type: ignore[arg-type]
        assert len(made.id) == 32  # generated
        got = await cf.workflows.instances.get(made.id, account_id=ACCOUNT, workflow_name="broken")
        assert got.params == {"a": 1}
        ids = [i.id async for i in cf.workflows.instances.list("broken", account_id=ACCOUNT)]
        assert made.id in ids
        names = [w.name async for w in cf.workflows.list(account_id=ACCOUNT)]
        assert sorted(names) == ["broken", "flow"]


def test_raw_envelope_shape(raw: httpx.Client) -> None:
    body = raw.get("/flow/instances", params={"per_page": 1}).json()
    assert set(body) == {"success", "errors", "messages", "result", "result_info"}
    assert set(body["result_info"]) >= {"page", "per_page", "count", "total_count", "cursor"}
    json.dumps(body)
