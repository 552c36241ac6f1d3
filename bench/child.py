"""One measurement in a fresh process: `python -m bench.child NAME JSON-ARGS`.

Prints `RESULT {json}` as its last line. Each figure runs in its own process so that memory,
threads and module state of one measurement never leak into the next.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

# -- baselines: the machine's own ceiling -------------------------------------------------------

LINE = b'{"type":"step_done","name":"s1","count":1,"result":null,"t":1700000000.123456}\n'


def fsync_ceiling(work: str, threads: int, appends: int, sync: bool = True) -> dict[str, Any]:
    """`threads` threads, each appending a line (and fsyncing) `appends` times to its own file."""
    root = Path(work) / "fsync"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    fds = [
        os.open(root / f"{i}.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644) for i in range(threads)
    ]
    start = threading.Barrier(threads + 1)

    def writer(fd: int) -> None:
        start.wait()
        for _ in range(appends):
            os.write(fd, LINE)
            if sync:
                os.fsync(fd)

    pool = [threading.Thread(target=writer, args=(fd,)) for fd in fds]
    for t in pool:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - t0
    for fd in fds:
        os.close(fd)
    shutil.rmtree(root, ignore_errors=True)
    return {"ops": threads * appends, "seconds": elapsed, "rate": threads * appends / elapsed}


# -- Waypost in-process --------------------------------------------------------------------------


# Every engine call goes through bench/engine_api.py, which speaks the engine's old API and its new
# one, and reads "final" from each instance's status.json rather than from engine internals.


def _last_status_mtime(data: Path, workflow: str, ids: list[str]) -> float:
    root = data / "workflows" / workflow / "instances"
    return max(os.stat(root / i / "status.json").st_mtime_ns for i in ids) / 1e9


async def throughput(work: str, instances: int, steps: int, durability: str) -> dict[str, Any]:
    """Figure 1 (and 2 with instances=1): create all at once, run to completion, steps/s.

    After one warm-up instance of one step, timed apart: the first one also starts the engine's
    threads, makes the workflow's folders and imports what a step needs, once per process."""
    from bench import engine_api

    data = Path(work) / f"tp-{durability}-{instances}x{steps}"
    shutil.rmtree(data, ignore_errors=True)
    async with engine_api.session(data, ["steps"], durability=durability) as engine:
        binding = engine.binding("steps")
        t_warm = time.time()
        await binding.create(id="warm-up", params={"steps": 1})
        await engine_api.wait_complete(data, "steps", ["warm-up"])
        warm_up = time.time() - t_warm
        ids = [f"i{n}" for n in range(instances)]
        t0 = time.time()
        await asyncio.gather(*(binding.create(id=i, params={"steps": steps}) for i in ids))
        created = time.time()
        await engine_api.wait_complete(data, "steps", ids)
        seen = time.time()
    end = _last_status_mtime(data, "steps", ids)
    shutil.rmtree(data, ignore_errors=True)
    elapsed = end - t0
    return {
        "steps": instances * steps,
        "seconds": elapsed,
        "rate": instances * steps / elapsed,
        "create_seconds": created - t0,
        "observed_seconds": seen - t0,
        "warm_up_seconds": warm_up,
    }


async def latency(work: str, count: int, durability: str) -> dict[str, Any]:
    """Figure 3 through the binding: create -> observed complete, one at a time."""
    from bench import engine_api

    data = Path(work) / f"lat-{durability}"
    shutil.rmtree(data, ignore_errors=True)
    samples = []
    async with engine_api.session(data, ["steps"], durability=durability) as engine:
        binding = engine.binding("steps")
        for n in range(count + 5):
            t0 = time.perf_counter()
            inst = await binding.create(id=f"l{n}", params={"steps": 1})
            while (await inst.status())["status"] not in ("complete", "errored", "terminated"):
                await asyncio.sleep(0.0005)
            if n >= 5:  # the first few warm up imports and caches
                samples.append(time.perf_counter() - t0)
    shutil.rmtree(data, ignore_errors=True)
    return _percentiles(samples)


def _percentiles(samples: list[float]) -> dict[str, Any]:
    samples = sorted(samples)
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return {"n": len(samples), "p50": q[49], "p99": q[98], "max": samples[-1]}


