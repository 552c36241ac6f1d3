"""The JSON texts the engine writes: compact journal values, and documents people `cat`."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

# a step result's datetime and date values, journalled as tagged JSON that `cat` and `jq` still
# read, and given back as datetime and date (as Cloudflare's Python SDK converts them)
_TAGS = {"$datetime": dt.datetime.fromisoformat, "$date": dt.date.fromisoformat}


# made once: json.dumps with options builds a new encoder at every call, and the engine encodes
# every journal line (see the commit message for the A/B)
_compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def compact(value: Any) -> str:
    """One line of JSON, non-ASCII kept as it is."""
    return _compact(value)


def compact_strict(value: Any, dates: bool = False) -> str:
    """compact() for values users hand us: NaN and Infinity are refused (ValueError); `dates`:
    datetime and date values become {"$datetime": iso} and {"$date": iso}."""
    return (_strict_dates if dates else _strict)(value)


def _tag(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_strict = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
_strict_dates = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_tag
).encode


def untag(value: Any) -> Any:
    """A JSON value with the datetime and date tags of compact_strict(dates=True) turned back."""
    if isinstance(value, dict):
        if len(value) == 1:
            key, text = next(iter(value.items()))
            if key in _TAGS and isinstance(text, str):
                try:
                    return _TAGS[key](text)
                except ValueError:
                    pass
        return {k: untag(v) for k, v in value.items()}
    if isinstance(value, list):
        return [untag(v) for v in value]
    return value


def document(doc: dict[str, Any]) -> str:
    """A status or instance document for people: one top-level field per line."""
    if not doc:
        return "{}\n"
    lines = ",\n".join(
        f"  {json.dumps(str(key))}: {json.dumps(value, ensure_ascii=False)}" for key, value in doc.items()
    )
    return "{\n" + lines + "\n}\n"


def loads_object(data: bytes) -> dict[str, Any] | None:
    """The JSON object in `data`, or None if it is not one (empty, torn, garbage)."""
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None
