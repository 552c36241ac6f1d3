"""A class-form Python worker with a workflow, in the layout of a wrangler project (src/entry.py)."""

from words import shout
from workers import Response, WorkerEntrypoint, WorkflowEntrypoint


class GreetingFlow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("compose")
        async def compose():
            return shout(f"{self.env.GREETING}, {event.payload['who']}")

        return await compose()


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        path = request.url.path
        if path.startswith("/flow/"):
            instance = await self.env.GREETINGS.get(path.rsplit("/", 1)[-1])
            return Response.json(await instance.status())
        if path == "/flow":
            instance = await self.env.GREETINGS.create(params={"who": "flow"})
            return Response.json({"id": instance.id})
        punctuation = self.env.SETTINGS["punctuation"]
        return Response.json(
            {
                "greeting": f"{self.env.GREETING}{punctuation}",
                "token": self.env.API_TOKEN,
                "path": path,
                "loud": shout("hey"),
                "version": 1,
            }
        )
