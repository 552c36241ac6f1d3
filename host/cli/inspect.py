"""`waypost inspect INSTANCE_DIR`: an instance folder as a readable timeline, read without writing."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from host.admin.steps import build_steps, read_journal
from host.cli.output import compact, duration, error_text, labelled, print_json, user_errors, when


def read_folder(folder: Path) -> dict[str, Any]:
    """Everything an instance folder holds: instance.json, status.json, journal entries, inbox, old runs."""
    if not folder.is_dir():
        raise FileNotFoundError(2, "no such instance folder", str(folder))
    if not (folder / "instance.json").is_file() and not (folder / "journal.jsonl").is_file():
        raise ValueError(
            f"{folder} is not an instance folder (no instance.json or journal.jsonl); "
            "instances live in DATA/workflows/<workflow>/instances/<id>"
        )
    entries, problems = read_journal(folder / "journal.jsonl")
    inbox = sorted(p.name for p in (folder / "inbox").glob("*.json")) if (folder / "inbox").is_dir() else []
    return {
        "instance": _read_json(folder / "instance.json", problems),
        "status": _read_json(folder / "status.json", problems),
        "entries": entries,
        "problems": problems,
        "inbox": [_inbox_item(folder / "inbox" / name) for name in inbox],
        "restarts": len(list(folder.glob("journal.*.restarted.jsonl"))),
    }


def _read_json(path: Path, problems: list[str]) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
        return value if isinstance(value, dict) else {}
    except FileNotFoundError:
        problems.append(f"{path.name} is missing")
    except ValueError as exc:
        problems.append(f"{path.name}: {exc}")
    return {}


def _inbox_item(path: Path) -> dict[str, Any]:
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"file": path.name, "kind": "unreadable"}
    return {
        "file": path.name,
        "kind": body.get("kind"),
        "action": body.get("action"),
        "type": body.get("type"),
    }


def timeline(entries: list[dict[str, Any]], origin: float) -> list[dict[str, Any]]:
    """One line per journal entry: {"t", "offset", "text"}, with durations and errors spelled out."""
    started: dict[tuple[str, int], float] = {}
    first_seen: dict[tuple[str, int], float] = {}
    lines: list[dict[str, Any]] = []
    for entry in entries:
        kind, t = entry.get("type"), float(entry.get("t") or origin)
        key = (str(entry.get("name")), int(entry.get("count") or 1))
        label = key[0] if key[1] == 1 else f"{key[0]} #{key[1]}"
        first_seen.setdefault(key, t)
        took = duration(t - started.get(key, t))
        text: str
        if kind == "status":
            text = f"status {entry.get('status')}"
            if entry.get("waiting_for"):
                text += f" (waiting for {entry['waiting_for']})"
            if entry.get("wake_at"):
                text += f" until {when(entry['wake_at'])}"
            if entry.get("error"):
                text += f": {error_text(entry['error'])}"
            if entry.get("status") == "complete":
                text += f"; output {compact(entry.get('output'))}"
        elif kind == "step_start":
            started[key] = t
            text = f"step '{label}' attempt {entry.get('attempt')} started"
        elif kind == "step_fail":
            retry = entry.get("retry_at")
            text = (
                f"step '{label}' attempt {entry.get('attempt')} failed after {took}: "
                f"{error_text(entry.get('error'))}" + (f"; retry in {duration(retry - t)}" if retry else "")
            )
        elif kind == "step_done":
            text = (
                f"step '{label}' done after {took} (step took {duration(t - first_seen[key])}); "
                f"result {compact(entry.get('result'))}"
            )
        elif kind == "step_error":
            text = f"step '{label}' failed for good after {took}: {error_text(entry.get('error'))}"
        elif kind == "sleep":
            until = float(entry.get("until") or t)
            text = f"sleep '{label}' for {duration(until - t)}, until {when(until)}"
        elif kind == "wait":
            timeout = float(entry.get("timeout_at") or t)
            text = f"wait '{label}' for event {entry.get('event_type')!r}, timeout in {duration(timeout - t)}"
        elif kind == "event":
            event = entry.get("event") or {}
            text = (
                f"event {event.get('type')!r} delivered to '{label}' after {duration(t - first_seen[key])}; "
                f"payload {compact(event.get('payload'))}"
            )
        elif kind == "wait_timeout":
            text = f"wait '{label}' timed out after {duration(t - first_seen[key])}"
        elif kind == "control":
            text = f"{entry.get('action')} requested"
        else:
            text = f"{kind} {compact(entry)}"
        lines.append({"t": t, "offset": t - origin, "text": text})
    return lines


@user_errors
def run(args: argparse.Namespace) -> int:
    folder: Path = args.instance_dir
    data = read_folder(folder)
    meta, status, entries = data["instance"], data["status"], data["entries"]
    origin = float(
        meta.get("created_on_epoch")
        or status.get("created_on_epoch")
        or (entries[0].get("t", 0) if entries else 0)
    )
    lines = timeline(entries, origin)
    if args.json:
        print_json(
            {
                "folder": str(folder),
                "instance": meta,
                "status": status,
                "steps": build_steps(entries, time.time()),
                "timeline": lines,
                "inbox": data["inbox"],
                "restarts": data["restarts"],
                "problems": data["problems"],
            }
        )
        return 0
    state = status.get("status", "unknown")
    workflow = meta.get("workflow", folder.parent.parent.name)
    start, end = status.get("start_time"), status.get("end_time")
    print(
        labelled(
            [
                ("Instance", f"{meta.get('id', folder.name)} (workflow {workflow})"),
                (
                    "Status",
                    state
                    + (
                        f", waiting for {status['waiting_for']}"
                        if state == "waiting" and status.get("waiting_for")
                        else ""
                    ),
                ),
                ("Wakes at", when(status.get("wake_at")) if state == "waiting" else None),
                ("Params", compact(meta.get("params"))),
                ("Trigger", meta.get("trigger_source")),
                ("Created", when(meta.get("created_on") or status.get("created_on"))),
                ("Started", when(start)),
                ("Ended", when(end)),
                ("Steps", status.get("step_count")),
                ("Output", compact(status.get("output")) if state == "complete" else None),
                ("Error", error_text(status.get("error"))),
                (
                    "Restarted",
                    f"{data['restarts']} time(s); earlier runs kept as journal.*.restarted.jsonl"
                    if data["restarts"]
                    else None,
                ),
                ("Inbox", ", ".join(_inbox_text(i) for i in data["inbox"]) or None),
            ]
        )
    )
    print()
    print("Timeline (seconds since created):" if lines else "Timeline: nothing recorded yet")
    for line in lines:
        print(f"  {line['offset']:+10.3f}  {line['text']}")
    for problem in data["problems"]:
        print(f"  warning: {problem}")
    return 0


def _inbox_text(item: dict[str, Any]) -> str:
    if item["kind"] == "control":
        return f"{item['action']} (not taken yet)"
    if item["kind"] == "event":
        return f"event {item['type']!r} (not delivered yet)"
    return f"{item['file']} ({item['kind']})"


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "inspect",
        help="show an instance folder as a readable timeline",
        description="Print an instance's steps, attempts, sleeps, events, durations and "
        "errors from its folder (read only; works while a host runs it).",
    )
    p.add_argument(
        "instance_dir",
        metavar="INSTANCE_DIR",
        type=Path,
        help="the instance's folder: DATA/workflows/<workflow>/instances/<id>",
    )
    p.add_argument("--json", action="store_true", help="print JSON (with the steps folded per attempt)")
    p.set_defaults(handler=run)
