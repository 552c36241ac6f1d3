"""`waypost workers list`: each worker's routes, bindings and crons, read from the config alone."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from tests.helpers import make_deployment, run_cli

CONFIG = """
workers:
  - name: nightly
    main: functions/nightly.py
    routes: ["/nightly"]
    vars: {MODE: batch}
    triggers: {crons: ["0 3 * * *", "@hourly"]}
    kv_namespaces: [{binding: CACHE, id: main}]
    workflows:
      - {name: report, binding: REPORT, class_name: Report}
"""

WORKER = """
from workers import WorkflowEntrypoint

async def scheduled(controller, env, ctx):
    pass

class Report(WorkflowEntrypoint):
    async def run(self, event, step):
        return None
"""


def test_workers_list_shows_routes_bindings_and_each_cron_with_its_next_tick(tmp_path: Path) -> None:
    root = make_deployment(
        tmp_path, {"functions/nightly.py": WORKER, "functions/ping.py": "def fetch(r): return 'ok'\n"}, CONFIG
    )
    done = run_cli(["workers", "list", "--json"], cwd=root)
    assert done.returncode == 0, done.stderr
    workers = {w["name"]: w for w in json.loads(done.stdout)}
    assert set(workers) == {"nightly", "ping"}
    nightly = workers["nightly"]
    assert nightly["routes"] == ["/nightly"]
    assert nightly["bindings"] == {"MODE": "var", "REPORT": "workflow report", "CACHE": "kv main"}
    crons = {
        c["cron"]: dt.datetime.fromisoformat(c["next_tick"].replace("Z", "+00:00")) for c in nightly["crons"]
    }
    assert set(crons) == {"0 3 * * *", "@hourly"}
    assert (crons["0 3 * * *"].hour, crons["0 3 * * *"].minute, crons["0 3 * * *"].second) == (3, 0, 0)
    assert (crons["@hourly"].minute, crons["@hourly"].second) == (0, 0)
    assert workers["ping"]["dropin"] is True and workers["ping"]["crons"] == []

    table = run_cli(["workers", "list"], cwd=root)
    assert table.returncode == 0, table.stderr
    line = next(x for x in table.stdout.splitlines() if x.startswith("nightly"))
    assert "CACHE=kv main" in line and "0 3 * * *" in line and "@hourly" in line


def test_workers_list_names_a_bad_cron_as_a_config_error(tmp_path: Path) -> None:
    root = make_deployment(
        tmp_path, {"functions/nightly.py": WORKER}, CONFIG.replace("0 3 * * *", "61 * * * *")
    )
    done = run_cli(["workers", "list"], cwd=root)
    assert done.returncode == 1
    assert "triggers.crons[0]" in done.stderr and "Traceback" not in done.stderr
