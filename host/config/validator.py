"""One config file -> a Config: config.yaml's workers, or a wrangler file's one worker."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from host import wrangler
from host.config.checks import Checks, join_key
from host.config.model import Config, WorkerConfig, display_path
from host.config.workers import WorkerFields

logger = logging.getLogger("waypost")


class Validator(WorkerFields):
    """Turns raw YAML (or wrangler) data into dataclasses; every failure names its key path."""

    def config(self, raw: Any, path: Path | None) -> Config:
        raw = self.mapping(raw, "", ("host", "workers"))
        host = self.host(raw.get("host") or {})
        workers: list[WorkerConfig] = []
        seen: set[str] = set()
        for i, item in enumerate(self.sequence(raw.get("workers") or [], "workers")):
            worker = self.worker(item, f"workers[{i}]")
            if worker.name in seen:
                if worker.wrangler is not None:
                    raise self.fail(
                        f"workers[{i}].wrangler",
                        f"worker {worker.name!r} (named in {display_path(worker.wrangler)}) is defined twice",
                    )
                raise self.fail(f"workers[{i}].name", f"worker {worker.name!r} is defined twice")
            seen.add(worker.name)
            workers.append(worker)
        return Config(
            path=path.resolve() if path else None, root=self.root, host=host, workers=tuple(workers)
        )

    def worker(self, raw: Any, key: str) -> WorkerConfig:
        if isinstance(raw, dict) and "wrangler" in raw:
            return self.wrangler_entry(raw, key)
        raw = self.mapping(raw, key, self.worker_keys(raw, key), required=("name", "main"))
        worker = self.worker_fields(raw, key)
        routes = self.routes(raw.get("routes"), f"{key}.routes")
        return replace(worker, routes=routes)

    # -- a worker read from a wrangler file --

    def wrangler_entry(self, raw: dict[str, Any], key: str) -> WorkerConfig:
        """`{wrangler: PATH, routes: [...]}`: the wrangler file's worker on this file's routes."""
        for k in raw:
            if k not in ("wrangler", "routes"):
                raise self.fail(
                    join_key(key, str(k)),
                    "a {wrangler: PATH} worker takes only routes here; set the rest in its wrangler file",
                )
        path = self.path(raw["wrangler"], f"{key}.wrangler", must_exist=True)
        if path.is_dir():
            found = wrangler.find_in(path)
            if not found:
                raise self.fail(
                    f"{key}.wrangler", f"no {', '.join(wrangler.FILE_NAMES)} in {raw['wrangler']}"
                )
            path = found[0]
        elif not wrangler.is_wrangler_file(path):
            raise self.fail(
                f"{key}.wrangler", f"{raw['wrangler']} is not a wrangler.json, .jsonc or .toml file"
            )
        routes = self.routes(raw.get("routes"), f"{key}.routes")
        sub = Validator(display_path(path), path.parent, path, self.ignored)
        return replace(sub.wrangler_worker(path), routes=routes)

    def wrangler_worker(self, path: Path) -> WorkerConfig:
        """The one worker of wrangler file `path` (this validator's file), with its .dev.vars secrets."""
        data = wrangler.parse(path, self.file)
        ignored = wrangler.sort_keys(data, self.file, "", ())
        for k in data:
            if k not in wrangler.USED and k not in ignored:
                raise self.fail(k, "unknown key (not a wrangler configuration key)")
        for k in ("name", "main"):
            if data.get(k) is None:
                raise self.fail(k, "required")
        used = {k: v for k, v in data.items() if k in wrangler.USED}
        for entries in ("workflows", "services"):
            if isinstance(used.get(entries), list):
                used[entries] = [
                    self.entry(e, f"{entries}[{j}]", ignored) for j, e in enumerate(used[entries])
                ]
        self.ignored.setdefault(path, []).extend(ignored)
        secrets = self.dev_vars(path.parent / wrangler.DEV_VARS, used.get("secrets"))
        return replace(self.worker_fields(used, "", secrets), wrangler=path)

    def entry(self, raw: Any, key: str, ignored: list[str]) -> Any:
        """One `workflows` or `services` entry, less the wrangler keys that mean nothing here."""
        if not isinstance(raw, dict):
            return raw
        for k in raw:
            if k in wrangler.ENTRY_UNSUPPORTED:
                raise self.fail(
                    f"{key}.{k}", f"not supported: Waypost has no {wrangler.ENTRY_UNSUPPORTED[k]}"
                )
        ignored.extend(f"{key}.{k}" for k in raw if k in wrangler.ENTRY_IGNORED)
        return {k: v for k, v in raw.items() if k not in wrangler.ENTRY_IGNORED}

    def dev_vars(self, path: Path, secrets: Any) -> dict[str, str]:
        """The .dev.vars beside the wrangler file; `secrets.required`, when set, picks which keys
        count and warns of the missing ones (wrangler's rule)."""
        file = display_path(path)
        values = wrangler.read_dev_vars(path, file)
        if secrets is None:
            required = None
        else:
            secrets = self.mapping(secrets, "secrets", ("required",))
            required = [
                self.string(s, f"secrets.required[{j}]")
                for j, s in enumerate(self.sequence(secrets.get("required") or [], "secrets.required"))
            ]
        if required is not None:
            missing = [k for k in required if k not in values]
            if missing:
                logger.warning(
                    "%s: secrets.required names %s, not set in %s", self.file, ", ".join(missing), file
                )
            values = {k: v for k, v in values.items() if k in required}
        checker = Checks(file, path.parent)
        used: set[str] = set()
        for k in values:
            checker.binding(k, k, used)
        return values
