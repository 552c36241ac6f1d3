"""Opening a SQLite file the way every storage binding wants it: WAL, full sync, a busy timeout,
one connection shared by the worker threads under a lock."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from host.storage.shapes import refuse_symlinks
from host.store.fsio import fsync_path

T = TypeVar("T")

BUSY_TIMEOUT_S = 10.0  # another host (or the CLI) holding the write lock: wait this long


class SQLiteFile:
    """A lazily opened connection to `path`; `call(fn)` runs fn(connection) under the lock.

    WAL lets readers run while another process writes; `synchronous=FULL` makes every commit
    durable (the WAL is fsynced) before it returns.
    """

    def __init__(self, path: Path, setup: Callable[[sqlite3.Connection], object] | None = None) -> None:
        self.path = path
        self._setup = setup
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def exists(self) -> bool:
        return self._conn is not None or self.path.is_file()

    def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            if self._conn is None:
                self._conn = self._open()
            return fn(self._conn)

    def _open(self) -> sqlite3.Connection:
        refuse_symlinks(self.path.parent, self.path)
        new = not self.path.exists()
        if new:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            if self._setup is not None:
                self._setup(conn)
        except BaseException:
            conn.close()
            raise
        if new:  # the file's name is durable too, not only its content
            for folder in (self.path.parent, self.path.parent.parent):
                fsync_path(folder)
        return conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def transaction(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    """Run fn inside BEGIN IMMEDIATE ... COMMIT (rolled back if it raises)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result
