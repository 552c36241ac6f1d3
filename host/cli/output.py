"""How commands print: aligned tables and labelled values for people, JSON for scripts, one-line errors."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from host.errors import WaypostError
from host.text import compact, duration, error_text, when

__all__ = [
    "compact",
    "duration",
    "error_text",
    "when",
    "table",
    "labelled",
    "print_json",
    "fail",
    "user_errors",
]


def table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    """Columns padded to their widest cell; the last column is not padded."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


def labelled(pairs: Sequence[tuple[str, object]], indent: int = 0) -> str:
    """`Label:  value` lines, values aligned; pairs whose value is None are left out."""
    shown = [(k, v) for k, v in pairs if v is not None]
    width = max((len(k) for k, _ in shown), default=0) + 1
    pad = " " * indent
    return "\n".join(f"{pad}{(k + ':').ljust(width)}  {v}" for k, v in shown)


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def fail(message: str) -> int:
    """Print `waypost: error: message` on one line to stderr; the exit status of a user error."""
    print(f"waypost: error: {message}", file=sys.stderr)
    return 1


def user_errors(handler: Callable[..., int]) -> Callable[..., int]:
    """Turn bad input (ValueError, not-found, Waypost errors, unreadable files) into one line and exit 1."""

    @functools.wraps(handler)
    def run(*args: Any, **kwargs: Any) -> int:
        try:
            return handler(*args, **kwargs)
        except BrokenPipeError:  # `waypost ... | head` closed the pipe: not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        except (WaypostError, ValueError, LookupError) as exc:
            return fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        except OSError as exc:
            return fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))

    return run
