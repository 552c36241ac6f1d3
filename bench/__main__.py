"""Waypost benchmark suite: `python -m bench [--quick | --smoke] [--only 1,3] [--out FILE]`.

Every figure is printed beside its baseline, measured in the same run, and its target, marked
PASS or MISS, with the command that reproduces it; figures 1-3 as min / median / max over several
runs. `--against REV` runs the figures for a git revision (in a worktree, with that revision's
own bench code) and for the working tree in alternation, and prints new/old ratios.
See bench/README.md for what bounds each figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import importlib.util
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PY = sys.executable


@dataclass(frozen=True)
class Side:
    """Whose code a measurement runs: the working tree, or a worktree of another revision.

    Every process of a side (bench.child, `python -m host serve`, the bare baseline) runs with
    cwd and PYTHONPATH at the side's root, so `import host` and `import bench` find its code."""

    label: str
    root: Path

    def env(self) -> dict[str, str]:
        path = os.pathsep.join(filter(None, [str(self.root), os.environ.get("PYTHONPATH")]))
        return dict(os.environ, PYTHONPATH=path)


WORKING_TREE = Side("working tree", ROOT)

SCALES: dict[str, dict[str, Any]] = {
    # instances x steps (fig 1), steps (fig 2), samples (fig 3), wrk seconds (fig 4),
    # sleepers / wakers (fig 5), unfinished instances (fig 6), DBOS throughput instances,
    # runs of figures 1-3 (Waypost and its fsync baselines) and of their peers (DBOS, Restate)
    "full": dict(
        tp=(200, 20),
        seq=500,
        lat=200,
        wrk=10,
        sleepers=(100_000, 10_000),
        recover=10_000,
        dbos_tp=(200, 20),
        margin=40.0,
        runs=5,
        peer_runs=3,
    ),
    "quick": dict(
        tp=(200, 20),
        seq=500,
        lat=50,
        wrk=3,
        sleepers=(2_000, 500),
        recover=1_000,
        dbos_tp=(30, 20),
        margin=5.0,
        runs=3,
        peer_runs=2,
    ),
    "smoke": dict(
        tp=(20, 5),
        seq=50,
        lat=10,
        wrk=1,
        sleepers=(300, 50),
        recover=100,
        dbos_tp=(10, 5),
        margin=4.0,
        runs=2,
        peer_runs=1,
    ),
}
PEERS = ("dbos", "restate")
DEFAULT_PEERS = {"full": "dbos,restate", "quick": "dbos,restate", "smoke": "dbos"}


@dataclass
class Row:
    fig: str
    name: str
    value: str
    baseline: str
    target: str
    result: str  # PASS, MISS, SKIP, ERROR or "-" (no target)
    cmd: str
    data: dict[str, Any] = field(default_factory=dict)


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("PASS" if ok else "MISS")


def metric(unit: str, values: list[float], better: str) -> dict[str, Any]:
    """One number a row reports, with every run's value: what --against compares across sides."""
    return {"unit": unit, "values": list(values), "better": better}


def med(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float], fmt: Callable[[float], str], unit: str = "") -> str:
    """`value unit` for one run; else `median unit (median of n runs; min a, max b)`."""
    unit = f" {unit}" if unit else ""
    if len(values) == 1:
        return f"{fmt(values[0])}{unit}"
    return (
        f"{fmt(med(values))}{unit} (median of {len(values)} runs; "
        f"min {fmt(min(values))}, max {fmt(max(values))})"
    )


def rate(x: float) -> str:
    return f"{x:,.0f}"


def secs(x: float) -> str:
    return f"{x:.3f} s"


