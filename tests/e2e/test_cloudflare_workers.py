"""Worker files written the way Cloudflare's Python examples write them, served by a real host.

Each worker below uses one of Cloudflare's Python API shapes (SPEC section 2): `request.url` as a
str, handlers with fewer parameters, `ctx.waitUntil`, `Response.redirect`, `import js`,
`pyodide.ffi`, `import asgi` with FastAPI, and outbound `workers.fetch`. The files are written for
these tests; none is copied from Cloudflare.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.helpers import ServerProcess, make_deployment, wait_for

FILES = {
    # the class form, reading the URL with the standard library as Cloudflare's examples do
    "functions/links.py": """
        from urllib.parse import parse_qs, urlparse

        from workers import Response, WorkerEntrypoint


        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                url = urlparse(request.url)
                base = request.url.split("?")[0]
                return Response.json({
                    "path": url.path,
                    "query": parse_qs(url.query),
                    "base": base,
                    "full": str(request.url),
                    "starlette": [request.url.path, request.url.query, request.url.hostname,
                                  request.url.port, request.url.scheme],
                    "param": request.query_params.getlist("tag"),
                    "client_ip": request.cf["clientIp"],
                    "js_object": request.js_object is request,
                    "body": await request.json() if request.method == "POST" else None,
                    "bytes": len(await request.bytes()),
                })
    """,
    # a class-form handler that takes no request at all
    "functions/bare.py": """
        from workers import Response, WorkerEntrypoint


        class Default(WorkerEntrypoint):
            async def fetch(self):
                return Response(f"no request needed; env holds {len(self.env)}")
    """,
    # module level, request only
    "functions/solo.py": """
        async def fetch(request):
            return "solo " + request.method
    """,
    # ctx.waitUntil runs after the response
    "functions/later.py": """
        import asyncio

        from workers import Response, WorkerEntrypoint

        DONE = []


        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                if request.url.path.endswith("/done"):
                    return Response.json(DONE)

                async def work():
                    await asyncio.sleep(0.05)
                    DONE.append(request.url.path)

                self.ctx.waitUntil(work())
                self.ctx.pass_through_on_exception()
                return Response("accepted", status=202)
    """,
    "functions/moved.py": """
        from workers import Response


        async def on_fetch(request, env, ctx):
            if request.url.path == "/moved/permanently":
                return Response.redirect("https://example.com/new-home", 301)
            return Response.redirect(request.url.replace(path="/solo"))
    """,
    # the JavaScript globals, as the oldest Cloudflare Python examples use them
    "functions/jsstyle.py": """
        from js import JSON, URL, Date, Headers, Object, Response, console
        from pyodide.ffi import create_proxy, to_js


        async def on_fetch(request, env):
            url = URL.new(request.url)
            name = url.searchParams.get("name") or "world"
            console.log("greeting", name, {"from": "jsstyle"})
            if url.pathname == "/jsstyle/headers":
                headers = Headers.new({"content-type": "text/plain", "x-style": "js"}.items())
                return Response.new("with Headers.new", headers=headers)
            body = JSON.stringify({"hello": name, "path": url.pathname, "search": url.search,
                                   "host": url.host, "ms": isinstance(Date.now(), int)})
            init = to_js({"status": 200, "headers": {"content-type": "application/json"}},
                         dict_converter=Object.fromEntries)
            create_proxy(on_fetch)
            return Response.new(body, init)
    """,
    # a JavaScript global that the stand-in does not have, touched in the handler
    "functions/nojs.py": """
        import js


        async def fetch(request, env):
            return js.WebSocketPair.new()
    """,
    # FastAPI through `import asgi`, with env in the scope and as a dependency
    "functions/api.py": """
        import asgi
        from fastapi import FastAPI, Request
        from fastapi.responses import StreamingResponse
        from workers import WorkerEntrypoint

        app = FastAPI()


        @app.get("/api/items/{item_id}")
        async def item(item_id: int, request: Request, q: str | None = None):
            return {"item_id": item_id, "q": q, "greeting": request.scope["env"].GREETING}


        @app.post("/api/echo")
        async def echo(payload: dict):
            return {"got": payload}


        @app.get("/api/env")
        async def from_dependency(env=asgi.env):
            return {"greeting": env.GREETING}


        @app.get("/api/stream")
        async def stream():
            async def parts():
                for i in range(3):
                    yield f"part {i}\\n"
            return StreamingResponse(parts(), media_type="text/plain")


        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                return await asgi.fetch(app, request, self.env)
    """,
    # outbound HTTP to another route of this same host (the only network the tests use)
    "functions/outbound.py": """
        from workers import Response, WorkerEntrypoint, fetch


        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                if request.url.path == "/outbound/proxy":
                    return await fetch(request.url.replace(path="/solo"))
                target = request.url.replace(path="/links/called", query="tag=out")
                reply = await fetch(target, method="POST", headers={"content-type": "application/json"},
                                    body='{"sent": true}')
                data = await reply.json()
                return Response.json({"status": reply.status, "ok": reply.ok,
                                      "type": reply.headers.get("content-type"), "data": data})
    """,
}

CONFIG = """
    workers:
      - name: api
        main: functions/api.py
        routes: ["/api/*"]
        vars: {GREETING: hello from env}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = make_deployment(tmp_path_factory.mktemp("cloudflare"), FILES, CONFIG)
    with ServerProcess(root, ["--no-reload"]) as server:
        yield server


