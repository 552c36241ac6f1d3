"""The schedules a configuration declares, and how the CLI, the admin API and the log show them."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from host.config import Config
from host.schedules.crons import iso, parse_cron
from host.schedules.ticks import Schedule


def from_config(config: Config) -> list[Schedule]:
    """Every worker cron and workflow schedule of `config` (validated there), each once."""
    found: dict[tuple[str, str, str], Schedule] = {}
    for worker in config.workers:
        for text in worker.crons:
            s = Schedule("worker", worker.name, parse_cron(text))
            found.setdefault(s.key, s)
        for wf in worker.workflows:
            for text in wf.schedules:
                s = Schedule("workflow", wf.name, parse_cron(text))
                found.setdefault(s.key, s)
    return list(found.values())


def workflow_crons(config: Any, workflow: str) -> tuple[str, ...]:
    """The `schedules` of workflow `workflow` over all of its bindings, in order, each once."""
    crons: dict[str, None] = {}
    for worker in getattr(config, "workers", ()):
        for wf in worker.workflows:
            if wf.name == workflow:
                crons.update(dict.fromkeys(wf.schedules))
    return tuple(crons)


def next_ticks(
    crons: Iterable[str], now: float | None = None, field: str = "next_tick"
) -> list[dict[str, Any]]:
    """[{"cron", field}]: each cron with its next tick. The admin API's workflow answer (and so
    `workflows describe`) names it `next_instance`, as Cloudflare does; `workers list` `next_tick`."""
    at = time.time() if now is None else now
    return [{"cron": text, field: iso(parse_cron(text).next_after(at))} for text in crons]


def describe_lines(schedules: list[dict[str, Any]]) -> str | None:
    """`workflows describe`'s Schedules row: `cron (next tick ...)`, "; " between; None if none."""
    if not schedules:
        return None
    return "; ".join(f"{s['cron']} (next tick {s['next_instance']})" for s in schedules)
