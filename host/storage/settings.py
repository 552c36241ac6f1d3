"""The `kv_namespaces`, `d1_databases` and `r2_buckets` keys of a worker, validated, and where each
one keeps its data under the data directory."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from host.errors import ConfigError

STORAGE_KEYS = ("kv_namespaces", "d1_databases", "r2_buckets")
# a namespace id, database name or bucket name becomes a folder or file name: keep it plain
STORE_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$")
TABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MIGRATIONS_DIR = "migrations"
MIGRATIONS_TABLE = "d1_migrations"

# wrangler keys inside one entry that mean nothing on one host (remote/preview resources)
_IGNORED = ("remote", "experimental_remote", "preview_id", "preview_database_id", "preview_bucket_name")


@dataclass(frozen=True)
class KVNamespaceConfig:
    """`kv_namespaces: [{binding: CACHE, id: main}]`: data in data/kv/<id>/."""

    binding: str
    id: str

    def folder(self, data_dir: Path) -> Path:
        return kv_folder(data_dir, self.id)


@dataclass(frozen=True)
class D1DatabaseConfig:
    """`d1_databases: [{binding: DB, database_name: quotes}]`: data in data/d1/<database_name>.sqlite3."""

    binding: str
    database_name: str
    database_id: str | None
    migrations_dir: Path
    migrations_table: str = MIGRATIONS_TABLE

    def file(self, data_dir: Path) -> Path:
        return d1_file(data_dir, self.database_name)


@dataclass(frozen=True)
class R2BucketConfig:
    """`r2_buckets: [{binding: FILES, bucket_name: uploads}]`: objects in data/r2/<bucket_name>/."""

    binding: str
    bucket_name: str

    def folder(self, data_dir: Path) -> Path:
        return r2_folder(data_dir, self.bucket_name)


def kv_folder(data_dir: Path, namespace_id: str) -> Path:
    return data_dir / "kv" / check_store_name(namespace_id, "KV namespace id")


def d1_file(data_dir: Path, database_name: str) -> Path:
    return data_dir / "d1" / f"{check_store_name(database_name, 'D1 database name')}.sqlite3"


def r2_folder(data_dir: Path, bucket_name: str) -> Path:
    return data_dir / "r2" / check_store_name(bucket_name, "R2 bucket name")


def check_store_name(name: str, what: str) -> str:
    """`name` if it is a plain folder/file name (1-64 chars, STORE_NAME_RE); ValueError otherwise."""
    if not isinstance(name, str) or not STORE_NAME_RE.match(name):
        raise ValueError(f"{what} {name!r} is not valid (1-64 chars, {STORE_NAME_RE.pattern})")
    return name


class Checker(Protocol):
    """What parse_storage needs of host.config's validator."""

    root: Path

    def fail(self, key: str, problem: str) -> ConfigError: ...

    def mapping(
        self, value: Any, key: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()
    ) -> dict[str, Any]: ...

    def string(self, value: Any, key: str) -> str: ...

    def binding(self, value: Any, key: str, used: set[str]) -> str: ...

    def sequence(self, value: Any, key: str) -> list[Any]: ...


def parse_storage(raw: Mapping[str, Any], key: str, check: Checker, used: set[str]) -> dict[str, Any]:
    """The three storage keys of worker `raw` (at key path `key`), as WorkerConfig fields; binding
    names join `used`."""

    def entries(name: str) -> list[tuple[str, Any]]:
        where = f"{key}.{name}" if key else name
        return [(f"{where}[{j}]", e) for j, e in enumerate(check.sequence(raw.get(name) or [], where))]

    kv = tuple(_kv(e, k, check, used) for k, e in entries("kv_namespaces"))
    d1 = tuple(_d1(e, k, check, used) for k, e in entries("d1_databases"))
    r2 = tuple(_r2(e, k, check, used) for k, e in entries("r2_buckets"))
    return {"kv_namespaces": kv, "d1_databases": d1, "r2_buckets": r2}


def _store_name(check: Checker, value: Any, key: str) -> str:
    text = check.string(value, key)
    if not STORE_NAME_RE.match(text):
        raise check.fail(key, f"{text!r} is not valid here (1-64 chars, {STORE_NAME_RE.pattern})")
    return text


def _kv(raw: Any, key: str, check: Checker, used: set[str]) -> KVNamespaceConfig:
    raw = check.mapping(raw, key, ("binding", "id", *_IGNORED), required=("binding",))
    binding = check.binding(raw["binding"], f"{key}.binding", used)
    ident = raw.get("id")
    return KVNamespaceConfig(binding, binding if ident is None else _store_name(check, ident, f"{key}.id"))


def _d1(raw: Any, key: str, check: Checker, used: set[str]) -> D1DatabaseConfig:
    allowed = ("binding", "database_name", "database_id", "migrations_dir", "migrations_table")
    raw = check.mapping(raw, key, (*allowed, "database_internal_env", *_IGNORED), required=("binding",))
    binding = check.binding(raw["binding"], f"{key}.binding", used)
    name = raw.get("database_name")
    name = binding if name is None else _store_name(check, name, f"{key}.database_name")
    ident = raw.get("database_id")
    folder = raw.get("migrations_dir")
    table = raw.get("migrations_table")
    if table is not None and not TABLE_RE.match(check.string(table, f"{key}.migrations_table")):
        raise check.fail(f"{key}.migrations_table", f"{table!r} is not a table name ({TABLE_RE.pattern})")
    return D1DatabaseConfig(
        binding=binding,
        database_name=name,
        database_id=None if ident is None else check.string(ident, f"{key}.database_id"),
        migrations_dir=check.root
        / (MIGRATIONS_DIR if folder is None else check.string(folder, f"{key}.migrations_dir")),
        migrations_table=MIGRATIONS_TABLE if table is None else table,
    )


def _r2(raw: Any, key: str, check: Checker, used: set[str]) -> R2BucketConfig:
    raw = check.mapping(
        raw, key, ("binding", "bucket_name", "jurisdiction", *_IGNORED), required=("binding",)
    )
    binding = check.binding(raw["binding"], f"{key}.binding", used)
    name = raw.get("bucket_name")
    return R2BucketConfig(
        binding, binding if name is None else _store_name(check, name, f"{key}.bucket_name")
    )
