from __future__ import annotations

import pytest

from host.errors import InvalidTransition
from host.workflows.status import InstanceStatus, check_control, check_event_allowed

S = InstanceStatus


@pytest.mark.parametrize(
    ("action", "status"),
    [
        ("pause", S.RUNNING),
        ("pause", S.WAITING),
        ("pause", S.QUEUED),
        ("resume", S.PAUSED),
        ("terminate", S.RUNNING),
        ("terminate", S.PAUSED),
        ("terminate", S.WAITING),
        ("restart", S.COMPLETE),
        ("restart", S.ERRORED),
        ("restart", S.RUNNING),
    ],
)
def test_allowed(action: str, status: InstanceStatus) -> None:
    check_control(action, status, "i")


@pytest.mark.parametrize(
    ("action", "status"),
    [
        ("resume", S.RUNNING),
        ("resume", S.WAITING),
        ("pause", S.PAUSED),
        ("pause", S.COMPLETE),
        ("terminate", S.COMPLETE),
        ("terminate", S.TERMINATED),
        ("terminate", S.ERRORED),
        ("resume", S.COMPLETE),
    ],
)
def test_forbidden(action: str, status: InstanceStatus) -> None:
    with pytest.raises(InvalidTransition, match=action):
        check_control(action, status, "i")


def test_events_to_final_instances_are_refused() -> None:
    check_event_allowed(S.WAITING, "i")
    with pytest.raises(InvalidTransition, match="complete"):
        check_event_allowed(S.COMPLETE, "i")


def test_unknown_action() -> None:
    with pytest.raises(ValueError, match="unknown action"):
        check_control("explode", S.RUNNING, "i")
