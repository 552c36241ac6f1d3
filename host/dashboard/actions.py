"""What the dashboard's forms do: each form's fields checked, then one WorkflowService call.

Each function returns the message to show; bad input raises ValueError (or the service's error)
before anything is written.
"""

from __future__ import annotations

import json
from typing import Any

from host.workflows.ids import check_event_type
from host.workflows.service import WorkflowService, prepare_create

CONTROLS = ("pause", "resume", "terminate", "restart")
STEP_TYPES = ("do", "sleep", "waitForEvent")


def parse_json_field(text: str, what: str) -> Any:
    """A form field holding JSON; empty means {} (as wrangler sends no payload)."""
    if not text.strip():
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


def parse_from_step(value: str) -> dict[str, Any] | None:
    """The restart point of the form, "type|count|name" (empty: from the start)."""
    if not value:
        return None
    kind, _, rest = value.partition("|")
    count, _, name = rest.partition("|")
    if kind not in STEP_TYPES or not count.isdigit() or not name:
        raise ValueError(f"from_step must be 'type|count|name' with type one of {', '.join(STEP_TYPES)}")
    return {"name": name, "count": int(count), "type": kind}


async def control(service: WorkflowService, workflow: str, instance_id: str, form: dict[str, str]) -> str:
    action = form.get("action", "")
    if action not in CONTROLS:
        raise ValueError(f"unknown action {action!r} (use one of {', '.join(CONTROLS)})")
    options: dict[str, Any] = {}
    if form.get("rollback"):
        if action != "terminate":
            raise ValueError("rollback goes only with terminate")
        options["rollback"] = True
    from_step = parse_from_step(form.get("from_step", ""))
    if from_step is not None:
        if action != "restart":
            raise ValueError("from_step goes only with restart")
        options["from_step"] = from_step
    try:
        await service.control(workflow, instance_id, action, "api", **options)
    except TypeError as exc:  # a host built before rollback / restart-from-step
        raise ValueError(f"this host cannot {action} with {', '.join(options)}: {exc}") from None
    where = f" from step {from_step['name']!r}" if from_step else ""
    return f"{action}{' with rollback' if options.get('rollback') else ''}{where} requested for {instance_id}"


async def send_event(service: WorkflowService, workflow: str, instance_id: str, form: dict[str, str]) -> str:
    event_type = check_event_type(form.get("type", ""))
    payload = parse_json_field(form.get("payload", ""), "the event payload")
    await service.send_event(workflow, instance_id, event_type, payload)
    return f"event {event_type!r} sent to {instance_id}"


async def delete(service: WorkflowService, workflow: str, instance_id: str) -> str:
    remove = getattr(service, "delete", None)
    if remove is None:
        raise ValueError("this host cannot delete instances")
    await remove(workflow, instance_id)
    return f"instance {instance_id} deleted"


async def trigger(service: WorkflowService, workflow: str, form: dict[str, str]) -> str:
    """Create an instance; returns its id."""
    service.require(workflow)
    raw_id = form.get("id", "").strip() or None
    instance_id, params = prepare_create(raw_id, parse_json_field(form.get("params", ""), "params"))
    await service.create(workflow, instance_id, params, trigger="api")
    return instance_id
