"""One R2 bucket on disk, data/r2/<bucket>/: each object is a data file with a JSON file beside it.

A key is any string up to 1,024 bytes, so file names come from its SHA-256, never from the key
itself: `<h[:2]>/<h>.json` holds the key (round-tripped exactly) and the metadata, and names the
data file `<h>.<version>.bin`. No key can reach outside the bucket's folder. A put writes and fsyncs
the new data, then the new JSON, both under temporary names; then
(holding the bucket's lock file, flock) renames the data, then the JSON, into place, fsyncs the
folder and removes the old data: readers see the old object or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from host.storage.quickread import NOT_QUICK, NotQuick
from host.storage.shapes import refuse_symlinks
from host.store.fsio import fsync_path, open_file, write_new

LOCK_FILE = ".lock"
JSON_READ = 16 * 1024  # a metadata document is read by one pread of this much (then the rest)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class R2Store:
    """The bucket folder; every method is synchronous and durable when it returns."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.root = str(folder)

    def _paths(self, key: str) -> tuple[Path, str]:
        """The key's shard folder and hash; a symlink planted for the bucket or the shard is refused."""
        shard, h = self._where(key)
        return Path(shard), h

    def _where(self, key: str) -> tuple[str, str]:
        """_paths as a str (the read paths skip pathlib's cost: a get is a few syscalls)."""
        h = key_hash(key)
        shard = f"{self.root}/{h[:2]}"
        refuse_symlinks(self.root, shard)
        return shard, h

    def head(self, key: str) -> dict[str, Any] | None:
        """The object's metadata document, or None."""
        return self._head(key, *self._where(key))

    def _head(self, key: str, shard: str, h: str) -> dict[str, Any] | None:
        try:
            doc: dict[str, Any] = json.loads(read_whole(f"{shard}/{h}.json"))
        except FileNotFoundError:
            return None
        return doc if doc.get("key") == key else None

    def get(self, key: str) -> tuple[dict[str, Any], bytes] | None:
        """(metadata, data) of the object as one version, or None."""
        shard, h = self._where(key)
        for _attempt in range(5):  # the data went between reading the JSON and opening it: retry
            doc = self._head(key, shard, h)
            if doc is None:
                return None
            try:
                return doc, read_whole(f"{shard}/{doc['data']}", doc["size"])
            except FileNotFoundError:
                continue
        raise OSError(f"R2: object {key!r} kept changing while being read")

    def peek(self, key: str, limit: int) -> tuple[dict[str, Any], bytes] | None | NotQuick:
        """get() when the object is at most `limit` bytes and both files read at once (two reads
        from the page cache, cheaper than a thread hop); else NOT_QUICK."""
        try:
            shard, h = self._where(key)
            doc = self._head(key, shard, h)
            if doc is None:
                return None
            if doc["size"] > limit:
                return NOT_QUICK
            return doc, read_whole(f"{shard}/{doc['data']}", doc["size"])
        except (OSError, ValueError, KeyError):  # replaced meanwhile, or damaged: the thread path says
            return NOT_QUICK

    def stage(self, key: str, data: bytes, doc: dict[str, Any]) -> tuple[str, bool]:
        """The first half of a put: the data written and flushed under a temporary name in its
        shard folder; (that name, whether the shard folder was made for it)."""
        shard, _ = self._paths(key)
        new_shard = not shard.is_dir()
        shard.mkdir(parents=True, exist_ok=True)
        tmp = str(shard / f".{doc['data']}.{os.getpid()}.tmp")
        write_new(tmp, data, sync=True)
        return tmp, new_shard

    def stage_meta(self, key: str, data: bytes, doc: dict[str, Any]) -> str:
        """The other half: doc["etag"] set to the data's MD5 when missing, the JSON written and
        flushed under a temporary name (returned)."""
        doc.setdefault("etag", hashlib.md5(data, usedforsecurity=False).hexdigest())
        _, h = self._where(key)  # in the bucket folder: the shard may not be made yet
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = f"{self.root}/.{h}.json.{os.getpid()}.{os.urandom(4).hex()}.tmp"
        write_new(tmp, _encode(doc), sync=True)
        return tmp

    def put(self, key: str, data: bytes, doc: dict[str, Any]) -> None:
        """Store `data` with metadata `doc` (which names the data file, doc["data"], and gets the
        data's MD5 as doc["etag"] when it has none).

        Both files are durable under temporary names before either is renamed into place."""
        tmp, new_shard = self.stage(key, data, doc)
        try:
            meta_tmp = self.stage_meta(key, data, doc)
        except BaseException:
            self.discard(tmp)
            raise
        self.commit(key, doc, tmp, meta_tmp, new_shard)

    def commit(self, key: str, doc: dict[str, Any], tmp: str, meta_tmp: str, new_shard: bool) -> None:
        """Both staged files renamed into place (data first), made durable by one folder flush; the
        previous version's data removed."""
        shard, h = self._paths(key)
        try:
            with self.locked():
                old = self.head(key)
                os.replace(tmp, shard / doc["data"])
                os.replace(meta_tmp, shard / f"{h}.json")
                fsync_path(shard)  # both renames durable
                if new_shard:  # the shard folder's own name; and the JSON's left the bucket folder
                    fsync_path(self.folder)
                if old is not None and old["data"] != doc["data"]:
                    _remove(shard / old["data"])
        finally:
            self.discard(tmp, meta_tmp)

    def discard(self, *staged: str) -> None:
        for path in staged:
            _remove(path)

    def delete(self, keys: list[str]) -> None:
        with self.locked():
            for key in keys:
                old = self.head(key)
                if old is None:
                    continue
                shard, h = self._paths(key)
                _remove(shard / f"{h}.json")
                fsync_path(shard)
                _remove(shard / old["data"])
                with contextlib.suppress(OSError):
                    shard.rmdir()  # only when empty: no folder per deleted key is left behind

    def documents(self) -> Iterator[dict[str, Any]]:
        """Every object's metadata document, in no particular order."""
        try:
            shards = sorted(os.scandir(self.folder), key=lambda e: e.name)
        except FileNotFoundError:
            return
        for shard in shards:
            if len(shard.name) != 2 or not shard.is_dir(follow_symlinks=False):
                continue
            for entry in os.scandir(shard.path):
                if entry.name.endswith(".json") and not entry.name.startswith("."):
                    try:
                        yield json.loads(read_whole(entry.path))
                    except (FileNotFoundError, ValueError):
                        continue  # deleted while listing, or not ours

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = open_file(str(self.folder / LOCK_FILE), os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def read_whole(path: str, size: int = JSON_READ) -> bytes:
    """The whole file; one pread when it is shorter than `size` + 1 (its expected length)."""
    fd = open_file(path, os.O_RDONLY)
    try:
        data = os.pread(fd, size + 1, 0)
        return data if len(data) <= size else data + read_all_from(fd, len(data))
    finally:
        os.close(fd)


def read_all_from(fd: int, offset: int) -> bytes:
    chunks = []
    while chunk := os.pread(fd, 1024 * 1024, offset):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _encode(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"


def _remove(path: str | Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
