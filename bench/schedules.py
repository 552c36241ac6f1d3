"""Schedules bench: how late a tick fires (fire time minus tick time), p50/p99, while 100 workflow
sleepers wake at the same moments as the ticks.

    python -m bench.schedules                 # 60 one-second ticks loaded, 20 idle; prints markdown
    python -m bench.schedules --ticks 10 --idle-ticks 5 --out FILE

A real `python -m host serve` runs a deployment written under bench/.work/ (removed after): a
worker with `triggers.crons: ["* * * * * *"]` whose scheduled handler notes time.time() against
controller.scheduled_time, and a workflow with `schedules: ["* * * * * *"]` (its instance's
created_on against the tick). Loaded: 100 instances each sleep until the next whole second, tick
after tick, so every wake lands on the tick. Idle: the same ticks with no sleepers (the baseline,
measured in the same run). Target: loaded worker-tick p99 <= 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
TARGET_P99_MS = 50.0
SLEEPERS = 100
API = "/client/v4/accounts/local/workflows"

WORKER = """
import json, math, time
from workers import WorkflowEntrypoint

async def scheduled(controller, env, ctx):
    late = time.time() * 1000 - controller.scheduled_time
    with open(env.OUT, "a") as out:
        out.write(json.dumps({"tick": controller.scheduled_time, "late_ms": late}) + "\\n")

class Sleeper(WorkflowEntrypoint):
    async def run(self, event, step):
        for n in range(event.payload["wakes"]):
            await step.sleep_until(f"wake {n}", math.floor(time.time()) + 1)
        return "done"

class Ticked(WorkflowEntrypoint):
    async def run(self, event, step):
        return None

async def fetch(request, env):
    return "ok"
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"n": len(ordered), "p50": q[49], "p99": q[98], "max": ordered[-1]}


def deployment(root: Path) -> Path:
    (root / "functions").mkdir(parents=True)
    (root / "functions" / "cronw.py").write_text(WORKER, encoding="utf-8")
    (root / "config.yaml").write_text(
        "workers:\n"
        "  - name: cronw\n"
        "    main: functions/cronw.py\n"
        "    routes: ['/cronw']\n"
        f"    vars: {{OUT: '{root / 'ticks.jsonl'}'}}\n"
        "    triggers: {crons: ['* * * * * *']}\n"
        "    workflows:\n"
        "      - {name: sleeper, binding: SLEEPER, class_name: Sleeper}\n"
        "      - {name: ticked, binding: TICKED, class_name: Ticked, schedules: ['* * * * * *']}\n",
        encoding="utf-8",
    )
    return root


class Host:
    """`python -m host serve` on a free port in `root`, output to root/server.log; ready once
    `probe` answers 200 (bench.reload uses it too, with reload on)."""

    def __init__(self, root: Path, extra: tuple[str, ...] = ("--no-reload",), probe: str = "/cronw") -> None:
        self.root = root
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("WAYPOST_")}
        self.log = open(root / "server.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "host", "serve", *extra, "--listen", f"127.0.0.1:{self.port}"],
            cwd=root,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the host exited: {(root / 'server.log').read_text()[-2000:]}")
            try:
                if self.client.get(probe).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the host did not answer within 30 s")
            time.sleep(0.05)

    def stop(self) -> None:
        self.client.close()
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()


def read_ticks(root: Path) -> list[dict[str, Any]]:
    path = root / "ticks.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def collect(root: Path, after_ms: float, count: int) -> list[float]:
    """Lateness (ms) of the next `count` worker ticks after `after_ms`."""
    deadline = time.monotonic() + count + 30
    while True:
        got = [t["late_ms"] for t in read_ticks(root) if t["tick"] > after_ms]
        if len(got) >= count:
            return got[:count]
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(got)} of {count} ticks fired")
        time.sleep(0.2)


