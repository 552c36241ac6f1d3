"""Dashboard bench: the instance list of a workflow with 100,000 instances, and the page of an
instance with 1,000 steps, as a browser asks for them from a real `python -m host serve`.

    python -m bench.dashboard                      # 100,000 instances, 1,000 steps; prints markdown
    python -m bench.dashboard --instances 10000 --steps 200 --out FILE

The data directory is written under bench/.work/ (removed after) in the layout of SPEC 4.1,
directly (a create through the engine costs ~1 ms, 100 s for 100,000): finished instances, each
with instance.json, a two-line journal and status.json, and one instance whose journal holds
--steps completed steps (and a retried one). The host is started and left until its one-time
start-up reads are over (its CPU time stops growing); then each page is fetched --repeat times.
The host builds the store's listing and counts in a thread after it starts (host/store/filelist.py:
one stat and one status read per instance, once per process; part of the settle time); then a
list request reads only the page's 25 status files. Targets:
first page of the list <= 200 ms (warm median), instance page <= 300 ms.
"""

from __future__ import annotations

import argparse
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

from host.workflows import jsonenc
from host.workflows.journal import encode

BENCH = Path(__file__).resolve().parent
LIST_TARGET_MS = 200.0
PAGE_TARGET_MS = 300.0
WORKER = """
from workers import WorkflowEntrypoint

class Flow(WorkflowEntrypoint):
    async def run(self, event, step):
        return "never run here"
"""
CONFIG = """
host:
  data_dir: data
  durability: relaxed
workers:
  - name: app
    main: functions/app.py
    workflows:
      - {name: flow, binding: FLOW, class_name: Flow}
"""


def write_instance(root: Path, instance_id: str, created: float, entries: list[dict[str, Any]]) -> None:
    folder = root / instance_id
    folder.mkdir()
    meta = {
        "id": instance_id,
        "workflow": "flow",
        "params": {"n": instance_id},
        "created_on": _iso(created),
        "created_on_epoch": created,
        "trigger_source": "api",
    }
    lines = [{"type": "status", "status": "queued", "t": created, "instance": meta}, *entries]
    end = float(lines[-1]["t"]) + 0.001
    lines.append({"type": "status", "status": "complete", "t": end, "output": "ok"})
    (folder / "instance.json").write_bytes(jsonenc.document(meta).encode())
    (folder / "journal.jsonl").write_bytes(b"".join(encode(e) for e in lines))
    status = {
        "id": instance_id,
        "workflow": "flow",
        "status": "complete",
        "output": "ok",
        "error": None,
        "step_count": sum(1 for e in entries if e["type"] == "step_done"),
        "created_on": meta["created_on"],
        "created_on_epoch": created,
        "start_time": _iso(created),
        "end_time": _iso(end),
        "modified_on": _iso(end),
        "wake_at": None,
        "waiting_for": None,
    }
    (folder / "status.json").write_bytes(jsonenc.document(status).encode())
    os.utime(folder / "instance.json", (created, created))


def steps(count: int, start: float) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    t = start
    for n in range(count):
        name = f"step {n}"
        out.append({"type": "step_start", "name": name, "count": 1, "attempt": 1, "t": t})
        if n == 1:  # one retried step: a failed attempt and a retry wait on the timeline
            error = {"name": "ValueError", "message": "first attempt fails"}
            out.append({"type": "step_fail", "name": name, "count": 1, "attempt": 1, "error": error,
                        "retry_at": t + 0.05, "t": t + 0.01})  # fmt: skip
            t += 0.05
            out.append({"type": "step_start", "name": name, "count": 1, "attempt": 2, "t": t})
        out.append({"type": "step_done", "name": name, "count": 1, "result": {"n": n}, "t": t + 0.002})
        t += 0.003
    return out


def build(work: Path, instances: int, step_count: int) -> Path:
    root = work / "deployment"
    (root / "functions").mkdir(parents=True)
    (root / "functions" / "app.py").write_text(WORKER)
    (root / "config.yaml").write_text(CONFIG)
    folder = root / "data" / "workflows" / "flow" / "instances"
    folder.mkdir(parents=True)
    (folder.parent / "pending").mkdir()
    (folder.parent / "pending" / ".complete").touch()  # nothing is due: the index is whole
    base = time.time() - instances - 3600
    for n in range(instances):
        write_instance(folder, f"inst-{n:06d}", base + n, [])
    write_instance(folder, "big", base - 10, steps(step_count, base - 10))
    return root


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_idle(proc: subprocess.Popen[bytes], url: str, limit: float = 300.0) -> float:
    """Wait for the port, then until the host's CPU time stops growing (start-up reads done)."""
    started = time.monotonic()
    while True:
        try:
            httpx.get(url + "/__waypost/static/dashboard.css", timeout=1)
            break
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() - started > limit:
                raise RuntimeError("the host did not start") from None
            time.sleep(0.1)
    last = cpu_seconds(proc.pid)
    while time.monotonic() - started < limit:
        time.sleep(1.0)
        now = cpu_seconds(proc.pid)
        if now - last < 0.02:
            break
        last = now
    return time.monotonic() - started


