"""`waypost` / `python -m host`: the argparse root; each sub-command lives in its own module."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from host import __version__
from host.cli.output import fail
from host.errors import WaypostError

# One line per sub-command module; each defines add_parser(subparsers) and sets handler=...
COMMANDS = ("host.cli.serve", "host.cli.workflows", "host.cli.inspect")


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
    try:
        return int(handler(args) or 0)
    except WaypostError as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return 130
