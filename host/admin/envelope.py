"""Cloudflare's v4 response envelope: {success, errors, messages, result, result_info}.

Errors carry Cloudflare's integer `code` (what its clients parse), a one-line `message`, and
`type`, the stable string code of host.errors (for example "instance.not_found").
"""

from __future__ import annotations

import errno
from typing import Any

from starlette.responses import JSONResponse

from host.errors import (
    InstanceExists,
    InstanceNotFound,
    InstanceUnreadable,
    InvalidTransition,
    LimitExceeded,
    StorageFull,
    WaypostError,
    WorkflowNotFound,
)

# type -> (HTTP status, Cloudflare-style integer code); documented in README "Admin API"
ERRORS: dict[str, tuple[int, int]] = {
    "request.invalid": (400, 10001),
    "limit.exceeded": (400, 10002),
    "request.too_large": (413, 10003),
    "auth.missing": (401, 10010),
    "auth.invalid": (403, 10011),
    "auth.not_loopback": (403, 10012),
    "route.not_found": (404, 10020),
    "account.not_found": (404, 10021),
    "workflow.not_found": (404, 10022),
    "instance.not_found": (404, 10023),
    "step.not_found": (404, 10024),
    "version.not_found": (404, 10025),
    "instance.already_exists": (409, 10030),
    "instance.invalid_state": (409, 10031),
    "method.not_allowed": (405, 10040),
    "storage.full": (507, 10060),
    "instance.unreadable": (409, 10061),
    "internal": (500, 10000),
}


class ApiError(Exception):
    """An error answer: `type` is a key of ERRORS, `message` one line naming what is wrong."""

    def __init__(self, type: str, message: str) -> None:
        super().__init__(message)
        self.type = type
        self.message = message

    @property
    def status(self) -> int:
        return ERRORS[self.type][0]

    def __repr__(self) -> str:
        return f"ApiError({self.type!r}, {self.message!r})"


FULL_DISK = (errno.ENOSPC, errno.EDQUOT)


def from_exception(exc: Exception) -> ApiError:
    """Map a Waypost error, ValueError or full disk to its API error; anything else is `internal`."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, StorageFull) or (isinstance(exc, OSError) and exc.errno in FULL_DISK):
        return storage_full(exc)
    for cls, type in (
        (InstanceNotFound, "instance.not_found"),
        (WorkflowNotFound, "workflow.not_found"),
        (InstanceExists, "instance.already_exists"),
        (InvalidTransition, "instance.invalid_state"),
        (LimitExceeded, "limit.exceeded"),
        (InstanceUnreadable, "instance.unreadable"),
    ):
        if isinstance(exc, cls):
            return ApiError(type, str(exc))
    if isinstance(exc, ValueError):
        return ApiError("request.invalid", str(exc))
    if isinstance(exc, WaypostError):
        return ApiError("request.invalid", str(exc))
    return ApiError("internal", "internal error; see the host log")


def storage_full(exc: OSError) -> ApiError:
    """The 507 answer to a write the data directory's disk (or quota) had no room for."""
    detail = exc.strerror or str(exc)  # StorageFull(errno, message) keeps its message in strerror
    if "disk is full" not in detail:
        detail = f"the data directory's disk is full ({detail})"
    return ApiError("storage.full", f"{detail}; free some space there and retry")


def ok(
    result: Any,
    result_info: dict[str, Any] | None = None,
    status: int = 200,
    messages: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"success": True, "errors": [], "messages": messages or [], "result": result}
    if result_info is not None:
        body["result_info"] = result_info
    return JSONResponse(body, status_code=status)


def failure(error: ApiError, headers: dict[str, str] | None = None) -> JSONResponse:
    """The error envelope for `error`, with its HTTP status; `headers` are added (e.g. Allow)."""
    status, code = ERRORS[error.type]
    body = {
        "success": False,
        "errors": [{"code": code, "message": error.message, "type": error.type}],
        "messages": [],
        "result": None,
    }
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": 'Bearer realm="waypost"'}
    return JSONResponse(body, status_code=status, headers=headers)
