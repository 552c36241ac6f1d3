"""The JSON texts the engine writes: compact journal values, and documents people `cat`."""

from __future__ import annotations

import json
from typing import Any


def compact(value: Any) -> str:
    """One line of JSON, non-ASCII kept as it is."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def compact_strict(value: Any) -> str:
    """compact() for values users hand us: NaN and Infinity are refused (ValueError)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


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
