"""Schedules through real served hosts (SPEC 2.1, 3.10), with seconds-field crons so that a test
takes seconds: ticks fire, two hosts on one data directory fire each tick once, a host stopped
across ticks fires one catch-up (a worker tick, or a workflow instance), kill -9 after a tick is
recorded does not fire it again."""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import json
import re
import time
from pathlib import Path
from typing import NamedTuple

from cloudflare.types.workflows import WorkflowGetResponse

from tests.helpers import ServerProcess, free_port, make_deployment, run_cli, stays, wait_for

API = "/client/v4/accounts/local/workflows"

# The handler appends "start|<cron>|<scheduled_time>|<scheduledTime>|<pid>" to env.OUT, then (once
# it ends) a "done|..." line. While the file env.HOLD exists it waits after "start"; when env.RAISE
# exists it deletes it and raises.
WORKER = """
    import os
    import asyncio
    from pathlib import Path
    from workers import WorkflowEntrypoint, WorkerEntrypoint

    def note(env, event, controller):
        when = f"{controller.scheduled_time}|{controller.scheduledTime}"
        line = f"{event}|{controller.cron}|{when}|{os.getpid()}\\n"
        with open(env.OUT, "a") as out:
            out.write(line)

    async def scheduled(controller, env, ctx):
        note(env, "start", controller)
        if Path(env.RAISE).exists():
            Path(env.RAISE).unlink()
            raise RuntimeError("scheduled handler failed on purpose")
        while Path(env.HOLD).exists():
            await asyncio.sleep(0.02)
        controller.no_retry()
        note(env, "done", controller)

    class Ticked(WorkflowEntrypoint):
        async def run(self, event, step):
            async def mark():
                with open(self.env.RUNS, "a") as out:
                    out.write(event.instance_id + "\\n")
                return event.schedule
            return await step.do("mark", mark)

    async def fetch(request, env):
        return "ok"
"""


def deployment(tmp_path: Path, crons: list[str], schedules: list[str] | None = None) -> Path:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    flows = ""
    if schedules is not None:
        flows = (
            "    workflows:\n"
            f"      - {{name: ticked, binding: TICKED, class_name: Ticked, schedules: {schedules!r}}}\n"
        )
    config = (
        "workers:\n"
        "  - name: cronw\n"
        "    main: functions/cronw.py\n"
        '    routes: ["/cronw"]\n'
        f"    vars: {{OUT: '{out}/ticks', HOLD: '{out}/hold', RAISE: '{out}/raise', RUNS: '{out}/runs'}}\n"
        f"    triggers: {{crons: {crons!r}}}\n" + flows
    )
    return make_deployment(tmp_path, {"functions/cronw.py": WORKER}, config)


def lines(root: Path, name: str = "ticks") -> list[list[str]]:
    path = root.parent / "out" / name
    if not path.exists():
        return []
    return [line.split("|") for line in path.read_text().splitlines() if line]


def ticks(root: Path, event: str = "done") -> list[int]:
    """scheduled_time (ms) of each `event` line, in the order written."""
    return [int(parts[2]) for parts in lines(root) if parts[0] == event]


def key(cron: str) -> str:
    return hashlib.sha256(cron.encode()).hexdigest()[:8]


def made(root: Path) -> list[int]:
    """The tick (epoch seconds) of each instance of workflow `ticked`, sorted."""
    instances = root / "data" / "workflows" / "ticked" / "instances"
    return sorted(int(p.name.split("-")[1]) for p in instances.iterdir()) if instances.is_dir() else []


def recorded(root: Path, kind: str, name: str, cron: str) -> list[int]:
    """The tick records (epoch seconds) of one cron, sorted."""
    folder = root / "data" / "schedules" / kind / name / key(cron)
    return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit()) if folder.is_dir() else []


CATCH_UP = re.compile(
    r"^(?P<what>.+): (?P<skipped>\d+) older tick\(s\) since (?P<since>\S+) missed, skipped; "
    r"firing the most recent, (?P<tick>\S+)$"
)


