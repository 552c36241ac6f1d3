"""The deployment the dashboard, metrics and log tests serve: a workflow with every kind of step,
a long one to pause, and a worker that fails to load."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.helpers import ServerProcess, make_deployment

TOKEN = "dash-token"

WORKER = '''
import asyncio

from workers import Response, WorkflowEntrypoint


async def on_fetch(request, env):
    return Response("hello from jobs")


class Steps(WorkflowEntrypoint):
    """first, a wait for an "approval" event, a step that fails once and is retried, a sleep, last."""

    async def run(self, event, step):
        params = event.payload or {}
        first = await step.do("first", lambda: {"n": params.get("n", 1)})
        got = await step.wait_for_event("approval", "approval", timeout="1 hour")

        async def flaky(ctx):
            if ctx.attempt == 1:
                raise ValueError("attempt 1 fails on purpose")
            return ctx.attempt

        tries = await step.do("flaky", {"retries": {"limit": 2, "delay": "200 milliseconds"}}, flaky)
        await step.sleep("nap", "300 milliseconds")
        last = await step.do("last", lambda: "done")
        return {"first": first, "approved": got["payload"], "tries": tries, "last": last}


class Trip(WorkflowEntrypoint):
    """A saga: "reserve" has an undo; "pay" fails, so the undo runs."""

    async def run(self, event, step):
        @step.with_rollback("reserve")
        async def reserve():
            return {"booking": 7}

        @reserve.undo
        async def cancel(error, value):
            return None

        await reserve()

        def pay():
            raise ValueError("card declined")

        try:
            await step.do("pay", {"retries": {"limit": 0}}, pay)
        except Exception as exc:
            await step.rollback_all(exc)
            return {"booked": False}
        return {"booked": True}


class Long(WorkflowEntrypoint):
    """Many short steps: runs long enough to be paused and resumed."""

    async def run(self, event, step):
        for i in range(400):
            async def tick(i=i):
                await asyncio.sleep(0.05)
                return i

            await step.do(f"tick-{i}", tick)
        return "ticked"
'''

BROKEN = """
def on_fetch(request, env):
    return "never"

this is not python
"""

CONFIG = """
host:
  data_dir: data
  hibernate_after: 0.2
workers:
  - name: jobs
    main: functions/jobs.py
    routes: ["/jobs"]
    workflows:
      - {name: steps, binding: STEPS, class_name: Steps}
      - {name: long, binding: LONG, class_name: Long}
      - {name: trip, binding: TRIP, class_name: Trip}
  - name: broken
    main: functions/broken.py
    routes: ["/broken"]
"""


def dashboard_deployment(tmp_path: Path) -> Path:
    return make_deployment(tmp_path, {"functions/jobs.py": WORKER, "functions/broken.py": BROKEN}, CONFIG)


def api_client(server: ServerProcess, base: str, token: str = TOKEN) -> Iterator[httpx.Client]:
    """An admin API client at `base` with the token (the body of the tests' `api` fixtures)."""
    with httpx.Client(
        base_url=server.url + base, headers={"Authorization": f"Bearer {token}"}, timeout=10
    ) as c:
        yield c
