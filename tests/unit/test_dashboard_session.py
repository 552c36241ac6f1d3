"""The dashboard's sign-in rules on real Starlette requests: loopback only without a token, a
signed-in session or a Bearer token with one, CSRF tokens bound to their session, safe redirects."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from host.admin.auth import TokenAuth
from host.dashboard.app import _next
from host.dashboard.session import Denied, Sessions


def request(client: str, headers: dict[str, str] | None = None) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return Request(
        {"type": "http", "method": "GET", "path": "/__waypost/", "headers": raw, "client": (client, 5000)}
    )


def test_without_a_token_only_loopback_clients_are_answered() -> None:
    sessions = Sessions(TokenAuth(()))
    sessions.admit(request("127.0.0.1"), None)
    sessions.admit(request("::1"), None)
    with pytest.raises(Denied) as denied:
        sessions.admit(request("10.1.2.3"), None)
    assert denied.value.status == 403 and "only clients on this machine" in denied.value.message


def test_with_a_token_a_session_signs_in_or_a_bearer_token_is_shown() -> None:
    sessions = Sessions(TokenAuth(("one", "two")))
    with pytest.raises(Denied) as denied:
        sessions.admit(request("10.1.2.3"), sessions.new_id())
    assert denied.value.status == 401
    assert sessions.sign_in("wrong") is None and sessions.sign_in("") is None
    sid = sessions.sign_in("two")
    assert sid is not None
    sessions.admit(request("10.1.2.3"), sid)
    sessions.admit(request("10.1.2.3", {"Authorization": "Bearer one"}), None)
    with pytest.raises(Denied):
        sessions.admit(request("10.1.2.3", {"Authorization": "Bearer nope"}), None)
    sessions.sign_out(sid)
    with pytest.raises(Denied):
        sessions.admit(request("10.1.2.3"), sid)


def test_a_csrf_token_is_good_for_its_own_session_only() -> None:
    sessions = Sessions(TokenAuth(()))
    mine, theirs = sessions.new_id(), sessions.new_id()
    sessions.check_csrf(mine, sessions.csrf(mine))
    for given in ("", sessions.csrf(theirs), "x" * 64):
        with pytest.raises(Denied) as denied:
            sessions.check_csrf(mine, given)
        assert denied.value.status == 403


def test_after_sign_in_only_dashboard_paths_are_followed() -> None:
    assert _next("/__waypost/workflows/a") == "/__waypost/workflows/a"
    for elsewhere in (None, "", "https://evil.example/", "//evil.example/x", "/__waypost//evil", "/other"):
        assert _next(elsewhere) == "/__waypost/"