class CatchUp(NamedTuple):
    """The catch-up log line: what fired, how many older ticks were skipped, the newest record it
    resumed from, the tick fired, and when the line was written (epoch seconds)."""

    what: str
    skipped: int
    since: float
    tick: int
    logged: float


def catch_up(log: str) -> CatchUp:
    """The one catch-up line of a `--log-format json` log."""
    (line,) = [json.loads(text) for text in log.splitlines() if "older tick(s) since" in text]
    match = CATCH_UP.match(line["message"])
    assert match, line["message"]
    return CatchUp(
        match["what"],
        int(match["skipped"]),
        dt.datetime.fromisoformat(match["since"]).timestamp(),
        int(dt.datetime.fromisoformat(match["tick"]).timestamp()),
        dt.datetime.fromisoformat(line["time"]).timestamp(),
    )


def test_ticks_fire_the_handler_and_create_workflow_instances(tmp_path: Path) -> None:
    root = deployment(tmp_path, ["* * * * * *"], ["*/2 * * * * *"])
    with ServerProcess(root) as server:
        wait_for(lambda: len(ticks(root)) >= 2, 10, what="two ticks of the worker cron")
        first = lines(root)[0]
        assert first[1] == "* * * * * *" and first[2] == first[3] and int(first[2]) % 1000 == 0
        assert server.log.count("schedule: worker cronw cron '* * * * * *', next tick") == 1
        assert "schedule: workflow ticked cron '*/2 * * * * *', next tick" in server.log
        runs = wait_for(lambda: lines(root, "runs"), 10, what="a scheduled instance to run")
        iid = runs[0][0]
        epoch = int(iid.split("-")[1])
        assert iid == f"cron-{epoch}-{key('*/2 * * * * *')}" and epoch % 2 == 0
        doc = wait_for(
            lambda: (
                (d := server.get(f"{API}/ticked/instances/{iid}").json()["result"])["status"] == "complete"
                and d
            ),
            10,
            what="the scheduled instance to complete",
        )
        stamp = {"cron": "*/2 * * * * *", "scheduledTime": epoch * 1000}
        assert doc["trigger"] == {"source": "cron"}
        assert doc["params"] == {} and doc["schedule"] == stamp and doc["output"] == stamp
        listed = server.get(f"{API}/ticked/instances").json()["result"]
        assert {i["trigger_source"] for i in listed} == {"cron"}
        workflow = server.get(f"{API}/ticked").json()["result"]
        (schedule,) = workflow["schedules"]
        assert schedule["cron"] == "*/2 * * * * *" and schedule["next_instance"] > doc["queued"]
        parsed = WorkflowGetResponse.model_validate(workflow)  # the official client's shape
        assert parsed.schedules is not None and parsed.schedules[0].next_instance == schedule["next_instance"]
    described = run_cli(["workflows", "describe", "ticked"], cwd=root)
    assert described.returncode == 0, described.stderr
    assert "*/2 * * * * *" in described.stdout and "next tick" in described.stdout


def test_two_hosts_on_one_data_directory_fire_each_tick_once(tmp_path: Path) -> None:
    root = deployment(tmp_path, ["* * * * * *"], ["* * * * * *"])
    hosts = [ServerProcess(root), ServerProcess(root)]
    for host in hosts:
        host.start()
    try:
        wait_for(lambda: len(set(ticks(root))) >= 5, 15, what="five ticks")
        wait_for(lambda: len(lines(root, "runs")) >= 5, 15, what="five scheduled instances to run")
    finally:
        for host in hosts:
            host.stop()
    for host in hosts:
        assert "schedule: worker cronw cron '* * * * * *'" in host.log, "both hosts ran the schedules"
    fired = collections.Counter(ticks(root, "start"))
    assert fired and max(fired.values()) == 1, fired
    runs = collections.Counter(parts[0] for parts in lines(root, "runs"))
    assert max(runs.values()) == 1, runs
    instances = root / "data" / "workflows" / "ticked" / "instances"
    made = sorted(int(p.name.split("-")[1]) for p in instances.iterdir())
    assert made == list(range(made[0], made[-1] + 1)), "one instance per tick, none missing"


