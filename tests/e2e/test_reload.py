"""Hot reload: edits, new files, deletions and config changes go live without a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import ServerProcess, make_deployment, stays, wait_for

CONFIG = """
    workers:
      - name: conf
        main: functions/conf.py
        routes: ["/conf"]
        vars: {COLOR: blue}
"""

FILES = {
    "functions/greet.py": "async def fetch(request, env):\n    return 'v1'\n",
    "functions/conf.py": "async def fetch(request, env):\n    return env.COLOR\n",
}

LIVE = 15.0  # a deadline, not a timing check: bench.reload measures how soon an edit is live


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    root = make_deployment(tmp_path, FILES, CONFIG)
    with ServerProcess(root) as server:
        yield server


def write(server: ServerProcess, rel: str, text: str) -> None:
    path = server.root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def text_of(server: ServerProcess, path: str) -> str:
    r = server.get(path)
    return f"{r.status_code} {r.text}"


def test_an_edit_goes_live(server: ServerProcess) -> None:
    assert text_of(server, "/greet") == "200 v1"
    write(server, "functions/greet.py", "async def fetch(request, env):\n    return 'v2'\n")
    wait_for(lambda: text_of(server, "/greet") == "200 v2", LIVE, what="the edit to be live")


def test_new_file_is_served(server: ServerProcess) -> None:
    assert server.get("/fresh").status_code == 404
    write(server, "functions/fresh.py", "async def fetch(request, env):\n    return 'new here'\n")
    wait_for(lambda: text_of(server, "/fresh") == "200 new here", LIVE)


def test_deleted_file_stops_being_served(server: ServerProcess) -> None:
    assert server.get("/greet").status_code == 200
    (server.root / "functions/greet.py").unlink()
    wait_for(lambda: server.get("/greet").status_code == 404, LIVE)


@pytest.mark.parametrize(
    ("source", "where"),
    [
        ("x = 1\n\ndef fetch(:\n    return 'v3'\n", "functions/greet.py:3: SyntaxError"),
        ("import os\n\nundefined_name + 1\n", "greet.py:3: NameError: name 'undefined_name'"),
    ],
)
def test_broken_file_keeps_last_good_version_and_logs_file_and_line(
    server: ServerProcess, source: str, where: str
) -> None:
    write(server, "functions/greet.py", source)
    log = server.wait_for_log(where, LIVE)
    assert "still serving the last good version of greet" in log
    assert text_of(server, "/greet") == "200 v1"
    # fixing the file brings the new version in
    write(server, "functions/greet.py", "async def fetch(request, env):\n    return 'fixed'\n")
    wait_for(lambda: text_of(server, "/greet") == "200 fixed", LIVE)


def test_config_edit_goes_live(server: ServerProcess) -> None:
    assert text_of(server, "/conf") == "200 blue"
    write(server, "config.yaml", CONFIG.replace("blue", "green").replace('["/conf"]', '["/conf", "/c2"]'))
    wait_for(lambda: text_of(server, "/conf") == "200 green", LIVE)
    assert text_of(server, "/c2") == "200 green"


def test_bad_config_edit_keeps_previous_config(server: ServerProcess) -> None:
    write(server, "config.yaml", CONFIG.replace("vars:", "varz:"))
    log = server.wait_for_log("config.yaml: workers[0].varz: unknown key", LIVE)
    assert "reload skipped" in log
    assert text_of(server, "/conf") == "200 blue"


def test_helper_module_edit_is_picked_up(server: ServerProcess) -> None:
    write(server, "functions/_util.py", "WORD = 'first'\n")
    write(
        server, "functions/uses.py", "import _util\n\nasync def fetch(request, env):\n    return _util.WORD\n"
    )
    wait_for(lambda: text_of(server, "/uses") == "200 first", LIVE)
    write(server, "functions/_util.py", "WORD = 'second'\n")
    wait_for(lambda: text_of(server, "/uses") == "200 second", LIVE)


def test_no_reload_flag_turns_watching_off(tmp_path: Path) -> None:
    root = make_deployment(tmp_path, FILES, CONFIG)
    with ServerProcess(root, ["--no-reload"]) as server:
        write(server, "functions/greet.py", "async def fetch(request, env):\n    return 'v2'\n")
        assert stays(lambda: text_of(server, "/greet") == "200 v1", 2.0)
