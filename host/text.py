"""How values read for people: one-line JSON, local times, human durations, errors."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any


def compact(value: Any, limit: int = 200) -> str:
    """A value as one line of JSON, cut at `limit` characters."""
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def when(value: str | float | None) -> str | None:
    """An ISO time or epoch seconds as local time to the millisecond (None stays None)."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return _local(moment) or value
    return _local(value) or f"{value:g} (epoch seconds)"


def _local(moment: dt.datetime | float) -> str | None:
    """`moment` as local time to the millisecond; None past what datetime can hold (year 9999)."""
    try:
        if not isinstance(moment, dt.datetime):
            moment = dt.datetime.fromtimestamp(moment, tz=dt.UTC)
        return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    except (OverflowError, OSError, ValueError):
        return None


def duration(seconds: float | None) -> str | None:
    """A human duration: 12 ms, 3.4 s, 5 min 2 s, 2 h 10 min, 3 d 4 h."""
    if seconds is None:
        return None
    seconds = max(0.0, seconds)
    if round(seconds * 1000) < 1000:  # the unit chosen after rounding: 0.9996 s is "1.0 s"
        return f"{seconds * 1000:.0f} ms"
    if round(seconds, 1) < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def error_text(error: dict[str, Any] | None) -> str | None:
    if not error:
        return None
    return f"{error.get('name', 'Error')}: {error.get('message', '')}"
