"""A class-form Python worker read through wrangler.toml."""

from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return Response(f"{self.env.TITLE} at {request.url.path} signed with {self.env.SIGNING_KEY}")
