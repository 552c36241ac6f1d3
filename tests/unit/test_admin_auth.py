"""Who may call the admin API: token checks and the loopback-only fallback."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from host.admin.auth import TokenAuth, is_loopback
from host.admin.envelope import ApiError
from host.errors import ConfigError


def request(client: str, authorization: str | None = None) -> Request:
    headers = [(b"authorization", authorization.encode())] if authorization is not None else []
    return Request(
        {"type": "http", "method": "GET", "path": "/", "headers": headers, "client": (client, 1234)}
    )


def refused(auth: TokenAuth, req: Request) -> str:
    with pytest.raises(ApiError) as caught:
        auth.check(req)
    return caught.value.type


def test_tokens_come_from_the_environment_comma_separated() -> None:
    auth = TokenAuth.from_environ({"WAYPOST_API_TOKEN": " one , two,,"})
    assert auth.tokens == (b"one", b"two")
    auth.check(request("203.0.113.9", "Bearer two"))
    auth.check(request("203.0.113.9", "bearer one"))


@pytest.mark.parametrize("raw", [" , ,, ", ",", "  ", "\t,\n"])
def test_a_variable_that_holds_no_token_is_a_config_error(raw: str) -> None:
    with pytest.raises(ConfigError) as caught:
        TokenAuth.from_environ({"WAYPOST_API_TOKEN": raw})
    message = str(caught.value)
    assert message.startswith("environment: WAYPOST_API_TOKEN: holds no token (") and "\n" not in message


def test_an_empty_variable_is_no_token() -> None:
    assert TokenAuth.from_environ({"WAYPOST_API_TOKEN": ""}).tokens == ()


def test_missing_or_wrong_token() -> None:
    auth = TokenAuth(("secret",))
    assert refused(auth, request("127.0.0.1")) == "auth.missing"
    assert refused(auth, request("127.0.0.1", "Basic secret")) == "auth.missing"
    assert refused(auth, request("127.0.0.1", "Bearer ")) == "auth.missing"
    assert refused(auth, request("127.0.0.1", "Bearer secre")) == "auth.invalid"
    assert refused(auth, request("127.0.0.1", "Bearer secret2")) == "auth.invalid"


def test_without_tokens_only_loopback_clients() -> None:
    auth = TokenAuth.from_environ({})
    auth.check(request("127.0.0.1"))
    auth.check(request("::1", "Bearer anything"))
    assert refused(auth, request("192.168.1.20")) == "auth.not_loopback"
    assert refused(auth, request("10.0.0.1", "Bearer guess")) == "auth.not_loopback"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        ("10.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("example.com", False),
        (None, False),
    ],
)
def test_is_loopback(host: str | None, expected: bool) -> None:
    assert is_loopback(host) is expected
