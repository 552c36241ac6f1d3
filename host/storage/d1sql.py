"""D1's statement semantics on a sqlite3 connection: one statement's result (rows, meta), a batch in
one transaction, a script of several statements. Synchronous; the binding runs it on a thread."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any

from host.errors import WaypostError
from host.storage.shapes import Record, StorageInputError
from host.storage.sqlitefile import SQLiteFile, transaction

Value = None | int | float | str | bytes
_name = itemgetter(0)  # of a cursor.description entry


class D1Error(WaypostError):
    """An SQL statement failed; the message is SQLite's own."""

    code = "d1.error"


def check_value(value: Any, index: int) -> Value:
    """A value bind() accepts: None, bool (as 0/1), int, float, str, bytes-like."""
    if value is None or isinstance(value, int | float | str):
        if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
            raise StorageInputError(f"D1 bind: value {index + 1} does not fit SQLite's 64-bit integers")
        return int(value) if isinstance(value, bool) else value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise StorageInputError(
        f"D1 bind: value {index + 1} must be None, a number, a str or bytes, got {type(value).__name__}"
    )


_PLAIN = (str, float, type(None))


def check_values(values: tuple[Any, ...]) -> tuple[Value, ...]:
    """`values` checked as check_value does each; the common types without a call apiece."""
    for value in values:
        kind = type(value)
        if kind in _PLAIN or (kind is int and -(2**63) <= value < 2**63):
            continue
        return tuple(check_value(v, i) for i, v in enumerate(values))
    return values


def run_one(conn: sqlite3.Connection, sql: str, params: Sequence[Value], path: str) -> Record:
    """Execute one statement; its D1 result: results (rows as Records), success, meta."""
    try:
        return execute(conn, sql, params, path)
    except sqlite3.Error as exc:
        raise D1Error(str(exc)) from None
    except OverflowError as exc:
        raise StorageInputError(f"D1: {exc}") from None


def reads_only(sql: str) -> bool:
    """A plain SELECT (tried on the caller's thread first, host.storage.quickread)."""
    return sql.lstrip()[:6].upper() == "SELECT"


def execute(conn: sqlite3.Connection, sql: str, params: Sequence[Value], path: str | None) -> Record:
    """run_one, with sqlite3's own exceptions."""
    start = time.perf_counter()
    cursor = conn.execute(sql, params)
    description = cursor.description
    columns = list(map(_name, description or ()))
    # one cursor's description and rows: the same length (strict=, a keyword, costs 0.3 µs a row)
    rows = [Record(zip(columns, row)) for row in cursor.fetchall()]  # noqa: B905
    reads = description is not None and reads_only(sql)  # else: may have written
    changes = 0 if reads else max(cursor.rowcount, 0)
    meta = _meta(start, changes, cursor.lastrowid, len(rows), None if reads else path)
    return Record(results=rows, success=True, meta=meta)


def first_row(conn: sqlite3.Connection, sql: str, params: Sequence[Value]) -> Record | None:
    """The first row of a SELECT (the rest are not fetched), with sqlite3's own exceptions."""
    cursor = conn.execute(sql, params)
    row = cursor.fetchone()
    # The cursor goes when this returns, and sqlite3 resets its statement then: no read is left
    # open on the connection (a WAL checkpoint is not held up), without close()'s extra call.
    return None if row is None else Record(zip(map(_name, cursor.description), row))  # noqa: B905


def raw_rows(result: Record, column_names: bool) -> list[list[Any]]:
    rows: list[Record] = result["results"]
    lists = [list(dict.values(r)) for r in rows]
    return [list(dict.keys(rows[0])), *lists] if column_names and rows else lists


def run_batch(
    conn: sqlite3.Connection, statements: Sequence[tuple[str, Sequence[Value]]], path: str
) -> list[Record]:
    """Every statement in one transaction: all results, or D1Error and nothing changed."""
    return transaction(conn, lambda c: [run_one(c, sql, params, path) for sql, params in statements])


def run_script(conn: sqlite3.Connection, sql: str) -> Record:
    """exec(): several statements separated by semicolons, each committed; {count, duration}."""
    start = time.perf_counter()
    statements = split_statements(sql)
    try:
        for statement in statements:
            conn.execute(statement)
    except sqlite3.Error as exc:
        raise D1Error(str(exc)) from None
    return Record(count=len(statements), duration=(time.perf_counter() - start) * 1000)


def split_statements(sql: str) -> list[str]:
    """`sql` cut into complete statements (semicolons inside strings and comments do not cut)."""
    statements, buffer = [], ""
    *pieces, last = sql.split(";")
    for piece in pieces:
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if _has_code(buffer):
                statements.append(buffer.strip())
            buffer = ""
    buffer += last  # no semicolon after it: run it as it is (SQLite says if it is incomplete)
    if _has_code(buffer):
        statements.append(buffer.strip())
    return statements


def _has_code(sql: str) -> bool:
    lines = [line.split("--", 1)[0] for line in sql.splitlines()]
    return bool("".join(lines).replace(";", "").strip())


def _meta(start: float, changes: int, last_row_id: int | None, rows: int, path: str | None) -> Record:
    """D1's meta; size_after (the file's size, a stat call) only after a statement that may write."""
    size = None
    if path is not None:
        try:
            size = os.path.getsize(path)
        except OSError:
            size = 0
    return Record(
        duration=(time.perf_counter() - start) * 1000,
        changes=changes,
        last_row_id=last_row_id or 0,
        changed_db=changes > 0,
        rows_read=rows,
        rows_written=changes,
        size_after=size,
        served_by="waypost",
    )


def open_database(path: Path) -> SQLiteFile:
    """The database file (made on first use): WAL, synchronous=FULL, foreign keys on as in D1."""
    return SQLiteFile(path, lambda c: c.execute("PRAGMA foreign_keys=ON"))