def test_a_host_stopped_across_ticks_fires_one_catch_up(tmp_path: Path) -> None:
    root = deployment(tmp_path, ["*/2 * * * * *"])
    server = ServerProcess(root).start()
    wait_for(lambda: ticks(root), 10, what="a first tick")
    server.stop()
    last = max(ticks(root, "start"))
    # stay down across two ticks: last + 2 s and last + 4 s
    wait_for(lambda: time.time() > last / 1000 + 4.5, 10, what="two ticks to pass")
    with ServerProcess(root, ["--log-format", "json"]) as again:
        line = catch_up(again.wait_for_log("older tick(s) since", 10))
        wait_for(lambda: [t for t in ticks(root) if t > last], 10, what="the catch-up tick")
    after = sorted(t for t in ticks(root, "start") if t > last)
    first = after[0]
    assert first >= last + 4000, "the most recent missed tick, not an older one"
    assert last + 2000 not in after, "the older missed tick is skipped"
    assert after == list(range(first, after[-1] + 1, 2000)), after
    assert line.what == "worker cronw cron '*/2 * * * * *'" and line.since * 1000 == last
    assert line.tick * 1000 == first and line.skipped == (first - last) // 2000 - 1
    assert line.tick <= line.logged, "a tick that was missed, not one still ahead when the host started"


def test_a_host_stopped_across_ticks_of_a_workflow_schedule_makes_one_catch_up_instance(
    tmp_path: Path,
) -> None:
    cron = "*/2 * * * * *"
    root = deployment(tmp_path, [], [cron])
    server = ServerProcess(root).start()
    wait_for(lambda: recorded(root, "workflows", "ticked", cron), 10, what="a first scheduled instance")
    server.stop()
    last = max(recorded(root, "workflows", "ticked", cron))
    assert made(root)[-1] == last, "every instance made was recorded before the host stopped"
    # stay down across two ticks: last + 2 s and last + 4 s
    wait_for(lambda: time.time() > last + 4.5, 10, what="two ticks to pass")
    with ServerProcess(root, ["--log-format", "json"]) as again:
        line = catch_up(again.wait_for_log("older tick(s) since", 10))
        tick = line.tick
        iid = f"cron-{tick}-{key(cron)}"
        wait_for(lambda: tick in made(root), 10, what="the catch-up instance")
        wait_for(lambda: made(root)[-1] > tick, 10, what="the next tick's instance")
        runs = wait_for(lambda: [r[0] for r in lines(root, "runs") if r[0] == iid], 10, what="it to run")
        doc = again.get(f"{API}/ticked/instances/{iid}").json()["result"]
    assert line.what == f"workflow ticked cron {cron!r}" and line.since == last
    assert tick >= last + 4, "the most recent missed tick, not an older one"
    assert tick <= line.logged, "a tick that was missed, not one still ahead when the host started"
    assert line.skipped == (tick - last) // 2 - 1, "the older missed ticks are counted"
    after = [t for t in made(root) if t > last]
    assert after[0] == tick and last + 2 not in after, "one catch-up instance; the older ticks make none"
    assert after == list(range(tick, after[-1] + 1, 2)), "the following ticks each make one, none lost"
    assert runs == [iid]
    assert doc["trigger"] == {"source": "cron"}
    assert doc["schedule"] == {"cron": cron, "scheduledTime": tick * 1000}


