"""The validated deployment as frozen dataclasses: what config.yaml or a wrangler file says."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from host.config.retention import SWEEP_INTERVAL
from host.storage import settings as storage

logger = logging.getLogger("waypost")

NAME_RE = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9-_]*$")
BINDING_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED_PREFIX = "/client/v4"  # the admin API lives here
DASHBOARD_PREFIX = "/__waypost"  # the dashboard and /__waypost/metrics (host/dashboard)
FUNCTIONS_DIR = "functions"
MAX_STEPS = 10_000
DEFAULT_MAX_BODY = 2 * 1024 * 1024
CONFIG_YAML = "config.yaml"
_OWN_KEYS = ("name", "main", "routes", "vars", "services", "workflows", "triggers", "wrangler")
WORKER_KEYS: tuple[str, ...] = _OWN_KEYS + storage.STORAGE_KEYS  # + kv_namespaces, d1_databases, r2_buckets

# (file, the keys accepted there and ignored) of each file that has such keys
IgnoredKeys = tuple[tuple[Path, tuple[str, ...]], ...]


@dataclass(frozen=True)
class WorkflowConfig:
    """One `workflows:` entry: a definition (script_name None) or a reference to another worker's."""

    name: str
    binding: str
    class_name: str
    script_name: str | None
    steps_limit: int = MAX_STEPS
    concurrency_limit: int | None = None
    retention: dict[str, float] | None = None  # default instance retention, seconds (SPEC 3.11)
    schedules: tuple[str, ...] = ()  # cron expressions: one instance per tick (SPEC 3.10)


@dataclass(frozen=True)
class ServiceConfig:
    """One `services:` entry: env.<binding> calls the worker named `service`."""

    binding: str
    service: str


@dataclass(frozen=True)
class WorkerConfig:
    """One worker: configured in config.yaml, or a drop-in file found in functions/ (`dropin`)."""

    name: str
    main: Path
    routes: tuple[str, ...]
    vars: dict[str, Any]
    services: tuple[ServiceConfig, ...]
    workflows: tuple[WorkflowConfig, ...]
    dropin: bool = False
    crons: tuple[str, ...] = ()  # triggers.crons, kept as written (running them is SPEC 2.1)
    wrangler: Path | None = None  # the wrangler file this worker was read from, if any
    # storage bindings on files (SPEC 2.2; host.storage)
    kv_namespaces: tuple[storage.KVNamespaceConfig, ...] = ()
    d1_databases: tuple[storage.D1DatabaseConfig, ...] = ()
    r2_buckets: tuple[storage.R2BucketConfig, ...] = ()


@dataclass(frozen=True)
class HostConfig:
    """The `host:` section."""

    data_dir: Path
    listen: str = "127.0.0.1:8787"
    account_id: str = "local"
    durability: str = "fsync"
    hibernate_after: float = 1.0
    max_body: int = DEFAULT_MAX_BODY
    sweep_interval: float = SWEEP_INTERVAL  # how often expired instances are looked for


@dataclass(frozen=True)
class Config:
    """A whole deployment: config.yaml (or none) plus the drop-ins found in functions/."""

    path: Path | None
    root: Path
    host: HostConfig
    workers: tuple[WorkerConfig, ...] = field(default_factory=tuple)
    overrides: tuple[tuple[str, str], ...] = ()  # command-line settings, kept for reloads
    ignored: IgnoredKeys = ()  # (file, wrangler keys accepted and ignored there), for the log

    @property
    def file(self) -> str:
        """How errors name the config file."""
        return display_path(self.path) if self.path is not None else "config.yaml"

    @property
    def functions_dir(self) -> Path:
        return self.root / FUNCTIONS_DIR

    def worker(self, name: str) -> WorkerConfig | None:
        return next((w for w in self.workers if w.name == name), None)

    def where(self, index: int, key: str) -> tuple[str, str]:
        """(file, key path) for an error about `key` (e.g. "workflows[0].class_name") of worker
        `index`: its wrangler file's own key for a wrangler worker, else config.yaml's workers[i]."""
        source = self.workers[index].wrangler
        if source is not None:
            return display_path(source), key
        return self.file, f"workers[{index}].{key}"


def display_path(path: Path) -> str:
    """`path` relative to the working directory when it lies under it, else as is."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
