"""Faults: an instance's files damaged or missing while the host was stopped.

A journal line changed into other valid JSON must be found, not used; a missing or garbage
summary file (status.json, instance.json) must not lose the instance; a missing or emptied
journal of an instance with completed steps must end it errored, never re-run those steps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fault_helpers import (
    FINAL,
    Admin,
    brief,
    fault_deployment,
    instance_dir,
    runs,
    serve,
    sleeps,
    waits_for,
)
from tests.helpers import ServerProcess, wait_for


def _names_line(message: str, number: int) -> bool:
    """Whether an error message names journal.jsonl and line `number`."""
    return "journal.jsonl" in message and bool(re.search(rf"(line\s*{number}\b|jsonl:{number}\b)", message))


def test_a_changed_digit_in_a_step_result_errors_the_instance_naming_file_and_line(tmp_path: Path) -> None:
    root, marks = fault_deployment(tmp_path)
    ops = [["do", "num", {"n": 12345}], ["sleep", "nap", 1.0], ["do", "after"]]
    with serve(root, marks) as server:
        admin = Admin(server)
        assert admin.create("digit", ops).status_code == 201
        admin.wait_status("digit", "waiting")
    journal = instance_dir(root, "digit") / "journal.jsonl"
    lines = journal.read_text().splitlines()
    number = next(
        n
        for n, line in enumerate(lines, start=1)
        if (entry := json.loads(line))["type"] == "step_done" and entry["name"] == "num"
    )
    digit = re.compile(r'("n":\s*1234)5\b')
    assert len(digit.findall(lines[number - 1])) == 1, lines[number - 1]
    lines[number - 1] = digit.sub(r"\g<1>6", lines[number - 1])
    assert json.loads(lines[number - 1])["result"] == {"n": 12346}  # still valid JSON
    journal.write_text("\n".join(lines) + "\n")

    with serve(root, marks) as server:
        admin = Admin(server)
        status = admin.wait_status("digit", *FINAL)
    assert status["status"] == "errored", brief(status)
    assert _names_line(status["error"]["message"], number), status["error"]
    assert runs(marks, "digit", "num") == 1 and runs(marks, "digit", "after") == 0


# ---- missing and damaged summary files: one host start for all of them ----------------------------

WAITING = ("no-status", "garbage-status", "no-instance-json")  # wait for an event when damaged
SLEEPING = ("no-journal", "empty-journal")  # did step "a", sleep, then step "b"


@dataclass
class Damaged:
    server: ServerProcess
    admin: Admin
    root: Path
    marks: Path


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Damaged]:
    root, marks = fault_deployment(tmp_path_factory.mktemp("damaged"))
    with serve(root, marks) as server:
        admin = Admin(server)
        for iid in WAITING:
            assert admin.create(iid, waits_for()).status_code == 201
        for iid in SLEEPING:
            assert admin.create(iid, sleeps(3.0)).status_code == 201  # not awake before the host stops
        for iid in WAITING + SLEEPING:
            admin.wait_status(iid, "waiting")
    assert all(runs(marks, iid, "a") == 1 for iid in WAITING + SLEEPING)
    (instance_dir(root, "no-status") / "status.json").unlink()
    (instance_dir(root, "garbage-status") / "status.json").write_text('{"status": "wai\x00garbage')
    (instance_dir(root, "no-instance-json") / "instance.json").unlink()
    (instance_dir(root, "no-journal") / "journal.jsonl").unlink()
    (instance_dir(root, "empty-journal") / "journal.jsonl").write_bytes(b"")
    with serve(root, marks) as server:
        yield Damaged(server, Admin(server), root, marks)


def _goes_on_to_complete(d: Damaged, iid: str) -> None:
    sent = d.admin.event(iid, "go", {"ok": iid})
    assert sent.status_code == 200, sent.text
    status = d.admin.wait_status(iid, *FINAL)
    assert status["status"] == "complete", brief(status)
    assert status["output"] == ["a done", {"ok": iid}, "b done"]
    assert runs(d.marks, iid, "a") == 1 and runs(d.marks, iid, "b") == 1


def _get_works(d: Damaged, iid: str) -> None:
    answers: list[int] = []

    def found() -> bool:
        answers.append((answer := d.admin.get(iid)).status_code)
        return answer.status_code == 200 and answer.json()["result"]["status"] not in FINAL

    try:
        wait_for(found, 5, interval=0.1, what=f"GET of {iid} to answer")
    except AssertionError:
        raise AssertionError(f"GET {iid} answered {sorted(set(answers))}, never 200 (the instance)") from None


def test_a_deleted_status_json_is_not_a_lost_instance(damaged: Damaged) -> None:
    _get_works(damaged, "no-status")
    _goes_on_to_complete(damaged, "no-status")


def test_a_garbage_status_json_is_not_a_lost_instance(damaged: Damaged) -> None:
    _get_works(damaged, "garbage-status")
    _goes_on_to_complete(damaged, "garbage-status")


def test_a_deleted_instance_json_is_not_a_lost_instance(damaged: Damaged) -> None:
    _goes_on_to_complete(damaged, "no-instance-json")


@pytest.mark.parametrize("iid", SLEEPING)
def test_a_lost_journal_errors_the_instance_and_never_reruns_its_steps(damaged: Damaged, iid: str) -> None:
    status = damaged.admin.wait_status(iid, *FINAL)
    assert status["status"] == "errored", brief(status)
    assert "journal.jsonl" in status["error"]["message"], status["error"]
    assert runs(damaged.marks, iid, "a") == 1, "the completed step ran again"
    assert runs(damaged.marks, iid, "b") == 0
