"""Instance statuses and which control request each allows (SPEC 3.8)."""

from __future__ import annotations

from enum import StrEnum

from host.errors import InvalidTransition


class InstanceStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    WAITING_FOR_PAUSE = "waitingForPause"
    PAUSED = "paused"
    ERRORED = "errored"
    TERMINATED = "terminated"
    COMPLETE = "complete"


FINAL = frozenset({InstanceStatus.ERRORED, InstanceStatus.TERMINATED, InstanceStatus.COMPLETE})
ACTIONS = ("pause", "resume", "terminate", "restart")


def check_control(action: str, status: InstanceStatus | str, instance_id: str) -> None:
    """Raise InvalidTransition if `action` is not allowed for an instance in `status`."""
    status = InstanceStatus(status)
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r} (use one of {', '.join(ACTIONS)})")
    if action == "restart":
        return
    if status in FINAL:
        raise InvalidTransition(f"cannot {action} instance {instance_id!r}: it is already {status.value}")
    if action == "pause" and status in (InstanceStatus.PAUSED, InstanceStatus.WAITING_FOR_PAUSE):
        raise InvalidTransition(f"cannot pause instance {instance_id!r}: it is already {status.value}")
    if action == "resume" and status is not InstanceStatus.PAUSED:
        raise InvalidTransition(f"cannot resume instance {instance_id!r}: it is {status.value}, not paused")


def check_event_allowed(status: InstanceStatus | str, instance_id: str) -> None:
    """Events may be sent to any instance that has not finished."""
    if InstanceStatus(status) in FINAL:
        raise InvalidTransition(
            f"cannot send an event to instance {instance_id!r}: it is already {InstanceStatus(status).value}"
        )
