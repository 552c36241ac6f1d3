"""The class form, with vars and a service binding (see config.yaml)."""

from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        # env.HELLO calls the hello worker in-process, no network hop
        hello = await self.env.HELLO.fetch("http://hello/hello?name=greeter")
        return Response.json(
            {
                "greeting": self.env.GREETING,
                "from_hello": (await hello.text()).strip(),
                "url": str(request.url),
            }
        )
