"""Start-up refuses a bad deployment with one line on stderr and exit status 1, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import free_port, make_deployment, run_cli

CASES = [
    (
        {"functions/a.py": "async def fetch(r, e):\n    return 'a'\n"},
        "workers:\n  - {name: a, main: functions/a.py}\n  - {name: b, main: functions/a.py, routes: [1]}\n",
        "waypost: error: config.yaml: workers[1].routes[0]: expected a string, got a number",
    ),
    (
        {"functions/bad.py": "import os\nx = 1 / 0\n"},
        None,
        "waypost: error: functions/bad.py:2: ZeroDivisionError: division by zero",
    ),
    (
        {"functions/wf.py": "async def fetch(r, e):\n    return 'a'\n"},
        "workers:\n  - name: wf\n    main: functions/wf.py\n    workflows:\n"
        "      - {name: flow, binding: FLOW, class_name: Nope}\n",
        "waypost: error: config.yaml: workers[0].workflows[0].class_name: no class 'Nope' in wf.py",
    ),
]


@pytest.mark.parametrize(("files", "config", "message"), CASES, ids=["config", "import", "class_name"])
def test_bad_deployment_exits_1_with_one_line(
    tmp_path: Path, files: dict[str, str], config: str | None, message: str
) -> None:
    root = make_deployment(tmp_path, files, config)
    result = run_cli(["serve", "--no-reload", "--listen", f"127.0.0.1:{free_port()}"], cwd=root)
    assert result.returncode == 1
    assert result.stderr.strip() == message
    assert "Traceback" not in result.stderr + result.stdout


def test_missing_config_path_is_one_line(tmp_path: Path) -> None:
    result = run_cli(["serve", "--config", "missing.yaml"], cwd=tmp_path)
    assert (result.returncode, result.stderr.strip()) == (1, "waypost: error: missing.yaml: file not found")
