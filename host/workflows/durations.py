"""Durations as Cloudflare writes them ("5 minutes", numbers, timedelta) turned into seconds."""

from __future__ import annotations

import datetime as dt
import math
import re

_UNITS: dict[str, float] = {
    "ms": 0.001,
    "millisecond": 0.001,
    "milliseconds": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "minute": 60.0,
    "minutes": 60.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "day": 86400.0,
    "days": 86400.0,
    "week": 7 * 86400.0,
    "weeks": 7 * 86400.0,
    "month": 30 * 86400.0,
    "months": 30 * 86400.0,
    "year": 365 * 86400.0,
    "years": 365 * 86400.0,
}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$")

MAX_WAIT_SECONDS = 365 * 86400.0  # a sleep, a wait, a step's retry delay and timeout (README limits)


def parse_duration(value: object, *, what: str = "duration", number_unit: float = 1.0) -> float:
    """Return `value` in seconds; a bare number is multiplied by `number_unit` (1 = seconds, 0.001 = ms).

    Raises ValueError naming `what` for anything that is not a finite, non-negative duration.
    """
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected a number or a string like '5 minutes', got {value!r}")
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float):
        seconds = float(value) * number_unit
    elif isinstance(value, str):
        match = _PATTERN.match(value)
        if match is None:
            if value.strip().replace(".", "", 1).isdigit():
                seconds = float(value) * number_unit
            else:
                raise ValueError(f"{what}: {value!r} is not a duration like '10 seconds' or '5 minutes'")
        else:
            amount, unit = match.groups()
            factor = _UNITS.get(unit.lower())
            if factor is None:
                units = "ms, second(s), minute(s), hour(s), day(s), week(s), month(s), year(s)"
                raise ValueError(f"{what}: unknown unit {unit!r} in {value!r} (use {units})")
            seconds = float(amount) * factor
    else:
        raise ValueError(f"{what}: expected a number or a string like '5 minutes', got {value!r}")
    if seconds != seconds or seconds < 0:
        raise ValueError(f"{what}: {value!r} must not be negative")
    if seconds == math.inf:
        raise ValueError(f"{what}: {value!r} is not a finite duration")
    return seconds


def parse_wait(value: object, *, what: str, number_unit: float = 1.0) -> float:
    """A sleep, wait timeout, retry delay or step timeout in seconds, at most 365 days (SPEC 3.4's
    limit for sleeps, kept for the rest so that every wait the engine computes fits a datetime)."""
    seconds = parse_duration(value, what=what, number_unit=number_unit)
    if seconds > MAX_WAIT_SECONDS:
        raise ValueError(f"{what}: {value!r} is longer than the limit of 365 days")
    return seconds
