"""`waypost workflows check` on a data directory whose code changed before and after a sleep.

The instances are run for real with the test kit (the `waypost` fixture, on the sample deployment
tests/deployments/testkit): one stops in its 1 hour sleep, one completes. Then functions/ is
edited and the check runs as a subprocess, as a deploy script would run it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from host.testing import Kit, replay
from tests.helpers import run_cli

SAMPLE = Path(__file__).parent.parent / "deployments" / "testkit"
pytestmark = pytest.mark.anyio


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def edit(root: Path, old: str, new: str) -> None:
    path = root / "functions" / "orders.py"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def line_of(root: Path, text: str) -> int:
    lines = (root / "functions" / "orders.py").read_text().splitlines()
    return next(n for n, line in enumerate(lines, start=1) if text in line)


async def two_instances(waypost: Kit, tmp_path: Path) -> Path:
    """A copy of the sample with `asleep` in its hour-long sleep and `done` complete."""
    root = tmp_path / "deployment"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns("__pycache__", "data"))
    dep = waypost.deployment(root / "config.yaml", data_dir=root / "data")
    asleep = await dep.env("orders").ORDERS.create(id="asleep", params={"total": 5})
    await asleep.wait_for_status("waiting")
    async with dep.workflow("order-workflow").modify() as m:
        await m.disable_sleeps()
        await m.mock_event("shipment", {"carrier": "dhl"})
    done = await dep.env("orders").ORDERS.create(id="done", params={"total": 5})
    assert (await done.output())["outcome"] == "shipped"
    await dep.aclose()
    return root


def check(root: Path, *args: str) -> tuple[int, str, Any]:
    done = run_cli(["workflows", "check", *args], cwd=root)
    assert done.stderr == "", done.stderr
    parsed = json.loads(done.stdout) if "--json" in args else None
    return done.returncode, done.stdout, parsed


async def test_unchanged_code_is_ok_and_a_change_after_the_sleep_too(waypost: Kit, tmp_path: Path) -> None:
    root = await two_instances(waypost, tmp_path)
    code, out, _ = check(root)
    assert code == 0, out
    assert "order-workflow asleep (waiting): ok (2 recorded step(s) replayed)" in out
    assert "done" not in out  # finished instances only with --all
    edit(root, '"wait for shipment", "shipment"', '"wait for delivery", "shipment"')
    code, out, _ = check(root)  # past the sleep `asleep` is in: it will run the new code
    assert code == 0, out
    code, out, _ = check(root, "--all")  # `done` got past that wait under its old name
    assert code == 1, out
    assert "order-workflow asleep (waiting): ok" in out
    assert "order-workflow done (complete): diverges at step 3" in out
    assert "- journal: step.wait_for_event 'wait for shipment' #1" in out
    where = f"orders.py:{line_of(root, 'wait for delivery')}"
    assert "+ code:    step.wait_for_event 'wait for delivery' #1" in out and where in out, out


async def test_a_change_before_the_sleep_diverges_names_the_line_and_writes_nothing(
    waypost: Kit, tmp_path: Path
) -> None:
    root = await two_instances(waypost, tmp_path)
    edit(root, 'step.sleep("let it settle", "1 hour")', 'step.sleep("cool down", "1 hour")')
    before = snapshot(root / "data")
    code, out, _ = check(root)
    assert code == 1, out
    lines = out.splitlines()
    assert lines[0] == "order-workflow asleep (waiting): diverges at step 2"
    assert lines[1] == "  - journal: step.sleep 'let it settle' #1"
    assert lines[2].startswith("  + code:    step.sleep 'cool down' #1 (")
    assert lines[2].endswith(f"orders.py:{line_of(root, 'cool down')})")
    assert lines[-1] == "1 instance(s) checked: 0 ok, 1 not"
    code, _, docs = check(root, "order-workflow", "--all", "--json")
    assert code == 1
    assert [(d["id"], d["ok"]) for d in docs] == [("asleep", False), ("done", False)]
    assert docs[0]["divergence"]["journal"] == {"kind": "sleep", "name": "let it settle", "count": 1}
    assert docs[0]["divergence"]["code"] == {"kind": "sleep", "name": "cool down", "count": 1}
    assert snapshot(root / "data") == before  # not one byte written, not one file added


async def test_replay_of_one_journal_in_a_test(waypost: Kit, tmp_path: Path) -> None:
    root = await two_instances(waypost, tmp_path)
    journal = root / "data" / "workflows" / "order-workflow" / "instances" / "done" / "journal.jsonl"
    dep = waypost.deployment(root / "config.yaml", data_dir=tmp_path / "other")
    cls = dep._host.registry.module("orders").OrderWorkflow
    result = replay(journal, cls, dep.env("orders"))
    assert result.ok and result.replayed == 3
    edit(root, '"charge card", config=CHARGE', '"charge the card", config=CHARGE')
    changed = waypost.deployment(root / "config.yaml", data_dir=tmp_path / "third")
    result = replay(journal.parent, changed._host.registry.module("orders").OrderWorkflow)
    assert not result.ok and result.divergence is not None
    assert result.divergence.journal == ("do", "charge card", 1)
    assert result.divergence.code == ("do", "charge the card", 1)


def test_a_workflow_the_config_does_not_define_is_a_one_line_error(tmp_path: Path) -> None:
    root = tmp_path / "deployment"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns("__pycache__", "data"))
    done = run_cli(["workflows", "check", "nope"], cwd=root)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("waypost: error: no workflow 'nope' in") and done.stderr.count("\n") == 1
    done = run_cli(["workflows", "check"], cwd=root)
    assert (done.returncode, done.stdout) == (0, "No unfinished instances to check.\n")
