"""Helpers for the fault-injection tests (tests/e2e/test_faults_*.py).

A small deployment whose one workflow is driven by its params, a thin client for the admin REST
API, and the tools the faults need: a tmpfs mount, several hosts started at the same moment, a
host run as an unprivileged user. Everything is real: real processes, real HTTP, real files.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import ServerProcess, make_deployment, run_cli, wait_for

WORKFLOW = "ops"
ACCOUNT = "local"
BASE = f"/client/v4/accounts/{ACCOUNT}/workflows"
FINAL = ("complete", "errored", "terminated")

# Every step appends its pid to MARKS/<instance>.<step>, so a test counts how often a step's body
# really ran (a completed step must never run again).
WORKER = '''
import asyncio
import os
import pathlib

from workers import WorkflowEntrypoint

from host import WaitTimeoutError

MARKS = pathlib.Path(os.environ["FAULT_MARKS"])


def mark(instance, name):
    with open(MARKS / f"{instance}.{name}", "a") as fh:
        fh.write(f"{os.getpid()}\\n")


class Ops(WorkflowEntrypoint):
    """params {"ops": [...]}, each op one of
    ["do", name, result?]          a step returning `result` (default "<name> done")
    ["big", name, size]            a step returning a string of `size` characters
    ["gate", name, file]           a step that runs until MARKS/<file> exists
    ["sleep", name, seconds]
    ["wait", name, type, timeout]  wait_for_event; its payload, or "timeout"
    """

    async def run(self, event, step):
        iid, out = event.instance_id, []
        for op in (event.payload or {}).get("ops", []):
            kind, name = op[0], op[1]
            if kind == "do":
                value = op[2] if len(op) > 2 else f"{name} done"

                def body(name=name, value=value):
                    mark(iid, name)
                    return value

                out.append(await step.do(name, body))
            elif kind == "big":

                def body(name=name, size=op[2]):
                    mark(iid, name)
                    return "x" * size

                out.append(len(await step.do(name, body)))
            elif kind == "gate":

                async def body(name=name, gate=op[2]):
                    mark(iid, name)
                    while not (MARKS / gate).exists():
                        await asyncio.sleep(0.02)
                    return f"{name} released"

                out.append(await step.do(name, body))
            elif kind == "sleep":
                await step.sleep(name, op[2])
                out.append(f"slept {name}")
            elif kind == "wait":
                try:
                    got = await step.wait_for_event(name, op[2], timeout=op[3])
                    out.append(got["payload"])
                except WaitTimeoutError:
                    out.append("timeout")
        return out
'''

CONFIG = """\
host:
  data_dir: data
  hibernate_after: {hibernate_after}
workers:
  - name: faults
    main: functions/faults.py
    routes: ["/faults"]
    workflows:
      - {{name: ops, binding: OPS, class_name: Ops}}
"""

# ---- common op lists --------------------------------------------------------------------------


def waits_for(event_type: str = "go", timeout: str = "1 hour", first: str = "a") -> list[Any]:
    """Step `first`, then a wait for `event_type`, then step "b"."""
    return [["do", first], ["wait", "w", event_type, timeout], ["do", "b"]]


def sleeps(seconds: float = 1.0) -> list[Any]:
    """Step "a", a sleep, step "b"."""
    return [["do", "a"], ["sleep", "nap", seconds], ["do", "b"]]


# ---- the deployment ---------------------------------------------------------------------------


def fault_deployment(tmp_path: Path, hibernate_after: str = "0") -> tuple[Path, Path]:
    """A deployment under tmp_path with the Ops workflow; returns (root, marks folder)."""
    root = make_deployment(
        tmp_path, {"functions/faults.py": WORKER}, CONFIG.format(hibernate_after=hibernate_after)
    )
    marks = tmp_path / "marks"
    marks.mkdir(exist_ok=True)
    return root, marks


def serve(
    root: Path, marks: Path, env: dict[str, str] | None = None, command: Sequence[str] | None = None
) -> ServerProcess:
    return ServerProcess(
        root, extra_args=("--no-reload",), env={"FAULT_MARKS": str(marks), **(env or {})}, command=command
    )


def cli(root: Path, marks: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m host ARGS` in the deployment (it reads ./config.yaml), no server needed."""
    return run_cli(list(args), cwd=root, env={"FAULT_MARKS": str(marks)})


