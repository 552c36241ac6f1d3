"""Workflows and endpoints the benchmark drives; a worker file (loaded by `python -m host serve`)
and an importable module (bench.workers.wf) for the in-process figures."""

from __future__ import annotations

import asyncio
import os
import time

from host.workflows.entrypoint import WorkflowEntrypoint


async def noop() -> None:
    return None


class Steps(WorkflowEntrypoint):
    """`params["steps"]` no-op steps (figures 1 and 2); 1 step by default (figure 3)."""

    async def run(self, event, step):
        for i in range((event["payload"] or {}).get("steps", 1)):
            await step.do(f"s{i}", noop)
        return None


class Sleeper(WorkflowEntrypoint):
    """Figure 5: sleep until params["wake"] (epoch s), then record when it woke."""

    async def run(self, event, step):
        await step.sleep_until("nap", event["payload"]["wake"])

        async def woke() -> float:
            return time.time()

        return await step.do("woke", woke)


BLOCKED = 0  # figure 6: instances inside their blocking step in this process


class Blocker(WorkflowEntrypoint):
    """Figure 6: one step done, then a step that blocks until the release file exists, then a last step."""

    async def run(self, event, step):
        await step.do("first", noop)

        async def block() -> None:
            global BLOCKED
            if os.path.exists(event["payload"]["release"]):
                return None
            BLOCKED += 1
            await asyncio.sleep(3600)

        await step.do("block", block)

        async def after() -> float:
            return time.time()

        return await step.do("after", after)


async def fetch(request, env):
    """GET /bench/latency: create a 1-step instance and return once it is complete (figure 3 via HTTP)."""
    from workers import Response

    inst = await env.STEPS.create(params={"steps": 1})
    while True:
        st = await inst.status()
        if st["status"] in ("complete", "errored", "terminated"):
            return Response(st["status"])
        await asyncio.sleep(0.0005)
