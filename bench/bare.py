"""The HTTP baseline of figure 4: the same server stack (uvicorn + Starlette) with no host in front."""

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route


async def hello(request):
    return PlainTextResponse(f"Hello, {request.query_params.get('name', 'world')}!\n")


app = Starlette(routes=[Route("/hello", hello)])
