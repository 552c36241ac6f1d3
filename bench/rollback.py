"""Rollback bench: what an undo costs next to a step, measured in the same run.

    python -m bench.rollback                       # 200 instances x 5 steps, fsync; prints markdown
    python -m bench.rollback --instances 50 --steps 3 --durability relaxed --rounds 3

In-process engine on a temporary data directory (removed after). Three workflows, each run with
the same number of instances and steps, one round of each after another, `--rounds` times:

- plain:    K `step.do` steps, then return;
- saga:     K `step.with_rollback` steps (no rollback): what registering an undo costs;
- rollback: K `step.with_rollback` steps, then `step.rollback_all()`: K undos run, each a
  durable step (an undo_start line, then an undo_done line made durable before the next).

Reported: the median time per instance of each, and the ratios saga/plain (what registering
undos costs) and (rollback - saga)/saga (what rolling back adds to a run of K steps; each undo is
journalled like a step, plus a rollback_start and a rollback_end, while a run's fixed costs,
create, load and status writes, are paid once).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.engine_api import wait_complete
from host import WorkflowEntrypoint


def _plain(step: Any, n: int) -> Any:
    @step.do(f"step {n}")
    async def book() -> int:  # async, as the undoable one: no worker thread for either
        return n

    return book


class Plain(WorkflowEntrypoint):  # type: ignore[misc]
    async def run(self, event: Any, step: Any) -> int:
        for n in range(event.payload["steps"]):
            await _plain(step, n)()
        return 0


def _booking(step: Any, n: int) -> Any:
    @step.with_rollback(f"step {n}")
    async def book() -> int:
        return n

    @book.undo
    async def unbook(error: Any, value: Any) -> None:
        return None

    return book


class Saga(WorkflowEntrypoint):  # type: ignore[misc]
    async def run(self, event: Any, step: Any) -> int:
        for n in range(event.payload["steps"]):
            await _booking(step, n)()
        if event.payload.get("roll_back"):
            await step.rollback_all(None)
        return 0


async def one_round(
    data_dir: Path, kind: str, instances: int, steps: int, durability: str, tag: str
) -> float:
    """Seconds per instance for `instances` instances of `kind`, all created at once."""
    from host.store.filestore import FileStore
    from host.workflows.binding import WorkflowBinding
    from host.workflows.engine import Engine, WorkflowDef
    from host.workflows.service import WorkflowService

    cls = Plain if kind == "plain" else Saga
    async with Engine(FileStore(data_dir, durability), hibernate_after=1.0) as engine:
        engine.set_workflows({kind: WorkflowDef(kind, load_class=lambda: cls, env=None)})
        binding = WorkflowBinding(WorkflowService(engine), kind)
        params = {"steps": steps, "roll_back": kind == "rollback"}
        ids = [f"{tag}-{n}" for n in range(instances)]
        started = time.perf_counter()
        for start in range(0, instances, 100):
            await binding.create_batch([{"id": i, "params": params} for i in ids[start : start + 100]])
        await wait_complete(data_dir, kind, ids)
        return (time.perf_counter() - started) / instances


async def measure(instances: int, steps: int, durability: str, rounds: int) -> dict[str, float]:
    times: dict[str, list[float]] = {"plain": [], "saga": [], "rollback": []}
    with tempfile.TemporaryDirectory(prefix="bench-rollback-") as tmp:
        for r in range(rounds):
            for kind in times:
                times[kind].append(await one_round(Path(tmp), kind, instances, steps, durability, f"r{r}"))
    return {kind: statistics.median(values) for kind, values in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rollback", description=__doc__.split("\n")[0])
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--durability", choices=("fsync", "relaxed"), default="fsync")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args()
    got = asyncio.run(measure(args.instances, args.steps, args.durability, args.rounds))
    rows = [
        f"Rollback bench: {args.instances} instances x {args.steps} steps, durability {args.durability}, "
        f"median of {args.rounds} rounds",
        "",
        "| workflow | ms per instance |",
        "| --- | --- |",
        *(f"| {kind} | {value * 1000:.2f} |" for kind, value in got.items()),
        "",
        f"saga / plain (registering undos): {got['saga'] / got['plain']:.2f}",
        f"(rollback - saga) / saga (what rolling back adds to the run): "
        f"{(got['rollback'] - got['saga']) / got['saga']:.2f}",
    ]
    text = "\n".join(rows)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
