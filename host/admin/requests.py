"""Validate admin API bodies (as host.admin.body parsed them); errors name the key (query strings:
host.admin.queries)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from host.admin.body import NO_BODY
from host.admin.envelope import ApiError
from host.workflows.retention import parse_retention
from host.workflows.status import ACTIONS

MAX_DELETE = 100  # instances per batch delete, as wrangler sends them
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
    """instance_retention's shape (the service checks the durations) and location_hint, which has no
    meaning here: type-checked, then ignored."""
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
        try:  # the durations, checked here so that the message names the REST field
            parse_retention(retention, what=f"{what}instance_retention")
        except ValueError as exc:
            raise ApiError("request.invalid", str(exc)) from None
    hint = item.get("location_hint")
    if hint is not None and hint not in _LOCATIONS:
        raise ApiError("request.invalid", f"{what}location_hint must be one of {', '.join(_LOCATIONS)}")


_CREATE_KEYS = ("instance_id", "params", "instance_retention", "location_hint")


@dataclass(frozen=True)
class Create:
    """A create body: id, params and retention as sent (None when left out); the service checks them."""

    instance_id: Any
    params: Any
    retention: dict[str, Any] | None


def parse_create(body: Any) -> Create:
    fields = _object(body, "request body", _CREATE_KEYS)
    _check_cloudflare_only(fields, "")
    return Create(fields.get("instance_id"), fields.get("params"), fields.get("instance_retention"))


def parse_batch(body: Any) -> list[dict[str, Any]]:
    """Items of a batch body as {"instance_id", "params", "retention"?} dicts for the service's
    create_batch."""
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
        item = {k: v for k, v in fields.items() if k in ("instance_id", "params")}
        if fields.get("instance_retention") is not None:
            item["retention"] = fields["instance_retention"]
        items.append(item)
    return items


@dataclass(frozen=True)
class StatusChange:
    """A PATCH .../status body: the action, `rollback` (terminate only) and `from` (restart only)."""

    action: str
    rollback: bool = False
    from_step: dict[str, Any] | None = None


_STEP_TYPES = ("do", "sleep", "waitForEvent")


def parse_status_change(body: Any) -> StatusChange:
    fields = _object(body, "request body", ("status", "rollback", "from"))
    action = fields.get("status")
    if action not in ACTIONS:
        raise ApiError("request.invalid", f"status must be one of {', '.join(ACTIONS)}, got {action!r}")
    rollback = fields.get("rollback")
    if rollback is not None and not isinstance(rollback, bool):
        raise ApiError("request.invalid", f"rollback must be true or false, got {_kind(rollback)}")
    if rollback and action != "terminate":
        raise ApiError("request.invalid", f"rollback goes with status terminate, not {action}")
    start = fields.get("from")
    if start is not None and action != "restart":
        raise ApiError("request.invalid", f"'from' goes with status restart, not {action}")
    return StatusChange(str(action), bool(rollback), None if start is None else _from_step(start))


def _from_step(raw: Any) -> dict[str, Any]:
    """`from`: {"name", "count" (1 up, default 1), "type" (do, sleep or waitForEvent; default do)}."""
    if not isinstance(raw, dict):
        raise ApiError(
            "request.invalid", f"from must be an object with name, count and type, got {_kind(raw)}"
        )
    fields = _object(raw, "from", ("name", "count", "type"))
    name, count, kind = fields.get("name"), fields.get("count", 1), fields.get("type", "do")
    if not isinstance(name, str) or not name:
        raise ApiError("request.invalid", "from.name must be the name of a step of the instance")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ApiError("request.invalid", f"from.count must be a whole number from 1, got {count!r}")
    if kind not in _STEP_TYPES:
        raise ApiError("request.invalid", f"from.type must be one of {', '.join(_STEP_TYPES)}, got {kind!r}")
    return {"name": name, "count": count, "type": kind}


def parse_delete_batch(body: Any) -> list[str]:
    """The ids of a POST .../instances/batch/delete body, {"instances": [id, ...]} (1 to 100)."""
    fields = _object(body, "request body", ("instances",))
    ids = fields.get("instances")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ApiError("request.invalid", "instances must be an array of instance ids")
    if not 1 <= len(ids) <= MAX_DELETE:
        raise ApiError("limit.exceeded", f"a batch delete takes 1 to {MAX_DELETE} instances, got {len(ids)}")
    return list(dict.fromkeys(ids))
