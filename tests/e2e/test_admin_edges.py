"""The admin API's bad-input edges against a real served host: bodies nested 10,000 deep, control
characters in paths and ids, and a WAYPOST_API_TOKEN that holds no token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.admin_deployment import WORKER
from tests.helpers import ServerProcess, free_port, make_deployment, run_cli, wait_for

TOKEN = "edge-token"
BASE = "/client/v4/accounts/local/workflows"
# admin_deployment's worker, with the default host.max_body (2 MiB): deep bodies are not small
CONFIG = """
host:
  data_dir: data
  hibernate_after: 0
workers:
  - name: jobs
    main: functions/jobs.py
    routes: ["/jobs"]
    workflows:
      - {name: flow, binding: FLOW, class_name: Flow}
"""
DEPTH = 10_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = make_deployment(tmp_path_factory.mktemp("edges"), {"functions/jobs.py": WORKER}, CONFIG)
    with ServerProcess(root, env={"WAYPOST_API_TOKEN": TOKEN}) as proc:
        yield proc


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=server.url + BASE, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    ) as http:
        created = http.post("/flow/instances", json={"instance_id": "edge-1", "params": {"wait": "go"}})
        assert created.status_code == 201, created.text

        def at_its_event_wait() -> bool:  # past the short sleep before it, which is waiting too
            result = http.get("/flow/instances/edge-1").json()["result"]
            return result["status"] == "waiting" and any(s["type"] == "waitForEvent" for s in result["steps"])

        wait_for(at_its_event_wait, 10)
        yield http


def disk_state(root: Path) -> dict[str, Any]:
    """Instance folders and their files: what a refused request must leave as it was."""
    found: dict[str, Any] = {}
    for folder in sorted((root / "data" / "workflows").glob("*/instances/*")):
        found[str(folder.relative_to(root))] = sorted(
            str(p.relative_to(folder)) for p in folder.rglob("*") if "inbox" in p.parts
        )
    return found


def envelope_error(answer: httpx.Response) -> dict[str, Any]:
    assert answer.headers["content-type"] == "application/json", answer.text
    body = answer.json()
    assert body["success"] is False and body["result"] is None
    (error,) = body["errors"]
    assert isinstance(error["code"], int) and "\n" not in error["message"]
    return error  # type: ignore[no-any-return]


DEEP_BODIES = {
    "arrays": "[" * DEPTH + "]" * DEPTH,
    "objects": '{"a":' * DEPTH + "null" + "}" * DEPTH,
    "braces": "{" * DEPTH + "}" * DEPTH,  # not JSON at all: "not valid JSON", also a 400
}
DEEP_TARGETS = {
    "create": ("POST", "/flow/instances", '{"instance_id": "deep", "params": %s}'),
    "create-body": ("POST", "/flow/instances", "%s"),
    "batch": ("POST", "/flow/instances/batch", '[{"instance_id": "deep", "params": %s}]'),
    "batch-body": ("POST", "/flow/instances/batch", "%s"),
    "status": ("PATCH", "/flow/instances/edge-1/status", "%s"),
    "status-field": ("PATCH", "/flow/instances/edge-1/status", '{"status": %s}'),
    "event": ("POST", "/flow/instances/edge-1/events/go", "%s"),
}


@pytest.mark.parametrize("target", list(DEEP_TARGETS))
@pytest.mark.parametrize("body", list(DEEP_BODIES))
def test_a_body_nested_10000_deep_is_400(
    server: ServerProcess, api: httpx.Client, target: str, body: str
) -> None:
    method, path, template = DEEP_TARGETS[target]
    before = disk_state(server.root)
    answer = api.request(method, path, content=template % DEEP_BODIES[body])
    assert answer.status_code == 400, answer.text
    words = "not valid JSON" if body == "braces" else "request body is nested too deeply"
    assert words in envelope_error(answer)["message"]
    assert disk_state(server.root) == before
    assert api.get("/flow/instances/edge-1").json()["result"]["status"] == "waiting"


NEWLINE_PATHS = [
    ("GET", "%0A"),
    ("GET", "/flow%0A"),
    ("GET", "/fl%0Aow"),
    ("GET", "/flow%0A/instances"),
    ("POST", "/flow%0A/instances"),
    ("GET", "/flow/instances/edge-1%0A"),
    ("GET", "/flow/instances/edge%0A-1"),
    ("GET", "/flow/instances/edge-1%0A/step?name=flaky&type=step"),
    ("PATCH", "/flow/instances/edge-1%0A/status"),
    ("POST", "/flow/instances/edge-1/events/go%0A"),
    ("POST", "/flow/instances/edge-1/events/g%0Ao"),
    ("POST", "/flow/instances/edge-1%0A/events/go"),
    ("PUT", "/flow/instances%0A"),
    ("GET", "/flow/instances/edge-1%0D%0A"),
]


@pytest.mark.parametrize(("method", "path"), NEWLINE_PATHS)
def test_a_newline_in_the_path_is_the_envelope_never_plain_text(
    server: ServerProcess, api: httpx.Client, method: str, path: str
) -> None:
    before = disk_state(server.root)
    answer = api.request(method, path, json={"status": "pause"})
    assert answer.status_code in (400, 404), answer.text
    envelope_error(answer)
    assert disk_state(server.root) == before


def test_a_newline_under_client_v4_outside_the_workflows_is_the_envelope(server: ServerProcess) -> None:
    for path in ("/client/v4/%0A", "/client/v4/acc%0Aounts", "/client/v4/accounts/local%0A/workflows"):
        answer = httpx.get(server.url + path, headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 404, (path, answer.text)
        assert envelope_error(answer)["type"] == "route.not_found"
    answer = httpx.get(server.url + "/client/v4/%0A")  # no token: refused before anything else
    assert answer.status_code == 401 and envelope_error(answer)["type"] == "auth.missing"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/flow/instances", {"instance_id": "nl-1\n"}),
        ("/flow/instances/batch", [{"instance_id": "nl-2\n"}]),
    ],
)
def test_an_id_with_a_trailing_newline_in_a_body_is_400(
    server: ServerProcess, api: httpx.Client, path: str, body: Any
) -> None:
    """Needs host/workflows/ids.py to match ids in full (re.match with `$` takes a trailing newline)."""
    before = disk_state(server.root)
    answer = api.post(path, content=json.dumps(body))
    assert answer.status_code == 400, answer.text
    assert "instance id" in envelope_error(answer)["message"]
    assert disk_state(server.root) == before


@pytest.mark.parametrize("token", [" , ,, ", ",", "   "])
def test_a_token_variable_without_a_token_refuses_to_start(tmp_path: Path, token: str) -> None:
    root = make_deployment(tmp_path, {"functions/a.py": "async def fetch(request, env):\n    return 'a'\n"})
    result = run_cli(
        ["serve", "--no-reload", "--listen", f"127.0.0.1:{free_port()}"],
        cwd=root,
        env={"WAYPOST_API_TOKEN": token},
        timeout=20,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"waypost: error: environment: WAYPOST_API_TOKEN: holds no token ({token!r}); set it to one "
        "or more comma-separated tokens, or unset it to answer loopback clients only"
    )
    assert "Traceback" not in result.stderr + result.stdout
