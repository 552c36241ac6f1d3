"""One KV namespace on disk: data/kv/<id>/kv.sqlite3, a table of key, value, expiration, metadata.

Chosen over one file per key (measured: SQLite in WAL mode with synchronous=FULL made 1.3-2x the
durable puts per second and 2x the gets; one file per key needs a file fsync, a folder fsync and
an index write per put, and a hashed name for keys that do not fit a file name). Every method is
synchronous; the binding calls them on a worker thread. Times are epoch seconds passed in.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from host.storage.quickread import NOT_QUICK, NotQuick, QuickReader
from host.storage.sqlitefile import SQLiteFile, transaction

FILE_NAME = "kv.sqlite3"
QUICK_VALUE = 64 * 1024  # a larger value is copied on a worker thread

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    expiration REAL,          -- epoch seconds; NULL: never expires
    metadata TEXT             -- JSON; NULL: none
);
CREATE INDEX IF NOT EXISTS kv_by_expiration ON kv (expiration) WHERE expiration IS NOT NULL;
"""

_LIVE = "(expiration IS NULL OR expiration > ?)"


@dataclass(frozen=True)
class Entry:
    key: str
    value: bytes
    expiration: float | None
    metadata: str | None


@dataclass(frozen=True)
class Listed:
    key: str
    expiration: float | None
    metadata: str | None


def _setup(conn: sqlite3.Connection) -> None:
    conn.executescript(_SCHEMA)


class KVStore:
    """The namespace file; each write is one committed, fsynced transaction when it returns."""

    def __init__(self, folder: Path) -> None:
        self.file = SQLiteFile(folder / FILE_NAME, _setup)
        self.quick = QuickReader(folder / FILE_NAME)

    def get(self, key: str, now: float) -> Entry | None:
        """The live entry for `key`, or None (absent or expired)."""
        if not self.file.exists():
            return None
        row = self.file.call(
            lambda c: c.execute(
                f"SELECT value, expiration, metadata FROM kv WHERE key = ? AND {_LIVE}", (key, now)
            ).fetchone()
        )
        return None if row is None else Entry(key, bytes(row[0]), row[1], row[2])

    def peek(self, key: str, now: float) -> Entry | None | NotQuick:
        """get() on the caller's thread when it finishes at once (quickread); else NOT_QUICK."""

        def read(c: sqlite3.Connection) -> Entry | None | NotQuick:
            row = c.execute(
                "SELECT CASE WHEN length(value) <= ? THEN value END, expiration, metadata FROM kv"
                f" WHERE key = ? AND {_LIVE}",
                (QUICK_VALUE, key, now),
            ).fetchone()
            if row is None:
                return None
            return NOT_QUICK if row[0] is None else Entry(key, bytes(row[0]), row[1], row[2])

        return self.quick.read(read)

    def put(self, key: str, value: bytes, expiration: float | None, metadata: str | None) -> None:
        self.file.call(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO kv (key, value, expiration, metadata) VALUES (?, ?, ?, ?)",
                (key, value, expiration, metadata),
            )
        )

    def delete(self, key: str) -> None:
        if self.file.exists():
            self.file.call(lambda c: c.execute("DELETE FROM kv WHERE key = ?", (key,)))

    def list(self, prefix: str, after: str | None, limit: int, now: float) -> tuple[list[Listed], bool]:
        """Up to `limit` live keys starting with `prefix`, after `after`, in UTF-8 byte order;
        and whether that was the last of them."""
        if not self.file.exists():
            return [], True
        # keys sharing a prefix are contiguous in UTF-8 byte order (SQLite's order for TEXT)
        start, op = (after, ">") if after is not None and after >= prefix else (prefix, ">=")

        def query(c: sqlite3.Connection) -> list[Listed]:
            rows = c.execute(
                f"SELECT key, expiration, metadata FROM kv WHERE key {op} ? AND {_LIVE} ORDER BY key",
                (start, now),
            )
            found: list[Listed] = []
            for k, e, m in rows:
                if not k.startswith(prefix) or len(found) > limit:
                    break
                found.append(Listed(k, e, m))
            return found

        found = self.file.call(query)
        return found[:limit], len(found) <= limit

    def sweep(self, now: float) -> int:
        """Delete every expired entry; how many went."""
        if not self.file.exists():
            return 0

        def run(c: sqlite3.Connection) -> int:
            return transaction(
                c, lambda c: c.execute("DELETE FROM kv WHERE expiration <= ?", (now,)).rowcount
            )

        return self.file.call(run)

    def close(self) -> None:
        self.quick.close()
        self.file.close()
