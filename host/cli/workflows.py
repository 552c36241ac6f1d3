"""`waypost workflows ...`: wrangler's workflow commands, working straight on the data directory.

No server is needed: instances are created and read as files, and control requests and events go
into the instance's inbox/, where the host that runs the instance (now or later) takes them.
"""

from __future__ import annotations

import argparse

from host.admin import shapes
from host.cli import check, control, instances
from host.cli.output import labelled, print_json, table, user_errors, when
from host.cli.target import add_common, add_paging, load_target, page, parse_json_arg
from host.schedules.listing import describe_lines
from host.workflows.service import prepare_create

# ---- commands -------------------------------------------------------------------------------------


@user_errors
def cmd_list(args: argparse.Namespace) -> int:
    target = load_target(args)
    docs = [
        shapes.workflow_doc(target.service, target.defined.get(n) or shapes.WorkflowInfo(n))
        for n in page(target.names(), args)
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
                ("Schedules", describe_lines(doc.get("schedules") or [])),
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


# ---- parsers --------------------------------------------------------------------------------------


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    wf = subparsers.add_parser(
        "workflows",
        help="list, trigger and manage workflow instances",
        description="Manage workflows straight on the data directory, with or without a running host.",
    )
    sub = wf.add_subparsers(dest="workflows_command", metavar="COMMAND", required=True)

    p = sub.add_parser("list", help="list the workflows and their instance counts")
    add_paging(p, "workflows")
    add_common(p)
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser("describe", help="show one workflow")
    p.add_argument("name", metavar="NAME")
    add_common(p)
    p.set_defaults(handler=cmd_describe)

    p = sub.add_parser("trigger", help="create an instance (queued until a host runs it)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("params", metavar="PARAMS_JSON", nargs="?", help="the instance's params as JSON")
    p.add_argument("--id", help="instance id (default: a generated one)")
    add_common(p)
    p.set_defaults(handler=cmd_trigger)

    check.add_parser(sub)  # workflows check (host/cli/check.py)

    inst = sub.add_parser("instances", help="list, describe and control instances")
    isub = inst.add_subparsers(dest="instances_command", metavar="COMMAND", required=True)
    instances.add_parsers(isub)
    control.add_parsers(isub)
