"""A worker's storage bindings, built from its config for one data directory."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from host.storage.d1 import D1Database
from host.storage.kv import KVNamespace
from host.storage.r2 import R2Bucket

if TYPE_CHECKING:
    from host.config import WorkerConfig


def storage_bindings(worker: WorkerConfig, data_dir: Path) -> dict[str, Any]:
    """binding name -> KVNamespace / D1Database / R2Bucket, each handed its place under data_dir."""
    bindings: dict[str, Any] = {}
    for kv in worker.kv_namespaces:
        bindings[kv.binding] = KVNamespace(kv.folder(data_dir))
    for db in worker.d1_databases:
        bindings[db.binding] = D1Database(db.file(data_dir))
    for bucket in worker.r2_buckets:
        bindings[bucket.binding] = R2Bucket(bucket.folder(data_dir))
    return bindings
