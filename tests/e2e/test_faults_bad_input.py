"""Faults: bad input at the edges of the HTTP admin API and of start-up.

A body nested 10,000 deep, ids and event types that end in a newline (which `$` in a Python
regular expression lets through), paths with a newline in them, a token list of only separators.
Every refusal is a 4xx with Cloudflare's envelope and changes nothing on disk.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fault_helpers import (
    BASE,
    Admin,
    environment,
    error_message,
    fault_deployment,
    instances_dir,
    serve,
    waits_for,
)
from tests.helpers import ServerProcess, free_port, wait_for

DEEP = "[" * 10_000 + "]" * 10_000
TARGET = "target"  # waits for an event the whole module long


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root, marks = fault_deployment(tmp_path_factory.mktemp("bad-input"))
    with serve(root, marks) as proc:
        admin = Admin(proc)
        assert admin.create(TARGET, waits_for()).status_code == 201
        admin.wait_status(TARGET, "waiting")
        yield proc


def disk_state(server: ServerProcess) -> dict[str, Any]:
    """Instance folders and their inbox files: what a refused request must leave as it was."""
    root = instances_dir(server.root)
    found: dict[str, Any] = {}
    for folder in sorted(root.iterdir()):
        inbox = folder / "inbox"
        found[folder.name] = sorted(p.name for p in inbox.iterdir()) if inbox.is_dir() else []
    return found


def _refused(
    server: ServerProcess, method: str, path: str, body: bytes | None = None, statuses: tuple[int, ...] = (400,)
) -> str:
    """Send the request; assert an error envelope (400 unless said) and no change on disk; its message."""
    before = disk_state(server)
    answer = server.request(
        method, path, content=body, headers={"content-type": "application/json"} if body is not None else {}
    )
    assert answer.status_code in statuses, (answer.status_code, answer.text[:300])
    message = error_message(answer)
    assert disk_state(server) == before
    assert Admin(server).status(TARGET)["status"] == "waiting"
    return message


INSTANCES = f"{BASE}/ops/instances"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", INSTANCES, '{"instance_id": "deep-1", "params": ' + DEEP + "}"),
        ("POST", f"{INSTANCES}/batch", '[{"instance_id": "deep-2", "params": ' + DEEP + "}]"),
        ("PATCH", f"{INSTANCES}/{TARGET}/status", '{"status": "pause", "extra": ' + DEEP + "}"),
        ("POST", f"{INSTANCES}/{TARGET}/events/go", DEEP),
    ],
    ids=["create", "batch", "status", "event"],
)
def test_a_body_nested_10000_deep_is_a_400(server: ServerProcess, method: str, path: str, body: str) -> None:
    _refused(server, method, path, body.encode())


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (INSTANCES, '{"instance_id": "abc\\n", "params": {}}'),
        (f"{INSTANCES}/batch", '[{"instance_id": "abd\\n", "params": {}}]'),
    ],
    ids=["create", "batch"],
)
def test_an_instance_id_ending_in_a_newline_is_refused(server: ServerProcess, path: str, body: str) -> None:
    assert re.search(r"instance[ _]id", _refused(server, "POST", path, body.encode()), re.I)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"{INSTANCES}/{TARGET}%0A", None),
        ("PATCH", f"{INSTANCES}/{TARGET}%0A/status", b'{"status": "pause"}'),
        ("POST", f"{INSTANCES}/{TARGET}%0A/events/go", b"{}"),
        ("POST", f"{INSTANCES}/{TARGET}/events/go%0A", b"{}"),
    ],
    ids=["get", "status", "event-id", "event-type"],
)
def test_an_id_or_event_type_ending_in_a_newline_in_the_path_is_refused(
    server: ServerProcess, method: str, path: str, body: bytes | None
) -> None:
    # no route has a control character in it: the envelope's 404, as for any path no route has
    _refused(server, method, path, body, statuses=(400, 404))


@pytest.mark.parametrize(
    "path",
    [
        f"{BASE}/x%0A/instances",
        f"{BASE}/ops%0A/instances",
        f"{BASE}%0A",
        f"{INSTANCES}/{TARGET}/nope%0Ax",
        f"{INSTANCES}/{TARGET}%0A/step",
        "/client/v4/accounts/local%0A/workflows",
        "/client/v4/x%0Ay",
        "/client/v4/x%0A",
    ],
)
def test_an_admin_path_with_a_newline_answers_the_envelope(server: ServerProcess, path: str) -> None:
    answer = server.get(path)
    assert answer.status_code in (400, 404), (answer.status_code, answer.text[:200])
    error_message(answer)  # JSON envelope, not plain text


def test_a_token_list_of_only_separators_refuses_to_start(tmp_path: Path) -> None:
    # " , ,, " names no token at all; read as "no token" it would open the admin API to every
    # local process without the operator knowing: start-up must stop and say why
    root, marks = fault_deployment(tmp_path)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "host", "serve", "--no-reload", "--listen", f"127.0.0.1:{port}"],
        cwd=root,
        env=environment(marks, WAYPOST_API_TOKEN=" , ,, "),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    def listening() -> bool:
        with socket.socket() as sock:
            sock.settimeout(0.2)
            return sock.connect_ex(("127.0.0.1", port)) == 0

    try:
        wait_for(lambda: process.poll() is not None or listening(), 15, what="the host to exit or listen")
        serving = process.poll() is None
    finally:
        if process.poll() is None:
            process.kill()
        out, _ = process.communicate(timeout=10)
    assert not serving, f"the host started serving with WAYPOST_API_TOKEN=' , ,, ':\n{out[-1500:]}"
    assert process.returncode != 0, out
    assert "WAYPOST_API_TOKEN" in out or "token" in out.lower(), out