def test_kill_9_after_a_tick_is_recorded_does_not_fire_it_again(tmp_path: Path) -> None:
    root = deployment(tmp_path, ["*/2 * * * * *"])
    hold = root.parent / "out" / "hold"
    hold.write_text("")
    server = ServerProcess(root).start()
    (held,) = wait_for(lambda: ticks(root, "start")[:1], 10, what="a handler to start and wait")
    records = root / "data" / "schedules" / "workers" / "cronw" / key("*/2 * * * * *")
    assert (records / str(held // 1000)).is_file(), "the tick was recorded before the handler ran"
    server.kill()
    hold.unlink()
    with ServerProcess(root):
        wait_for(lambda: ticks(root, "done"), 10, what="a tick after the restart")
    started = collections.Counter(ticks(root, "start"))
    assert started[held] == 1 and max(started.values()) == 1, started
    assert held not in ticks(root, "done"), "the killed handler never finished, and was not run again"


def test_a_failing_handler_is_logged_with_an_id_and_the_next_tick_fires(tmp_path: Path) -> None:
    root = deployment(tmp_path, ["* * * * * *"])
    (root.parent / "out" / "raise").write_text("")
    with ServerProcess(root) as server:
        log = server.wait_for_log("scheduled handler failed on purpose", 10)
        failed = ticks(root, "start")[0]
        wait_for(lambda: [t for t in ticks(root, "done") if t > failed], 10, what="the next tick")
        assert "in worker cronw scheduled handler (cron '* * * * * *'" in log
        assert "no retry" in log
    assert failed not in ticks(root, "done")
    assert collections.Counter(ticks(root, "start"))[failed] == 1, "no retry"


def test_a_bad_cron_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    root = deployment(tmp_path, ["*/5 * * * *", "0 25 * * *"])
    result = run_cli(["serve", "--no-reload", "--listen", f"127.0.0.1:{free_port()}"], cwd=root)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "waypost: error: config.yaml: workers[0].triggers.crons[1]: "
        "'0 25 * * *' is not a valid cron expression: Bad hour"
    )
    assert not (root / "data" / "schedules").exists()


def test_test_scheduled_routes_call_the_handler_at_once(tmp_path: Path) -> None:
    root = deployment(tmp_path, ["@yearly"])
    with ServerProcess(root, ["--test-scheduled"]) as server:
        answer = server.get("/__scheduled", params={"cron": "*/5 * * * *"})
        assert (answer.status_code, answer.text) == (200, "Ran scheduled event\n")
        answer = server.get("/cdn-cgi/handler/scheduled", params={"cron": "0 * * * *", "time": "1000"})
        assert answer.status_code == 200, answer.text
        now_ms = int(lines(root)[0][2])
        assert abs(now_ms - time.time() * 1000) < 60_000, "scheduled_time defaults to now"
        assert [tuple(p[:3]) for p in lines(root)] == [
            ("start", "*/5 * * * *", str(now_ms)),
            ("done", "*/5 * * * *", str(now_ms)),
            ("start", "0 * * * *", "1000"),
            ("done", "0 * * * *", "1000"),
        ]
        assert server.get("/__scheduled", params={"time": "soon"}).status_code == 400
        assert server.get("/__scheduled", params={"worker": "nope"}).status_code == 404
        (root.parent / "out" / "raise").write_text("")
        failed = server.get("/__scheduled", params={"cron": "* * * * *"})
        assert failed.status_code == 500 and "error id: " in failed.text
    with ServerProcess(root) as plain:
        assert plain.get("/__scheduled").status_code == 404
    assert not (root / "data" / "schedules").exists(), "test calls record nothing"


def test_a_reload_rebuilds_the_schedules(tmp_path: Path) -> None:
    root = deployment(tmp_path, ["@yearly"])
    config = root / "config.yaml"
    with ServerProcess(root) as server:
        server.wait_for_log("schedule: worker cronw cron '@yearly'")
        config.write_text(config.read_text().replace("['@yearly']", "['* * * * * *']"))
        wait_for(lambda: ticks(root), 10, what="a tick of the cron the reload added")
        log = server.wait_for_log("schedule removed: worker cronw cron '@yearly'")
        assert "schedule: worker cronw cron '* * * * * *', next tick" in log
        config.write_text(config.read_text().replace("['* * * * * *']", "[]"))
        server.wait_for_log("schedule removed: worker cronw cron '* * * * * *'")
        removed_ms = time.time() * 1000
        # a tick already recorded (up to 250 ms ahead) still fires; none after that
        assert stays(lambda: all(t <= removed_ms + 250 for t in ticks(root, "start")), 2.5), ticks(root)
