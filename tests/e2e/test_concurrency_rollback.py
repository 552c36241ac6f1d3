"""Concurrency limits and rollback (SPEC 3.8): only `running` and `waitingForPause` instances
count against `concurrency.limit`, so an instance whose undo handlers run (`rollingBack`) leaves
its slot to the next one. Through a real served host: the saga worker with a limit of 1."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import ServerProcess
from tests.saga_helpers import Saga, lines, saga_deployment

LIMITED = "      - {name: limited, binding: LIMITED, class_name: Trip, concurrency: {limit: 1}}\n"


def test_a_rolling_back_instance_does_not_hold_its_slot(tmp_path: Path) -> None:
    root = saga_deployment(tmp_path)
    config = root / "config.yaml"
    config.write_text(config.read_text() + LIMITED)
    gate = tmp_path / "gate.undo"
    with ServerProcess(root, extra_args=("--no-reload",)) as server:
        saga = Saga(server, root, tmp_path / "side")
        first = saga.create("LIMITED", "one", steps=["a"], then="raise", block_undo="a", gate=str(gate))
        saga.wait_status("limited", "one", "rollingBack")
        second = saga.create("LIMITED", "two", steps=["b"])
        done = saga.wait_status("limited", "two", "complete")  # while one's undo still blocks
        assert done["output"] == "done", done
        assert saga.status("limited", "one")["status"] == "rollingBack"
        assert lines(first) == ["do a", "undo a a RuntimeError"] and lines(second) == ["do b"]
        gate.touch()
        ended = saga.wait_status("limited", "one", "errored")
        assert ended["rollback"] == {"outcome": "complete"}, ended