def environment(marks: Path, **extra: str) -> dict[str, str]:
    """The environment a host or CLI process gets: ours without WAYPOST_* settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAYPOST_")}
    env.update(PYTHONUNBUFFERED="1", FAULT_MARKS=str(marks), **extra)
    return env


# `python -m host ARGS` (what host/__main__.py runs), paused after its imports until a line on
# stdin: the command then runs at a chosen moment, not a few tenths of a second of start-up later
_WARM = (
    "import sys; from host.cli import main; print('ready', flush=True); "
    "sys.stdin.readline(); raise SystemExit(main(sys.argv[1:]))"
)


class WarmCli:
    """A CLI command in its own process, started ahead and fired on demand (fire(), then finish())."""

    def __init__(self, root: Path, marks: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _WARM, *args],
            cwd=root,
            env=environment(marks),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.strip() == "ready", line + self.process.stdout.read()

    def fire(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("\n")
        self.process.stdin.flush()

    def finish(self, timeout: float = 30.0) -> tuple[int, str]:
        out, _ = self.process.communicate(timeout=timeout)
        return self.process.returncode, out

    def kill(self) -> None:
        """End it if it still runs (a test that failed before firing it)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate(timeout=10)


def trigger(root: Path, marks: Path, instance_id: str, ops: list[Any]) -> None:
    """Create an instance with the CLI (the host's own code writes every file), no server running."""
    done = cli(root, marks, "workflows", "trigger", WORKFLOW, json.dumps({"ops": ops}), "--id", instance_id)
    assert done.returncode == 0, done.stdout + done.stderr


def data_dir(root: Path) -> Path:
    return root / "data"


def instances_dir(root: Path) -> Path:
    return root / "data" / "workflows" / WORKFLOW / "instances"


def pending_dir(root: Path) -> Path:
    return root / "data" / "workflows" / WORKFLOW / "pending"


def instance_dir(root: Path, instance_id: str) -> Path:
    return instances_dir(root) / instance_id


def runs(marks: Path, instance_id: str, step: str) -> int:
    """How many times the body of `step` ran for the instance."""
    path = marks / f"{instance_id}.{step}"
    return len(path.read_text().splitlines()) if path.exists() else 0


