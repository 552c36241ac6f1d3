"""`waypost workflows instances pause|resume|terminate|restart|send-event|delete|terminate-all`: change
instances through the data directory (control requests and events go to the instance's inbox/, where
the host running it takes them; delete removes a final instance's folder now)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from host.admin import queries
from host.admin.envelope import from_exception
from host.cli.output import fail, print_json, user_errors
from host.cli.target import (
    Target,
    add_common,
    load_instance,
    load_target,
    parse_json_arg,
    positive,
    resolve_id,
)
from host.errors import InstanceNotFound, InvalidTransition, WaypostError
from host.workflows.ids import check_instance_id

STEP_TYPES = ("do", "sleep", "waitForEvent")
MAX_DELETE = 100  # as wrangler: at most 100 instances per delete


@user_errors
def cmd_control(args: argparse.Namespace) -> int:
    target, info, instance_id = load_instance(args)
    extra: dict[str, Any] = {}
    if getattr(args, "rollback", False):
        extra["rollback"] = True
    from_step = _from_step(args) if args.action == "restart" else None
    if from_step is not None:
        extra["from_step"] = from_step
    target.run(target.service.control, info.name, instance_id, args.action, "cli", **extra)
    if args.json:
        print_json({"id": instance_id, "workflow": info.name, "requested": args.action} | extra)
        return 0
    what = args.action + (" with rollback" if extra.get("rollback") else "")
    if from_step is not None:
        what += f" from {from_step['type']} {from_step['name']!r} (use {from_step['count']})"
    print(f"Asked instance {instance_id} of {info.name} to {what}; the host running it applies it.")
    return 0


def _from_step(args: argparse.Namespace) -> dict[str, Any] | None:
    """--from-step-name/-count/-type as the service's from_step (None without a name)."""
    if args.from_step_name is None:
        if args.from_step_count is not None or args.from_step_type is not None:
            raise ValueError("--from-step-name is required with --from-step-count or --from-step-type")
        return None
    count = 1 if args.from_step_count is None else args.from_step_count
    return {"name": args.from_step_name, "count": count, "type": args.from_step_type or "do"}


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


@user_errors
def cmd_delete(args: argparse.Namespace) -> int:
    """Delete each final instance named; the others are reported, and the exit status is then 1."""
    target = load_target(args)
    info = target.info(args.name)
    ids = list(args.id) + _ids_from_file(args.filename)
    if not ids:
        raise ValueError("name at least one instance id (or latest), or --filename FILE")
    if len(ids) > MAX_DELETE:
        raise ValueError(f"at most {MAX_DELETE} instances per delete, got {len(ids)}")
    deleted, errors = target.run(_delete_all, target, info.name, ids)
    if args.json:
        print_json({"deleted": [{"id": i} for i in deleted], "errors": errors})
    else:
        if deleted:
            print(f"Deleted from {info.name}: {', '.join(deleted)}")
        for error in errors:
            fail(f"{error['id']}: {error['message']}")
    return 1 if errors else 0


async def _delete_all(
    target: Target, workflow: str, ids: list[str]
) -> tuple[list[str], list[dict[str, str]]]:
    deleted: list[str] = []
    errors: list[dict[str, str]] = []
    for raw in dict.fromkeys(ids):
        try:
            instance_id = check_instance_id(resolve_id(target, workflow, raw))
            await target.service.delete(workflow, instance_id)
        except (WaypostError, ValueError, LookupError, OSError) as exc:
            error = from_exception(exc) if not isinstance(exc, LookupError) else None
            message = error.message if error is not None else str(exc)
            errors.append({"id": raw, "message": message.splitlines()[0] if message else type(exc).__name__})
        else:
            deleted.append(instance_id)
    return deleted, errors


def _ids_from_file(filename: str | None) -> list[str]:
    if filename is None:
        return []
    try:
        parsed = json.loads(Path(filename).read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{filename}: not JSON ({exc})") from None
    if not isinstance(parsed, list) or not all(isinstance(i, str) for i in parsed):
        raise ValueError(f"{filename}: expected a JSON array of instance ids")
    return parsed


@user_errors
def cmd_terminate_all(args: argparse.Namespace) -> int:
    target = load_target(args)
    info = target.info(args.name)
    statuses = (args.status,) if args.status else queries.TERMINABLE
    docs = [d for d in target.service.list_instances(info.name) if d.get("status") in statuses]
    asked = target.run(_terminate_each, target, info.name, [str(d["id"]) for d in docs])
    if args.json:
        print_json({"workflow": info.name, "status": args.status, "terminate_requested": asked})
    else:
        which = f" with status {args.status}" if args.status else ""
        print(f"Asked {len(asked)} instance(s) of {info.name}{which} to terminate.")
    return 0


async def _terminate_each(target: Target, workflow: str, ids: list[str]) -> list[str]:
    asked: list[str] = []
    for instance_id in ids:
        try:
            await target.service.control(workflow, instance_id, "terminate", "cli")
        except (InvalidTransition, InstanceNotFound):
            continue  # ended, or deleted, since the list was read
        asked.append(instance_id)
    return asked


def add_parsers(isub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    for action in ("pause", "resume", "terminate", "restart"):
        p = isub.add_parser(action, help=f"{action} an instance")
        p.add_argument("name", metavar="NAME")
        p.add_argument("id", metavar="ID", help="instance id, or latest")
        if action == "terminate":
            p.add_argument("--rollback", action="store_true", help="run the undo handlers first")
        if action == "restart":
            p.add_argument("--from-step-name", metavar="NAME", help="restart from this step")
            p.add_argument(
                "--from-step-count", type=positive, metavar="C", help="its C-th use of the name (default 1)"
            )
            p.add_argument("--from-step-type", choices=STEP_TYPES, help="the step's kind (default do)")
        add_common(p)
        p.set_defaults(handler=cmd_control, action=action)

    p = isub.add_parser("send-event", help="send an event to an instance's wait_for_event")
    p.add_argument("name", metavar="NAME")
    p.add_argument("id", metavar="ID", help="instance id, or latest")
    p.add_argument("--type", required=True, help="the event type")
    p.add_argument("--payload", metavar="JSON", default="{}", help="the event payload as JSON (default {})")
    add_common(p)
    p.set_defaults(handler=cmd_send_event)

    p = isub.add_parser("delete", help="delete final instances (complete, errored or terminated)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("id", metavar="ID", nargs="*", help="instance ids, or latest")
    p.add_argument("--filename", metavar="FILE", help="a JSON file holding an array of instance ids")
    add_common(p)
    p.set_defaults(handler=cmd_delete)

    p = isub.add_parser("terminate-all", help="terminate every instance not yet ended (or with --status)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--status", choices=queries.TERMINABLE, help="only instances with this status")
    add_common(p)
    p.set_defaults(handler=cmd_terminate_all)
