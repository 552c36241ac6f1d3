"""The request, response and headers types in Cloudflare's Python shapes, which stay Starlette's."""

from __future__ import annotations

import json
from urllib.parse import urlparse

import pytest
from starlette.datastructures import URL as StarletteURL
from starlette.requests import Request as StarletteRequest
from starlette.responses import Response as StarletteResponse

from host.runtime.http import URL, Headers, Request, Response

FULL = "https://shop.example:8443/cart/items?id=7&id=8&q=a%20b"


def test_request_url_is_a_str_with_starlette_url_attributes() -> None:
    url = Request(FULL).url
    assert isinstance(url, str) and isinstance(url, StarletteURL)
    assert url == FULL and str(url) == FULL and type(str(url)) is str and f"{url}" == FULL
    assert urlparse(url).path == "/cart/items" and url.split("?") == [FULL.split("?")[0], FULL.split("?")[1]]
    assert (url.path, url.query, url.hostname, url.port, url.scheme, url.netloc) == (
        "/cart/items",
        "id=7&id=8&q=a%20b",
        "shop.example",
        8443,
        "https",
        "shop.example:8443",
    )
    assert url.components.fragment == "" and url.is_secure
    assert {url: 1}[FULL] == 1 and json.dumps({"u": url}) == json.dumps({"u": FULL})


def test_url_replace_is_str_replace_with_arguments_and_starlette_replace_with_keywords() -> None:
    url = URL(FULL)
    assert url.replace("https://", "http://") == FULL.replace("https://", "http://")
    moved = url.replace(path="/elsewhere", query="")
    assert isinstance(moved, URL) and moved == "https://shop.example:8443/elsewhere"
    assert url.include_query_params(page=2).endswith("&page=2")
    assert (
        URL(scope={"type": "http", "path": "/p", "query_string": b"", "headers": [(b"host", b"h")]})
        == "http://h/p"
    )


@pytest.mark.anyio
async def test_request_body_readers_cf_and_js_object() -> None:
    request = Request(
        "http://localhost/x", method="post", headers={"Content-Type": "application/json"}, body='{"a": 1}'
    )
    assert isinstance(request, StarletteRequest) and request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    assert await request.bytes() == b'{"a": 1}' and await request.text() == '{"a": 1}'
    assert await request.json() == {"a": 1}
    assert request.cf["clientIp"] == "127.0.0.1" and request.cf["httpProtocol"] == "HTTP/1.1"
    assert request.js_object is request
    assert dict(request.query_params) == {} and request.url.path == "/x"


@pytest.mark.anyio
async def test_response_json_redirect_and_readers() -> None:
    made = Response.json({"a": "é"}, status=201, headers=[("x-a", "1"), ("x-a", "2")])
    assert isinstance(made, StarletteResponse) and made.status == 201 and made.ok
    assert made.headers.getlist("x-a") == ["1", "2"] and made.media_type == "application/json"
    assert (
        await made.json() == {"a": "é"}
        and await made.text() == '{"a":"é"}'
        and await made.bytes() == made.body
    )
    moved = Response.redirect("https://example.com/", 307)
    assert (moved.status_code, moved.headers["location"], moved.ok) == (307, "https://example.com/", False)
    assert Response.redirect("/x").status_code == 302
    with pytest.raises(ValueError, match="200 is not one of 301, 302, 303, 307, 308"):
        Response.redirect("/x", 200)


def test_headers_from_a_dict_or_pairs() -> None:
    headers = Headers({"Content-Type": "text/plain"})
    headers.set("X-One", "1")
    headers.append("x-one", "2")
    assert headers.has("x-ONE") and headers.get("content-type") == "text/plain"
    assert headers.getlist("x-one") == ["1", "2"]
    headers.delete("x-one")
    assert headers.entries() == [("content-type", "text/plain")]
    assert Headers([("a", "1"), ("a", "2")]).getlist("a") == ["1", "2"]
    assert Headers({"a": "1"}.items())["A"] == "1"
