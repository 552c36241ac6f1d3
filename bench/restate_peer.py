"""Restate as a peer of figures 1-3: restate-server and the Python service, both on 127.0.0.1.

A run (`python -m bench.child restate_throughput|restate_latency JSON`) starts restate-server on
free 127.0.0.1 ports with its data under the run's work folder, starts bench/restate_svc.py under
hypercorn (HTTP/2 cleartext) on another free port, registers it through the admin API, takes one
warm-up workflow of one step, times the figure through the HTTP ingress, then stops both and
deletes the data. The client is this process (threads on http.client, one keep-alive connection
each), calling `POST /Steps/<id>/run` with the step count as body: the call returns the
workflow's output once it is complete, as DBOS's `get_result()` does.

restate-server is the binary shipped inside the npm package @restatedev/restate-server; bench/
install-restate puts it under bench/.work/restate. RESTATE_SERVER=/path/to/restate-server
overrides where it is looked for.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
INSTALL_DIR = BENCH / ".work" / "restate"
INSTALL_HINT = "bench/install-restate"


def server_binary() -> Path | None:
    """restate-server: $RESTATE_SERVER, the npm package's binary under bench/.work/restate, or PATH."""
    env = os.environ.get("RESTATE_SERVER")
    if env:
        return Path(env) if Path(env).is_file() else None
    for found in sorted(INSTALL_DIR.glob("node_modules/@restatedev/restate-server-*/bin/restate-server")):
        if os.access(found, os.X_OK):
            return found
    which = shutil.which("restate-server")
    return Path(which) if which else None


def missing() -> str | None:
    """Why the Restate peer cannot run here, or None if it can."""
    if server_binary() is None:
        return f"restate-server not found (run {INSTALL_HINT}: npm install of @restatedev/restate-server)"
    for module, package in (("restate", "restate-sdk"), ("hypercorn", "hypercorn")):
        if importlib.util.find_spec(module) is None:
            return f"{package} not installed (pip install -e '.[bench]')"
    return None


def versions() -> str:
    """restate-server and restate-sdk versions, for the results' machine section."""
    import importlib.metadata as md

    binary = server_binary()
    server = "not installed"
    if binary is not None:
        try:
            out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30).stdout
            server = out.strip() or "?"
        except (OSError, subprocess.SubprocessError):
            server = "?"
    try:
        sdk = md.version("restate-sdk")
    except md.PackageNotFoundError:
        sdk = "not installed"
    return f"{server}; restate-sdk {sdk}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request(port: int, method: str, path: str, body: Any = None, timeout: float = 30) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = None if body is None else json.dumps(body).encode()
        headers = {} if body is None else {"content-type": "application/json"}
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


