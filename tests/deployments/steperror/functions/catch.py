"""A workflow whose steps fail for good (no retries) and whose run() catches what step.do raises.
What the live run caught is recorded by a step ("seen ..."); the output also holds what run()
caught in its last activation, a replay from the journal after the sleep."""

from workers import WorkflowEntrypoint

from host import StepError

ONCE = {"retries": {"limit": 0, "delay": 0}}


class CardDeclined(Exception):
    """The user's own exception class: not a built-in, so run() gets a host.StepError."""


def caught(exc):
    return {
        "type": type(exc).__name__,
        "step_error": isinstance(exc, StepError),
        "name": getattr(exc, "name", None),
        "str": str(exc),
    }


class Catcher(WorkflowEntrypoint):
    async def run(self, event, step):
        out = {}

        @step.do("charge", config=ONCE)
        async def charge():
            raise CardDeclined("card ending 4242 was declined")

        try:
            await charge()
        except Exception as exc:  # noqa: BLE001 - what arrives is the point
            seen = caught(exc)
            out["user live"] = await step.do("seen charge", lambda: seen)
            out["user replayed"] = seen

        @step.do("parse", config=ONCE)
        async def parse():
            raise ValueError("not a number: 'x'")

        try:
            await parse()
        except Exception as exc:  # noqa: BLE001
            seen = caught(exc)
            out["builtin live"] = await step.do("seen parse", lambda: seen)
            out["builtin replayed"] = seen
        await step.sleep("nap", "1 second")  # run() starts again from the journal after it
        return out


async def fetch(request, env):
    parts = request.url.path.strip("/").split("/")
    if request.method == "POST":
        instance = await env.CATCHER.create(id=(await request.json())["id"])
        return {"id": instance.id}
    return await (await env.CATCHER.get(parts[1])).status()
