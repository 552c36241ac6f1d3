"""Retention (SPEC 3.11): how long a final instance is kept after it ended, and when it expires.

A retention is {"success_retention": seconds, "error_retention": seconds}, either key optional;
it is given at create (a duration, a bare number meaning milliseconds, as Cloudflare's REST
`instance_retention`) or as a workflow's default in config.yaml (a bare number is seconds there,
as every config.yaml duration). It is kept in instance.json as `retention`, in seconds.
`complete` uses success_retention, `errored` and `terminated` use error_retention; a status with
no retention for it is kept until deleted.
"""

from __future__ import annotations

from typing import Any

from host.workflows.durations import parse_duration
from host.workflows.statuses import InstanceStatus

MAX_RETENTION_SECONDS = 10 * 365 * 86400.0  # 10 years (SPEC 7)
KEYS = ("success_retention", "error_retention")
_ALIASES = {"successRetention": "success_retention", "errorRetention": "error_retention"}  # JS spelling
_SUCCESS = frozenset({InstanceStatus.COMPLETE.value})
_ERROR = frozenset({InstanceStatus.ERRORED.value, InstanceStatus.TERMINATED.value})

Retention = dict[str, float]


def parse_retention(
    value: object, *, what: str = "retention", number_unit: float = 0.001
) -> Retention | None:
    """Validate a retention; the seconds of each key given (None for None or an empty one).

    `number_unit`: what a bare number means (0.001: milliseconds, as Cloudflare's REST API; 1.0:
    seconds, as config.yaml). ValueError naming the key for anything else."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(
            f"{what}: expected a mapping with success_retention and/or error_retention, got {value!r}"
        )
    parsed: Retention = {}
    for raw_key, raw in value.items():
        key = _ALIASES.get(raw_key, raw_key)
        if key not in KEYS:
            raise ValueError(f"{what}: unknown key {raw_key!r} (use success_retention, error_retention)")
        if raw is None:
            continue
        name = f"{what}.{key}"
        seconds = parse_duration(raw, what=name, number_unit=number_unit)
        if seconds > MAX_RETENTION_SECONDS:
            raise ValueError(f"{name}: {raw!r} is longer than the retention limit of 10 years")
        parsed[key] = seconds
    return parsed or None


def retention_for(retention: object, status: str) -> float | None:
    """The seconds an instance ending in `status` is kept (None: until deleted, or not final)."""
    if not isinstance(retention, dict):
        return None
    key = "success_retention" if status in _SUCCESS else "error_retention" if status in _ERROR else None
    seconds = retention.get(key) if key is not None else None
    return float(seconds) if isinstance(seconds, int | float) and not isinstance(seconds, bool) else None


def expires_at(meta: dict[str, Any], status: str, ended_at: float | None) -> float | None:
    """When the instance described by `meta`, ended in `status` at `ended_at`, is to be removed
    (epoch seconds); None if it is kept (no retention for that status, or not final)."""
    seconds = retention_for(meta.get("retention"), status)
    if seconds is None or ended_at is None:
        return None
    return float(ended_at) + seconds
