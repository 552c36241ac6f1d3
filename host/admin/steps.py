"""An instance's journal as Cloudflare's step log: steps with attempts, sleeps, waits, terminations.

host.admin.steplog.build_steps() folds the journal into steps with epoch seconds (the CLI
computes durations from them); api_steps() here turns them into the REST shape with ISO times.
"""

from __future__ import annotations

import re
from typing import Any

from host.admin.steplog import Step, build_steps
from host.workflows.status import iso

__all__ = ["REDACTED", "api_steps", "build_steps", "display_name", "find_step", "shown_output", "step_result"]
_COUNTED = re.compile(r"^(.*)-(\d+)$")
REDACTED = "[REDACTED]"
# step.do and an undo (shown as type rollback) have attempts, config and output
_WITH_ATTEMPTS = ("step", "rollback")


def shown_output(step: Step) -> Any:
    """The step's output as people see it: "[REDACTED]" when its config says `sensitive: "output"`
    (the journal keeps the real one, for replay)."""
    config = step.get("config")
    if isinstance(config, dict) and config.get("sensitive") == "output" and step.get("output") is not None:
        return REDACTED
    return step.get("output")


# ---- the REST shape -----------------------------------------------------------------------------------


def api_steps(steps: list[Step], order: str = "asc") -> list[dict[str, Any]]:
    """Cloudflare's `steps` array: step, sleep, waitForEvent and termination entries with ISO times."""
    shaped = [_api_step(step) for step in steps]
    return shaped[::-1] if order == "desc" else shaped


def _api_step(step: Step) -> dict[str, Any]:
    kind = step["type"]
    if kind == "termination":
        return {"type": "termination", "trigger": step["trigger"]}
    if kind in _WITH_ATTEMPTS:
        return {
            "type": kind,
            "name": display_name(step),
            "start": iso(step["start"]),
            "end": iso(step["end"]),
            "success": step["success"],
            "output": shown_output(step),
            "config": step["config"],
            "attempts": [
                {"start": iso(a["start"]), "end": iso(a["end"]), "success": a["success"], "error": a["error"]}
                for a in step["attempts"]
            ],
        }
    shaped = {
        "type": kind,
        "name": display_name(step),
        "start": iso(step["start"]),
        "end": iso(step["end"] if step["end"] is not None else step["start"]),
        "finished": step["finished"],
        "error": step.get("error"),
    }
    if kind == "waitForEvent":
        shaped.update(event_type=step["event_type"], output=step["output"])
    return shaped


def display_name(step: Step) -> str:
    """The step's name; a repeated name gets its count, as `name-2` (the first keeps its plain name)."""
    return step["name"] if step["count"] == 1 else f"{step['name']}-{step['count']}"


def find_step(steps: list[Step], name: str, kind: str) -> Step | None:
    """The step shown as `name` (plain, or `name-N` for the Nth use of a name) of `kind`."""
    candidates = [s for s in steps if s["type"] == kind]
    for step in candidates:
        if display_name(step) == name:
            return step
    match = _COUNTED.match(name)
    if match:
        for step in candidates:
            if step["name"] == match.group(1) and step["count"] == int(match.group(2)):
                return step
    return None


def step_result(step: Step, attempt: int | None, instance_status: str) -> dict[str, Any] | None:
    """GET .../step's body: status, error and output of a step (or one attempt); None if no such attempt."""
    if step["type"] == "waitForEvent":
        if step["finished"]:
            status = "errored" if step["error"] else "complete"
        else:
            status = "waiting"
        return {
            "status": status,
            "error": step["error"],
            "output": step["output"],
            "event_type": step["event_type"],
        }
    if attempt is not None:
        if not 1 <= attempt <= len(step["attempts"]):
            return None
        one = step["attempts"][attempt - 1]
        status = "running" if one["success"] is None else "complete" if one["success"] else "errored"
        return {
            "status": status,
            "error": one["error"],
            "output": shown_output(step) if one["success"] else None,
        }
    if step["success"] is True:
        return {"status": "complete", "error": None, "output": shown_output(step)}
    if step["success"] is False:
        return {"status": "errored", "error": step["error"], "output": None}
    last = step["attempts"][-1] if step["attempts"] else None
    status = "running" if instance_status in ("running", "waitingForPause") else "waiting"
    return {"status": status, "error": last["error"] if last else None, "output": None}
