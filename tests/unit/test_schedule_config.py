"""Cron expressions in config.yaml and wrangler files: checked at load, errors naming the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from host.config import load_config
from host.errors import ConfigError
from host.schedules.listing import from_config, next_ticks
from tests.helpers import make_deployment

FILES = {"functions/a.py": "async def scheduled(controller, env, ctx):\n    pass\n"}
A = "workers:\n  - {name: a, main: functions/a.py"
FLOW = "workflows: [{name: f, binding: F, class_name: F"


def load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str):  # type: ignore[no-untyped-def]
    root = make_deployment(tmp_path, FILES, config)
    monkeypatch.chdir(root)
    return load_config(Path("config.yaml"), environ={})


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            A + ", triggers: {crons: ['*/5 * * * *', '61 * * * *']}}\n",
            "config.yaml: workers[0].triggers.crons[1]: '61 * * * *' is not a valid cron expression: "
            "Bad minute",
        ),
        (
            A + ", triggers: {crons: ['@reboot']}}\n",
            "config.yaml: workers[0].triggers.crons[0]: '@reboot' is not",
        ),
        (
            A + ", triggers: {crons: [5]}}\n",
            "config.yaml: workers[0].triggers.crons[0]: expected a string, got a number",
        ),
        (
            A + ", " + FLOW + ", schedules: ['0 * * * *', '* * *']}]}\n",
            "config.yaml: workers[0].workflows[0].schedules[1]: '* * *' has 3 fields",
        ),
        (
            A + ", " + FLOW + ", schedules: '0 * * * *'}]}\n",
            "config.yaml: workers[0].workflows[0].schedules: expected a list",
        ),
    ],
)
def test_a_bad_expression_is_a_config_error_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, monkeypatch, config)
    assert str(info.value).startswith(message), str(info.value)


def test_crons_and_schedules_are_kept_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load(
        tmp_path,
        monkeypatch,
        A
        + ", triggers: {crons: ['@hourly', '*/2 * * * * *']}, "
        + FLOW
        + ", schedules: ['0 9 * * MON-FRI']}]}\n",
    )
    worker = config.worker("a")
    assert worker.crons == ("@hourly", "*/2 * * * * *")
    assert worker.workflows[0].schedules == ("0 9 * * MON-FRI",)
    found = {(s.kind, s.target, s.cron.text) for s in from_config(config)}
    assert found == {
        ("worker", "a", "@hourly"),
        ("worker", "a", "*/2 * * * * *"),
        ("workflow", "f", "0 9 * * MON-FRI"),
    }
    assert next_ticks(["@hourly"], now=1796128590.0) == [
        {"cron": "@hourly", "next_tick": "2026-12-01T13:00:00.000Z"}
    ]


def test_a_wrangler_file_names_its_own_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_deployment(tmp_path, FILES)
    doc = {
        "name": "a",
        "main": "functions/a.py",
        "triggers": {"crons": ["0 0 * * *"]},
        "workflows": [{"name": "f", "binding": "F", "class_name": "F", "schedules": ["0 0 * * BAD"]}],
    }
    (root / "wrangler.jsonc").write_text(json.dumps(doc), encoding="utf-8")
    monkeypatch.chdir(root)
    with pytest.raises(ConfigError) as info:
        load_config(Path("wrangler.jsonc"), environ={})
    assert str(info.value).startswith("wrangler.jsonc: workflows[0].schedules[0]: '0 0 * * BAD'"), str(
        info.value
    )
    doc["workflows"][0]["schedules"] = ["*/10 * * * *"]  # type: ignore[index]
    (root / "wrangler.jsonc").write_text(json.dumps(doc), encoding="utf-8")
    config = load_config(Path("wrangler.jsonc"), environ={})
    assert config.worker("a").crons == ("0 0 * * *",)  # type: ignore[union-attr]
    assert config.worker("a").workflows[0].schedules == ("*/10 * * * *",)  # type: ignore[union-attr]
