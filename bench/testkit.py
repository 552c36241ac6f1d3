"""Test kit bench: how long a test of a workflow takes under host.testing's modifiers.

    python -m bench.testkit                  # 20 runs; prints markdown
    python -m bench.testkit --runs 50 --out FILE

The sample order workflow (tests/deployments/testkit: a step with 5 retries 10 s apart, a 1 hour
sleep, a 24 hour event wait) runs to completion under disable_sleeps + mock_event, with the
charge step made to fail 5 times (mock_step_error times=5), so all five retries happen: without
the kit that is an hour, 50 s and a wait for an event. Each run is what one test does: a new
deployment (config, worker import, engine start, on a new data dir), modify(), create, output(),
then the engine stops. Timed: the whole test, and create -> output alone. Target: the whole
test under 0.5 s (median, and max reported). The real store on files, relaxed durability (the
kit's default).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from host.testing.kit import Kit

BENCH = Path(__file__).resolve().parent
SAMPLE = BENCH.parent / "tests" / "deployments" / "testkit" / "config.yaml"
TARGET = 0.5  # seconds for the whole test


async def one_test(kit: Kit) -> tuple[float, float, int]:
    """One test: (whole test s, create -> output s, journal lines)."""
    begin = time.perf_counter()
    dep = kit.deployment(SAMPLE)
    async with dep.workflow("order-workflow").modify() as m:
        await m.disable_sleeps()
        await m.mock_step_error({"name": "charge card"}, ConnectionError("gateway timed out"), times=5)
        await m.mock_event("shipment", {"carrier": "dhl"})
    created = time.perf_counter()
    inst = await dep.env("orders").ORDERS.create(params={"total": 5})
    output = await inst.output(timeout=30)
    ran = time.perf_counter() - created
    assert output["outcome"] == "shipped", output
    lines = len(inst.journal())
    await dep.aclose()
    return time.perf_counter() - begin, ran, lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--out", type=Path, help="also write the markdown here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="waypost-bench-testkit-"))
    counter = iter(range(1_000_000))
    kit = Kit(lambda: work / f"data-{next(counter)}")
    whole: list[float] = []
    run: list[float] = []
    lines = 0
    try:

        async def all_runs() -> None:
            nonlocal lines
            await one_test(kit)  # warm-up: imports, first use of the thread pool
            for _ in range(args.runs):
                total, ran, lines = await one_test(kit)
                whole.append(total)
                run.append(ran)

        asyncio.run(all_runs())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    median = statistics.median(whole)
    verdict = "ok" if median < TARGET else "MISS"
    text = "\n".join(
        [
            f"# Test kit bench ({time.strftime('%Y-%m-%d')}, {platform.python_implementation()} "
            f"{platform.python_version()}, {platform.machine()})",
            "",
            f"`python -m bench.testkit --runs {args.runs}`: the order workflow (5 retries of 10 s, a 1 hour "
            "sleep, a 24 hour event wait) to completion under disable_sleeps + mock_event + "
            f"mock_step_error(times=5); {lines} journal lines per instance; after one warm-up run.",
            "",
            "| Metric | min | median | max | target |",
            "|---|---|---|---|---|",
            f"| whole test (deployment, modify, create, output, stop) | {min(whole):.3f} s | {median:.3f} s "
            f"| {max(whole):.3f} s | < {TARGET} s: **{verdict}** |",
            f"| create -> output | {min(run):.3f} s | {statistics.median(run):.3f} s "
            f"| {max(run):.3f} s | - |",
            "",
        ]
    )
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")
    return 0 if verdict == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
