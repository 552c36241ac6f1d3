"""`env.DB`: a D1 database binding (prepare/bind/all/first/run/raw, batch, exec) on one SQLite file."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import anyio.to_thread

from host.storage.d1sql import (
    Value,
    check_values,
    execute,
    first_row,
    open_database,
    raw_rows,
    reads_only,
    run_batch,
    run_one,
    run_script,
)
from host.storage.quickread import NOT_QUICK, NotQuick, QuickReader
from host.storage.shapes import Record, StorageInputError

T = TypeVar("T")


class D1Database:
    """The database in `path` (data/d1/<database_name>.sqlite3); statements run on a worker thread."""

    def __init__(self, path: Path) -> None:
        self.file = open_database(path)
        self.quick = QuickReader(path)

    def prepare(self, sql: Any) -> D1PreparedStatement:
        """A statement to bind() and run; nothing runs yet."""
        if not isinstance(sql, str) or not sql.strip():
            raise StorageInputError("D1 prepare: the SQL must be a non-empty str")
        return D1PreparedStatement(self, sql, (), reads_only(sql))

    async def batch(self, statements: Sequence[D1PreparedStatement]) -> list[Record]:
        """Run the statements in one transaction: a result each, or an error and no change at all."""
        if not isinstance(statements, list | tuple) or not all(
            isinstance(s, D1PreparedStatement) and s.db is self for s in statements
        ):
            raise StorageInputError("D1 batch: expected a list of statements prepared on this database")
        if not statements:
            return []
        work = [(s.sql, s.params) for s in statements]
        return await self._run(lambda c: run_batch(c, work, str(self.file.path)))

    async def exec(self, sql: Any) -> Record:
        """Run one or more statements separated by semicolons (no binding); {count, duration}."""
        if not isinstance(sql, str) or not sql.strip():
            raise StorageInputError("D1 exec: the SQL must be a non-empty str")
        return await self._run(lambda c: run_script(c, sql))

    def close(self) -> None:
        self.quick.close()
        self.file.close()

    async def _run(self, fn: Callable[[Any], T]) -> T:
        return await anyio.to_thread.run_sync(self.file.call, fn)

    def __repr__(self) -> str:
        return f"D1Database({str(self.file.path)!r})"


class D1PreparedStatement:
    """One SQL statement and its bound values."""

    __slots__ = ("db", "sql", "params", "reads")

    def __init__(self, db: D1Database, sql: str, params: tuple[Value, ...], reads: bool) -> None:
        self.db, self.sql, self.params = db, sql, params
        self.reads = reads  # a SELECT: tried on the caller's thread first (quickread)

    def bind(self, *values: Any) -> D1PreparedStatement:
        """The statement with these values for its `?` (or `?1`, `?2`) placeholders."""
        return D1PreparedStatement(self.db, self.sql, check_values(values), self.reads)

    async def all(self) -> Record:
        """{results: [row, ...], success, meta}; each row a dict also readable by attribute."""
        db = self.db
        if self.reads:  # a SELECT that finishes at once runs here, no thread hop
            found = db.quick.read(execute, self.sql, self.params, None)
            if not isinstance(found, NotQuick):
                return found
        path = str(db.file.path)
        return await db._run(lambda c: run_one(c, self.sql, self.params, path))

    async def run(self) -> Record:
        """As all(): the result with its meta (changes, last_row_id, duration)."""
        return await self.all()

    async def first(self, column: Any = None) -> Any:
        """The first row (None when there is none), or its value of `column`."""
        found = self.db.quick.read(first_row, self.sql, self.params) if self.reads else NOT_QUICK
        if type(found) is NotQuick:  # (isinstance would ask the Record for its __class__)
            rows: list[Record] = (await self.all())["results"]
            row = rows[0] if rows else None
        else:  # only the first row was fetched: no result list, no meta
            row = cast(Record | None, found)
        if row is None or column is None:
            return row
        if column not in row:
            raise StorageInputError(f"D1 first: no column {column!r} in the result")
        return row[column]

    async def raw(self, options: Any = None, *, column_names: bool = False, **opts: Any) -> list[list[Any]]:
        """The rows as lists of values; the column names first with column_names=True."""
        if isinstance(options, dict):
            column_names = bool(options.get("columnNames", options.get("column_names", column_names)))
        column_names = bool(opts.pop("columnNames", column_names))
        if opts:
            raise StorageInputError(f"D1 raw: unknown option {next(iter(opts))!r} (expected column_names)")
        return raw_rows(await self.all(), column_names)

    def __repr__(self) -> str:
        return f"D1PreparedStatement({self.sql!r}, {self.params!r})"