class Bench:
    def __init__(
        self,
        mode: str,
        work: Path,
        side: Side = WORKING_TREE,
        peers: dict[str, str | None] | None = None,
        runs: int | None = None,
        prefix: str = "",
        peer_rows: bool = True,
    ) -> None:
        self.mode = mode
        self.s = SCALES[mode]
        self.work = work
        self.side = side
        # peer name -> None (runs) or the reason it is skipped; a peer not named here is not run
        self.peers = peers if peers is not None else {}
        self.runs = runs or self.s["runs"]
        self.peer_runs = min(self.runs, self.s["peer_runs"])
        self.prefix = prefix
        self.peer_rows = peer_rows  # False: no fig 7 rows at all (--against compares Waypost only)
        self.rows: list[Row] = []
        self.flag = {"full": "", "quick": " --quick", "smoke": " --smoke"}[mode]
        self.label = "" if mode == "full" else f" [{mode}: scaled down]"
        self.restate_latency: list[dict[str, Any]] = []  # fig 3's Restate runs, for the HTTP row
        self.restate_skip: str | None = "not run (it runs with fig 3's binding row)"

    def cmd(self, fig: str) -> str:
        return f"python -m bench{self.flag} --only {fig}"

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(
            f"{self.prefix}  [{row.result:>4}] fig {row.fig} {row.name}: {row.value} | "
            f"baseline: {row.baseline} | "
            f"target: {row.target}   ({row.cmd})",
            flush=True,
        )

    def child(self, name: str, timeout: float = 900, **args: Any) -> dict[str, Any]:
        """Run the side's bench.child NAME in a fresh process and return its RESULT."""
        proc = subprocess.run(
            [PY, "-m", "bench.child", name, json.dumps(args)],
            cwd=self.side.root,
            env=self.side.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        for line in reversed(proc.stdout.splitlines()):
            if line.startswith("RESULT "):
                return json.loads(line[7:])  # type: ignore[no-any-return]
        raise RuntimeError(f"bench.child {name} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")

    # -- peers: DBOS Transact and Restate, run between Waypost's runs -------------------------------

    def peer_ready(self, peer: str) -> bool:
        return peer in self.peers and self.peers[peer] is None

    def peer_runs_for(self, figure: str, **args: Any) -> Callable[[int], None]:
        """A callback for run i of a figure: each ready peer's run i (while i < peer_runs); a peer
        that fails is recorded as the reason of its rows and not run again in this figure."""
        self.peer_results: dict[str, list[dict[str, Any]]] = {p: [] for p in PEERS}
        self.peer_errors: dict[str, str] = {}
        common = {key: value for key, value in args.items() if key not in PEERS}
        per_peer = {peer: args.get(peer, common) for peer in PEERS}

        def run(i: int) -> None:
            if i >= self.peer_runs:
                return
            for peer in PEERS:
                if not self.peer_ready(peer) or peer in self.peer_errors:
                    continue
                try:
                    res = self.child(f"{peer}_{figure}", work=str(self.work), **per_peer[peer])
                    self.peer_results[peer].append(res)
                except Exception as exc:
                    last = (str(exc).strip().splitlines() or [type(exc).__name__])[-1][:300]
                    self.peer_errors[peer] = f"{type(exc).__name__}: {last}"
                    print(f"{self.prefix}  note: {peer} {figure} run failed: {exc}", flush=True)

        return run

    def peer_skip(self, peer: str) -> str | None:
        """Why this peer has no numbers in the current figure, or None."""
        if peer not in self.peers:
            return "not selected (--peers)"
        if self.peers[peer] is not None:
            return self.peers[peer]
        if peer in self.peer_errors:
            return f"ERROR: {self.peer_errors[peer]}"
        if not self.peer_results[peer]:
            return "no run"
        return None

    def peer_ratio_row(
        self, peer: str, fig: str, title: str, key: str, wp: list[float], unit: str, target: str, lower: bool
    ) -> None:
        """fig 7: Waypost / peer of the medians (steps/s, or seconds when `lower` is better)."""
        if not self.peer_rows:
            return
        name = {"dbos": "DBOS", "restate": "Restate"}[peer]
        why = self.peer_skip(peer)
        if why is not None:
            self.add(
                Row(
                    "7",
                    f"{name} {title} (peer)",
                    f"skipped: {why}",
                    "-",
                    target,
                    "ERROR" if why.startswith("ERROR") else "SKIP",
                    self.cmd(fig),
                )
            )
            return
        pv = [r[key] for r in self.peer_results[peer]]
        ratio = med(wp) / med(pv)
        fmt = rate if unit == "steps/s" else secs
        self.add(
            Row(
                "7",
                f"Waypost/{name} {title}" + (" (time ratio, lower is better)" if lower else ""),
                f"{ratio:.{2 if lower else 1}f}x ({fmt(med(wp))} vs {fmt(med(pv))}"
                f"{' ' + unit if unit == 'steps/s' else ''}, medians of {len(wp)} and {len(pv)} runs)",
                f"{name} {spread(pv, fmt, unit if unit == 'steps/s' else '')}",
                target,
                verdict(ratio >= 3) if target == ">= 3x" else "-",
                self.cmd(fig),
                {
                    "peer": self.peer_results[peer],
                    "ratio": ratio,
                    "metrics": {f"{name} {unit}": metric(unit, pv, "lower" if lower else "higher")},
                },
            )
        )

    # -- figures 1, 2, 7: throughput and sequential, Waypost vs the fsync ceiling vs DBOS, Restate ------

    def fig1(self) -> None:
        n, k = self.s["tp"]
        dn, dk = self.s["dbos_tp"]
        peers = self.peer_runs_for(
            "throughput", dbos=dict(instances=dn, steps=dk), restate=dict(instances=n, steps=k)
        )
        raw: dict[str, list[dict[str, Any]]] = {"fsync": [], "relaxed": [], "ceiling": [], "nosync": []}
        for i in range(self.runs):  # Waypost and the peers in alternation: the same minutes of the machine
            raw["ceiling"].append(self.child("fsync_ceiling", work=str(self.work), threads=n, appends=k))
            raw["nosync"].append(
                self.child("fsync_ceiling", work=str(self.work), threads=n, appends=k, sync=False)
            )
            for d in ("fsync", "relaxed"):
                raw[d].append(
                    self.child("throughput", work=str(self.work), instances=n, steps=k, durability=d)
                )
            peers(i)
        v = {key: [r["rate"] for r in runs] for key, runs in raw.items()}
        fs = med(v["fsync"])
        dbos_ratio = (
            fs / med([r["rate"] for r in self.peer_results["dbos"]])
            if self.peer_skip("dbos") is None
            else None
        )
        ok = fs >= 10_000 and (dbos_ratio is None or dbos_ratio >= 3)
        spread_ratio = max(v["fsync"]) / min(v["fsync"])
        self.add(
            Row(
                "1",
                f"durable throughput, fsync, {n} x {k} no-op steps{self.label}",
                spread(v["fsync"], rate, "steps/s")
                + (f"; max/min {spread_ratio:.2f}" if len(v["fsync"]) > 1 else ""),
                f"fsync ceiling {spread(v['ceiling'], rate, 'appends/s')} ({n} threads x {k} append+fsync); "
                f"Waypost = {fs / med(v['ceiling']):.0%} of it (medians)",
                ">= 10,000 steps/s and >= 3x DBOS",
                verdict(ok),
                self.cmd("1"),
                {
                    "waypost": raw,
                    "metrics": {
                        "durable throughput, fsync": metric("steps/s", v["fsync"], "higher"),
                        f"baseline: fsync ceiling, {n} threads x {k}": metric(
                            "appends/s", v["ceiling"], "higher"
                        ),
                    },
                },
            )
        )
        self.add(
            Row(
                "1",
                f"durable throughput, relaxed, {n} x {k} no-op steps{self.label}",
                spread(v["relaxed"], rate, "steps/s"),
                f"append without fsync {spread(v['nosync'], rate, 'appends/s')}",
                "(none; no fsync)",
                "-",
                self.cmd("1"),
                {"metrics": {"durable throughput, relaxed": metric("steps/s", v["relaxed"], "higher")}},
            )
        )
        self.peer_ratio_row(
            "dbos",
            "1",
            f"throughput (DBOS: {dn} x {dk} steps, SQLite)",
            "rate",
            v["fsync"],
            "steps/s",
            ">= 3x",
            False,
        )
        if "restate" in self.peers:
            self.peer_ratio_row(
                "restate",
                "1",
                f"throughput (Restate: {n} x {k} ctx.run steps, restate-server + service over HTTP)",
                "rate",
                v["fsync"],
                "steps/s",
                "(none)",
                False,
            )

    def fig2(self) -> None:
        k = self.s["seq"]
        limit = 0.15 * k / 500
        peers = self.peer_runs_for("throughput", instances=1, steps=k)
        raw: dict[str, list[dict[str, Any]]] = {"fsync": [], "relaxed": [], "ceiling": []}
        for i in range(self.runs):
            raw["ceiling"].append(self.child("fsync_ceiling", work=str(self.work), threads=1, appends=k))
            for d in ("fsync", "relaxed"):
                raw[d].append(
                    self.child("throughput", work=str(self.work), instances=1, steps=k, durability=d)
                )
            peers(i)
        v = {key: [r["seconds"] for r in runs] for key, runs in raw.items()}
        fs = med(v["fsync"])
        self.add(
            Row(
                "2",
                f"sequential, one instance of {k} no-op steps, fsync{self.label}",
                spread(v["fsync"], secs),
                f"1 thread append+fsync x{k}: {spread(v['ceiling'], secs)}; Waypost = "
                f"{med(v['ceiling']) / fs:.0%} of that rate (medians)",
                f"<= {limit:.3f} s",
                verdict(fs <= limit),
                self.cmd("2"),
                {
                    "waypost": raw,
                    "metrics": {
                        f"sequential {k} steps, fsync": metric("s", v["fsync"], "lower"),
                        f"baseline: 1 thread append+fsync x{k}": metric("s", v["ceiling"], "lower"),
                    },
                },
            )
        )
        self.add(
            Row(
                "2",
                f"sequential, {k} steps, relaxed{self.label}",
                spread(v["relaxed"], secs),
                "-",
                "(none)",
                "-",
                self.cmd("2"),
                {"metrics": {f"sequential {k} steps, relaxed": metric("s", v["relaxed"], "lower")}},
            )
        )
        self.peer_ratio_row("dbos", "2", f"sequential {k} steps", "seconds", v["fsync"], "s", "(none)", True)
        if "restate" in self.peers:
            self.peer_ratio_row(
                "restate", "2", f"sequential {k} steps", "seconds", v["fsync"], "s", "(none)", True
            )

    # -- figure 3 and 4: latency and HTTP -----------------------------------------------------------

    def fig3_binding(self) -> None:
        n = self.s["lat"]
        peers = self.peer_runs_for("latency", count=n)
        res = []
        for i in range(self.runs):
            res.append(self.child("latency", work=str(self.work), count=n, durability="fsync"))
            peers(i)
        p50, p99 = [r["p50"] for r in res], [r["p99"] for r in res]
        why = self.peer_skip("dbos")
        if why is None:
            d50 = [r["p50"] for r in self.peer_results["dbos"]]
            d99 = [r["p99"] for r in self.peer_results["dbos"]]
            base = (
                f"DBOS p50 {ms(med(d50))} / p99 {ms(med(d99))}; Waypost/DBOS p50 {med(p50) / med(d50):.2f}x"
            )
            if len(d50) > 1:
                base += f" (medians of {len(d50)} runs)"
        else:
            base = f"DBOS skipped: {why}" if self.peer_rows else "-"
        self.restate_latency = self.peer_results["restate"]
        self.restate_skip = self.peer_skip("restate")
        self.add(
            Row(
                "3",
                f"create -> complete, 1 step, via the binding in-process, fsync, n={n}{self.label}",
                latency_value(p50, p99),
                base,
                "(none; HTTP row has the target)",
                "-",
                self.cmd("3"),
                {
                    "waypost": res,
                    "dbos": self.peer_results["dbos"],
                    "metrics": {
                        "create -> complete, binding, p50": metric("ms", [x * 1000 for x in p50], "lower"),
                        "create -> complete, binding, p99": metric("ms", [x * 1000 for x in p99], "lower"),
                    },
                },
            )
        )

    def fig3_http_and_4(self, only: set[str]) -> None:
        host = HostProc(self.work / "http", durability="fsync", root=self.side.root)
        try:
            host.start()
            if "3" in only:
                self.fig3_http(host)
            if "4" in only:
                self.fig4(host)
        finally:
            host.stop()

    def fig3_http(self, host: HostProc) -> None:
        n = self.s["lat"]
        conn = http.client.HTTPConnection("127.0.0.1", host.port, timeout=30)
        runs = []
        for r in range(self.runs):  # one after another on the same host and connection
            samples = []
            for i in range(n + (5 if r == 0 else 0)):
                t0 = time.perf_counter()
                conn.request("GET", "/bench/latency")
                resp = conn.getresponse()
                body = resp.read()
                if resp.status != 200 or body.strip() != b"complete":
                    raise RuntimeError(f"/bench/latency answered {resp.status} {body[:200]!r}")
                if r > 0 or i >= 5:
                    samples.append(time.perf_counter() - t0)
            runs.append(percentiles(samples))
        conn.close()
        p50, p99 = [p["p50"] for p in runs], [p["p99"] for p in runs]
        if "restate" not in self.peers:
            base = "fsync of one append: see fig 2 baseline"
        elif self.restate_skip is None:
            r50 = [r["p50"] for r in self.restate_latency]
            r99 = [r["p99"] for r in self.restate_latency]
            base = (
                f"Restate (client -> ingress -> service, HTTP) p50 {ms(med(r50))} / p99 {ms(med(r99))}; "
                f"Waypost/Restate p50 {med(p50) / med(r50):.2f}x"
                + (f" (medians of {len(r50)} runs)" if len(r50) > 1 else "")
            )
        else:
            base = f"Restate skipped: {self.restate_skip}"
        self.add(
            Row(
                "3",
                f"create -> complete, 1 step, via HTTP from a client, fsync, n={n}{self.label}",
                latency_value(p50, p99),
                base,
                "p50 <= 3 ms",
                verdict(med(p50) <= 0.003),
                self.cmd("3"),
                {
                    "runs": runs,
                    "restate": self.restate_latency,
                    "metrics": {
                        "create -> complete, HTTP, p50": metric("ms", [x * 1000 for x in p50], "lower"),
                        "create -> complete, HTTP, p99": metric("ms", [x * 1000 for x in p99], "lower"),
                    },
                },
            )
        )

    def fig4(self, host: HostProc) -> None:
        secs = self.s["wrk"]
        if shutil.which("wrk") is None:
            self.add(
                Row(
                    "4",
                    "HTTP hello-world under wrk",
                    "skipped: wrk not found (apt-get install -y wrk)",
                    "-",
                    ">= 8,000 req/s",
                    "SKIP",
                    self.cmd("4"),
                )
            )
            return
        res = run_wrk(f"http://127.0.0.1:{host.port}/hello", secs)
        bare = BareProc(self.work, root=self.side.root)
        try:
            bare.start()
            base = run_wrk(f"http://127.0.0.1:{bare.port}/hello", secs)
        finally:
            bare.stop()
        self.add(
            Row(
                "4",
                f"HTTP hello-world, wrk -t2 -c50 -d{secs}s{self.label}",
                f"{res['rps']:,.0f} req/s, p99 {res['p99_ms']:.1f} ms",
                f"bare uvicorn+Starlette hello: {base['rps']:,.0f} req/s, p99 {base['p99_ms']:.1f} ms; "
                f"Waypost = {res['rps'] / base['rps']:.0%}",
                ">= 8,000 req/s",
                verdict(res["rps"] >= 8000),
                self.cmd("4"),
                {
                    "waypost": res,
                    "bare": base,
                    "metrics": {
                        "hello-world req/s": metric("req/s", [res["rps"]], "higher"),
                        "hello-world p99": metric("ms", [res["p99_ms"]], "lower"),
                        "baseline: bare uvicorn hello req/s": metric("req/s", [base["rps"]], "higher"),
                    },
                },
            )
        )

    # -- figure 5: hibernation at scale -------------------------------------------------------------

    def fig5(self) -> None:
        total, wakers = self.s["sleepers"]
        label = f"{total:,} sleepers"
        data = self.work / "sleepers" / "data"
        made = self.child(
            "create_sleepers",
            timeout=1800,
            data=str(data),
            total=total,
            wakers=wakers,
            wake_at=-self.s["margin"],
            durability="fsync",
        )
        self.add(
            Row(
                "5",
                f"creation rate, {label}, fsync{self.label}",
                f"{made['create_rate']:,.0f} instances/s",
                f"all at their sleep after {made['asleep_seconds']:.1f} s",
                "(none)",
                "-",
                self.cmd("5"),
                {
                    **made,
                    "metrics": {
                        "sleepers: creation rate": metric("instances/s", [made["create_rate"]], "higher")
                    },
                },
            )
        )
        disk = disk_usage(data)
        per = disk["allocated"] / total
        self.add(
            Row(
                "5",
                f"bytes on disk per sleeping instance{self.label}",
                f"{per / 1024:.1f} KiB allocated",
                f"{disk['apparent'] / total:,.0f} B of file content; {disk['inodes'] / total:.1f} inodes "
                f"per instance; fs block {disk['block']} B",
                "<= 16 KiB",
                verdict(per <= 16 * 1024),
                self.cmd("5"),
                {**disk, "metrics": {"sleepers: disk per instance": metric("KiB", [per / 1024], "lower")}},
            )
        )
        host = HostProc(self.work / "sleepers", durability="fsync", data=data, root=self.side.root)
        try:
            startup = host.start()
            self.add(
                Row(
                    "5",
                    f"host start -> serving with {label} registered{self.label}",
                    f"{startup:.2f} s",
                    f"python -m host serve with no instances: {self.empty_startup():.2f} s",
                    "<= 2 s",
                    verdict(startup <= 2.0),
                    self.cmd("5"),
                    {"metrics": {"sleepers: host start-up": metric("s", [startup], "lower")}},
                )
            )
            time.sleep(1.0)
            rss_idle = host.rss_mib()
            rss_peak = rss_idle
            wake = made["wake_at"]
            late_start = time.time() > wake
            pending = data / "workflows" / "sleeper" / "pending"
            root = data / "workflows" / "sleeper" / "instances"
            deadline = wake + 1 + 300
            while time.time() < deadline:
                rss_peak = max(rss_peak, host.rss_mib())
                if (
                    time.time() > wake + 1
                    and pending_entries(pending) <= total - wakers
                    and all_final(root, wakers)
                ):
                    break
                time.sleep(0.25)
            rss_after = host.rss_mib()
        finally:
            host.stop()
        self.add(
            Row(
                "5",
                f"host RSS with {label} asleep{self.label}",
                f"{rss_idle:.0f} MiB",
                f"same host with no instances: {self.empty_rss:.0f} MiB; peak while {wakers:,} woke "
                f"{rss_peak:.0f} MiB",
                "<= 150 MB",
                verdict(rss_idle <= 150 * 1e6 / 2**20),
                self.cmd("5"),
                {
                    "idle": rss_idle,
                    "peak": rss_peak,
                    "after": rss_after,
                    "metrics": {"sleepers: host RSS asleep": metric("MiB", [rss_idle], "lower")},
                },
            )
        )
        late = []
        root = data / "workflows" / "sleeper" / "instances"
        missing = 0
        for n in range(wakers):
            try:
                doc = json.loads((root / f"w{n}" / "status.json").read_text())
            except (OSError, ValueError):
                missing += 1
                continue
            if doc.get("status") != "complete":
                missing += 1
                continue
            late.append(doc["output"] - (wake + n / wakers))
        if late:
            p = percentiles(late)
            value = f"p50 {ms(p['p50'])} / p99 {ms(p['p99'])}" + (
                f" ({missing} never woke)" if missing else ""
            )
            ok = p["p99"] <= 0.1 and not missing
        else:
            p, value, ok = {}, "none woke", False
        note = " (host started after the wake time: includes start-up)" if late_start else ""
        self.add(
            Row(
                "5",
                f"wake lateness, {wakers:,} due within one second{self.label}",
                value,
                f"due times spread evenly over 1 s{note}",
                "p99 <= 100 ms",
                verdict(ok),
                self.cmd("5"),
                {
                    **p,
                    "metrics": {"sleepers: wake lateness p99": metric("ms", [p["p99"] * 1000], "lower")}
                    if p
                    else {},
                },
            )
        )
        # kept until the whole work folder goes at the end: deleting 500,000 files here made file
        # creation in the next figure several times slower on the disk we measured (ext4)

    empty_rss = 0.0

    def empty_startup(self) -> float:
        host = HostProc(self.work / "empty", durability="fsync", root=self.side.root)
        try:
            secs = host.start()
            time.sleep(1.0)
            self.empty_rss = host.rss_mib()
        finally:
            host.stop()
        shutil.rmtree(self.work / "empty", ignore_errors=True)
        return secs

    # -- figure 6: recovery after kill -9 -------------------------------------------------------------

    def fig6(self) -> None:
        count = self.s["recover"]
        base = self.work / "recover"
        data = base / "data"
        shutil.rmtree(base, ignore_errors=True)
        proc = subprocess.Popen(
            [
                PY,
                "-m",
                "bench.child",
                "make_blocked",
                json.dumps({"data": str(data), "count": count, "durability": "fsync"}),
            ],
            cwd=self.side.root,
            env=self.side.env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        t0 = time.time()
        for line in proc.stdout:
            if line.startswith("READY"):
                blocked = int(line.split()[1])
                break
        else:
            proc.wait()
            raise RuntimeError(
                f"make_blocked exited {proc.returncode} before all {count} instances were running "
                f"(see its stderr above)"
            )
        setup = time.time() - t0
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        (data / "release").touch()
        host = HostProc(base, durability="fsync", data=data, root=self.side.root)
        pending = data / "workflows" / "blocker" / "pending"
        try:
            t_start = time.time()
            serving = host.start()
            while pending_entries(pending) > 0 and time.time() < t_start + 600:
                time.sleep(0.05)
        finally:
            host.stop()
        root = data / "workflows" / "blocker" / "instances"
        done = []
        for n in range(count):
            try:
                doc = json.loads((root / f"b{n}" / "status.json").read_text())
                if doc.get("status") == "complete":
                    done.append(doc["output"])
            except (OSError, ValueError):
                pass
        if done:
            secs = max(done) - t_start
            value = f"{secs:.2f} s" + (f" ({count - len(done)} not recovered)" if len(done) < count else "")
            ok = secs <= 5 and len(done) == count
        else:
            secs, value, ok = 0.0, "none recovered", False
        self.add(
            Row(
                "6",
                f"recovery: kill -9 with {count:,} unfinished instances -> all ran their next step"
                f"{self.label}",
                value,
                f"of which host start-up {serving:.2f} s; at the kill {blocked:,} were inside a step "
                f"and {count - blocked:,} queued ({setup:.1f} s after the first create)",
                "<= 5 s",
                verdict(ok),
                self.cmd("6"),
                {
                    "seconds": secs,
                    "serving": serving,
                    "metrics": {"recovery after kill -9": metric("s", [secs], "lower")} if done else {},
                },
            )
        )
        shutil.rmtree(base, ignore_errors=True)


# -- helpers -------------------------------------------------------------------------------------------


def pending_entries(pending: Path) -> int:
    """Entries of a pending/ index folder: `<due-ms>.<instance-id>` names (not the engine's own
    dot-files, such as a marker that the index is complete)."""
    return sum(1 for name in os.listdir(pending) if name[:1].isdigit())


def all_final(root: Path, wakers: int) -> bool:
    """Every waker's status.json says complete (pending/ alone is not enough: an entry may be
    removed while its instance runs)."""
    for n in range(wakers):
        try:
            if json.loads((root / f"w{n}" / "status.json").read_text()).get("status") != "complete":
                return False
        except (OSError, ValueError):
            return False
    return True


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def latency_value(p50: list[float], p99: list[float]) -> str:
    value = f"p50 {ms(med(p50))} / p99 {ms(med(p99))}"
    if len(p50) > 1:
        value += (
            f" (medians of {len(p50)} runs; p50 min {ms(min(p50))}, max {ms(max(p50))}; "
            f"p99 min {ms(min(p99))}, max {ms(max(p99))})"
        )
    return value


def percentiles(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    if len(samples) == 1:
        return {"n": 1, "p50": samples[0], "p99": samples[0], "max": samples[0]}
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return {"n": len(samples), "p50": q[49], "p99": q[98], "max": samples[-1]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(port: int, path: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before serving")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            pass
        time.sleep(0.005)
    raise RuntimeError(f"server not serving {path} after {timeout} s")


class HostProc:
    """`python -m host serve` on a deployment folder made for the benchmark, with `root`'s code
    (its host package and its bench/workers/wf.py)."""

    def __init__(self, base: Path, durability: str, data: Path | None = None, root: Path = ROOT) -> None:
        self.root = root
        self.base = base
        self.data = data or base / "data"
        self.durability = durability
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        dep = self.base / "deploy"
        (dep / "functions").mkdir(parents=True, exist_ok=True)
        (dep / "functions" / "hello.py").write_text(
            "from workers import Response\n\n\nasync def fetch(request, env):\n"
            "    return Response(f\"Hello, {request.query_params.get('name', 'world')}!\\n\")\n"
        )
        (dep / "config.yaml").write_text(
            json.dumps(
                {  # JSON is YAML
                    "host": {"data_dir": str(self.data), "durability": self.durability, "hibernate_after": 1},
                    "workers": [
                        {
                            "name": "bench",
                            "main": str(self.root / "bench" / "workers" / "wf.py"),
                            "routes": ["/bench", "/bench/*"],
                            "workflows": [
                                {"name": "steps", "binding": "STEPS", "class_name": "Steps"},
                                {"name": "sleeper", "binding": "SLEEPER", "class_name": "Sleeper"},
                                {"name": "blocker", "binding": "BLOCKER", "class_name": "Blocker"},
                            ],
                        }
                    ],
                }
            )
        )
        self.log = open(self.base / "host.log", "wb")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [
                PY,
                "-m",
                "host",
                "serve",
                "--config",
                str(dep / "config.yaml"),
                "--listen",
                f"127.0.0.1:{self.port}",
                "--no-reload",
                "--log-level",
                "warning",
            ],
            cwd=dep,
            env=Side("", self.root).env(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_http(self.port, "/hello", self.proc)
        except RuntimeError as exc:
            self.stop()
            raise RuntimeError(f"{exc}; log: {(self.base / 'host.log').read_text()[-3000:]}") from None
        return time.perf_counter() - t0

    def rss_mib(self) -> float:
        assert self.proc is not None
        with open(f"/proc/{self.proc.pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class BareProc(HostProc):
    """The baseline server of figure 4: uvicorn + Starlette, same settings, no host."""

    def __init__(self, work: Path, root: Path = ROOT) -> None:
        super().__init__(work, "relaxed", root=root)

    def start(self) -> float:
        self.base.mkdir(parents=True, exist_ok=True)
        self.log = open(self.base / "bare.log", "wb")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [
                PY,
                "-m",
                "uvicorn",
                "bench.bare:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cwd=self.root,
            env=Side("", self.root).env(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_http(self.port, "/hello", self.proc)
        return time.perf_counter() - t0


def run_wrk(url: str, seconds: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", "-c50", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)] if m else float("nan")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"wrk saw {errors.group(1)} error responses:\n{out}")
    return {"rps": rps, "p99_ms": p99}


def disk_usage(path: Path) -> dict[str, int]:
    allocated = apparent = inodes = 0
    seen: set[tuple[int, int]] = set()  # pending entries are hard links: count each inode once
    for dirpath, dirnames, filenames in os.walk(path):
        for name in [*dirnames, *filenames]:
            st = os.lstat(os.path.join(dirpath, name))
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            allocated += st.st_blocks * 512
            apparent += st.st_size if not os.path.isdir(os.path.join(dirpath, name)) else 0
            inodes += 1
    return {"allocated": allocated, "apparent": apparent, "inodes": inodes, "block": os.statvfs(path).f_bsize}


def machine_facts(work: Path) -> dict[str, str]:
    import importlib.metadata as md

    def version(pkg: str) -> str:
        try:
            return md.version(pkg)
        except md.PackageNotFoundError:
            return "not installed"

    cpu = "?"
    try:
        cpu = next(
            line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    dev = fs = opts = "?"
    best = ""
    for line in open("/proc/mounts"):
        d, mnt, f, o = line.split()[:4]
        if str(work.resolve()).startswith(mnt) and len(mnt) > len(best):
            best, dev, fs, opts = mnt, d, f, o
    rot = "?"
    name = Path(dev).name
    if Path(f"/sys/block/{name}/queue/rotational").exists():
        rot = (
            "rotational"
            if Path(f"/sys/block/{name}/queue/rotational").read_text().strip() == "1"
            else "SSD/NVMe"
        )
    wrk = shutil.which("wrk")
    wrk_v = (
        subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
        if wrk
        else "missing"
    )
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "host"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        if dirty:
            commit += f" + uncommitted changes in {len(dirty.splitlines())} host/ file(s)"
    except OSError:
        commit = "?"
    return {
        "cores": f"{os.cpu_count()} x {cpu}",
        "memory": f"{mem:.1f} GiB",
        "disk": f"{dev} ({fs}, {opts}; kernel reports {rot}) holding {work}",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "waypost": f"{version('waypost')} (git {commit})",
        "dbos": version("dbos"),
        "uvicorn": version("uvicorn"),
        "load average at start (1/5/15 min)": "{:.2f} / {:.2f} / {:.2f}".format(*os.getloadavg()),
        "starlette": version("starlette"),
        "anyio": version("anyio"),
        "wrk": wrk_v or "?",
    }


def table(rows: list[Row]) -> str:
    out = ["| Fig | Figure | Measured | Baseline (same run) | Target | Result |", "|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r.fig} | {r.name} | {r.value} | {r.baseline} | {r.target} | {r.result} |")
    return "\n".join(out)


# -- the plan: which Bench method runs which figures ------------------------------------------------

PLAN: list[tuple[str, Callable[[Bench, set[str]], None]]] = [
    ("1", lambda b, only: b.fig1()),
    ("2", lambda b, only: b.fig2()),
    ("3", lambda b, only: b.fig3_binding()),
    ("3,4", lambda b, only: b.fig3_http_and_4(only)),
    ("5", lambda b, only: b.fig5()),
    ("6", lambda b, only: b.fig6()),
]


def run_plan(bench: Bench, only: set[str], groups: list[str] | None = None) -> None:
    """Run the figures of `only` (or of just the plan entries named in `groups`); a figure that
    breaks is a printed ERROR row, and the run goes on."""
    for figs, run in PLAN:
        if not only & set(figs.split(",")) or (groups is not None and figs not in groups):
            continue
        try:
            run(bench, only)
        except Exception as exc:
            last = (str(exc).strip().splitlines() or [type(exc).__name__])[-1][:300]
            bench.add(
                Row(
                    figs,
                    "did not complete",
                    f"ERROR: {type(exc).__name__}: {last}",
                    "-",
                    "-",
                    "ERROR",
                    bench.cmd(figs),
                )
            )


def peer_status(names: set[str]) -> dict[str, str | None]:
    """Each selected peer -> None if it can run here, else why not (its rows say SKIP with it)."""
    status: dict[str, str | None] = {}
    if "dbos" in names:
        status["dbos"] = (
            None
            if importlib.util.find_spec("dbos") is not None
            else "dbos not installed (pip install -e '.[bench]')"
        )
    if "restate" in names:
        from bench import restate_peer

        status["restate"] = restate_peer.missing()
    return status


# -- --against REV: the figures for REV and for the working tree, in alternation -------------------


def git(*args: str, cwd: Path = ROOT) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def against_worktree(rev: str) -> Side:
    """A detached git worktree of `rev` under bench/.work/against-<short>, made once and reused."""
    sha = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    short = git("rev-parse", "--short", sha)
    tree = BENCH / ".work" / f"against-{short}"
    if tree.exists():
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=tree, capture_output=True, text=True
        ).stdout.strip()
        if head != sha:
            raise SystemExit(
                f"{tree} exists but is not a worktree at {short} (HEAD {head or '?'}); "
                f"remove it (git worktree remove --force {tree}) and run again"
            )
        print(f"reusing worktree {tree} ({short})", flush=True)
    else:
        tree.parent.mkdir(parents=True, exist_ok=True)
        git("worktree", "add", "--detach", str(tree), sha)
        print(f"made worktree {tree} ({short})", flush=True)
    return Side(short, tree)


CHECK = (
    "import host, bench, bench.child; print(host.__file__); print(bench.child.__file__)\n"
    "try:\n    from bench import engine_api\n    print('engine API: ' + ('new (WorkflowService)' "
    "if engine_api.new_api() else 'old (engine.binding)') + ', through bench/engine_api.py')\n"
    "except ImportError:\n    print('engine API: its own bench/child.py, unchanged')\n"
)


def check_side(side: Side) -> str:
    """Import host and bench as the side's processes will, and check they come from its root."""
    proc = subprocess.run([PY, "-c", CHECK], cwd=side.root, env=side.env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{side.label}: importing host and bench failed:\n{proc.stderr[-3000:]}")
    host_file, child_file, api = proc.stdout.strip().splitlines()[-3:]
    for f in (host_file, child_file):
        if not Path(f).resolve().is_relative_to(side.root.resolve()):
            raise SystemExit(f"{side.label}: {f} is not under {side.root}: the side would run other code")
    return f"{side.label}: host from {host_file}; bench.child from {child_file}; {api}"


def fmt_num(x: float) -> str:
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}" if abs(x) >= 1 else f"{x:.3f}"


def collect(rows: list[Row]) -> dict[tuple[str, str], dict[str, Any]]:
    """(fig, metric name) -> metric, from the rows of one side's run."""
    return {(r.fig, name): m for r in rows for name, m in (r.data.get("metrics") or {}).items()}


def against_table(
    old: Side, new: Side, values: dict[str, dict[Any, dict[int, float]]], meta: dict[Any, Any]
) -> str:
    """One row per metric: each side's min / median / max over its runs, new/old of the medians and
    of each pair, and max/min of each side's runs (how much the machine moved)."""
    head = (
        f"| Fig | Figure: metric | Unit | Better | {old.label} min / median / max | "
        f"{new.label} min / median / max | new/old (medians) | new/old per pair (min .. max) | "
        f"max/min {old.label} | max/min {new.label} |"
    )
    out = [head, "|---|---|---|---|---|---|---|---|---|---|"]
    for key, m in meta.items():
        o, n = values[old.label].get(key, {}), values[new.label].get(key, {})

        def mmm(d: dict[int, float]) -> str:
            if not d:
                return "-"
            v = list(d.values())
            return f"{fmt_num(min(v))} / {fmt_num(med(v))} / {fmt_num(max(v))}"

        def range_ratio(d: dict[int, float]) -> str:
            v = [x for x in d.values() if x > 0]
            return f"{max(v) / min(v):.2f}" if len(v) > 1 else "-"

        ratio = pairs = "-"
        if o and n and med(list(o.values())) > 0:
            ratio = f"{med(list(n.values())) / med(list(o.values())):.3f}"
            per = [n[p] / o[p] for p in o if p in n and o[p] > 0]
            if per:
                pairs = f"{min(per):.3f} .. {max(per):.3f} ({len(per)} pair{'s' if len(per) != 1 else ''})"
        out.append(
            f"| {key[0]} | {key[1]} | {m['unit']} | {m['better']} | {mmm(o)} | {mmm(n)} | {ratio} | "
            f"{pairs} | "
            f"{range_ratio(o)} | {range_ratio(n)} |"
        )
    return "\n".join(out)


def run_against(args: argparse.Namespace, mode: str, only: set[str], work: Path) -> int:
    old = against_worktree(args.against)
    new = WORKING_TREE
    checks = [check_side(old), check_side(new)]
    for line in checks:
        print(line, flush=True)
    groups = [figs for figs, _ in PLAN if only & set(figs.split(","))]
    print(
        f"\n--against {old.label} ({mode}): figures {','.join(sorted(only))}, {args.pairs} pair(s) "
        f"({old.label}, then working tree, per figure and pair); no peers",
        flush=True,
    )
    values: dict[str, dict[Any, dict[int, float]]] = {old.label: {}, new.label: {}}
    meta: dict[Any, Any] = {}
    errors: list[str] = []
    started = time.time()
    for pair in range(args.pairs):
        for group in groups:
            for side in (old, new):
                slot = work / f"{'old' if side is old else 'new'}-{pair}-{group.replace(',', '')}"
                slot.mkdir(parents=True, exist_ok=True)
                bench = Bench(
                    mode,
                    slot,
                    side=side,
                    peers={},
                    runs=1,
                    prefix=f"{side.label:>12} #{pair + 1}",
                    peer_rows=False,
                )
                try:
                    run_plan(bench, only, [group])
                finally:
                    shutil.rmtree(slot, ignore_errors=True)
                errors += [
                    f"{side.label} pair {pair + 1}: fig {r.fig}: {r.value}"
                    for r in bench.rows
                    if r.result == "ERROR"
                ]
                for key, m in collect(bench.rows).items():
                    meta.setdefault(key, m)
                    for v in m["values"]:
                        values[side.label].setdefault(key, {})[pair] = v
    elapsed = time.time() - started
    md = against_table(old, new, values, meta)
    print(
        f"\n{md}\n\n{args.pairs} pair{'s' if args.pairs != 1 else ''} in {elapsed:.0f} s; "
        f"{len(errors)} ERROR slot(s)",
        flush=True,
    )
    for e in errors:
        print(f"  {e}")
    if args.out is not None:
        facts = machine_facts(work)
        facts["load average at end (1/5/15 min)"] = "{:.2f} / {:.2f} / {:.2f}".format(*os.getloadavg())
        facts_md = "\n".join(f"- {k}: {v}" for k, v in facts.items())
        raw = {
            side: {f"fig {k[0]} {k[1]}": list(d.values()) for k, d in vals.items()}
            for side, vals in values.items()
        }
        flag = {"full": "", "quick": " --quick", "smoke": " --smoke"}[mode]
        figs = ",".join(sorted(only))
        cmd = f"python -m bench --against {args.against} --pairs {args.pairs} --only {figs}{flag}"
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            f"# Waypost benchmark --against {old.label}, {dt.date.today().isoformat()} ({mode})\n\n"
            f"Command: `{cmd}` ({elapsed:.0f} s)\n\n"
            f"Each pair runs a figure for {old.label} (a worktree with its own host and bench code), "
            f"then for "
            f"the working tree; new/old > 1 means the working tree's number is higher (better for "
            f"'higher', worse for 'lower'). Rows named 'baseline' measure the machine, not Waypost: their "
            f"new/old shows how much the machine moved between the two slots of a pair.\n\n"
            f"## Sides\n\n" + "\n".join(f"- {c}" for c in checks) + f"\n\n## Machine\n\n{facts_md}\n\n"
            f"## Results\n\n{md}\n\n"
            + ("## Errors\n\n" + "\n".join(f"- {e}" for e in errors) + "\n\n" if errors else "")
            + f"## Raw numbers (per pair)\n\n```json\n{json.dumps(raw, indent=1)}\n```\n"
        )
        print(f"results written to {args.out}")
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="scaled-down counts; under a minute")
    g.add_argument("--smoke", action="store_true", help="tiny counts for the test suite; seconds")
    p.add_argument(
        "--only",
        default=None,
        help="figures to run, e.g. 1,3 (7 rides with 1-3); default 1,2,3,4,5,6, or 1,2,3 with --against",
    )
    p.add_argument(
        "--out",
        type=Path,
        help="write the results markdown here (default for a full run: "
        "bench/results/<date>.md; quick/smoke and --against write nothing unless given)",
    )
    p.add_argument("--work", type=Path, default=BENCH / ".work", help="scratch folder (default bench/.work)")
    p.add_argument(
        "--peers",
        default=None,
        help="peers of figures 1-3, from dbos,restate, or none (default dbos,restate; dbos with --smoke)",
    )
    p.add_argument(
        "--against",
        metavar="REV",
        help="also run REV's code (a git worktree under bench/.work/against-<rev>) and print "
        "working tree / REV for each figure",
    )
    p.add_argument(
        "--pairs", type=int, default=3, help="with --against: runs of each side, alternated (default 3)"
    )
    args = p.parse_args(argv)
    if args.pairs < 1:
        p.error("--pairs must be at least 1")
    mode = "quick" if args.quick else "smoke" if args.smoke else "full"
    only = set((args.only or ("1,2,3" if args.against else "1,2,3,4,5,6")).replace(" ", "").split(","))
    work = args.work.resolve() / f"run-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    if args.against:
        try:
            return run_against(args, mode, only, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    peer_names = {
        x for x in (args.peers or DEFAULT_PEERS[mode]).replace(" ", "").split(",") if x and x != "none"
    }
    unknown = peer_names - set(PEERS)
    if unknown:
        p.error(f"unknown peer(s) {', '.join(sorted(unknown))}: use {','.join(PEERS)} or none")
    peers = peer_status(peer_names)
    bench = Bench(mode, work, peers=peers)
    facts = machine_facts(work)
    if "restate" in peers:
        from bench import restate_peer

        facts["restate"] = restate_peer.versions()
    print(
        f"Waypost benchmark ({mode}{', scaled-down counts' if mode != 'full' else ''}); "
        f"{facts['cores']}, Python {facts['python']}; figures 1-3: {bench.runs} runs, peers "
        f"{', '.join(f'{k}' + ('' if v is None else ' (SKIP)') for k, v in peers.items()) or 'none'}"
        f" ({bench.peer_runs} run{'' if bench.peer_runs == 1 else 's'})",
        flush=True,
    )
    if "restate" not in peers and only & {"1", "2", "3"}:
        print("note: Restate peer not run (add --peers dbos,restate)", flush=True)
    started = time.time()
    try:
        run_plan(bench, only)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    elapsed = time.time() - started
    md = table(bench.rows)
    misses = [r for r in bench.rows if r.result in ("MISS", "ERROR")]
    print(f"\n{md}\n\n{len(bench.rows)} rows in {elapsed:.0f} s; {len(misses)} MISS or ERROR", flush=True)
    out = args.out or (BENCH / "results" / f"{dt.date.today().isoformat()}.md" if mode == "full" else None)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        facts["load average at end (1/5/15 min)"] = "{:.2f} / {:.2f} / {:.2f}".format(*os.getloadavg())
        facts_md = "\n".join(f"- {k}: {v}" for k, v in facts.items())
        cmds = "\n".join(f"- fig {f}: `{c}`" for f, c in sorted({(r.fig, r.cmd) for r in bench.rows}))
        out.write_text(
            f"# Waypost benchmark, {dt.date.today().isoformat()} ({mode})\n\n"
            f"Command: `python -m bench{bench.flag}` ({elapsed:.0f} s)\n\n## Machine\n\n{facts_md}\n\n"
            f"## Results\n\n{md}\n\n## Reproduce one figure\n\n{cmds}\n\n## Raw numbers\n\n```json\n"
            f"{json.dumps([r.__dict__ for r in bench.rows], indent=1, default=str)}\n```\n"
        )
        print(f"results written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
