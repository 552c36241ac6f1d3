"""The binding objects on real files in tmp_path, without a server: what HTTP tests reach less easily."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import anyio
import pytest

from host.storage.d1 import D1Database
from host.storage.d1sql import D1Error
from host.storage.kv import KVNamespace
from host.storage.r2 import R2Bucket
from host.storage.shapes import StorageInputError

pytestmark = pytest.mark.anyio


async def test_kv_value_types_bulk_get_and_key_order(tmp_path: Path) -> None:
    kv = KVNamespace(tmp_path / "kv/main")
    await kv.put("b", b"\x00\xff")
    await kv.put("a", '{"x": [1]}')
    await kv.put("é", "accent")  # after every ASCII key, as in UTF-8 byte order
    await kv.put("z", "last")
    assert await kv.get("b", type="bytes") == b"\x00\xff"
    assert await kv.get("b", "arrayBuffer") == b"\x00\xff"
    assert [chunk async for chunk in await kv.get("a", type="stream")] == [b'{"x": [1]}']
    assert await kv.get(["a", "nope"], type="json") == {"a": {"x": [1]}, "nope": None}
    assert [k["name"] for k in (await kv.list()).keys] == ["a", "b", "z", "é"]
    with pytest.raises(StorageInputError, match="not JSON"):
        await kv.get("z", type="json")


async def test_kv_expired_keys_vanish_on_read_and_are_swept_from_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "kv/main"
    kv = KVNamespace(folder, sweep_every=0.2)
    await kv.put("brief", "v", expiration_ttl=1)
    await kv.put("kept", "v")
    await kv.put("later", "v", expiration=time.time() + 3600)

    def rows() -> list[str]:
        with sqlite3.connect(folder / "kv.sqlite3") as db:
            return [r[0] for r in db.execute("SELECT key FROM kv ORDER BY key")]

    assert rows() == ["brief", "kept", "later"]
    deadline = time.monotonic() + 5
    while await kv.get("brief") is not None:  # gone on read as soon as it expires
        assert time.monotonic() < deadline, "the key did not expire"
        await anyio.sleep(0.05)
    assert [k["name"] for k in (await kv.list()).keys] == ["kept", "later"]
    while rows() != ["kept", "later"]:  # and the sweep (due every 0.2 s of use) deletes the row
        assert time.monotonic() < deadline + 5, f"not swept: {rows()}"
        await kv.get("kept")
        await anyio.sleep(0.05)


async def test_two_namespace_objects_on_one_folder_see_each_others_writes(tmp_path: Path) -> None:
    a, b = KVNamespace(tmp_path / "kv/x"), KVNamespace(tmp_path / "kv/x")
    await a.put("k", "1")
    assert await b.get("k") == "1"
    await b.delete("k")
    assert await a.get("k") is None


async def test_d1_rows_meta_and_errors(tmp_path: Path) -> None:
    db = D1Database(tmp_path / "d1/app.sqlite3")
    await db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB, n REAL)")
    await db.prepare("INSERT INTO t (v, n) VALUES (?, ?)").bind(b"\x01", 1.5).run()
    await db.prepare("INSERT INTO t (v, n) VALUES (?, ?)").bind(None, True).run()
    result = await db.prepare("SELECT * FROM t ORDER BY id").all()
    assert result.success and result.meta.changes == 0 and result.meta.rows_read == 2
    assert [(r.id, r.v, r.n) for r in result.results] == [(1, b"\x01", 1.5), (2, None, 1)]
    updated = await db.prepare("UPDATE t SET n = 0").run()
    assert updated.meta.changes == 2 and updated.meta.changed_db
    with pytest.raises(StorageInputError, match="no column 'nope'"):
        await db.prepare("SELECT id FROM t").first("nope")
    with pytest.raises(D1Error, match="^UNIQUE constraint failed: t.id$"):
        await db.prepare("INSERT INTO t (id) VALUES (1)").run()
    with pytest.raises(D1Error, match="one statement at a time"):
        await db.prepare("SELECT 1; SELECT 2").all()
    with pytest.raises(StorageInputError, match="64-bit"):
        db.prepare("SELECT ?").bind(2**70)
    with pytest.raises(StorageInputError, match="prepared on this database"):
        await db.batch([D1Database(tmp_path / "d1/other.sqlite3").prepare("SELECT 1")])


async def test_r2_overwrite_replaces_data_and_leaves_no_old_version(tmp_path: Path) -> None:
    bucket = R2Bucket(tmp_path / "r2/b")
    first = await bucket.put("k", "one")
    second = await bucket.put("k", b"two!", custom_metadata={"v": "2"})
    assert first.etag != second.etag and second.size == 4
    got = await bucket.get("k")
    assert got is not None and await got.text() == "two!" and got.custom_metadata == {"v": "2"}
    files = sorted(p.name.rsplit(".", 1)[-1] for p in (tmp_path / "r2/b").rglob("*") if p.is_file())
    assert files == ["bin", "json", "lock"]
    empty = await bucket.put("e", None)
    assert empty.size == 0 and await (await bucket.get("e")).bytes() == b""  # type: ignore[union-attr]


async def test_d1_selects_too_long_for_the_quick_path_still_answer_and_errors_keep_their_message(
    tmp_path: Path,
) -> None:
    db = D1Database(tmp_path / "d1/app.sqlite3")
    await db.exec("CREATE TABLE n (i INTEGER)")
    await db.batch([db.prepare("INSERT INTO n VALUES (?)").bind(i) for i in range(500)])
    # 250,000 joined rows: far over the quick path's step budget, so it runs on a thread
    assert await db.prepare("SELECT count(*) AS c FROM n a, n b").first("c") == 250_000
    assert await db.prepare("SELECT i FROM n WHERE i = ?").bind(7).first("i") == 7
    with pytest.raises(D1Error, match="^no such table: nope$"):
        await db.prepare("SELECT * FROM nope").all()
    other = D1Database(tmp_path / "d1/app.sqlite3")  # another connection's write is seen at once
    await other.prepare("INSERT INTO n VALUES (1000)").run()
    assert await db.prepare("SELECT max(i) AS m FROM n").first("m") == 1000


async def test_symlinks_planted_in_the_data_folders_are_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    data = tmp_path / "data"
    (data / "kv").mkdir(parents=True)
    (data / "kv/main").symlink_to(outside)
    with pytest.raises(OSError, match="refusing to follow a symlink"):
        await KVNamespace(data / "kv/main").put("k", "v")
    (data / "d1").mkdir()
    (data / "d1/app.sqlite3").symlink_to(outside / "app.sqlite3")
    with pytest.raises(OSError, match="refusing to follow a symlink"):
        await D1Database(data / "d1/app.sqlite3").exec("CREATE TABLE t (v)")
    bucket = R2Bucket(data / "r2/b")
    await bucket.put("k", "v")
    shard = next(p for p in (data / "r2/b").iterdir() if p.is_dir())
    shard.rename(outside / shard.name)
    shard.symlink_to(outside / shard.name)
    before = {p.name: p.read_bytes() for p in (outside / shard.name).iterdir()}
    with pytest.raises(OSError, match="refusing to follow a symlink"):
        await bucket.put("k", "new")
    with pytest.raises(OSError, match="refusing to follow a symlink"):
        await bucket.get("k")
    assert {p.name: p.read_bytes() for p in (outside / shard.name).iterdir()} == before
    assert [p.name for p in outside.iterdir()] == [shard.name]  # no database, no namespace file
    # a whole bucket folder planted, holding a file the first write's tidy would take for its own
    bait = outside / "c" / "ab" / f"{'ab' * 32}.{'cd' * 16}.bin"
    bait.parent.mkdir(parents=True)
    bait.write_bytes(b"not ours")
    (data / "r2/c").symlink_to(outside / "c")
    with pytest.raises(OSError, match="refusing to follow a symlink"):
        await R2Bucket(data / "r2/c").put("k", "v")
    assert [p.name for p in bait.parent.iterdir()] == [bait.name] and bait.read_bytes() == b"not ours"