def instance_lateness(root: Path, after: float, before: float) -> list[float]:
    """created_on minus tick (ms) of the scheduled instances of ticks in (after, before]."""
    folder = root / "data" / "workflows" / "ticked" / "instances"
    late: list[float] = []
    for entry in folder.iterdir() if folder.is_dir() else []:
        tick = int(entry.name.split("-")[1])
        if after < tick <= before:
            meta = json.loads((entry / "instance.json").read_text())
            late.append((meta["created_on_epoch"] - tick) * 1000)
    return late


def run(ticks: int, idle_ticks: int, work: Path) -> dict[str, Any]:
    root = deployment(work / f"schedules-{os.getpid()}")
    host = Host(root)
    try:
        start = time.time()
        idle = collect(root, start * 1000, idle_ticks) if idle_ticks else []
        idle_instances = instance_lateness(root, start, time.time())
        items = [{"instance_id": f"s{n:03d}", "params": {"wakes": ticks + 10}} for n in range(SLEEPERS)]
        made = host.client.post(f"{API}/sleeper/instances/batch", json=items)
        made.raise_for_status()
        # the sleepers are all asleep once each has recorded its first sleep
        time.sleep(2.5)
        loaded_from = time.time()
        loaded = collect(root, loaded_from * 1000, ticks)
        loaded_instances = instance_lateness(root, loaded_from, time.time() - 1)
        woke = sum(
            1
            for entry in (root / "data" / "workflows" / "sleeper" / "instances").iterdir()
            if (entry / "journal.jsonl").read_text().count('"sleep') >= ticks
        )
    finally:
        host.stop()
        shutil.rmtree(root, ignore_errors=True)
    return {
        "idle": percentiles(idle) if len(idle) > 1 else None,
        "idle_instances": percentiles(idle_instances) if len(idle_instances) > 1 else None,
        "loaded": percentiles(loaded),
        "loaded_instances": percentiles(loaded_instances) if len(loaded_instances) > 1 else None,
        "sleepers_kept_up": woke,
    }


def markdown(result: dict[str, Any], ticks: int, idle_ticks: int) -> str:
    def row(name: str, p: dict[str, float] | None, target: str = "-") -> str:
        if p is None:
            return f"| {name} | - | - | - | 0 | {target} |"
        return f"| {name} | {p['p50']:.1f} | {p['p99']:.1f} | {p['max']:.1f} | {p['n']} | {target} |"

    loaded = result["loaded"]
    verdict = "PASS" if loaded["p99"] <= TARGET_P99_MS else "MISS"
    lines = [
        f"## Schedules: tick lateness ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
        "",
        f"`python -m bench.schedules --ticks {ticks} --idle-ticks {idle_ticks}` on {platform.node()} "
        f"({os.cpu_count()} cores, Python {platform.python_version()}). Lateness = fire time minus tick "
        f"time, ms. Loaded: {SLEEPERS} workflow sleepers wake at every tick.",
        "",
        "| ticks | p50 ms | p99 ms | max ms | n | target |",
        "|---|---|---|---|---|---|",
        row("worker scheduled(), idle (baseline)", result["idle"]),
        row(
            f"worker scheduled(), {SLEEPERS} sleepers waking",
            loaded,
            f"p99 <= {TARGET_P99_MS:.0f} ms: {verdict}",
        ),
        row("workflow schedule, instance created, idle", result["idle_instances"]),
        row(f"workflow schedule, instance created, {SLEEPERS} sleepers", result["loaded_instances"]),
        "",
        f"Sleepers that woke at least {ticks} times: {result['sleepers_kept_up']} of {SLEEPERS}.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.schedules", description=__doc__.splitlines()[0])
    p.add_argument("--ticks", type=int, default=60, help="loaded ticks measured (default 60)")
    p.add_argument("--idle-ticks", type=int, default=20, help="idle ticks measured first (default 20)")
    p.add_argument("--work", type=Path, default=BENCH / ".work", help="scratch folder")
    p.add_argument("--out", type=Path, help="also write the markdown here")
    args = p.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    result = run(args.ticks, args.idle_ticks, args.work)
    text = markdown(result, args.ticks, args.idle_ticks)
    print(text)
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
