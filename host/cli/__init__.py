"""`waypost` / `python -m host`: the argparse root; each sub-command lives in its own module."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from host import __version__
from host.cli.output import fail
from host.errors import WaypostError

# One line per sub-command module; each defines add_parser(subparsers) and sets handler=...
COMMANDS = (
    "host.cli.serve",
    "host.cli.workflows",
    "host.cli.inspect",
    "host.cli.kv",
    "host.cli.d1",
    "host.cli.r2",
    "host.cli.workers",
)


class _Parser(argparse.ArgumentParser):
    """Usage mistakes are user errors too: one line and exit status 1, like every other."""

    def error(self, message: str) -> NoReturn:
        self.exit(1, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="waypost",
        description="Serve Workers-style functions and durable workflows from a folder of files.",
    )
    parser.add_argument("--version", action="version", version=f"waypost {__version__}")
    parser.add_argument(  # wrangler's global -c; each command's own --config/-c wins
        "-c", "--config", dest="global_config", metavar="PATH", help="config file, for any command"
    )
    parser.add_argument("--cwd", metavar="DIR", help="run as if started in DIR (as wrangler's --cwd)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the command; a user error prints one line and returns 1."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    if args.global_config and getattr(args, "config", None) is None:
        args.config = Path(args.global_config)
    if args.cwd is not None:
        try:
            os.chdir(args.cwd)  # the command line's own process: paths are then relative to DIR
        except OSError as exc:
            return fail(f"--cwd {args.cwd}: {exc.strerror or exc}")
    try:
        return int(handler(args) or 0)
    except WaypostError as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return 130
