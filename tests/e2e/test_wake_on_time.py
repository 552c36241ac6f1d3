"""A hibernated sleeper is loaded hibernate_after before its wake time, so it only has to go on
when the time comes; loading it early writes nothing and never wakes it early."""

from __future__ import annotations

import time
from pathlib import Path

from tests.helpers import locked_by_someone, wait_for
from tests.workflow_helpers import FLOWS, Flows, flows_deployment, serve_flows


def test_a_sleeper_is_loaded_ahead_and_wakes_no_earlier_than_due(tmp_path: Path) -> None:
    config = (FLOWS / "config.yaml").read_text().replace("hibernate_after: 0 ", "hibernate_after: 2 ")
    assert "hibernate_after: 2 " in config
    root, marks = flows_deployment(tmp_path, config)
    with serve_flows(root, marks) as server:
        flows = Flows(server, root, marks)
        iid = flows.create([["sleep", "nap", "8 seconds"], ["do", "after"]])
        sleep = wait_for(lambda: [e for e in flows.journal(iid) if e["type"] == "sleep"])[0]
        flows.wait_status(iid, "waiting")
        lock = flows.instance_dir(iid) / "journal.jsonl"
        # hibernated first (8 s > hibernate_after), then held again in the 2 s before the wake time
        # (margins this wide so that a loaded machine's late poll does not miss either)
        wait_for(lambda: not locked_by_someone(lock), timeout=sleep["until"] - time.time() - 2.2)
        wait_for(lambda: locked_by_someone(lock), timeout=sleep["until"] - time.time())
        assert time.time() < sleep["until"]
        flows.wait_status(iid, "complete")
    journal = flows.journal(iid)
    after = next(e for e in journal if e["type"] == "step_done" and e["name"] == "after")
    assert after["t"] >= sleep["until"]
    statuses = [e["status"] for e in journal if e["type"] == "status" and e["t"] > sleep["t"]]
    assert statuses == ["waiting", "running", "complete"]  # loading early journals nothing
