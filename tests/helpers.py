"""Test helpers: free ports, deadline waits, temp deployments and a real `python -m host serve` process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx

T = TypeVar("T")


def locked_by_someone(path: Path) -> bool:
    """Whether an instance lock (flock) is held on `path`, by another process or this one: our
    own open is a new open file description, so it conflicts with any other holder. POSIX only."""
    import fcntl

    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops our lock at once, if we got it
    return False


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], T], timeout: float = 10.0, interval: float = 0.02, what: str = "") -> T:
    """Poll `condition` until it returns something truthy (returned) or `timeout` passes (AssertionError).

    Exceptions raised by `condition` count as "not yet"; the last one is shown on timeout.
    """
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - "not yet"
            last = exc
        if time.monotonic() >= deadline:
            detail = f" (last error: {last!r})" if last else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}{detail}")
        time.sleep(interval)


def stays(condition: Callable[[], object], duration: float, interval: float = 0.05) -> bool:
    """True if `condition` holds at every check for `duration` seconds (for "nothing changes" checks)."""
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        if not condition():
            return False
        time.sleep(interval)
    return bool(condition())


def write_files(root: Path, files: Mapping[str, str]) -> None:
    """Write each `relative path: text` (dedented) under `root`, creating folders."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def make_deployment(
    tmp_path: Path, files: Mapping[str, str] | None = None, config: str | None = None
) -> Path:
    """A folder `tmp_path/deployment` with `files` (e.g. {"functions/a.py": ...}) and config.yaml."""
    root = tmp_path / "deployment"
    root.mkdir(parents=True, exist_ok=True)
    (root / "functions").mkdir(exist_ok=True)
    write_files(root, files or {})
    if config is not None:
        (root / "config.yaml").write_text(textwrap.dedent(config), encoding="utf-8")
    return root


def run_cli(
    args: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 30.0
) -> subprocess.CompletedProcess[str]:
    """Run `python -m host ARGS` to completion in `cwd`; output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "host", *args],
        cwd=cwd,
        env=_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def cli_ok(root: Path, *args: str) -> str:
    """`python -m host ARGS` in `root`, which must succeed; its stdout."""
    done = run_cli(args, cwd=root)
    assert done.returncode == 0, done.stderr
    return done.stdout


def cli_ok_json(root: Path, *args: str) -> Any:
    """cli_ok with `--json`, parsed."""
    return json.loads(cli_ok(root, *args, "--json"))


def _env(extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAYPOST_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


class ServerProcess:
    """`python -m host serve` on a free port, run in `root`; output (stdout+stderr) goes to `log_path`.

    Use as a context manager or call start()/stop(). `--config config.yaml` is passed when
    root/config.yaml exists.
    """

    def __init__(
        self,
        root: Path,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        command: Sequence[str] | None = None,
    ) -> None:
        self.root = root
        # what to run instead of `python -m host` (e.g. the single-file binary); `serve ...` follows
        self.command = tuple(command) if command is not None else (sys.executable, "-m", "host")
        self.extra_args = tuple(extra_args)
        self.env = dict(env or {})
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = root.parent / f"server-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._client: httpx.Client | None = None

    @property
    def client(self) -> httpx.Client:
        """An HTTP client on `url`; closed by stop()/kill(), opened again on next use."""
        if self._client is None or self._client.is_closed:
            self._client = httpx.Client(base_url=self.url, timeout=10.0)
        return self._client

    def close_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- lifecycle --

    def start(self, timeout: float = 15.0) -> ServerProcess:
        """Start the process and wait until its port accepts connections."""
        args = [*self.command, "serve", "--listen", f"127.0.0.1:{self.port}"]
        if (self.root / "config.yaml").exists():
            args += ["--config", "config.yaml"]
        args += list(self.extra_args)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                args, cwd=self.root, env=_env(self.env), stdout=log, stderr=subprocess.STDOUT
            )

        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log}")
            with socket.socket() as sock:
                sock.settimeout(0.2)
                return sock.connect_ex(("127.0.0.1", self.port)) == 0

        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"server did not listen on {self.port} within {timeout}s:\n{self.log}")
            time.sleep(0.02)
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Send `sig` and wait for the process to exit; returns its exit status."""
        self.close_client()
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"server did not exit within {timeout}s after {sig!r}:\n{self.log}"
            ) from None

    def kill(self) -> int:
        """SIGKILL (a crash); returns the exit status."""
        self.close_client()
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.kill()
        return self.proc.wait(10)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close_client()
        if self.running:
            self.stop()

    # -- talking to it --

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.request(method, path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.post(path, **kwargs)

    # -- its output --

    @property
    def log(self) -> str:
        """Everything the server printed so far."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_log(self, text: str, timeout: float = 10.0) -> str:
        """Wait until `text` appears in the output; returns the whole output."""
        return wait_for(lambda: text in self.log and self.log, timeout, what=f"{text!r} in the server log")
