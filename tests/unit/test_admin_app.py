"""The admin API's Starlette application through TestClient, on a stand-in engine: routing, the gate
and how every failure becomes the envelope (404, 405 with Allow, 507, 500, nesting)."""

from __future__ import annotations

import errno
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from host.admin.auth import TokenAuth
from host.admin.body import MAX_DEPTH
from host.admin.routes import admin_mount
from host.config import Config, HostConfig
from host.errors import StorageFull, WorkflowNotFound

with warnings.catch_warnings():  # Starlette 1.x asks for httpx2 here; the test extra installs httpx
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient` is deprecated")
    from starlette.testclient import TestClient

ACCOUNT = "acct"
BASE = f"/client/v4/accounts/{ACCOUNT}/workflows"
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class StandInEngine:
    """The calls the admin handlers make, answering from `fail` (operation -> exception) or a canned value.

    Workflow "flow" exists but is not listed in `definitions`, so no answer reads the data directory.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.definitions: dict[str, Any] = {}
        self.known = {"flow"}
        self.fail: dict[str, BaseException] = {}
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def _call(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))
        if name in self.fail:
            raise self.fail[name]

    def require(self, workflow: str) -> Any:
        self._call("require", workflow)
        if workflow not in self.known:
            raise WorkflowNotFound(f"workflow {workflow!r} not found")

    async def create(self, workflow: str, instance_id: str, params: Any, trigger: str) -> dict[str, Any]:
        self._call("create", workflow, instance_id, params)
        return {"id": instance_id, "status": "queued", "created_on": 1.0}

    async def control(self, workflow: str, instance_id: str, action: str) -> None:
        self._call("control", workflow, instance_id, action)

    async def send_event(self, workflow: str, instance_id: str, event_type: str, payload: Any) -> None:
        self._call("send_event", workflow, instance_id, event_type, payload)

    def status(self, workflow: str, instance_id: str) -> dict[str, Any]:
        self._call("status", workflow, instance_id)
        return {"status": "waiting"}


class Setup:
    """An app with the admin mount before a catch-all worker route, and the knobs a test turns."""

    def __init__(self, tmp_path: Path, tokens: tuple[str, ...] = ()) -> None:
        self.engine = StandInEngine(tmp_path / "data")
        self.config = Config(path=None, root=tmp_path, host=HostConfig(data_dir=tmp_path, account_id=ACCOUNT))
        self.load_errors: dict[str, str] = {}
        mount = admin_mount(self.engine, lambda: self.config, lambda: self.load_errors, TokenAuth(tokens))
        self.app = Starlette(routes=[mount, Route("/{path:path}", worker, methods=list(METHODS))])
        self.client = TestClient(self.app, client=("127.0.0.1", 50000))


async def worker(request: Request) -> Response:
    return PlainTextResponse("worker", headers={"x-worker": "yes"})


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    made = Setup(tmp_path)
    with made.client:
        yield made


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert body["success"] is False and body["result"] is None and body["messages"] == []
    (error,) = body["errors"]
    assert isinstance(error["code"], int) and "\n" not in error["message"]
    return error  # type: ignore[no-any-return]


@pytest.mark.parametrize("method", [m for m in METHODS if m != "HEAD"])
@pytest.mark.parametrize(
    "path",
    [
        "/client/v4",
        "/client/v4/",
        "/client/v4/zones",
        "/client/v4/accounts/acct/workflows//",  # one trailing slash is the same path; two are not
        "/client/v4/accounts/acct/workflows/flow/instances/x/y/z",
    ],
)
def test_unknown_admin_paths_are_the_envelope_404_for_every_method(
    setup: Setup, method: str, path: str
) -> None:
    answer = setup.client.request(method, path)
    assert answer.status_code == 404, answer.text
    assert error_of(answer)["type"] == "route.not_found"
    assert "x-worker" not in answer.headers


def test_paths_beside_the_prefix_stay_with_the_workers(setup: Setup) -> None:
    for path in ("/client", "/client/v40", "/client/v4x/accounts", "/"):
        assert setup.client.get(path).headers.get("x-worker") == "yes", path


def test_wrong_method_is_405_with_every_allowed_method(setup: Setup) -> None:
    answer = setup.client.put(f"{BASE}/flow/instances")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, HEAD, POST"
    error = error_of(answer)
    assert error["type"] == "method.not_allowed" and "(allowed: GET, HEAD, POST)" in error["message"]
    assert setup.client.post(f"{BASE}/flow").headers["allow"] == "DELETE, GET, HEAD, PUT"
    assert setup.client.patch(f"{BASE}/flow/instances/a/events/go").headers["allow"] == "POST"
    assert setup.engine.calls == []


def test_workflows_are_read_only(setup: Setup) -> None:
    for method in ("PUT", "DELETE"):
        answer = setup.client.request(method, f"{BASE}/flow")
        assert answer.status_code == 405 and "config.yaml" in error_of(answer)["message"]
    assert error_of(setup.client.delete(f"{BASE}/nope"))["type"] == "workflow.not_found"


def test_the_token_is_checked_before_routing(tmp_path: Path) -> None:
    made = Setup(tmp_path, tokens=("secret",))
    for method, path in (("GET", "/client/v4/nope"), ("PUT", f"{BASE}/flow/instances"), ("GET", BASE)):
        answer = made.client.request(method, path)
        assert answer.status_code == 401 and error_of(answer)["type"] == "auth.missing"
        assert answer.headers["www-authenticate"] == 'Bearer realm="waypost"'
        assert "allow" not in answer.headers
    auth = {"Authorization": "Bearer secret"}
    assert made.client.get("/client/v4/nope", headers=auth).status_code == 404
    assert made.client.put(f"{BASE}/flow/instances", headers=auth).status_code == 405
    assert made.client.get(BASE, headers=auth).status_code == 200


def test_the_account_is_checked_before_the_method(setup: Setup) -> None:
    answer = setup.client.put("/client/v4/accounts/other/workflows/flow/instances")
    assert answer.status_code == 404 and error_of(answer)["type"] == "account.not_found"


def test_config_and_load_errors_are_read_at_each_request(setup: Setup) -> None:
    assert setup.client.get(BASE).json()["messages"] == []
    setup.load_errors = {"jobs": "functions/jobs.py:3: SyntaxError: invalid syntax"}
    body = setup.client.get(BASE).json()
    assert body["result"] == [] and body["messages"] == [
        {
            "code": 10050,
            "message": "worker 'jobs' failed to load: functions/jobs.py:3: SyntaxError: invalid syntax",
        }
    ]
    setup.config = Config(path=None, root=Path(), host=HostConfig(data_dir=Path(), account_id="renamed"))
    assert setup.client.get(BASE).status_code == 404
    assert setup.client.get("/client/v4/accounts/renamed/workflows").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        f"{BASE}%0A",
        f"{BASE}/flow%0A",
        f"{BASE}/fl%0Aow/instances",
        f"{BASE}/flow/instances/order-1%0A",
        f"{BASE}/flow/instances/order-1%0A/status",
        f"{BASE}/flow/instances/order-1/events/go%0A",
        f"{BASE}/flow/instances/order-1/events/g%0Ao",
        "/client/v4/%0A",
        "/client/v4/accounts/acct%0A/workflows",
        f"{BASE}/flow/instances/order-1%09",
        f"{BASE}/flow/instances/order-1%00",
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST", "PATCH"])
def test_control_characters_in_the_path_are_the_envelope_404(setup: Setup, path: str, method: str) -> None:
    answer = setup.client.request(method, path, json={"status": "pause"})
    assert answer.status_code == 404, answer.text
    error = error_of(answer)
    assert error["type"] == "route.not_found" and "\\" in error["message"]  # the path shown escaped
    assert [name for name, _ in setup.engine.calls if name != "require"] == []


def nested(depth: int, kind: str) -> str:
    if kind == "array":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


DEEP_TARGETS = [
    ("POST", f"{BASE}/flow/instances", '{"params": %s}'),
    ("POST", f"{BASE}/flow/instances/batch", '[{"params": %s}]'),
    ("PATCH", f"{BASE}/flow/instances/a/status", '{"status": %s}'),
    ("POST", f"{BASE}/flow/instances/a/events/go", "%s"),
]


@pytest.mark.parametrize(("method", "path", "template"), DEEP_TARGETS)
@pytest.mark.parametrize("kind", ["array", "object"])
def test_a_body_nested_too_deeply_is_400(
    setup: Setup, method: str, path: str, template: str, kind: str
) -> None:
    for depth in (10_000, MAX_DEPTH + 1):  # RecursionError in json.loads; just over the limit
        answer = setup.client.request(method, path, content=template % nested(depth, kind))
        assert answer.status_code == 400, answer.text
        assert "request body is nested too deeply" in error_of(answer)["message"]
    assert [name for name, _ in setup.engine.calls if name != "require"] == []


def test_a_body_at_the_nesting_limit_is_taken(setup: Setup) -> None:
    answer = setup.client.post(f"{BASE}/flow/instances/a/events/go", content=nested(MAX_DEPTH, "array"))
    assert answer.status_code == 200, answer.text
    assert setup.engine.calls[-1][0] == "send_event"


def test_recursion_past_the_body_check_is_still_400_for_a_body(setup: Setup) -> None:
    setup.engine.fail["send_event"] = RecursionError("maximum recursion depth exceeded")
    answer = setup.client.post(f"{BASE}/flow/instances/a/events/go", json={})
    assert answer.status_code == 400 and "nested too deeply" in error_of(answer)["message"]


def test_recursion_without_a_body_is_internal(setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    setup.engine.fail["require"] = RecursionError("maximum recursion depth exceeded")
    with caplog.at_level(logging.ERROR, "waypost.admin"):
        answer = setup.client.get(f"{BASE}/flow")
    assert answer.status_code == 500 and error_of(answer)["type"] == "internal"
    assert "RecursionError" in caplog.text


@pytest.mark.parametrize(
    ("operation", "method", "path", "body", "exc"),
    [
        (
            "send_event",
            "POST",
            "/flow/instances/a/events/go",
            {},
            StorageFull(errno.ENOSPC, "the data directory's disk is full: cannot write inbox/1.json"),
        ),
        ("create", "POST", "/flow/instances", {"instance_id": "a"}, OSError(errno.ENOSPC, "No space left")),
        ("control", "PATCH", "/flow/instances/a/status", {"status": "pause"}, OSError(errno.EDQUOT, "Quota")),
        ("create", "POST", "/flow/instances", {}, StorageFull("no room")),
    ],
)
def test_a_full_disk_is_507(
    setup: Setup, operation: str, method: str, path: str, body: Any, exc: Exception
) -> None:
    setup.engine.fail[operation] = exc
    answer = setup.client.request(method, BASE + path, json=body)
    assert answer.status_code == 507, answer.text
    error = error_of(answer)
    assert (error["type"], error["code"]) == ("storage.full", 10060)
    assert "the data directory's disk is full" in error["message"]


def test_any_other_exception_is_internal_and_logged_once(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    setup.engine.fail["send_event"] = RuntimeError("boom")
    with caplog.at_level(logging.ERROR):
        answer = setup.client.post(f"{BASE}/flow/instances/a/events/go", json={})  # TestClient would raise
    assert answer.status_code == 500
    error = error_of(answer)
    assert (error["type"], error["code"], error["message"]) == (
        "internal",
        10000,
        "internal error; see the host log",
    )
    failed = [r for r in caplog.records if r.exc_info]
    assert len(failed) == 1 and "RuntimeError: boom" in caplog.text and "events/go failed" in caplog.text
    setup.engine.fail["send_event"] = PermissionError(errno.EACCES, "Permission denied")
    assert error_of(setup.client.post(f"{BASE}/flow/instances/a/events/go", json={}))["type"] == "internal"


def test_waypost_and_value_errors_keep_their_answers(setup: Setup) -> None:
    answer = setup.client.get(f"{BASE}/nope/instances")
    assert answer.status_code == 404 and error_of(answer)["type"] == "workflow.not_found"
    answer = setup.client.get(f"{BASE}/bad%20name")
    assert answer.status_code == 400 and error_of(answer)["type"] == "request.invalid"


def test_head_answers_like_get(setup: Setup) -> None:
    answer = setup.client.head(BASE)
    assert answer.status_code == 200 and answer.content == b""
