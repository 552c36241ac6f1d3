"""A request's JSON body: at most host.max_body bytes of UTF-8 JSON, no NaN, nested at most MAX_DEPTH."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from host.admin.envelope import ApiError

NO_BODY = object()
# arrays and objects inside one another; far below what json and the engine's own recursion can take,
# so an accepted body never meets a RecursionError later (in the engine, the journal or the worker)
MAX_DEPTH = 256
TOO_DEEP = f"request body is nested too deeply (over {MAX_DEPTH} levels of arrays and objects)"


async def read_json(request: Request, max_body: int) -> Any:
    """The request's JSON body, or NO_BODY when it is empty; 413 past `max_body` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_body:
        raise _too_large(int(declared), max_body)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_body:
            raise _too_large(size, max_body)
        chunks.append(chunk)
    data = b"".join(chunks)
    if not data.strip():
        return NO_BODY
    try:
        value = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise ApiError("request.invalid", "request body is not UTF-8 text") from None
    except RecursionError:
        raise ApiError("request.invalid", TOO_DEEP) from None
    except ValueError as exc:
        raise ApiError("request.invalid", f"request body is not valid JSON: {exc}") from None
    if depth_over(value, MAX_DEPTH):
        raise ApiError("request.invalid", TOO_DEEP)
    return value


def depth_over(value: Any, limit: int) -> bool:
    """Whether `value` (parsed JSON) holds arrays and objects more than `limit` levels deep."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _too_large(size: int, limit: int) -> ApiError:
    return ApiError(
        "request.too_large", f"request body is {size}+ bytes, over the limit of {limit} bytes (host.max_body)"
    )
