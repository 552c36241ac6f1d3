"""What every admin request passes before it is answered: the token, a path without control characters,
the account."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from host.admin.auth import TokenAuth
from host.admin.envelope import ApiError

Handler = Callable[[Request], Awaitable[Response]]
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class Gate:
    """Admits a request or raises ApiError: 401/403 from `auth`, then 404 for a path holding a control
    character (%0A and the like name nothing) or an account other than `account_id()`."""

    def __init__(self, auth: TokenAuth, account_id: Callable[[], str]) -> None:
        self.auth = auth
        self.account_id = account_id

    def check(self, request: Request) -> None:
        self.auth.check(request)
        path: str = request.scope["path"]
        if _CONTROL.search(path):
            raise no_route(request)
        account = request.path_params.get("account_id")
        expected = self.account_id()
        if account is not None and account != expected:
            raise ApiError(
                "account.not_found",
                f"account {account!r} not found (this host serves "
                f"account {expected!r}, set by host.account_id)",
            )

    def guard(self, handler: Handler) -> Handler:
        """`handler`, answering only requests check() admits."""

        async def admitted(request: Request) -> Response:
            self.check(request)
            return await handler(request)

        admitted.__name__ = admitted.__qualname__ = getattr(handler, "__name__", "admitted")
        return admitted


def no_route(request: Request) -> ApiError:
    """The 404 for a path the admin API has no route for."""
    return ApiError("route.not_found", f"no admin API route {request.method} {shown_path(request)}")


def shown_path(request: Request) -> str:
    """The request's path for a one-line message: as sent, or quoted with escapes if it holds control
    characters."""
    path: str = request.scope["path"]
    return repr(path) if _CONTROL.search(path) else path
