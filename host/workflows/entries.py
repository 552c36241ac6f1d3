"""Every kind of journal entry, defined once: its fields, the step kind it belongs to, and how it
folds into the replay state. How the admin step log and the `inspect` timeline show each kind is
in host.admin.steplog, keyed by the same names. Adding a kind is one entry in KINDS here (and
one line in each of steplog's two tables).

  status       {"status", "output"?, "error"?, "wake_at"?, "waiting_for"?, "instance"?}
  step_start   {"name", "count", "attempt", "config"?}       an attempt of step.do began
  step_fail    {"name", "count", "attempt", "error", "retry_at"}   an attempt failed; retry_at or null
  step_done    {"name", "count", "result"}                   the result, durable before run() sees it
  step_error   {"name", "count", "error"}                    the step failed for good
  sleep        {"name", "count", "until"}                    a sleep began; absolute wake time
  wait         {"name", "count", "event_type", "timeout_at"}
  event        {"name", "count", "event", "inbox"}           an event was delivered to a wait
  wait_timeout {"name", "count"}
  control      {"action", "source"?, "rollback"?, "from_step"?, "inbox"?}   pause/resume/terminate/
                                                             restart taken (from inbox/ file "inbox")
  undo_start   {"name", "count", "attempt", "config"?}       an attempt of the undo of step.do
                                                             (name, count) began (SPEC 3.9)
  undo_fail    {"name", "count", "attempt", "error", "retry_at"}   an undo attempt failed
  undo_done    {"name", "count", "result"}                   the undo ran; it never runs again
  undo_error   {"name", "count", "error"}                    the undo failed for good
  rollback_start {"cause", "error"?}                         undos begin: cause "call"
                                                             (step.rollback_all), "error" (run()
                                                             raised) or "terminate"
  rollback_end {"outcome", "error"?}                         "complete", or "failed" with the error
Every entry has "t", the epoch seconds when it was written. A restart from a step keeps the lines
before that step's first one and goes on with a queued status carrying "from_step"; a restart's
queued line names in "inbox" the request it carried out.

The journal's last word wins (SPEC 4.3): a terminate, restart or pause taken is `pending` until
the line that carries it out, so one a crash cut short is carried out at the next open. A
terminate or restart replaces what was pending (the last one asked wins), a pause replaces only
a pause; a final status ends them all, a paused status ends a pause, and a restart's queued line
(with "instance" or "from_step") ends the restart. A terminate or pause of a final instance, or
a pause of a paused or rolling-back one, changes nothing and is not pending.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from host.workflows.statuses import FINAL, InstanceStatus

StepKey = tuple[str, int]


@dataclass
class StepRecord:
    """What the journal says about one step key."""

    kind: str  # "do", "sleep", "wait" or "undo"
    done: bool = False
    result: Any = None
    error: dict[str, str] | None = None
    failures: int = 0
    retry_at: float | None = None
    until: float | None = None  # sleep wake time or wait timeout
    event: dict[str, Any] | None = None
    timed_out: bool = False


@dataclass
class ReplayState:
    """The journal folded into what replay and the status document need."""

    steps: dict[StepKey, StepRecord] = field(default_factory=dict)
    undos: dict[StepKey, StepRecord] = field(default_factory=dict)  # by the key of the step undone
    order: list[tuple[str, str, int]] = field(default_factory=list)  # (kind, name, count) by first entry
    delivered: set[str] = field(default_factory=set)  # inbox names taken: events, control requests
    status: InstanceStatus = InstanceStatus.QUEUED
    output: Any = None
    error: dict[str, str] | None = None
    started_at: float | None = None
    ended_at: float | None = None
    wake_at: float | None = None
    waiting_for: str | None = None
    rollback: dict[str, Any] | None = None  # the last rollback's outcome (status.json "rollback")
    rollback_open: dict[str, Any] | None = None  # the rollback_start of a rollback not ended
    pending: dict[str, Any] | None = None  # the control entry taken and not carried out yet

    @property
    def step_count(self) -> int:
        return len(self.steps)

    @property
    def terminate_rollback(self) -> bool:
        """A terminate(rollback=True) was taken, the end not reached."""
        pending = self.pending
        return pending is not None and pending["action"] == "terminate" and bool(pending.get("rollback"))

    def apply(self, entry: dict[str, Any]) -> None:
        kind = KINDS[entry["type"]]
        if kind.step is None:
            kind.fold(self, None, entry)
            return
        key = (entry["name"], entry["count"])
        table = self.undos if kind.step == "undo" else self.steps
        record = table.get(key)
        if record is None:
            record = table[key] = StepRecord(kind=kind.step)
            if kind.step != "undo":  # an undo is asked for by rollback, not by run()'s own order
                self.order.append((kind.step, key[0], key[1]))
        kind.fold(self, record, entry)


def replay_state(entries: list[dict[str, Any]]) -> ReplayState:
    state = ReplayState()
    for entry in entries:
        state.apply(entry)
    return state


# ---- how each kind folds ----------------------------------------------------------------------------


def _status(state: ReplayState, _: StepRecord | None, entry: dict[str, Any]) -> None:
    state.status = InstanceStatus(entry["status"])
    if state.status is InstanceStatus.RUNNING and state.started_at is None:
        state.started_at = entry.get("t")
    if "output" in entry:
        state.output = entry["output"]
    if "error" in entry:
        state.error = entry["error"]
    state.wake_at = entry.get("wake_at")
    state.waiting_for = entry.get("waiting_for")
    state.ended_at = entry.get("t") if state.status in FINAL else None
    if isinstance(entry.get("inbox"), str):
        state.delivered.add(entry["inbox"])  # the restart request this queued line carried out
    pending = state.pending
    if state.status in FINAL or "instance" in entry or "from_step" in entry:
        state.pending = None  # the end, or a restart's first line
    elif state.status is InstanceStatus.PAUSED and pending is not None and pending["action"] == "pause":
        state.pending = None


def _control(state: ReplayState, _: StepRecord | None, entry: dict[str, Any]) -> None:
    if isinstance(entry.get("inbox"), str):
        state.delivered.add(entry["inbox"])
    action, pending = entry["action"], state.pending
    if action == "restart":
        state.pending = entry
    elif state.status in FINAL:
        return  # a terminate or pause of a final instance changes nothing
    elif action == "terminate":
        state.pending = entry
    elif action == "pause" and (pending is None or pending["action"] == "pause"):
        if state.status not in (InstanceStatus.PAUSED, InstanceStatus.ROLLING_BACK):
            state.pending = entry


def _rollback_start(state: ReplayState, _: StepRecord | None, entry: dict[str, Any]) -> None:
    state.rollback_open, state.rollback = entry, None


def _rollback_end(state: ReplayState, _: StepRecord | None, entry: dict[str, Any]) -> None:
    state.rollback_open = None
    state.rollback = {"outcome": entry["outcome"]}
    if entry.get("error") is not None:
        state.rollback["error"] = entry["error"]


def _nothing(state: ReplayState, record: StepRecord | None, entry: dict[str, Any]) -> None:
    pass


def _fail(state: ReplayState, record: StepRecord | None, entry: dict[str, Any]) -> None:
    assert record is not None
    record.failures += 1
    record.retry_at = entry.get("retry_at")


def _done(state: ReplayState, record: StepRecord | None, entry: dict[str, Any]) -> None:
    assert record is not None
    record.done, record.result = True, entry.get("result")


def _error(state: ReplayState, record: StepRecord | None, entry: dict[str, Any]) -> None:
    assert record is not None
    record.done, record.error = True, entry["error"]


def _sleep(state: ReplayState, record: StepRecord | None, entry: dict[str, Any]) -> None:
    assert record is not None
    record.until = entry["until"]


def _wait(state: ReplayState, record: StepRecord | None, entry: dict[str, Any]) -> None:
    assert record is not None
    record.until = entry["timeout_at"]


def _event(state: ReplayState, record: StepRecord | None, entry: dict[str, Any]) -> None:
    assert record is not None
    record.done, record.event = True, entry["event"]
    state.delivered.add(entry["inbox"])


def _timeout(state: ReplayState, record: StepRecord | None, entry: dict[str, Any]) -> None:
    assert record is not None
    record.done, record.timed_out = True, True


@dataclass(frozen=True)
class Kind:
    """One kind of journal entry."""

    fields: tuple[str, ...]  # required besides "type"
    step: str | None  # the step kind it belongs to ("do", "sleep", "wait", "undo"), None: instance-wide
    fold: Callable[[ReplayState, StepRecord | None, dict[str, Any]], None]


KINDS: dict[str, Kind] = {
    "status": Kind(("status",), None, _status),
    "control": Kind(("action",), None, _control),
    "step_start": Kind(("name", "count", "attempt"), "do", _nothing),
    "step_fail": Kind(("name", "count", "attempt", "error"), "do", _fail),
    "step_done": Kind(("name", "count"), "do", _done),
    "step_error": Kind(("name", "count", "error"), "do", _error),
    "sleep": Kind(("name", "count", "until"), "sleep", _sleep),
    "wait": Kind(("name", "count", "event_type", "timeout_at"), "wait", _wait),
    "event": Kind(("name", "count", "event", "inbox"), "wait", _event),
    "wait_timeout": Kind(("name", "count"), "wait", _timeout),
    "undo_start": Kind(("name", "count", "attempt"), "undo", _nothing),
    "undo_fail": Kind(("name", "count", "attempt", "error"), "undo", _fail),
    "undo_done": Kind(("name", "count"), "undo", _done),
    "undo_error": Kind(("name", "count", "error"), "undo", _error),
    "rollback_start": Kind(("cause",), None, _rollback_start),
    "rollback_end": Kind(("outcome",), None, _rollback_end),
}
STEP_TYPES = {"do": "do", "sleep": "sleep", "waitForEvent": "wait"}  # Cloudflare's name -> kind


@dataclass(frozen=True)
class AttemptKinds:
    """The entry kinds the attempts of one kind of durable step are journalled with."""

    start: str
    fail: str
    done: str
    error: str
    what: str  # how messages name it


DO_ATTEMPTS = AttemptKinds("step_start", "step_fail", "step_done", "step_error", "step")
UNDO_ATTEMPTS = AttemptKinds("undo_start", "undo_fail", "undo_done", "undo_error", "undo of step")
_STATUSES = frozenset(s.value for s in InstanceStatus)


def check_entry(entry: object) -> None:
    """Refuse anything that is not an entry this engine writes (ValueError says what)."""
    if not isinstance(entry, dict):
        raise ValueError("not a JSON object")
    name = entry.get("type")
    kind = KINDS.get(name) if isinstance(name, str) else None
    if kind is None:
        raise ValueError(f"unknown entry type {entry.get('type')!r}")
    missing = [f for f in kind.fields if f not in entry]
    if missing:
        raise ValueError(f"{entry['type']} entry without {missing[0]!r}")
    if entry["type"] == "status" and entry["status"] not in _STATUSES:
        raise ValueError(f"unknown status {entry['status']!r}")
    if kind.step is not None and not (isinstance(entry["name"], str) and type(entry["count"]) is int):
        raise ValueError(f"{entry['type']} entry with a bad name or count")


def first_line_of(entries: list[dict[str, Any]], kind: str, name: str, count: int) -> int | None:
    """The index of the first entry of step (kind, name, count), None if the journal has none
    (where a restart from that step cuts the journal)."""
    for index, entry in enumerate(entries):
        found = KINDS.get(entry.get("type", ""))
        if found is not None and found.step == kind and entry.get("name") == name:
            if entry.get("count") == count:
                return index
    return None
