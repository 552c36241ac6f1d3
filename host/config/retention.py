"""The config keys of instance retention (SPEC 3.11), read for the config validator (host/config/workers.py).

- a workflow entry's `retention: {success_retention: 30 days, error_retention: 90 days}`: the
  default of instances created without one; a bare number is seconds, as every config.yaml
  duration (at create and in the REST API a number is milliseconds, as on Cloudflare);
- `host.sweep_interval` (default 30 seconds): how often a host looks for expired instances, so one
  is removed at most that long after it expired (plus the sweep's own time).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from host.errors import ConfigError
from host.workflows.durations import parse_duration
from host.workflows.retention import Retention, parse_retention

SWEEP_INTERVAL = 30.0  # seconds: an expired instance goes within a minute (SPEC 3.11)
MAX_SWEEP_INTERVAL = 60.0

Fail = Callable[[str, str], ConfigError]  # (key path, problem) -> the error to raise


def workflow_retention(value: Any, key: str, fail: Fail) -> Retention | None:
    """A workflow's default retention, in seconds per key (None if not given)."""
    if value is None:
        return None
    try:
        return parse_retention(value, what="retention", number_unit=1.0)
    except ValueError as exc:
        where, _, problem = str(exc).partition(": ")  # "retention.success_retention: ..."
        raise fail(key + where.removeprefix("retention"), problem) from None


def sweep_interval(value: Any, key: str, fail: Fail) -> float:
    """host.sweep_interval in seconds: more than 0, at most a minute."""
    try:
        seconds = parse_duration(value, what="duration")
    except ValueError as exc:
        raise fail(key, str(exc).removeprefix("duration: ")) from None
    if not 0 < seconds <= MAX_SWEEP_INTERVAL:
        problem = "must be more than 0 and at most 60 seconds (expired instances go within a minute)"
        raise fail(key, f"{value!r} {problem}")
    return seconds
