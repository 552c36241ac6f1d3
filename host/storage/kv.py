"""`env.CACHE`: a KV namespace binding with Cloudflare's methods and options, on a KVStore."""

from __future__ import annotations

import json
import math
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread

from host.storage.kvstore import Entry, KVStore
from host.storage.quickread import NotQuick
from host.storage.shapes import (
    Record,
    StorageInputError,
    as_bytes,
    cursor_key,
    key_text,
    options,
    page_cursor,
)

T = TypeVar("T")

MAX_KEY = 512
MAX_VALUE = 25 * 1024 * 1024
MAX_METADATA = 1024  # bytes of JSON, as Cloudflare
MIN_TTL_S = 1.0  # Cloudflare asks for 60 s; tests and short caches here may use less
MAX_LIST = 1000
SWEEP_EVERY_S = 60.0
TYPES = ("text", "json", "bytes", "arrayBuffer", "stream")


class KVNamespace:
    """A KV namespace kept in `folder` (data/kv/<id>/); every write is durable when it returns."""

    def __init__(
        self, folder: Path, *, clock: Callable[[], float] = time.time, sweep_every: float = SWEEP_EVERY_S
    ) -> None:
        self.store = KVStore(folder)
        self._clock = clock
        self._sweep_every = sweep_every
        self._next_sweep = 0.0

    async def get(self, key: Any, type: Any = None, **opts: Any) -> Any:
        """The value of `key` (or a dict of values for a list of keys) as `type`; None when absent."""
        kind = self._type("get", type, opts)
        if isinstance(key, list | tuple):
            keys = [key_text(k, "KV get", MAX_KEY) for k in key]
            if not 1 <= len(keys) <= 100:
                raise StorageInputError("KV get: a list of keys holds 1 to 100 keys")
            entries = await self._run(lambda now: [self.store.get(k, now) for k in keys])
            return {k: _decode(e, kind) for k, e in zip(keys, entries, strict=True)}
        name = key_text(key, "KV get", MAX_KEY)
        now = self._clock()
        if now < self._next_sweep:  # no sweep due: try the read on this thread first
            found = self.store.peek(name, now)
            if not isinstance(found, NotQuick):
                return _decode(found, kind)
        return _decode(await self._run(lambda now: self.store.get(name, now)), kind)

    async def get_with_metadata(self, key: Any, type: Any = None, **opts: Any) -> Record:
        """{value, metadata, cacheStatus}: value and metadata None when the key is absent."""
        kind = self._type("getWithMetadata", type, opts)
        name = key_text(key, "KV getWithMetadata", MAX_KEY)
        entry = await self._run(lambda now: self.store.get(name, now))
        metadata = None if entry is None or entry.metadata is None else json.loads(entry.metadata)
        return Record(value=_decode(entry, kind), metadata=metadata, cacheStatus=None)

    getWithMetadata = get_with_metadata  # noqa: N815 - Cloudflare's name

    async def put(self, key: Any, value: Any, options_: Any = None, **opts: Any) -> None:
        """Store `value` (str, bytes or a readable body) under `key`; durable when this returns."""
        name = key_text(key, "KV put", MAX_KEY)
        given = options("KV put", options_, opts, ("expiration", "expiration_ttl", "metadata"))
        data = await as_bytes(value, "KV put")
        if len(data) > MAX_VALUE:
            raise StorageInputError(
                f"KV put: the value is {len(data)} bytes, over the limit of {MAX_VALUE} bytes (25 MiB)"
            )
        metadata = _metadata(given.get("metadata"))
        now = self._clock()
        expiration = _expiration(given, now)
        await self._run(lambda now: self.store.put(name, data, expiration, metadata))

    async def delete(self, key: Any) -> None:
        """Remove `key` (no error when it is absent); durable when this returns."""
        name = key_text(key, "KV delete", MAX_KEY)
        await self._run(lambda now: self.store.delete(name))

    async def list(self, options_: Any = None, **opts: Any) -> Record:
        """{keys: [{name, expiration?, metadata?}], list_complete, cursor?} in key order."""
        given = options("KV list", options_, opts, ("prefix", "limit", "cursor"))
        prefix = given.get("prefix", "")
        if not isinstance(prefix, str):
            raise StorageInputError(f"KV list: prefix must be a str, got {prefix.__class__.__name__}")
        limit = given.get("limit", MAX_LIST)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST:
            raise StorageInputError(
                f"KV list: limit must be a whole number from 1 to {MAX_LIST}, got {limit!r}"
            )
        after = cursor_key(given.get("cursor"), "KV list", "namespace")
        found, complete = await self._run(lambda now: self.store.list(prefix, after, limit, now))
        keys = []
        for item in found:
            shown = Record(name=item.key)
            if item.expiration is not None:
                shown["expiration"] = math.ceil(item.expiration)
            if item.metadata is not None:
                shown["metadata"] = json.loads(item.metadata)
            keys.append(shown)
        result = Record(keys=keys, list_complete=complete, cacheStatus=None)
        if not complete:
            result["cursor"] = page_cursor(found[-1].key)
        return result

    def close(self) -> None:
        self.store.close()

    def _type(self, what: str, type_: Any, opts: dict[str, Any]) -> str:
        given = type_ if isinstance(type_, dict) else {}
        if isinstance(type_, str):
            opts = {**opts, "type": type_}
        kind = options(f"KV {what}", given, opts, ("type", "cache_ttl")).get("type", "text")
        if kind not in TYPES:
            raise StorageInputError(f"KV {what}: type must be one of {', '.join(TYPES)}, got {kind!r}")
        return str(kind)

    async def _run(self, fn: Callable[[float], T]) -> T:
        """fn(now) on a worker thread, sweeping expired keys first when a sweep is due."""
        now = self._clock()
        sweep = now >= self._next_sweep
        if sweep:
            self._next_sweep = now + self._sweep_every

        def work() -> T:
            if sweep:
                self.store.sweep(now)
            return fn(now)

        return await anyio.to_thread.run_sync(work)

    def __repr__(self) -> str:
        return f"KVNamespace({str(self.store.file.path.parent)!r})"


