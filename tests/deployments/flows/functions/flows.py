"""Test worker: one scripted workflow class driven by its params, and HTTP access to its bindings.

Every step appends a line "<pid> <attempt>" to MARKS/<instance>.<step>, so tests count how often
each step really ran, and in which process.
"""

import asyncio
import os
import pathlib
import time

from workers import Response, WorkflowEntrypoint
from workers.workflows import NonRetryableError

from host import WaitTimeoutError

MARKS = pathlib.Path(os.environ["TEST_MARKS"])


def mark(instance, name, attempt=1):
    with open(MARKS / f"{instance}.{name}", "a") as fh:
        fh.write(f"{os.getpid()} {attempt}\n")


async def marked(instance, name, within=10.0):
    """True once step `name` of `instance` has marked a run; False if it has not within `within` s."""
    deadline = time.monotonic() + within
    while not (MARKS / f"{instance}.{name}").exists():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


class Script(WorkflowEntrypoint):
    async def run(self, event, step):
        iid, out = event.instance_id, []
        for op in event.payload.get("ops", []):
            kind, name = op[0], op[1]
            if kind == "do":

                async def body(ctx, name=name):
                    mark(iid, name, ctx.attempt)
                    return f"{name} done"

                out.append(await step.do(name, body))
            elif kind == "sync":

                def body(name=name):
                    mark(iid, name)
                    return name.upper()

                out.append(await step.do(name, body))
            elif kind == "block":  # runs until the gate file op[2] exists

                async def body(name=name, gate=op[2]):
                    mark(iid, name)
                    while not (MARKS / gate).exists():
                        await asyncio.sleep(0.02)
                    return f"{name} released"

                out.append(await step.do(name, body))
            elif kind == "flaky":  # fails until attempt op[2]; op[3] retries
                config = {"retries": {"limit": op[3], "delay": "50 ms", "backoff": "constant"}}

                async def body(ctx, name=name, ok_at=op[2]):
                    mark(iid, name, ctx.attempt)
                    if ctx.attempt < ok_at:
                        raise ValueError(f"attempt {ctx.attempt} failed")
                    return ctx.attempt

                try:
                    out.append(await step.do(name, config, body))
                except ValueError as exc:
                    out.append(f"caught ValueError: {exc}")
            elif kind == "fatal":

                def body(name=name):
                    mark(iid, name)
                    raise NonRetryableError("card declined", "CardError")

                out.append(await step.do(name, body))
            elif kind == "slowstep":  # exceeds its timeout on attempt 1 only
                config = {"retries": {"limit": 1, "delay": 10, "backoff": "constant"}, "timeout": "200 ms"}

                async def body(ctx, name=name):
                    mark(iid, name, ctx.attempt)
                    if ctx.attempt == 1:
                        await asyncio.sleep(5)
                    return ctx.attempt

                out.append(await step.do(name, config, body))
            elif kind == "sleep":
                await step.sleep(name, op[2])
                out.append(f"slept {name}")
            elif kind == "wait":
                try:
                    event_ = await step.wait_for_event(name, op[2], timeout=op[3])
                    out.append(event_["payload"])
                except WaitTimeoutError:
                    out.append("timeout")
            elif kind == "guarded":  # a user's broad except must not swallow hibernation
                try:
                    await step.sleep(name, 0.1)
                    out.append("slept through")
                except Exception as exc:
                    out.append(f"swallowed {type(exc).__name__}")
            elif kind == "until":
                await step.sleep_until(name, time.time() + op[2])
                out.append(f"woke {name}")
            elif kind == "dag":  # two concurrent branches feeding a join, by name and by position

                met = {}  # each branch waits to see the other start: they can only both run if they overlap

                @step.do(f"{name}-left")
                async def left(ctx):
                    mark(iid, f"{name}-left")  # noqa: B023 - awaited within the iteration
                    met["left"] = await marked(iid, f"{name}-right")  # noqa: B023
                    return ctx.step.name

                @step.do(f"{name}-right")
                async def right():
                    mark(iid, f"{name}-right")  # noqa: B023 - awaited within the iteration
                    met["right"] = await marked(iid, f"{name}-left")  # noqa: B023
                    return "R"

                @step.do(f"{name}-join", depends=[left, right], concurrent=True)
                async def join(right, left):
                    mark(iid, f"{name}-join")  # noqa: B023 - awaited within the iteration
                    return f"{left}+{right}"

                @step.do(f"{name}-after", depends=[join])
                def after(value):
                    return value.upper()

                out.append(await after())
                out.append(await join())  # a decorated step runs once; later calls share its result
                out.append(all(met.values()))  # left and right overlapped (replayed: nothing to check)
            elif kind == "big":
                out.append(await step.do(name, lambda: "x" * (1024 * 1024 + 1)))
        return out


def process_settings():
    """What library code must never change in the process: the collector, the GIL, the fd limit."""
    import gc
    import resource
    import sys

    return {
        "gc_enabled": gc.isenabled(),
        "gc_threshold": list(gc.get_threshold()),
        "switch_interval": sys.getswitchinterval(),
        "nofile": list(resource.getrlimit(resource.RLIMIT_NOFILE)),
    }


async def fetch(request, env):
    parts = request.url.path.strip("/").split("/")[1:]
    if parts == ["_process"]:
        return process_settings()
    binding = env[parts[0]]
    body = await request.json() if await request.body() else None
    try:
        if request.method == "POST" and len(parts) == 1:
            body = body or {}
            instance = await binding.create(id=body.get("id"), params=body.get("params"))
            return {"id": instance.id}
        if request.method == "POST" and parts[1] == "batch":
            return [i.id for i in await binding.create_batch(body)]
        instance = await binding.get(parts[1])
        if request.method == "GET":
            return await instance.status()
        if parts[2] == "event":
            await instance.send_event(type=parts[3], payload=body)
        else:
            await getattr(instance, parts[2])()
        return {"ok": True}
    except Exception as exc:  # the tests look at the error's type and message
        return Response.json({"error": type(exc).__name__, "message": str(exc)}, status=400)
