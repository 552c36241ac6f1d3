"""What the three bindings share: the error for bad input, results readable as dicts and by
attribute, options given as keywords or as one dict, values turned into bytes, and the refusal
of symlinks planted in their folders."""

from __future__ import annotations

import base64
import binascii
import errno
import inspect
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from host.errors import WaypostError


class StorageInputError(WaypostError, ValueError):
    """A bad key, value, option or type given to a KV, D1 or R2 binding; nothing was written."""

    code = "storage.bad_input"


class Record(dict[str, Any]):
    """A result as Cloudflare's Python workers see it: `row["name"]` and `row.name` both work.

    A field wins over a dict method of its name (`page.keys` is KV's list of keys, a column
    `values` is that column); the methods stay reachable as `dict.keys(record)`.
    """

    def __getattribute__(self, name: str) -> Any:
        if not name.startswith("_") and dict.__contains__(self, name):
            return dict.__getitem__(self, name)
        return super().__getattribute__(name)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"no field {name!r} (fields: {', '.join(dict.keys(self)) or 'none'})")


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def options(what: str, given: Any, keywords: Mapping[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    """Options passed as one dict (Cloudflare's JS style) and/or keywords, snake_case or camelCase,
    as a dict keyed by the snake_case names in `allowed`; an unknown option is an error naming it."""
    if given is not None and not isinstance(given, Mapping):
        raise StorageInputError(f"{what}: options must be a dict or keywords, got {type(given).__name__}")
    names = {n: n for n in allowed} | {camel(n): n for n in allowed}
    merged: dict[str, Any] = {}
    for source in (given or {}, keywords):
        for k, v in source.items():
            if k not in names:
                raise StorageInputError(
                    f"{what}: unknown option {k!r} (expected one of: {', '.join(allowed)})"
                )
            merged[names[k]] = v
    return {k: v for k, v in merged.items() if v is not None}


async def as_bytes(value: Any, what: str) -> bytes:
    """str (UTF-8), bytes-like, or a readable body (a Request: `await .body()`, or `.read()`)."""
    if isinstance(value, str):
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError:
            raise StorageInputError(f"{what}: the value is not valid Unicode text") from None
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    for method in ("body", "bytes", "read"):
        reader = getattr(value, method, None)
        if callable(reader):
            data = reader()
            if inspect.isawaitable(data):
                data = await data
            if isinstance(data, bytes | bytearray | memoryview):
                return bytes(data)
    raise StorageInputError(
        f"{what}: the value must be str, bytes or a readable body, got {type(value).__name__}"
    )


def key_text(key: Any, what: str, limit: int) -> str:
    """`key` if it is a non-empty str of at most `limit` UTF-8 bytes; StorageInputError otherwise."""
    if not isinstance(key, str):
        raise StorageInputError(f"{what}: the key must be a str, got {type(key).__name__}")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise StorageInputError(f"{what}: the key is not valid Unicode text") from None
    if size == 0:
        raise StorageInputError(f"{what}: the key is empty")
    if size > limit:
        raise StorageInputError(f"{what}: the key is {size} bytes, over the limit of {limit} bytes")
    return key


def refuse_symlinks(*paths: str | Path) -> None:
    """OSError(ELOOP) if any of `paths` is a symlink: data/ is never left through one."""
    for path in paths:
        if os.path.islink(path):
            raise OSError(errno.ELOOP, "refusing to follow a symlink in the data directory", str(path))


def page_cursor(last_key: str) -> str:
    """The cursor a list page gives out: the last key listed, URL-safe base64 (opaque to users)."""
    return base64.urlsafe_b64encode(last_key.encode("utf-8")).decode("ascii")


def cursor_key(cursor: Any, what: str, owner: str) -> str | None:
    """The key a `page_cursor` names (None for no cursor); StorageInputError for anything else.
    `what` names the call ("KV list"), `owner` what gave the cursor out ("namespace")."""
    if cursor is None or cursor == "":
        return None
    if not isinstance(cursor, str):
        raise StorageInputError(f"{what}: cursor must be a str, got {type(cursor).__name__}")
    try:
        return base64.b64decode(cursor.encode("ascii"), altchars=b"-_", validate=True).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeError):
        raise StorageInputError(f"{what}: {cursor!r} is not a cursor this {owner} gave out") from None
