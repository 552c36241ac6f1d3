"""A Cloudflare project folder (a wrangler file, .dev.vars and src/entry.py) served as it is, through a
real host: no config.yaml, `--config wrangler.toml`, and several projects side by side."""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ServerProcess, free_port, run_cli, wait_for

DEPLOYMENTS = Path(__file__).parent.parent / "deployments"
LIVE = 15.0  # a deadline, not a timing check: bench.reload measures how soon an edit is live
IGNORED_IN_JSONC = ("$schema", "compatibility_date", "compatibility_flags", "observability")


def project(tmp_path: Path, name: str, dest: str = "project") -> Path:
    """A copy of tests/deployments/<name> at tmp_path/<dest> (no functions/, no config.yaml)."""
    root = tmp_path / dest
    shutil.copytree(DEPLOYMENTS / name, root, ignore=shutil.ignore_patterns("__pycache__", "data"))
    return root


@pytest.fixture
def greeter(tmp_path: Path) -> Iterator[ServerProcess]:
    with ServerProcess(project(tmp_path, "wrangler-jsonc")) as server:
        yield server


def body(server: ServerProcess, path: str) -> Any:
    response = server.get(path)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_wrangler_jsonc_folder_is_served_at_root_with_vars_and_dev_vars(greeter: ServerProcess) -> None:
    assert not (greeter.root / "config.yaml").exists() and not (greeter.root / "functions").exists()
    assert body(greeter, "/") == {
        "greeting": "Hello!",
        "token": "dev-token-123",
        "path": "/",
        "loud": "HEY",
        "version": 1,
    }
    assert body(greeter, "/any/where")["path"] == "/any/where"  # served at /*
    assert (greeter.root / "data").is_dir()  # the data directory sits beside the wrangler file


def test_ignored_keys_are_each_named_once_in_the_log(greeter: ServerProcess) -> None:
    log = greeter.wait_for_log("ignored, no meaning in Waypost")
    line = next(ln for ln in log.splitlines() if "ignored, no meaning in Waypost" in ln)
    assert line.split(" INFO ", 1)[1].strip().startswith("wrangler.jsonc: ignored"), line
    for key in IGNORED_IN_JSONC:
        assert log.count(key) == 1, (key, log)
    # a reload after a code edit does not repeat them
    entry = greeter.root / "src/entry.py"
    entry.write_text(entry.read_text().replace('"version": 1', '"version": 2'))
    wait_for(lambda: body(greeter, "/")["version"] == 2, LIVE)
    assert all(greeter.log.count(key) == 1 for key in IGNORED_IN_JSONC), greeter.log


def test_a_workflow_declared_in_the_wrangler_file_runs(greeter: ServerProcess) -> None:
    iid = body(greeter, "/flow")["id"]

    def done() -> Any:
        status = body(greeter, f"/flow/{iid}")
        return status if status["status"] in ("complete", "errored") else None

    status = wait_for(done, 10, what="the workflow instance to end")
    assert (status["status"], status["output"]) == ("complete", "HELLO, FLOW")


def test_the_workflows_cli_finds_the_wrangler_file_like_serve(tmp_path: Path) -> None:
    root = project(tmp_path, "wrangler-jsonc")
    result = run_cli(["workflows", "list", "--json"], cwd=root)
    assert result.returncode == 0, result.stderr
    [flow] = json.loads(result.stdout)
    assert (flow["name"], flow["class_name"]) == ("greeting-flow", "GreetingFlow")


def test_a_wrangler_toml_named_by_config_from_another_folder(tmp_path: Path) -> None:
    root = project(tmp_path, "wrangler-toml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    config = str(root / "wrangler.toml")
    with ServerProcess(elsewhere, ["--config", config, "--data", str(tmp_path / "state")]) as server:
        response = server.get("/notes/today")
        assert (response.status_code, response.text) == (200, "Notes at /notes/today signed with toml-secret")
        log = server.log
    assert log.count("workers_dev") == 1 and log.count("compatibility_flags") == 1


def test_two_cloudflare_projects_side_by_side_in_one_config_yaml(tmp_path: Path) -> None:
    root = tmp_path / "host"
    project(root, "wrangler-jsonc", "greeter")
    project(root, "wrangler-toml", "notes")
    (root / "config.yaml").write_text(
        textwrap.dedent(
            """
            workers:
              - wrangler: greeter/wrangler.jsonc
                routes: ["/greeter", "/greeter/*"]
              - wrangler: notes               # a folder: its wrangler file is found as wrangler finds it
                routes: ["/notes/*"]
            """
        )
    )
    with ServerProcess(root) as server:
        greeting = body(server, "/greeter/hi")
        assert (greeting["greeting"], greeting["token"], greeting["path"]) == (
            "Hello!",
            "dev-token-123",
            "/greeter/hi",
        )
        notes = server.get("/notes/x")
        assert (notes.status_code, notes.text) == (200, "Notes at /notes/x signed with toml-secret")
        assert server.get("/").status_code == 404  # the config.yaml entry's routes, not /*


def test_an_unsupported_key_stops_start_up_naming_file_and_key(tmp_path: Path) -> None:
    root = project(tmp_path, "wrangler-jsonc")
    jsonc = root / "wrangler.jsonc"
    jsonc.write_text(
        jsonc.read_text().replace(
            '"triggers"',
            '"durable_objects": {"bindings": [{"name": "COUNTER", "class_name": "Counter"}]},\n  "triggers"',
        )
    )
    result = run_cli(["serve", "--no-reload", "--listen", f"127.0.0.1:{free_port()}"], cwd=root)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "waypost: error: wrangler.jsonc: durable_objects: not supported: Waypost has no Durable Objects"
    )


def write(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (old, text)
    path.write_text(text.replace(old, new))


def test_editing_main_outside_functions_goes_live(greeter: ServerProcess) -> None:
    assert body(greeter, "/")["version"] == 1
    write(greeter.root / "src/entry.py", '"version": 1', '"version": 2')
    wait_for(lambda: body(greeter, "/")["version"] == 2, LIVE, what="the edit to be live")


def test_editing_a_module_beside_main_goes_live(greeter: ServerProcess) -> None:
    assert body(greeter, "/")["loud"] == "HEY"
    write(greeter.root / "src/words.py", "text.upper()", "text.title()")
    wait_for(lambda: body(greeter, "/")["loud"] == "Hey", LIVE, what="the helper edit to be live")


def test_editing_the_wrangler_file_and_dev_vars_goes_live(greeter: ServerProcess) -> None:
    write(greeter.root / "wrangler.jsonc", '"GREETING": "Hello"', '"GREETING": "Howdy"')
    wait_for(lambda: body(greeter, "/")["greeting"] == "Howdy!", LIVE)
    write(greeter.root / ".dev.vars", "dev-token-123", "rotated-456")
    wait_for(lambda: body(greeter, "/")["token"] == "rotated-456", LIVE)
    # a broken edit keeps the last good configuration serving, and names the file
    write(greeter.root / "wrangler.jsonc", '"name": "greeter",', '"name": "greeter",,')
    log = greeter.wait_for_log("wrangler.jsonc: invalid JSONC at line", LIVE)
    assert "reload skipped" in log
    assert body(greeter, "/")["greeting"] == "Howdy!"
