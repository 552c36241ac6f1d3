"""Reload bench: how soon an edit to a worker file is live (SPEC 2: within a second), p50/p99.

    python -m bench.reload                 # 30 edits of each kind; prints markdown
    python -m bench.reload --quick         # 10 of each
    python -m bench.reload --edits 5 --out FILE

A real `python -m host serve` (hot reload on, as by default) runs a deployment written under
bench/.work/ (removed after): functions/live.py, served at /live, returns its own version and the
VERSION of functions/_relhelper.py, a helper beside it that it imports. Edits alternate: the
worker file, then the helper. Each edit rewrites the file with a new version; the clock starts
(time.monotonic()) just before the write, and a keep-alive client polls /live every 5 ms until
the new version is served: that is the edit's lateness. Every version of a file has a new size,
so a bytecode cache keyed on mtime and size can never pass for it, and the next edit waits until
the previous one is live and a quiet 0.25 s (longer than the reloader's 0.1 s debounce) has
passed. Baseline, same run: one GET of /live (the poll's own cost). Target: worker-file p99 <= 1000 ms.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench.schedules import Host, percentiles

BENCH = Path(__file__).resolve().parent
TARGET_P99_MS = 1000.0
POLL = 0.005  # seconds between polls
GIVE_UP = 10.0  # seconds an edit may take before it counts as never live
QUIET = 0.25  # seconds after an edit is live before the next


class Deployment:
    """functions/live.py (worker version `w`) importing functions/_relhelper.py (version `h`)."""

    def __init__(self, root: Path) -> None:
        self.functions = root / "functions"
        self.functions.mkdir(parents=True)
        self.w = self.h = 0
        self.edits = 0
        self.write_worker()
        self.write_helper()

    def pad(self) -> str:
        self.edits += 1  # a new size for every version (see the module docstring)
        return f"# edit {self.edits} " + "#" * self.edits + "\n"

    def write_worker(self) -> None:
        (self.functions / "live.py").write_text(
            "import _relhelper\n\n\nasync def fetch(request, env):\n"
            f"    return 'worker {self.w} helper ' + _relhelper.VERSION\n" + self.pad(),
            encoding="utf-8",
        )

    def write_helper(self) -> None:
        text = f"VERSION = '{self.h}'\n" + self.pad()
        (self.functions / "_relhelper.py").write_text(text, encoding="utf-8")

    def expected(self) -> str:
        return f"worker {self.w} helper {self.h}"


def body(host: Host) -> str | None:
    """What /live serves now, or None."""
    try:
        r = host.client.get("/live")
    except httpx.TransportError:
        return None
    return r.text if r.status_code == 200 else None


def wait_live(host: Host, want: str, started: float) -> float | None:
    """ms from `started` until /live serves `want`; None if not within GIVE_UP."""
    while True:
        if body(host) == want:
            return (time.monotonic() - started) * 1000
        if time.monotonic() - started > GIVE_UP:
            return None
        time.sleep(POLL)


def run(edits: int, work: Path) -> dict[str, Any]:
    root = work / f"reload-{os.getpid()}"
    dep = Deployment(root)
    host = Host(root, extra=(), probe="/live")  # reload on, as by default
    late: dict[str, list[float]] = {"worker": [], "helper": []}
    never = {"worker": 0, "helper": 0}
    try:
        gets = []
        for _ in range(50):
            t = time.perf_counter()
            body(host)
            gets.append((time.perf_counter() - t) * 1000)
        for _ in range(edits):
            for kind in ("worker", "helper"):
                time.sleep(QUIET)
                started = time.monotonic()
                if kind == "worker":
                    dep.w += 1
                    dep.write_worker()
                else:
                    dep.h += 1
                    dep.write_helper()
                ms = wait_live(host, dep.expected(), started)
                if ms is None:
                    never[kind] += 1  # the next edit waits for its own version
                else:
                    late[kind].append(ms)
    finally:
        host.stop()
        shutil.rmtree(root, ignore_errors=True)
    return {
        "get": percentiles(gets),
        "worker": percentiles(late["worker"]) if late["worker"] else None,
        "helper": percentiles(late["helper"]) if late["helper"] else None,
        "never": never,
        "edits": edits,
    }


def passed(result: dict[str, Any]) -> bool:
    worker = result["worker"]
    return worker is not None and worker["p99"] <= TARGET_P99_MS and result["never"]["worker"] == 0


def markdown(result: dict[str, Any], argv: str) -> str:
    def row(name: str, p: dict[str, float] | None, target: str = "-") -> str:
        if p is None:
            return f"| {name} | - | - | - | 0 | {target} |"
        return f"| {name} | {p['p50']:.1f} | {p['p99']:.1f} | {p['max']:.1f} | {p['n']} | {target} |"

    worker = result["worker"]
    never = result["never"]
    verdict = "PASS" if passed(result) else "MISS"
    lines = [
        f"## Reload: edit -> live ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
        "",
        f"`python -m bench.reload{argv}` on {platform.node()} ({os.cpu_count()} cores, Python "
        f"{platform.python_version()}). Lateness = the new version first served minus the write, ms; "
        f"polled every {POLL * 1000:.0f} ms.",
        "",
        "| edit | p50 ms | p99 ms | max ms | n | target |",
        "|---|---|---|---|---|---|",
        row("one GET of the route, no edit (baseline)", result["get"]),
        row("worker file (functions/live.py)", worker, f"p99 <= {TARGET_P99_MS:.0f} ms: {verdict}"),
        row("helper module it imports (functions/_relhelper.py)", result["helper"]),
        "",
        f"Edits never live within {GIVE_UP:.0f} s: worker {never['worker']}, helper {never['helper']} "
        f"(of {result['edits']} each).",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m bench.reload", description=__doc__.splitlines()[0])
    p.add_argument("--edits", type=int, help="edits of each kind (default 30, 10 with --quick)")
    p.add_argument("--quick", action="store_true", help="10 edits of each kind")
    p.add_argument("--work", type=Path, default=BENCH / ".work", help="scratch folder")
    p.add_argument("--out", type=Path, help="also write the markdown here")
    args = p.parse_args()
    edits = max(2, args.edits or (10 if args.quick else 30))  # percentiles need two samples
    args.work.mkdir(parents=True, exist_ok=True)
    result = run(edits, args.work)
    text = markdown(result, f" --edits {edits}")
    print(text)
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")
    return 0 if passed(result) else 1


if __name__ == "__main__":
    sys.exit(main())
