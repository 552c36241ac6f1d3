"""Fault: an event sent right after a terminate was accepted, then a restart.

An event is delivered to the run it was sent to or refused, never kept for a later run (SPEC
3.8): the restarted run must not receive it, and its inbox must hold no event afterwards.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.fault_helpers import (
    Admin,
    brief,
    error_message,
    fault_deployment,
    instance_dir,
    runs,
    serve,
)
from tests.helpers import wait_for


def _events_in_inbox(folder: Path) -> list[str]:
    inbox = folder / "inbox"
    found = []
    for path in sorted(inbox.iterdir()) if inbox.is_dir() else []:
        try:
            kind = json.loads(path.read_text()).get("kind")
        except (OSError, ValueError):
            kind = None
        if kind == "event" or "event" in path.name:
            found.append(path.name)
    return found


def test_an_event_sent_after_terminate_never_reaches_the_restarted_run(tmp_path: Path) -> None:
    root, marks = fault_deployment(tmp_path, hibernate_after="10 seconds")
    ops = [["gate", "long", "gate.open"], ["wait", "w", "go", "2 seconds"]]
    with serve(root, marks) as server:
        admin = Admin(server)
        assert admin.create("racy", ops).status_code == 201
        wait_for(lambda: runs(marks, "racy", "long") == 1, what="the long step to be running")

        terminated = admin.change("racy", "terminate")
        assert terminated.status_code == 200, terminated.text
        sent = admin.event("racy", "go", {"kept": "for a later run"})  # right after the terminate
        assert sent.status_code in (200, 409), sent.text
        if sent.status_code == 409:
            error_message(sent)
        admin.wait_status("racy", "terminated")

        (marks / "gate.open").touch()  # the restarted run's long step ends at once
        restarted = admin.change("racy", "restart")
        assert restarted.status_code == 200, restarted.text
        wait_for(lambda: runs(marks, "racy", "long") == 2, 10, what="the restarted run to begin")
        status = admin.wait_status("racy", "complete", "errored", timeout=10)
        assert status["status"] == "complete", brief(status)
        assert status["output"] == ["long released", "timeout"], (
            f"the restarted run got the event sent after the terminate (event answered "
            f"{sent.status_code}): {brief(status)}"
        )
    assert _events_in_inbox(instance_dir(root, "racy")) == []
