"""The checks every config key goes through: each failure a ConfigError naming file, key path and
problem; and the host: section."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from host.config.model import BINDING_RE, NAME_RE, HostConfig
from host.config.retention import sweep_interval
from host.errors import ConfigError
from host.workflows.durations import parse_duration


class Checks:
    """Checks of single values, and the host settings; every failure is a ConfigError naming its key
    path. The worker keys build on it (host.config.workers, host.config.validator)."""

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
            raise self.fail(key, f"expected a mapping, got {kind_of(value)}")
        for k in value:
            if not isinstance(k, str):
                raise self.fail(key, f"keys must be strings, got {k!r}")
            if k not in allowed:
                raise self.fail(join_key(key, k), f"unknown key (expected one of: {', '.join(allowed)})")
        for k in required:
            if k not in value or value[k] is None:
                raise self.fail(join_key(key, k), "required")
        return value

    def string(self, value: Any, key: str) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {kind_of(value)}")
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
            raise self.fail(key, f"expected a list, got {kind_of(value)}")
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
            where = join_key(key, k)
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


def join_key(key: str, sub: str) -> str:
    return f"{key}.{sub}" if key else sub


def kind_of(value: Any) -> str:
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
