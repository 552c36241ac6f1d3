"""Crashes, restarts, damaged files and two hosts on one data directory: real processes, real files."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers import wait_for
from tests.workflow_helpers import Flows, flows_deployment, serve_flows

CONFIG_KEEP_IN_MEMORY = """\
host:
  data_dir: data
  hibernate_after: 10 seconds
workers:
  - name: flows
    main: functions/flows.py
    routes: ["/wf/*"]
    workflows:
      - {name: script, binding: SCRIPT, class_name: Script}
"""


@pytest.mark.parametrize("durability", ["fsync", "relaxed"])
def test_a_sleep_survives_a_host_restart(tmp_path: Path, durability: str) -> None:
    config = CONFIG_KEEP_IN_MEMORY.replace(
        "hibernate_after: 10 seconds", f"hibernate_after: 0\n  durability: {durability}"
    )
    root, marks = flows_deployment(tmp_path, config)
    with serve_flows(root, marks) as server:
        flows = Flows(server, root, marks)
        iid = flows.create([["do", "before"], ["sleep", "nap", 1.0], ["do", "after"]], "sleeper")
        flows.wait_status(iid, "waiting")
    with serve_flows(root, marks) as server:
        flows = Flows(server, root, marks)
        assert flows.wait_status(iid, "complete")["output"] == ["before done", "slept nap", "after done"]
        assert len(flows.runs(iid, "before")) == 1 and len(flows.runs(iid, "after")) == 1


def test_kill_9_mid_workflow_then_restart(tmp_path: Path) -> None:
    root, marks = flows_deployment(tmp_path, CONFIG_KEEP_IN_MEMORY)
    ops = [["do", f"s{n}"] for n in range(6)]
    ops.insert(3, ["block", "stuck", "gate.go"])  # the host dies while this step runs
    server = serve_flows(root, marks).start()
    flows = Flows(server, root, marks)
    iid = flows.create(ops, "crashy")
    wait_for(lambda: flows.runs(iid, "stuck"))
    server.kill()
    server.client.close()
    done_before = {e["name"] for e in flows.journal(iid) if e["type"] == "step_done"}
    assert done_before == {"s0", "s1", "s2"}
    flows.gate("gate.go")
    with serve_flows(root, marks) as server:
        flows = Flows(server, root, marks)
        assert flows.wait_status(iid, "complete")["output"][-1] == "s5 done"
    for op in ops:
        runs = flows.runs(iid, op[1])
        assert len(runs) >= 1, op  # every step ran at least once
        if op[1] in done_before:
            assert len(runs) == 1, op  # a completed step never runs twice
    assert len(flows.runs(iid, "stuck")) == 2  # the step in flight ran again (at-least-once)


def stopped_while_waiting(tmp_path: Path, instance_id: str) -> tuple[Path, Path, Path]:
    """An instance that did step "a" and waits for a "go" event, its host stopped: (root, marks, journal)."""
    root, marks = flows_deployment(tmp_path)
    with serve_flows(root, marks) as server:
        flows = Flows(server, root, marks)
        flows.create([["do", "a"], ["wait", "w", "go", "1 hour"], ["do", "b"]], instance_id)
        flows.wait_status(instance_id, "waiting")
    return root, marks, flows.instance_dir(instance_id) / "journal.jsonl"


def test_a_torn_journal_tail_is_dropped(tmp_path: Path) -> None:
    root, marks, journal = stopped_while_waiting(tmp_path, iid := "torn")
    with open(journal, "ab") as fh:
        fh.write(b'{"type":"step_done","name":"w","cou')  # a crash mid-write
    with serve_flows(root, marks) as server:
        flows = Flows(server, root, marks)
        assert flows.event(iid, "go", {"ok": 1}).status_code == 200
        assert flows.wait_status(iid, "complete")["output"] == ["a done", {"ok": 1}, "b done"]
    assert all(line.startswith("{") and line.endswith("}") for line in journal.read_text().splitlines())
    assert len(flows.runs(iid, "a")) == 1


def test_damage_inside_a_journal_errors_the_instance_naming_file_and_line(tmp_path: Path) -> None:
    root, marks, journal = stopped_while_waiting(tmp_path, iid := "damaged")
    lines = journal.read_text().splitlines()
    lines[2] = lines[2][:10] + "###" + lines[2][10:]
    journal.write_text("\n".join(lines) + "\n")
    with serve_flows(root, marks) as server:
        flows = Flows(server, root, marks)
        flows.event(iid, "go", {})
        status = flows.wait_status(iid, "errored")
    assert "journal.jsonl line 3" in status["error"]["message"]
    assert flows.runs(iid, "b") == []  # damaged history is never used as a step result


def test_a_deleted_index_is_rebuilt_from_instance_folders(tmp_path: Path) -> None:
    root, marks = flows_deployment(tmp_path)
    with serve_flows(root, marks) as server:
        flows = Flows(server, root, marks)
        iid = flows.create([["sleep", "nap", 1.0], ["do", "after"]], "reindexed")
        flows.wait_status(iid, "waiting")
    shutil.rmtree(root / "data" / "workflows" / "script" / "pending")
    with serve_flows(root, marks) as server:
        flows = Flows(server, root, marks)
        assert flows.wait_status(iid, "complete")["output"] == ["slept nap", "after done"]


def test_two_hosts_on_one_data_directory_never_run_a_step_twice(tmp_path: Path) -> None:
    root, marks = flows_deployment(tmp_path)
    ops = [["do", "one"], ["sleep", "nap", 0.3], ["do", "two"], ["sleep", "nap", 0.3], ["do", "three"]]
    with serve_flows(root, marks) as first, serve_flows(root, marks) as second:
        hosts = [Flows(first, root, marks), Flows(second, root, marks)]
        ids = [hosts[n % 2].create(ops, f"pair-{n}") for n in range(50)]
        for iid in ids:
            hosts[0].wait_status(iid, "complete", timeout=30)
        pids = Counter()
        for iid in ids:
            for step in ("one", "two", "three"):
                runs = hosts[0].runs(iid, step)
                assert len(runs) == 1, (iid, step, runs)
                pids[runs[0].split()[0]] += 1
        assert len(pids) == 2, pids  # both processes did work


def test_an_instance_whose_host_died_is_picked_up_by_a_live_one(tmp_path: Path) -> None:
    root, marks = flows_deployment(tmp_path, CONFIG_KEEP_IN_MEMORY)
    with serve_flows(root, marks) as survivor:
        doomed = serve_flows(root, marks).start()
        flows = Flows(doomed, root, marks)
        iid = flows.create([["block", "stuck", "gate.orphan"], ["do", "after"]], "orphan")
        wait_for(lambda: flows.runs(iid, "stuck"))
        doomed.kill()
        doomed.client.close()
        flows.gate("gate.orphan")
        flows = Flows(survivor, root, marks)
        assert flows.wait_status(iid, "complete", timeout=15)["output"] == ["stuck released", "after done"]
        runs = flows.runs(iid, "after")
        assert len(runs) == 1 and runs[0].split()[0] == str(survivor.proc.pid)  # type: ignore[union-attr]
    status = json.loads((flows.instance_dir(iid) / "status.json").read_text())
    assert status["status"] == "complete"
