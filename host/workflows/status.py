"""Instance statuses, the status document (status.json), and what each control request does.

Everything here is a pure function of its arguments: the activation applies the decisions.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from host.errors import InvalidTransition
from host.workflows.entries import STEP_TYPES, ReplayState
from host.workflows.retention import expires_at
from host.workflows.statuses import ACTIONS, FINAL, FINAL_VALUES, InstanceStatus

__all__ = ["ACTIONS", "FINAL", "FINAL_VALUES", "InstanceStatus", "decide", "iso", "status_document"]


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC).isoformat().replace("+00:00", "Z")


def status_document(meta: dict[str, Any], state: ReplayState, now: float | None = None) -> dict[str, Any]:
    """The status.json summary of an instance whose journal folds into `state`."""
    document: dict[str, Any] = {
        "id": meta["id"],
        "workflow": meta["workflow"],
        "status": state.status.value,
        "output": state.output,
        "error": state.error,
        "step_count": state.step_count,
        "created_on": meta.get("created_on"),
        "created_on_epoch": meta.get("created_on_epoch"),
        "start_time": iso(state.started_at),
        "end_time": iso(state.ended_at),
        "modified_on": iso(time.time() if now is None else now),
        "wake_at": state.wake_at,
        "waiting_for": state.waiting_for,
    }
    if state.rollback is not None:  # SPEC 3.9: how the last rollback ended
        document["rollback"] = state.rollback
    if meta.get("retention") is not None:  # SPEC 3.11: when a final instance will be removed
        document["retention"] = meta["retention"]
        document["expires_at"] = iso(expires_at(meta, state.status.value, state.ended_at))
    if meta.get("schedule") is not None:  # SPEC 3.10: the tick that made it
        document["schedule"] = meta["schedule"]
    return document


def check_control(action: str, status: InstanceStatus | str, instance_id: str) -> None:
    """Raise InvalidTransition if `action` is not allowed for an instance in `status`."""
    status = InstanceStatus(status)
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r} (use one of {', '.join(ACTIONS)})")
    if action == "restart":
        return
    if status in FINAL:
        raise InvalidTransition(f"cannot {action} instance {instance_id!r}: it is already {status.value}")
    if action == "pause" and status is InstanceStatus.ROLLING_BACK:
        raise InvalidTransition(f"cannot pause instance {instance_id!r}: it is rolling back")
    if action == "pause" and status in (InstanceStatus.PAUSED, InstanceStatus.WAITING_FOR_PAUSE):
        raise InvalidTransition(f"cannot pause instance {instance_id!r}: it is already {status.value}")
    if action == "resume" and status is not InstanceStatus.PAUSED:
        raise InvalidTransition(f"cannot resume instance {instance_id!r}: it is {status.value}, not paused")


def check_event_allowed(
    status: InstanceStatus | str, instance_id: str, pending: tuple[str, ...] = ()
) -> None:
    """Events go to instances that have not finished and have no terminate or restart pending
    (`pending`: the actions of control requests not yet taken from inbox/): an event is delivered
    to the run it was sent to, or refused."""
    state = InstanceStatus(status)
    if state in FINAL:
        raise InvalidTransition(
            f"cannot send an event to instance {instance_id!r}: it is already {state.value}"
        )
    if state is InstanceStatus.ROLLING_BACK:  # its undos run: no wait would get it
        raise InvalidTransition(f"cannot send an event to instance {instance_id!r}: it is rolling back")
    for action in ("terminate", "restart"):
        if action in pending:
            raise InvalidTransition(
                f"cannot send an event to instance {instance_id!r}: a {action} of it is pending"
            )


@dataclass(frozen=True)
class Transition:
    """What taking one control request does to a loaded instance."""

    status: InstanceStatus | None = None  # the status to record now (None: none yet)
    durable: bool = False  # the status line is flushed before anything else happens
    evict: str | None = None  # "terminate" or "restart": stop the run now
    pause: bool = False  # stop at the next step boundary


def decide(
    action: str, status: InstanceStatus, executing: bool, steps_in_flight: int, rollback: bool = False
) -> Transition:
    """The transition for `action` taken by an instance in `status`; `executing`: its run() is in
    progress, with `steps_in_flight` step callbacks running; `rollback`: a terminate that runs the
    undo handlers first (rollingBack now, terminated once they ran)."""
    if action == "restart":
        return Transition(evict="restart")
    if status in FINAL:
        return Transition()
    if action == "terminate" and rollback:
        return Transition(InstanceStatus.ROLLING_BACK, durable=True, evict="terminate")
    if action == "pause" and status is InstanceStatus.ROLLING_BACK:
        return Transition()  # refused when asked (check_control); one taken late waits for the end
    if action == "terminate":
        if executing:
            return Transition(evict="terminate")
        return Transition(InstanceStatus.TERMINATED, durable=True, evict="terminate")
    if action == "pause" and status is not InstanceStatus.PAUSED:
        if not executing:
            return Transition(InstanceStatus.PAUSED, durable=True)
        if steps_in_flight:
            return Transition(InstanceStatus.WAITING_FOR_PAUSE, pause=True)
        return Transition(pause=True)
    if action == "resume" and status is InstanceStatus.PAUSED:
        return Transition(InstanceStatus.QUEUED)
    return Transition()


def check_from_step(from_step: object) -> dict[str, Any]:
    """A restart's `from_step` as {"name", "count", "type"}: a bare string is the name, count
    defaults to 1 and type to "do" ("sleep", "waitForEvent"); ValueError naming what is wrong."""
    if isinstance(from_step, str):
        from_step = {"name": from_step}
    if not isinstance(from_step, dict):
        raise ValueError(
            f"from_step must be a step name or a dict with name, count and type, got {from_step!r}"
        )
    unknown = set(from_step) - {"name", "count", "type"}
    if unknown:
        raise ValueError(f"from_step: unknown key {sorted(unknown)[0]!r} (allowed: name, count, type)")
    name, count = from_step.get("name"), from_step.get("count", 1)
    kind = from_step.get("type", "do")
    if not isinstance(name, str) or not name:
        raise ValueError(f"from_step: name must be a step name, got {name!r}")
    if type(count) is not int or count < 1:
        raise ValueError(f"from_step: count must be a whole number from 1, got {count!r}")
    if kind not in STEP_TYPES:
        raise ValueError(f"from_step: type must be one of {', '.join(STEP_TYPES)}, got {kind!r}")
    return {"name": name, "count": count, "type": kind}


def from_step_key(from_step: dict[str, Any]) -> tuple[str, str, int]:
    """(kind, name, count) of a checked from_step, as the journal keys its steps."""
    return STEP_TYPES[from_step["type"]], from_step["name"], from_step["count"]