def _decode(entry: Entry | None, kind: str) -> Any:
    if entry is None:
        return None
    if kind in ("bytes", "arrayBuffer"):
        return entry.value
    if kind == "stream":
        return _stream(entry.value)
    text = entry.value.decode("utf-8", errors="replace")
    if kind == "json":
        try:
            return json.loads(text)
        except ValueError as exc:
            raise StorageInputError(f"KV get: the value of {entry.key!r} is not JSON: {exc}") from None
    return text


async def _stream(data: bytes, chunk: int = 65536) -> AsyncIterator[bytes]:
    for start in range(0, len(data), chunk):
        yield data[start : start + chunk]


def _metadata(value: Any) -> str | None:
    if value is None:
        return None
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StorageInputError(f"KV put: metadata must be JSON-serializable: {exc}") from None
    if len(text.encode("utf-8")) > MAX_METADATA:
        raise StorageInputError(f"KV put: metadata is over the limit of {MAX_METADATA} bytes of JSON")
    return text


def _expiration(given: dict[str, Any], now: float) -> float | None:
    for name in ("expiration", "expiration_ttl"):
        value = given.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise StorageInputError(f"KV put: {name} must be a number of seconds, got {value!r}")
        if value is not None and not math.isfinite(value):
            raise StorageInputError(f"KV put: {name} must be finite, got {value!r}")
    if "expiration_ttl" in given:
        ttl = float(given["expiration_ttl"])
        if ttl < MIN_TTL_S:
            raise StorageInputError(f"KV put: expiration_ttl must be at least {MIN_TTL_S:g} s, got {ttl:g}")
        return now + ttl
    if "expiration" in given:
        at = float(given["expiration"])
        if at < now + MIN_TTL_S:
            raise StorageInputError(
                f"KV put: expiration {at:g} is not at least {MIN_TTL_S:g} s in the future (epoch seconds)"
            )
        return at
    return None
