"""Workflow code in the shapes Cloudflare's Python Workflows docs use, through a real served host."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ServerProcess, wait_for

DEPLOYMENT = Path(__file__).parent.parent / "deployments" / "cfworkflows"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("cf") / "deployment"
    shutil.copytree(DEPLOYMENT, root, ignore=shutil.ignore_patterns("__pycache__", "data"))
    with ServerProcess(root, extra_args=("--no-reload",)) as running:
        running.root = root  # type: ignore[attr-defined]
        yield running


def finish(server: ServerProcess, binding: str) -> dict[str, Any]:
    created = server.post(f"/cf/{binding}")
    assert created.status_code == 200, created.text
    iid = created.json()["id"]

    def final() -> dict[str, Any] | None:
        status: dict[str, Any] = server.get(f"/cf/{binding}/{iid}").json()
        return status if status["status"] in ("complete", "errored", "terminated") else None

    return wait_for(final, 10, what=f"{binding} instance to end") | {"id": iid}


def test_a_parameter_named_after_a_decorated_step_is_its_result(server: ServerProcess) -> None:
    status = finish(server, "DAG")
    assert status["status"] == "complete", status
    assert status["output"] == "one+two"


def test_a_parameter_that_names_no_step_is_a_type_error_naming_it(server: ServerProcess) -> None:
    status = finish(server, "BADPARAM")
    assert status["status"] == "errored"
    assert status["error"]["name"] == "TypeError"
    assert "'nothing_by_that_name'" in status["error"]["message"]


def test_ctx_reads_as_keys_and_a_zero_delay_retries_at_once(server: ServerProcess) -> None:
    status = finish(server, "CONTEXT")
    assert status["status"] == "complete", status
    assert status["output"] == {"attempt": 3, "name": "flaky", "count": 1}


def test_datetime_and_date_results_come_back_as_such_after_a_replay(server: ServerProcess) -> None:
    status = finish(server, "DATES")
    assert status["status"] == "complete", status
    out = status["output"]
    assert out["first"] == out["types"] == ["datetime", "date"]
    assert (out["at"], out["day"]) == ("2026-01-02T03:04:05+00:00", "2026-01-02")
    journal = server.root / "data" / "workflows" / "dates" / "instances" / status["id"] / "journal.jsonl"
    done = [json.loads(line) for line in journal.read_text().splitlines() if '"step_done"' in line]
    # tagged JSON that cat and jq read
    assert done[0]["result"] == {
        "at": {"$datetime": "2026-01-02T03:04:05+00:00"},
        "day": {"$date": "2026-01-02"},
    }


def test_on_run_is_accepted_in_place_of_run(server: ServerProcess) -> None:
    status = finish(server, "OLDER")
    assert status["status"] == "complete" and status["output"] == "on_run ran"


def test_a_ctx_env_constructor_with_super_init_gets_the_env(server: ServerProcess) -> None:
    status = finish(server, "CTORENV")
    assert status["status"] == "complete" and status["output"] == "hello from hello"
