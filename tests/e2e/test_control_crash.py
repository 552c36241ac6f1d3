"""A control request taken and then cut short by kill -9 is carried out at the next start (SPEC
4.3: the journal's last word wins). The host journals the `control` line (durable), removes the
inbox file, and only then restarts, terminates or pauses; killed in between, nothing but that
line says what was asked.

One host makes the instances; a restart and a terminate are asked while steps are stuck in a
thread (a cancel waits for it), so the host is killed for real between each control line and
its effect. The other crash states are written as the host leaves them (its journal line
format, its restarted copy, its put-back events, its due signal) while no host runs. A second
host then starts, and each test checks one instance: a restart happens once (steps counted in
files outside data/, no second copy of the journal, no event twice), a terminate ends
terminated (after its undos if it asked for them), a pause paused."""

from __future__ import annotations

import json
import os
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ServerProcess, make_deployment, wait_for

WORKER = """
import os
import time

import anyio
from workers import WorkflowEntrypoint


def note(path, text):
    with open(path, "a") as fh:
        fh.write(text + "\\n")


class Counted(WorkflowEntrypoint):
    async def run(self, event, step):
        p = event.payload

        async def first():
            note(p["log"], "first")
            return "first"

        out = [await step.do("first", first)]
        if p.get("saga"):

            @step.with_rollback("book")
            async def book():
                note(p["log"], "book")
                return "booked"

            @book.undo
            async def unbook(error, value):
                note(p["log"], f"unbook {value}")

            out.append(await book())
        if p.get("wait"):
            out.append((await step.wait_for_event("hold", "go", timeout="1 hour"))["payload"])

        async def second():
            note(p["log"], "second")

            def until_gate():
                while p.get("gate") and not os.path.exists(p["gate"]):
                    time.sleep(0.01)

            await anyio.to_thread.run_sync(until_gate)  # a cancel waits for the thread
            return "second"

        out.append(await step.do("second", second))
        return out


async def fetch(request, env):
    parts = request.url.path.strip("/").split("/")[1:]
    body = await request.json() if await request.body() else {}
    if len(parts) == 0:
        instance = await env.FLOW.create(id=body["id"], params=body["params"])
        return {"id": instance.id}
    instance = await env.FLOW.get(parts[0])
    if parts[1] == "event":
        await instance.send_event(type="go", payload=body)
    else:
        await getattr(instance, parts[1])(**body)
    return {"ok": True}
"""

CONFIG = """
host:
  data_dir: data
workers:
  - name: crash
    main: functions/crash.py
    routes: ["/c", "/c/*"]
    workflows:
      - {name: counted, binding: FLOW, class_name: Counted}
"""


def line(entry: dict[str, Any]) -> bytes:
    """A journal line as the host writes it: compact JSON, then the CRC-32 of the rest."""
    body = json.dumps(entry, separators=(",", ":"), ensure_ascii=False)[:-1].encode()
    return body + b',"crc":"%08x"}\n' % zlib.crc32(body + b"}")


def inbox_name(action: str) -> str:
    return f"{time.time_ns():020d}-{os.urandom(4).hex()}-{action}.json"


@dataclass
class Crashed:
    root: Path
    side: Path
    server: ServerProcess

    def folder(self, iid: str) -> Path:
        return self.root / "data" / "workflows" / "counted" / "instances" / iid

    def journal(self, iid: str) -> list[dict[str, Any]]:
        text = (self.folder(iid) / "journal.jsonl").read_text()
        return [json.loads(text_line) for text_line in text.splitlines() if text_line.strip()]

    def status(self, iid: str) -> dict[str, Any]:
        return json.loads((self.folder(iid) / "status.json").read_text())  # type: ignore[no-any-return]

    def wait_status(self, iid: str, *statuses: str) -> dict[str, Any]:
        return wait_for(
            lambda: s if (s := self.status(iid))["status"] in statuses else None,
            10,
            what=f"{iid} to be {'/'.join(statuses)}",
        )

    def log(self, iid: str) -> list[str]:
        path = self.side / f"{iid}.log"
        return path.read_text().splitlines() if path.exists() else []

    def copies(self, iid: str) -> list[Path]:
        return sorted(self.folder(iid).glob("journal.*.restarted.jsonl"))

    def inbox(self, iid: str) -> list[str]:
        inbox = self.folder(iid) / "inbox"
        return sorted(os.listdir(inbox)) if inbox.exists() else []

    def restarted_and_complete(self, iid: str) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            journal = self.journal(iid)
            if journal[-1].get("status") == "complete" and not any(e["type"] == "control" for e in journal):
                return journal[-1]
            return None

        return wait_for(done, 10, what=f"{iid} to run again to its end")


