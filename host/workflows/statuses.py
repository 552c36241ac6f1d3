"""The statuses an instance can be in (SPEC 3.8); a leaf module every other one may import."""

from __future__ import annotations

from enum import StrEnum


class InstanceStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    WAITING_FOR_PAUSE = "waitingForPause"
    PAUSED = "paused"
    ROLLING_BACK = "rollingBack"  # undo handlers running (SPEC 3.9)
    ERRORED = "errored"
    TERMINATED = "terminated"
    COMPLETE = "complete"


FINAL = frozenset({InstanceStatus.ERRORED, InstanceStatus.TERMINATED, InstanceStatus.COMPLETE})
FINAL_VALUES = frozenset(status.value for status in FINAL)
ACTIONS = ("pause", "resume", "terminate", "restart")
