"""/__waypost/metrics parsed with prometheus_client's own parser, its counters moving with real
traffic; `serve --log-format json` read line by line; the dashboard's auth without a browser."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.browser.dashboard_deployment import TOKEN, dashboard_deployment
from tests.helpers import ServerProcess, make_deployment, wait_for

BASE = "/client/v4/accounts/local/workflows"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = dashboard_deployment(tmp_path_factory.mktemp("metrics"))
    args = ("--no-reload", "--log-format", "json")
    with ServerProcess(root, args, env={"WAYPOST_API_TOKEN": TOKEN}) as proc:
        yield proc


def samples(server: ServerProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = server.get("/__waypost/metrics", headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def status_of(server: ServerProcess, instance_id: str) -> str:
    return str(server.get(f"{BASE}/steps/instances/{instance_id}", headers=AUTH).json()["result"]["status"])


def test_every_family_is_there_and_counters_move_with_traffic(server: ServerProcess) -> None:
    before = samples(server)
    text = server.get("/__waypost/metrics", headers=AUTH).text
    families = {family.name: family.type for family in text_string_to_metric_families(text)}
    assert families == {
        "waypost_http_requests": "counter",
        "waypost_http_request_duration_seconds": "histogram",
        "waypost_steps_started": "counter",
        "waypost_steps_completed": "counter",
        "waypost_steps_failed": "counter",
        "waypost_steps_retried": "counter",
        "waypost_step_duration_seconds": "histogram",
        "waypost_wake_lateness_seconds": "histogram",
        "waypost_journal_flush_duration_seconds": "histogram",
        "waypost_schedule_ticks_fired": "counter",
        "waypost_schedule_ticks_missed": "counter",
        "waypost_instances": "gauge",
        "waypost_loaded_instances": "gauge",
    }
    for _ in range(3):
        assert server.get("/jobs").status_code == 200
    assert server.get("/broken").status_code == 503
    created = server.post(f"{BASE}/steps/instances", json={"instance_id": "m-1"}, headers=AUTH)
    assert created.status_code == 201
    wait_for(lambda: status_of(server, "m-1") == "waiting", 10, what="m-1 waiting")
    sent = server.post(f"{BASE}/steps/instances/m-1/events/approval", json={}, headers=AUTH)
    assert sent.status_code == 200
    wait_for(lambda: status_of(server, "m-1") == "complete", 10, what="m-1 complete")
    after = samples(server)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("waypost_http_requests_total", worker="jobs", status="200") == 3
    assert moved("waypost_http_requests_total", worker="broken", status="503") == 1
    assert moved("waypost_http_request_duration_seconds_count", worker="jobs") == 3
    # first, flaky (twice: it fails once), last
    assert moved("waypost_steps_started_total", workflow="steps") == 4
    assert moved("waypost_steps_completed_total", workflow="steps") == 3
    assert moved("waypost_steps_retried_total", workflow="steps") == 1
    assert moved("waypost_steps_failed_total", workflow="steps") == 0
    assert moved("waypost_step_duration_seconds_count", workflow="steps") == 4
    assert moved("waypost_wake_lateness_seconds_count", workflow="steps") == 1  # the nap
    assert moved("waypost_journal_flush_duration_seconds_count") > 0
    assert moved("waypost_instances", workflow="steps", status="complete") == 1
    assert not any("m-1" in str(labels) for _, labels in after)  # never an instance id


def test_a_failed_step_and_a_loaded_instance_are_counted(server: ServerProcess) -> None:
    def status(workflow: str, instance_id: str) -> str:
        answer = server.get(f"{BASE}/{workflow}/instances/{instance_id}", headers=AUTH)
        return str(answer.json()["result"]["status"])

    before = samples(server)
    made = server.post(f"{BASE}/trip/instances", json={"instance_id": "m-trip"}, headers=AUTH)
    assert made.status_code == 201
    wait_for(
        lambda: status("trip", "m-trip") == "complete", 10, what="m-trip complete"
    )  # pay fails, rolled back
    assert (
        value(samples(server), "waypost_steps_failed_total", workflow="trip")
        - value(before, "waypost_steps_failed_total", workflow="trip")
        == 1
    )
    made = server.post(f"{BASE}/long/instances", json={"instance_id": "m-long"}, headers=AUTH)
    assert made.status_code == 201
    wait_for(lambda: status("long", "m-long") == "running", 10, what="m-long running")
    wait_for(
        lambda: value(samples(server), "waypost_loaded_instances") >= 1, 10, what="m-long counted as loaded"
    )
    stop = server.request(
        "PATCH", f"{BASE}/long/instances/m-long/status", json={"status": "terminate"}, headers=AUTH
    )
    assert stop.status_code == 200
    wait_for(lambda: status("long", "m-long") == "terminated", 10, what="m-long terminated")
    # nothing else of this host runs now (every other instance here ends or sleeps on disk)
    wait_for(lambda: value(samples(server), "waypost_loaded_instances") == 0, 10, what="no instance loaded")


def test_json_log_has_requests_status_changes_and_errors(server: ServerProcess) -> None:
    created = server.post(f"{BASE}/steps/instances", json={"instance_id": "log-1"}, headers=AUTH)
    assert created.status_code == 201
    wait_for(lambda: status_of(server, "log-1") == "waiting", 10, what="log-1 waiting")

    def lines() -> list[dict[str, Any]]:
        out = []
        for line in server.log.splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))  # every JSON line parses whole
        return out

    def jobs_requests() -> list[dict[str, Any]]:
        return [e for e in lines() if e.get("event") == "request" and e.get("path") == "/jobs"]

    earlier = len(jobs_requests())  # other tests on this server asked for /jobs too
    assert server.get("/jobs").status_code == 200
    wait_for(lambda: any(e.get("instance_id") == "log-1" and e.get("status") == "waiting" for e in lines()))
    # a request's line is written after its answer is sent
    wait_for(lambda: len(jobs_requests()) > earlier, what="this test's /jobs line")
    found = lines()
    statuses = [e["status"] for e in found if e["event"] == "instance_status" and e["instance_id"] == "log-1"]
    assert statuses[:3] == ["queued", "running", "waiting"], statuses  # from its creation on
    request = jobs_requests()[earlier]
    assert request["worker"] == "jobs" and request["status"] == 200 and request["method"] == "GET"
    assert isinstance(request["ms"], float)
    error = next(e for e in found if e["event"] == "error")
    assert "functions/broken.py:5" in error["message"]
    assert all({"time", "level", "logger", "event", "message"} <= set(e) for e in found)
    # no plain-text line, the banner included
    plain = [line for line in server.log.splitlines() if line and not line.startswith("{")]
    assert plain == [], plain
    banner = next(e for e in found if e["event"] == "serving")
    assert banner["message"] == f"serving on {server.url}" and banner["logger"] == "waypost"


def test_dashboard_requests_are_logged_but_its_live_polls_are_not(server: ServerProcess) -> None:
    page = "/__waypost/workflows/steps"

    def logged(path: str) -> list[dict[str, Any]]:
        found = [json.loads(line) for line in server.log.splitlines() if line.startswith("{")]
        return [e for e in found if e.get("event") == "request" and e.get("path") == path]

    earlier, earlier_missing = len(logged(page)), len(logged("/__waypost/nowhere-logged"))
    assert server.get(page, headers=AUTH).status_code == 200
    polled = server.get(page + "?fragment=1&marker=polled", headers={**AUTH, "x-waypost-poll": "1"})
    assert polled.status_code == 200
    assert server.get("/__waypost/nowhere-logged", headers=AUTH).status_code == 404

    missing = wait_for(
        lambda: logged("/__waypost/nowhere-logged")[earlier_missing:], 10, what="the 404 in the log"
    )
    assert missing[0]["worker"] == "(dashboard)" and missing[0]["status"] == 404
    shown = logged(page)[earlier:]
    assert shown and shown[0]["worker"] == "(dashboard)" and shown[0]["status"] == 200
    assert len(shown) == 1, shown  # the poll of the same page, sent before the 404, is not there


def test_metrics_need_the_token(server: ServerProcess) -> None:
    assert server.get("/__waypost/metrics").status_code == 401
    bad = server.get("/__waypost/metrics", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


def test_without_a_token_loopback_clients_need_no_login(tmp_path: Any) -> None:
    root = dashboard_deployment(tmp_path)
    with ServerProcess(root, ("--no-reload",)) as proc:
        page = proc.get("/__waypost/")
        assert page.status_code == 200 and "steps" in page.text
        cookie = page.cookies.get("waypost_session")
        assert cookie
        # the forms still need the CSRF token of the session
        answer = httpx.post(
            proc.url + "/__waypost/workflows/steps/trigger",
            data={"params": "{}"},
            cookies={"waypost_session": cookie},
        )
        assert answer.status_code == 403
        assert not (root / "data" / "workflows" / "steps" / "instances").exists() or not list(
            (root / "data" / "workflows" / "steps" / "instances").iterdir()
        )


def test_a_workflow_that_is_not_defined_is_a_clear_404(server: ServerProcess) -> None:
    page = server.get("/__waypost/workflows/nope", headers=AUTH)
    assert page.status_code == 404 and "nope" in page.text
    page = server.get("/__waypost/workflows/steps?status=bogus", headers=AUTH)
    assert page.status_code == 400 and "unknown status" in page.text


TICKED = """
from workers import WorkflowEntrypoint


