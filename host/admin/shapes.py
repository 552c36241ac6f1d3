"""Cloudflare's JSON shapes of workflows, versions and instances, built from what the data directory holds.

Shared by the admin API and the CLI's `--json`, so both answer with the same documents.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any

from host.admin.steps import api_steps, build_steps
from host.schedules.listing import next_ticks, workflow_crons
from host.workflows.service import WorkflowService
from host.workflows.status import InstanceStatus, iso

_NAMESPACE = uuid.UUID("9b1f5f1e-6a38-4c38-9a52-77a1d3c0b0a1")
TRIGGER_SOURCES = ("unknown", "api", "binding", "event", "cron")


def workflow_id(name: str) -> str:
    """A stable id for a workflow name (Cloudflare gives every workflow a UUID)."""
    return str(uuid.uuid5(_NAMESPACE, f"workflow:{name}"))


def version_id(name: str, class_name: str) -> str:
    """One version per workflow and class: the code is whatever the worker's file holds now."""
    return str(uuid.uuid5(_NAMESPACE, f"version:{name}:{class_name}"))


@dataclass(frozen=True)
class WorkflowInfo:
    """What config.yaml says about a workflow (empty strings when the host does not define it)."""

    name: str
    class_name: str = ""
    script_name: str = ""
    steps_limit: int | None = None
    concurrency_limit: int | None = None
    schedules: tuple[str, ...] = ()  # cron expressions (SPEC 3.10)
    retention: dict[str, float] | None = None  # the default instance retention, seconds (SPEC 3.11)
    defined_at: float = 0.0  # mtime of the worker file defining it: its dates until it has instances


def workflow_infos(config: Any) -> dict[str, WorkflowInfo]:
    """name -> WorkflowInfo of the workflows a host.config.Config defines."""
    found: dict[str, WorkflowInfo] = {}
    for worker in getattr(config, "workers", ()):
        for wf in worker.workflows:
            if wf.script_name is None:
                found[wf.name] = WorkflowInfo(
                    wf.name,
                    wf.class_name,
                    worker.name,
                    wf.steps_limit,
                    wf.concurrency_limit,
                    workflow_crons(config, wf.name),
                    wf.retention,
                    _mtime(worker.main),
                )
    return found


def _mtime(path: Any) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def status_counts(docs: list[dict[str, Any]]) -> dict[str, int]:
    counts = {status.value: 0 for status in InstanceStatus}
    for doc in docs:
        status = doc.get("status")
        if status in counts:
            counts[status] += 1
    return counts


def workflow_doc(service: WorkflowService, info: WorkflowInfo) -> dict[str, Any]:
    """One workflow as Cloudflare lists it, with instance counts by status (reads every status)."""
    stored = service.store.workflow_times(info.name)
    docs = service.list_instances(info.name) if stored is not None else []
    created, modified = stored or (info.defined_at, info.defined_at)  # the same at every request
    newest = docs[0].get("created_on") if docs else None
    doc = {
        "id": workflow_id(info.name),
        "name": info.name,
        "class_name": info.class_name,
        "script_name": info.script_name,
        "created_on": iso(created),
        "modified_on": iso(modified),
        "triggered_on": newest,
        "instances": status_counts(docs),
    }
    if info.schedules:  # each schedule with its next tick (SPEC 3.10)
        doc["schedules"] = next_ticks(info.schedules, field="next_instance")
    return doc


def version_doc(info: WorkflowInfo, created_on: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": version_id(info.name, info.class_name),
        "workflow_id": workflow_id(info.name),
        "class_name": info.class_name,
        "created_on": created_on,
        "modified_on": created_on,
        "has_dag": False,
        "language": "python",
    }
    if info.steps_limit is not None:
        doc["limits"] = {"steps": info.steps_limit}
    if info.retention:  # config.yaml's default for the instances (SPEC 3.11), in ms as Cloudflare's
        doc["default_retention"] = {key: round(seconds * 1000) for key, seconds in info.retention.items()}
    if info.concurrency_limit is not None:
        doc["concurrency"] = {"limit": info.concurrency_limit}
    return doc


def read_meta(service: WorkflowService, workflow: str, instance_id: str) -> dict[str, Any]:
    """The instance document ({} when it cannot be read), from the journal's first line."""
    try:
        entries, _ = service.journal(workflow, instance_id)
    except (OSError, ValueError, LookupError):
        return {}
    first = entries[0].get("instance") if entries else None
    return first if isinstance(first, dict) else {}


def trigger_source(meta: dict[str, Any]) -> str:
    source = meta.get("trigger_source")
    return source if source in TRIGGER_SOURCES else "unknown"


def instance_item(status: dict[str, Any], meta: dict[str, Any], info: WorkflowInfo) -> dict[str, Any]:
    """An instance as GET .../instances lists it."""
    return {
        "id": status["id"],
        "status": status.get("status"),
        "created_on": status.get("created_on"),
        "modified_on": status.get("modified_on") or status.get("created_on"),
        "started_on": status.get("start_time"),
        "ended_on": status.get("end_time"),
        "version_id": version_id(info.name, info.class_name),
        "workflow_id": workflow_id(info.name),
        "trigger_source": trigger_source(meta),
    }


def created_item(status: dict[str, Any], meta: dict[str, Any], info: WorkflowInfo) -> dict[str, Any]:
    """An instance as create and batch create answer."""
    return {
        "id": status["id"],
        "status": status.get("status"),
        "version_id": version_id(info.name, info.class_name),
        "workflow_id": workflow_id(info.name),
        "trigger_source": trigger_source(meta),
    }


def instance_detail(
    service: WorkflowService,
    info: WorkflowInfo,
    instance_id: str,
    *,
    simple: bool = False,
    order: str = "asc",
    now: float | None = None,
) -> dict[str, Any]:
    """An instance as GET .../instances/{id} answers: status, params, times, output, error and steps."""
    status = service.status(info.name, instance_id)
    entries, _ = service.journal(info.name, instance_id)
    first = entries[0].get("instance") if entries else None
    meta = first if isinstance(first, dict) else {}
    state = status.get("status")
    doc: dict[str, Any] = {
        "id": instance_id,
        "status": state,
        "params": meta.get("params"),
        "trigger": {"source": trigger_source(meta)},
        "versionId": version_id(info.name, info.class_name),
        "queued": status.get("created_on"),
        "start": status.get("start_time"),
        "end": status.get("end_time"),
        "success": True if state == "complete" else False if state in ("errored", "terminated") else None,
        "output": status.get("output"),
        "error": status.get("error"),
        "step_count": status.get("step_count", 0),
        "steps": [],
        "rollback": status.get("rollback"),  # {"outcome": "complete"|"failed", "error"?} after a rollback
    }
    if meta.get("schedule") is not None:  # made by a schedule: {"cron", "scheduledTime"}
        doc["schedule"] = meta["schedule"]
    if not simple:
        doc["steps"] = api_steps(build_steps(entries, time.time() if now is None else now), order)
    return doc


def dump(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)
