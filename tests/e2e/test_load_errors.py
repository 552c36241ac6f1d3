"""A worker that fails to load keeps serving its last good version (or, failing at start-up, answers 503),
and the admin API says so."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import ServerProcess, make_deployment, wait_for, write_files

WORKFLOW = "jobs"
CONFIG = """\
workers:
  - name: jobs
    main: functions/jobs.py
    routes: ["/jobs"]
    workflows: [{name: jobs, binding: JOBS, class_name: Jobs}]
"""

GOOD = """\
from workers import WorkflowEntrypoint


class Jobs(WorkflowEntrypoint):
    async def run(self, event, step):
        return await step.do("one", lambda: 1)


async def fetch(request, env):
    return "jobs v1"
"""


def messages(server: ServerProcess) -> list[dict[str, object]]:
    response = server.get("/client/v4/accounts/local/workflows")
    assert response.status_code == 200 and response.json()["success"] is True
    return response.json()["messages"]  # type: ignore[no-any-return]


def test_a_broken_reload_shows_in_the_admin_api_until_fixed(tmp_path: Path) -> None:
    root = make_deployment(tmp_path, {"functions/jobs.py": GOOD}, CONFIG)
    with ServerProcess(root) as server:
        assert messages(server) == []
        write_files(root, {"functions/jobs.py": GOOD + "\ndef broken(:\n"})
        found = wait_for(lambda: messages(server), 15, what="the load error in the envelope")
        assert "jobs.py:12" in str(found[0]["message"]) and "worker 'jobs' failed to load" in str(
            found[0]["message"]
        )
        assert server.get("/jobs").text == "jobs v1"  # the last good version still serves
        write_files(root, {"functions/jobs.py": GOOD.replace("v1", "v2")})
        wait_for(lambda: server.get("/jobs").text == "jobs v2", 15)
        assert messages(server) == []


WAITER = """\
from workers import Response, WorkflowEntrypoint


class Jobs(WorkflowEntrypoint):
    async def run(self, event, step):
        got = await step.wait_for_event("go", "go", timeout="1 hour")
        return {"went": got["payload"]}


async def fetch(request, env):
    action = request.url.path.rsplit("/", 1)[-1]
    if action == "create":
        return {"id": (await env.JOBS.create(id="job-1")).id}
    instance = await env.JOBS.get("job-1")
    if action == "go":
        await instance.send_event(type="go", payload="now")
    return await instance.status()
"""


def test_a_worker_broken_at_start_up_serves_503_and_keeps_its_instances(tmp_path: Path) -> None:
    config = CONFIG.replace('routes: ["/jobs"]', 'routes: ["/jobs/*"]')
    root = make_deployment(tmp_path, {"functions/jobs.py": WAITER}, config)
    with ServerProcess(root) as server:
        assert server.post("/jobs/create").json() == {"id": "job-1"}
        wait_for(lambda: server.get("/jobs/status").json()["status"] == "waiting", 15)
    write_files(root, {"functions/jobs.py": WAITER + "\nraise RuntimeError('half-saved edit')\n"})
    with ServerProcess(root) as server:  # the restart that used to fail
        r = server.get("/jobs/status")
        assert r.status_code == 503 and r.headers["x-waypost-error-id"] in r.text
        server.wait_for_log(f"error {r.headers['x-waypost-error-id']}: functions/jobs.py:19: RuntimeError")
        # the workflow is known while its class cannot load: listed, and its instance readable
        base = "/client/v4/accounts/local/workflows"
        listed = server.get(base).json()
        assert [w["name"] for w in listed["result"]] == [WORKFLOW] and listed["messages"]
        kept = server.get(f"{base}/{WORKFLOW}/instances/job-1")
        assert kept.status_code == 200 and kept.json()["result"]["status"] == "waiting"
        write_files(root, {"functions/jobs.py": WAITER})
        # the instance waited out the broken start-up untouched, and goes on on the fixed code
        wait_for(lambda: server.get("/jobs/status").json()["status"] == "waiting", 15)
        assert messages(server) == []
        server.post("/jobs/go")
        wait_for(lambda: server.get("/jobs/status").json()["status"] == "complete", 15)
        assert server.get("/jobs/status").json()["output"] == {"went": "now"}
