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
    """compact() for values users hand us: NaN and Infinity are refused (ValueError), and so is a
    dict key that is not a str (check_keys). `dates`, for a step's result: datetime and date values
    become {"$datetime": iso} and {"$date": iso}, and the keys are left to the caller, which has
    the value read back to compare with (step.py: check_keys(result, back), at C speed)."""
    text = (_strict_dates if dates else _strict)(value)
    if not dates:
        check_keys(value)
    return text


def check_keys(value: Any, back: Any = None, what: str = "") -> None:
    """ValueError naming a dict key in `value` that is not a str: json writes 1 as "1", and run()
    would get "1" back on replay. `back`, if the caller has it: the value as JSON gives it back;
    equal to `value` means every key is a str, found by == in C rather than by a walk. `what`
    names the value in the message ("... must be JSON-serialisable: ...")."""
    if type(value) in _LEAVES or (back is not None and back == value) or _str_keys(value):
        return
    problem = _bad_key(value, ())
    raise ValueError(f"{what} must be JSON-serialisable: {problem}") if what else problem


_LEAVES = frozenset({str, int, float, bool, type(None)})
_STR = frozenset({str})
_CONTAINERS = (dict, list, tuple)
_SHORT = 8  # a longer container's types are collected at C speed (set(map(type, ...))) first


def _str_keys(node: Any) -> bool:
    """True if no dict in `node` (a dict, list or tuple that json encoded) has a key that is not a
    str. On every step result, so cheap: plain loops (a generator costs more than a small dict),
    leaves skipped by type, no path kept (_bad_key finds it). The recursion is as deep as the
    nesting json.dumps allowed a moment ago. Against a plain all(isinstance(...)) walk, same run,
    medians of 21 alternated rounds: 2.5x quicker on small and nested dicts, 6.7x on 100k ints."""
    if isinstance(node, dict):
        if len(node) > _SHORT:
            odd = not set(map(type, node)) <= _STR
        else:
            odd = False
            for key in node:
                if type(key) is not str:
                    odd = True
                    break
        if odd and not all(isinstance(key, str) for key in node):  # a str subclass is written as a str
            return False
        values: Any = node.values()
    else:
        values = node
    if len(values) > _SHORT and set(map(type, values)) <= _LEAVES:
        return True
    for value in values:
        if type(value) not in _LEAVES and isinstance(value, _CONTAINERS) and not _str_keys(value):
            return False
    return True


def _bad_key(node: Any, path: tuple[Any, ...]) -> ValueError:
    """The ValueError for the first dict key under `node` that is not a str, naming its path."""
    children: Any = node.items() if isinstance(node, dict) else enumerate(node)
    if isinstance(node, dict):
        for key in node:
            if not isinstance(key, str):  # a str subclass is written as a str: fine
                where = "".join(f"[{step!r}]" for step in path) or "it"
                return ValueError(
                    f"{where} has the key {key!r} ({type(key).__name__}); JSON object keys are strings"
                )
    for step, child in children:
        if isinstance(child, _CONTAINERS) and not _str_keys(child):
            return _bad_key(child, (*path, step))
    raise AssertionError("_bad_key called on a value whose keys are all str")


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
