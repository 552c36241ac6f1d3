"""The live set of loaded workers: swapped whole on reload, keeping a worker's last good version on error."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import ModuleType

from host.config import Config, WorkerConfig
from host.errors import ConfigError, WorkerLoadError
from host.runtime.loader import LoadedWorker, load_worker

logger = logging.getLogger("waypost")


class Registry:
    """Name -> LoadedWorker; readers see either the old or the new map, never a mix."""

    def __init__(self) -> None:
        self._workers: Mapping[str, LoadedWorker] = {}
        self.errors: dict[str, str] = {}  # worker name -> last load error, for the admin API

    def get(self, name: str) -> LoadedWorker | None:
        return self._workers.get(name)

    def module(self, name: str) -> ModuleType:
        """The current module of worker `name` (the engine loads workflow classes through this)."""
        worker = self._workers.get(name)
        if worker is None:
            raise LookupError(f"worker {name!r} is not loaded")
        return worker.module

    @property
    def workers(self) -> Mapping[str, LoadedWorker]:
        return self._workers

    def load(self, config: Config, *, strict: bool) -> None:
        """(Re)import every worker of `config`, then swap the whole map in at once.

        strict (start-up): the first error is raised. Otherwise a worker that fails keeps its
        last good version (if it had one) and the error is logged and kept in `errors`.
        """
        loaded: dict[str, LoadedWorker] = {}
        errors: dict[str, str] = {}
        for index, worker in enumerate(config.workers):
            try:
                loaded[worker.name] = _load_checked(config, index, worker)
            except (WorkerLoadError, ConfigError) as exc:
                if strict:
                    raise
                errors[worker.name] = str(exc)
                previous = self._workers.get(worker.name)
                if previous is not None:
                    loaded[worker.name] = previous
                    logger.error("%s (still serving the last good version of %s)", exc, worker.name)
                else:
                    logger.error("%s (worker %s is not served)", exc, worker.name)
        self._workers = loaded
        self.errors = errors


def _load_checked(config: Config, index: int, worker: WorkerConfig) -> LoadedWorker:
    loaded = load_worker(worker.name, worker.main)
    for j, wf in enumerate(worker.workflows):
        if wf.script_name is None and not isinstance(getattr(loaded.module, wf.class_name, None), type):
            raise ConfigError(
                config.file,
                f"workers[{index}].workflows[{j}].class_name",
                f"no class {wf.class_name!r} in {worker.main.name}",
            )
    return loaded
