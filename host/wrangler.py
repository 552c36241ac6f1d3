"""Cloudflare's wrangler files (wrangler.json / .jsonc / .toml) and the .dev.vars beside them.

This module reads the files and sorts their keys: used here, accepted and ignored (no meaning on a
single host), or naming a Cloudflare feature Waypost does not have (a config error). Turning the used
keys into a worker is host.config's job, with the same validation as config.yaml's.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import json5
from dotenv import dotenv_values

from host.errors import ConfigError
from host.storage.settings import STORAGE_KEYS

# wrangler's own search order in a folder (workers-utils findWranglerConfig)
FILE_NAMES = ("wrangler.json", "wrangler.jsonc", "wrangler.toml")
SUFFIXES = (".json", ".jsonc", ".toml")
DEV_VARS = ".dev.vars"

# the keys a worker is made of, in a wrangler file as in a config.yaml worker
USED = ("name", "main", "vars", "workflows", "services", "triggers", "secrets") + STORAGE_KEYS

# Accepted and ignored: deployment, bundling, runtime-version and dashboard settings that mean
# nothing to one host running the Python files as they are. `route`/`routes` in a wrangler file are
# zone routes on Cloudflare's edge; Waypost's own routes come from config.yaml (or are `/*`).
IGNORED = frozenset(
    {
        "$schema",
        "account_id",
        "alias",
        "base_dir",
        "build",
        "cache",
        "compatibility_date",
        "compatibility_flags",
        "compliance_region",
        "define",
        "dev",
        "env",
        "find_additional_modules",
        "first_party_worker",
        "jsx_factory",
        "jsx_fragment",
        "keep_names",
        "keep_vars",
        "legacy_env",
        "limits",
        "logpush",
        "migrations",
        "minify",
        "no_bundle",
        "node_compat",
        "observability",
        "placement",
        "preserve_file_names",
        "preview_urls",
        "previews",
        "python_modules",
        "route",
        "routes",
        "rules",
        "send_metrics",
        "streaming_tail_consumers",
        "tail_consumers",
        "tsconfig",
        "type",
        "upload_source_maps",
        "usage_model",
        "workers_dev",
        "zone_id",
    }
)

# Cloudflare features Waypost does not have: key -> what to call it in the error
UNSUPPORTED: Mapping[str, str] = {
    "ai": "Workers AI",
    "ai_search": "AI Search",
    "ai_search_namespaces": "AI Search",
    "analytics_engine_datasets": "Workers Analytics Engine",
    "artifacts": "Artifacts",
    "assets": "static assets",
    "browser": "Browser Rendering",
    "cloudchamber": "Containers",
    "containers": "Containers",
    "data_blobs": "data blob bindings",
    "dispatch_namespaces": "dispatch namespaces (Workers for Platforms)",
    "durable_objects": "Durable Objects",
    "flagship": "Flagship feature flags",
    "hyperdrive": "Hyperdrive",
    "images": "Cloudflare Images",
    "logfwdr": "logfwdr bindings",
    "media": "Media Transformations",
    "mtls_certificates": "mTLS certificates",
    "pages_build_output_dir": "Cloudflare Pages projects",
    "pipelines": "Pipelines",
    "queues": "Queues",
    "ratelimits": "rate limiting bindings",
    "secrets_store_secrets": "Secrets Store",
    "send_email": "email sending",
    "site": "Workers Sites",
    "stream": "Cloudflare Stream",
    "text_blobs": "text blob bindings",
    "unsafe": "unsafe bindings",
    "unsafe_hello_world": "the hello-world binding",
    "vectorize": "Vectorize",
    "version_metadata": "version metadata",
    "vpc_networks": "VPC networks",
    "vpc_services": "VPC services",
    "wasm_modules": "WebAssembly module bindings",
    "worker_loaders": "Worker Loaders",
}

# planned, not built yet (a key here is an error saying so)
NOT_YET: Mapping[str, str] = {}

# keys inside one `workflows` / `services` entry: ignored, or not supported
ENTRY_IGNORED = frozenset({"remote", "environment"})
ENTRY_UNSUPPORTED: Mapping[str, str] = {
    "entrypoint": "named entrypoints (a service binding calls the worker's default handler)",
    "props": "ctx.props on service bindings",
}


def is_wrangler_file(path: Path) -> bool:
    """Whether `path` names a wrangler file (by its suffix) rather than a config.yaml."""
    return path.suffix.lower() in SUFFIXES


def find_in(folder: Path) -> list[Path]:
    """The wrangler files in `folder`, in the order wrangler itself picks one (first wins)."""
    return [folder / name for name in FILE_NAMES if (folder / name).is_file()]


def parse(path: Path, file: str) -> dict[str, Any]:
    """The top-level table of a wrangler file; ConfigError (naming `file`) when it cannot be read.

    JSON and JSONC go through json5 (comments and trailing commas, as wrangler's own JSONC parser
    allows), TOML through the standard library's tomllib.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(file, "", f"cannot read: {exc}") from None
    data: Any
    if path.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(file, "", f"invalid TOML: {exc}") from None
    else:
        try:
            data = json5.loads(text)
        except ValueError as exc:
            raise ConfigError(file, "", f"invalid JSONC{_json5_where(str(exc))}") from None
    if not isinstance(data, dict):
        raise ConfigError(file, "", f"expected an object at the top, got {type(data).__name__}")
    return data


def _json5_where(message: str) -> str:
    """json5's `<string>:3 Unexpected "}" at column 1` as ` at line 3: Unexpected "}" at column 1`."""
    head, sep, rest = message.partition(" ")
    line = head.rpartition(":")[2]
    if head.startswith("<string>:") and line.isdigit() and sep:
        return f" at line {line}: {rest}"
    return f": {message}"


def is_empty(value: Any) -> bool:
    """A key that declares nothing (`[]`, `{}`, `{bindings: []}`, null): templates often carry these."""
    if value is None or value == [] or value == {}:
        return True
    return isinstance(value, dict) and all(is_empty(v) for v in value.values())


def sort_keys(raw: Mapping[str, Any], file: str, prefix: str, known: tuple[str, ...]) -> list[str]:
    """Check the keys of one worker (a wrangler file's top level or a config.yaml worker entry).

    Returns the ignored keys present, as key paths; raises ConfigError for a key naming a feature
    Waypost does not have. Keys outside `known`, USED and IGNORED are left to the caller.
    """
    ignored: list[str] = []
    for key, value in raw.items():
        if not isinstance(key, str) or key in known or key in USED:
            continue
        where = f"{prefix}.{key}" if prefix else key
        if key in IGNORED:
            ignored.append(where)
        elif key in UNSUPPORTED or key in NOT_YET:
            if is_empty(value):
                ignored.append(where)
            elif key in NOT_YET:
                raise ConfigError(file, where, f"not supported yet: Waypost has no {NOT_YET[key]} yet")
            else:
                raise ConfigError(file, where, f"not supported: Waypost has no {UNSUPPORTED[key]}")
    return ignored


def read_dev_vars(path: Path, file: str) -> dict[str, str]:
    """The secrets in a .dev.vars file (dotenv format, no ${VAR} expansion, as wrangler reads it).

    A line without `=` sets nothing (dotenv's rule); {} when the file does not exist.
    """
    if not path.is_file():
        return {}
    try:
        with path.open(encoding="utf-8") as stream:
            values = dotenv_values(stream=stream, interpolate=False)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(file, "", f"cannot read: {exc}") from None
    return {key: value for key, value in values.items() if value is not None}