def test_class_form_parses_request_url_as_a_str(server: ServerProcess) -> None:
    r = server.post("/links/a/b?tag=x&tag=y", json={"n": 1})
    assert r.status_code == 200, r.text
    data = r.json()
    port = int(server.url.rsplit(":", 1)[1])
    assert data == {
        "path": "/links/a/b",
        "query": {"tag": ["x", "y"]},
        "base": f"{server.url}/links/a/b",
        "full": f"{server.url}/links/a/b?tag=x&tag=y",
        "starlette": ["/links/a/b", "tag=x&tag=y", "127.0.0.1", port, "http"],
        "param": ["x", "y"],
        "client_ip": "127.0.0.1",
        "js_object": True,
        "body": {"n": 1},
        "bytes": len(b'{"n":1}'),
    }


def test_handlers_may_take_fewer_parameters(server: ServerProcess) -> None:
    assert server.get("/bare").text == "no request needed; env holds 0"
    assert server.post("/solo").text == "solo POST"


def test_ctx_wait_until_runs_after_the_response(server: ServerProcess) -> None:
    r = server.get("/later/job-1")
    assert (r.status_code, r.text) == (202, "accepted")
    assert wait_for(lambda: server.get("/later/done").json() == ["/later/job-1"], 15)


def test_response_redirect(server: ServerProcess) -> None:
    r = server.get("/moved/permanently", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (301, "https://example.com/new-home")
    r = server.get("/moved?x=1", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (302, f"{server.url}/solo?x=1")


def test_js_globals_and_pyodide_ffi(server: ServerProcess) -> None:
    r = server.get("/jsstyle/hi?name=ada")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    host = server.url.removeprefix("http://")
    assert r.json() == {
        "hello": "ada",
        "path": "/jsstyle/hi",
        "search": "?name=ada",
        "host": host,
        "ms": True,
    }
    assert server.wait_for_log('jsstyle console.log: greeting ada {"from":"jsstyle"}')
    r = server.get("/jsstyle/headers")
    assert (r.text, r.headers["x-style"], r.headers["content-type"]) == (
        "with Headers.new",
        "js",
        "text/plain",
    )


def test_a_js_name_the_stand_in_lacks_is_an_error_naming_it(server: ServerProcess) -> None:
    r = server.get("/nojs")
    assert r.status_code == 500
    error_id = r.headers["x-waypost-error-id"]
    log = server.wait_for_log("AttributeError: js.WebSocketPair")
    assert f"error {error_id}" in log
    assert "this JavaScript name is not in Waypost's js stand-in" in log


def test_fastapi_app_through_asgi_fetch(server: ServerProcess) -> None:
    r = server.get("/api/items/7?q=lamp")
    assert r.status_code == 200, r.text
    assert r.json() == {"item_id": 7, "q": "lamp", "greeting": "hello from env"}
    assert server.post("/api/echo", json={"a": [1, 2]}).json() == {"got": {"a": [1, 2]}}
    assert server.get("/api/env").json() == {"greeting": "hello from env"}
    assert server.get("/api/stream").text == "part 0\npart 1\npart 2\n"
    r = server.get("/api/items/not-a-number")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path", "item_id"]
    assert server.get("/api/nowhere").status_code == 404


def test_workers_fetch_calls_another_route_of_the_host(server: ServerProcess) -> None:
    r = server.get("/outbound")
    assert r.status_code == 200, r.text
    data = r.json()
    assert (data["status"], data["ok"], data["type"]) == (200, True, "application/json")
    assert data["data"]["path"] == "/links/called" and data["data"]["body"] == {"sent": True}
    assert data["data"]["param"] == ["out"]
    proxied = server.get("/outbound/proxy")  # a handler may return the fetched response as it is
    assert (proxied.status_code, proxied.text) == (200, "solo GET")
    assert re.search(
        r"GET /outbound/proxy worker=outbound status=200", server.wait_for_log("/outbound/proxy")
    )
