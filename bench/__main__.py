"""Waypost benchmark suite: `python -m bench [--quick | --smoke] [--only 1,3] [--out FILE]`.

Every figure is printed beside its baseline, measured in the same run, and its target, marked
PASS or MISS, with the command that reproduces it. See bench/README.md for what bounds each one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PY = sys.executable

SCALES: dict[str, dict[str, Any]] = {
    # instances x steps (fig 1), steps (fig 2), samples (fig 3), wrk seconds (fig 4),
    # sleepers / wakers (fig 5), unfinished instances (fig 6), DBOS throughput instances
    "full": dict(
        tp=(200, 20),
        seq=500,
        lat=200,
        wrk=10,
        sleepers=(100_000, 10_000),
        recover=10_000,
        dbos_tp=(200, 20),
        margin=40.0,
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
    ),
    "smoke": dict(
        tp=(20, 5), seq=50, lat=10, wrk=1, sleepers=(300, 50), recover=100, dbos_tp=(10, 5), margin=4.0
    ),
}


@dataclass
class Row:
    fig: str
    name: str
    value: str
    baseline: str
    target: str
    result: str  # PASS, MISS, SKIP or "-" (no target)
    cmd: str
    data: dict[str, Any] = field(default_factory=dict)


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("PASS" if ok else "MISS")


class Bench:
    def __init__(self, mode: str, work: Path) -> None:
        self.mode = mode
        self.s = SCALES[mode]
        self.work = work
        self.rows: list[Row] = []
        self.flag = {"full": "", "quick": " --quick", "smoke": " --smoke"}[mode]
        self.label = "" if mode == "full" else f" [{mode}: scaled down]"

    def cmd(self, fig: str) -> str:
        return f"python -m bench{self.flag} --only {fig}"

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(
            f"  [{row.result:>4}] fig {row.fig} {row.name}: {row.value} | baseline: {row.baseline} | "
            f"target: {row.target}   ({row.cmd})",
            flush=True,
        )

    def child(self, name: str, timeout: float = 900, **args: Any) -> dict[str, Any]:
        """Run bench.child NAME in a fresh process and return its RESULT."""
        proc = subprocess.run(
            [PY, "-m", "bench.child", name, json.dumps(args)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        for line in reversed(proc.stdout.splitlines()):
            if line.startswith("RESULT "):
                return json.loads(line[7:])  # type: ignore[no-any-return]
        raise RuntimeError(f"bench.child {name} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")

    # -- figures 1, 2, 7: throughput and sequential, Waypost vs the fsync ceiling vs DBOS ----------------

    def fig1(self, dbos: dict[str, Any] | None) -> None:
        n, k = self.s["tp"]
        ceiling = self.child("fsync_ceiling", work=str(self.work), threads=n, appends=k)
        nosync = self.child("fsync_ceiling", work=str(self.work), threads=n, appends=k, sync=False)
        res = {
            d: self.child("throughput", work=str(self.work), instances=n, steps=k, durability=d)
            for d in ("fsync", "relaxed")
        }
        peer = None
        if dbos is not None:
            dn, dk = self.s["dbos_tp"]
            peer = self.child("dbos_throughput", work=str(self.work), instances=dn, steps=dk)
        fs = res["fsync"]["rate"]
        ratio = fs / peer["rate"] if peer else None
        ok = fs >= 10_000 and (ratio is None or ratio >= 3)
        self.add(
            Row(
                "1",
                f"durable throughput, fsync, {n} x {k} no-op steps{self.label}",
                f"{fs:,.0f} steps/s",
                f"fsync ceiling {ceiling['rate']:,.0f} appends/s ({n} threads x {k} append+fsync); "
                f"Waypost = {fs / ceiling['rate']:.0%} of it",
                ">= 10,000 steps/s and >= 3x DBOS",
                verdict(ok),
                self.cmd("1"),
                {"waypost": res, "ceiling": ceiling, "nosync": nosync, "dbos": peer},
            )
        )
        self.add(
            Row(
                "1",
                f"durable throughput, relaxed, {n} x {k} no-op steps{self.label}",
                f"{res['relaxed']['rate']:,.0f} steps/s",
                f"append without fsync {nosync['rate']:,.0f} appends/s",
                "(none; no fsync)",
                "-",
                self.cmd("1"),
            )
        )
        if peer is None:
            self.add(
                Row(
                    "7",
                    "DBOS throughput (peer)",
                    "skipped: dbos not installed (pip install -e '.[bench]')",
                    "-",
                    ">= 3x",
                    "SKIP",
                    self.cmd("1"),
                )
            )
        else:
            dn, dk = self.s["dbos_tp"]
            self.add(
                Row(
                    "7",
                    f"Waypost/DBOS throughput (DBOS: {dn} x {dk} steps, SQLite)",
                    f"{ratio:.1f}x ({fs:,.0f} vs {peer['rate']:,.0f} steps/s)",
                    f"DBOS {peer['rate']:,.0f} steps/s",
                    ">= 3x",
                    verdict(ratio >= 3),
                    self.cmd("1"),
                )
            )

    def fig2(self, dbos: dict[str, Any] | None) -> None:
        k = self.s["seq"]
        limit = 0.15 * k / 500
        ceiling = self.child("fsync_ceiling", work=str(self.work), threads=1, appends=k)
        res = {
            d: self.child("throughput", work=str(self.work), instances=1, steps=k, durability=d)
            for d in ("fsync", "relaxed")
        }
        secs = res["fsync"]["seconds"]
        self.add(
            Row(
                "2",
                f"sequential, one instance of {k} no-op steps, fsync{self.label}",
                f"{secs:.3f} s",
                f"1 thread append+fsync x{k}: {ceiling['seconds']:.3f} s; Waypost = "
                f"{ceiling['seconds'] / secs:.0%} of that rate",
                f"<= {limit:.3f} s",
                verdict(secs <= limit),
                self.cmd("2"),
                {"waypost": res, "ceiling": ceiling},
            )
        )
        self.add(
            Row(
                "2",
                f"sequential, {k} steps, relaxed{self.label}",
                f"{res['relaxed']['seconds']:.3f} s",
                "-",
                "(none)",
                "-",
                self.cmd("2"),
            )
        )
        if dbos is None:
            self.add(
                Row(
                    "7",
                    "DBOS sequential (peer)",
                    "skipped: dbos not installed",
                    "-",
                    "-",
                    "SKIP",
                    self.cmd("2"),
                )
            )
        else:
            peer = self.child("dbos_throughput", work=str(self.work), instances=1, steps=k)
            self.add(
                Row(
                    "7",
                    f"Waypost/DBOS sequential {k} steps (time ratio, lower is better)",
                    f"{secs / peer['seconds']:.2f}x ({secs:.3f} vs {peer['seconds']:.3f} s)",
                    f"DBOS {peer['seconds']:.3f} s",
                    "(none)",
                    "-",
                    self.cmd("2"),
                )
            )

    # -- figure 3 and 4: latency and HTTP -----------------------------------------------------------

    def fig3_binding(self, dbos: dict[str, Any] | None) -> None:
        n = self.s["lat"]
        res = self.child("latency", work=str(self.work), count=n, durability="fsync")
        peer = self.child("dbos_latency", work=str(self.work), count=n) if dbos is not None else None
        base = (
            f"DBOS p50 {ms(peer['p50'])} / p99 {ms(peer['p99'])}; Waypost/DBOS p50 "
            f"{res['p50'] / peer['p50']:.2f}x"
            if peer
            else "DBOS skipped: not installed"
        )
        self.add(
            Row(
                "3",
                f"create -> complete, 1 step, via the binding in-process, fsync, n={n}{self.label}",
                f"p50 {ms(res['p50'])} / p99 {ms(res['p99'])}",
                base,
                "(none; HTTP row has the target)",
                "-",
                self.cmd("3"),
                {"waypost": res, "dbos": peer},
            )
        )

    def fig3_http_and_4(self, only: set[str]) -> None:
        host = HostProc(self.work / "http", durability="fsync")
        try:
            host.start()
            if "3" in only:
                n = self.s["lat"]
                samples = []
                conn = http.client.HTTPConnection("127.0.0.1", host.port, timeout=30)
                for i in range(n + 5):
                    t0 = time.perf_counter()
                    conn.request("GET", "/bench/latency")
                    resp = conn.getresponse()
                    body = resp.read()
                    if resp.status != 200 or body.strip() != b"complete":
                        raise RuntimeError(f"/bench/latency answered {resp.status} {body[:200]!r}")
                    if i >= 5:
                        samples.append(time.perf_counter() - t0)
                conn.close()
                p = percentiles(samples)
                self.add(
                    Row(
                        "3",
                        f"create -> complete, 1 step, via HTTP from a client, fsync, n={n}{self.label}",
                        f"p50 {ms(p['p50'])} / p99 {ms(p['p99'])}",
                        "fsync of one append: see fig 2 baseline",
                        "p50 <= 3 ms",
                        verdict(p["p50"] <= 0.003),
                        self.cmd("3"),
                        p,
                    )
                )
            if "4" in only:
                self.fig4(host)
        finally:
            host.stop()

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
        bare = BareProc(self.work)
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
                {"waypost": res, "bare": base},
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
                f"all asleep on disk after {made['asleep_seconds']:.1f} s",
                "(none)",
                "-",
                self.cmd("5"),
                made,
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
                disk,
            )
        )
        host = HostProc(self.work / "sleepers", durability="fsync", data=data)
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
                    and len(os.listdir(pending)) <= total - wakers
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
                {"idle": rss_idle, "peak": rss_peak, "after": rss_after},
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
                p,
            )
        )
        # kept until the whole work folder goes at the end: deleting 500,000 files here made file
        # creation in the next figure several times slower on the disk we measured (ext4)

    empty_rss = 0.0

    def empty_startup(self) -> float:
        host = HostProc(self.work / "empty", durability="fsync")
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
            cwd=ROOT,
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
        host = HostProc(base, durability="fsync", data=data)
        pending = data / "workflows" / "blocker" / "pending"
        try:
            t_start = time.time()
            serving = host.start()
            while len(os.listdir(pending)) > 0 and time.time() < t_start + 600:
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
                {"seconds": secs, "serving": serving},
            )
        )
        shutil.rmtree(base, ignore_errors=True)


# -- helpers -------------------------------------------------------------------------------------------


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
    """`python -m host serve` on a deployment folder made for the benchmark."""

    def __init__(self, base: Path, durability: str, data: Path | None = None) -> None:
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
                            "main": str(BENCH / "workers" / "wf.py"),
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

    def __init__(self, work: Path) -> None:
        super().__init__(work, "relaxed")

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
            cwd=ROOT,
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="scaled-down counts; under a minute")
    g.add_argument("--smoke", action="store_true", help="tiny counts for the test suite; seconds")
    p.add_argument("--only", default="1,2,3,4,5,6", help="figures to run, e.g. 1,3 (7 rides with 1-3)")
    p.add_argument(
        "--out",
        type=Path,
        help="write the results markdown here (default for a full run: "
        "bench/results/<date>.md; quick/smoke write nothing unless given)",
    )
    p.add_argument("--work", type=Path, default=BENCH / ".work", help="scratch folder (default bench/.work)")
    args = p.parse_args(argv)
    mode = "quick" if args.quick else "smoke" if args.smoke else "full"
    only = set(args.only.replace(" ", "").split(","))
    work = args.work.resolve() / f"run-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    bench = Bench(mode, work)
    try:
        import dbos  # noqa: F401

        dbos_info: dict[str, Any] | None = {}
    except ImportError:
        dbos_info = None
    facts = machine_facts(work)
    print(
        f"Waypost benchmark ({mode}{', scaled-down counts' if mode != 'full' else ''}); "
        f"{facts['cores']}, Python {facts['python']}",
        flush=True,
    )
    started = time.time()
    plan = [
        ("1", lambda: bench.fig1(dbos_info)),
        ("2", lambda: bench.fig2(dbos_info)),
        ("3", lambda: bench.fig3_binding(dbos_info)),
        ("3,4", lambda: bench.fig3_http_and_4(only)),
        ("5", bench.fig5),
        ("6", bench.fig6),
    ]
    try:
        for figs, run in plan:
            if not only & set(figs.split(",")):
                continue
            try:
                run()
            except Exception as exc:  # a figure that breaks is a printed ERROR row, and the run goes on
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
