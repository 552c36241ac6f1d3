"""An instance's steps as `workflows instances describe` prints them: one labelled block per step, with
a table of its attempts."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from host.cli.output import compact, duration, error_text, labelled, table, when

DEFAULT_OUTPUT_LIMIT = 5000  # characters of a step's output, as wrangler's --truncate-output-limit


def seconds(start: str | None, end: str | None) -> float | None:
    """Seconds from ISO time `start` to `end` (or to now)."""
    if start is None:
        return None
    begin = dt.datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp()
    finish = dt.datetime.fromisoformat(end.replace("Z", "+00:00")).timestamp() if end else time.time()
    return finish - begin


def step_text(step: dict[str, Any], show_output: bool, output_limit: int = DEFAULT_OUTPUT_LIMIT) -> str:
    """One step of the admin API's `steps` (outputs already redacted where the step asked)."""
    kind = step["type"]
    if kind == "termination":
        return labelled([("Type", "termination"), ("Trigger", step["trigger"]["source"])], indent=2)
    pairs: list[tuple[str, object]] = [
        ("Name", step["name"]),
        ("Type", kind),
        ("Start", when(step["start"])),
        ("End", when(step["end"])),
        ("Duration", duration(seconds(step["start"], step["end"]))),
    ]
    if kind in ("step", "rollback"):
        pairs.append(("Success", {True: "yes", False: "no", None: "running"}[step["success"]]))
    elif kind == "sleep":
        pairs.append(("Finished", "yes" if step["finished"] else "no"))
    else:
        pairs += [("Event type", step["event_type"]), ("Received", "yes" if step["finished"] else "no")]
    if show_output and kind != "sleep" and step.get("output") is not None:
        pairs.append(("Output", compact(step["output"], output_limit)))
    pairs.append(("Error", error_text(step.get("error"))))
    text = labelled(pairs, indent=2)
    if kind in ("step", "rollback") and step["attempts"]:
        rows = [
            (
                n,
                when(a["start"]),
                when(a["end"]) or "-",
                duration(seconds(a["start"], a["end"])),
                {True: "success", False: "error", None: "working"}[a["success"]],
                error_text(a["error"]) or "",
            )
            for n, a in enumerate(step["attempts"], start=1)
        ]
        attempts = table(rows, ("Attempt", "Start", "End", "Duration", "State", "Error"))
        text += "\n" + "\n".join("    " + line for line in attempts.splitlines())
    return text
