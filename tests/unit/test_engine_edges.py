"""The pure functions under tests/e2e/test_engine_edges.py: backoff caps, duration bounds, a
rebuilt error's text, dict keys JSON cannot keep, and times past what datetime holds."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest

from host.text import when
from host.workflows.durations import MAX_WAIT_SECONDS, parse_duration
from host.workflows.jsonenc import check_keys, compact_strict
from host.workflows.retry import MAX_RETRY_DELAY, MAX_RETRY_LIMIT, StepConfig, resolve_config
from host.workflows.stepcall import describe_error, rebuild_error


@pytest.mark.parametrize("delay", [0.0, 0.001, 1.0, MAX_WAIT_SECONDS])
@pytest.mark.parametrize("backoff", ["constant", "linear", "exponential"])
def test_every_retry_up_to_the_limit_has_a_finite_capped_delay(delay: float, backoff: str) -> None:
    config = StepConfig(limit=MAX_RETRY_LIMIT, delay=delay, backoff=backoff)
    waits = [config.retry_delay(n) for n in (1, 2, 30, 1024, 1025, 1026, MAX_RETRY_LIMIT)]
    assert all(0 <= w <= MAX_RETRY_DELAY for w in waits)
    if delay == 0:
        assert waits == [0.0] * len(waits)


def test_exponential_backoff_grows_then_stops_at_the_cap() -> None:
    config = StepConfig(delay=1.0, backoff="exponential")
    assert [config.retry_delay(n) for n in (1, 2, 3, 24)] == [1.0, 2.0, 4.0, 2.0**23]
    assert config.retry_delay(26) == MAX_RETRY_DELAY == 365 * 86400  # 2**25 s is over a year


@pytest.mark.parametrize("value", [math.inf, "9" * 400 + " seconds", "9" * 400])
def test_infinite_durations_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match="^sleep: .* is not a finite duration$"):
        parse_duration(value, what="sleep")


@pytest.mark.parametrize(
    ("config", "what"),
    [
        ({"timeout": math.inf}, "timeout"),
        ({"retries": {"delay": math.inf}}, "retries.delay"),
        ({"retries": {"delay": "9000 years"}}, "retries.delay"),
        ({"retries": {"delay": dt.timedelta.max}}, "retries.delay"),
        ({"timeout": "366 days"}, "timeout"),
    ],
)
def test_step_delays_and_timeouts_are_at_most_365_days(config: object, what: str) -> None:
    with pytest.raises(ValueError, match=f"^{what}: "):
        resolve_config(config)


def test_365_days_is_still_a_step_delay_and_timeout() -> None:
    config = resolve_config({"retries": {"delay": "365 days"}, "timeout": "365 days"})
    assert config.delay == config.timeout == MAX_WAIT_SECONDS
    assert config.as_json()["timeout"] == 365 * 86400 * 1000


@pytest.mark.parametrize(
    "exc",
    [KeyError("k"), KeyError(1), KeyError(("a", 2)), KeyError("a", "b"), KeyError(), KeyError(object())],
)
def test_a_rebuilt_key_error_has_the_recorded_text(exc: KeyError) -> None:
    recorded = describe_error(exc)
    rebuilt = rebuild_error(recorded)
    assert isinstance(rebuilt, KeyError)
    assert str(rebuilt) == recorded["message"] == str(exc)


def test_a_rebuilt_key_error_has_its_key_back_where_the_text_is_a_literal() -> None:
    rebuilt = rebuild_error({"name": "KeyError", "message": "'k'"})
    assert type(rebuilt) is KeyError and rebuilt.args == ("k",)


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({1: 2}, "it has the key 1 (int)"),
        ({"a": [{"b": {True: 1}}]}, "['a'][0]['b'] has the key True (bool)"),
        ([(0, {None: 1})], "[0][1] has the key None (NoneType)"),
        ({"x": {1.5: "y"}}, "['x'] has the key 1.5 (float)"),
    ],
)
def test_dict_keys_that_are_not_strings_are_refused_naming_the_path(value: object, where: str) -> None:
    with pytest.raises(ValueError) as info:
        compact_strict(value)  # params, event payloads, run()'s output
    assert str(info.value) == f"{where}; JSON object keys are strings"
    back = json.loads(compact_strict(value, dates=True))  # a step result: checked against its copy
    with pytest.raises(ValueError) as info:
        check_keys(value, back, "result of step 'x'")
    assert (
        str(info.value)
        == f"result of step 'x' must be JSON-serialisable: {where}; JSON object keys are strings"
    )


class Key(str):
    pass


@pytest.mark.parametrize(
    "value", [{"a": (1, [2])}, [{Key("k"): {"n": None}}], {f"k{i}": [i] * 20 for i in range(20)}, "x"]
)
def test_str_keys_and_tuples_pass_with_or_without_the_copy(value: object) -> None:
    check_keys(value)
    check_keys(value, json.loads(compact_strict(value)))


def test_tuples_dates_and_string_keys_still_encode() -> None:
    assert compact_strict({"a": (1, [2]), "d": dt.date(2026, 1, 2)}, dates=True) == (
        '{"a":[1,[2]],"d":{"$date":"2026-01-02"}}'
    )


def test_times_past_year_9999_are_shown_not_raised() -> None:
    assert when(1e13) == "1e+13 (epoch seconds)"
    assert when(math.inf) == "inf (epoch seconds)"
    assert when("2026-01-01T00:00:00Z") is not None and when("not a time") == "not a time"
