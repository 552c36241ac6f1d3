"""Who may use the dashboard, as the admin API decides (host.admin.auth), with a browser's means.

Every visitor carries a random session id in the `waypost_session` cookie (HttpOnly,
SameSite=Strict, Path=/__waypost). With tokens configured (WAYPOST_API_TOKEN), a session is signed
in once its visitor has entered a valid token on the login page; a request may instead carry
`Authorization: Bearer <token>` (a Prometheus scraper, curl). With no token, only loopback clients
are answered, as by the admin API. Every form that changes something carries a CSRF token, an HMAC
of the session id under a key made when the host starts (so it is worthless for any other session).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections import OrderedDict
from urllib.parse import parse_qsl

from starlette.requests import Request

from host.admin.auth import TokenAuth, is_loopback
from host.admin.envelope import ApiError

COOKIE = "waypost_session"
SESSION_HOURS = 12  # a signed-in session lasts this long
MAX_SESSIONS = 1000  # signed-in sessions kept; the oldest is signed out past this
_SID_LEN = 32


class Denied(Exception):
    """The request may not proceed: `status` 401 (sign in), 403 (not allowed) or 413."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Sessions:
    """Session ids, their sign-ins, and the CSRF token of each."""

    def __init__(self, auth: TokenAuth) -> None:
        self.auth = auth
        self._key = os.urandom(32)
        self._signed_in: OrderedDict[str, float] = OrderedDict()  # session id -> when it ends

    @property
    def needs_login(self) -> bool:
        return bool(self.auth.tokens)

    @staticmethod
    def new_id() -> str:
        return os.urandom(_SID_LEN // 2).hex()

    @staticmethod
    def session_id(request: Request) -> str | None:
        sid = request.cookies.get(COOKIE, "")
        return sid if len(sid) == _SID_LEN and all(c in "0123456789abcdef" for c in sid) else None

    def csrf(self, sid: str) -> str:
        return hmac.new(self._key, sid.encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, sid: str, given: str) -> None:
        if not given or not hmac.compare_digest(given.encode(), self.csrf(sid).encode()):
            raise Denied(403, "the form's CSRF token is missing or not this session's; reload the page")

    def signed_in(self, sid: str | None) -> bool:
        if not self.needs_login:
            return True
        ends = self._signed_in.get(sid or "")
        if ends is None:
            return False
        if ends < time.time():
            self._signed_in.pop(sid or "", None)
            return False
        return True

    def admit(self, request: Request, sid: str | None) -> None:
        """Raise Denied unless the request may see the dashboard."""
        if not self.needs_login:
            if not is_loopback(request.client.host if request.client else None):
                raise Denied(
                    403,
                    "no API token is configured (WAYPOST_API_TOKEN), so the dashboard "
                    "answers only clients on this machine",
                )
            return
        if self.signed_in(sid):
            return
        if request.headers.get("authorization"):
            try:
                self.auth.check(request)
            except ApiError as exc:
                raise Denied(401, exc.message) from None
            return
        raise Denied(401, "sign in with an API token")

    def sign_in(self, token: str) -> str | None:
        """A new signed-in session id for a valid token, else None (compared in constant time)."""
        given = token.strip().encode()
        matched = False
        for expected in self.auth.tokens:
            matched |= hmac.compare_digest(given, expected)
        if not matched or not given:
            return None
        sid = self.new_id()
        self._signed_in[sid] = time.time() + SESSION_HOURS * 3600
        while len(self._signed_in) > MAX_SESSIONS:
            self._signed_in.popitem(last=False)
        return sid

    def sign_out(self, sid: str | None) -> None:
        self._signed_in.pop(sid or "", None)


async def read_form(request: Request, max_body: int) -> dict[str, str]:
    """The request's urlencoded form (the last value of a repeated field); Denied(413) past max_body,
    Denied(400) for a body that is not a UTF-8 urlencoded form."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise Denied(400, "send the form as application/x-www-form-urlencoded")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_body:
            raise Denied(413, f"the form is over {max_body} bytes (host.max_body)")
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
    except UnicodeDecodeError:
        raise Denied(400, "the form is not UTF-8") from None
