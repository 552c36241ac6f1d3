"""`waypost workflows instances list|describe`: instances read straight from the data directory."""

from __future__ import annotations

import argparse
from typing import Any

from host.admin import queries, shapes
from host.cli.output import compact, duration, error_text, labelled, print_json, table, user_errors, when
from host.cli.steptext import DEFAULT_OUTPUT_LIMIT, seconds, step_text
from host.cli.target import add_common, add_paging, load_instance, load_target, page, positive


@user_errors
def cmd_list(args: argparse.Namespace) -> int:
    target = load_target(args)
    info = target.info(args.name)
    docs = target.service.list_instances(info.name, args.status)
    start = queries.parse_time(args.date_start, "--date-start")
    end = queries.parse_time(args.date_end, "--date-end", end_of_day=True)
    docs = [d for d in docs if queries.created_within(d, start, end)]
    if args.reverse:
        docs.reverse()
    if args.limit:
        docs = docs[: args.limit]
    docs = page(docs, args)
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
def cmd_describe(args: argparse.Namespace) -> int:
    target, info, instance_id = load_instance(args)
    detail = shapes.instance_detail(target.service, info, instance_id)
    status = target.service.status(info.name, instance_id)
    detail.update({k: status.get(k) for k in ("modified_on", "wake_at", "waiting_for")})
    if not args.step_output:
        for step in detail["steps"]:
            step.pop("output", None)
    if args.json:
        print_json(detail)
        return 0
    start, end = detail["start"], detail["end"]
    took = seconds(start, end) if start else None
    waiting = detail["status"] == "waiting"
    print(
        labelled(
            [
                ("Workflow", info.name),
                ("Instance", instance_id),
                ("Status", detail["status"]),
                ("Waiting for", status.get("waiting_for") if waiting else None),
                ("Wakes at", when(status.get("wake_at")) if waiting else None),
                ("Trigger", detail["trigger"]["source"]),
                ("Schedule", _schedule_text(detail.get("schedule"))),
                ("Params", compact(detail["params"])),
                ("Queued", when(detail["queued"])),
                ("Started", when(start)),
                ("Ended", when(end)),
                ("Duration", duration(took) if took is not None else None),
                ("Steps", detail["step_count"]),
                ("Output", compact(detail["output"]) if detail["status"] == "complete" else None),
                ("Error", error_text(detail["error"])),
                ("Rollback", _rollback_text(detail.get("rollback"))),
                ("Updated", when(status.get("modified_on"))),
            ]
        )
    )
    for step in detail["steps"]:
        print()
        print(step_text(step, args.step_output, args.truncate_output_limit))
    return 0


def _rollback_text(rollback: Any) -> str | None:
    if not isinstance(rollback, dict):
        return None
    outcome = str(rollback.get("outcome"))
    error = error_text(rollback.get("error"))
    return f"{outcome}: {error}" if error else outcome


def _schedule_text(schedule: Any) -> str | None:
    if not isinstance(schedule, dict):
        return None
    planned = schedule.get("scheduledTime")
    at = when(planned / 1000) if isinstance(planned, int | float) else None
    return f"{schedule.get('cron')}" + (f" (tick of {at})" if at else "")


def _flag(text: str) -> bool:
    """--step-output=false / true (wrangler's boolean flags take a value too)."""
    lowered = text.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def add_parsers(isub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = isub.add_parser("list", help="list instances, newest first")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--status", choices=queries.STATUSES, help="only instances with this status")
    p.add_argument("--reverse", action="store_true", help="oldest first")
    p.add_argument("--limit", type=int, metavar="N", help="at most N instances")
    p.add_argument("--date-start", metavar="ISO", help="only instances created at or after this time")
    p.add_argument(
        "--date-end",
        metavar="ISO",
        help="only instances created at or before this time (a date: that whole day)",
    )
    add_paging(p, "instances")
    add_common(p)
    p.set_defaults(handler=cmd_list)

    p = isub.add_parser("describe", help="status, params, output and every step of an instance")
    p.add_argument("name", metavar="NAME")
    p.add_argument("id", metavar="ID", nargs="?", default="latest", help="instance id, or latest (default)")
    p.add_argument(
        "--step-output",
        type=_flag,
        nargs="?",
        const=True,
        default=True,
        metavar="true|false",
        help="show each step's output (default true; --step-output=false leaves them out)",
    )
    p.add_argument(
        "--no-step-output", dest="step_output", action="store_false", help="same as --step-output=false"
    )
    p.add_argument(
        "--truncate-output-limit",
        type=positive,
        default=DEFAULT_OUTPUT_LIMIT,
        metavar="N",
        help=f"cut each step's output after N characters (default {DEFAULT_OUTPUT_LIMIT})",
    )
    add_common(p)
    p.set_defaults(handler=cmd_describe)
