"""The journal: one JSON object per line, and the replay state read back from it.

Entry kinds (field "type"):
  status      {"status", "output"?, "error"?}          a status change; the first line, "queued",
              {"instance"}                             written at create (and at a restart) also
                                                       holds instance.json's content
  step_start  {"name", "count", "attempt"}             an attempt of step.do began
  step_fail   {"name", "count", "attempt", "error", "retry_at"}   an attempt failed; retry_at or null
  step_done   {"name", "count", "result"}              the step's result (fsynced before run() sees it)
  step_error  {"name", "count", "error"}               the step failed for good
  sleep       {"name", "count", "until"}               a sleep began; absolute wake time
  wait        {"name", "count", "event_type", "timeout_at"}
  event       {"name", "count", "event", "inbox"}      an event was delivered to a wait
  wait_timeout {"name", "count"}
  control     {"action"}                               pause/resume/terminate/restart taken from inbox/
Every entry has "t", the epoch seconds when it was written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from host.workflows.jsonenc import compact
from host.workflows.status import InstanceStatus

StepKey = tuple[str, int]


class JournalDamaged(Exception):
    """A journal line other than the last cannot be read."""


_encode_line = compact  # a journal line is written per step


def encode(entry: dict[str, Any], raw: dict[str, str] | None = None) -> bytes:
    """One journal line; fields in `raw` are spliced in as already-encoded JSON (a step's result
    is encoded once, to check its size, and that text is what the journal stores)."""
    if not raw:
        return (_encode_line(entry) + "\n").encode()
    plain = {key: value for key, value in entry.items() if key not in raw}
    text = _encode_line(plain)[:-1]
    text += "".join(f",{_encode_line(key)}:{value}" for key, value in raw.items())
    return (text + "}\n").encode()


def created_line(meta: dict[str, Any]) -> bytes:
    """A new journal's first line: the queued status, with the instance document (instance.json's
    content) in "instance", so that an activation reads the journal alone."""
    return encode({"type": "status", "status": "queued", "t": meta["created_on_epoch"], "instance": meta})


def instance_of(entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The instance document the journal's first line holds; None for a journal written before
    the first line held it (read instance.json then)."""
    if entries:
        first = entries[0].get("instance")
        if isinstance(first, dict):
            return first
    return None


def parse(data: bytes, path: Path | str = "journal.jsonl") -> tuple[list[dict[str, Any]], int]:
    """Parse journal bytes; return (entries, length of the good prefix).

    A torn last line (no newline, or unreadable at the very end) is dropped; the caller truncates
    the file to the good prefix. An unreadable line elsewhere raises JournalDamaged naming it.
    """
    whole = _parse_whole(data)
    if whole is not None:
        return whole, len(data)
    entries: list[dict[str, Any]] = []
    lines = data.split(b"\n")
    good = 0
    for number, line in enumerate(lines, start=1):
        if number == len(lines):
            break  # text after the last newline is a torn write, even if it parses
        if not line.strip():
            good += len(line) + 1
            continue
        try:
            entry = json.loads(line)
            _check_entry(entry)
        except ValueError as exc:
            if number == len(lines) - 1 and not lines[-1]:
                # the last complete line is garbage: treat as a torn write of the final entry
                break
            raise JournalDamaged(f"{path} line {number}: {exc}") from None
        entries.append(entry)
        good += len(line) + 1
    return entries, good


def _parse_whole(data: bytes) -> list[dict[str, Any]] | None:
    """The entries of a journal without a torn or bad line, read by one json.loads call (a line
    each costs several times more when ten thousand instances load at once); None otherwise."""
    if not data.endswith(b"\n"):
        return [] if not data else None
    body = data[:-1]
    try:
        entries = json.loads(b"[" + body.replace(b"\n", b",") + b"]")
        if len(entries) != body.count(b"\n") + 1:  # one line held two values ("{..},{..}")
            return None
        for entry in entries:
            _check_entry(entry)
    except ValueError:
        return None  # line by line, to find it
    return entries  # type: ignore[no-any-return]


_FIELDS: dict[str, tuple[str, ...]] = {
    "status": ("status",),
    "step_start": ("name", "count", "attempt"),
    "step_fail": ("name", "count", "attempt", "error"),
    "step_done": ("name", "count"),
    "step_error": ("name", "count", "error"),
    "sleep": ("name", "count", "until"),
    "wait": ("name", "count", "event_type", "timeout_at"),
    "event": ("name", "count", "event", "inbox"),
    "wait_timeout": ("name", "count"),
    "control": ("action",),
}
_STATUSES = frozenset(s.value for s in InstanceStatus)


def _check_entry(entry: object) -> None:
    """Refuse anything that is not an entry this engine writes (ValueError says what)."""
    if not isinstance(entry, dict):
        raise ValueError("not a JSON object")
    kind = entry.get("type")
    fields = _FIELDS.get(kind)  # type: ignore[arg-type]
    if fields is None:
        raise ValueError(f"unknown entry type {kind!r}")
    missing = [f for f in fields if f not in entry]
    if missing:
        raise ValueError(f"{kind} entry without {missing[0]!r}")
    if kind == "status" and entry["status"] not in _STATUSES:
        raise ValueError(f"unknown status {entry['status']!r}")


@dataclass
class StepRecord:
    """What the journal says about one step key."""

    kind: str  # "do", "sleep" or "wait"
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
    """The journal folded into what replay needs."""

    steps: dict[StepKey, StepRecord] = field(default_factory=dict)
    delivered: set[str] = field(default_factory=set)
    status: InstanceStatus = InstanceStatus.QUEUED
    output: Any = None
    error: dict[str, str] | None = None
    started_at: float | None = None
    ended_at: float | None = None
    step_count: int = 0
    wake_at: float | None = None
    waiting_for: str | None = None

    def apply(self, entry: dict[str, Any]) -> None:
        kind = entry["type"]
        if kind == "status":
            self.status = InstanceStatus(entry["status"])
            if self.status is InstanceStatus.RUNNING and self.started_at is None:
                self.started_at = entry.get("t")
            if "output" in entry:
                self.output = entry["output"]
            if "error" in entry:
                self.error = entry["error"]
            self.wake_at = entry.get("wake_at")
            self.waiting_for = entry.get("waiting_for")
            if self.status in (InstanceStatus.COMPLETE, InstanceStatus.ERRORED, InstanceStatus.TERMINATED):
                self.ended_at = entry.get("t")
            return
        if kind == "control":
            return
        key = (entry["name"], entry["count"])
        record = self.steps.get(key)
        if record is None:
            record = self.steps[key] = StepRecord(kind=_STEP_KIND[kind])
            self.step_count += 1
        if kind == "step_fail":
            record.failures += 1
            record.retry_at = entry.get("retry_at")
        elif kind == "step_done":
            record.done, record.result = True, entry.get("result")
        elif kind == "step_error":
            record.done, record.error = True, entry["error"]
        elif kind == "sleep":
            record.until = entry["until"]
        elif kind == "wait":
            record.until = entry["timeout_at"]
        elif kind == "event":
            record.done, record.event = True, entry["event"]
            self.delivered.add(entry["inbox"])
        elif kind == "wait_timeout":
            record.done, record.timed_out = True, True


_STEP_KIND = {
    "step_start": "do",
    "step_fail": "do",
    "step_done": "do",
    "step_error": "do",
    "sleep": "sleep",
    "wait": "wait",
    "event": "wait",
    "wait_timeout": "wait",
}


def replay_state(entries: list[dict[str, Any]]) -> ReplayState:
    state = ReplayState()
    for entry in entries:
        state.apply(entry)
    return state
