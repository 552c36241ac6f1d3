"""`env.FILES`: an R2 bucket binding (put/get/head/delete/list) and the objects it returns."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio.to_thread

from host.storage.quickread import NotQuick
from host.storage.r2list import list_documents
from host.storage.r2meta import custom_metadata, header_name, http_metadata
from host.storage.r2store import R2Store
from host.storage.r2tidy import tidy
from host.storage.shapes import (
    Record,
    StorageInputError,
    as_bytes,
    cursor_key,
    key_text,
    options,
    page_cursor,
)

MAX_KEY = 1024
MAX_LIST = 1000
MAX_DELETE = 1000
QUICK_SIZE = 1024 * 1024  # objects up to this size are read on the caller's thread (docs say why)


class R2Object:
    """What head() and put() return: the object's key, size, etag, upload time and metadata."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.key: str = doc["key"]
        self.version: str = doc["version"]
        self.size: int = doc["size"]
        self.etag: str = doc["etag"]
        self.http_etag = f'"{self.etag}"'
        self.uploaded = datetime.fromisoformat(doc["uploaded"])
        self.http_metadata: dict[str, str] = dict(doc.get("http_metadata") or {})
        self.custom_metadata: dict[str, str] = dict(doc.get("custom_metadata") or {})
        self.checksums = {"md5": self.etag}
        self.storage_class = "Standard"
        # Cloudflare's camelCase names, for code written against the JavaScript API
        self.httpEtag, self.httpMetadata, self.customMetadata = (  # noqa: N815
            self.http_etag,
            self.http_metadata,
            self.custom_metadata,
        )
        self.storageClass = self.storage_class  # noqa: N815

    def write_http_metadata(self, headers: Any) -> None:
        """Set the http_metadata as headers on `headers` (a mutable mapping, e.g. Response.headers)."""
        for name, value in self.http_metadata.items():
            headers[header_name(name)] = value

    writeHttpMetadata = write_http_metadata  # noqa: N815

    def __repr__(self) -> str:
        return f"R2Object(key={self.key!r}, size={self.size}, etag={self.etag!r})"


class R2ObjectBody(R2Object):
    """What get() returns: an R2Object with its content."""

    def __init__(self, doc: dict[str, Any], data: bytes) -> None:
        super().__init__(doc)
        self.body = data
        self.body_used = self.bodyUsed = False  # noqa: N815

    async def bytes(self) -> bytes:
        return self.body

    array_buffer = arrayBuffer = bytes  # noqa: N815

    async def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    async def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise StorageInputError(f"R2: object {self.key!r} is not JSON: {exc}") from None


