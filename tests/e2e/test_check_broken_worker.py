"""`waypost workflows check` beside a worker that fails to import (SPEC 1: an import failure
affects only that worker): a worker that defines no workflow being checked is a one-line warning
on stderr and the check goes on; one that defines a checked workflow is still an error naming its
file and line. Run as a subprocess on a copy of tests/deployments/testkit with its `asleep`
instance in flight."""

from __future__ import annotations

from pathlib import Path

import pytest

from host.testing import Kit
from tests.e2e.test_workflows_check import snapshot, two_instances
from tests.helpers import run_cli

pytestmark = pytest.mark.anyio

BROKEN = """
  - name: zbad
    main: functions/zbad.py
    routes: ["/zbad"]
  - name: noclass
    main: functions/noclass.py
    workflows:
      - {name: other-workflow, binding: OTHER, class_name: Missing}
"""


async def deployment(waypost: Kit, tmp_path: Path) -> Path:
    root = await two_instances(waypost, tmp_path)
    (root / "functions" / "zbad.py").write_text("def fetch(request, env)\n    return 1\n")
    (root / "functions" / "noclass.py").write_text("async def fetch(request, env):\n    return 1\n")
    config = root / "config.yaml"
    config.write_text(config.read_text() + BROKEN)
    return root


async def test_an_unrelated_worker_that_fails_to_import_is_a_warning(waypost: Kit, tmp_path: Path) -> None:
    root = await deployment(waypost, tmp_path)
    before = snapshot(root / "data")
    done = run_cli(["workflows", "check", "order-workflow"], cwd=root)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "order-workflow asleep (waiting): ok (2 recorded step(s) replayed)" in done.stdout
    assert "1 instance(s) checked: 1 ok, 0 not" in done.stdout
    warnings = done.stderr.splitlines()
    assert len(warnings) == 2, done.stderr  # one line for each worker that did not load
    assert warnings[0].startswith("waypost: warning: worker 'zbad' not loaded") and (
        "functions/zbad.py:1: SyntaxError" in warnings[0]
    ), warnings
    assert warnings[1].startswith("waypost: warning: worker 'noclass' not loaded") and (
        "no class 'Missing' in noclass.py" in warnings[1]
    ), warnings
    assert "Traceback" not in done.stderr
    assert snapshot(root / "data") == before  # a check writes nothing


async def test_a_checked_workflows_worker_that_fails_to_import_is_still_an_error(
    waypost: Kit, tmp_path: Path
) -> None:
    root = await deployment(waypost, tmp_path)
    orders = root / "functions" / "orders.py"
    orders.write_text(orders.read_text() + "\ndef broken(:\n")
    line = orders.read_text().splitlines().index("def broken(:") + 1
    done = run_cli(["workflows", "check", "order-workflow"], cwd=root)
    assert (done.returncode, done.stdout) == (1, ""), done.stderr
    assert done.stderr.count("\n") == 1 and f"functions/orders.py:{line}: SyntaxError" in done.stderr
    assert "zbad" not in done.stderr  # the others are not the point of the error


async def test_all_workflows_need_every_worker_that_defines_one(waypost: Kit, tmp_path: Path) -> None:
    root = await deployment(waypost, tmp_path)
    done = run_cli(["workflows", "check"], cwd=root)  # other-workflow's worker lacks its class
    assert (done.returncode, done.stdout) == (1, ""), done.stderr
    warning, error = done.stderr.splitlines()
    assert warning.startswith("waypost: warning: worker 'zbad' not loaded"), warning
    assert error == (
        "waypost: error: config.yaml: workers[2].workflows[0].class_name: no class 'Missing' in noclass.py"
    )
