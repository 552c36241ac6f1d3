"""Helpers for the rollback and restart-from-step tests: tests/deployments/saga served for real."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.helpers import ServerProcess, wait_for

SAGA = Path(__file__).parent / "deployments" / "saga"
FINAL = ("complete", "errored", "terminated")


def saga_deployment(tmp_path: Path) -> Path:
    root = tmp_path / "deployment"
    shutil.copytree(SAGA, root, ignore=shutil.ignore_patterns("__pycache__", "data"))
    return root


class Saga:
    """Drives the saga worker over HTTP and reads what its instances left on disk."""

    def __init__(self, server: ServerProcess, root: Path, side: Path) -> None:
        self.server, self.root, self.side = server, root, side  # side: where side effects are counted
        side.mkdir(exist_ok=True)

    def create(self, binding: str, iid: str, **params: Any) -> Path:
        """Create instance `iid`; returns the file its steps and undos note what they did in."""
        log = self.side / f"{iid}.log"
        answer = self.server.post(f"/saga/{binding}", json={"id": iid, "params": {"log": str(log), **params}})
        assert answer.status_code == 200, answer.text
        return log

    def call(self, binding: str, iid: str, action: str, **body: Any) -> Any:
        return self.server.post(f"/saga/{binding}/{iid}/{action}", json=body)

    def folder(self, workflow: str, iid: str) -> Path:
        return self.root / "data" / "workflows" / workflow / "instances" / iid

    def status(self, workflow: str, iid: str) -> dict[str, Any]:
        return json.loads((self.folder(workflow, iid) / "status.json").read_text())  # type: ignore[no-any-return]

    def wait_status(self, workflow: str, iid: str, *statuses: str, timeout: float = 10.0) -> dict[str, Any]:
        return wait_for(
            lambda: s if (s := self.status(workflow, iid))["status"] in statuses else None,
            timeout,
            what=f"{iid} to be {'/'.join(statuses)}",
        )

    def journal(self, workflow: str, iid: str) -> list[dict[str, Any]]:
        text = (self.folder(workflow, iid) / "journal.jsonl").read_text()
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def lines(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []
