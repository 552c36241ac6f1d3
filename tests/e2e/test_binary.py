"""The single-file executable (scripts/build-binary -> dist/waypost), run as a user runs it.

The binary is copied out of the repository and started on a deployment it was not built with,
with no Python on PATH; its worker imports the standard library and `workers`; a workflow instance
completes; another is killed mid-step with SIGKILL and finishes after a restart; the workflows
command works on the data directory.

Builds the binary unless dist/waypost is newer than every file it is built from (a build takes
about 30 s). Skip locally with `-m "not binary"`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import ServerProcess, free_port, make_deployment, wait_for

pytestmark = pytest.mark.binary

REPO = Path(__file__).resolve().parents[2]
BINARY = REPO / "dist" / "waypost"
BUILT_FROM = [REPO / "host", REPO / "packaging", REPO / "scripts" / "build-binary", REPO / "pyproject.toml"]

WORKER = """\
import asyncio
import decimal
import os
import pathlib
import sqlite3
import sys
import zoneinfo

from workers import Response, WorkflowEntrypoint
from workers.workflows import NonRetryableError


def mark(gates, name):
    with open(gates / name, "a") as fh:
        fh.write(f"{os.getpid()}\\n")


class Pipeline(WorkflowEntrypoint):
    async def run(self, event, step):
        gates, iid = pathlib.Path(self.env.GATES), event.instance_id

        @step.do("first")
        async def first():
            mark(gates, f"{iid}.first")
            return str(decimal.Decimal("0.1") + decimal.Decimal("0.2"))

        @step.do("gate")
        async def gate():  # with params {"wait": true}: runs until GATES/<id>.go exists
            mark(gates, f"{iid}.gate")
            while event.payload.get("wait") and not (gates / f"{iid}.go").exists():
                await asyncio.sleep(0.02)
            return "open"

        return {"first": await first(), "gate": await gate(), "last": await step.do("last", lambda: "done")}


async def fetch(request, env):
    parts = request.url.path.strip("/").split("/")
    if parts == ["app"]:
        import host

        return {
            "frozen": bool(getattr(sys, "frozen", False)),
            "host_module": host.__file__,
            "sqlite": sqlite3.connect(":memory:").execute("select 1 + 1").fetchone()[0],
            "tz": str(zoneinfo.ZoneInfo("UTC")),
            "error_class": NonRetryableError.__name__,
        }
    if parts == ["app", "instances"] and request.method == "POST":
        body = await request.json()
        instance = await env.PIPELINE.create(id=body["id"], params=body["params"])
        return {"id": instance.id}
    if len(parts) == 3 and parts[1] == "instances":
        return await (await env.PIPELINE.get(parts[2])).status()
    return Response("not found", status=404)
"""

CONFIG = """\
host:
  data_dir: data
workers:
  - name: app
    main: functions/app.py
    routes: ["/app", "/app/*"]
    vars: {{GATES: "{gates}"}}
    workflows:
      - {{name: pipeline, binding: PIPELINE, class_name: Pipeline}}
