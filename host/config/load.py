"""Reading a deployment: find its config file, load and validate it, apply the environment and
command-line settings, and list the files a reload watches."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from host import wrangler
from host.config.checks import Checks
from host.config.dropins import check_cross_references, discover_dropins
from host.config.model import CONFIG_YAML, Config, IgnoredKeys, display_path
from host.config.validator import Validator
from host.errors import ConfigError

logger = logging.getLogger("waypost")


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
    previous: Config | None = None,
) -> Config:
    """Read, validate and complete a deployment; raises ConfigError with one line on any problem.

    `path` None means no config.yaml: only drop-ins from `root`/functions are served. A `path`
    ending in .json, .jsonc or .toml is a wrangler file: one worker, served at `/*`.
    Settings are taken from, in rising order: config.yaml, WAYPOST_* environment variables,
    `overrides` (command-line flags: listen, data_dir). The wrangler keys accepted and ignored are
    logged, each file's once: at a reload (`previous`, the configuration served until now) only a
    file whose list changed is logged again, so a reload after every code edit does not repeat it.
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
    v = Validator(file, root, path.resolve() if path is not None else None)
    config = v.config(raw, path)
    ignored = tuple((source, tuple(keys)) for source, keys in v.ignored.items() if keys)
    _log_ignored(ignored, previous.ignored if previous is not None else ())
    flags = dict(overrides or {})
    config = _apply_overrides(config, environ if environ is not None else os.environ, flags)
    config = replace(config, overrides=tuple(sorted(flags.items())), ignored=ignored)
    dropins = discover_dropins(config)
    config = replace(config, workers=config.workers + dropins)
    check_cross_references(config, file)
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


def _log_ignored(ignored: IgnoredKeys, before: IgnoredKeys) -> None:
    logged = dict(before)
    for source, keys in ignored:
        if logged.get(source) != keys:
            logger.info("%s: ignored, no meaning in Waypost: %s", display_path(source), ", ".join(keys))


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
        v = Checks(origin, Path.cwd())
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
