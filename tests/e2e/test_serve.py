"""Serving over real HTTP: handler forms, return types, env, service bindings, routes, errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import ServerProcess, make_deployment

FILES = {
    "functions/hello.py": """
        from workers import Response

        async def fetch(request, env):
            return Response("hello " + str(request.url), headers={"x-env-size": str(len(env))})
    """,
    "functions/echo.py": """
        async def on_fetch(request, env, ctx):
            return {"method": request.method, "body": await request.text(), "path": request.url.path}
    """,
    "functions/kinds.py": """
        import host

        async def fetch(request, env, ctx):
            kind = request.url.path.rsplit("/", 1)[-1]
            if kind == "list":
                return [1, "two", None]
            if kind == "str":
                return "plain text"
            if kind == "json":
                return host.Response.json({"ok": True}, status=201, headers={"x-kind": "json"})
            if kind == "none":
                return None
            if kind == "boom":
                raise ValueError("kaboom in the handler")
            return 42
    """,
    "functions/api.py": """
        from workers import Response, WorkerEntrypoint

        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                hello = await self.env.HELLO.fetch("http://internal/hello/from-api", method="POST",
                                                   body="ignored")
                return Response.json({
                    "currency": self.env.CURRENCY,
                    "limit": self.env["LIMIT"],
                    "has_ctx": hasattr(self.ctx, "wait_until"),
                    "hello_status": hello.status,
                    "hello": await hello.text(),
                    "path": request.url.path,
                })
    """,
    "functions/shop.py": "async def fetch(request, env):\n    return 'shop'\n",
    "functions/special.py": "async def fetch(request, env):\n    return 'special'\n",
    "functions/vhost.py": "async def fetch(request, env):\n    return 'vhost ' + request.headers['host']\n",
    "functions/_private.py": "async def fetch(request, env):\n    return 'private'\n",
    "functions/pkg/__init__.py": "from ._impl import fetch\n",
    "functions/pkg/_impl.py": "async def fetch(request, env):\n    return 'from a package'\n",
}

CONFIG = """
    workers:
      - name: api
        main: functions/api.py
        routes: ["/api", "/api/*"]
        vars: {CURRENCY: EUR, LIMIT: 3}
        services:
          - {binding: HELLO, service: hello}
      - name: shop
        main: functions/shop.py
        routes: ["/shop/*"]
      - name: special
        main: functions/special.py
        routes: ["/shop/special/*", "/shop/special"]
      - name: vhost
        main: functions/vhost.py
        routes: ["api.example.com/*"]
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = make_deployment(tmp_path_factory.mktemp("serve"), FILES, CONFIG)
    with ServerProcess(root, ["--no-reload"]) as server:
        yield server


def test_drop_in_file_is_served_at_its_stem(server: ServerProcess) -> None:
    for path in ("/hello", "/hello/deeper/path?x=1"):
        r = server.get(path)
        assert r.status_code == 200
        assert r.text == f"hello {server.url}{path}"
        assert r.headers["x-env-size"] == "0"  # a drop-in's env is empty


def test_drop_in_package_and_private_files(server: ServerProcess) -> None:
    assert server.get("/pkg").text == "from a package"
    assert server.get("/_private").status_code == 404


def test_on_fetch_form_reads_body_and_returns_json(server: ServerProcess) -> None:
    r = server.post("/echo/x", content="héllo body")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == {"method": "POST", "body": "héllo body", "path": "/echo/x"}


def test_return_types_are_coerced(server: ServerProcess) -> None:
    assert server.get("/kinds/list").json() == [1, "two", None]
    r = server.get("/kinds/str")
    assert (r.text, r.headers["content-type"].split(";")[0]) == ("plain text", "text/plain")
    r = server.get("/kinds/json")
    assert (r.status_code, r.json(), r.headers["x-kind"]) == (201, {"ok": True}, "json")


@pytest.mark.parametrize(
    ("path", "logged"), [("/kinds/none", "returned NoneType None"), ("/kinds/other", "returned int 42")]
)
def test_unsupported_return_value_is_a_500_that_says_what(
    server: ServerProcess, path: str, logged: str
) -> None:
    r = server.get(path)
    assert r.status_code == 500
    error_id = r.headers["x-waypost-error-id"]
    log = server.wait_for_log(f"error {error_id}")
    assert logged in log


def test_handler_exception_gives_500_with_error_id_then_keeps_serving(server: ServerProcess) -> None:
    r = server.get("/kinds/boom")
    assert r.status_code == 500
    match = re.search(r"error id: ([0-9a-f]{8})", r.text)
    assert match, r.text
    error_id = match.group(1)
    assert "kaboom" not in r.text  # details stay in the log
    # The module's server has logged other 500s: wait for this request's own line, which is
    # written after the response is sent, and for the traceback.
    server.wait_for_log("GET /kinds/boom worker=kinds status=500")
    log = server.wait_for_log("ValueError: kaboom in the handler")
    assert re.search(rf"GET /kinds/boom worker=kinds status=500 [0-9.]+ms error={error_id}", log)
    after = log.split(f"error {error_id}", 1)[1]
    assert "Traceback" in after and "ValueError: kaboom in the handler" in after
    assert server.get("/hello").status_code == 200


def test_one_log_line_per_request(server: ServerProcess) -> None:
    server.get("/echo/once-only")
    log = server.wait_for_log("GET /echo/once-only")
    lines = [line for line in log.splitlines() if "/echo/once-only" in line]
    assert len(lines) == 1
    assert re.search(r"GET /echo/once-only worker=echo status=200 [0-9.]+ms$", lines[0])


def test_configured_class_worker_with_vars_and_service_binding(server: ServerProcess) -> None:
    r = server.get("/api/orders")
    assert r.status_code == 200
    assert r.json() == {
        "currency": "EUR",
        "limit": 3,
        "has_ctx": True,
        "hello_status": 200,
        "hello": "hello http://internal/hello/from-api",
        "path": "/api/orders",
    }


def test_unknown_route_is_404(server: ServerProcess) -> None:
    r = server.get("/nowhere/at/all")
    assert r.status_code == 404
    assert server.wait_for_log("GET /nowhere/at/all worker=- status=404")


def test_longest_route_wins(server: ServerProcess) -> None:
    assert server.get("/shop/shoes").text == "shop"
    assert server.get("/shop/special").text == "special"
    assert server.get("/shop/special/offer").text == "special"
    assert server.get("/shop").status_code == 404  # "/shop/*" does not match "/shop"


def test_host_pattern_route_matches_the_host_header(server: ServerProcess) -> None:
    r = server.get("/api/orders", headers={"host": "api.example.com:8080"})
    assert r.text == "vhost api.example.com:8080"
    assert server.get("/anything", headers={"host": "api.example.com"}).text == "vhost api.example.com"
    assert server.get("/anything", headers={"host": "other.example.com"}).status_code == 404


def test_data_dir_is_created(server: ServerProcess) -> None:
    assert Path(server.root, "data").is_dir()
