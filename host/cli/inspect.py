"""`waypost inspect INSTANCE_DIR` or `waypost inspect NAME ID|latest`: an instance folder as a readable
timeline, read without writing."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from host.admin.steplog import build_steps, timeline
from host.admin.steps import REDACTED
from host.cli.output import compact, error_text, labelled, print_json, user_errors, when
from host.cli.target import add_common, load_target, resolve_id
from host.errors import InstanceNotFound
from host.store.fileread import read_folder


def instance_folder(args: argparse.Namespace) -> Path:
    """INSTANCE_DIR as given, or the folder of instance ID|latest of workflow NAME in the data
    directory (found as the `workflows` commands find it)."""
    if args.id is None:
        return Path(args.instance_dir)
    target = load_target(args)
    info = target.info(args.instance_dir)
    instance_id = resolve_id(target, info.name, args.id)
    if not target.service.exists(info.name, instance_id):
        raise InstanceNotFound(f"instance {instance_id!r} not found in workflow {info.name!r}")
    return target.data_dir / "workflows" / info.name / "instances" / instance_id


def redacted(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries with the result of each step whose config says `sensitive: "output"` replaced by
    "[REDACTED]" (the journal on disk keeps it: replay needs it; people reading it do not)."""
    hidden: set[tuple[Any, Any]] = set()
    shown: list[dict[str, Any]] = []
    for entry in entries:
        key = (entry.get("name"), entry.get("count") or 1)
        config = entry.get("config")
        if entry.get("type") == "step_start" and isinstance(config, dict):
            if config.get("sensitive") == "output":
                hidden.add(key)
        elif "result" in entry and key in hidden and entry.get("result") is not None:
            entry = entry | {"result": REDACTED}
        shown.append(entry)
    return shown


@user_errors
def run(args: argparse.Namespace) -> int:
    folder = instance_folder(args)
    data = read_folder(folder)
    meta, status, entries = data["instance"], data["status"], redacted(data["entries"])
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
        "errors from its folder (read only; works while a host runs it). Name the folder, "
        "or the workflow and the instance id (or latest).",
        usage="%(prog)s [-h] [--json] [-c PATH] [--data DIR] (INSTANCE_DIR | NAME ID)",
    )
    p.add_argument(
        "instance_dir",
        metavar="INSTANCE_DIR|NAME",
        help="the instance's folder (DATA/workflows/<workflow>/instances/<id>), or a workflow name",
    )
    p.add_argument("id", metavar="ID", nargs="?", help="with NAME: the instance id, or latest")
    add_common(p)
    p.set_defaults(handler=run)
