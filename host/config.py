"""config.yaml -> frozen dataclasses, validated with one-line errors naming file, key path and problem."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from host.errors import ConfigError
from host.workflows.durations import parse_duration

logger = logging.getLogger("waypost")

NAME_RE = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9-_]*$")
BINDING_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED_PREFIX = "/client/v4"  # the admin API lives here
FUNCTIONS_DIR = "functions"
MAX_STEPS = 10_000
DEFAULT_MAX_BODY = 2 * 1024 * 1024


@dataclass(frozen=True)
class WorkflowConfig:
    """One `workflows:` entry: a definition (script_name None) or a reference to another worker's."""

    name: str
    binding: str
    class_name: str
    script_name: str | None
    steps_limit: int = MAX_STEPS
    concurrency_limit: int | None = None


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


@dataclass(frozen=True)
class HostConfig:
    """The `host:` section."""

    data_dir: Path
    listen: str = "127.0.0.1:8787"
    account_id: str = "local"
    durability: str = "fsync"
    hibernate_after: float = 1.0
    max_body: int = DEFAULT_MAX_BODY


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


def display_path(path: Path) -> str:
    """`path` relative to the working directory when it lies under it, else as is."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# ---- loading -------------------------------------------------------------------------------


def load_config(
    path: Path | None,
    *,
    root: Path | None = None,
    overrides: Mapping[str, str] | tuple[tuple[str, str], ...] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Read, validate and complete a deployment; raises ConfigError with one line on any problem.

    `path` None means no config.yaml: only drop-ins from `root`/functions are served.
    Settings are taken from, in rising order: config.yaml, WAYPOST_* environment variables,
    `overrides` (command-line flags: listen, data_dir).
    """
    if path is not None:
        file = display_path(path)
        if not path.is_file():
            raise ConfigError(file, "", "file not found")
        raw = _read_yaml(path, file)
        root = path.resolve().parent
    else:
        file = "config.yaml"
        raw = {}
        root = (root or Path.cwd()).resolve()
    v = _Validator(file, root)
    config = v.config(raw, path)
    flags = dict(overrides or {})
    config = _apply_overrides(config, environ if environ is not None else os.environ, flags)
    config = replace(config, overrides=tuple(sorted(flags.items())))
    dropins = discover_dropins(config)
    config = replace(config, workers=config.workers + dropins)
    _check_cross_references(config, file)
    return config


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
    """Workers for the .py files and packages in functions/ that no configured worker names."""
    folder = config.functions_dir
    if not folder.is_dir():
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
                        file,
                        f"workers[{i}].workflows[{j}].name",
                        f"workflow {wf.name!r} is already defined by worker "
                        f"{defined[wf.name][0]!r}; add script_name to refer to it",
                    )
                defined[wf.name] = (worker.name, wf)
    claimed: dict[str, str] = {}
    for i, worker in enumerate(config.workers):
        where = f"workers[{i}]"
        for j, route in enumerate(worker.routes):
            key = _route_key(route)
            if key in claimed:
                problem = f"route {route!r} is already claimed by worker {claimed[key]!r}"
                if worker.dropin:
                    raise ConfigError(display_path(worker.main), "", f"drop-in {problem}")
                raise ConfigError(file, f"{where}.routes[{j}]", problem)
            claimed[key] = worker.name
        for j, svc in enumerate(worker.services):
            if svc.service not in by_name:
                raise ConfigError(file, f"{where}.services[{j}].service", f"no worker named {svc.service!r}")
        for j, wf in enumerate(worker.workflows):
            if wf.script_name is None:
                continue
            key = f"{where}.workflows[{j}]"
            if wf.script_name not in by_name:
                raise ConfigError(file, f"{key}.script_name", f"no worker named {wf.script_name!r}")
            owner = by_name[wf.script_name]
            target = next((w for w in owner.workflows if w.name == wf.name and w.script_name is None), None)
            if target is None:
                raise ConfigError(
                    file, f"{key}.name", f"worker {wf.script_name!r} defines no workflow named {wf.name!r}"
                )
            if target.class_name != wf.class_name:
                raise ConfigError(
                    file,
                    f"{key}.class_name",
                    f"worker {wf.script_name!r} defines workflow "
                    f"{wf.name!r} with class {target.class_name!r}, not {wf.class_name!r}",
                )


def _route_key(route: str) -> str:
    host, _, path = route.partition("/")
    return f"{host.lower()}/{path}"


# ---- validation of one file ----------------------------------------------------------------


class _Validator:
    """Turns raw YAML data into dataclasses; every failure is a ConfigError naming its key path."""

    def __init__(self, file: str, root: Path) -> None:
        self.file = file
        self.root = root

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

    def host(self, raw: Any) -> HostConfig:
        key = "host"
        raw = self.mapping(
            raw, key, ("listen", "data_dir", "account_id", "durability", "hibernate_after", "max_body")
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
                raise self.fail(f"workers[{i}].name", f"worker {worker.name!r} is defined twice")
            seen.add(worker.name)
            workers.append(worker)
        return Config(
            path=path.resolve() if path else None, root=self.root, host=host, workers=tuple(workers)
        )

    def worker(self, raw: Any, key: str) -> WorkerConfig:
        raw = self.mapping(
            raw, key, ("name", "main", "routes", "vars", "services", "workflows"), required=("name", "main")
        )
        name = self.name(raw["name"], f"{key}.name")
        main = self.path(raw["main"], f"{key}.main", must_exist=True)
        if main.is_dir():
            if not (main / "__init__.py").is_file():
                raise self.fail(f"{key}.main", f"{raw['main']} is a folder without __init__.py")
            main = main / "__init__.py"
        routes = tuple(
            self.route(r, f"{key}.routes[{j}]")
            for j, r in enumerate(self.sequence(raw.get("routes") or [], f"{key}.routes"))
        )
        used: set[str] = set()
        vars_raw = raw.get("vars") or {}
        if not isinstance(vars_raw, dict):
            raise self.fail(f"{key}.vars", f"expected a mapping, got {_kind(vars_raw)}")
        variables = {self.binding(k, f"{key}.vars.{k}", used): v for k, v in vars_raw.items()}
        services = tuple(
            self.service(s, f"{key}.services[{j}]", used)
            for j, s in enumerate(self.sequence(raw.get("services") or [], f"{key}.services"))
        )
        workflows = tuple(
            self.workflow(w, f"{key}.workflows[{j}]", used)
            for j, w in enumerate(self.sequence(raw.get("workflows") or [], f"{key}.workflows"))
        )
        return WorkerConfig(
            name=name, main=main, routes=routes, vars=variables, services=services, workflows=workflows
        )

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
            ("name", "binding", "class_name", "script_name", "limits", "concurrency"),
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
