"""Helpers for workflow tests: a copy of tests/deployments/flows served by a real host."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.helpers import ServerProcess, wait_for

FLOWS = Path(__file__).parent / "deployments" / "flows"


def flows_deployment(tmp_path: Path, config: str | None = None) -> tuple[Path, Path]:
    """Copy the flows deployment into tmp_path; returns (root, marks folder)."""
    root = tmp_path / "deployment"
    shutil.copytree(FLOWS, root, ignore=shutil.ignore_patterns("__pycache__", "data"))
    if config is not None:
        (root / "config.yaml").write_text(config, encoding="utf-8")
    marks = tmp_path / "marks"
    marks.mkdir()
    return root, marks


def serve_flows(root: Path, marks: Path, *args: str) -> ServerProcess:
    return ServerProcess(root, extra_args=("--no-reload", *args), env={"TEST_MARKS": str(marks)})


class Flows:
    """Drives the flows worker over HTTP."""

    def __init__(self, server: ServerProcess, root: Path, marks: Path) -> None:
        self.server, self.root, self.marks = server, root, marks

    def create(self, ops: list[Any], instance_id: str | None = None, binding: str = "SCRIPT") -> str:
        response = self.server.post(f"/wf/{binding}", json={"id": instance_id, "params": {"ops": ops}})
        assert response.status_code == 200, response.text
        return str(response.json()["id"])

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.server.request(method, f"/wf/{path}", **kwargs)

    def status(self, instance_id: str, binding: str = "SCRIPT") -> dict[str, Any]:
        response = self.call("GET", f"{binding}/{instance_id}")
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def wait_status(
        self, instance_id: str, *statuses: str, binding: str = "SCRIPT", timeout: float = 10.0
    ) -> dict[str, Any]:
        return wait_for(
            lambda: s if (s := self.status(instance_id, binding))["status"] in statuses else None,
            timeout,
            what=f"{instance_id} to be {'/'.join(statuses)}",
        )

    def on_disk(self, instance_id: str, status: str, workflow: str = "script") -> dict[str, Any]:
        """status.json once it says `status`: the API answers from a document still queued for the
        store's writer thread, so the file can be a moment behind it."""
        path = self.instance_dir(instance_id, workflow) / "status.json"
        return wait_for(
            lambda: d if (d := json.loads(path.read_text()))["status"] == status else None,
            what=f"{path} to say {status}",
        )

    def action(self, instance_id: str, action: str, binding: str = "SCRIPT") -> Any:
        return self.call("POST", f"{binding}/{instance_id}/{action}")

    def event(self, instance_id: str, event_type: str, payload: Any, binding: str = "SCRIPT") -> Any:
        return self.call("POST", f"{binding}/{instance_id}/event/{event_type}", json=payload)

    def runs(self, instance_id: str, step: str) -> list[str]:
        """One line per time the step's body ran: '<pid> <attempt>'."""
        path = self.marks / f"{instance_id}.{step}"
        return path.read_text().splitlines() if path.exists() else []

    def gate(self, name: str) -> None:
        (self.marks / name).touch()

    def instance_dir(self, instance_id: str, workflow: str = "script") -> Path:
        return self.root / "data" / "workflows" / workflow / "instances" / instance_id

    def inbox(self, instance_id: str, workflow: str = "script") -> list[str]:
        folder = self.instance_dir(instance_id, workflow) / "inbox"
        return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []

    def journal(self, instance_id: str, workflow: str = "script") -> list[dict[str, Any]]:
        text = (self.instance_dir(instance_id, workflow) / "journal.jsonl").read_text()
        return [json.loads(line) for line in text.splitlines() if line.strip()]
