"""Validate admin API bodies (as host.admin.body parsed them) and query strings; errors name the key."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from host.admin.body import NO_BODY
from host.admin.envelope import ApiError
from host.workflows.status import ACTIONS, InstanceStatus

STATUSES = tuple(s.value for s in InstanceStatus)
MAX_PER_PAGE = 1000
DEFAULT_PER_PAGE = 50
_RETENTION_KEYS = ("error_retention", "success_retention")
_LOCATIONS = ("wnam", "weur", "enam", "eeur", "apac", "apac-ne", "apac-se", "oc", "sam", "afr", "me")


def _object(body: Any, what: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    if body is NO_BODY:
        return {}
    if not isinstance(body, dict):
        raise ApiError("request.invalid", f"{what} must be a JSON object, got {_kind(body)}")
    for key in body:
        if key not in allowed:
            raise ApiError(
                "request.invalid", f"{what}: unknown key {key!r} (expected one of: {', '.join(allowed)})"
            )
    return body


def _kind(value: Any) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _check_cloudflare_only(item: Mapping[str, Any], what: str) -> None:
    """Keys Cloudflare accepts that have no meaning here: type-checked, then ignored."""
    retention = item.get("instance_retention")
    if retention is not None:
        if not isinstance(retention, dict) or set(retention) - set(_RETENTION_KEYS):
            raise ApiError(
                "request.invalid",
                f"{what}instance_retention must be an object with {' and/or '.join(_RETENTION_KEYS)}",
            )
        for key, value in retention.items():
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise ApiError(
                    "request.invalid",
                    f"{what}instance_retention.{key} must be milliseconds or a duration string",
                )
    hint = item.get("location_hint")
    if hint is not None and hint not in _LOCATIONS:
        raise ApiError("request.invalid", f"{what}location_hint must be one of {', '.join(_LOCATIONS)}")


_CREATE_KEYS = ("instance_id", "params", "instance_retention", "location_hint")


def parse_create(body: Any) -> tuple[Any, Any]:
    """(instance_id or None, params or None) of a create body; ids and params are checked by the engine."""
    fields = _object(body, "request body", _CREATE_KEYS)
    _check_cloudflare_only(fields, "")
    return fields.get("instance_id"), fields.get("params")


def parse_batch(body: Any) -> list[dict[str, Any]]:
    """Items of a batch body as {"instance_id", "params"} dicts for instances.prepare_batch."""
    if not isinstance(body, list):
        raise ApiError(
            "request.invalid",
            f"request body must be a JSON array of instances, got "
            f"{'nothing' if body is NO_BODY else _kind(body)}",
        )
    items: list[dict[str, Any]] = []
    for index, raw in enumerate(body):
        fields = _object(raw, f"item {index}", _CREATE_KEYS)
        _check_cloudflare_only(fields, f"item {index}: ")
        items.append({k: v for k, v in fields.items() if k in ("instance_id", "params")})
    return items


def parse_status_change(body: Any) -> str:
    """The action of a PATCH .../status body: pause, resume, terminate or restart."""
    fields = _object(body, "request body", ("status", "rollback", "from"))
    action = fields.get("status")
    if action not in ACTIONS:
        raise ApiError("request.invalid", f"status must be one of {', '.join(ACTIONS)}, got {action!r}")
    if fields.get("rollback") not in (None, False):
        raise ApiError(
            "request.invalid", "rollback is not supported: Waypost workflows have no rollback steps"
        )
    if fields.get("from") is not None:
        raise ApiError(
            "request.invalid", "restart 'from' a step is not supported; restart runs from the start"
        )
    return str(action)


# ---- query strings -----------------------------------------------------------------------------------


def _int(query: Mapping[str, str], key: str, default: int, maximum: int) -> int:
    raw = query.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ApiError("request.invalid", f"{key} must be a whole number, got {raw!r}") from None
    if value != int(value) or not 1 <= value <= maximum:
        raise ApiError("request.invalid", f"{key} must be a whole number from 1 to {maximum}, got {raw!r}")
    return int(value)


def _choice(query: Mapping[str, str], key: str, choices: tuple[str, ...], default: str | None) -> str | None:
    raw = query.get(key)
    if raw is None or raw == "":
        return default
    if raw not in choices:
        raise ApiError("request.invalid", f"{key} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _time(query: Mapping[str, str], key: str) -> float | None:
    raw = query.get(key)
    if raw is None or raw == "":
        return None
    try:
        when = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError("request.invalid", f"{key} must be an ISO 8601 time, got {raw!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


@dataclass(frozen=True)
class Page:
    """page/per_page paging, as every list endpoint takes it."""

    page: int
    per_page: int


def parse_page(query: Mapping[str, str]) -> Page:
    return Page(_int(query, "page", 1, 10**9), _int(query, "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE))


@dataclass(frozen=True)
class InstanceQuery:
    """The query of GET .../instances: a status and time filter, then page or cursor paging."""

    page: int | None
    per_page: int
    cursor: tuple[float, str] | None
    direction: str
    status: str | None
    date_start: float | None
    date_end: float | None


def parse_instance_query(query: Mapping[str, str]) -> InstanceQuery:
    paging = parse_page(query)
    raw_cursor = query.get("cursor") or None
    if raw_cursor is not None and query.get("page"):
        raise ApiError("request.invalid", "cursor and page cannot be used together")
    return InstanceQuery(
        page=paging.page if raw_cursor is None and query.get("page") else None,
        per_page=paging.per_page,
        cursor=decode_cursor(raw_cursor) if raw_cursor is not None else None,
        direction=_choice(query, "direction", ("asc", "desc"), "desc") or "desc",
        status=_choice(query, "status", STATUSES, None),
        date_start=_time(query, "date_start"),
        date_end=_time(query, "date_end"),
    )


def encode_cursor(created: float, instance_id: str) -> str:
    """An opaque token for 'after this instance' (stable while new instances arrive)."""
    raw = json.dumps([created, instance_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[float, str]:
    try:
        created, instance_id = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if (
            isinstance(created, bool)
            or not isinstance(created, int | float)
            or not isinstance(instance_id, str)
        ):
            raise ValueError(token)
    except (ValueError, TypeError):
        raise ApiError(
            "request.invalid", f"cursor {token[:80]!r} is not a cursor this API returned"
        ) from None
    return float(created), instance_id


@dataclass(frozen=True)
class InstanceView:
    """The query of GET .../instances/{id}: `simple=true` drops steps; `order` sorts them."""

    simple: bool
    order: str


def parse_instance_view(query: Mapping[str, str]) -> InstanceView:
    simple = _choice(query, "simple", ("true", "false"), "false") == "true"
    return InstanceView(simple=simple, order=_choice(query, "order", ("asc", "desc"), "asc") or "asc")


@dataclass(frozen=True)
class StepQuery:
    """The query of GET .../instances/{id}/step."""

    name: str
    type: str
    attempt: int | None


def parse_step_query(query: Mapping[str, str]) -> StepQuery:
    name = query.get("name")
    if not name:
        raise ApiError("request.invalid", "name is required: the step's name as the instance's steps show it")
    kind = _choice(query, "type", ("step", "waitForEvent"), None)
    if kind is None:
        raise ApiError("request.invalid", "type is required: step or waitForEvent")
    attempt = _int(query, "attempt", 0, 10**6) if query.get("attempt") else None
    return StepQuery(name=name, type=kind, attempt=attempt)
