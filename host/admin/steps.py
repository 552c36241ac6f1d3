"""An instance's journal as Cloudflare's step log: steps with attempts, sleeps, waits, terminations.

build_steps() keeps epoch seconds (the CLI computes durations from them); api_steps() turns them
into the REST shape with ISO times. Reading never writes: a torn last line is skipped, not cut off,
because the host that runs the instance may be appending to the file right now.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from host.workflows.retry import StepConfig
from host.workflows.runner import iso

Step = dict[str, Any]
_COUNTED = re.compile(r"^(.*)-(\d+)$")


def read_journal(path: str | Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Entries of a journal file and one message per unreadable line (the torn last line is no problem)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], []
    entries: list[dict[str, Any]] = []
    problems: list[str] = []
    lines = data.split(b"\n")
    for number, line in enumerate(lines[:-1], start=1):  # text after the last newline is being written
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict) or "type" not in entry:
                raise ValueError("not a journal entry object")
        except ValueError as exc:
            problems.append(f"{path.name} line {number}: {exc}")
            continue
        entries.append(entry)
    return entries, problems


def build_steps(entries: list[dict[str, Any]], now: float) -> list[Step]:
    """Fold journal entries into steps, in the order they began; times are epoch seconds."""
    steps: list[Step] = []
    by_key: dict[tuple[str, str, int], Step] = {}

    def get(kind: str, entry: dict[str, Any]) -> Step:
        key = (kind, str(entry.get("name")), int(entry.get("count") or 1))
        step = by_key.get(key)
        if step is None:
            step = by_key[key] = _new_step(kind, entry)
            steps.append(step)
        return step

    for entry in entries:
        kind, t = entry.get("type"), entry.get("t")
        if kind == "step_start":
            step = get("step", entry)
            _close_open_attempt(
                step, {"name": "Interrupted", "message": "the host stopped during this attempt"}
            )
            step["attempts"].append(
                {
                    "attempt": entry.get("attempt"),
                    "start": t,
                    "end": None,
                    "success": None,
                    "error": None,
                    "retry_at": None,
                }
            )
            if step["start"] is None:
                step["start"] = t
            if "config" in entry:
                step["config"] = entry["config"]
        elif kind in ("step_fail", "step_error"):
            step = get("step", entry)
            attempt = _open_attempt(step) or _closed_attempt(step, t)
            attempt.update(end=t, success=False, error=entry.get("error"))
            if kind == "step_fail":
                attempt["retry_at"] = entry.get("retry_at")
            else:
                step.update(end=t, success=False, error=entry.get("error"))
        elif kind == "step_done":
            step = get("step", entry)
            attempt = _open_attempt(step) or _closed_attempt(step, t)
            attempt.update(end=t, success=True)
            step.update(end=t, success=True, output=entry.get("result"))
        elif kind == "sleep":
            step = get("sleep", entry)
            step.update(start=t, end=entry.get("until"))
        elif kind == "wait":
            step = get("waitForEvent", entry)
            step.update(
                start=t,
                end=entry.get("timeout_at"),
                event_type=entry.get("event_type"),
                timeout_at=entry.get("timeout_at"),
            )
        elif kind == "event":
            step = get("waitForEvent", entry)
            event = entry.get("event") or {}
            step.update(end=t, finished=True, output=event.get("payload"), event=event)
        elif kind == "wait_timeout":
            step = get("waitForEvent", entry)
            step.update(
                end=t,
                finished=True,
                error={
                    "name": "WaitTimeoutError",
                    "message": f"no {step.get('event_type')!r} event before the timeout",
                },
            )
        elif kind == "control" and entry.get("action") == "terminate":
            steps.append({"type": "termination", "trigger": {"source": "api"}, "start": t})
    for step in steps:
        if step["type"] == "sleep":
            step["finished"] = step["end"] is not None and step["end"] <= now
    return steps


def _new_step(kind: str, entry: dict[str, Any]) -> Step:
    base: Step = {
        "type": kind,
        "name": entry.get("name"),
        "count": int(entry.get("count") or 1),
        "start": entry.get("t"),
        "end": None,
    }
    if kind == "step":
        base.update(attempts=[], success=None, output=None, error=None, config=StepConfig().as_json())
    elif kind == "waitForEvent":
        base.update(finished=False, event_type=None, output=None, error=None, timeout_at=None, event=None)
    else:
        base.update(finished=False)
    return base


def _open_attempt(step: Step) -> dict[str, Any] | None:
    attempts = step["attempts"]
    return (
        attempts[-1] if attempts and attempts[-1]["end"] is None and attempts[-1]["success"] is None else None
    )


def _close_open_attempt(step: Step, error: dict[str, str]) -> None:
    attempt = _open_attempt(step)
    if attempt is not None:
        attempt.update(success=False, error=error)


def _closed_attempt(step: Step, t: float | None) -> dict[str, Any]:
    """An outcome without its step_start line (not fsynced before a crash): make the attempt up."""
    attempt = {
        "attempt": len(step["attempts"]) + 1,
        "start": t,
        "end": None,
        "success": None,
        "error": None,
        "retry_at": None,
    }
    step["attempts"].append(attempt)
    if step["start"] is None:
        step["start"] = t
    return attempt


# ---- the REST shape -----------------------------------------------------------------------------------


def api_steps(steps: list[Step], order: str = "asc") -> list[dict[str, Any]]:
    """Cloudflare's `steps` array: step, sleep, waitForEvent and termination entries with ISO times."""
    shaped = [_api_step(step) for step in steps]
    return shaped[::-1] if order == "desc" else shaped


def _api_step(step: Step) -> dict[str, Any]:
    kind = step["type"]
    if kind == "termination":
        return {"type": "termination", "trigger": step["trigger"]}
    if kind == "step":
        return {
            "type": "step",
            "name": display_name(step),
            "start": iso(step["start"]),
            "end": iso(step["end"]),
            "success": step["success"],
            "output": step["output"],
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
        return {"status": status, "error": one["error"], "output": step["output"] if one["success"] else None}
    if step["success"] is True:
        return {"status": "complete", "error": None, "output": step["output"]}
    if step["success"] is False:
        return {"status": "errored", "error": step["error"], "output": None}
    last = step["attempts"][-1] if step["attempts"] else None
    status = "running" if instance_status in ("running", "waitingForPause") else "waiting"
    return {"status": status, "error": last["error"] if last else None, "output": None}