def crash_like_the_host(folder: Path, *entries: dict[str, Any], copy: bool = False) -> None:
    """Append `entries` to the stopped instance's journal as the host writes them; `copy`: also
    keep the journal beside it as a restart does before it cuts; then the due signal the
    request's sender left (a link to instance.json due at 0, in pending/)."""
    with open(folder / "journal.jsonl", "ab") as journal:
        for entry in entries:
            journal.write(line({**entry, "t": time.time()}))
    if copy:
        (folder / f"journal.{time.time_ns()}.restarted.jsonl").write_bytes(
            (folder / "journal.jsonl").read_bytes()
        )
    pending = folder.parent.parent / "pending" / f"{0:013d}.{folder.name}"
    if not pending.exists():
        os.link(folder / "instance.json", pending)


def control(action: str, name: str, **fields: Any) -> dict[str, Any]:
    return {"type": "control", "action": action, "source": "binding", "inbox": name, **fields}


@pytest.fixture(scope="module")
def crashed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    base = tmp_path_factory.mktemp("controlcrash")
    root = make_deployment(base, {"functions/crash.py": WORKER}, CONFIG)
    side = base / "side"
    side.mkdir()
    first = ServerProcess(root, extra_args=("--no-reload",))
    state = Crashed(root, side, first)

    def create(iid: str, **params: Any) -> None:
        params = {"log": str(side / f"{iid}.log"), **params}
        answer = first.post("/c", json={"id": iid, "params": params})
        assert answer.status_code == 200, answer.text

    with first:
        create("killed", gate=str(side / "gate"))
        create("killed-terminate", gate=str(side / "gate"))
        create("rollback", wait=True, saga=True)
        create("from-step", wait=True)
        create("twice")
        create("terminate", wait=True)
        create("pause", wait=True)
        for iid in ("killed", "killed-terminate"):
            wait_for(lambda iid=iid: state.log(iid) == ["first", "second"], 10, what=f"{iid} to be stuck")
        for iid in ("terminate", "pause", "from-step", "rollback"):
            state.wait_status(iid, "waiting")
        assert first.post("/c/from-step/event", json={"n": 1}).status_code == 200
        for iid in ("twice", "from-step"):
            state.wait_status(iid, "complete")
        assert first.post("/c/killed/restart").status_code == 200
        assert first.post("/c/killed-terminate/terminate").status_code == 200

        def taken(iid: str) -> bool:
            return state.journal(iid)[-1]["type"] == "control" and not state.inbox(iid)

        for iid in ("killed", "killed-terminate"):
            wait_for(
                lambda iid=iid: taken(iid), 10, what=f"the request to {iid} to be journalled and removed"
            )
        first.kill()  # the runs are stuck in their steps: the requests are taken, not carried out
    (side / "gate").touch()
    write_crash_states(state)
    state.server = ServerProcess(root, extra_args=("--no-reload",))
    with state.server:
        yield state


def write_crash_states(state: Crashed) -> None:
    # a restart from the wait: the journal kept beside it and the event put back, then killed
    folder = state.folder("from-step")
    delivered = next(e for e in state.journal("from-step") if e["type"] == "event")
    step = {"name": "hold", "count": 1, "type": "waitForEvent"}
    crash_like_the_host(folder, control("restart", inbox_name("control-restart"), from_step=step), copy=True)
    back = {"kind": "event", **delivered["event"], "restored_from": delivered["inbox"]}
    (folder / "inbox").mkdir(exist_ok=True)
    (folder / "inbox" / f"{delivered['inbox'][:20]}-{os.urandom(4).hex()}-event.json").write_text(
        json.dumps(back)
    )
    # a plain restart killed after its copy, before the cut, and before its request was removed
    name = inbox_name("control-restart")
    crash_like_the_host(state.folder("twice"), control("restart", name), copy=True)
    (state.folder("twice") / "inbox").mkdir(exist_ok=True)
    request = {"kind": "control", "action": "restart", "source": "binding", "t": time.time()}
    (state.folder("twice") / "inbox" / name).write_text(json.dumps(request))
    # a terminate and a pause of waiting instances, killed before their status lines
    crash_like_the_host(state.folder("terminate"), control("terminate", inbox_name("control-terminate")))
    crash_like_the_host(state.folder("pause"), control("pause", inbox_name("control-pause")))
    # a terminate(rollback=True), killed before its rollingBack status
    terminate = control("terminate", inbox_name("control-terminate"), rollback=True)
    crash_like_the_host(state.folder("rollback"), terminate)


