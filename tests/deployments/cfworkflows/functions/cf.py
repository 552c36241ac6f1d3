"""Workflows written the way Cloudflare's Python Workflows docs write them (written for these tests)."""

import datetime

from workers import Response, WorkflowEntrypoint


class Dag(WorkflowEntrypoint):
    """Implicit dependencies: a parameter named after a decorated step gets its result."""

    async def run(self, event, step):
        @step.do("dependency 1")
        async def dep_1():
            return "one"

        @step.do("dependency 2")
        async def dep_2():
            return "two"

        @step.do("final step", concurrent=True)
        async def final(dep_1, dep_2):
            return f"{dep_1}+{dep_2}"

        return await final()


class BadParam(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("lonely")
        async def lonely(nothing_by_that_name):
            return 1

        return await lonely()


class Context(WorkflowEntrypoint):
    """ctx read as keys, and a zero retry delay (retry at once)."""

    async def run(self, event, step):
        async def flaky(ctx):
            if ctx["attempt"] < 3:
                raise ValueError(f"attempt {ctx['attempt']}")
            return {"attempt": ctx["attempt"], "name": ctx["step"]["name"], "count": ctx.step.count}

        config = {"retries": {"limit": 5, "delay": 0, "backoff": "constant"}}
        return await step.do("flaky", config, flaky)


class Dates(WorkflowEntrypoint):
    """A step returning datetime and date values gets them back, also after a replay."""

    async def run(self, event, step):
        when = await step.do(
            "when",
            lambda: {"at": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
                     "day": datetime.date(2026, 1, 2)},
        )
        first = [type(when["at"]).__name__, type(when["day"]).__name__]
        await step.sleep("replay after this", 0.05)
        again = await step.do("when", lambda: None)  # name reused: a second step, not a replay
        return {"first": first, "at": when["at"].isoformat(), "day": when["day"].isoformat(),
                "types": [type(when["at"]).__name__, type(when["day"]).__name__], "again": again}


class Older(WorkflowEntrypoint):
    """Cloudflare's older method name."""

    async def on_run(self, event, step):
        return await step.do("older", lambda: "on_run ran")


class CtorEnv(WorkflowEntrypoint):
    """The (ctx, env) constructor of Cloudflare's Python SDK, with super().__init__."""

    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        self.greeting = env.GREETING

    async def run(self, event, step):
        return await step.do("greet", lambda: f"{self.greeting} from {self.env.GREETING}")


async def fetch(request, env):
    parts = request.url.path.strip("/").split("/")[1:]
    binding = env[parts[0]]
    if request.method == "POST":
        instance = await binding.create()
        return {"id": instance.id}
    return await (await binding.get(parts[1])).status()
