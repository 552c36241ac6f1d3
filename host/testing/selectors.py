"""How a test names a step: `{"name": "charge card", "index": 2}` (the 2nd use of the name in a
run, from 1, as the journal's count), `{"name": ...}` (every use) or just the name."""

from __future__ import annotations

from typing import Any

from host.workflows.ids import check_step_name

Step = str | dict[str, Any]


def pick(step: Step) -> tuple[str, int | None]:
    """(name, index or None); ValueError naming what is wrong with the selector."""
    if isinstance(step, str):
        return check_step_name(step), None
    if not isinstance(step, dict):
        raise ValueError(f'a step is picked by {{"name": ..., "index": n}} or its name, got {step!r}')
    unknown = sorted(set(step) - {"name", "index"})
    if unknown:
        raise ValueError(f"step selector: unknown key {unknown[0]!r} (allowed: name, index)")
    name = step.get("name")
    if not isinstance(name, str):
        raise ValueError(f"step selector: 'name' must be the step's name, got {name!r}")
    index = step.get("index")
    if index is not None and (isinstance(index, bool) or not isinstance(index, int) or index < 1):
        raise ValueError(f"step selector {name!r}: 'index' counts uses of the name from 1, got {index!r}")
    return check_step_name(name), index