def journal_entries(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def bad_journal_lines(root: Path) -> list[str]:
    """Every line of every journal under the data directory that is not one JSON object."""
    bad = []
    for journal in sorted((root / "data" / "workflows").glob("*/instances/*/journal*.jsonl")):
        data = journal.read_bytes()
        body = data[:-1] if data.endswith(b"\n") else data
        for number, line in enumerate(body.split(b"\n") if body else [], start=1):
            try:
                ok = isinstance(json.loads(line), dict)
            except ValueError:
                ok = False
            if not ok:
                bad.append(f"{journal.relative_to(root)} line {number}: {line[:120]!r}")
    return bad


# ---- the admin API ------------------------------------------------------------------------------


class Admin:
    """The admin REST API of one running host, for the Ops workflow."""

    def __init__(self, server: ServerProcess, workflow: str = WORKFLOW) -> None:
        self.server = server
        self.base = f"{BASE}/{workflow}"

    def create(self, instance_id: str | None, ops: list[Any]) -> httpx.Response:
        body: dict[str, Any] = {"params": {"ops": ops}}
        if instance_id is not None:
            body["instance_id"] = instance_id
        return self.server.post(f"{self.base}/instances", json=body)

    def batch(self, items: list[tuple[str, list[Any]]]) -> httpx.Response:
        body = [{"instance_id": iid, "params": {"ops": ops}} for iid, ops in items]
        return self.server.post(f"{self.base}/instances/batch", json=body)

    def get(self, instance_id: str) -> httpx.Response:
        return self.server.get(f"{self.base}/instances/{instance_id}")

    def listed(self) -> list[str]:
        answer = self.server.get(f"{self.base}/instances", params={"per_page": 1000, "page": 1})
        assert answer.status_code == 200, answer.text
        return [item["id"] for item in answer.json()["result"]]

    def status(self, instance_id: str) -> dict[str, Any]:
        """The instance's status, output and error (the GET answer's result, without steps)."""
        answer = self.server.get(f"{self.base}/instances/{instance_id}", params={"simple": "true"})
        assert answer.status_code == 200, answer.text
        return answer.json()["result"]  # type: ignore[no-any-return]

    def wait_status(self, instance_id: str, *statuses: str, timeout: float = 10.0) -> dict[str, Any]:
        def reached() -> dict[str, Any]:
            doc = self.status(instance_id)
            return doc if doc["status"] in statuses else {}

        return wait_for(
            reached,
            timeout,
            what=f"{instance_id} to be {'/'.join(statuses)}",
        )

    def event(self, instance_id: str, event_type: str, payload: Any) -> httpx.Response:
        return self.server.post(f"{self.base}/instances/{instance_id}/events/{event_type}", json=payload)

    def change(self, instance_id: str, action: str) -> httpx.Response:
        return self.server.request(
            "PATCH", f"{self.base}/instances/{instance_id}/status", json={"status": action}
        )


def brief(status: dict[str, Any]) -> dict[str, Any]:
    """An instance's status, output and error: what an assertion message should show."""
    return {key: status.get(key) for key in ("status", "output", "error")}


def error_message(answer: httpx.Response) -> str:
    """The envelope's first error message; fails unless the answer is Cloudflare's error envelope."""
    try:
        body = answer.json()
    except ValueError:
        raise AssertionError(
            f"HTTP {answer.status_code} is not JSON: "
            f"{answer.headers.get('content-type')} {answer.text[:200]!r}"
        ) from None
    assert isinstance(body, dict) and body.get("success") is False, body
    assert body.get("result") is None and body.get("errors"), body
    message = body["errors"][0].get("message")
    assert isinstance(message, str) and message, body
    return message


# ---- environments ---------------------------------------------------------------------------------


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "2m") -> Iterator[Path]:
    """A small tmpfs mounted at `path` (skips the test where mounting is not permitted)."""
    path.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        pytest.skip("no mount command on this machine: cannot make a small disk to fill")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here (needs root): {done.stderr.strip()}")
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill_disk(path: Path, leave: int = 0) -> None:
    """Write `path` until the disk is full, then cut `leave` bytes off its end (room for a little)."""
    chunk = b"\0" * 65536
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        while True:
            try:
                os.write(fd, chunk)
            except OSError:
                break
        while True:  # the last, partial chunk
            try:
                if os.write(fd, b"\0" * 4096) <= 0:
                    break
            except OSError:
                break
        size = os.fstat(fd).st_size
        os.ftruncate(fd, max(0, size - leave))
    finally:
        os.close(fd)


def start_together(servers: Sequence[ServerProcess], timeout: float = 20.0) -> list[BaseException | None]:
    """Start every server at the same moment (a barrier in front of each Popen); each one's error."""
    barrier = threading.Barrier(len(servers))
    errors: list[BaseException | None] = [None] * len(servers)

    def go(n: int) -> None:
        barrier.wait()
        try:
            servers[n].start(timeout)
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors[n] = exc

    threads = [threading.Thread(target=go, args=(n,)) for n in range(len(servers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


AS_NOBODY = ("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups")


def nobody_command() -> list[str]:
    """The command that runs `python -m host` as the user nobody (skips where that is impossible)."""
    if os.geteuid() != 0:
        pytest.skip("running the host as another user needs root")
    if shutil.which("setpriv") is None:
        pytest.skip("no setpriv on this machine: cannot run the host as an unprivileged user")
    command = [*AS_NOBODY, sys.executable, "-m", "host"]
    probe = subprocess.run([*command[:-2], "-c", "import host"], capture_output=True, text=True, cwd="/")
    if probe.returncode != 0:
        pytest.skip(f"user nobody cannot run this Python and the host package: {probe.stderr.strip()[-300:]}")
    return command


def chown_tree(path: Path, user: str = "nobody", group: str = "nogroup") -> None:
    shutil.chown(path, user, group)
    for folder, dirs, files in os.walk(path):
        for name in dirs + files:
            shutil.chown(os.path.join(folder, name), user, group)
