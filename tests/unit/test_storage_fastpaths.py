"""The storage bindings' fast paths (D1 first() on the caller's thread, R2 reads up to 1 MiB there,
R2 put) give what the slow paths give and leave nothing behind."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest

from host.storage.d1 import D1Database
from host.storage.r2 import QUICK_SIZE, R2Bucket
from host.storage.shapes import StorageInputError

pytestmark = pytest.mark.anyio


async def test_d1_first_gives_the_first_row_and_leaves_no_read_open(tmp_path: Path) -> None:
    path = tmp_path / "d1/app.sqlite3"
    db = D1Database(path)
    await db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
    await db.batch([db.prepare("INSERT INTO t VALUES (?, ?)").bind(i, f"n{i}") for i in range(1, 50)])
    stmt = db.prepare("SELECT id, name FROM t WHERE id >= ? ORDER BY id")
    row = await stmt.bind(10).first()
    assert row == {"id": 10, "name": "n10"} and row.name == "n10"
    assert await stmt.bind(10).first("name") == "n10"
    assert await stmt.bind(1000).first() is None and await stmt.bind(1000).first("nope") is None
    with pytest.raises(StorageInputError, match="no column 'nope'"):
        await stmt.bind(10).first("nope")
    assert (await stmt.bind(48).all()).results == [{"id": 48, "name": "n48"}, {"id": 49, "name": "n49"}]
    # first() read one row of many: a statement left unreset (a cursor kept, a row not fetched)
    # would hold a read snapshot on the quick connection, and a full checkpoint could not finish
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("INSERT INTO t VALUES (100, 'late')")
    busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    other.close()
    assert busy == 0
    assert await stmt.bind(100).first("name") == "late"  # and the next read sees the new row


@pytest.mark.parametrize("size", [QUICK_SIZE - 1, QUICK_SIZE, QUICK_SIZE + 1, 3 * QUICK_SIZE + 7])
async def test_r2_get_around_the_quick_size_gives_the_exact_bytes(tmp_path: Path, size: int) -> None:
    bucket = R2Bucket(tmp_path / "r2/b")
    data = os.urandom(size)
    put = await bucket.put("big/object", data)
    assert put.etag == hashlib.md5(data, usedforsecurity=False).hexdigest() and put.size == size
    got = await bucket.get("big/object")
    assert got is not None and await got.bytes() == data and got.etag == put.etag
    tail = await bucket.get("big/object", range={"suffix": 5})
    assert tail is not None and await tail.bytes() == data[-5:]
    head = await bucket.head("big/object")
    assert head is not None and head.size == size and head.etag == put.etag


async def test_r2_put_leaves_no_temporary_files_and_a_bad_md5_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "r2/b"
    bucket = R2Bucket(folder)
    for i in range(5):
        await bucket.put(f"k{i}", os.urandom(1000 + i), http_metadata={"contentType": "x/y"})
    await bucket.put("k0", b"again")
    names = [p.name for p in folder.rglob("*")]
    assert not [n for n in names if n.endswith(".tmp")], names
    kinds = [n.rsplit(".", 1)[-1] for n in names]
    assert kinds.count("json") == 5 == kinds.count("bin")
    before = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
    with pytest.raises(StorageInputError, match="md5"):
        await bucket.put("new key", b"data", md5="00" * 16)
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) == before
    right = hashlib.md5(b"data", usedforsecurity=False).hexdigest()
    assert (await bucket.put("new key", b"data", md5=right)).etag == right
    got = await bucket.get("k0")
    assert got is not None and await got.bytes() == b"again" and got.http_metadata == {}
