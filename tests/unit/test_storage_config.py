"""kv_namespaces, d1_databases and r2_buckets on a worker: config.yaml and wrangler files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from host.config import load_config
from host.errors import ConfigError
from tests.helpers import write_files

ENTRY = "async def fetch(request, env):\n    return 'ok'\n"


def test_wrangler_toml_storage_keys_become_bindings(tmp_path: Path) -> None:
    toml = """
        name = "shop"
        main = "src/entry.py"

        [[kv_namespaces]]
        binding = "CACHE"
        id = "0f2ac74b498b48028cb68387c421e279"
        preview_id = "ignored"

        [[d1_databases]]
        binding = "DB"
        database_name = "quotes"
        database_id = "4a1c0000-0000-0000-0000-000000000000"
        migrations_dir = "db/migrations"

        [[r2_buckets]]
        binding = "FILES"
        bucket_name = "uploads"
        jurisdiction = "eu"
    """
    write_files(tmp_path, {"wrangler.toml": toml, "src/entry.py": ENTRY})
    worker = load_config(tmp_path / "wrangler.toml", environ={}).workers[0]
    assert [(k.binding, k.id) for k in worker.kv_namespaces] == [
        ("CACHE", "0f2ac74b498b48028cb68387c421e279")
    ]
    (db,) = worker.d1_databases
    assert (db.binding, db.database_name, db.migrations_table) == ("DB", "quotes", "d1_migrations")
    assert db.migrations_dir == tmp_path / "db/migrations"
    assert db.file(tmp_path / "data") == tmp_path / "data/d1/quotes.sqlite3"
    assert [(b.binding, b.bucket_name) for b in worker.r2_buckets] == [("FILES", "uploads")]


def test_config_yaml_defaults_names_to_the_binding(tmp_path: Path) -> None:
    config = """
        workers:
          - name: a
            main: functions/a.py
            kv_namespaces: [{binding: CACHE}]
            d1_databases: [{binding: DB, migrations_table: applied}]
            r2_buckets: [{binding: FILES}]
    """
    write_files(tmp_path, {"config.yaml": config, "functions/a.py": ENTRY})
    worker = load_config(tmp_path / "config.yaml", environ={}).workers[0]
    assert worker.kv_namespaces[0].id == "CACHE" and worker.r2_buckets[0].bucket_name == "FILES"
    db = worker.d1_databases[0]
    assert (db.database_name, db.migrations_table, db.migrations_dir) == (
        "DB",
        "applied",
        tmp_path / "migrations",
    )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "kv_namespaces: [{binding: CURRENCY}]",
            "kv_namespaces[0].binding: binding 'CURRENCY' is already used",
        ),
        ("kv_namespaces: {binding: K}", "kv_namespaces: expected a list"),
        ("kv_namespaces: [{binding: K, id: ../up}]", "kv_namespaces[0].id: '../up' is not valid here"),
        ("d1_databases: [{binding: 'a b'}]", "d1_databases[0].binding: 'a b' is not a valid binding name"),
        (
            "d1_databases: [{binding: DB, migrations_table: 'x; drop'}]",
            "migrations_table: 'x; drop' is not a table",
        ),
        ("r2_buckets: [{binding: B, bucket_name: 7}]", "r2_buckets[0].bucket_name: expected a string"),
        ("r2_buckets: [{binding: B, public: true}]", "r2_buckets[0].public: unknown key"),
    ],
)
def test_bad_storage_entries_are_config_errors(tmp_path: Path, entry: str, message: str) -> None:
    config = f"""
        workers:
          - name: a
            main: functions/a.py
            vars: {{CURRENCY: EUR}}
            {entry}
    """
    write_files(tmp_path, {"config.yaml": textwrap.dedent(config), "functions/a.py": ENTRY})
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "config.yaml", environ={})
    assert message in str(info.value)
