"""The timing decisions of schedules, as pure functions of the time given: which tick is due, how
many were skipped, where a cron starts at start-up, which tick records to keep."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from host.schedules.crons import Cron

SKIP_COUNT_CAP = 10_000  # skipped ticks are counted up to this many (the log says "10000+")
KEEP_RECORDS = 10  # tick records kept per cron; older ones are pruned
# The upcoming tick is taken this long before it: a worker tick is claimed (its record made and
# fsync'd) so that the handler starts on time rather than one fsync late (a host that dies in
# between loses that tick); a workflow tick's task waits for the tick to create its instance. The
# lead never makes a tick that is still ahead count as missed (see `to_fire`).
CLAIM_LEAD = 0.25


@dataclass(frozen=True)
class Schedule:
    """One cron of one target: a worker's `triggers.crons` entry or a workflow's `schedules` entry."""

    kind: str  # "worker" or "workflow"
    target: str  # the worker's or the workflow's name
    cron: Cron

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.target, self.cron.text)

    def describe(self) -> str:
        return f"{self.kind} {self.target} cron {self.cron.text!r}"


@dataclass(frozen=True)
class Due:
    """The tick to fire now, and how many older ticks since the last one handled are skipped."""

    tick: float  # epoch seconds
    skipped: int

    @property
    def scheduled_ms(self) -> int:
        return int(self.tick * 1000)


def due(cron: Cron, last: float, now: float) -> Due | None:
    """The most recent tick in (last, now] (None when there is none), with the count of the older
    ticks in that window: they are passed over, as systemd's Persistent=true does after downtime."""
    latest = cron.latest_at_or_before(now)
    if latest is None or latest <= last:
        return None
    return Due(latest, cron.count_between(last, latest, SKIP_COUNT_CAP))


def to_fire(cron: Cron, last: float, now: float, lead: float = CLAIM_LEAD) -> list[Due]:
    """What the firing loop fires at `now` for a cron last handled at `last`, oldest first: the
    missed tick (the most recent in (last, now], with the count of the older ones skipped), then
    the upcoming tick when it lies within `lead` ahead, to be claimed now and fired at its time.
    Missed means at or before `now` only: a tick still ahead is never the catch-up, so a host
    that starts just before a tick fires the one it missed and then that tick, each once."""
    fired: list[Due] = []
    missed = due(cron, last, now)
    if missed is not None:
        fired.append(missed)
        last = missed.tick
    upcoming = cron.next_after(last)
    if upcoming <= now + lead:
        fired.append(Due(upcoming, 0))
    return fired


def start_point(newest_record: float | None, now: float) -> float:
    """A cron's "last handled" time when the host starts: its newest tick record, so that a tick
    missed while no host ran fires once now; or `now` when it never fired (no past tick fires)."""
    return now if newest_record is None else min(newest_record, now)


def next_wake(crons: Iterable[tuple[Cron, float]]) -> float | None:
    """The earliest next tick over (cron, last handled) pairs; None when there are none."""
    return min((cron.next_after(last) for cron, last in crons), default=None)


def to_prune(ticks: Iterable[int], keep: int = KEEP_RECORDS) -> list[int]:
    """The recorded ticks (epoch seconds) to delete: all but the newest `keep`."""
    return sorted(ticks, reverse=True)[keep:]


def instance_id(cron: Cron, tick: float) -> str:
    """The id of the workflow instance a schedule creates at `tick` (SPEC 3.10), the same on every
    host: `cron-<epoch seconds>-<first 8 hex of sha256 of the cron text>`."""
    return f"cron-{int(tick)}-{cron.key}"


def skipped_text(count: int) -> str:
    return f"{SKIP_COUNT_CAP}+" if count >= SKIP_COUNT_CAP else str(count)
