"""Reads that finish at once, run on the caller's thread instead of a worker thread.

A thread hop costs 0.1-0.5 ms here, ten to fifty times a point read from SQLite's page cache. So
each database file also gets a second connection for reads only: `query_only` (it cannot write),
no busy wait (a read that would wait for a lock fails at once), and a progress handler that
interrupts any statement after a small budget of SQLite VM steps. A read that fails in any of
these ways (or with any SQL error) answers NOT_QUICK, and the caller runs it on a worker thread
on the main connection, where it waits, runs long or raises its real error as usual.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, TypeVar

from host.storage.shapes import refuse_symlinks

T = TypeVar("T")


class NotQuick:
    def __repr__(self) -> str:
        return "NOT_QUICK"


NOT_QUICK: Final = NotQuick()
STEP_BUDGET = 20_000  # SQLite VM steps (~0.2-1 ms): a point read takes a few hundred
_CHECK_EVERY = 1_000


class QuickReader:
    """The read-only side connection of one database file; made on first use, once the file exists."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._checks = 0

    def read(self, fn: Callable[..., T], *args: Any) -> T | NotQuick:
        """fn(connection, *args) if it completes without waiting or running long; else NOT_QUICK.

        fn must fetch everything it reads (no cursor left open) and only read.
        """
        if not self._lock.acquire(False):  # in use by another thread: don't wait for it (positional: faster)
            return NOT_QUICK
        try:
            conn = self._conn or self._open()
            if conn is None:
                return NOT_QUICK
            self._checks = 0
            try:
                return fn(conn, *args)
            except sqlite3.Error:
                return NOT_QUICK
        finally:
            self._lock.release()

    def _open(self) -> sqlite3.Connection | None:
        try:
            refuse_symlinks(self.path.parent, self.path)
            if not self.path.is_file():
                return None
            conn = sqlite3.connect(self.path, timeout=0, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA query_only=ON")
        except (OSError, sqlite3.Error):
            return None
        conn.set_progress_handler(self._tick, _CHECK_EVERY)
        self._conn = conn
        return conn

    def _tick(self) -> int:
        self._checks += 1
        return 1 if self._checks * _CHECK_EVERY > STEP_BUDGET else 0  # non-zero interrupts

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