async def create_sleepers(
    data: str, total: int, wakers: int, wake_at: float, durability: str, concurrency: int = 64
) -> dict[str, Any]:
    """Figure 5, part 1: `total` instances asleep on disk; `wakers` of them due in one second from `wake_at`.

    wake_at <= 0 means: decide it once the long sleepers are made, |wake_at| seconds after the
    estimated end of creation (so a host started afterwards has time to start).
    """
    from bench import engine_api

    path = Path(data)
    shutil.rmtree(path, ignore_errors=True)
    far = time.time() + 7 * 86400
    rss_peak = 0
    handles: list[Any] = []
    async with engine_api.session(path, ["sleeper"], durability) as engine:
        binding = engine.binding("sleeper")
        queue: asyncio.Queue[tuple[str, float] | None] = asyncio.Queue()
        plan = {"wake": wake_at}

        async def creator() -> None:
            while (item := await queue.get()) is not None:
                iid, wake = item
                handles.append(await binding.create(id=iid, params={"wake": wake}))

        t0 = time.time()
        long_n = total - wakers
        tasks = [asyncio.create_task(creator()) for _ in range(concurrency)]
        for n in range(long_n):
            await queue.put((f"z{n}", far))
            if queue.qsize() > concurrency * 4:
                await asyncio.sleep(0)
                while queue.qsize() > concurrency * 2:
                    await asyncio.sleep(0.001)
        while queue.qsize():
            await asyncio.sleep(0.001)
        t_long = time.time()
        if plan["wake"] <= 0:
            rate = max(long_n, 1) / max(t_long - t0, 1e-3)
            plan["wake"] = time.time() + wakers / rate * 2 + abs(wake_at)
        for n in range(wakers):
            await queue.put((f"w{n}", plan["wake"] + n / max(wakers, 1)))
            while queue.qsize() > concurrency * 2:
                await asyncio.sleep(0.001)
        for _ in tasks:
            await queue.put(None)
        await asyncio.gather(*tasks)
        created = time.time()
        # all asleep: every instance has run to its sleep (its handle's status() says waiting, or
        # complete for a waker already due), whatever status.json shows yet
        await engine_api.wait_handles(handles, ("waiting", "complete"), timeout=1800)
        asleep = time.time()
        rss_peak = _rss_kib()
    return {
        "total": total,
        "create_seconds": created - t0,
        "create_rate": total / (created - t0),
        "asleep_seconds": asleep - t0,
        "wake_at": plan["wake"],
        "creator_rss_mib": rss_peak / 1024,
    }


def _rss_kib(pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def make_blocked(data: str, count: int, durability: str) -> dict[str, Any]:
    """Figure 6, part 1: `count` instances inside a blocking step; prints READY and waits to be killed."""
    from bench import engine_api
    from bench.workers import wf

    path = Path(data)
    shutil.rmtree(path, ignore_errors=True)
    release = str(path / "release")
    async with engine_api.session(path, ["blocker"], durability) as engine:
        binding = engine.binding("blocker")
        sem = asyncio.Semaphore(64)

        async def one(n: int) -> None:
            async with sem:
                await binding.create(id=f"b{n}", params={"release": release})

        await asyncio.gather(*(one(n) for n in range(count)))
        # READY once every instance is inside the blocking step, or once no more get there (the
        # engine may cap how many run at once; the rest stay queued, just as unfinished)
        last, still = -1, time.time()
        while wf.BLOCKED < count and time.time() - still < 3.0:
            if wf.BLOCKED != last:
                last, still = wf.BLOCKED, time.time()
            await asyncio.sleep(0.05)
        print(f"READY {wf.BLOCKED}", flush=True)
        await asyncio.sleep(3600)
    return {}


# -- DBOS Transact peer (SQLite system database) ---------------------------------------------------


def dbos_run(work: str, figure: str, **kw: Any) -> dict[str, Any]:
    import logging

    from dbos import DBOS

    root = Path(work) / f"dbos-{figure}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    logging.getLogger("dbos").setLevel(logging.WARNING)

    @DBOS.step()
    async def noop_step() -> None:
        return None

    @DBOS.workflow()
    async def steps_wf(n: int) -> None:
        for _ in range(n):
            await noop_step()

    DBOS(
        config={
            "name": "bench",
            "system_database_url": f"sqlite:///{root / 'sys.sqlite'}",
            "log_level": "WARNING",
            "run_admin_server": False,
        }
    )  # type: ignore[typeddict-unknown-key]
    DBOS.launch()

    async def main() -> dict[str, Any]:
        if figure == "throughput":
            instances, steps = kw["instances"], kw["steps"]
            warm_up = await DBOS.start_workflow_async(steps_wf, 1)  # as Waypost's run gets one
            await warm_up.get_result()
            t0 = time.perf_counter()
            handles = await asyncio.gather(
                *(DBOS.start_workflow_async(steps_wf, steps) for _ in range(instances))
            )
            await asyncio.gather(*(h.get_result() for h in handles))
            elapsed = time.perf_counter() - t0
            return {"steps": instances * steps, "seconds": elapsed, "rate": instances * steps / elapsed}
        samples = []
        for n in range(kw["count"] + 5):
            t0 = time.perf_counter()
            handle = await DBOS.start_workflow_async(steps_wf, 1)
            await handle.get_result()
            if n >= 5:
                samples.append(time.perf_counter() - t0)
        return _percentiles(samples)

    try:
        return asyncio.run(main())
    finally:
        DBOS.destroy()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    name, args = sys.argv[1], json.loads(sys.argv[2])
    if name == "fsync_ceiling":
        out = fsync_ceiling(**args)
    elif name.startswith("dbos_"):
        out = dbos_run(figure=name[5:], **args)
    elif name.startswith("restate_"):
        from bench import restate_peer

        out = restate_peer.run(figure=name[8:], **args)
    else:
        out = asyncio.run(globals()[name](**args))
    print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
