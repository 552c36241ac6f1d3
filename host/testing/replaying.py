"""`host.testing.replay(journal_path, WorkflowClass)`: does the current code still fit a journal?

It runs the class's run() against the journal with host.workflows.replay: recorded steps return
their recorded outcomes, no step runs and nothing is written. The result is `ok`, or the first
divergence (the journal's step and what the code asked for instead, with its file and line), as
`waypost workflows check` reports it for a data directory.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from host.workflows.journal import JournalDamaged, parse
from host.workflows.replay import Divergence, ReplayResult
from host.workflows.replay import replay as replay_entries

__all__ = ["Divergence", "ReplayResult", "read_entries", "replay"]


def read_entries(journal_path: str | Path) -> list[dict[str, Any]]:
    """The journal's entries; ValueError naming the file and line if one is damaged."""
    path = Path(journal_path)
    try:
        entries, _ = parse(path.read_bytes(), path)
    except JournalDamaged as exc:
        raise ValueError(str(exc)) from None
    return entries


def replay(journal_path: str | Path, workflow_cls: type, env: Any = None) -> ReplayResult:
    """Replay the journal at `journal_path` (an instance's journal.jsonl, or its folder) against
    `workflow_cls`, whose `self.env` is `env`. A plain function: in an async test it runs the
    replay in a thread of its own, since a replay does no I/O and takes a moment."""
    path = Path(journal_path)
    entries = read_entries(path / "journal.jsonl" if path.is_dir() else path)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(replay_entries(entries, workflow_cls, env))
    found: list[ReplayResult] = []
    failed: list[BaseException] = []

    def work() -> None:
        try:
            found.append(asyncio.run(replay_entries(entries, workflow_cls, env)))
        except BaseException as exc:  # handed back to the caller's thread below
            failed.append(exc)

    thread = threading.Thread(target=work, name="waypost replay")
    thread.start()
    thread.join()
    if failed:
        raise failed[0]
    return found[0]
