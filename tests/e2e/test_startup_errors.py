"""Start-up: a config error stops it with one line and exit status 1, never a traceback; a worker
module that fails to import does not (the rest is served, its routes answer 503 with an error id),
unless `serve --strict`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import ServerProcess, free_port, make_deployment, run_cli, wait_for, write_files

CASES = [
    (
        {"functions/a.py": "async def fetch(r, e):\n    return 'a'\n"},
        "workers:\n  - {name: a, main: functions/a.py}\n  - {name: b, main: functions/a.py, routes: [1]}\n",
        "waypost: error: config.yaml: workers[1].routes[0]: expected a string, got a number",
    ),
    (
        {"functions/wf.py": "async def fetch(r, e):\n    return 'a'\n"},
        "workers:\n  - name: wf\n    main: functions/wf.py\n    workflows:\n"
        "      - {name: flow, binding: FLOW, class_name: Nope}\n",
        "waypost: error: config.yaml: workers[0].workflows[0].class_name: no class 'Nope' in wf.py",
    ),
]


@pytest.mark.parametrize(("files", "config", "message"), CASES, ids=["config", "class_name"])
def test_config_error_exits_1_with_one_line(
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


BROKEN = {
    "functions/good.py": "async def fetch(request, env):\n    return 'still here'\n",
    "functions/bad.py": "import os\nx = 1 / 0\n",
    "functions/typo.py": "async def fetch(request, env):\n    return 'typo'\n\ndef oops(:\n",
}


def test_broken_drop_ins_get_503_with_an_error_id_while_the_rest_serves(tmp_path: Path) -> None:
    root = make_deployment(tmp_path, BROKEN)
    with ServerProcess(root, ["--no-reload"]) as server:
        assert server.get("/good").text == "still here"
        ids = {}
        for worker in ("bad", "typo"):
            r = server.get(f"/{worker}/some/path")
            assert r.status_code == 503
            match = re.search(r"error id: ([0-9a-f]{8})", r.text)
            assert match and match.group(1) == r.headers["x-waypost-error-id"], r.text
            assert f"worker '{worker}' failed to load" in r.text
            ids[worker] = match.group(1)
        assert server.get("/bad").headers["x-waypost-error-id"] == ids["bad"]  # one id per failure
        log = server.log
        # every bad file is named, with its line, under the id the 503 carries
        assert f"error {ids['bad']}: functions/bad.py:2: ZeroDivisionError: division by zero" in log
        assert f"error {ids['typo']}: functions/typo.py:4: SyntaxError: " in log
        assert "Traceback" not in log
        messages = server.get("/client/v4/accounts/local/workflows").json()["messages"]
        assert [m["message"].split(":")[0] for m in messages] == [
            "worker 'bad' failed to load",
            "worker 'typo' failed to load",
        ]
        assert "functions/bad.py:2" in messages[0]["message"]


def test_a_broken_drop_in_is_served_once_fixed(tmp_path: Path) -> None:
    root = make_deployment(tmp_path, BROKEN)
    with ServerProcess(root) as server:
        assert server.get("/bad").status_code == 503
        write_files(root, {"functions/bad.py": "async def fetch(request, env):\n    return 'fixed'\n"})
        wait_for(lambda: server.get("/bad").text == "fixed", 15, what="the fixed worker to serve")
        assert server.get("/good").text == "still here"


def test_strict_stops_start_up_naming_every_bad_file(tmp_path: Path) -> None:
    root = make_deployment(tmp_path, BROKEN)
    result = run_cli(["serve", "--strict", "--no-reload", "--listen", f"127.0.0.1:{free_port()}"], cwd=root)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert "waypost: error: 2 workers failed to load (--strict):" in result.stderr
    assert "  functions/bad.py:2: ZeroDivisionError: division by zero" in result.stderr
    assert "  functions/typo.py:4: SyntaxError: " in result.stderr


def test_strict_with_one_bad_file_is_one_line(tmp_path: Path) -> None:
    root = make_deployment(tmp_path, {"functions/bad.py": BROKEN["functions/bad.py"]})
    result = run_cli(["serve", "--strict", "--no-reload", "--listen", f"127.0.0.1:{free_port()}"], cwd=root)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "waypost: error: functions/bad.py:2: ZeroDivisionError: division by zero"
    )
    assert "Traceback" not in result.stderr + result.stdout
