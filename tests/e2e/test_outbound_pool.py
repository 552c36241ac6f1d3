"""workers.fetch from everywhere a host runs user code: a handler, a workflow step, wait_until work
and a handler called outside any host. The host owns the connection pool and closes it at exit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import ServerProcess, make_deployment, wait_for

CONFIG = """
workers:
  - name: out
    main: functions/out.py
    routes: ["/out", "/out/*"]
    vars: {MARKS: "MARKS_DIR"}
    workflows:
      - {name: fetching, binding: FLOW, class_name: Fetching}
"""

WORKER = """
from pathlib import Path
from workers import Response, WorkflowEntrypoint, fetch


class Fetching(WorkflowEntrypoint):
    async def run(self, event, step):
        async def ping():
            reply = await fetch(event.payload["url"] + "/out/echo?from=step")
            return await reply.text()
        return await step.do("ping", ping)


async def later(env, url):
    reply = await fetch(url + "/out/echo?from=wait_until")
    Path(env.MARKS, "wait_until.txt").write_text(await reply.text())


async def on_fetch(request, env, ctx):  # (`fetch` is the imported outbound fetch here)
    base = request.url.split("/out")[0]
    if request.url.path == "/out/echo":
        return Response("echo " + request.query_params.get("from", "?"))
    if request.url.path == "/out/port":  # the port the fetch came from: one per connection
        return Response(str(request.client.port))
    if request.url.path == "/out/ports":
        return Response.json([await (await fetch(base + "/out/port")).text() for _ in range(2)])
    if request.url.path == "/out/handler":
        return Response(await (await fetch(base + "/out/echo?from=handler")).text())
    if request.url.path == "/out/later":
        ctx.wait_until(later(env, base))
        return Response("started")
    if request.url.path == "/out/flow":
        inst = await env.FLOW.create(id="f1", params={"url": base})
        return Response.json({"id": inst.id})
    return Response("not found", status=404)
"""


def _deployment(tmp_path: Path) -> tuple[Path, Path]:
    marks = tmp_path / "marks"
    marks.mkdir()
    root = make_deployment(tmp_path, {"functions/out.py": WORKER}, CONFIG.replace("MARKS_DIR", str(marks)))
    return root, marks


def test_fetch_works_from_a_handler_a_step_and_wait_until_and_the_pool_closes_at_exit(tmp_path: Path) -> None:
    root, marks = _deployment(tmp_path)
    server = ServerProcess(root).start()
    try:
        assert server.get("/out/handler").text == "echo handler"
        # one pool for the host: two requests' fetches share one kept-alive connection (a client
        # per call would open a connection, from a new port, each time)
        ports = server.get("/out/ports").json() + server.get("/out/ports").json()
        assert len(set(ports)) == 1, ports
        assert server.get("/out/later").text == "started"
        mark = marks / "wait_until.txt"  # write_text: the file exists, empty, before the text is in
        written = wait_for(lambda: mark.is_file() and mark.read_text(), 10.0, what="the wait_until fetch")
        assert written == "echo wait_until"
        assert server.get("/out/flow").json() == {"id": "f1"}
        status = root / "data/workflows/fetching/instances/f1/status.json"
        done = wait_for(
            lambda: status.is_file() and (d := json.loads(status.read_text()))["status"] == "complete" and d,
            10.0,
            what="the fetching workflow to complete",
        )
        assert done["output"] == "echo step"
    finally:
        server.stop()
    assert "Unclosed" not in server.log and "Traceback" not in server.log, server.log


def test_fetch_outside_a_host_uses_a_client_of_its_own(tmp_path: Path) -> None:
    root, _ = _deployment(tmp_path)
    server = ServerProcess(root).start()
    try:
        script = (
            "import asyncio\n"
            "from host.runtime.outbound import fetch\n"
            "async def main():\n"
            f"    print(await (await fetch('{server.url}/out/echo?from=script')).text())\n"
            "asyncio.run(main())\n"
        )
        done = subprocess.run(
            [sys.executable, "-W", "error", "-c", script], capture_output=True, text=True, timeout=30
        )
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "echo script"
