"""`waypost workflows ...`: wrangler's workflow commands, working straight on the data directory.

No server is needed: instances are created and read as files, and control requests and events go
into the instance's inbox/, where the host that runs the instance (now or later) takes them.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio

from host.admin import shapes
from host.cli.output import compact, duration, error_text, labelled, print_json, table, user_errors, when
from host.store.filestore import FileStore
from host.workflows.service import WorkflowService, prepare_create
from host.workflows.status import ACTIONS, InstanceStatus

T = TypeVar("T")

STATUSES = [s.value for s in InstanceStatus]


@dataclass
class Target:
    """The data directory, what config.yaml (if any) says about its workflows, and the service."""

    data_dir: Path
    durability: str
    defined: dict[str, shapes.WorkflowInfo]
    has_config: bool
    service: WorkflowService = field(init=False)

    def __post_init__(self) -> None:
        known = (lambda: set(self.defined)) if self.has_config else None
        self.service = WorkflowService(store=FileStore(self.data_dir, self.durability), known=known)

    def names(self) -> list[str]:
        return sorted(set(self.defined) | set(self.service.store.workflows()))

    def info(self, name: str) -> shapes.WorkflowInfo:
        """The workflow `name`; WorkflowNotFound unless config.yaml defines it (without one: it has data)."""
        self.service.require(name)
        return self.defined.get(name) or shapes.WorkflowInfo(name)

    def run(self, operation: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run one of the service's async operations to its end, durable writes included."""

        async def main() -> T:
            try:
                return await operation(*args)
            finally:
                await self.service.store.aclose()

        return anyio.run(main)


def load_target(args: argparse.Namespace) -> Target:
    """Find the data directory like `serve`: --config (or find_config), --data, WAYPOST_DATA_DIR."""
    from host.config import find_config, load_config

    path: Path | None = args.config
    if path is None:
        path = find_config(Path("."))
    config = load_config(path, overrides={"data_dir": args.data} if args.data else None)
    return Target(
        config.host.data_dir, config.host.durability, shapes.workflow_infos(config), path is not None
    )


