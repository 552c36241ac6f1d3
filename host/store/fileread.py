"""An instance folder read whole for people (`waypost inspect`), without writing anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from host.store.fileinbox import Inbox
from host.store.fsio import read_file, real_dir
from host.workflows import jsonenc
from host.workflows.journal import read_lenient


def read_folder(folder: Path) -> dict[str, Any]:
    """instance.json, status.json, journal entries, inbox and earlier runs of one instance folder."""
    if not real_dir(str(folder)):
        raise FileNotFoundError(2, "no such instance folder", str(folder))
    if not (folder / "instance.json").is_file() and not (folder / "journal.jsonl").is_file():
        raise ValueError(
            f"{folder} is not an instance folder (no instance.json or journal.jsonl); "
            "instances live in DATA/workflows/<workflow>/instances/<id>"
        )
    problems: list[str] = []
    try:
        entries, problems = read_lenient(read_file(str(folder / "journal.jsonl")))
    except FileNotFoundError:
        entries, problems = [], ["journal.jsonl is missing"]
    inbox = Inbox(str(folder), durable=False)
    return {
        "instance": _document(folder / "instance.json", problems),
        "status": _document(folder / "status.json", problems),
        "entries": entries,
        "problems": problems,
        "inbox": [
            {"file": i.name, "kind": i.kind, "action": i.body.get("action"), "type": i.body.get("type")}
            for i in inbox.items()
        ],
        "restarts": len(list(folder.glob("journal.*.restarted.jsonl"))),
    }


def _document(path: Path, problems: list[str]) -> dict[str, Any]:
    try:
        document = jsonenc.loads_object(read_file(str(path)))
    except FileNotFoundError:
        problems.append(f"{path.name} is missing")
        return {}
    except OSError as exc:
        problems.append(f"{path.name}: {exc}")
        return {}
    if document is None:
        problems.append(f"{path.name} is not a JSON object")
    return document or {}
