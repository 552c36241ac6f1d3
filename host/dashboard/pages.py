"""What each dashboard page shows, read through the WorkflowService (the admin API's reading path):
plain dicts for the templates, built in a worker thread by the caller."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from host.admin.shapes import workflow_infos
from host.admin.steplog import build_steps
from host.admin.steps import shown_output
from host.config import Config
from host.dashboard.timeline import timeline_svg
from host.text import compact, duration, error_text, when
from host.workflows.service import WorkflowService
from host.workflows.statuses import InstanceStatus

PER_PAGE = 25  # instances on one page of a list
STATUSES = [s.value for s in InstanceStatus]
# the step log's kinds as restart's from_step type (SPEC 3.8)
RESTART_TYPES = {"step": "do", "sleep": "sleep", "waitForEvent": "waitForEvent"}


def workflows_page(service: WorkflowService, config: Config) -> dict[str, Any]:
    infos = workflow_infos(config)
    schedules = _schedules(config)
    rows = []
    for name, info in sorted(infos.items()):
        try:
            counts = service.status_counts(name)
        except (OSError, LookupError, ValueError):
            counts = {}
        rows.append(
            {
                "name": name,
                "worker": info.script_name,
                "class_name": info.class_name,
                "counts": counts,
                "total": sum(counts.values()),
                "schedules": schedules.get(name, []),
            }
        )
    return {"workflows": rows, "statuses": STATUSES}


def _schedules(config: Config) -> dict[str, list[str]]:
    """Workflow -> its schedules as text (the cron triggers of the worker that defines it, and any
    schedules config.yaml gives the workflow itself)."""
    found: dict[str, list[str]] = {}
    for worker in config.workers:
        for wf in worker.workflows:
            own = [str(getattr(s, "cron", s)) for s in getattr(wf, "schedules", ()) or ()]
            found[wf.name] = own + [f"{cron} (worker {worker.name} cron trigger)" for cron in worker.crons]
    return found


def instances_page(
    service: WorkflowService, workflow: str, status: str | None, search: str, page: int
) -> dict[str, Any]:
    service.require(workflow)
    docs, more = service.page(workflow, status, search, (page - 1) * PER_PAGE, PER_PAGE)
    rows = [
        {
            "id": d.get("id"),
            "status": d.get("status"),
            "created": when(d.get("created_on")),
            "ended": when(d.get("end_time")),
            "steps": d.get("step_count"),
            "error": error_text(d.get("error")),
        }
        for d in docs
    ]
    return {
        "workflow": workflow,
        "rows": rows,
        "page": page,
        "more": more,
        "status": status or "",
        "search": search,
        "statuses": STATUSES,
    }


def instance_page(service: WorkflowService, workflow: str, instance_id: str) -> dict[str, Any]:
    status = service.status(workflow, instance_id)
    entries, problems = service.journal(workflow, instance_id)
    now = time.time()
    steps = build_steps(entries, now)
    first = entries[0].get("instance") if entries else None
    meta: Mapping[str, Any] = first if isinstance(first, dict) else {}
    return {
        "workflow": workflow,
        "id": instance_id,
        "status": status.get("status"),
        "doc": status,
        "params": compact(meta.get("params"), 20_000),
        "output": compact(status.get("output"), 20_000),
        "error": error_text(status.get("error")),
        "created": when(status.get("created_on")),
        "started": when(status.get("start_time")),
        "ended": when(status.get("end_time")),
        "wake_at": when(status.get("wake_at")),
        "waiting_for": status.get("waiting_for"),
        "rollback": status.get("rollback"),
        "problems": problems,
        "timeline": timeline_svg(steps, now),
        "steps": [_step_row(s, now) for s in steps],
        "restart_points": [
            {
                "value": f"{RESTART_TYPES[s['type']]}|{s['count']}|{s['name']}",
                "label": f"{s['name']}" + (f" #{s['count']}" if s["count"] != 1 else "") + f" ({s['type']})",
            }
            for s in steps
            if s.get("type") in RESTART_TYPES and s.get("name") is not None
        ],
    }


def _step_row(step: dict[str, Any], now: float) -> dict[str, Any]:
    start, end = step.get("start"), step.get("end")
    took = None
    if isinstance(start, int | float):
        took = duration((end if isinstance(end, int | float) and end <= now else now) - start)
    kind = step.get("type")
    if kind == "step":
        state = "running" if step.get("success") is None else "complete" if step["success"] else "errored"
        detail = f"{len(step.get('attempts') or [])} attempt(s)"
        if step.get("success"):
            detail += f"; output {compact(shown_output(step), 120)}"  # "[REDACTED]" if sensitive
        elif step.get("error"):
            detail += f"; {error_text(step.get('error'))}"
    elif kind == "waitForEvent":
        state = (
            "complete"
            if step.get("finished") and not step.get("error")
            else "errored"
            if step.get("error")
            else "waiting"
        )
        detail = f"event type {step.get('event_type')!r}"
        if step.get("finished") and not step.get("error"):
            detail += f"; payload {compact(step.get('output'), 120)}"
    elif kind == "sleep":
        state = "complete" if step.get("finished") else "waiting"
        detail = f"until {when(end)}"
    elif kind == "termination":
        return {
            "kind": "termination",
            "name": "",
            "state": "terminated",
            "took": "",
            "detail": "",
            "start": when(start),
        }
    else:
        state = (
            "errored"
            if step.get("error") or step.get("success") is False
            else "complete"
            if end
            else "running"
        )
        detail = error_text(step.get("error")) or ""
    name = str(step.get("name"))
    if (step.get("count") or 1) != 1:
        name += f" #{step['count']}"
    return {
        "kind": kind,
        "name": name,
        "state": state,
        "took": took or "",
        "detail": detail,
        "start": when(start),
    }


def workers_page(config: Config, load_errors: Mapping[str, str]) -> dict[str, Any]:
    workers = []
    for worker in config.workers:
        bindings = [f"{wf.binding} → workflow {wf.name}" for wf in worker.workflows]
        bindings += [f"{s.binding} → service {s.service}" for s in worker.services]
        for attr, kind in (("kv_namespaces", "KV"), ("d1_databases", "D1"), ("r2_buckets", "R2")):
            for item in getattr(worker, attr, ()) or ():
                bindings.append(f"{getattr(item, 'binding', item)} → {kind}")
        bindings += [f"{name} (var)" for name in sorted(worker.vars)]
        workers.append(
            {
                "name": worker.name,
                "main": str(worker.main),
                "routes": list(worker.routes),
                "crons": list(worker.crons),
                "bindings": bindings,
                "error": load_errors.get(worker.name),
            }
        )
    return {"workers": workers}
