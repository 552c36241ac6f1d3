"""`waypost serve`: serve the deployment in the current folder (or --config's)."""

from __future__ import annotations

import argparse
from pathlib import Path

from host.cli.target import add_location
from host.log import FORMATS, LEVELS, setup_logging


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "serve",
        help="serve functions/ and config.yaml over HTTP",
        description="Serve the deployment: config.yaml (if any) and functions/.",
    )
    add_location(p)
    p.add_argument("--listen", metavar="HOST:PORT", help="address to serve on (default 127.0.0.1:8787)")
    p.add_argument("--no-reload", action="store_true", help="do not watch files for changes")
    p.add_argument(
        "--strict", action="store_true", help="a worker module that fails to import stops start-up"
    )
    p.add_argument(
        "--test-scheduled",
        action="store_true",
        help="add /__scheduled?cron=... and /cdn-cgi/handler/scheduled?cron=..., calling scheduled handlers",
    )
    p.add_argument("--log-level", choices=LEVELS, default="info", help="default: info")
    p.add_argument(
        "--log-format", choices=FORMATS, default="text", help="json: one JSON object a line (default: text)"
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # imported here so `waypost --help` stays fast
    from host.app import create_app
    from host.config import find_config, load_config
    from host.schedules.testroutes import scheduled_test_routes
    from host.server import serve

    setup_logging(args.log_level, args.log_format)
    path: Path | None = args.config
    if path is None:
        path = find_config(Path("."))
    overrides = {"listen": args.listen, "data_dir": args.data}
    config = load_config(path, overrides={k: v for k, v in overrides.items() if v})
    extra = scheduled_test_routes() if args.test_scheduled else []
    app = create_app(config, reload=not args.no_reload, strict=args.strict, extra_routes=extra)
    serve(app, config.host.listen, log_level=args.log_level, json_log=args.log_format == "json")
    return 0
