"""Fault: the data directory's disk fills up while instances are created, then space returns.

The data directory is a 2 MiB tmpfs, filled up to a little room with a big file; instances are
created over the admin API until creates are refused, the disk stays full for a moment while the
accepted ones run, then the big file goes. One scenario (module fixture), one behaviour per test.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from tests.fault_helpers import (
    FINAL,
    Admin,
    bad_journal_lines,
    data_dir,
    error_message,
    fault_deployment,
    fill_disk,
    instance_dir,
    serve,
    tmpfs,
)
from tests.helpers import wait_for

ROOM = 160 * 1024  # bytes left free after the filler: room for about ten instances
MAX_CREATES = 300
# a 1.5 KB result per step: journal lines cross page boundaries, so appends need new pages too
OPS = [["big", "a", 1500], ["sleep", "nap", 0.5], ["big", "b", 1500], ["big", "c", 1500]]
REFUSALS_IN_A_ROW = 5


@dataclass
class FullDiskRun:
    accepted: list[str] = field(default_factory=list)
    refused: dict[str, httpx.Response] = field(default_factory=dict)  # id -> the answer
    get_before: dict[str, int] = field(default_factory=dict)  # refused id -> GET status while full
    left_behind: list[str] = field(default_factory=list)  # refused ids whose folder exists
    final: dict[str, str] = field(default_factory=dict)  # accepted id -> status once space returned
    recreated: dict[str, int] = field(default_factory=dict)  # refused id -> create answer later
    recreated_final: dict[str, str] = field(default_factory=dict)
    bad_lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what went wrong in the scenario itself


def _settle(admin: Admin, ids: list[str], timeout: float) -> dict[str, str]:
    """Wait until every instance is final (or the deadline); their last seen statuses."""
    seen: dict[str, str] = {}

    def all_final() -> bool:
        for iid in ids:
            if seen.get(iid) in FINAL:
                continue
            answer = admin.server.get(f"{admin.base}/instances/{iid}", params={"simple": "true"})
            seen[iid] = (
                answer.json()["result"]["status"]
                if answer.status_code == 200
                else f"HTTP {answer.status_code}"
            )
        return all(seen.get(iid) in FINAL for iid in ids)

    try:
        wait_for(all_final, timeout, interval=0.1, what="every instance to end")
    except AssertionError:
        pass
    return seen


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FullDiskRun]:
    tmp_path = tmp_path_factory.mktemp("full-disk")
    root, marks = fault_deployment(tmp_path)
    record = FullDiskRun()
    with tmpfs(data_dir(root), "2m") as data:
        server = serve(root, marks)
        try:
            server.start()
            admin = Admin(server)
            filler = data / "filler.bin"
            fill_disk(filler, leave=ROOM)
            in_a_row = 0
            for n in range(MAX_CREATES):
                iid = f"full-{n:03d}"
                answer = admin.create(iid, OPS)
                if answer.status_code == 201:
                    record.accepted.append(iid)
                    in_a_row = 0
                    continue
                record.refused[iid] = answer
                in_a_row += 1
                if in_a_row == REFUSALS_IN_A_ROW:
                    break
            for iid in record.refused:
                record.get_before[iid] = admin.get(iid).status_code
                if instance_dir(root, iid).exists():
                    record.left_behind.append(iid)
            time.sleep(1.0)  # the fault lasts a moment: the accepted instances' sleeps end meanwhile
            filler.unlink()
            record.final = _settle(admin, record.accepted, 10)
            for iid in record.refused:
                record.recreated[iid] = admin.create(iid, OPS).status_code
            record.recreated_final = _settle(admin, [i for i, s in record.recreated.items() if s == 201], 10)
            if not server.running:
                record.problems.append(f"the host died:\n{server.log[-3000:]}")
        except Exception as exc:  # noqa: BLE001 - each test reports what it needs from the scenario
            record.problems.append(f"the scenario broke off: {exc!r}\n{server.log[-3000:]}")
        finally:
            server.kill()
        record.bad_lines = bad_journal_lines(root)
        yield record


def _scenario_reached_a_full_disk(run: FullDiskRun) -> None:
    assert run.refused, f"no create was refused: the disk never filled ({run.problems})"


def test_a_create_refused_for_a_full_disk_answers_507_with_the_envelope(run: FullDiskRun) -> None:
    _scenario_reached_a_full_disk(run)
    for iid, answer in run.refused.items():
        assert answer.status_code == 507, (iid, answer.status_code, answer.text[:300])
        message = error_message(answer)
        assert re.search(r"\bfull\b|no space", message, re.I), (iid, message)


def test_a_create_refused_for_a_full_disk_leaves_no_instance_behind(run: FullDiskRun) -> None:
    _scenario_reached_a_full_disk(run)
    assert run.left_behind == [], f"folders left by failed creates: {run.left_behind}"
    assert set(run.get_before.values()) == {404}, run.get_before
    assert set(run.recreated.values()) == {201}, f"the ids of failed creates, created later: {run.recreated}"
    assert set(run.recreated_final.values()) == {"complete"}, run.recreated_final


def test_instances_accepted_on_a_full_disk_complete_once_space_returns(run: FullDiskRun) -> None:
    _scenario_reached_a_full_disk(run)
    assert run.accepted, "no create was accepted before the disk filled"
    not_done = {iid: s for iid, s in run.final.items() if s != "complete"}
    assert not not_done and len(run.final) == len(run.accepted), not_done or run.problems
    assert not run.problems, run.problems


def test_a_full_disk_leaves_no_broken_journal_line(run: FullDiskRun) -> None:
    _scenario_reached_a_full_disk(run)
    assert run.bad_lines == [], "\n".join(run.bad_lines)
