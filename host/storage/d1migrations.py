"""wrangler's D1 migrations: `NNNN_name.sql` files in a migrations folder, applied in name order,
each recorded in the `d1_migrations` table (wrangler's shape) in the same transaction as its SQL."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from host.storage.d1sql import D1Error, split_statements
from host.storage.sqlitefile import SQLiteFile, transaction

_NAME = re.compile(r"^\d+_.*\.sql$")


def _table_sql(table: str) -> str:
    # the statement wrangler runs (d1/migrations/helpers.ts), so either tool reads the other's record
    return f"""CREATE TABLE IF NOT EXISTS {table}(
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT UNIQUE,
    applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
)"""


@dataclass(frozen=True)
class Migration:
    name: str
    path: Path
    applied: bool


def migration_files(folder: Path) -> list[Path]:
    """The folder's migration files (`0001_create.sql`...), in name order; [] when there is no folder."""
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.is_file() and _NAME.match(p.name)), key=lambda p: p.name)


def status(file: SQLiteFile, folder: Path, table: str) -> list[Migration]:
    """Every migration file and whether the database has it applied."""
    applied = file.call(lambda c: _applied(c, table))
    return [Migration(p.name, p, p.name in applied) for p in migration_files(folder)]


def apply(file: SQLiteFile, folder: Path, table: str) -> list[str]:
    """Apply the unapplied migrations in order, each in its own transaction with its record row;
    the names applied. The first that fails raises D1Error naming it, and it changes nothing."""
    done: list[str] = []
    for migration in status(file, folder, table):
        if migration.applied:
            continue
        try:
            sql = migration.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read migration {migration.path}: {exc}") from None

        def run(c: sqlite3.Connection, sql: str = sql, name: str = migration.name) -> None:
            for statement in split_statements(sql):
                c.execute(statement)
            c.execute(f"INSERT INTO {table} (name) VALUES (?)", (name,))

        try:
            file.call(lambda c, run=run: transaction(c, run))  # type: ignore[misc]
        except sqlite3.Error as exc:
            raise D1Error(f"migration {migration.name} failed: {exc}") from None
        done.append(migration.name)
    return done


def _applied(conn: sqlite3.Connection, table: str) -> set[str]:
    conn.execute(_table_sql(table))
    return {row[0] for row in conn.execute(f"SELECT name FROM {table}")}
