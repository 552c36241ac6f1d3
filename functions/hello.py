"""A drop-in worker: no config needed; served at /hello and /hello/*."""

from workers import Response


async def fetch(request, env):
    name = request.query_params.get("name", "world")
    return Response(f"Hello, {name}!\n")