class Ticked(WorkflowEntrypoint):
    async def run(self, event, step):
        return "tick"
"""


def test_schedule_ticks_are_counted_by_target(tmp_path: Any) -> None:
    config = """
workers:
  - name: clock
    main: functions/clock.py
    workflows:
      - {name: ticked, binding: TICKED, class_name: Ticked, schedules: ['*/2 * * * * *']}
"""
    root = make_deployment(tmp_path, {"functions/clock.py": TICKED}, config)
    with ServerProcess(root, ("--no-reload",)) as proc:

        def fired() -> float:
            found = samples(proc)
            return value(found, "waypost_schedule_ticks_fired_total", target="ticked")

        wait_for(lambda: fired() >= 2, 15, what="two schedule ticks counted")
        assert value(samples(proc), "waypost_schedule_ticks_missed_total", target="ticked") == 0


def test_json_log_has_reloads(tmp_path: Any) -> None:
    config = "workers:\n  - {name: hi, main: functions/hi.py, routes: ['/hi']}\n"
    root = make_deployment(
        tmp_path, {"functions/hi.py": "def fetch(request, env):\n    return 'v1'\n"}, config
    )
    with ServerProcess(root, ("--log-format", "json")) as proc:
        assert proc.get("/hi").text == "v1"
        (root / "functions" / "hi.py").write_text("def fetch(request, env):\n    return 'v2'\n")
        wait_for(lambda: proc.get("/hi").text == "v2", 10, what="the reload")
        (root / "config.yaml").write_text("workers: [not valid\n")

        def events() -> list[dict[str, Any]]:
            return [json.loads(line) for line in proc.log.splitlines() if line.startswith("{")]

        wait_for(lambda: any(e["event"] == "reload" and e["level"] == "error" for e in events()), 10)
        reloads = [e for e in events() if e["event"] == "reload"]
        assert reloads[0]["level"] == "info" and reloads[0]["message"].startswith("reloaded:")
        assert "reload skipped" in reloads[-1]["message"]
