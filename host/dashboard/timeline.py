"""An instance's timeline as an SVG drawn on the server, to scale: one row per step (as the step log of
host.admin.steplog folds the journal), every attempt, retry wait, sleep, event wait, event and undo
a bar or mark at its place in time, with its duration."""

from __future__ import annotations

from html import escape
from typing import Any

from host.text import duration, error_text, when

WIDTH = 960
LABEL = 230  # the step names
RIGHT = 80  # the durations
ROW = 22
TOP = 26  # the time axis
MAX_ROWS = 2000  # rows drawn; a longer log says how many it left out
_COLORS = {
    "ok": "#2f9e44",
    "failed": "#e03131",
    "running": "#1c7ed6",
    "retry": "#868e96",
    "sleep": "#adb5bd",
    "wait": "#f59f00",
    "event": "#7048e8",
    "undo": "#ae3ec9",
    "other": "#495057",
}


def timeline_svg(steps: list[dict[str, Any]], now: float) -> str:
    """The SVG text for `steps` (build_steps' output); `now` ends whatever has not ended."""
    rows = [s for s in steps if s.get("type") != "termination"][:MAX_ROWS]
    times = [t for s in steps for t in _times(s, now)]
    if not times:
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="30" role="img">'
            '<text x="4" y="20">no steps yet</text></svg>'
        )
    origin, end = min(times), max(times)
    span = max(end - origin, 0.001)
    area = WIDTH - LABEL - RIGHT

    def x(t: float | None) -> float:
        return LABEL + (min(max((t if t is not None else now), origin), end) - origin) / span * area

    height = TOP + ROW * len(rows) + 8
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="timeline of {len(rows)} steps">',
        _axis(origin, span, area, height),
    ]
    for index, step in enumerate(rows):
        y = TOP + index * ROW
        out.append(f'<g class="row" data-kind="{escape(str(step.get("type")))}">')
        out.append(f'<text x="4" y="{y + 15}" class="label">{escape(_name(step)[:34])}</text>')
        out.extend(_bars(step, y, x, now))
        took = _took(step, now)
        out.append(f'<text x="{WIDTH - 4}" y="{y + 15}" text-anchor="end" class="took">{escape(took)}</text>')
        out.append("</g>")
    for step in steps:
        if step.get("type") == "termination" and step.get("start") is not None:
            left = x(step["start"])
            out.append(
                f'<line x1="{left:.1f}" x2="{left:.1f}" y1="{TOP - 4}" y2="{height}" '
                f'stroke="{_COLORS["failed"]}" stroke-width="2"><title>terminated</title></line>'
            )
    if len(steps) > MAX_ROWS:
        out.append(f'<text x="4" y="{height - 2}">... {len(steps) - MAX_ROWS} more steps not drawn</text>')
    out.append("</svg>")
    return "".join(out)


def _times(step: dict[str, Any], now: float) -> list[float]:
    found = [step.get("start"), step.get("end") if step.get("end") is not None else None]
    for attempt in step.get("attempts") or ():
        found += [attempt.get("start"), attempt.get("end"), attempt.get("retry_at")]
    values = [float(t) for t in found if isinstance(t, int | float)]
    if step.get("type") != "termination" and _open(step):
        values.append(now)
    return [min(t, now) for t in values]  # what is planned (a sleep's end, a retry) is drawn up to now


def _open(step: dict[str, Any]) -> bool:
    kind = step.get("type")
    if kind == "step" or (kind == "rollback" and step.get("attempts")):
        return step.get("success") is None
    if kind in ("sleep", "waitForEvent"):
        return not step.get("finished")
    return step.get("end") is None


def _axis(origin: float, span: float, area: float, height: int) -> str:
    parts = [f'<line x1="{LABEL}" x2="{LABEL + area}" y1="{TOP - 6}" y2="{TOP - 6}" stroke="#ced4da"/>']
    for i in range(5):
        offset = span * i / 4
        left = LABEL + area * i / 4
        anchor = "start" if i == 0 else "end" if i == 4 else "middle"
        parts.append(
            f'<line x1="{left:.1f}" x2="{left:.1f}" y1="{TOP - 6}" y2="{height}" stroke="#f1f3f5"/>'
            f'<text x="{left:.1f}" y="{TOP - 10}" text-anchor="{anchor}" class="tick">'
            f"+{escape(duration(offset) or '')}</text>"
        )
    return "".join(parts)


