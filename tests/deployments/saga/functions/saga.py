"""Test worker for rollback and restart from a step, driven by params.

Each step body and each undo appends one line to the file params["log"] (outside data/), so the
tests count what really ran: "do <name>", "undo <name> <value> <error type>".
"""

import asyncio
import os

from workers import Response, WorkflowEntrypoint


def note(path, text):
    with open(path, "a") as fh:
        fh.write(text + "\n")


def booking(step, p, name):
    """A with_rollback step named `name` and its undo, as Cloudflare's Python docs write them."""
    log = p["log"]

    @step.with_rollback(name)
    async def reserve():
        note(log, f"do {name}")
        return {"booked": name}

    retries = {"retries": {"limit": p.get("undo_retries", 0), "delay": p.get("undo_delay", 0)}}

    @reserve.undo(config=retries)
    async def cancel(error, value):
        note(log, f"undo {name} {value['booked']} {type(error).__name__ if error else None}")
        if name == p.get("fail_undo"):
            raise ValueError(f"cannot cancel {name}")
        if name == p.get("flaky_undo") and open(log).read().count(f"undo {name} ") == 1:
            raise ConnectionError(f"{name}: try again")
        if name == p.get("block_undo"):  # waits for a marker file (a kill -9 lands here)
            while not os.path.exists(p["gate"]):
                await asyncio.sleep(0.02)
        if name == p.get("nested_undo"):
            try:
                await step.rollback_all(None)
            except RuntimeError as exc:
                note(log, f"nested {type(exc).__name__}: {exc}")

    return reserve


class Trip(WorkflowEntrypoint):
    async def run(self, event, step):
        p = event.payload
        for name in p["steps"]:
            await booking(step, p, name)()
        then = p.get("then")
        if then == "rollback_all":
            try:
                await step.rollback_all(ValueError("changed my mind"))
            except Exception as exc:
                note(p["log"], f"rollback_all raised {type(exc).__name__}: {exc}")
                return "caught"
            note(p["log"], "rollback_all returned")
            await step.rollback_all(None)  # nothing left: each undo runs at most once
            return "rolled back"
        if then == "raise":
            raise RuntimeError("no rooms left")
        if then == "wait":
            await step.wait_for_event("hold", "go", timeout="1 hour")
        if then == "block":  # a step that runs until the marker file exists

            @step.with_rollback("slow")
            async def slow():
                note(p["log"], "do slow")
                while not os.path.exists(p["gate"]):
                    await asyncio.sleep(0.02)
                return "slow"

            @slow.undo
            async def unslow(error, value):
                note(p["log"], "undo slow")

            await slow()
        if then == "no_undo":

            @step.with_rollback("forgotten")
            async def forgotten():
                return 1

            await forgotten()
        return "done"


class Steps(WorkflowEntrypoint):
    """ops: ["do", name] | ["wait", name, type] | ["sleep", name, seconds]; output: what each gave."""

    async def run(self, event, step):
        p, out = event.payload, []
        for op in p["ops"]:
            kind, name = op[0], op[1]
            if kind == "do":

                async def body(ctx, name=name):
                    note(p["log"], f"do {name} #{ctx.step.count}")
                    return f"{name} #{ctx.step.count}"

                out.append(await step.do(name, body))
            elif kind == "wait":
                out.append((await step.wait_for_event(name, op[2], timeout="1 hour"))["payload"])
            elif kind == "sleep":
                await step.sleep(name, op[2])
                out.append(f"slept {name}")
        return out


async def fetch(request, env):
    parts = request.url.path.strip("/").split("/")[1:]
    binding = env[parts[0]]
    body = await request.json() if await request.body() else {}
    try:
        if request.method == "POST" and len(parts) == 1:
            instance = await binding.create(id=body.get("id"), params=body.get("params"))
            return {"id": instance.id}
        instance = await binding.get(parts[1])
        if request.method == "GET":
            return await instance.status()
        if parts[2] == "event":
            await instance.send_event(type=parts[3], payload=body)
        else:  # pause, resume, terminate (rollback=...), restart (from_step=...)
            await getattr(instance, parts[2])(**body)
        return {"ok": True}
    except Exception as exc:  # the tests look at the error's type and message
        return Response.json({"error": type(exc).__name__, "message": str(exc)}, status=400)
