"""The `js`, `pyodide` and `workers` stand-ins: what they have, and that anything else is named."""

from __future__ import annotations

import importlib
import logging
import sys

import pytest

from host import compat
from host.runtime.http import Response

compat.register()
js = importlib.import_module("js")
ffi = importlib.import_module("pyodide.ffi")


def test_stand_ins_resolve_only_through_the_finder() -> None:
    assert js is importlib.import_module("host.compat.js")
    assert ffi is importlib.import_module("host.compat.pyodide.ffi")
    assert importlib.import_module("asgi") is importlib.import_module("host.compat.asgi")
    assert importlib.import_module("pyodide.http").pyfetch is not None


@pytest.mark.parametrize(
    ("get", "named"),
    [
        (lambda: js.WebSocketPair, "js.WebSocketPair"),
        (lambda: js.console.table, "js.console.table"),
        (lambda: js.URL.canParse, "js.URL.canParse"),
        (lambda: js.URL.new("https://a.example/").nope, "js.URL.nope"),
        (lambda: js.Response.error, "js.Response.error"),
        (lambda: ffi.to_py, "pyodide.ffi.to_py"),
        (lambda: compat.DurableObject, "workers.DurableObject"),
    ],
)
def test_anything_not_covered_is_an_attribute_error_naming_it(get: object, named: str) -> None:
    with pytest.raises(AttributeError, match=named.replace(".", r"\.")):
        get()  # type: ignore[operator]


def test_from_js_import_of_a_missing_name_fails() -> None:
    with pytest.raises(ImportError, match="HTMLRewriter"):
        exec("from js import HTMLRewriter", {})


def test_url_and_search_params() -> None:
    url = js.URL.new("https://User:pw@Example.com:443/a/b?x=1&y=two%20words#top")
    assert (url.protocol, url.hostname, url.port, url.host, url.pathname) == (
        "https:",
        "example.com",
        "",
        "example.com",
        "/a/b",
    )
    assert (url.search, url.hash, url.origin, url.username) == (
        "?x=1&y=two%20words",
        "#top",
        "https://example.com",
        "User",
    )
    assert url.searchParams.get("y") == "two words" and url.searchParams.get("z") is None
    url.searchParams.append("z", "3")
    url.hostname = "other.example"
    url.pathname = "/c"
    assert url.href == "https://User:pw@other.example/c?x=1&y=two+words&z=3#top" == url.toString() == str(url)
    assert js.URL.new("/rel?q=1", "http://h.example:8080/base/").href == "http://h.example:8080/rel?q=1"
    with pytest.raises(TypeError, match="invalid URL"):
        js.URL.new("not a url")
    params = js.URLSearchParams.new({"a": "1", "b": "2"})
    params.set("a", "9")
    params.delete("b")
    assert (params.toString(), params.size, params.getAll("a"), params.has("b")) == ("a=9", 1, ["9"], False)


@pytest.mark.anyio
async def test_response_new_and_json() -> None:
    made = js.Response.new("hi", status=201, headers=js.Headers.new({"x-a": "1"}.items()))
    assert isinstance(made, Response) and (made.status_code, made.headers["x-a"], made.body) == (
        201,
        "1",
        b"hi",
    )
    init = ffi.to_js({"status": 404, "headers": {"x-b": "2"}}, dict_converter=js.Object.fromEntries)
    assert js.Response.new(b"\x00", init).headers["x-b"] == "2"
    as_json = js.Response.json({"ok": True}, headers={"x-c": "3"})
    assert (await as_json.json(), as_json.headers["x-c"], as_json.media_type) == (
        {"ok": True},
        "3",
        "application/json",
    )
    assert js.Response.redirect("https://a.example/", 301).headers["location"] == "https://a.example/"
    with pytest.raises(TypeError, match="unknown init key"):
        js.Response.new("x", {"stauts": 200})
    with pytest.raises(TypeError, match="body must be"):
        js.Response.new({"not": "a body"})


def test_json_object_date_crypto_and_uri_functions() -> None:
    assert js.JSON.stringify({"a": [1, "é"]}) == '{"a":[1,"é"]}'
    assert js.JSON.stringify({"a": 1}, None, 2) == '{\n  "a": 1\n}'
    parsed = js.JSON.parse('{"user": {"name": "ada"}}')
    assert parsed.user.name == "ada" and parsed["user"]["name"] == "ada"
    assert parsed.to_py() == {"user": {"name": "ada"}} and type(parsed.to_py()["user"]) is dict
    assert js.Object.fromEntries([["a", 1], ("b", 2)]) == {"a": 1, "b": 2}
    assert js.Object.keys({"a": 1}) == ["a"] and js.Object.entries({"a": 1}) == [["a", 1]]
    assert isinstance(js.Date.now(), int) and js.Date.now() > 1_700_000_000_000
    assert len(js.crypto.randomUUID()) == 36
    assert js.encodeURIComponent("a b/c?") == "a%20b%2Fc%3F" and js.decodeURIComponent("a%20b") == "a b"
    assert js.encodeURI("https://a.example/a b?q=1") == "https://a.example/a%20b?q=1"


def test_console_writes_to_the_host_log(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="waypost.console"):
        js.console.log("count", 3, {"k": "v"})
        js.console.warn("careful")
        js.console.error("broken")
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.INFO, '- console.log: count 3 {"k":"v"}'),
        (logging.WARNING, "- console.warn: careful"),
        (logging.ERROR, "- console.error: broken"),
    ]


def test_pyodide_ffi_returns_its_argument() -> None:
    value = {"a": 1}
    assert ffi.to_js(value) is value and ffi.create_proxy(value) is value
    assert ffi.create_once_callable(len) is len and ffi.IN_BROWSER is False
    assert isinstance(js.JSON.parse("{}"), ffi.JsProxy)
    assert "pyodide" not in sys.modules or sys.modules["pyodide"].__name__ == "host.compat.pyodide"
