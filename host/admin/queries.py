"""Validate admin API query strings (paging, filters, cursors, views); errors name the key."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass

from host.admin.envelope import ApiError
from host.workflows.status import InstanceStatus

# rollingBack is a status on Cloudflare whether or not this host's engine has a rollback running
STATUSES = tuple(dict.fromkeys([*(s.value for s in InstanceStatus), "rollingBack"]))
# what terminate-all takes, as wrangler checks it: the statuses an instance can still be ended from
TERMINABLE = ("queued", "running", "paused", "waitingForPause", "waiting")
MAX_PER_PAGE = 1000
DEFAULT_PER_PAGE = 50


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
    try:
        return parse_time(query.get(key), key)
    except ValueError as exc:
        raise ApiError("request.invalid", str(exc)) from None


def parse_time(raw: str | None, what: str, *, end_of_day: bool = False) -> float | None:
    """Epoch seconds of an ISO 8601 time (UTC unless it says); None for None or "". A date alone is
    its first moment, or with `end_of_day` its last (as wrangler's --date-end). ValueError if bad."""
    if raw is None or raw == "":
        return None
    try:
        when = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{what} must be an ISO 8601 time, got {raw!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    if end_of_day and "T" not in raw and " " not in raw.strip():
        when += dt.timedelta(days=1, microseconds=-1000)
    return when.timestamp()


def created_within(doc: Mapping[str, object], start: float | None, end: float | None) -> bool:
    """Whether a status document's creation time is within [start, end] (None: unbounded)."""
    raw = doc.get("created_on_epoch")
    created = float(raw) if isinstance(raw, int | float) else 0.0
    return (start is None or created >= start) and (end is None or created <= end)


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
    kind = _choice(query, "type", ("step", "waitForEvent", "rollback"), None)  # rollback: an undo
    if kind is None:
        raise ApiError("request.invalid", "type is required: step, waitForEvent or rollback")
    attempt = _int(query, "attempt", 0, 10**6) if query.get("attempt") else None
    return StepQuery(name=name, type=kind, attempt=attempt)


def parse_terminate_all(query: Mapping[str, str]) -> str | None:
    """The status filter of PUT .../instances/terminate (None: every instance not yet ended)."""
    return _choice(query, "status", TERMINABLE, None)