"""


def newest_source() -> float:
    newest = 0.0
    for root in BUILT_FROM:
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        for path in files:
            if "__pycache__" not in path.parts:
                newest = max(newest, path.stat().st_mtime)
    return newest


@pytest.fixture(scope="module")
def binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dist/waypost (rebuilt if any source is newer), copied to a folder of its own."""
    if not BINARY.exists() or BINARY.stat().st_mtime <= newest_source():
        started = time.monotonic()
        build = subprocess.run(
            [str(REPO / "scripts" / "build-binary")],
            cwd=REPO,
            env={**os.environ, "PYTHON": sys.executable},
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert build.returncode == 0, f"scripts/build-binary failed:\n{build.stdout}\n{build.stderr}"
        print(f"built dist/waypost in {time.monotonic() - started:.0f} s")
    copy = tmp_path_factory.mktemp("elsewhere") / "waypost"
    shutil.copy2(BINARY, copy)
    return copy


def children(pid: int) -> list[int]:
    """Live (non-zombie) processes whose parent is `pid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Binary:
    """The copied binary serving one deployment; a clean environment: no Python on PATH."""

    def __init__(self, exe: Path, root: Path, tmp: Path) -> None:
        self.exe, self.root = exe, root
        self.tmp = tmp  # the one-file launcher unpacks itself here (TMPDIR)
        self.env = {"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp), "PYTHONPATH": "", "VIRTUAL_ENV": ""}

    def server(self) -> ServerProcess:
        return ServerProcess(self.root, extra_args=("--no-reload",), env=self.env, command=[str(self.exe)])

    def cli(self, *args: str) -> Any:
        run = subprocess.run(
            [str(self.exe), *args, "--json"],
            cwd=self.root,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 0, f"waypost {' '.join(args)} exited {run.returncode}:\n{run.stderr}"
        return json.loads(run.stdout)


def create(server: ServerProcess, instance_id: str, params: dict[str, Any]) -> None:
    response = server.post("/app/instances", json={"id": instance_id, "params": params})
    assert response.status_code == 200, response.text


def wait_status(server: ServerProcess, instance_id: str, status: str, timeout: float = 20.0) -> Any:
    def current() -> Any:
        response = server.get(f"/app/instances/{instance_id}")
        assert response.status_code == 200, response.text
        doc = response.json()
        return doc if doc["status"] == status else None

    return wait_for(current, timeout, interval=0.05, what=f"{instance_id} to be {status}")


def test_the_binary_serves_runs_workflows_and_survives_kill_9(binary: Path, tmp_path: Path) -> None:
    gates = tmp_path / "gates"
    gates.mkdir()
    (tmp_path / "tmp").mkdir()
    root = make_deployment(tmp_path, {"functions/app.py": WORKER}, CONFIG.format(gates=gates))
    exe = Binary(binary, root, tmp_path / "tmp")

    assert subprocess.run([str(binary), "--version"], capture_output=True, text=True).stdout.startswith(
        "waypost "
    )

    server = exe.server().start(timeout=30)
    try:
        # a request, served by a worker loaded from disk that imports the stdlib and `workers`
        info = server.get("/app").json()
        assert info == {
            "frozen": True,
            "host_module": info["host_module"],
            "sqlite": 2,
            "tz": "UTC",
            "error_class": "NonRetryableError",
        }
        assert not Path(info["host_module"]).is_relative_to(REPO), "host was imported from the checkout"
        # the dashboard's templates and static files are in the bundle
        page = server.get("/__waypost/")
        assert page.status_code == 200 and "pipeline" in page.text, page.text[:500]
        assert server.get("/__waypost/static/dashboard.js").status_code == 200

        # an instance runs to completion
        create(server, "quick", {})
        done = wait_status(server, "quick", "complete")
        assert done["output"] == {"first": "0.3", "gate": "open", "last": "done"}

        # another is mid-step when the binary is killed
        create(server, "crashy", {"wait": True})
        wait_for(lambda: (gates / "crashy.gate").exists(), 20, what="the gate step to start")
        python = children(server.proc.pid) if server.proc else []
        assert python, "the one-file launcher runs the host in a child process"
        assert server.kill() == -signal.SIGKILL
    finally:
        server.kill()
    # the host process dies with its launcher: nothing keeps serving or running the instance
    wait_for(
        lambda: not any(alive(pid) for pid in python), 10, what="the host process to die with its launcher"
    )

    # while no server runs, the workflows command works on the data directory
    listed = {d["id"]: d["status"] for d in exe.cli("workflows", "instances", "list", "pipeline")}
    assert listed.keys() == {"quick", "crashy"} and listed["quick"] == "complete"
    assert listed["crashy"] in ("queued", "running")  # its status file may lag the crashed host
    exe.cli("workflows", "trigger", "pipeline", "{}", "--id", "offline")

    (gates / "crashy.go").touch()
    with exe.server() as server:
        crashy = wait_status(server, "crashy", "complete")
        assert crashy["output"] == {"first": "0.3", "gate": "open", "last": "done"}
        assert wait_status(server, "offline", "complete")["output"]["last"] == "done"
    # a graceful stop, exactly as `python -m host` ends on SIGTERM (uvicorn re-raises the signal)
    assert server.proc is not None and server.proc.returncode in (0, -signal.SIGTERM)

    assert len((gates / "crashy.first").read_text().splitlines()) == 1  # a completed step never reruns
    pids = (gates / "crashy.gate").read_text().splitlines()
    assert len(pids) == 2 and pids[0] != pids[1]  # the step in flight ran again in the new process
    described = exe.cli("workflows", "instances", "describe", "pipeline", "crashy")
    assert described["status"] == "complete"
    assert [s.get("name") for s in described["steps"]][:3] == ["first", "gate", "last"]
    # a graceful stop removes the unpacked bundle; only the killed launcher's is left behind
    assert len(list(exe.tmp.glob("_MEI*"))) == 1


def test_ctrl_c_lets_in_flight_requests_finish(binary: Path, tmp_path: Path) -> None:
    """Ctrl-C signals the whole process group; the host must still see one SIGINT and drain."""
    slow = """\
    import asyncio
    import pathlib

    async def fetch(request, env):
        pathlib.Path("started").touch()
        await asyncio.sleep(1)
        return "slow done"
    """
    root = make_deployment(tmp_path, {"functions/slow.py": slow})
    port = free_port()
    with open(tmp_path / "server.log", "wb") as log:
        proc = subprocess.Popen(
            [str(binary), "serve", "--listen", f"127.0.0.1:{port}", "--no-reload"],
            cwd=root,
            env={**os.environ, "PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path)},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal's foreground job
        )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            wait_for(lambda: client.get("/nothing").status_code == 404, 30, what="the binary to serve")
            with ThreadPoolExecutor(1) as pool:
                reply = pool.submit(client.get, "/slow")
                wait_for(lambda: (root / "started").exists(), 10, what="the request to reach the worker")
                os.killpg(proc.pid, signal.SIGINT)
                response = reply.result(timeout=10)
        assert (response.status_code, response.text) == (200, "slow done")
        proc.wait(10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
