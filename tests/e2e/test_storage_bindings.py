"""KV, D1 and R2 through a served worker: real HTTP, real files under data/, kill -9, two hosts."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path

from tests.e2e.storage_deployment import CONFIG, WORKER, call, ok, refused, storage_deployment
from tests.helpers import ServerProcess, make_deployment, wait_for


def test_kv_through_a_worker(tmp_path: Path) -> None:
    root = storage_deployment(tmp_path)
    with ServerProcess(root) as s:
        assert ok(s, "kv", "get", key="nothing") == {"value": None}
        ok(s, "kv", "put", key="greeting", value="hello")
        ok(s, "kv", "put_dict", key="doc", value='{"n": 1}', options={"metadata": {"v": 2}})
        assert ok(s, "kv", "get", key="greeting")["value"] == "hello"
        assert ok(s, "kv", "get", key="doc", options={"type": "json"})["value"] == {"n": 1}
        assert ok(s, "kv", "get_dict", key="doc", options={"type": "json"})["value"] == {"n": 1}
        assert ok(s, "kv", "meta", key="doc", options={"type": "json"}) == {
            "value": {"n": 1},
            "metadata": {"v": 2},
        }
        for n in range(5):
            ok(s, "kv", "put", key=f"user:{n}", value=str(n), options={"expiration_ttl": 3600})
        page = ok(s, "kv", "list", options={"prefix": "user:", "limit": 2})
        assert [k["name"] for k in page["keys"]] == ["user:0", "user:1"] and not page["list_complete"]
        assert page["keys"][0]["expiration"] > time.time() + 3500
        rest = ok(s, "kv", "list", options={"prefix": "user:", "cursor": page["cursor"]})
        assert [k["name"] for k in rest["keys"]] == ["user:2", "user:3", "user:4"] and rest["list_complete"]
        ok(s, "kv", "delete", key="greeting")
        assert ok(s, "kv", "get", key="greeting")["value"] is None

        ok(s, "kv", "put", key="short", value="lived", options={"expirationTtl": 3})
        assert ok(s, "kv", "get", key="short")["value"] == "lived"
        wait_for(lambda: ok(s, "kv", "get", key="short")["value"] is None, 15, what="the key to expire")
        assert "short" not in [k["name"] for k in ok(s, "kv", "list")["keys"]]

    db = sqlite3.connect(root / "data/kv/main/kv.sqlite3")  # ordinary tools read it
    assert db.execute("SELECT value FROM kv WHERE key = 'doc'").fetchone() == (b'{"n": 1}',)


def test_kv_bad_input_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    root = storage_deployment(tmp_path)
    with ServerProcess(root) as s:
        ok(s, "kv", "put", key="kept", value="v")
        before = ok(s, "kv", "list")
        assert "over the limit of 512 bytes" in refused(s, "kv", "put", key="k" * 513, value="v")
        assert "over the limit of 26214400 bytes" in refused(
            s, "kv", "put", key="big", size=25 * 1024 * 1024 + 1
        )
        assert "must be str, bytes or a readable body" in refused(s, "kv", "put", key="n", value=5)
        assert "at least 1 s" in refused(s, "kv", "put", key="t", value="v", options={"expiration_ttl": 0})
        assert "in the future" in refused(s, "kv", "put", key="t", value="v", options={"expiration": 1000})
        assert "unknown option 'ttl'" in refused(s, "kv", "put", key="t", value="v", options={"ttl": 5})
        assert "metadata is over the limit" in refused(
            s, "kv", "put", key="t", value="v", options={"metadata": {"m": "x" * 2000}}
        )
        assert "type must be one of" in refused(s, "kv", "get", key="kept", options={"type": "xml"})
        assert "limit must be" in refused(s, "kv", "list", options={"limit": 5000})
        assert "not a cursor" in refused(s, "kv", "list", options={"cursor": "%%%"})
        assert "the key is empty" in refused(s, "kv", "get", key="")
        assert ok(s, "kv", "list") == before
        ok(s, "kv", "put", key="exact", size=25 * 1024 * 1024)  # the limit itself is fine
        assert len(ok(s, "kv", "get", key="exact")["value"]) == 25 * 1024 * 1024


def test_d1_through_a_worker(tmp_path: Path) -> None:
    root = storage_deployment(tmp_path)
    with ServerProcess(root) as s:
        sql = "CREATE TABLE quotes (id INTEGER PRIMARY KEY, text TEXT NOT NULL, who TEXT);"
        assert ok(s, "d1", "exec", sql=sql + " CREATE INDEX by_who ON quotes (who);") == {"count": 2}
        made = ok(s, "d1", "run", sql="INSERT INTO quotes (text, who) VALUES (?, ?)", params=["hi", "ann"])
        assert made["success"] and made["meta"]["changes"] == 1 and made["meta"]["last_row_id"] == 1
        assert made["meta"]["duration"] >= 0
        ok(s, "d1", "run", sql="INSERT INTO quotes (text, who) VALUES (?1, ?2)", params=["yo", "bob"])
        rows = ok(s, "d1", "all", sql="SELECT * FROM quotes ORDER BY id")["results"]
        assert rows == [{"id": 1, "text": "hi", "who": "ann"}, {"id": 2, "text": "yo", "who": "bob"}]
        first = ok(s, "d1", "first", sql="SELECT text FROM quotes WHERE who = ?", params=["bob"])
        assert first == {"row": {"text": "yo"}}
        assert ok(s, "d1", "first", sql="SELECT count(*) AS n FROM quotes", args=["n"]) == {"row": 2}
        assert ok(s, "d1", "first", sql="SELECT * FROM quotes WHERE id = 99") == {"row": None}
        assert ok(s, "d1", "raw", sql="SELECT id, who FROM quotes")["rows"] == [
            ["id", "who"],
            [1, "ann"],
            [2, "bob"],
        ]

        # a batch is one transaction: the failing statement takes the first one back with it
        message = refused(
            s,
            "d1",
            "batch",
            statements=[
                ["INSERT INTO quotes (text) VALUES (?)", ["lost"]],
                ["INSERT INTO nope VALUES (1)", []],
            ],
        )
        assert message == "no such table: nope"
        assert ok(s, "d1", "first", sql="SELECT count(*) AS n FROM quotes", args=["n"]) == {"row": 2}
        done = ok(
            s,
            "d1",
            "batch",
            statements=[
                ["INSERT INTO quotes (text) VALUES (?)", ["kept"]],
                ["SELECT count(*) AS n FROM quotes", []],
            ],
        )
        assert done["results"][1] == [{"n": 3}] and done["changes"][0] == 1

        assert refused(s, "d1", "all", sql="SELEC 1") == 'near "SELEC": syntax error'
        assert "NOT NULL constraint failed" in refused(
            s, "d1", "run", sql="INSERT INTO quotes (who) VALUES ('x')"
        )
        assert "must be None, a number, a str or bytes" in refused(
            s, "d1", "run", sql="INSERT INTO quotes (text) VALUES (?)", params=[{"a": 1}]
        )
    db = sqlite3.connect(root / "data/d1/quotes.sqlite3")
    assert db.execute("SELECT text FROM quotes ORDER BY id").fetchall() == [("hi",), ("yo",), ("kept",)]


def test_r2_through_a_worker(tmp_path: Path) -> None:
    root = storage_deployment(tmp_path)
    with ServerProcess(root) as s:
        assert ok(s, "r2", "get", key="none") == {"found": None}
        put = ok(
            s,
            "r2",
            "put",
            key="docs/readme.txt",
            value="read me",
            options={"http_metadata": {"contentType": "text/plain"}, "customMetadata": {"by": "ann"}},
        )
        assert put["size"] == 7 and len(put["etag"]) == 32
        got = ok(s, "r2", "get", key="docs/readme.txt")
        assert got["text"] == "read me" and got["found"] == put
        assert got["found"]["http_metadata"] == {"contentType": "text/plain"}
        assert ok(s, "r2", "head", key="docs/readme.txt")["found"] == put
        part = ok(s, "r2", "get", key="docs/readme.txt", options={"range": {"offset": 5}})
        assert part["text"] == "me"
        for key in ("docs/a.md", "img/cat.png", "img/dog.png", "top.txt"):
            ok(s, "r2", "put", key=key, b64="AAE=")
        listing = ok(s, "r2", "list", options={"delimiter": "/"})
        assert listing["keys"] == ["top.txt"] and listing["prefixes"] == ["docs/", "img/"]
        page = ok(s, "r2", "list", options={"prefix": "img/", "limit": 1})
        assert page["keys"] == ["img/cat.png"] and page["truncated"]
        after = ok(s, "r2", "list", options={"prefix": "img/", "cursor": page["cursor"]})
        assert after["keys"] == ["img/dog.png"] and not after["truncated"]
        assert ok(s, "r2", "get", key="img/cat.png")["b64"] == "AAE="
        ok(s, "r2", "delete", keys=["img/cat.png", "img/dog.png", "never-was"])
        assert ok(s, "r2", "list")["keys"] == ["docs/a.md", "docs/readme.txt", "top.txt"]

        assert "over the limit of 1024 bytes" in refused(s, "r2", "put", key="k" * 1025, value="v")
        assert "unknown http_metadata field" in refused(
            s, "r2", "put", key="x", value="v", options={"http_metadata": {"colour": "red"}}
        )
        assert "custom_metadata" in refused(
            s, "r2", "put", key="x", value="v", options={"custom_metadata": {"a": 1}}
        )
        assert "unknown option" in refused(s, "r2", "put", key="x", value="v", options={"onlyIf": {}})
        assert ok(s, "r2", "head", key="x") == {"found": None}


def test_a_write_that_returned_survives_kill_9(tmp_path: Path) -> None:
    root = storage_deployment(tmp_path)
    server = ServerProcess(root).start()
    ok(server, "d1", "exec", sql="CREATE TABLE t (v TEXT)")
    ok(server, "kv", "put", key="k", value="durable")
    ok(server, "d1", "run", sql="INSERT INTO t VALUES (?)", params=["durable"])
    ok(server, "r2", "put", key="o", value="durable")
    server.kill()  # right after the last answer: no shutdown, no checkpoint
    with ServerProcess(root) as again:
        assert ok(again, "kv", "get", key="k")["value"] == "durable"
        assert ok(again, "d1", "first", sql="SELECT v FROM t", args=["v"])["row"] == "durable"
        assert ok(again, "r2", "get", key="o")["text"] == "durable"


def test_two_hosts_on_one_data_dir_see_each_others_writes(tmp_path: Path) -> None:
    root = storage_deployment(tmp_path)
    with ServerProcess(root) as a, ServerProcess(root) as b:
        ok(a, "kv", "put", key="from-a", value="1")
        assert ok(b, "kv", "get", key="from-a")["value"] == "1"
        ok(b, "kv", "put", key="from-a", value="2")
        assert ok(a, "kv", "get", key="from-a")["value"] == "2"

        ok(a, "d1", "exec", sql="CREATE TABLE t (v INTEGER)")
        ok(b, "d1", "run", sql="INSERT INTO t VALUES (1)")
        assert ok(a, "d1", "all", sql="SELECT v FROM t")["results"] == [{"v": 1}]

        ok(b, "r2", "put", key="shared", value="from b")
        assert ok(a, "r2", "get", key="shared")["text"] == "from b"
        ok(a, "r2", "delete", key="shared")
        assert ok(b, "r2", "head", key="shared") == {"found": None}

        # both writing at once: every write lands, none is lost or torn
        for n in range(20):
            for host in (a, b):
                assert call(host, "kv", "put", key=f"n{n}-{host.port}", value=str(n)).status_code == 200
        names = {k["name"] for k in ok(a, "kv", "list")["keys"]}
        assert all(f"n{n}-{h.port}" in names for n in range(20) for h in (a, b))


def test_expired_kv_keys_are_swept_from_an_idle_namespace(tmp_path: Path) -> None:
    config = "host:\n  sweep_interval: 0.2 seconds\n" + CONFIG
    root = make_deployment(tmp_path, {"functions/app.py": WORKER}, config)
    db = root / "data" / "kv" / "main" / "kv.sqlite3"

    def keys() -> set[str]:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            return {row[0] for row in conn.execute("SELECT key FROM kv")}

    with ServerProcess(root) as server:
        ok(server, "kv", "put", key="brief", value="v", options={"expiration_ttl": 1})
        ok(server, "kv", "put", key="kept", value="v")
        # no KV call after these: only the host's background sweep can take the row out
        wait_for(lambda: keys() == {"kept"}, 10, what="the expired row to leave the file")
