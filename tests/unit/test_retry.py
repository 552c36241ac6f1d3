from __future__ import annotations

import pytest

from host.workflows.retry import StepConfig, resolve_config


def test_cloudflare_defaults() -> None:
    config = resolve_config(None)
    assert (config.limit, config.delay, config.backoff, config.timeout) == (5, 10.0, "exponential", 600.0)


@pytest.mark.parametrize(
    ("backoff", "delays"),
    [("constant", [2, 2, 2, 2]), ("linear", [2, 4, 6, 8]), ("exponential", [2, 4, 8, 16])],
)
def test_backoff(backoff: str, delays: list[float]) -> None:
    config = resolve_config({"retries": {"limit": 4, "delay": "2 seconds", "backoff": backoff}})
    assert [config.retry_delay(n) for n in range(1, 5)] == delays


def test_numbers_in_step_config_are_milliseconds() -> None:
    config = resolve_config({"retries": {"delay": 250}, "timeout": 1500})
    assert config.delay == 0.25 and config.timeout == 1.5
    assert config.as_json() == {
        "retries": {"limit": 5, "delay": 250, "backoff": "exponential"},
        "timeout": 1500,
    }


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"retries": {"limit": -1}}, "retries.limit"),
        ({"retries": {"limit": 10_001}}, "retries.limit"),
        ({"retries": {"backoff": "fibonacci"}}, "retries.backoff"),
        ({"retries": {"tries": 3}}, "retries.tries"),
        ({"timeout": "forever"}, "timeout"),
        ({"timeout": 0}, "timeout"),
        ({"retry": {}}, "'retry'"),
        ("5 times", "step config"),
    ],
)
def test_bad_configs_are_value_errors(config: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_config(config)


def test_a_zero_delay_retries_at_once() -> None:
    assert resolve_config({"retries": {"limit": 0, "delay": 0}}) == StepConfig(limit=0, delay=0.0)
    config = resolve_config({"retries": {"limit": 3, "delay": 0, "backoff": "exponential"}})
    assert [config.retry_delay(n) for n in (1, 2, 3)] == [0.0, 0.0, 0.0]
