from __future__ import annotations

import pytest

from host.runtime.routing import RouteTable

TABLE = RouteTable.build(
    [
        ("root", ["/*"]),
        ("billing", ["/billing", "/billing/*"]),
        ("invoices", ["/billing/invoices/*"]),
        ("exact", ["/billing/invoices/special"]),
        ("api", ["api.example.com/*"]),
        ("api-v2", ["api.example.com/v2/*"]),
        ("wild", ["*.shop.example/*"]),
        ("ported", ["localhost:9000/*"]),
    ]
)


@pytest.mark.parametrize(
    ("host", "path", "worker"),
    [
        ("localhost", "/", "root"),
        ("localhost", "/billingx", "root"),  # "/billing" is exact, "/billing/*" needs the slash
        ("localhost", "/billing", "billing"),
        ("localhost", "/billing/", "billing"),
        ("localhost", "/billing/42", "billing"),
        ("localhost", "/billing/invoices/7", "invoices"),
        ("localhost", "/billing/invoices/special", "exact"),
        ("api.example.com", "/billing/42", "api"),
        ("API.Example.com:8443", "/x", "api"),
        ("api.example.com", "/v2/users", "api-v2"),
        ("eu.shop.example", "/cart", "wild"),
        ("shop.example", "/cart", "root"),
        ("localhost:9000", "/x", "ported"),
        ("localhost:9001", "/x", "root"),
    ],
)
def test_longest_match_wins(host: str, path: str, worker: str) -> None:
    route = TABLE.match(host, path)
    assert route is not None and route.worker == worker


def test_no_route_matches() -> None:
    table = RouteTable.build([("a", ["/a", "/a/*"]), ("h", ["h.example/*"])])
    assert table.match("localhost", "/b") is None
    assert table.match("localhost", "/ab") is None
    assert table.match("other.example", "/x") is None


def test_a_table_without_host_patterns_needs_no_host_header() -> None:
    assert TABLE.by_host
    plain = RouteTable.build([("a", ["/a", "/a/*"])])
    assert not plain.by_host
    route = plain.match("", "/a/b")
    assert route is not None and route.worker == "a"
