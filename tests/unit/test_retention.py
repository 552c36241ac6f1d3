"""Retention values (host/workflows/retention.py) and their config keys (host/config/retention.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from host.config import load_config
from host.errors import ConfigError
from host.workflows.retention import MAX_RETENTION_SECONDS, expires_at, parse_retention
from tests.helpers import make_deployment


def test_a_number_is_milliseconds_and_a_string_a_duration() -> None:
    assert parse_retention({"success_retention": 60000, "error_retention": "2 days"}) == {
        "success_retention": 60.0,
        "error_retention": 172800.0,
    }


def test_seconds_where_a_number_means_seconds() -> None:
    assert parse_retention({"success_retention": 90}, number_unit=1.0) == {"success_retention": 90.0}


def test_javascript_spellings_and_left_out_keys() -> None:
    assert parse_retention({"successRetention": "1 hour", "errorRetention": None}) == {
        "success_retention": 3600.0
    }
    assert parse_retention(None) is None
    assert parse_retention({}) is None


def test_ten_years_is_the_limit() -> None:
    assert parse_retention({"error_retention": "10 years"}) == {"error_retention": MAX_RETENTION_SECONDS}
    with pytest.raises(ValueError, match=r"retention\.error_retention: .*limit of 10 years"):
        parse_retention({"error_retention": "3651 days"})


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("7 days", "expected a mapping"),
        ({"keep": "1 day"}, "unknown key 'keep'"),
        ({"success_retention": "soon"}, "retention.success_retention"),
        ({"success_retention": -1}, "must not be negative"),
        ({"success_retention": True}, "expected a number"),
        ({"error_retention": "5 fortnights"}, "unknown unit"),
    ],
)
def test_bad_retentions_name_the_key(value: object, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_retention(value)


def test_the_expiry_follows_the_outcome() -> None:
    meta = {"retention": {"success_retention": 10.0, "error_retention": 20.0}}
    assert expires_at(meta, "complete", 100.0) == 110.0
    assert expires_at(meta, "errored", 100.0) == 120.0
    assert expires_at(meta, "terminated", 100.0) == 120.0
    assert expires_at(meta, "waiting", None) is None
    assert expires_at({"retention": {"error_retention": 5.0}}, "complete", 100.0) is None
    assert expires_at({}, "complete", 100.0) is None


WF = "workers:\n  - {name: a, main: functions/a.py, workflows: [{name: wf, binding: W, class_name: C%s}]}\n"
FILES = {"functions/a.py": "from workers import WorkflowEntrypoint\nclass C(WorkflowEntrypoint):\n    pass\n"}


def _load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str):  # type: ignore[no-untyped-def]
    root = make_deployment(tmp_path, FILES, text)
    monkeypatch.chdir(root)
    return load_config(Path("config.yaml"), environ={})


def test_a_workflow_default_in_config_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _load(tmp_path, monkeypatch, WF % ", retention: {success_retention: 30, error_retention: 1 day}")
    workflow = config.workers[0].workflows[0]
    assert workflow.retention == {"success_retention": 30.0, "error_retention": 86400.0}
    assert config.host.sweep_interval == 30.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            WF % ", retention: {success_retention: 11 years}",
            "config.yaml: workers[0].workflows[0].retention.success_retention: "
            "'11 years' is longer than the retention limit of 10 years",
        ),
        (WF % ", retention: {keep: 1}", "config.yaml: workers[0].workflows[0].retention: unknown key 'keep'"),
        (WF % ", retention: 5", "config.yaml: workers[0].workflows[0].retention: expected a mapping"),
        ("host: {sweep_interval: 0}\n" + WF % "", "config.yaml: host.sweep_interval: 0 must be more than 0"),
        (
            "host: {sweep_interval: 2 minutes}\n" + WF % "",
            "config.yaml: host.sweep_interval: '2 minutes' must",
        ),
    ],
)
def test_bad_retention_config_names_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, monkeypatch, text)
    assert str(info.value).startswith(message), str(info.value)


def test_sweep_interval_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _load(tmp_path, monkeypatch, "host: {sweep_interval: 0.5 seconds}\n" + WF % "")
    assert config.host.sweep_interval == 0.5
