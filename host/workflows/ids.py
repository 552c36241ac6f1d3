"""Validation of names, ids and JSON values against the limits of SPEC section 7.

Every id and name that becomes part of a path passes through here first, so nothing a request
carries can reach outside the data directory.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from host.errors import LimitExceeded
from host.workflows.jsonenc import compact_strict

ONE_MIB = 1024 * 1024
MAX_BATCH = 100
_ID = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9\-_]*")
# C0, DEL and C1 controls, and the Unicode line and paragraph separators: each breaks a line
# (or a terminal) where a name is shown. The ids' pattern is ASCII, so it refuses them too.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _check_pattern(value: object, what: str, max_len: int) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string, got {type(value).__name__}")
    if not 1 <= len(value) <= max_len:
        raise ValueError(f"{what} {value!r} must be 1 to {max_len} characters")
    if not _ID.fullmatch(value):
        raise ValueError(
            f"{what} {value!r} must match ^[a-zA-Z0-9_][a-zA-Z0-9-_]*$ "
            "(letters, digits, '_' and '-', not starting with '-')"
        )
    return value


def check_instance_id(value: object) -> str:
    """Return `value` if it is a valid instance id, else raise ValueError naming the rule."""
    return _check_pattern(value, "instance id", 64)


def check_name(value: object, what: str = "workflow name") -> str:
    """Workflow and worker names follow the id rule, 1 to 64 characters."""
    return _check_pattern(value, what, 64)


def check_event_type(value: object) -> str:
    """Event types follow the id rule, 1 to 100 characters."""
    return _check_pattern(value, "event type", 100)


def check_step_name(value: object) -> str:
    """Step names are 1 to 256 characters without control characters (C0, DEL, C1, U+2028 and
    U+2029)."""
    if not isinstance(value, str):
        raise ValueError(f"step name must be a string, got {type(value).__name__}")
    if value.isprintable() and 0 < len(value) <= 256:
        return value  # no control character in it: the search below is not needed
    if not 1 <= len(value) <= 256:
        raise ValueError(f"step name {value[:40]!r} must be 1 to 256 characters")
    if _CONTROL.search(value):
        raise ValueError(f"step name {value!r} must not contain control characters")
    return value


def new_instance_id() -> str:
    return uuid.uuid4().hex


def encode_json(value: Any, what: str, limit: int = ONE_MIB, dates: bool = False) -> str:
    """Encode `value` as compact JSON, refusing non-JSON values and anything over `limit` bytes;
    `dates`: datetime and date values are tagged (jsonenc.compact_strict)."""
    try:
        text = compact_strict(value, dates)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be JSON-serialisable: {exc}") from None
    except RecursionError:
        raise ValueError(f"{what} is nested too deeply to be stored as JSON") from None
    size = len(text.encode())
    if size > limit:
        raise LimitExceeded(f"{what} is {size} bytes of JSON, over the limit of {limit} bytes (1 MiB)")
    return text


def check_json(value: Any, what: str, limit: int = ONE_MIB) -> Any:
    """Validate like encode_json and return a plain-JSON copy (tuples become lists)."""
    return json.loads(encode_json(value, what, limit))  # nesting was bounded by encode_json
