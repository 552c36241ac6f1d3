"""Cron expressions as Cloudflare reads them (five fields, UTC), plus @-aliases and an optional
leading seconds field. Parsing and matching are cronsim's; this module only validates, names the
aliases and turns epoch seconds into ticks."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from cronsim import CronSim, CronSimError

# Vixie cron's aliases (crontab(5)); @reboot has no meaning for a schedule and is refused
ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MAX_LENGTH = 200  # characters of one expression
_ORIGIN = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Cron:
    """One expression: `text` as written (it names the schedule), `expr` what cronsim evaluates."""

    text: str
    expr: str

    @property
    def key(self) -> str:
        """8 hex of the cron text (the first 8 of its sha256): in instance ids and record folders."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:8]

    @property
    def seconds_field(self) -> bool:
        return len(self.expr.split()) == 6

    def next_after(self, t: float) -> float:
        """The first tick strictly after epoch second `t`."""
        return _epoch(next(CronSim(self.expr, _utc(int(t)))))

    def latest_at_or_before(self, t: float) -> float | None:
        """The newest tick at or before `t` (None if there is none since 2000)."""
        try:
            tick = next(CronSim(self.expr, _utc(int(t) + 1), reverse=True))
        except StopIteration:
            return None
        return _epoch(tick) if tick >= _ORIGIN else None

    def count_between(self, after: float, before: float, cap: int) -> int:
        """How many ticks lie strictly between `after` and `before`, counting at most `cap`."""
        count = 0
        for tick in CronSim(self.expr, _utc(int(after))):
            if _epoch(tick) >= before or count >= cap:
                break
            count += 1
        return count


def parse_cron(value: object) -> Cron:
    """A Cron for `value`, or ValueError saying what is wrong with it (one line)."""
    if not isinstance(value, str):
        raise ValueError(f"expected a cron expression (a string), got {type(value).__name__}")
    text = value.strip()
    if not text:
        raise ValueError("empty cron expression")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"cron expression longer than {MAX_LENGTH} characters")
    if text.startswith("@"):
        expr = ALIASES.get(text.lower())
        if expr is None:
            names = ", ".join(sorted(ALIASES))
            raise ValueError(f"{text!r} is not a cron alias ({names})")
        return Cron(value, expr)
    fields = text.split()
    if len(fields) not in (5, 6):
        raise ValueError(
            f"{text!r} has {len(fields)} fields; a cron expression has 5 (minute hour day-of-month "
            "month day-of-week) or 6 with a leading seconds field"
        )
    expr = " ".join(fields)
    try:
        it = CronSim(expr, _ORIGIN)
        next(it)
    except (CronSimError, StopIteration, ValueError) as exc:
        detail = str(exc) or "never matches"
        raise ValueError(f"{text!r} is not a valid cron expression: {detail}") from None
    return Cron(value, expr)


def iso(t: float) -> str:
    """Epoch seconds as Cloudflare writes times: ISO 8601 UTC with milliseconds."""
    return _utc(t).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _utc(t: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, tz=dt.UTC)


def _epoch(tick: dt.datetime) -> float:
    return tick.timestamp()
