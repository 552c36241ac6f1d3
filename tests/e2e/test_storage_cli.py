"""`waypost kv|d1|r2 ...` as subprocesses on the data directory, while a worker uses the same data."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.e2e.storage_deployment import ok, storage_deployment
from tests.helpers import ServerProcess, run_cli

MIGRATIONS = {
    "migrations/0001_create.sql": "CREATE TABLE quotes (id INTEGER PRIMARY KEY, text TEXT);\n"
    "-- a comment; with a semicolon\nINSERT INTO quotes (text) VALUES ('a;b');\n",
    "migrations/0002_who.sql": "ALTER TABLE quotes ADD COLUMN who TEXT;\n",
}


def cli(root: Path, *args: str, stdin: str | None = None) -> str:
    done = run_cli(args, cwd=root) if stdin is None else _piped(root, args, stdin)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _piped(root: Path, args: tuple[str, ...], stdin: str) -> subprocess.CompletedProcess[str]:
    import sys

    return subprocess.run(
        [sys.executable, "-m", "host", *args],
        cwd=root,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
    )


def cli_json(root: Path, *args: str) -> Any:
    return json.loads(cli(root, *args, "--json"))


def user_error(root: Path, *args: str) -> str:
    done = run_cli(args, cwd=root)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    return done.stderr


def test_cli_and_a_running_worker_see_each_others_writes(tmp_path: Path) -> None:
    root = storage_deployment(tmp_path, MIGRATIONS)
    with ServerProcess(root) as s:
        # KV: by binding and by namespace id, both ways
        assert "Wrote key 'from-cli'" in cli(
            root, "kv", "key", "put", "from-cli", "hello", "--binding", "CACHE"
        )
        assert ok(s, "kv", "get", key="from-cli")["value"] == "hello"
        ok(s, "kv", "put", key="from-worker", value="hi", options={"metadata": {"n": 1}})
        assert cli(root, "kv", "key", "get", "from-worker", "--namespace-id", "main") == "hi"
        listed = cli_json(root, "kv", "key", "list", "--binding", "CACHE")
        assert listed == [{"name": "from-cli"}, {"name": "from-worker", "metadata": {"n": 1}}]
        cli(root, "kv", "key", "delete", "from-worker", "--binding", "CACHE")
        assert ok(s, "kv", "get", key="from-worker")["value"] is None

        # D1: migrations from the CLI, used by the worker; the worker's rows, read by the CLI
        assert cli(root, "d1", "migrations", "apply", "DB").split() == [
            "Applied",
            "0001_create.sql",
            "Applied",
            "0002_who.sql",
        ]
        assert "No migrations to apply" in cli(root, "d1", "migrations", "apply", "quotes")
        ok(s, "d1", "run", sql="INSERT INTO quotes (text, who) VALUES (?, ?)", params=["hi", "ann"])
        rows = cli_json(root, "d1", "execute", "DB", "--command", "SELECT text, who FROM quotes ORDER BY id")
        assert rows[0]["results"] == [{"text": "a;b", "who": None}, {"text": "hi", "who": "ann"}]
        applied = cli_json(root, "d1", "execute", "quotes", "--command", "SELECT id, name FROM d1_migrations")
        assert applied[0]["results"] == [
            {"id": 1, "name": "0001_create.sql"},
            {"id": 2, "name": "0002_who.sql"},
        ]
        (tmp_path / "fix.sql").write_text("UPDATE quotes SET who = 'cli' WHERE who IS NULL;\n")
        assert "1 row(s) changed" in cli(root, "d1", "execute", "DB", "--file", str(tmp_path / "fix.sql"))
        assert ok(s, "d1", "first", sql="SELECT who FROM quotes WHERE id = 1", args=["who"])["row"] == "cli"

        # R2: uploads from the CLI, read by the worker, and back
        (tmp_path / "in.txt").write_text("from the cli")
        cli(
            root,
            "r2",
            "object",
            "put",
            "uploads/docs/in.txt",
            "--file",
            str(tmp_path / "in.txt"),
            "--content-type",
            "text/plain",
        )
        got = ok(s, "r2", "get", key="docs/in.txt")
        assert got["text"] == "from the cli" and got["found"]["http_metadata"] == {
            "contentType": "text/plain"
        }
        ok(s, "r2", "put", key="docs/out.txt", value="from the worker")
        assert cli(root, "r2", "object", "get", "uploads/docs/out.txt") == "from the worker"
        cli(root, "r2", "object", "put", "uploads/piped", "--pipe", stdin="through stdin")
        assert ok(s, "r2", "get", key="piped")["text"] == "through stdin"
        assert [o["key"] for o in cli_json(root, "r2", "object", "list", "uploads")] == [
            "docs/in.txt",
            "docs/out.txt",
            "piped",
        ]
        cli(root, "r2", "object", "delete", "uploads/docs/in.txt")
        assert ok(s, "r2", "head", key="docs/in.txt") == {"found": None}


def test_cli_bad_input_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    root = storage_deployment(tmp_path, {**MIGRATIONS, "migrations/0003_bad.sql": "CREATE TABLE broken (;\n"})
    assert "no kv_namespaces binding 'NOPE'" in user_error(root, "kv", "key", "get", "k", "--binding", "NOPE")
    assert "one of --binding NAME or --namespace-id ID" in user_error(root, "kv", "key", "list")
    assert "not valid" in user_error(root, "kv", "key", "list", "--namespace-id", "../x")
    assert "over the limit of 512 bytes" in user_error(
        root, "kv", "key", "put", "k" * 600, "v", "--binding", "CACHE"
    )
    assert "--metadata is not valid JSON" in user_error(
        root, "kv", "key", "put", "k", "v", "--metadata", "{", "--binding", "CACHE"
    )
    assert "key 'gone' not found" in user_error(root, "kv", "key", "get", "gone", "--binding", "CACHE")
    assert "no d1_databases binding or database_name 'other'" in user_error(
        root, "d1", "execute", "other", "--command", "SELECT 1"
    )
    assert "one of --command SQL or --file F" in user_error(root, "d1", "execute", "DB")

    # the failing migration changes nothing; the ones before it stay applied (as wrangler)
    assert "migration 0003_bad.sql failed" in user_error(root, "d1", "migrations", "apply", "DB")
    status = cli_json(root, "d1", "migrations", "list", "DB")
    assert [m["applied"] for m in status] == [True, True, False]
    # several statements run as one transaction: the bad second one takes the first back
    assert "no such table: nope" in user_error(
        root,
        "d1",
        "execute",
        "DB",
        "--command",
        "INSERT INTO quotes (text) VALUES ('x'); INSERT INTO nope VALUES (1)",
    )
    count = cli_json(root, "d1", "execute", "DB", "--command", "SELECT count(*) AS n FROM quotes")
    assert count[0]["results"] == [{"n": 1}]

    assert "is not BUCKET/KEY" in user_error(root, "r2", "object", "get", "uploads")
    assert "R2 bucket name '..' is not valid" in user_error(root, "r2", "object", "get", "../etc/passwd")
    assert "not found in uploads" in user_error(root, "r2", "object", "get", "uploads/../../etc/passwd")
    assert "one of --file F or --pipe" in user_error(root, "r2", "object", "put", "uploads/k")
    assert not (root / "data/r2").exists() and not (root / "data/kv").exists()
