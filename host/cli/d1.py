"""`waypost d1 execute DB --command SQL | --file F` and `waypost d1 migrations list|apply DB`, as
wrangler's, on the data directory's SQLite files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from host.cli.output import print_json, table, user_errors
from host.cli.storage import common, load_target, run, show
from host.storage import d1migrations
from host.storage.d1 import D1Database
from host.storage.d1sql import split_statements
from host.storage.settings import D1DatabaseConfig


def _database(args: argparse.Namespace) -> tuple[D1DatabaseConfig, D1Database, Path]:
    target = load_target(args)
    db = target.d1(args.database)
    return db, D1Database(db.file(target.data_dir)), target.data_dir


@user_errors
def cmd_execute(args: argparse.Namespace) -> int:
    if (args.sql is None) == (args.file is None):
        raise ValueError("give one of --command SQL or --file F")
    sql = args.sql if args.file is None else Path(args.file).read_text(encoding="utf-8")
    statements = split_statements(sql)
    if not statements:
        raise ValueError("no SQL statement to run")
    _, db, _ = _database(args)
    # all statements in one transaction: a bad one leaves the database as it was
    results = run(lambda: db.batch([db.prepare(s) for s in statements]))
    if args.json:
        print_json(results)
        return 0
    for statement, result in zip(statements, results, strict=True):
        rows: list[dict[str, Any]] = result["results"]
        if rows:
            columns = list(rows[0])
            print(table([[show(r[c]) for c in columns] for r in rows], columns))
        else:
            meta = result["meta"]
            print(f"{_first_line(statement)}: {meta['changes']} row(s) changed")
    return 0


@user_errors
def cmd_migrations_list(args: argparse.Namespace) -> int:
    cfg, db, _ = _database(args)
    found = d1migrations.status(db.file, cfg.migrations_dir, cfg.migrations_table)
    if args.json:
        print_json([{"name": m.name, "applied": m.applied} for m in found])
    elif not found:
        print(f"No migrations in {cfg.migrations_dir}.")
    else:
        print(table([(m.name, "applied" if m.applied else "pending") for m in found], ("Name", "Status")))
    return 0


@user_errors
def cmd_migrations_apply(args: argparse.Namespace) -> int:
    cfg, db, _ = _database(args)
    applied = d1migrations.apply(db.file, cfg.migrations_dir, cfg.migrations_table)
    if args.json:
        print_json({"applied": applied})
    elif not applied:
        print("No migrations to apply.")
    else:
        print("\n".join(f"Applied {name}" for name in applied))
    return 0


def _first_line(sql: str) -> str:
    line = sql.strip().splitlines()[0]
    return line if len(line) <= 60 else line[:57] + "..."


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    d1 = subparsers.add_parser(
        "d1",
        help="run SQL and migrations on D1 databases",
        description="D1 databases, on the data directory.",
    )
    sub = d1.add_subparsers(dest="d1_command", metavar="COMMAND", required=True)

    p = sub.add_parser("execute", help="run SQL (all statements in one transaction)")
    p.add_argument("database", metavar="DB", help="the d1_databases binding or database_name")
    p.add_argument("--command", dest="sql", metavar="SQL", help="the SQL to run")
    p.add_argument("--file", metavar="F", help="a file of SQL to run")
    p.add_argument("-y", "--yes", action="store_true", help="accepted, as wrangler's (nothing to confirm)")
    common(p)
    p.set_defaults(handler=cmd_execute)

    mig = sub.add_parser("migrations", help="list and apply the migrations/ folder")
    msub = mig.add_subparsers(dest="d1_migrations_command", metavar="COMMAND", required=True)
    for name, handler, text in (
        ("list", cmd_migrations_list, "list the migrations and whether each is applied"),
        ("apply", cmd_migrations_apply, "apply the pending migrations in order"),
    ):
        p = msub.add_parser(name, help=text)
        p.add_argument("database", metavar="DB", help="the d1_databases binding or database_name")
        common(p)
        p.set_defaults(handler=handler)
