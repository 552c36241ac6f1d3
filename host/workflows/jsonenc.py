"""JSON encoders built once, for text the engine writes on every step and every status change.

`json.dumps(value, **options)` and even a reused `JSONEncoder.encode` build a new C encoder
object on each call (and `indent=` falls back to the pure-Python encoder, ~70 calls per status
document); these call one C encoder made once. Without the C accelerator (another Python), the
standard encoder does the same job.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable
from typing import Any


def _unserialisable(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def encoder(separators: tuple[str, str], allow_nan: bool = True) -> Callable[[Any], str]:
    """A function value -> JSON text (non-ASCII kept as is); TypeError or ValueError as json.dumps
    raises them, and ValueError for a structure that contains itself."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - Pythons without the C accelerator
        return json.JSONEncoder(separators=separators, ensure_ascii=False, allow_nan=allow_nan).encode
    # markers=None: no circular-reference bookkeeping per call; a cycle ends in RecursionError,
    # reported as the ValueError json.dumps gives
    item_separator, key_separator = separators
    c_encode = make(
        None,
        _unserialisable,
        json.encoder.encode_basestring,
        None,
        key_separator,
        item_separator,
        False,
        False,
        allow_nan,
    )

    def encode(value: Any) -> str:
        if isinstance(value, str):
            return json.encoder.encode_basestring(value)
        try:
            return "".join(c_encode(value, 0))
        except RecursionError:
            raise ValueError("Circular reference detected (or nesting too deep)") from None

    return encode


compact = encoder((",", ":"))
compact_strict = encoder((",", ":"), allow_nan=False)  # values users hand us: no NaN or Infinity
_readable = encoder((", ", ": "))


def document(doc: dict[str, Any]) -> str:
    """A status or instance document for people who `cat` it: one top-level field per line."""
    if not doc:
        return "{}\n"
    lines = ",\n".join(f"  {_key(key)}: {_value(value)}" for key, value in doc.items())
    return "{\n" + lines + "\n}\n"


_KEYS: dict[Any, str] = {}  # top-level field names seen so far (status documents have a dozen)
_SCALARS: dict[Any, str] = {None: "null", True: "true", False: "false"}


def _key(key: Any) -> str:
    text = _KEYS.get(key) if type(key) is str else None
    if text is None:
        text = _readable({key: 0})[1:-4]  # a key as json.dumps writes it (a number becomes "1")
        if type(key) is str and len(_KEYS) < 1024:
            _KEYS[key] = text
    return text


def _value(value: Any) -> str:
    # most fields of a status document are None, a string or an int: no encoder call for those
    kind = type(value)
    if kind is str:
        return json.encoder.encode_basestring(value)  # type: ignore[no-any-return]
    if value is None or kind is bool:
        return _SCALARS[value]
    if kind is int:
        return int.__repr__(value)
    return _readable(value)
