"""Retention bench: what one retention sweep reads, with N instances kept and one expired.

    python -m bench.retention                  # N = 100, 1,000, 10,000; prints markdown
    python -m bench.retention --sizes 100,1000 --out FILE
    python -m bench.retention --reads 200      # one size, its counts as JSON (the test runs this)

For each N, a fresh data directory (durability relaxed, to set it up quickly; the sweep reads the
same either way) holds N complete instances kept for a day, N complete ones with no retention,
N queued ones, and one complete instance whose retention has ended. One sweep (FileStore.sweep,
the call a host makes every host.sweep_interval) runs with an audit hook (sys.addaudithook, in
this process only) counting the folders it lists and the files it opens, and noting which
instance folders it touches. The claim (SPEC 3.11: found through an index, not by scanning every
instance): those counts do not grow with N, and no folder but the expired instance's is touched.
The sweep's time is printed beside them, with its ratio to the smallest N's (same run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from host.store.filestore import FileStore
from host.workflows.entries import ReplayState, replay_state
from host.workflows.status import iso, status_document

WF = "orders"
ENDED = 1_700_000_000.0


def _meta(instance_id: str, retention: dict[str, float] | None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "id": instance_id,
        "workflow": WF,
        "params": {},
        "created_on": iso(ENDED - 1),
        "created_on_epoch": ENDED - 1,
        "trigger_source": "api",
    }
    if retention is not None:
        meta["retention"] = retention
    return meta


async def _final(store: FileStore, iid: str, retention: dict[str, float] | None, ended: float) -> None:
    meta = _meta(iid, retention)
    await store.create(meta, status_document(meta, ReplayState(), ENDED - 1))
    lease = store.open(WF, iid)
    assert lease is not None
    entry = {"type": "status", "status": "complete", "output": 1, "t": ended}
    lease.append(dict(entry))
    lease.write_status(status_document(meta, replay_state([*lease.entries, entry])))
    await lease.release(None, set())


async def _populate(data_dir: Path, n: int, now: float) -> None:
    store = FileStore(data_dir, "relaxed")
    for i in range(n):
        await _final(store, f"kept-{i}", {"success_retention": 86400.0}, now)
        await _final(store, f"forever-{i}", None, now)
        meta = _meta(f"queued-{i}", None)
        await store.create(meta, status_document(meta, ReplayState(), ENDED - 1))
    await _final(store, "expired", {"success_retention": 1.0}, now - 10.0)
    await store.aclose()


def measure(n: int, work: Path) -> dict[str, Any]:
    """Set up N of each kind in `work`, then sweep once, counting what the sweep reads."""
    data_dir = work / f"data-{n}"
    now = time.time()
    asyncio.run(_populate(data_dir, n, now))
    store = FileStore(data_dir, "relaxed")
    store.sweep(WF, 0.0)  # the index exists already; this only makes the store's objects
    instances = f"{data_dir}/workflows/{WF}/instances/"
    counts = {"listings": 0, "opens": 0}
    touched: set[str] = set()
    active = [True]

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if not active[0] or event not in ("os.listdir", "os.scandir", "open"):
            return
        path = str(args[0]) if args and isinstance(args[0], str | Path) else ""
        if not path.startswith(str(data_dir)):
            return
        counts["listings" if event != "open" else "opens"] += 1
        if path.rstrip("/") == instances.rstrip("/"):
            touched.add("(the instances folder listed)")  # what a scan of every instance does
        elif path.startswith(instances):
            name = path[len(instances) :].split("/")[0]
            touched.add(".deleting.<id>.*" if name.startswith(".deleting.") else name)

    sys.addaudithook(hook)  # this process only; it is switched off again below
    started = time.perf_counter()
    removed = store.sweep(WF, time.time())
    seconds = time.perf_counter() - started
    active[0] = False
    asyncio.run(store.aclose())
    shutil.rmtree(data_dir, ignore_errors=True)
    return {"n": n, "removed": removed, "touched": sorted(touched), "seconds": seconds, **counts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.retention")
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--reads", type=int, help="one size; print its counts as JSON")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="waypost-retention-") as tmp:
        if args.reads is not None:
            print(json.dumps(measure(args.reads, Path(tmp))))
            return 0
        rows = [measure(int(size), Path(tmp)) for size in args.sizes.split(",")]
    base = rows[0]["seconds"]
    lines = [
        "| N kept + N forever + N queued, 1 expired | folders listed | files opened | "
        "instance folders touched | sweep time | time / smallest N's |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row['n']:,} | {row['listings']} | {row['opens']} | {', '.join(row['touched'])} | "
            f"{row['seconds'] * 1000:.2f} ms | {row['seconds'] / base:.2f}x |"
        )
    text = "\n".join(lines)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