class R2Bucket:
    """The bucket kept in `folder` (data/r2/<bucket>/); writes are durable when they return."""

    def __init__(self, folder: Path, *, tidy: bool = True) -> None:
        self.store = R2Store(folder)
        # what puts cut short by a crash left is removed before this object's first write
        # (host.storage.r2tidy; a whole-bucket listing, so the CLI's one-off writes skip it)
        self._untidy = tidy

    def _write(self, fn: Callable[..., None], *args: Any) -> None:
        """fn(*args) on this worker thread, the bucket tidied first if this is the first write."""
        if self._untidy:
            self._untidy = False
            tidy(self.store)
        fn(*args)

    async def head(self, key: Any) -> R2Object | None:
        name = key_text(key, "R2 head", MAX_KEY)
        try:  # one small read, cheaper here than a thread hop
            doc = self.store.head(name)
        except (OSError, ValueError):
            doc = await anyio.to_thread.run_sync(self.store.head, name)
        return None if doc is None else R2Object(doc)

    async def get(self, key: Any, options_: Any = None, **opts: Any) -> R2ObjectBody | None:
        """The object with its content (or the `range` of it asked for), or None."""
        name = key_text(key, "R2 get", MAX_KEY)
        given = options("R2 get", options_, opts, ("range",))
        found = self.store.peek(name, QUICK_SIZE)
        if isinstance(found, NotQuick):
            found = await anyio.to_thread.run_sync(self.store.get, name)
        if found is None:
            return None
        doc, data = found
        if "range" in given:
            data = _slice(data, given["range"])
        return R2ObjectBody(doc, data)

    async def put(self, key: Any, value: Any, options_: Any = None, **opts: Any) -> R2Object:
        """Store `value` (str, bytes, a readable body or None) under `key`, replacing any object there."""
        name = key_text(key, "R2 put", MAX_KEY)
        given = options(
            "R2 put", options_, opts, ("http_metadata", "custom_metadata", "md5", "storage_class")
        )
        http = http_metadata(given.get("http_metadata"))
        custom = custom_metadata(given.get("custom_metadata"))
        if given.get("storage_class", "Standard") != "Standard":
            raise StorageInputError("R2 put: storage_class must be 'Standard' here")
        data = b"" if value is None else await as_bytes(value, "R2 put")
        version = os.urandom(16).hex()
        doc: dict[str, Any] = {
            "key": name,
            "version": version,
            "size": len(data),
            "uploaded": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "http_metadata": http,
            "custom_metadata": custom,
            "data": f"{hashlib.sha256(name.encode('utf-8')).hexdigest()}.{version}.bin",
        }
        if "md5" in given:  # checked before anything is written; else computed by the put
            doc["etag"] = await anyio.to_thread.run_sync(_md5, data)
            if _md5_hex(given["md5"]) != doc["etag"]:
                raise StorageInputError("R2 put: the md5 given does not match the value")
        await anyio.to_thread.run_sync(self._write, self.store.put, name, data, doc)
        return R2Object(doc)

    async def delete(self, keys: Any) -> None:
        """Remove one key or a list of up to 1,000; absent keys are not an error."""
        items = keys if isinstance(keys, list | tuple) else [keys]
        if len(items) > MAX_DELETE:
            raise StorageInputError(f"R2 delete: at most {MAX_DELETE} keys at once, got {len(items)}")
        names = [key_text(k, "R2 delete", MAX_KEY) for k in items]
        await anyio.to_thread.run_sync(self._write, self.store.delete, names)

    async def list(self, options_: Any = None, **opts: Any) -> Record:
        """{objects, truncated, cursor?, delimited_prefixes} in key order."""
        given = options(
            "R2 list", options_, opts, ("prefix", "limit", "cursor", "delimiter", "start_after", "include")
        )
        prefix, delimiter = given.get("prefix", ""), given.get("delimiter", "")
        start_after = given.get("start_after")
        for what, value in (("prefix", prefix), ("delimiter", delimiter), ("start_after", start_after)):
            if value is not None and not isinstance(value, str):
                raise StorageInputError(f"R2 list: {what} must be a str, got {type(value).__name__}")
        limit = given.get("limit", MAX_LIST)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST:
            raise StorageInputError(
                f"R2 list: limit must be a whole number from 1 to {MAX_LIST}, got {limit!r}"
            )
        after = cursor_key(given.get("cursor"), "R2 list", "bucket")
        if start_after is not None and (after is None or start_after > after):
            after = start_after
        docs = await anyio.to_thread.run_sync(lambda: list(self.store.documents()))
        page = list_documents(docs, prefix, delimiter, after, limit)
        page["objects"] = [R2Object(d) for d in page["objects"]]
        if page.get("cursor") is not None:
            page["cursor"] = page_cursor(page["cursor"])
        return Record(page)

    def __repr__(self) -> str:
        return f"R2Bucket({str(self.store.folder)!r})"


def _slice(data: bytes, spec: Any) -> bytes:
    if not isinstance(spec, dict):
        raise StorageInputError("R2 get: range must be a dict with offset/length or suffix")
    for k, v in spec.items():
        if k not in ("offset", "length", "suffix") or isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise StorageInputError(
                f"R2 get: range.{k} must be offset, length or suffix, a whole number >= 0"
            )
    if "suffix" in spec:
        return data[len(data) - spec["suffix"] :] if spec["suffix"] else b""
    offset = spec.get("offset", 0)
    end = offset + spec["length"] if "length" in spec else len(data)
    return data[offset:end]


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _md5_hex(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, str):
        return value.lower()
    raise StorageInputError("R2 put: md5 must be a hex str or bytes")
