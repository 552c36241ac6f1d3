"""What the `kv`, `d1` and `r2` commands share: the deployment's storage bindings and data directory,
found like `serve` finds them, and the common flags."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import anyio

from host.config import Config, WorkerConfig, find_config, load_config
from host.storage import settings

T = TypeVar("T")


@dataclass(frozen=True)
class StorageTarget:
    """The data directory and the workers (with their storage bindings) config.yaml declares."""

    data_dir: Path
    root: Path
    workers: tuple[WorkerConfig, ...]
    has_config: bool

    def kv(self, binding: str | None, namespace_id: str | None) -> settings.KVNamespaceConfig:
        """`--binding NAME` (a kv_namespaces binding) or `--namespace-id ID` (any namespace)."""
        if (binding is None) == (namespace_id is None):
            raise ValueError("give one of --binding NAME or --namespace-id ID")
        if namespace_id is not None:
            return settings.KVNamespaceConfig(
                namespace_id, settings.check_store_name(namespace_id, "KV namespace id")
            )
        found = [kv for w in self.workers for kv in w.kv_namespaces if kv.binding == binding]
        if not found:
            raise LookupError(
                f"no kv_namespaces binding {binding!r} in {self._where()} (or use --namespace-id)"
            )
        return found[0]

    def d1(self, name: str) -> settings.D1DatabaseConfig:
        """DB is a d1_databases binding or database_name; without one, an existing data/d1/<DB>.sqlite3."""
        for worker in self.workers:
            for db in worker.d1_databases:
                if name in (db.binding, db.database_name):
                    return db
        database_name = settings.check_store_name(name, "D1 database")
        if settings.d1_file(self.data_dir, database_name).is_file():
            return settings.D1DatabaseConfig(name, database_name, None, self.root / settings.MIGRATIONS_DIR)
        raise LookupError(f"no d1_databases binding or database_name {name!r} in {self._where()}")

    def r2(self, name: str) -> settings.R2BucketConfig:
        """BUCKET is a bucket_name (or an r2_buckets binding); any plain name works without config."""
        for worker in self.workers:
            for bucket in worker.r2_buckets:
                if name in (bucket.bucket_name, bucket.binding):
                    return bucket
        return settings.R2BucketConfig(name, settings.check_store_name(name, "R2 bucket name"))

    def _where(self) -> str:
        return "the config" if self.has_config else "the config (none found)"


def load_target(args: argparse.Namespace) -> StorageTarget:
    """--config (or ./config.yaml, ./wrangler.*), --data (or host.data_dir, WAYPOST_DATA_DIR)."""
    path: Path | None = getattr(args, "config", None)
    if path is None:
        path = find_config(Path("."))
    data = getattr(args, "data", None)
    config: Config = load_config(path, overrides={"data_dir": data} if data else None)
    return StorageTarget(config.host.data_dir, config.root, config.workers, path is not None)


def run(operation: Callable[[], Awaitable[T]]) -> T:
    """Run one binding call (async, on worker threads like in the host) to its end."""
    return anyio.run(operation)


def common(parser: argparse.ArgumentParser) -> None:
    """-c/--config, --data, --json; left unset when not given, so a global -c is not overwritten."""
    s = argparse.SUPPRESS
    parser.add_argument(
        "-c",
        "--config",
        metavar="PATH",
        type=Path,
        default=s,
        help="config file (default: ./config.yaml or ./wrangler.*)",
    )
    parser.add_argument(
        "--data", metavar="DIR", default=s, help="data directory (default: host.data_dir, or ./data)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--local", action="store_true", default=s, help="accepted, as wrangler's: the data is always local"
    )


def show(value: Any) -> str:
    """One table cell: None as '-', everything else as str."""
    return "-" if value is None else str(value)
