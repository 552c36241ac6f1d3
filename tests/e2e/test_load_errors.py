"""A worker that fails to load on reload keeps serving its last good version, and the admin API says so."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import ServerProcess, make_deployment, wait_for, write_files

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
        found = wait_for(lambda: messages(server), 5, what="the load error in the envelope")
        assert "jobs.py:12" in str(found[0]["message"]) and "worker 'jobs' failed to load" in str(
            found[0]["message"]
        )
        assert server.get("/jobs").text == "jobs v1"  # the last good version still serves
        write_files(root, {"functions/jobs.py": GOOD.replace("v1", "v2")})
        wait_for(lambda: server.get("/jobs").text == "jobs v2", 5)
        assert messages(server) == []