def _bar(x0: float, x1: float, y: int, color: str, title: str, dashed: bool = False, cls: str = "") -> str:
    width = max(x1 - x0, 2.0)
    style = ' stroke-dasharray="4 3" fill="none" stroke="' + color + '"' if dashed else f' fill="{color}"'
    return (
        f'<rect class="{cls}" x="{x0:.1f}" y="{y + 5}" width="{width:.1f}" height="{ROW - 10}" rx="2"{style}>'
        f"<title>{escape(title)}</title></rect>"
    )


def _bars(step: dict[str, Any], y: int, x: Any, now: float) -> list[str]:
    kind = step.get("type")
    name = _name(step)
    if kind == "step":
        return _attempts(step, y, x, now, name)
    if kind == "rollback" and step.get("attempts"):
        return _attempts(step, y, x, now, f"undo of {name}", ok="undo")
    start, end = step.get("start"), step.get("end")
    shown_end = end if not _open(step) else now
    if kind == "sleep":
        until = f", until {when(end)}" if isinstance(end, int | float) else ""
        took = duration(_span(start, shown_end))
        return [
            _bar(x(start), x(shown_end), y, _COLORS["sleep"], f"sleep {name}: {took}{until}", cls="sleep")
        ]
    if kind == "waitForEvent":
        title = f"wait for event {step.get('event_type')!r}: {duration(_span(start, shown_end))}"
        bars = [_bar(x(start), x(shown_end), y, _COLORS["wait"], title, cls="wait")]
        if step.get("finished"):
            left = x(shown_end)
            if step.get("error"):
                what, color = error_text(step.get("error")) or "timed out", _COLORS["failed"]
            else:
                event = step.get("event") or {}
                what, color = f"event {event.get('type')!r} delivered", _COLORS["event"]
            bars.append(
                f'<path class="event" d="M{left:.1f} {y + 3} l6 8 l-6 8 l-6 -8 z" fill="{color}">'
                f"<title>{escape(what)}</title></path>"
            )
        return bars
    color = _COLORS["undo"] if kind == "rollback" or "undo" in str(kind) else _COLORS["other"]
    failed = step.get("success") is False or step.get("error")
    title = f"{kind} {name}: {duration(_span(start, shown_end))}" + (" (failed)" if failed else "")
    return [_bar(x(start), x(shown_end), y, _COLORS["failed"] if failed else color, title, cls="undo")]


def _attempts(step: dict[str, Any], y: int, x: Any, now: float, name: str, ok: str = "ok") -> list[str]:
    bars: list[str] = []
    attempts = step.get("attempts") or []
    for index, attempt in enumerate(attempts):
        start, end = attempt.get("start"), attempt.get("end")
        success = attempt.get("success")
        state = "running" if success is None else ok if success else "failed"
        took = duration(_span(start, end if end is not None else now))
        detail = f": {error_text(attempt.get('error'))}" if attempt.get("error") else ""
        title = f"{name} attempt {attempt.get('attempt')} {state} after {took}{detail}"
        bars.append(
            _bar(
                x(start), x(end if end is not None else now), y, _COLORS[state], title, cls=f"attempt {state}"
            )
        )
        retry_at = attempt.get("retry_at")
        if success is False and isinstance(retry_at, int | float) and isinstance(end, int | float):
            following = attempts[index + 1]["start"] if index + 1 < len(attempts) else None
            until = following if isinstance(following, int | float) else min(retry_at, now)
            wait = f"retry wait {duration(_span(end, retry_at))}"
            bars.append(_bar(x(end), x(until), y, _COLORS["retry"], wait, dashed=True, cls="retry"))
    return bars


def _span(start: Any, end: Any) -> float | None:
    if isinstance(start, int | float) and isinstance(end, int | float):
        return float(end) - float(start)
    return None


def _name(step: dict[str, Any]) -> str:
    name = str(step.get("name"))
    count = step.get("count") or 1
    return name if count == 1 else f"{name}-{count}"


def _took(step: dict[str, Any], now: float) -> str:
    start = step.get("start")
    end = step.get("end") if not _open(step) else now
    return duration(_span(start, end)) or ""
