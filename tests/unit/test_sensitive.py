"""`sensitive: "output"` in a step config: kept in the config the journal records, shown redacted."""

from __future__ import annotations

import pytest

from host.admin.steps import REDACTED, api_steps, build_steps, shown_output
from host.workflows.retry import resolve_config


def test_the_config_keeps_it_and_refuses_anything_else() -> None:
    assert resolve_config({"sensitive": "output"}).as_json()["sensitive"] == "output"
    assert "sensitive" not in resolve_config({"timeout": 5}).as_json()
    with pytest.raises(ValueError, match="sensitive must be 'output'"):
        resolve_config({"sensitive": "params"})


def test_the_step_log_redacts_only_sensitive_results() -> None:
    config = resolve_config({"sensitive": "output"}).as_json()
    entries = [
        {"type": "step_start", "name": "token", "count": 1, "attempt": 1, "t": 1.0, "config": config},
        {"type": "step_done", "name": "token", "count": 1, "attempt": 1, "t": 2.0, "result": "secret"},
        {"type": "step_start", "name": "plain", "count": 1, "attempt": 1, "t": 3.0},
        {"type": "step_done", "name": "plain", "count": 1, "attempt": 1, "t": 4.0, "result": "shown"},
    ]
    steps = build_steps(entries, 5.0)
    assert [shown_output(s) for s in steps] == [REDACTED, "shown"]
    assert [s["output"] for s in api_steps(steps)] == [REDACTED, "shown"]
    assert steps[0]["output"] == "secret"  # the folded journal itself keeps it
