"""How each journal entry kind shows to people: in the step log (the admin API's and the CLI's
`steps`) and as a line of the `inspect` timeline. One function per kind in each table, keyed
like host.workflows.entries.KINDS, where the kinds are defined (a test checks that every kind
has both)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from host.text import compact, duration, error_text, when
from host.workflows.retry import StepConfig

Step = dict[str, Any]
Entry = dict[str, Any]
_INTERRUPTED = {"name": "Interrupted", "message": "the host stopped during this attempt"}


@dataclass
class StepLog:
    """Journal entries folded into steps in the order they began; times are epoch seconds."""

    steps: list[Step] = field(default_factory=list)
    by_key: dict[tuple[str, str, int], Step] = field(default_factory=dict)

    def get(self, kind: str, entry: Entry) -> Step:
        key = (kind, str(entry.get("name")), int(entry.get("count") or 1))
        step = self.by_key.get(key)
        if step is None:
            step = self.by_key[key] = _new_step(kind, entry)
            self.steps.append(step)
        return step


def build_steps(entries: list[Entry], now: float) -> list[Step]:
    log = StepLog()
    for entry in entries:
        STEP_LOG[entry["type"]](log, entry)
    for step in log.steps:
        if step["type"] == "sleep":
            step["finished"] = step["end"] is not None and step["end"] <= now
    return log.steps


def _new_step(kind: str, entry: Entry) -> Step:
    base: Step = {"type": kind, "name": entry.get("name"), "count": int(entry.get("count") or 1)}
    base.update(start=entry.get("t"), end=None)
    if kind in ("step", "rollback"):
        base.update(attempts=[], success=None, output=None, error=None, config=StepConfig().as_json())
    elif kind == "waitForEvent":
        base.update(finished=False, event_type=None, output=None, error=None, timeout_at=None, event=None)
    else:
        base.update(finished=False)
    return base


def _attempt(step: Step, t: float | None, number: Any = None) -> dict[str, Any]:
    attempt = {"attempt": number or len(step["attempts"]) + 1, "start": t, "end": None}
    attempt.update(success=None, error=None, retry_at=None)
    step["attempts"].append(attempt)
    if step["start"] is None:
        step["start"] = t
    return attempt


def _open_attempt(step: Step, t: float | None) -> dict[str, Any]:
    """The attempt an outcome closes (made up when its start line was lost in a crash)."""
    attempts = step["attempts"]
    if attempts and attempts[-1]["end"] is None and attempts[-1]["success"] is None:
        return attempts[-1]  # type: ignore[no-any-return]
    return _attempt(step, t)


def _log_start(log: StepLog, entry: Entry, kind: str = "step") -> None:
    step = log.get(kind, entry)
    attempts = step["attempts"]
    if attempts and attempts[-1]["end"] is None and attempts[-1]["success"] is None:
        attempts[-1].update(success=False, error=_INTERRUPTED)
    _attempt(step, entry.get("t"), entry.get("attempt"))
    if "config" in entry:
        step["config"] = entry["config"]


def _log_fail(log: StepLog, entry: Entry, kind: str = "step") -> None:
    step = log.get(kind, entry)
    _open_attempt(step, entry.get("t")).update(
        end=entry.get("t"), success=False, error=entry.get("error"), retry_at=entry.get("retry_at")
    )


def _log_error(log: StepLog, entry: Entry, kind: str = "step") -> None:
    step = log.get(kind, entry)
    t = entry.get("t")
    _open_attempt(step, t).update(end=t, success=False, error=entry.get("error"))
    step.update(end=t, success=False, error=entry.get("error"))


def _log_done(log: StepLog, entry: Entry, kind: str = "step") -> None:
    step = log.get(kind, entry)
    t = entry.get("t")
    _open_attempt(step, t).update(end=t, success=True)
    step.update(end=t, success=True, output=entry.get("result"))


def _log_sleep(log: StepLog, entry: Entry) -> None:
    log.get("sleep", entry).update(start=entry.get("t"), end=entry.get("until"))


def _log_wait(log: StepLog, entry: Entry) -> None:
    step = log.get("waitForEvent", entry)
    timeout = entry.get("timeout_at")
    step.update(start=entry.get("t"), end=timeout, event_type=entry.get("event_type"), timeout_at=timeout)


def _log_event(log: StepLog, entry: Entry) -> None:
    event = entry.get("event") or {}
    step = log.get("waitForEvent", entry)
    step.update(end=entry.get("t"), finished=True, output=event.get("payload"), event=event)


def _log_timeout(log: StepLog, entry: Entry) -> None:
    step = log.get("waitForEvent", entry)
    error = {"name": "WaitTimeoutError", "message": f"no {step.get('event_type')!r} event before the timeout"}
    step.update(end=entry.get("t"), finished=True, error=error)


def _log_control(log: StepLog, entry: Entry) -> None:
    if entry.get("action") == "terminate":
        source = entry.get("source") if entry.get("source") in ("api", "binding") else "api"
        log.steps.append({"type": "termination", "trigger": {"source": source}, "start": entry.get("t")})


def _log_nothing(log: StepLog, entry: Entry) -> None:
    pass


STEP_LOG: dict[str, Callable[[StepLog, Entry], None]] = {
    "status": _log_nothing,
    "control": _log_control,
    "step_start": _log_start,
    "step_fail": _log_fail,
    "step_done": _log_done,
    "step_error": _log_error,
    "sleep": _log_sleep,
    "wait": _log_wait,
    "event": _log_event,
    "wait_timeout": _log_timeout,
    # an undo is a step of its own, shown as type "rollback" (Cloudflare's InstanceGetResponse)
    "undo_start": partial(_log_start, kind="rollback"),
    "undo_fail": partial(_log_fail, kind="rollback"),
    "undo_done": partial(_log_done, kind="rollback"),
    "undo_error": partial(_log_error, kind="rollback"),
    "rollback_start": _log_nothing,
    "rollback_end": _log_nothing,
}


# ---- the inspect timeline: one line of text per entry -------------------------------------------


@dataclass
class Timeline:
    """What a timeline line needs to know of the entries before it."""

    started: dict[tuple[str, int], float] = field(default_factory=dict)  # last attempt start by step
    first: dict[tuple[str, int], float] = field(default_factory=dict)  # first entry by step


def timeline(entries: list[Entry], origin: float) -> list[dict[str, Any]]:
    """One line per journal entry: {"t", "offset", "text"}, with durations and errors spelled out."""
    seen = Timeline()
    lines: list[dict[str, Any]] = []
    for entry in entries:
        t = float(entry.get("t") or origin)
        key = (str(entry.get("name")), int(entry.get("count") or 1))
        label = key[0] if key[1] == 1 else f"{key[0]} #{key[1]}"
        if entry["type"].startswith("undo_"):  # timed apart from the step it undoes
            key = (f"undo\0{key[0]}", key[1])
        seen.first.setdefault(key, t)
        text = TIMELINE[entry["type"]](entry, label, t, seen, key)
        lines.append({"t": t, "offset": t - origin, "text": text})
    return lines


Key = tuple[str, int]


def _say_status(entry: Entry, label: str, t: float, seen: Timeline, key: Key) -> str:
    text = f"status {entry.get('status')}"
    if entry.get("waiting_for"):
        text += f" (waiting for {entry['waiting_for']})"
    if entry.get("wake_at"):
        text += f" until {when(entry['wake_at'])}"
    if entry.get("error"):
        text += f": {error_text(entry['error'])}"
    if entry.get("status") == "complete":
        text += f"; output {compact(entry.get('output'))}"
    return text


def _say_start(entry: Entry, label: str, t: float, seen: Timeline, key: Key) -> str:
    seen.started[key] = t
    return f"step '{label}' attempt {entry.get('attempt')} started"


def _say_fail(entry: Entry, label: str, t: float, seen: Timeline, key: Key) -> str:
    retry = entry.get("retry_at")
    took = duration(t - seen.started.get(key, t))
    text = (
        f"step '{label}' attempt {entry.get('attempt')} failed after {took}: {error_text(entry.get('error'))}"
    )
    return text + (f"; retry in {duration(retry - t)}" if retry else "")


def _say_done(entry: Entry, label: str, t: float, seen: Timeline, key: Key) -> str:
    took = duration(t - seen.started.get(key, t))
    total = duration(t - seen.first[key])
    return f"step '{label}' done after {took} (step took {total}); result {compact(entry.get('result'))}"


def _say_error(entry: Entry, label: str, t: float, seen: Timeline, key: Key) -> str:
    took = duration(t - seen.started.get(key, t))
    return f"step '{label}' failed for good after {took}: {error_text(entry.get('error'))}"


def _say_sleep(entry: Entry, label: str, t: float, seen: Timeline, key: Key) -> str:
    until = float(entry.get("until") or t)
    return f"sleep '{label}' for {duration(until - t)}, until {when(until)}"


def _say_wait(entry: Entry, label: str, t: float, seen: Timeline, key: Key) -> str:
    timeout = float(entry.get("timeout_at") or t)
    return f"wait '{label}' for event {entry.get('event_type')!r}, timeout in {duration(timeout - t)}"


def _say_event(entry: Entry, label: str, t: float, seen: Timeline, key: Key) -> str:
    event = entry.get("event") or {}
    after = duration(t - seen.first[key])
    payload = compact(event.get("payload"))
    return f"event {event.get('type')!r} delivered to '{label}' after {after}; payload {payload}"


def _say_timeout(entry: Entry, label: str, t: float, seen: Timeline, key: Key) -> str:
    return f"wait '{label}' timed out after {duration(t - seen.first[key])}"


def _say_control(entry: Entry, label: str, t: float, seen: Timeline, key: Key) -> str:
    text = f"{entry.get('action')} requested"
    if entry.get("rollback"):
        text += " (with rollback)"
    if isinstance(entry.get("from_step"), dict):
        step = entry["from_step"]
        text += f" from {step.get('type', 'do')} step '{step.get('name')}' #{step.get('count', 1)}"
    return text


def _say_undo(what: str) -> Callable[[Entry, str, float, Timeline, Key], str]:
    """An undo's line: the step line of the same outcome, about the undo of that step."""
    say = TIMELINE[what]

    def undo_line(entry: Entry, label: str, t: float, seen: Timeline, key: Key) -> str:
        return "undo of " + say(entry, label, t, seen, key)  # "undo of step 'x' done after ..."

    return undo_line


def _say_rollback_start(entry: Entry, label: str, t: float, seen: Timeline, key: Key) -> str:
    why = {"call": "step.rollback_all", "error": "run() raised", "terminate": "terminate"}
    text = f"rollback started ({why.get(str(entry.get('cause')), entry.get('cause'))})"
    return text + (f": {error_text(entry['error'])}" if entry.get("error") else "")


def _say_rollback_end(entry: Entry, label: str, t: float, seen: Timeline, key: Key) -> str:
    if entry.get("outcome") == "complete":
        return "rollback complete"
    return f"rollback failed: {error_text(entry.get('error'))}"


TIMELINE: dict[str, Callable[[Entry, str, float, Timeline, Key], str]] = {
    "status": _say_status,
    "control": _say_control,
    "step_start": _say_start,
    "step_fail": _say_fail,
    "step_done": _say_done,
    "step_error": _say_error,
    "sleep": _say_sleep,
    "wait": _say_wait,
    "event": _say_event,
    "wait_timeout": _say_timeout,
    "rollback_start": _say_rollback_start,
    "rollback_end": _say_rollback_end,
}
TIMELINE.update({f"undo_{what}": _say_undo(f"step_{what}") for what in ("start", "fail", "done", "error")})