def test_a_restart_killed_before_it_cut_the_journal_runs_once_at_the_next_start(crashed: Crashed) -> None:
    end = crashed.restarted_and_complete("killed")
    assert end["output"] == ["first", "second"]
    assert crashed.log("killed") == ["first", "second", "first", "second"]  # from the start, once
    assert len(crashed.copies("killed")) == 1
    copied = crashed.copies("killed")[0].read_text().splitlines()
    assert json.loads(copied[-1])["action"] == "restart"  # the journal as it was when killed


def test_a_restart_from_a_step_cut_short_puts_no_event_back_twice(crashed: Crashed) -> None:
    end = crashed.restarted_and_complete("from-step")
    assert end["output"] == ["first", {"n": 1}, "second"]
    assert crashed.log("from-step") == ["first", "second", "second"]  # "first" was kept
    journal = crashed.journal("from-step")
    assert sum(e["type"] == "event" for e in journal) == 1
    assert any(e.get("from_step", {}).get("name") == "hold" for e in journal)
    assert len(crashed.copies("from-step")) == 1  # the copy made before the kill, not another
    wait_for(lambda: crashed.inbox("from-step") == [], 15, what="the put-back event to be taken")


def test_a_restart_whose_request_was_still_in_the_inbox_runs_once(crashed: Crashed) -> None:
    crashed.restarted_and_complete("twice")
    assert crashed.log("twice") == ["first", "second", "first", "second"]
    assert len(crashed.copies("twice")) == 1
    wait_for(lambda: crashed.inbox("twice") == [], 15, what="the restart request to be dropped")
    assert crashed.journal("twice")[0]["status"] == "queued"


def test_a_terminate_killed_before_its_status_ends_terminated(crashed: Crashed) -> None:
    crashed.wait_status("terminate", "terminated")
    statuses = [e["status"] for e in crashed.journal("terminate") if e["type"] == "status"]
    assert statuses[-1] == "terminated" and statuses.count("terminated") == 1
    assert crashed.log("terminate") == ["first"]


def test_a_terminate_killed_while_the_step_it_cancels_runs_ends_terminated(crashed: Crashed) -> None:
    crashed.wait_status("killed-terminate", "terminated")
    assert crashed.log("killed-terminate") == ["first", "second"]  # the step cut short never again
    journal = crashed.journal("killed-terminate")
    assert [e["action"] for e in journal if e["type"] == "control"] == ["terminate"]


def test_a_terminate_with_rollback_killed_before_it_began_runs_each_undo_once(crashed: Crashed) -> None:
    status = crashed.wait_status("rollback", "terminated")
    assert status["rollback"] == {"outcome": "complete"}
    assert crashed.log("rollback") == ["first", "book", "unbook booked"]
    statuses = [e["status"] for e in crashed.journal("rollback") if e["type"] == "status"]
    assert statuses[-2:] == ["rollingBack", "terminated"]


def test_a_pause_killed_before_its_status_ends_paused_and_resumes(crashed: Crashed) -> None:
    crashed.wait_status("pause", "paused")
    assert crashed.log("pause") == ["first"]
    assert crashed.server.post("/c/pause/resume").status_code == 200
    crashed.wait_status("pause", "waiting")
    assert crashed.server.post("/c/pause/event", json={"n": 2}).status_code == 200
    assert crashed.wait_status("pause", "complete")["output"] == ["first", {"n": 2}, "second"]
    assert [e["action"] for e in crashed.journal("pause") if e["type"] == "control"] == ["pause", "resume"]
