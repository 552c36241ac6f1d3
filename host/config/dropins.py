"""The drop-in workers found in functions/, and the checks that span workers (names, routes,
service and script_name references)."""

from __future__ import annotations

import logging
from pathlib import Path

from host.config.model import NAME_RE, Config, WorkerConfig, WorkflowConfig, display_path
from host.errors import ConfigError

logger = logging.getLogger("waypost")


def discover_dropins(config: Config) -> tuple[WorkerConfig, ...]:
    """Workers for the .py files and packages in functions/ that no configured worker names.

    A wrangler worker whose `main` lies right in functions/ owns that folder, as Cloudflare bundles
    every module beside `main`: its neighbours are its own modules, not drop-ins.
    """
    folder = config.functions_dir
    if not folder.is_dir():
        return ()
    if any(w.wrangler is not None and w.main.parent == folder.resolve() for w in config.workers):
        return ()
    claimed = {_module_root(w.main) for w in config.workers}
    names = {w.name for w in config.workers}
    found: list[WorkerConfig] = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(("_", ".")):
            continue
        if entry.is_file() and entry.suffix == ".py":
            stem = entry.stem
        elif entry.is_dir() and (entry / "__init__.py").is_file():
            stem = entry.name
        else:
            continue
        if entry.resolve() in claimed:
            continue
        if not NAME_RE.match(stem) or len(stem) > 64:
            logger.warning(
                "%s: not served: a worker name must match %s (1-64 chars)",
                display_path(entry),
                NAME_RE.pattern,
            )
            continue
        if stem in names:
            raise ConfigError(
                display_path(entry),
                "",
                f"drop-in worker {stem!r} has the name of a "
                "configured worker; rename the file or name it in that worker's main",
            )
        main = (entry / "__init__.py") if entry.is_dir() else entry
        found.append(
            WorkerConfig(
                name=stem,
                main=main.resolve(),
                routes=(f"/{stem}", f"/{stem}/*"),
                vars={},
                services=(),
                workflows=(),
                dropin=True,
            )
        )
    return tuple(found)


def _module_root(main: Path) -> Path:
    """A package's folder for `pkg/__init__.py`, else the path itself."""
    main = main.resolve()
    return main.parent if main.name == "__init__.py" else main


def check_cross_references(config: Config, file: str) -> None:
    by_name = {w.name: w for w in config.workers}
    defined: dict[str, tuple[str, WorkflowConfig]] = {}
    for i, worker in enumerate(config.workers):
        for j, wf in enumerate(worker.workflows):
            if wf.script_name is None:
                if wf.name in defined:
                    raise ConfigError(
                        *config.where(i, f"workflows[{j}].name"),
                        f"workflow {wf.name!r} is already defined by worker "
                        f"{defined[wf.name][0]!r}; add script_name to refer to it",
                    )
                defined[wf.name] = (worker.name, wf)
    claimed: dict[str, str] = {}
    for i, worker in enumerate(config.workers):
        for j, route in enumerate(worker.routes):
            key = _route_key(route)
            if key in claimed:
                problem = f"route {route!r} is already claimed by worker {claimed[key]!r}"
                if worker.dropin:
                    raise ConfigError(display_path(worker.main), "", f"drop-in {problem}")
                raise ConfigError(file, f"workers[{i}].routes[{j}]", problem)
            claimed[key] = worker.name
        for j, svc in enumerate(worker.services):
            if svc.service not in by_name:
                raise ConfigError(
                    *config.where(i, f"services[{j}].service"), f"no worker named {svc.service!r}"
                )
        for j, wf in enumerate(worker.workflows):
            if wf.script_name is None:
                continue
            key = f"workflows[{j}]"
            if wf.script_name not in by_name:
                raise ConfigError(
                    *config.where(i, f"{key}.script_name"), f"no worker named {wf.script_name!r}"
                )
            owner = by_name[wf.script_name]
            target = next((w for w in owner.workflows if w.name == wf.name and w.script_name is None), None)
            if target is None:
                raise ConfigError(
                    *config.where(i, f"{key}.name"),
                    f"worker {wf.script_name!r} defines no workflow named {wf.name!r}",
                )
            if target.class_name != wf.class_name:
                raise ConfigError(
                    *config.where(i, f"{key}.class_name"),
                    f"worker {wf.script_name!r} defines workflow "
                    f"{wf.name!r} with class {target.class_name!r}, not {wf.class_name!r}",
                )


def _route_key(route: str) -> str:
    host, _, path = route.partition("/")
    return f"{host.lower()}/{path}"
