"""`waypost workers list`: the workers a deployment serves, their routes, bindings and crons.

Read from the configuration only (config.yaml or a wrangler file, plus the drop-ins in
functions/), so it works with or without a server; no worker module is imported.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from host.cli.output import print_json, table, user_errors
from host.config import WorkerConfig, display_path, find_config, load_config
from host.schedules.listing import next_ticks


def describe(worker: WorkerConfig) -> dict[str, Any]:
    """One worker as `workers list --json` prints it."""
    bindings: dict[str, str] = {name: "var" for name in worker.vars}
    bindings.update({s.binding: f"service {s.service}" for s in worker.services})
    bindings.update({w.binding: f"workflow {w.name}" for w in worker.workflows})
    bindings.update({k.binding: f"kv {k.id}" for k in worker.kv_namespaces})
    bindings.update({d.binding: f"d1 {d.database_name}" for d in worker.d1_databases})
    bindings.update({r.binding: f"r2 {r.bucket_name}" for r in worker.r2_buckets})
    return {
        "name": worker.name,
        "main": display_path(worker.main),
        "routes": list(worker.routes),
        "dropin": worker.dropin,
        "bindings": bindings,
        "crons": next_ticks(worker.crons),
    }


@user_errors
def cmd_list(args: argparse.Namespace) -> int:
    path: Path | None = args.config if args.config is not None else find_config(Path("."))
    workers = [describe(w) for w in load_config(path).workers]
    if args.json:
        print_json(workers)
        return 0
    rows = [
        (
            w["name"] + (" (drop-in)" if w["dropin"] else ""),
            ", ".join(w["routes"]) or "-",
            ", ".join(f"{k}={v}" for k, v in w["bindings"].items()) or "-",
            "; ".join(f"{c['cron']} (next {c['next_tick']})" for c in w["crons"]) or "-",
        )
        for w in workers
    ]
    print(table(rows, ("NAME", "ROUTES", "BINDINGS", "CRONS")) if rows else "no workers")
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("workers", help="list the workers, their routes, bindings and crons")
    sub = p.add_subparsers(dest="workers_command", metavar="COMMAND", required=True)
    listing = sub.add_parser(
        "list",
        help="the workers this deployment serves",
        description="Each worker's routes, bindings and cron triggers (with the next tick, UTC), "
        "read from config.yaml or the wrangler file and functions/; no server needed.",
    )
    listing.add_argument(
        "-c", "--config", metavar="PATH", type=Path, help="config file (default: ./config.yaml, ./wrangler.*)"
    )
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(handler=cmd_list)
