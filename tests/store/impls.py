"""Every InstanceStore implementation the contract suite runs against, by name.

The test fixtures and the crash child (child.py) both build stores from here, so a second
backend plugs into the whole suite by adding one entry to BACKENDS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from host.workflows.store import InstanceStore


@dataclass(frozen=True)
class Backend:
    """One implementation, in one configuration."""

    name: str
    make: Callable[[Path], InstanceStore]  # a store on the given data directory
    durable: bool  # what the store's `durable` must say


def _file_store(durability: str) -> Callable[[Path], InstanceStore]:
    def make(data_dir: Path) -> InstanceStore:
        from host.store.filestore import FileStore  # imported late: collection never needs it

        return FileStore(data_dir, durability)  # type: ignore[return-value,unused-ignore]

    return make


BACKENDS = (
    Backend("file-fsync", _file_store("fsync"), durable=True),
    Backend("file-relaxed", _file_store("relaxed"), durable=False),
)


def backend_named(name: str) -> Backend:
    for backend in BACKENDS:
        if backend.name == name:
            return backend
    raise LookupError(f"no store backend named {name!r}")
