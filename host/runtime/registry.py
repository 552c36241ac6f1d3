"""The live set of loaded workers: swapped whole on reload, keeping a worker's last good version on error."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from types import ModuleType

from host.config import Config, WorkerConfig
from host.errors import ConfigError, WaypostError, WorkerLoadError
from host.runtime.loader import LoadedWorker, load_worker

logger = logging.getLogger("waypost")


class Registry:
    """Name -> LoadedWorker; readers see either the old or the new map, never a mix."""

    def __init__(self) -> None:
        self._workers: Mapping[str, LoadedWorker] = {}
        self.errors: dict[str, str] = {}  # worker name -> last load error (file:line: ...), for the admin API
        self.error_ids: dict[str, str] = {}  # worker name -> the id its error is logged under

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

    def load(self, config: Config, *, start: bool = False, strict: bool = False) -> None:
        """(Re)import every worker of `config`, then swap the whole map in at once.

        A worker that fails keeps its last good version if it has one; one that has none is not
        served (the dispatcher answers its routes with a 503 naming the error id). Every failure
        is logged with its id and file:line, and kept in `errors` / `error_ids`.

        start: a ConfigError (a workflow class missing from a module that did import) is raised:
        config errors stop start-up. strict (with start): any failure is raised, once every worker
        has been tried, naming them all.
        """
        loaded: dict[str, LoadedWorker] = {}
        errors: dict[str, str] = {}
        ids: dict[str, str] = {}
        failures: list[WaypostError] = []
        for index, worker in enumerate(config.workers):
            try:
                loaded[worker.name] = _load_checked(config, index, worker)
            except (WorkerLoadError, ConfigError) as exc:
                if start and isinstance(exc, ConfigError) and not strict:
                    raise
                failures.append(exc)
                message = str(exc)
                errors[worker.name] = message
                # the same error as at the last load keeps its id, so the log and the 503s agree
                same = self.errors.get(worker.name) == message and worker.name in self.error_ids
                ids[worker.name] = self.error_ids[worker.name] if same else secrets.token_hex(4)
                previous = self._workers.get(worker.name)
                if strict:
                    continue
                if previous is not None:
                    loaded[worker.name] = previous
                    logger.error(
                        "error %s: %s (still serving the last good version of %s)",
                        ids[worker.name],
                        exc,
                        worker.name,
                    )
                else:
                    logger.error(
                        "error %s: %s (worker %s is not served: its routes answer 503)",
                        ids[worker.name],
                        exc,
                        worker.name,
                    )
        if strict and failures:
            config_errors = [f for f in failures if isinstance(f, ConfigError)]
            if config_errors:
                raise config_errors[0]
            if len(failures) == 1:
                raise failures[0]
            lines = "\n".join(f"  {f}" for f in failures)
            raise WorkerLoadError(f"{len(failures)} workers failed to load (--strict):\n{lines}")
        self._workers = loaded
        self.errors = errors
        self.error_ids = ids


def _load_checked(config: Config, index: int, worker: WorkerConfig) -> LoadedWorker:
    loaded = load_worker(worker.name, worker.main)
    for j, wf in enumerate(worker.workflows):
        if wf.script_name is None and not isinstance(getattr(loaded.module, wf.class_name, None), type):
            raise ConfigError(
                *config.where(index, f"workflows[{j}].class_name"),
                f"no class {wf.class_name!r} in {worker.main.name}",
            )
    return loaded
