"""The replayer: run a workflow class against a journal with no I/O and no step execution.

Every step the code asks for is compared, in order, with the steps the journal recorded (by their
first entry). Recorded steps return their recorded outcome; the replay stops with `ok` when the
code reaches the journal's frontier (a step the journal has not finished, or none left), and
with the first divergence otherwise: the journal's step (kind, name, count) and what the code
asked for instead, with the file and line of the code that asked. `waypost workflows check` and
host.testing stand on it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from host.errors import EngineSignal
from host.workflows.entries import ReplayState, StepRecord, replay_state
from host.workflows.entrypoint import WorkflowEvent, start
from host.workflows.step import WorkflowStep

StepId = tuple[str, str, int]  # (kind, name, count)
_ENGINE = str(Path(__file__).parent)
_KIND_NAMES = {"do": "step.do", "sleep": "step.sleep", "wait": "step.wait_for_event"}


def _show(step: StepId | None) -> str:
    if step is None:
        return "(nothing: run() returned)"
    kind, name, count = step
    return f"{_KIND_NAMES.get(kind, kind)} {name!r} #{count}"


@dataclass(frozen=True)
class Divergence:
    """Where the code stopped matching the journal."""

    index: int  # position in the journal's step order (0-based)
    journal: StepId | None  # what the journal recorded there (None: it has no more steps)
    code: StepId | None  # what the code asked for (None: run() ended)
    where: str | None  # file:line of the code's request

    def __str__(self) -> str:
        at = f" ({self.where})" if self.where else ""
        return f"step {self.index + 1}:\n- journal: {_show(self.journal)}\n+ code:    {_show(self.code)}{at}"


@dataclass(frozen=True)
class ReplayResult:
    divergence: Divergence | None
    replayed: int  # journal steps the code asked for, in order, before the end or the divergence

    @property
    def ok(self) -> bool:
        return self.divergence is None


class _Stop(EngineSignal):
    """Ends the replay: at the frontier (divergence None) or at a divergence."""

    def __init__(self, divergence: Divergence | None) -> None:
        super().__init__(divergence)
        self.divergence = divergence


def _caller() -> str | None:
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(_ENGINE):
        frame = frame.f_back  # type: ignore[assignment]
    return f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else None


class _ReplayHost:
    """A StepHost that answers from the journal and runs nothing."""

    hibernate_after = float("inf")

    def __init__(self, state: ReplayState) -> None:
        self.state = state
        self.steps_in_flight = 0
        self.asked_count = 0

    def asked(self, kind: str, name: str, count: int, record: StepRecord | None) -> None:
        order = self.state.order
        index = self.asked_count
        if index >= len(order):
            raise _Stop(None)  # past the journal: the code goes on from here
        self.asked_count += 1
        if order[index] != (kind, name, count):
            raise _Stop(Divergence(index, order[index], (kind, name, count), _caller()))
        if record is not None and kind != "sleep" and not record.done:
            raise _Stop(None)  # the step the journal was in the middle of

    def begin_step(self) -> None:
        pass

    def checkpoint(self) -> None:
        pass

    def write(self, entry: dict[str, Any], raw: dict[str, str] | None = None) -> None:
        raise _Stop(None)

    async def record(self, entry: dict[str, Any], raw: dict[str, str] | None = None) -> None:
        raise _Stop(None)

    async def wait_until(self, when: float, reason: str, new: bool = False) -> None:
        pass

    async def wait_for_inbox(self, timeout_at: float, linger_until: float, waiting_for: str) -> None:
        raise _Stop(None)

    def take_event(self, event_type: str) -> tuple[str, dict[str, Any]] | None:
        return None

    def event_taken(self, name: str) -> None:
        pass

    async def rolling_back(self, active: bool) -> None:
        pass  # undos are not in the step order; a new one stops the replay at its first write


async def replay(entries: list[dict[str, Any]], workflow_cls: type, env: Any = None) -> ReplayResult:
    """Replay journal `entries` against `workflow_cls`; nothing is executed or written."""
    state = replay_state(entries)
    host = _ReplayHost(state)
    meta: dict[str, Any] = next((e["instance"] for e in entries if isinstance(e.get("instance"), dict)), {})
    event = WorkflowEvent.build(
        meta.get("params"),
        meta.get("created_on_epoch", 0.0),
        meta.get("id", ""),
        meta.get("workflow", ""),
        meta.get("schedule"),
    )
    run = start(workflow_cls, env)
    try:
        await run(event, WorkflowStep(host))
    except _Stop as stop:
        return ReplayResult(stop.divergence, host.asked_count - (stop.divergence is not None))
    except BaseExceptionGroup as group:
        stops = [e for e in group.exceptions if isinstance(e, _Stop)]
        if stops:
            return ReplayResult(stops[0].divergence, host.asked_count)
        if host.asked_count < len(state.order):
            return _ended_early(host)
    except Exception:
        if host.asked_count < len(state.order):
            return _ended_early(host)
    else:
        if host.asked_count < len(state.order):
            return _ended_early(host)
    return ReplayResult(None, host.asked_count)


def _ended_early(host: _ReplayHost) -> ReplayResult:
    index = host.asked_count
    return ReplayResult(Divergence(index, host.state.order[index], None, None), index)