def timed(client: httpx.Client, path: str, must_have: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    took = (time.perf_counter() - started) * 1000
    if response.status_code != 200 or must_have not in response.text:
        raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:300]}")
    return took


def run(instances: int, step_count: int, repeat: int) -> dict[str, Any]:
    work = BENCH / ".work" / "dashboard"
    shutil.rmtree(work, ignore_errors=True)
    made = time.monotonic()
    root = build(work, instances, step_count)
    build_s = time.monotonic() - made
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAYPOST_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BENCH.parent), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "host", "serve", "--no-reload", "--listen", f"127.0.0.1:{port}"]
    log = open(work / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        settle_s = wait_idle(proc, url)
        with httpx.Client(base_url=url, timeout=60) as client:
            newest = f"inst-{instances - 1:06d}"
            cold = timed(client, "/__waypost/workflows/flow", newest)
            warm = [timed(client, "/__waypost/workflows/flow", newest) for _ in range(repeat)]
            middle = f"/__waypost/workflows/flow?page={max(1, instances // 50)}"
            later = [timed(client, middle, "inst-") for _ in range(repeat)]
            search = [
                timed(client, "/__waypost/workflows/flow?q=inst-00001", "inst-000019") for _ in range(3)
            ]
            page = [
                timed(client, "/__waypost/workflows/flow/instances/big", f"step {step_count - 1}")
                for _ in range(repeat)
            ]
            fragment = [
                timed(client, "/__waypost/workflows/flow/instances/big?fragment=1", "timeline")
                for _ in range(repeat)
            ]
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
        shutil.rmtree(work, ignore_errors=True)
    return {
        "instances": instances,
        "steps": step_count,
        "build_s": build_s,
        "settle_s": settle_s,
        "cold_ms": cold,
        "list_ms": warm,
        "page400_ms": later,
        "search_ms": search,
        "instance_ms": page,
        "fragment_ms": fragment,
    }


def markdown(r: dict[str, Any]) -> str:
    def row(what: str, values: list[float], target: float | None) -> str:
        med = statistics.median(values)
        verdict = "-" if target is None else ("MET" if med <= target else "MISS")
        goal = f"<= {target:.0f} ms" if target else "(none)"
        return f"| {what} | {min(values):.1f} | {med:.1f} | {max(values):.1f} | {goal} | {verdict} |"

    lines = [
        f"Dashboard bench, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{platform.node() or 'host'}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}: {r['instances']:,} finished instances "
        f"in one workflow (written in {r['build_s']:.1f} s; the host settled {r['settle_s']:.1f} s after "
        f"start), one instance with {r['steps']:,} steps. Times are GET round trips from this process.",
        "",
        "| page | min ms | median ms | max ms | target | |",
        "|---|---|---|---|---|---|",
        row("instance list, first page (after the first request)", r["list_ms"], LIST_TARGET_MS),
        f"| instance list, the first request of the process | {r['cold_ms']:.1f} | "
        f"{r['cold_ms']:.1f} | {r['cold_ms']:.1f} | (once) | - |",
        row(f"instance list, page {max(1, r['instances'] // 50):,} (the middle)", r["page400_ms"], None),
        row("instance list, id search (matches 10)", r["search_ms"], None),
        row(f"instance page, {r['steps']:,} steps with its timeline", r["instance_ms"], PAGE_TARGET_MS),
        row("instance page's live fragment (what the page polls)", r["fragment_ms"], None),
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__.split("\n")[0])
    parser.add_argument("--instances", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--out", type=Path, help="also write the markdown here")
    args = parser.parse_args()
    text = markdown(run(args.instances, args.steps, args.repeat))
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


def _iso(t: float) -> str:
    from host.workflows.status import iso

    return str(iso(t))


if __name__ == "__main__":
    sys.exit(main())