class RestatePeer:
    """restate-server and the service: started by `__enter__`, stopped (their data deleted) by `__exit__`."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[Any] = []

    def __enter__(self) -> RestatePeer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(self, name: str, argv: list[str], **kw: Any) -> subprocess.Popen[bytes]:
        log = open(self.base / f"{name}.log", "wb")
        self.logs.append(log)
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **kw)
        self.procs.append(proc)
        return proc

    def log_tail(self, name: str) -> str:
        try:
            return (self.base / f"{name}.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def start(self) -> None:
        binary = server_binary()
        if binary is None:
            raise RuntimeError(missing())
        shutil.rmtree(self.base, ignore_errors=True)
        self.base.mkdir(parents=True)
        node, self.admin, self.ingress, self.service = (free_port() for _ in range(4))
        (self.base / "restate.toml").write_text(
            "\n".join(
                [
                    'cluster-name = "waypost-bench"',
                    f'base-dir = "{self.base / "data"}"',
                    "disable-telemetry = true",
                    'listen-mode = "tcp"',
                    'log-filter = "warn"',
                    "log-disable-ansi-codes = true",
                    'shutdown-timeout = "5s"',
                    f'bind-address = "127.0.0.1:{node}"',
                    f'advertised-address = "http://127.0.0.1:{node}/"',
                    "[admin]",
                    f'bind-address = "127.0.0.1:{self.admin}"',
                    "[ingress]",
                    f'bind-address = "127.0.0.1:{self.ingress}"',
                    "",
                ]
            )
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("RESTATE_")}
        server = self._spawn(
            "restate-server",
            [str(binary), "--config-file", str(self.base / "restate.toml"), "--no-logo"],
            cwd=self.base,
            env=env,
        )
        root = BENCH.parent
        service = self._spawn(
            "service",
            [sys.executable, "-m", "bench.restate_svc", str(self.service)],
            cwd=root,
            env=dict(
                os.environ,
                PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
            ),
        )
        self._wait(
            lambda: request(self.admin, "GET", "/health", timeout=2)[0] == 200, server, "restate admin"
        )
        self._wait(lambda: _connects(self.service), service, "restate service")
        status, body = 0, b""
        for _ in range(50):
            status, body = request(
                self.admin, "POST", "/deployments", {"uri": f"http://127.0.0.1:{self.service}", "force": True}
            )
            if status in (200, 201):
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"registering the service answered {status}: {body[:500]!r}")
        # the first call after registering may find the ingress not yet aware of the service
        self._wait(lambda: self.call("warm-up", 1)[0] == 200, server, "restate ingress")

    def _wait(self, ready: Any, proc: subprocess.Popen[bytes], what: str, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if proc.poll() is not None:
                name = "restate-server" if proc is self.procs[0] else "service"
                raise RuntimeError(f"{what}: exited {proc.returncode}; log: {self.log_tail(name)}")
            try:
                if ready():
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{what} not ready after {timeout} s; log: {self.log_tail('restate-server')}")

    def call(
        self, workflow_id: str, steps: int, conn: http.client.HTTPConnection | None = None
    ) -> tuple[int, bytes]:
        """Run workflow `workflow_id` with `steps` steps to completion through the ingress."""
        own = conn is None
        conn = conn or http.client.HTTPConnection("127.0.0.1", self.ingress, timeout=600)
        try:
            conn.request(
                "POST",
                f"/Steps/{workflow_id}/run",
                body=str(steps),
                headers={"content-type": "application/json"},
            )
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            if own:
                conn.close()

    def stop(self) -> None:
        # restate-server first, gracefully (SIGTERM); then the service, which keeps no state, at
        # once (SIGKILL: the SDK turns SIGTERM into a drain that never ends the process)
        for proc, sig in zip(self.procs, (signal.SIGTERM, signal.SIGKILL), strict=False):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    pass
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
        self.procs.clear()
        for log in self.logs:
            log.close()
        self.logs.clear()
        shutil.rmtree(self.base / "data", ignore_errors=True)


def _connects(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


def _check(status: int, body: bytes, steps: int) -> None:
    if status != 200 or body.strip() != str(steps).encode():
        raise RuntimeError(f"restate ingress answered {status}: {body[:300]!r}")


def throughput(peer: RestatePeer, instances: int, steps: int) -> dict[str, Any]:
    """All `instances` workflows called at once (one thread and connection each), until the last returns."""
    conns = [http.client.HTTPConnection("127.0.0.1", peer.ingress, timeout=600) for _ in range(instances)]
    for conn in conns:
        conn.connect()
    start = threading.Barrier(instances + 1)
    errors: list[BaseException] = []
    tag = f"tp{time.time_ns()}"

    def one(n: int) -> None:
        start.wait()
        try:
            _check(*peer.call(f"{tag}-{n}", steps, conns[n]), steps)
        except BaseException as exc:  # reported below
            errors.append(exc)

    pool = [threading.Thread(target=one, args=(n,)) for n in range(instances)]
    for t in pool:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - t0
    for conn in conns:
        conn.close()
    if errors:
        raise errors[0]
    return {"steps": instances * steps, "seconds": elapsed, "rate": instances * steps / elapsed}


def latency(peer: RestatePeer, count: int) -> dict[str, Any]:
    """Call -> complete of a 1-step workflow, one after another on one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", peer.ingress, timeout=60)
    samples = []
    tag = f"lat{time.time_ns()}"
    for n in range(count + 5):
        t0 = time.perf_counter()
        _check(*peer.call(f"{tag}-{n}", 1, conn), 1)
        if n >= 5:  # as the other figures: the first few warm up
            samples.append(time.perf_counter() - t0)
    conn.close()
    samples.sort()
    if len(samples) == 1:
        return {"n": 1, "p50": samples[0], "p99": samples[0], "max": samples[0]}
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return {"n": len(samples), "p50": q[49], "p99": q[98], "max": samples[-1]}


def run(work: str, figure: str, **kw: Any) -> dict[str, Any]:
    """Entry point of `bench.child restate_<figure>`."""
    base = Path(work) / f"restate-{figure}-{os.getpid()}"
    try:
        with RestatePeer(base) as peer:
            if figure == "throughput":
                return throughput(peer, kw["instances"], kw["steps"])
            return latency(peer, kw["count"])
    finally:
        shutil.rmtree(base, ignore_errors=True)