def parse_json_arg(text: str | None, what: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{what} is not valid JSON: {exc}") from None


def resolve_id(target: Target, workflow: str, instance_id: str) -> str:
    """`latest` means the newest instance of the workflow."""
    if instance_id != "latest":
        return instance_id
    docs = target.service.list_instances(workflow)
    if not docs:
        raise LookupError(f"workflow {workflow!r} has no instances yet")
    return str(docs[0]["id"])


def load_instance(args: argparse.Namespace) -> tuple[Target, shapes.WorkflowInfo, str]:
    """The data directory, the workflow NAME and the instance ID|latest a command names."""
    target = load_target(args)
    info = target.info(args.name)
    return target, info, resolve_id(target, info.name, args.id)


# ---- commands -------------------------------------------------------------------------------------


@user_errors
def cmd_list(args: argparse.Namespace) -> int:
    target = load_target(args)
    docs = [
        shapes.workflow_doc(target.service, target.defined.get(n) or shapes.WorkflowInfo(n))
        for n in target.names()
    ]
    if args.json:
        print_json(docs)
        return 0
    if not docs:
        print(f"No workflows in config.yaml or in {target.data_dir}.")
        return 0
    rows = [
        (
            d["name"],
            d["class_name"] or "-",
            d["script_name"] or "-",
            sum(d["instances"].values()),
            _counts(d["instances"]),
            when(d["triggered_on"]) or "-",
        )
        for d in docs
    ]
    print(table(rows, ("Name", "Class", "Worker", "Instances", "By status", "Last triggered")))
    return 0


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "-"


@user_errors
def cmd_describe(args: argparse.Namespace) -> int:
    target = load_target(args)
    info = target.info(args.name)
    doc = shapes.workflow_doc(target.service, info)
    doc["version"] = shapes.version_doc(info, doc["created_on"])
    if args.json:
        print_json(doc)
        return 0
    limits = doc["version"]
    print(
        labelled(
            [
                ("Name", doc["name"]),
                ("Id", doc["id"]),
                ("Class", info.class_name or "(not in config.yaml)"),
                ("Worker", info.script_name or None),
                ("Version", limits["id"]),
                ("Steps limit", limits.get("limits", {}).get("steps")),
                ("Concurrency", limits.get("concurrency", {}).get("limit")),
                ("Last triggered", when(doc["triggered_on"]) or "never"),
                ("Instances", sum(doc["instances"].values())),
                ("By status", _counts(doc["instances"])),
            ]
        )
    )
    return 0


@user_errors
def cmd_trigger(args: argparse.Namespace) -> int:
    target = load_target(args)
    info = target.info(args.name)
    instance_id, params = prepare_create(args.id, parse_json_arg(args.params, "PARAMS_JSON"))
    status = target.run(target.service.create, info.name, instance_id, params, "api")
    if args.json:
        print_json(shapes.created_item(status, {"trigger_source": "api"}, info))
    else:
        print(f"Queued instance {instance_id} of workflow {info.name}; a running host starts it.")
    return 0


@user_errors
def cmd_instances_list(args: argparse.Namespace) -> int:
    target = load_target(args)
    info = target.info(args.name)
    docs = target.service.list_instances(info.name, args.status)
    if args.reverse:
        docs.reverse()
    if args.limit:
        docs = docs[: args.limit]
    if args.json:
        print_json(
            [
                shapes.instance_item(d, shapes.read_meta(target.service, info.name, d["id"]), info)
                | {"step_count": d.get("step_count"), "error": d.get("error")}
                for d in docs
            ]
        )
        return 0
    if not docs:
        print(f"No instances of {info.name}" + (f" with status {args.status}." if args.status else "."))
        return 0
    rows = [
        (
            d["id"],
            d.get("status"),
            when(d.get("created_on")),
            when(d.get("start_time")) or "-",
            when(d.get("end_time")) or "-",
            d.get("step_count", 0),
        )
        for d in docs
    ]
    print(table(rows, ("Id", "Status", "Created", "Started", "Ended", "Steps")))
    return 0


@user_errors
def cmd_instances_describe(args: argparse.Namespace) -> int:
    target, info, instance_id = load_instance(args)
    detail = shapes.instance_detail(target.service, info, instance_id)
    status = target.service.status(info.name, instance_id)
    detail.update({k: status.get(k) for k in ("modified_on", "wake_at", "waiting_for")})
    if args.json:
        print_json(detail)
        return 0
    start, end = detail["start"], detail["end"]
    took = _seconds(start, end) if start else None
    print(
        labelled(
            [
                ("Workflow", info.name),
                ("Instance", instance_id),
                ("Status", detail["status"]),
                ("Waiting for", status.get("waiting_for") if detail["status"] == "waiting" else None),
                ("Wakes at", when(status.get("wake_at")) if detail["status"] == "waiting" else None),
                ("Trigger", detail["trigger"]["source"]),
                ("Params", compact(detail["params"])),
                ("Queued", when(detail["queued"])),
                ("Started", when(start)),
                ("Ended", when(end)),
                ("Duration", duration(took) if took is not None else None),
                ("Steps", detail["step_count"]),
                ("Output", compact(detail["output"]) if detail["status"] == "complete" else None),
                ("Error", error_text(detail["error"])),
                ("Updated", when(status.get("modified_on"))),
            ]
        )
    )
    for step in detail["steps"]:
        print()
        print(_step_text(step, args.step_output))
    return 0


def _seconds(start: str | None, end: str | None) -> float | None:
    import datetime as dt

    if start is None:
        return None
    begin = dt.datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp()
    finish = dt.datetime.fromisoformat(end.replace("Z", "+00:00")).timestamp() if end else time.time()
    return finish - begin


def _step_text(step: dict[str, Any], show_output: bool) -> str:
    kind = step["type"]
    if kind == "termination":
        return labelled([("Type", "termination"), ("Trigger", step["trigger"]["source"])], indent=2)
    pairs: list[tuple[str, object]] = [
        ("Name", step["name"]),
        ("Type", kind),
        ("Start", when(step["start"])),
        ("End", when(step["end"])),
        ("Duration", duration(_seconds(step["start"], step["end"]))),
    ]
    if kind == "step":
        pairs.append(("Success", {True: "yes", False: "no", None: "running"}[step["success"]]))
    elif kind == "sleep":
        pairs.append(("Finished", "yes" if step["finished"] else "no"))
    else:
        pairs += [("Event type", step["event_type"]), ("Received", "yes" if step["finished"] else "no")]
    if show_output and kind != "sleep" and step.get("output") is not None:
        pairs.append(("Output", compact(step["output"], 500)))
    pairs.append(("Error", error_text(step.get("error"))))
    text = labelled(pairs, indent=2)
    if kind == "step" and step["attempts"]:
        rows = [
            (
                n,
                when(a["start"]),
                when(a["end"]) or "-",
                duration(_seconds(a["start"], a["end"])),
                {True: "success", False: "error", None: "working"}[a["success"]],
                error_text(a["error"]) or "",
            )
            for n, a in enumerate(step["attempts"], start=1)
        ]
        attempts = table(rows, ("Attempt", "Start", "End", "Duration", "State", "Error"))
        text += "\n" + "\n".join("    " + line for line in attempts.splitlines())
    return text


@user_errors
def cmd_control(args: argparse.Namespace) -> int:
    target, info, instance_id = load_instance(args)
    target.run(target.service.control, info.name, instance_id, args.action, "cli")
    if args.json:
        print_json({"id": instance_id, "workflow": info.name, "requested": args.action})
    else:
        print(
            f"Asked instance {instance_id} of {info.name} to {args.action}; the host running it applies it."
        )
    return 0


@user_errors
def cmd_send_event(args: argparse.Namespace) -> int:
    target, info, instance_id = load_instance(args)
    payload = parse_json_arg(args.payload, "--payload")
    target.run(target.service.send_event, info.name, instance_id, args.type, payload)
    if args.json:
        print_json({"id": instance_id, "workflow": info.name, "type": args.type, "payload": payload})
    else:
        print(f"Sent event {args.type} to instance {instance_id} of {info.name}.")
    return 0


# ---- parsers --------------------------------------------------------------------------------------


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config", metavar="PATH", type=Path, help="config file (default: ./config.yaml or ./wrangler.*)"
    )
    p.add_argument("--data", metavar="DIR", help="data directory (default: host.data_dir, or ./data)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    wf = subparsers.add_parser(
        "workflows",
        help="list, trigger and manage workflow instances",
        description="Manage workflows straight on the data directory, with or without a running host.",
    )
    sub = wf.add_subparsers(dest="workflows_command", metavar="COMMAND", required=True)

    p = sub.add_parser("list", help="list the workflows and their instance counts")
    _common(p)
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser("describe", help="show one workflow")
    p.add_argument("name", metavar="NAME")
    _common(p)
    p.set_defaults(handler=cmd_describe)

    p = sub.add_parser("trigger", help="create an instance (queued until a host runs it)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("params", metavar="PARAMS_JSON", nargs="?", help="the instance's params as JSON")
    p.add_argument("--id", help="instance id (default: a generated one)")
    _common(p)
    p.set_defaults(handler=cmd_trigger)

    inst = sub.add_parser("instances", help="list, describe and control instances")
    isub = inst.add_subparsers(dest="instances_command", metavar="COMMAND", required=True)

    p = isub.add_parser("list", help="list instances, newest first")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--status", choices=STATUSES, help="only instances with this status")
    p.add_argument("--reverse", action="store_true", help="oldest first")
    p.add_argument("--limit", type=int, metavar="N", help="at most N instances")
    _common(p)
    p.set_defaults(handler=cmd_instances_list)

    p = isub.add_parser("describe", help="status, params, output and every step of an instance")
    p.add_argument("name", metavar="NAME")
    p.add_argument("id", metavar="ID", nargs="?", default="latest", help="instance id, or latest (default)")
    p.add_argument(
        "--no-step-output", dest="step_output", action="store_false", help="leave step outputs out"
    )
    _common(p)
    p.set_defaults(handler=cmd_instances_describe)

    for action in ACTIONS:
        p = isub.add_parser(action, help=f"{action} an instance")
        p.add_argument("name", metavar="NAME")
        p.add_argument("id", metavar="ID", help="instance id, or latest")
        _common(p)
        p.set_defaults(handler=cmd_control, action=action)

    p = isub.add_parser("send-event", help="send an event to an instance's wait_for_event")
    p.add_argument("name", metavar="NAME")
    p.add_argument("id", metavar="ID", help="instance id, or latest")
    p.add_argument("--type", required=True, help="the event type")
    p.add_argument("--payload", metavar="JSON", help="the event payload as JSON")
    _common(p)
    p.set_defaults(handler=cmd_send_event)
