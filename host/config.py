"""config.yaml or a wrangler file -> frozen dataclasses, validated with one-line errors naming file,
key path and problem."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from host import wrangler
from host.config_retention import SWEEP_INTERVAL, sweep_interval, workflow_retention
from host.errors import ConfigError
from host.schedules.crons import parse_cron
from host.storage import settings as storage
from host.workflows.durations import parse_duration

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


# ---- loading -------------------------------------------------------------------------------


def find_config(folder: Path) -> Path | None:
    """The deployment's config file in `folder`: config.yaml, else a wrangler file (wrangler.json,
    wrangler.jsonc, wrangler.toml: wrangler's order), else None (drop-ins only)."""
    if (folder / CONFIG_YAML).is_file():
        return folder / CONFIG_YAML
    found = wrangler.find_in(folder)
    if len(found) > 1:
        logger.warning(
            "%s: using %s, as wrangler would; ignoring %s",
            display_path(folder),
            found[0].name,
            ", ".join(f.name for f in found[1:]),
        )
    return found[0] if found else None


def load_config(
    path: Path | None,
    *,
    root: Path | None = None,
    overrides: Mapping[str, str] | tuple[tuple[str, str], ...] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Read, validate and complete a deployment; raises ConfigError with one line on any problem.

    `path` None means no config.yaml: only drop-ins from `root`/functions are served. A `path`
    ending in .json, .jsonc or .toml is a wrangler file: one worker, served at `/*`.
    Settings are taken from, in rising order: config.yaml, WAYPOST_* environment variables,
    `overrides` (command-line flags: listen, data_dir).
    """
    raw: Any
    if path is not None:
        file = display_path(path)
        if not path.is_file():
            raise ConfigError(file, "", "file not found")
        root = path.resolve().parent
        if wrangler.is_wrangler_file(path):
            raw = {"workers": [{"wrangler": path.name, "routes": ["/*"]}]}
        else:
            raw = _read_yaml(path, file)
    else:
        file = CONFIG_YAML
        raw = {}
        root = (root or Path.cwd()).resolve()
    v = _Validator(file, root, path.resolve() if path is not None else None)
    config = v.config(raw, path)
    _log_ignored(v.ignored)
    flags = dict(overrides or {})
    config = _apply_overrides(config, environ if environ is not None else os.environ, flags)
    config = replace(config, overrides=tuple(sorted(flags.items())))
    dropins = discover_dropins(config)
    config = replace(config, workers=config.workers + dropins)
    _check_cross_references(config, file)
    return config


def watch_targets(path: Path | None) -> tuple[frozenset[Path], frozenset[Path]]:
    """(files, code folders) that a deployment's config file names, for hot reload: the file itself,
    the wrangler files it names with the .dev.vars beside each, every worker's `main` and the
    folder of its modules. Best effort and never raising: a file that is broken right now is still
    watched, so that fixing it is seen."""
    files: set[Path] = set()
    code: set[Path] = set()

    def add_main(base: Path, main: Any) -> None:
        if not isinstance(main, str) or not main:
            return
        target = (base / Path(main).expanduser()).resolve()
        if target.is_dir() or target.name == "__init__.py":
            code.add(target if target.is_dir() else target.parent)
        else:
            files.add(target)
            code.add(target.parent)

    def add_wrangler(source: Path) -> None:
        if source.is_dir():
            found = wrangler.find_in(source)
            if not found:
                return
            source = found[0]
        files.update((source, source.parent / wrangler.DEV_VARS))
        try:
            add_main(source.parent, wrangler.parse(source, str(source)).get("main"))
        except ConfigError:
            pass

    if path is None:
        return frozenset(), frozenset()
    path = path.resolve()
    if wrangler.is_wrangler_file(path):
        add_wrangler(path)
        return frozenset(files), frozenset(code)
    files.add(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        raw = None
    workers = raw.get("workers") if isinstance(raw, dict) else None
    for item in workers if isinstance(workers, list) else []:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("wrangler"), str):
            add_wrangler((path.parent / Path(item["wrangler"]).expanduser()).resolve())
        add_main(path.parent, item.get("main"))
    return frozenset(files), frozenset(code)


# what was last logged as ignored, per file: each key is named once at start, and again at a
# reload only when the file's list changed (a reload after every code edit would repeat it)
_reported_ignored: dict[Path, tuple[str, ...]] = {}


def _log_ignored(ignored: Mapping[Path, list[str]]) -> None:
    for source, keys in ignored.items():
        if keys and _reported_ignored.get(source) != tuple(keys):
            logger.info("%s: ignored, no meaning in Waypost: %s", display_path(source), ", ".join(keys))
        _reported_ignored[source] = tuple(keys)


def _read_yaml(path: Path, file: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(file, "", f"cannot read: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(file, "", f"invalid YAML{where}: {problem}") from None
    return {} if data is None else data


def _apply_overrides(config: Config, environ: Mapping[str, str], flags: Mapping[str, str]) -> Config:
    host = config.host
    sources: list[tuple[str, Mapping[str, str], Callable[[str], str]]] = [
        ("environment", environ, lambda key: "WAYPOST_" + key.upper()),
        ("command line", flags, lambda key: key),
    ]
    for origin, values, name in sources:
        v = _Validator(origin, Path.cwd())
        for key in ("listen", "data_dir", "account_id", "durability", "hibernate_after"):
            value = values.get(name(key))
            if value is None or value == "":
                continue
            where = name(key) if origin == "environment" else "--" + key.replace("_", "-")
            checked: Any
            if key == "data_dir":
                checked = Path(value).expanduser().resolve()
            else:
                checked = getattr(v, f"host_{key}")(value, where)
            host = replace(host, **{key: checked})
    return replace(config, host=host)


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


def _check_cross_references(config: Config, file: str) -> None:
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


# ---- validation of one file ----------------------------------------------------------------


class _Validator:
    """Turns raw YAML data into dataclasses; every failure is a ConfigError naming its key path."""

    def __init__(
        self, file: str, root: Path, source: Path | None = None, ignored: dict[Path, list[str]] | None = None
    ) -> None:
        self.file = file
        self.root = root
        self.source = source  # the file itself, resolved (None for overrides and "no config")
        # wrangler keys accepted and ignored, per file, for the start-up log (shared with the
        # validators of the wrangler files a config.yaml names)
        self.ignored: dict[Path, list[str]] = {} if ignored is None else ignored

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.file, key, problem)

    def mapping(
        self, value: Any, key: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a mapping, got {_kind(value)}")
        for k in value:
            if not isinstance(k, str):
                raise self.fail(key, f"keys must be strings, got {k!r}")
            if k not in allowed:
                raise self.fail(_join(key, k), f"unknown key (expected one of: {', '.join(allowed)})")
        for k in required:
            if k not in value or value[k] is None:
                raise self.fail(_join(key, k), "required")
        return value

    def string(self, value: Any, key: str) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {_kind(value)}")
        return value

    def name(self, value: Any, key: str) -> str:
        text = self.string(value, key)
        if not 1 <= len(text) <= 64 or not NAME_RE.match(text):
            raise self.fail(key, f"{text!r} is not a valid name (1-64 chars, {NAME_RE.pattern})")
        return text

    def binding(self, value: Any, key: str, used: set[str]) -> str:
        text = self.string(value, key)
        if not BINDING_RE.match(text):
            raise self.fail(key, f"{text!r} is not a valid binding name ({BINDING_RE.pattern})")
        if text in used:
            raise self.fail(key, f"binding {text!r} is already used in this worker")
        used.add(text)
        return text

    def positive_int(self, value: Any, key: str, maximum: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.fail(key, f"expected a positive whole number, got {value!r}")
        if maximum is not None and value > maximum:
            raise self.fail(key, f"{value} is over the limit of {maximum}")
        return value

    def sequence(self, value: Any, key: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list, got {_kind(value)}")
        return value

    # -- host settings (also used for environment and command-line overrides) --

    def host_listen(self, value: Any, key: str) -> str:
        text = self.string(value, key)
        host, sep, port = text.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise self.fail(key, f"{text!r} is not HOST:PORT (for example 127.0.0.1:8787)")
        return text

    def host_account_id(self, value: Any, key: str) -> str:
        return self.name(value, key)

    def host_durability(self, value: Any, key: str) -> str:
        if value not in ("fsync", "relaxed"):
            raise self.fail(key, f"expected fsync or relaxed, got {value!r}")
        return str(value)

    def host_hibernate_after(self, value: Any, key: str) -> float:
        try:
            return parse_duration(value, what="duration")
        except ValueError as exc:
            raise self.fail(key, str(exc).removeprefix("duration: ")) from None

    def host_sweep_interval(self, value: Any, key: str) -> float:
        return sweep_interval(value, key, self.fail)

    def host(self, raw: Any) -> HostConfig:
        key = "host"
        raw = self.mapping(
            raw,
            key,
            (
                "listen",
                "data_dir",
                "account_id",
                "durability",
                "hibernate_after",
                "max_body",
                "sweep_interval",
            ),
        )
        settings: dict[str, Any] = {"data_dir": self.root / "data"}
        for k, value in raw.items():
            where = _join(key, k)
            if k == "data_dir":
                settings[k] = self.path(value, where, must_exist=False)
            elif k == "max_body":
                settings[k] = self.positive_int(value, where)
            else:
                settings[k] = getattr(self, f"host_{k}")(value, where)
        return HostConfig(**settings)

    def path(self, value: Any, key: str, *, must_exist: bool) -> Path:
        path = (self.root / Path(self.string(value, key)).expanduser()).resolve()
        if must_exist and not path.exists():
            raise self.fail(key, f"file not found: {value}")
        return path

    # -- workers --

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

    def worker_keys(self, raw: Any, key: str) -> tuple[str, ...]:
        """The keys a config.yaml worker may have: Waypost's and, as in a wrangler file, the wrangler
        keys that mean nothing here (logged once); a key naming a missing feature is an error."""
        if not isinstance(raw, dict):
            return WORKER_KEYS
        ignored = wrangler.sort_keys(raw, self.file, key, WORKER_KEYS)
        if ignored and self.source is not None:
            self.ignored.setdefault(self.source, []).extend(ignored)
        skip = {k.rpartition(".")[2] for k in ignored}
        return WORKER_KEYS + tuple(k for k in raw if k in skip)

    def routes(self, raw: Any, key: str) -> tuple[str, ...]:
        return tuple(self.route(r, f"{key}[{j}]") for j, r in enumerate(self.sequence(raw or [], key)))

    def worker_fields(
        self, raw: dict[str, Any], key: str, secrets: dict[str, str] | None = None
    ) -> WorkerConfig:
        """name, main, vars (plus `secrets` from .dev.vars), services, workflows and triggers."""
        name = self.name(raw["name"], _join(key, "name"))
        main = self.path(raw["main"], _join(key, "main"), must_exist=True)
        if main.is_dir():
            if not (main / "__init__.py").is_file():
                raise self.fail(_join(key, "main"), f"{raw['main']} is a folder without __init__.py")
            main = main / "__init__.py"
        used: set[str] = set()
        vars_raw = raw.get("vars") or {}
        if not isinstance(vars_raw, dict):
            raise self.fail(_join(key, "vars"), f"expected a mapping, got {_kind(vars_raw)}")
        variables = {self.binding(k, _join(key, f"vars.{k}"), used): v for k, v in vars_raw.items()}
        for k, value in (secrets or {}).items():  # a secret overrides a var of its name, as in wrangler dev
            used.add(k)
            variables[k] = value
        services = tuple(
            self.service(s, _join(key, f"services[{j}]"), used)
            for j, s in enumerate(self.sequence(raw.get("services") or [], _join(key, "services")))
        )
        workflows = tuple(
            self.workflow(w, _join(key, f"workflows[{j}]"), used)
            for j, w in enumerate(self.sequence(raw.get("workflows") or [], _join(key, "workflows")))
        )
        return WorkerConfig(
            name=name,
            main=main,
            routes=(),
            vars=variables,
            services=services,
            workflows=workflows,
            crons=self.triggers(raw.get("triggers"), _join(key, "triggers")),
            **storage.parse_storage(raw, key, self, used),
        )

    def triggers(self, raw: Any, key: str) -> tuple[str, ...]:
        if raw is None:
            return ()
        raw = self.mapping(raw, key, ("crons",))
        return self.crons(raw.get("crons"), f"{key}.crons")

    def crons(self, raw: Any, key: str) -> tuple[str, ...]:
        """A list of cron expressions (host.schedules.crons), each checked, kept as written."""
        items = self.sequence(raw or [], key)
        for j, cron in enumerate(items):
            try:
                parse_cron(self.string(cron, f"{key}[{j}]"))
            except ValueError as exc:
                raise self.fail(f"{key}[{j}]", str(exc)) from None
        return tuple(items)

    # -- a worker read from a wrangler file --

    def wrangler_entry(self, raw: dict[str, Any], key: str) -> WorkerConfig:
        """`{wrangler: PATH, routes: [...]}`: the wrangler file's worker on this file's routes."""
        for k in raw:
            if k not in ("wrangler", "routes"):
                raise self.fail(
                    _join(key, str(k)),
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
        sub = _Validator(display_path(path), path.parent, path, self.ignored)
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
        checker = _Validator(file, path.parent)
        used: set[str] = set()
        for k in values:
            checker.binding(k, k, used)
        return values

    def route(self, value: Any, key: str) -> str:
        text = self.string(value, key)
        host, slash, path = text.partition("/")
        if not slash or not text or any(c.isspace() for c in text):
            raise self.fail(key, f"{text!r} is not a route like '/path', '/path/*' or 'example.com/*'")
        if "*" in path[:-1] or "*" in host.removeprefix("*."):
            raise self.fail(key, f"{text!r}: '*' may only end the path or start the host ('*.example.com')")
        if ("/" + path).startswith(RESERVED_PREFIX):
            raise self.fail(
                key, f"{text!r} is under {RESERVED_PREFIX}/*, which is reserved for the admin API"
            )
        if ("/" + path).startswith(DASHBOARD_PREFIX):
            raise self.fail(
                key, f"{text!r} is under {DASHBOARD_PREFIX}/*, which is reserved for the dashboard"
            )
        return text

    def service(self, raw: Any, key: str, used: set[str]) -> ServiceConfig:
        raw = self.mapping(raw, key, ("binding", "service"), required=("binding", "service"))
        return ServiceConfig(
            binding=self.binding(raw["binding"], f"{key}.binding", used),
            service=self.name(raw["service"], f"{key}.service"),
        )

    def workflow(self, raw: Any, key: str, used: set[str]) -> WorkflowConfig:
        raw = self.mapping(
            raw,
            key,
            (
                "name",
                "binding",
                "class_name",
                "script_name",
                "limits",
                "concurrency",
                "schedules",
                "retention",
            ),
            required=("name", "binding", "class_name"),
        )
        steps = MAX_STEPS
        if raw.get("limits") is not None:
            limits = self.mapping(raw["limits"], f"{key}.limits", ("steps",))
            if "steps" in limits:
                steps = self.positive_int(limits["steps"], f"{key}.limits.steps", MAX_STEPS)
        concurrency = None
        if raw.get("concurrency") is not None:
            conc = self.mapping(raw["concurrency"], f"{key}.concurrency", ("limit",))
            if "limit" in conc:
                concurrency = self.positive_int(conc["limit"], f"{key}.concurrency.limit")
        script = raw.get("script_name")
        class_name = self.string(raw["class_name"], f"{key}.class_name")
        if not class_name.isidentifier():
            raise self.fail(f"{key}.class_name", f"{class_name!r} is not a Python class name")
        return WorkflowConfig(
            name=self.name(raw["name"], f"{key}.name"),
            binding=self.binding(raw["binding"], f"{key}.binding", used),
            class_name=class_name,
            script_name=None if script is None else self.name(script, f"{key}.script_name"),
            steps_limit=steps,
            concurrency_limit=concurrency,
            retention=workflow_retention(raw.get("retention"), f"{key}.retention", self.fail),
            schedules=self.crons(raw.get("schedules"), f"{key}.schedules"),
        )


def _join(key: str, sub: str) -> str:
    return f"{key}.{sub}" if key else sub


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)
