from __future__ import annotations

import datetime as dt

import pytest

from host.workflows.durations import parse_duration, parse_wait


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("10 seconds", 10.0),
        ("1 second", 1.0),
        ("5 minutes", 300.0),
        ("2 hours", 7200.0),
        ("1 day", 86400.0),
        ("2 weeks", 14 * 86400.0),
        ("250 ms", 0.25),
        ("3 milliseconds", 0.003),
        ("1 year", 365 * 86400.0),
        (7, 7.0),
        (0.5, 0.5),
        (dt.timedelta(minutes=2), 120.0),
    ],
)
def test_durations_in_seconds(value: object, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)


def test_bare_numbers_can_mean_milliseconds() -> None:
    assert parse_duration(1500, number_unit=0.001) == pytest.approx(1.5)
    assert parse_duration("2 seconds", number_unit=0.001) == 2.0


@pytest.mark.parametrize("bad", ["10 fortnights", "soon", "", "-5 seconds", -1, True, None, [1]])
def test_bad_durations_name_themselves(bad: object) -> None:
    with pytest.raises(ValueError, match="my wait"):
        parse_duration(bad, what="my wait")


def test_waits_over_365_days_are_refused() -> None:
    assert parse_wait("365 days", what="sleep") == 365 * 86400.0
    with pytest.raises(ValueError, match="365 days"):
        parse_wait("366 days", what="sleep")
