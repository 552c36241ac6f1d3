"""Editing a workflow's code while instances sleep: they continue on the new code at their next replay,
and a change that contradicts their journal is reported, never papered over."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import ServerProcess, make_deployment, wait_for, write_files

CONFIG = """\
host: {data_dir: data, hibernate_after: 0}
workers:
  - name: flip
    main: functions/flip.py
    routes: ["/flip", "/flip/*"]
    workflows: [{name: flip, binding: FLIP, class_name: Flip}]
"""

VERSION = """\
from workers import WorkflowEntrypoint


class Flip(WorkflowEntrypoint):
    async def run(self, event, step):
        try:
            if event.payload["kind"] == "sleep-first":
                await step.sleep("a", 4.0)
            else:
                await step.do("a", lambda: "did a")
        except Exception:
            return "swallowed"  # a broad except must not hide a replay mismatch
        {rest}


async def fetch(request, env):
    kind = request.query_params["kind"]
    instance = await env.FLIP.create(id=kind, params={{"kind": kind}})
    return {{"id": instance.id}}
"""


def status(server: ServerProcess, instance_id: str) -> dict[str, object]:
    path = server.root / "data" / "workflows" / "flip" / "instances" / instance_id / "status.json"
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def test_sleeping_instances_replay_on_the_new_code(tmp_path: Path) -> None:
    files = {"functions/flip.py": VERSION.format(rest='return "v1"')}
    root = make_deployment(tmp_path, files, CONFIG)
    with ServerProcess(root) as server:
        assert server.get("/flip?kind=sleep-first").status_code == 200
        wait_for(lambda: status(server, "sleep-first")["status"] == "waiting")
        # v2: a new step after the sleep, and a different output
        write_files(
            root, {"functions/flip.py": VERSION.format(rest='return await step.do("b", lambda: "v2")')}
        )
        server.wait_for_log("reloaded")
        done = wait_for(lambda: (s := status(server, "sleep-first"))["status"] == "complete" and s, 15)
        assert done["output"] == "v2"


def test_a_change_that_contradicts_the_journal_errors_the_instance(tmp_path: Path) -> None:
    files = {"functions/flip.py": VERSION.format(rest='await step.sleep("nap", 4.0)')}
    root = make_deployment(tmp_path, files, CONFIG)
    with ServerProcess(root) as server:
        assert server.get("/flip?kind=do-first").status_code == 200
        wait_for(lambda: status(server, "do-first")["status"] == "waiting")
        # the journal says step "a" was a step.do; the new code makes it a sleep
        write_files(
            root,
            {
                "functions/flip.py": VERSION.format(rest='return "v2"').replace(
                    'if event.payload["kind"] == "sleep-first"', "if True"
                )
            },
        )
        server.wait_for_log("reloaded")
        errored = wait_for(lambda: (s := status(server, "do-first"))["status"] == "errored" and s, 15)
        assert errored["error"]["name"] == "NondeterminismError"  # type: ignore[index]
        assert "was a do step" in errored["error"]["message"]  # type: ignore[index]
