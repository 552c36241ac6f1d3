"""The admin API's parsing of the lifecycle bodies and queries: status changes with rollback and
`from`, batch deletes, terminate-all's status, --date-end's whole day."""

from __future__ import annotations

import datetime as dt

import pytest

from host.admin import queries
from host.admin.body import NO_BODY
from host.admin.envelope import ApiError
from host.admin.requests import parse_batch, parse_create, parse_delete_batch, parse_status_change


def test_status_change_with_rollback_and_from() -> None:
    assert parse_status_change({"status": "terminate", "rollback": True}).rollback is True
    change = parse_status_change({"status": "restart", "from": {"name": "charge"}})
    assert change.from_step == {"name": "charge", "count": 1, "type": "do"}
    full = parse_status_change({"status": "restart", "from": {"name": "nap", "count": 2, "type": "sleep"}})
    assert full.from_step == {"name": "nap", "count": 2, "type": "sleep"}
    assert parse_status_change({"status": "pause", "rollback": False}).rollback is False


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"status": "pause", "rollback": True}, "rollback goes with status terminate"),
        ({"status": "terminate", "rollback": "yes"}, "rollback must be true or false"),
        ({"status": "terminate", "from": {"name": "x"}}, "'from' goes with status restart"),
        ({"status": "restart", "from": "charge"}, "from must be an object"),
        ({"status": "restart", "from": {"name": ""}}, "from.name"),
        ({"status": "restart", "from": {"name": "x", "count": 0}}, "from.count"),
        ({"status": "restart", "from": {"name": "x", "count": True}}, "from.count"),
        ({"status": "restart", "from": {"name": "x", "type": "step"}}, "from.type"),
        ({"status": "restart", "from": {"name": "x", "at": 1}}, "unknown key 'at'"),
    ],
)
def test_bad_status_changes_name_the_key(body: object, named: str) -> None:
    with pytest.raises(ApiError, match=named) as caught:
        parse_status_change(body)
    assert caught.value.status == 400


def test_create_and_batch_carry_instance_retention() -> None:
    retention = {"success_retention": "1 day"}
    assert parse_create({"instance_retention": retention}).retention == retention
    assert parse_create(NO_BODY).retention is None
    items = parse_batch([{"instance_id": "a", "instance_retention": retention}, {"instance_id": "b"}])
    assert items == [{"instance_id": "a", "retention": retention}, {"instance_id": "b"}]
    with pytest.raises(ApiError, match="instance_retention"):
        parse_create({"instance_retention": ["1 day"]})


def test_batch_delete_bodies() -> None:
    assert parse_delete_batch({"instances": ["a", "b", "a"]}) == ["a", "b"]
    for bad in ({"instances": []}, {"instances": [f"i{n}" for n in range(101)]}):
        with pytest.raises(ApiError, match="1 to 100") as caught:
            parse_delete_batch(bad)
        assert caught.value.status == 400
    for bad in (NO_BODY, {"instances": "a"}, {"instances": [1]}, {"ids": ["a"]}, ["a"]):
        with pytest.raises(ApiError):
            parse_delete_batch(bad)


def test_terminate_all_takes_only_statuses_an_instance_can_be_ended_from() -> None:
    assert queries.parse_terminate_all({}) is None
    assert queries.parse_terminate_all({"status": "waitingForPause"}) == "waitingForPause"
    with pytest.raises(ApiError, match="status must be one of"):
        queries.parse_terminate_all({"status": "complete"})


def test_rolling_back_is_a_list_filter() -> None:
    assert queries.parse_instance_query({"status": "rollingBack"}).status == "rollingBack"


def test_a_date_alone_as_an_end_covers_the_whole_day() -> None:
    day = dt.datetime(2026, 1, 31, tzinfo=dt.UTC).timestamp()
    assert queries.parse_time("2026-01-31", "--date-start") == day
    assert queries.parse_time("2026-01-31", "--date-end", end_of_day=True) == day + 86400 - 0.001
    assert queries.parse_time("2026-01-31T10:00:00Z", "--date-end", end_of_day=True) == day + 36000
    with pytest.raises(ValueError, match="--date-end must be an ISO 8601 time"):
        queries.parse_time("yesterday", "--date-end")
