"""host.schedules.crons and .ticks: the timing decisions, given the time (no sleeping, no clock)."""

from __future__ import annotations

import calendar
import hashlib

import pytest

from host.schedules.crons import parse_cron
from host.schedules.ticks import (
    CLAIM_LEAD,
    SKIP_COUNT_CAP,
    Due,
    due,
    instance_id,
    next_wake,
    skipped_text,
    start_point,
    to_fire,
    to_prune,
)


def at(text: str) -> float:
    """'2026-12-01 09:30:00' (UTC) as epoch seconds."""
    date, time_ = text.split()
    y, m, d = (int(x) for x in date.split("-"))
    hh, mm, ss = (int(x) for x in time_.split(":"))
    return float(calendar.timegm((y, m, d, hh, mm, ss)))


def test_five_fields_in_utc() -> None:
    cron = parse_cron("*/5 * * * *")
    assert cron.next_after(at("2026-12-01 09:31:10")) == at("2026-12-01 09:35:00")
    assert cron.next_after(at("2026-12-01 09:35:00")) == at("2026-12-01 09:40:00"), "strictly after"
    assert cron.latest_at_or_before(at("2026-12-01 09:35:00")) == at("2026-12-01 09:35:00")
    assert cron.latest_at_or_before(at("2026-12-01 09:34:59") + 0.9) == at("2026-12-01 09:30:00")


def test_leading_seconds_field() -> None:
    cron = parse_cron("*/2 * * * * *")
    assert cron.seconds_field
    assert cron.next_after(at("2026-12-01 09:00:01") + 0.5) == at("2026-12-01 09:00:02")
    assert cron.latest_at_or_before(at("2026-12-01 09:00:03")) == at("2026-12-01 09:00:02")


@pytest.mark.parametrize(
    ("alias", "after", "expected"),
    [
        ("@hourly", "2026-12-01 09:31:00", "2026-12-01 10:00:00"),
        ("@daily", "2026-12-01 09:31:00", "2026-12-02 00:00:00"),
        ("@midnight", "2026-12-01 09:31:00", "2026-12-02 00:00:00"),
        ("@weekly", "2026-12-01 09:31:00", "2026-12-06 00:00:00"),  # Sunday
        ("@monthly", "2026-12-01 09:31:00", "2027-01-01 00:00:00"),
        ("@yearly", "2026-12-01 09:31:00", "2027-01-01 00:00:00"),
        ("@ANNUALLY", "2026-12-01 09:31:00", "2027-01-01 00:00:00"),
    ],
)
def test_aliases(alias: str, after: str, expected: str) -> None:
    assert parse_cron(alias).next_after(at(after)) == at(expected)


def test_weekday_names_and_ranges() -> None:
    cron = parse_cron("0 9 * * MON-FRI")
    # Friday 2026-12-04 09:00 -> Monday 2026-12-07 09:00
    assert cron.next_after(at("2026-12-04 09:00:00")) == at("2026-12-07 09:00:00")


def test_day_of_month_or_day_of_week_as_vixie_cron() -> None:
    # both restricted: either matches (the 13th, or any Friday)
    either = parse_cron("0 0 13 * FRI")
    assert either.next_after(at("2026-12-01 00:00:00")) == at("2026-12-04 00:00:00")  # a Friday
    assert either.next_after(at("2026-12-11 00:00:00")) == at("2026-12-13 00:00:00")  # a Sunday, the 13th
    # a field that starts with '*' makes it AND, as Vixie/Debian cron: odd days that are Fridays
    both = parse_cron("0 0 */2 * FRI")
    assert both.next_after(at("2026-12-01 00:00:00")) == at("2026-12-11 00:00:00")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("61 * * * *", "Bad minute"),
        ("* * *", "has 3 fields"),
        ("* * * * * * *", "has 7 fields"),
        ("@reboot", "not a cron alias"),
        ("", "empty"),
        ("0 0 31 2 *", "day-of-month"),
        ("0 9 * * MON-FUNDAY", "not a valid cron expression"),
    ],
)
def test_bad_expressions_say_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_cron(text)
    with pytest.raises(ValueError, match="a string"):
        parse_cron(5)


def test_due_is_the_most_recent_tick_since_the_last_handled() -> None:
    cron = parse_cron("*/10 * * * * *")
    t0 = at("2026-12-01 09:00:00")
    assert due(cron, t0, t0 + 9.9) is None
    assert due(cron, t0, t0 + 10) == Due(t0 + 10, 0)
    assert due(cron, t0 + 10, t0 + 10.5) is None, "a tick is handled once"
    # down for 35 s: ticks at +10, +20, +30 missed; +30 fires, the two older are skipped
    assert due(cron, t0, t0 + 35) == Due(t0 + 30, 2)
    assert Due(t0 + 30, 2).scheduled_ms == int((t0 + 30) * 1000)


