"""Storage bindings (KV, D1, R2) against the plain file and sqlite3 operations they are made of.

    python -m bench.storage            # 5 runs of every pair; writes bench/results/<date>-storage.md
    python -m bench.storage --quick    # 3 runs, smaller counts; prints only
    python -m bench.storage --smoke    # 1 run at tiny counts, to see that every row runs
    python -m bench.storage --out FILE

Each row is a binding call measured beside its baseline in the same run, on the same disk (the
runs alternate: baseline, binding, baseline, binding, ...); the verdict compares the ratio of
the medians with the target. Binding calls go through anyio.to_thread as they do in the host, so
a second baseline row shows the same plain operation behind one thread hop: the part of the gap
that is the hop, not the storage.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import anyio
import anyio.to_thread

from host.storage.d1 import D1Database
from host.storage.kv import KVNamespace
from host.storage.r2 import R2Bucket

HERE = Path(__file__).resolve().parent
MIB = 1024 * 1024
VALUE = b"v" * 100


def timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# ---- KV put (durable) vs one file's append+fsync ----------------------------------------------


def append_fsync(work: Path, n: int) -> float:
    fd = os.open(work / "append.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        line = b"key " + VALUE + b"\n"
        return n / timed(lambda: [(os.write(fd, line), os.fsync(fd)) for _ in range(n)])
    finally:
        os.close(fd)


WARM_UP_PUTS = 600


def kv_put(work: Path, n: int) -> float:
    kv = KVNamespace(work / "kv-put")

    async def main() -> None:
        # Steady state, as a namespace in use is: past SQLite's first checkpoint (1,000 pages), its
        # WAL is rewritten in place from the start, so a commit's fsync no longer grows the file.
        for i in range(WARM_UP_PUTS if n >= 100 else 10):  # (--smoke: only that the row runs)
            await kv.put(f"warm-{i}", VALUE)
        start = time.perf_counter()
        for i in range(n):
            await kv.put(f"key-{i}", VALUE)
        box.append(time.perf_counter() - start)

    box: list[float] = []
    anyio.run(main)
    kv.close()
    return n / box[0]


# ---- KV get vs reading a small file ---------------------------------------------------------------

KEYS = 1000


def small_files(work: Path) -> Path:
    folder = work / "small"
    if not folder.is_dir():
        folder.mkdir()
        for i in range(KEYS):
            (folder / f"key-{i}").write_bytes(VALUE)
    return folder


def read_small(work: Path, n: int) -> float:
    folder = small_files(work)

    def run() -> None:
        for i in range(n):
            with open(folder / f"key-{i % KEYS}", "rb") as f:
                f.read()

    return n / timed(run)


def read_small_thread(work: Path, n: int) -> float:
    folder = small_files(work)

    def read(i: int) -> bytes:
        with open(folder / f"key-{i % KEYS}", "rb") as f:
            return f.read()

    async def main() -> None:
        for i in range(n):
            await anyio.to_thread.run_sync(read, i)

    return n / timed(lambda: anyio.run(main))


def kv_get(work: Path, n: int) -> float:
    kv = KVNamespace(work / "kv-get")

    async def fill() -> None:
        if await kv.get("key-0") is None:
            for i in range(KEYS):
                await kv.put(f"key-{i}", VALUE)

    async def main() -> None:
        for i in range(n):
            await kv.get(f"key-{i % KEYS}", type="bytes")

    anyio.run(fill)
    rate = n / timed(lambda: anyio.run(main))
    kv.close()
    return rate


# ---- D1 point query vs raw sqlite3 on the same file -----------------------------------------------

ROWS = 10_000


def d1_file(work: Path) -> Path:
    path = work / "d1.sqlite3"
    if not path.exists():
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL)")
            db.executemany("INSERT INTO t VALUES (?, ?, ?)", ((i, f"name-{i}", i / 3) for i in range(ROWS)))
    return path


POINT = "SELECT * FROM t WHERE id = ?"


def raw_point(work: Path, n: int) -> float:
    db = sqlite3.connect(d1_file(work))
    rate = n / timed(lambda: [db.execute(POINT, (i % ROWS,)).fetchone() for i in range(n)])
    db.close()
    return rate


def raw_point_thread(work: Path, n: int) -> float:
    db = sqlite3.connect(d1_file(work), check_same_thread=False)

    async def main() -> None:
        for i in range(n):
            await anyio.to_thread.run_sync(lambda i=i: db.execute(POINT, (i % ROWS,)).fetchone())

    rate = n / timed(lambda: anyio.run(main))
    db.close()
    return rate


def d1_point(work: Path, n: int) -> float:
    d1 = D1Database(d1_file(work))

    async def main() -> None:
        stmt = d1.prepare(POINT)
        for i in range(n):
            await stmt.bind(i % ROWS).first()

    rate = n / timed(lambda: anyio.run(main))
    d1.close()
    return rate


# ---- R2 put/get of 1 MiB vs plain write+fsync / read ----------------------------------------------


def plain_write(work: Path, n: int) -> float:
    folder = work / "plain"
    folder.mkdir(exist_ok=True)
    data = os.urandom(MIB)

    def run() -> None:
        for i in range(n):
            fd = os.open(folder / f"obj-{i}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.write(fd, data)
            os.fsync(fd)
            os.close(fd)

    return n / timed(run)


def plain_read(work: Path, n: int) -> float:
    folder = work / "plain"
    if not (folder / "obj-0").exists():
        plain_write(work, min(n, 8))
    count = len(list(folder.iterdir()))

    def run() -> None:
        for i in range(n):
            with open(folder / f"obj-{i % count}", "rb") as f:
                f.read()

    return n / timed(run)


def r2_put(work: Path, n: int) -> float:
    bucket = R2Bucket(work / "r2")
    data = os.urandom(MIB)

    async def main() -> None:
        await bucket.put("warm-up", b"")
        start = time.perf_counter()
        for i in range(n):
            await bucket.put(f"objects/obj-{i}", data)
        box.append(time.perf_counter() - start)

    box: list[float] = []
    anyio.run(main)
    return n / box[0]


def r2_get(work: Path, n: int) -> float:
    bucket = R2Bucket(work / "r2")

    async def main() -> None:
        if await bucket.head("objects/obj-0") is None:
            await bucket.put("objects/obj-0", os.urandom(MIB))
        start = time.perf_counter()
        for _ in range(n):
            found = await bucket.get("objects/obj-0")
            assert found is not None and found.size == MIB
        box.append(time.perf_counter() - start)

    box: list[float] = []
    anyio.run(main)
    return n / box[0]


# ---- the table ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    name: str
    unit: str
    binding: Callable[[Path, int], float]
    baseline: Callable[[Path, int], float]
    baseline_name: str
    threaded: Callable[[Path, int], float] | None  # the baseline behind one to_thread hop
    target: float
    count: int


PAIRS = [
    Pair(
        "KV put (durable), 100 B values",
        "puts/s",
        kv_put,
        append_fsync,
        "one file's append+fsync",
        None,
        0.5,
        300,
    ),
    Pair(
        "KV get, 100 B values",
        "gets/s",
        kv_get,
        read_small,
        "open+read+close of a 100 B file",
        read_small_thread,
        0.5,
        5000,
    ),
    Pair(
        "D1 point query by primary key",
        "queries/s",
        d1_point,
        raw_point,
        "raw sqlite3 on the same file",
        raw_point_thread,
        0.7,
        5000,
    ),
    Pair("R2 put of 1 MiB", "MB/s", r2_put, plain_write, "write+fsync of a 1 MiB file", None, 0.7, 30),
    Pair("R2 get of 1 MiB", "MB/s", r2_get, plain_read, "read of a 1 MiB file", None, 0.7, 300),
]


def spread(values: list[float], unit: str) -> str:
    return (
        f"{statistics.median(values):,.0f} {unit} (median of {len(values)}; "
        f"min {min(values):,.0f}, max {max(values):,.0f})"
    )


def measure(runs: int, scale: float, work: Path) -> list[str]:
    rows = []
    for pair in PAIRS:
        n = max(3, int(pair.count * scale))
        factor = 1.0 if pair.unit != "MB/s" else MIB / 1e6
        ours: list[float] = []
        base: list[float] = []
        hop: list[float] = []
        for _ in range(runs):
            base.append(pair.baseline(work, n) * factor)
            ours.append(pair.binding(work, n) * factor)
            if pair.threaded is not None:
                hop.append(pair.threaded(work, n) * factor)
        ratio = statistics.median(ours) / statistics.median(base)
        verdict = "PASS" if ratio >= pair.target else "MISS"
        unit = pair.unit
        text = f"{pair.baseline_name}: {spread(base, unit)}; binding = {ratio:.0%} of it"
        if hop:
            hop_ratio = statistics.median(ours) / statistics.median(hop)
            text += f". The same behind one to_thread hop: {spread(hop, unit)}; binding = {hop_ratio:.0%}"
        rows.append(f"| {pair.name} | {spread(ours, unit)} | {text} | >= {pair.target:.0%} | {verdict} |")
        print(rows[-1], flush=True)
    return rows


def machine() -> list[str]:
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE)
    load = os.getloadavg()
    return [
        f"- cores: {os.cpu_count()}; python {platform.python_version()}; sqlite {sqlite3.sqlite_version}",
        f"- os: {platform.system()} {platform.release()}",
        f"- git: {git.stdout.strip() or 'unknown'}",
        f"- load average at start (1/5/15 min): {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.storage", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 runs at a fifth of the counts; prints only")
    parser.add_argument("--smoke", action="store_true", help="1 run at tiny counts (the test suite's)")
    parser.add_argument("--runs", type=int, help="runs of each pair (default 5, --quick 3)")
    parser.add_argument("--out", type=Path, help="write the results markdown here")
    args = parser.parse_args(argv)
    runs = args.runs or (1 if args.smoke else 3 if args.quick else 5)
    scale = 0.01 if args.smoke else 0.2 if args.quick else 1.0
    work = HERE / ".work" / f"storage-{os.getpid()}"
    work.mkdir(parents=True)
    about = machine()
    header = ["| Row | Binding | Baseline (same run) | Target | Result |", "|---|---|---|---|---|"]
    print("\n".join(header), flush=True)
    started = time.monotonic()
    try:
        rows = measure(runs, scale, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = args.out
    if out is None and not (args.quick or args.smoke):
        out = HERE / "results" / f"{datetime.now(UTC):%Y-%m-%d}-storage.md"
    if out is not None:
        command = "python -m bench.storage" + (" --quick" if args.quick else " --smoke" if args.smoke else "")
        text = [
            f"# Storage bindings benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            "",
            f"Command: `{command}` ({time.monotonic() - started:.0f} s, {runs} runs of each pair)",
            "",
            "## Machine",
            "",
            *about,
            "",
            "## Results",
            "",
            *header,
            *rows,
            "",
        ]
        out.write_text("\n".join(text), encoding="utf-8")
        print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
