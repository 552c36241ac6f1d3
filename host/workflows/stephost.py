"""StepHost: what the step API (host.workflows.step) needs from whoever runs the workflow: the
activation's live run (host.workflows.liverun), or the replayer (host.workflows.replay)."""

from __future__ import annotations

from typing import Any, Protocol

from host.workflows.entries import ReplayState, StepRecord


class StepHost(Protocol):
    """What the step API needs from whoever runs the workflow."""

    state: ReplayState
    hibernate_after: float
    steps_in_flight: int

    def asked(self, kind: str, name: str, count: int, record: StepRecord | None) -> None:
        """The code asked for this step (the replayer compares it with the journal)."""

    def begin_step(self) -> None:
        """A new step starts (LimitExceeded past the workflow's step limit)."""

    def checkpoint(self) -> None:
        """Stop here (an engine signal) if the instance was asked to pause, terminate or restart."""

    def write(self, entry: dict[str, Any], raw: dict[str, str] | None = None) -> None:
        """Journal a fact that needs no flush (an attempt began); `raw` as for record()."""

    async def record(self, entry: dict[str, Any], raw: dict[str, str] | None = None) -> None:
        """Journal a decisive fact durably, then fold it into the state."""

    async def wait_until(self, when: float, reason: str, new: bool = False) -> None:
        """Return at `when` (in memory), or hibernate until then. `new`: the wait was journalled
        just now, not replayed (a hibernate_after below zero unloads at every new wait)."""

    async def wait_for_inbox(self, timeout_at: float, linger_until: float, waiting_for: str) -> None:
        """Return when something new is in the inbox, or at min(timeout_at, linger_until)."""

    def take_event(self, event_type: str) -> tuple[str, dict[str, Any]] | None:
        """The oldest waiting event of that type and its inbox name, taken; None if none."""

    def event_taken(self, name: str) -> None:
        """An event's delivery is durable: its inbox file may go."""

    async def rolling_back(self, active: bool) -> None:
        """Undo handlers start running (status rollingBack), or stopped and run() goes on (running)."""
