"""R2's list(): one page of objects in key order, with keys under a delimiter rolled up into
delimited prefixes. Pure: the documents come in, the page goes out."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def list_documents(
    docs: Iterable[dict[str, Any]], prefix: str, delimiter: str, after: str | None, limit: int
) -> dict[str, Any]:
    """{objects, delimited_prefixes, truncated, cursor}: up to `limit` entries (an object or a
    prefix each) whose key starts with `prefix` and sorts after `after` (the previous cursor)."""
    keys = sorted((d for d in docs if d["key"].startswith(prefix)), key=lambda d: d["key"])
    objects: list[dict[str, Any]] = []
    prefixes: list[str] = []
    last: str | None = None
    truncated = False
    for doc in keys:
        key: str = doc["key"]
        if after is not None and (
            key <= after or (after.endswith(delimiter) and delimiter and key.startswith(after))
        ):
            continue
        rolled = _rolled_up(key, prefix, delimiter)
        if rolled is not None and prefixes and prefixes[-1] == rolled:
            continue
        if len(objects) + len(prefixes) == limit:
            truncated = True
            break
        if rolled is not None:
            prefixes.append(rolled)
            last = rolled
        else:
            objects.append(doc)
            last = key
    page: dict[str, Any] = {
        "objects": objects,
        "delimited_prefixes": prefixes,
        "truncated": truncated,
        "cursor": last if truncated else None,
    }
    page["delimitedPrefixes"] = prefixes
    return page


def _rolled_up(key: str, prefix: str, delimiter: str) -> str | None:
    """The delimited prefix `key` falls under, or None when it is listed itself."""
    if not delimiter:
        return None
    at = key.find(delimiter, len(prefix))
    return None if at < 0 else key[: at + len(delimiter)]