def test_skipped_ticks_are_counted_up_to_a_cap() -> None:
    cron = parse_cron("* * * * * *")
    t0 = at("2026-12-01 09:00:00")
    late = due(cron, t0, t0 + 86_400)
    assert late is not None and late.tick == t0 + 86_400 and late.skipped == SKIP_COUNT_CAP
    assert skipped_text(late.skipped) == f"{SKIP_COUNT_CAP}+" and skipped_text(3) == "3"


def test_start_point_resumes_from_the_newest_record_or_fires_nothing_past() -> None:
    cron = parse_cron("*/10 * * * * *")
    t0 = at("2026-12-01 09:00:00")
    assert start_point(None, t0 + 35) == t0 + 35
    assert due(cron, start_point(None, t0 + 35), t0 + 35) is None, "a cron that never fired: no catch-up"
    assert due(cron, start_point(t0, t0 + 35), t0 + 35) == Due(t0 + 30, 2)
    assert start_point(t0 + 100, t0 + 35) == t0 + 35, "a record from the future (clock set back)"


def test_the_upcoming_tick_is_taken_a_claim_lead_ahead_in_the_normal_loop() -> None:
    cron = parse_cron("*/10 * * * * *")
    t0 = at("2026-12-01 09:00:00")
    assert to_fire(cron, t0, t0 + 10 - CLAIM_LEAD - 0.01) == [], "not yet within the lead"
    wake = next_wake([(cron, t0)])
    assert wake == t0 + 10
    assert to_fire(cron, t0, wake - CLAIM_LEAD) == [Due(t0 + 10, 0)], "woken a lead ahead: taken, 0 skipped"
    assert to_fire(cron, t0 + 10, t0 + 10.1) == [], "taken once"


def test_a_host_starting_100ms_before_a_tick_after_downtime_fires_the_missed_tick_then_that_one() -> None:
    # the audit's case: every 3 s, down since 15:48:30, started at 15:52:38.9, 100 ms before the
    # 15:52:39 tick. The catch-up is 15:52:36 (the most recent at or before now), not 15:52:39.
    cron = parse_cron("*/3 * * * * *")
    newest = at("2026-12-01 15:48:30")
    missed, upcoming = at("2026-12-01 15:52:36"), at("2026-12-01 15:52:39")
    now = upcoming - 0.1
    last = start_point(newest, now)
    fired = to_fire(cron, last, now)
    older = int((missed - newest) / 3) - 1  # 15:48:33 ... 15:52:33
    assert older == 81
    assert fired == [Due(missed, older), Due(upcoming, 0)], "the missed one, then the upcoming one as usual"
    assert fired[0].tick <= now < fired[1].tick, "the catch-up is past; the upcoming one waits for its time"
    # the runner's next rounds, with `last` moved to the newest tick taken: nothing twice
    last = fired[-1].tick
    assert to_fire(cron, last, now) == [] and to_fire(cron, last, upcoming + 0.05) == []
    wake = next_wake([(cron, last)])
    assert wake == upcoming + 3
    assert to_fire(cron, last, wake - CLAIM_LEAD) == [Due(upcoming + 3, 0)], "the loop goes on as usual"


def test_ticks_missed_while_running_fire_the_most_recent_and_leave_the_upcoming_one_alone() -> None:
    cron = parse_cron("* * * * * *")
    t0 = at("2026-12-01 09:00:00")
    # the loop stalled from t0 to t0 + 4.9: t0+1..t0+3 skipped, t0+4 fires now, t0+5 at its time
    assert to_fire(cron, t0, t0 + 4.9) == [Due(t0 + 4, 3), Due(t0 + 5, 0)]
    # exactly at a tick: that tick is the missed one (at or before now)
    assert to_fire(cron, t0, t0 + 4) == [Due(t0 + 4, 3)]


def test_next_wake_is_the_earliest_of_all() -> None:
    t0 = at("2026-12-01 09:00:00")
    a, b = parse_cron("*/10 * * * * *"), parse_cron("*/3 * * * * *")
    assert next_wake([(a, t0), (b, t0)]) == t0 + 3
    assert next_wake([]) is None


def test_instance_id_and_records_kept() -> None:
    cron = parse_cron("0 * * * *")
    key = hashlib.sha256(b"0 * * * *").hexdigest()[:8]
    assert cron.key == key
    assert instance_id(cron, 1796128590.0) == f"cron-1796128590-{key}"
    assert to_prune([5, 1, 4, 2, 3], keep=3) == [2, 1]
    assert to_prune([1, 2], keep=3) == []
