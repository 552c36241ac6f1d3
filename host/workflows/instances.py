"""Operations on instances straight on the data directory, with or without a running host.

The engine, the admin API and the CLI all go through these, so every way of managing an instance
validates the same way. Control requests and events go into inbox/ and leave a signal entry in
the pending index; whichever host runs the instance takes them.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from host.errors import LimitExceeded, WorkflowNotFound
from host.workflows.files import InstanceDir, instances_root, workflows_root
from host.workflows.ids import (
    MAX_BATCH,
    check_event_type,
    check_instance_id,
    check_json,
    check_name,
    new_instance_id,
)
from host.workflows.index import PendingIndex
from host.workflows.journal import ReplayState
from host.workflows.runner import iso, status_document
from host.workflows.status import check_control, check_event_allowed

SIGNAL_DUE = 0.0


def prepare_create(instance_id: object, params: object) -> tuple[str, Any]:
    """Validate one create request; returns (id, params) or raises ValueError naming the rule."""
    iid = new_instance_id() if instance_id is None else check_instance_id(instance_id)
    return iid, check_json({} if params is None else params, "params")


def create_instance(
    data_dir: Path,
    workflow: str,
    instance_id: str,
    params: Any,
    *,
    durability: str = "fsync",
    trigger: str = "api",
) -> dict[str, Any]:
    """Write a new queued instance (ids and params already validated); InstanceExists if taken."""
    check_name(workflow)
    now = time.time()
    meta = {
        "id": instance_id,
        "workflow": workflow,
        "params": params,
        "created_on": iso(now),
        "created_on_epoch": now,
        "trigger_source": trigger,
    }
    status = status_document(meta, ReplayState())
    InstanceDir(data_dir, workflow, instance_id, durability).create(meta, status)
    PendingIndex(data_dir, workflow).put(instance_id, now)
    return status


def prepare_batch(items: object) -> list[tuple[str, Any]]:
    """Validate a whole batch before anything is written: 1 to 100 items, unique ids."""
    if not isinstance(items, list | tuple):
        raise ValueError("create_batch expects a list of {'id', 'params'} items")
    if not 1 <= len(items) <= MAX_BATCH:
        raise LimitExceeded(f"create_batch takes 1 to {MAX_BATCH} instances, got {len(items)} (batch limit)")
    prepared: list[tuple[str, Any]] = []
    for index, item in enumerate(items):
        if item is None:
            item = {}
        if not isinstance(item, dict):
            raise ValueError(f"create_batch item {index}: expected a dict with 'id' and 'params'")
        unknown = set(item) - {"id", "params", "instance_id"}
        if unknown:
            raise ValueError(f"create_batch item {index}: unknown key {sorted(unknown)[0]!r}")
        try:
            prepared.append(prepare_create(item.get("id", item.get("instance_id")), item.get("params")))
        except ValueError as exc:
            raise type(exc)(f"create_batch item {index}: {exc}") from None
    ids = [iid for iid, _ in prepared]
    if len(set(ids)) != len(ids):
        raise ValueError("create_batch: the same instance id appears twice in the batch")
    return prepared


def read_status(data_dir: Path, workflow: str, instance_id: str) -> dict[str, Any]:
    check_name(workflow)
    check_instance_id(instance_id)
    return InstanceDir(data_dir, workflow, instance_id).read_status()


def request_control(
    data_dir: Path,
    workflow: str,
    instance_id: str,
    action: str,
    *,
    durability: str = "fsync",
    source: str = "api",
) -> None:
    """Validate `action` against the current status and leave it in inbox/ for the running host."""
    folder = InstanceDir(data_dir, check_name(workflow), check_instance_id(instance_id), durability)
    check_control(action, folder.read_status()["status"], instance_id)
    folder.inbox_put({"kind": "control", "action": action, "source": source, "t": time.time()})
    PendingIndex(data_dir, workflow).put(instance_id, SIGNAL_DUE)


def send_event(
    data_dir: Path,
    workflow: str,
    instance_id: str,
    event_type: str,
    payload: Any,
    *,
    durability: str = "fsync",
) -> None:
    """Leave an event in inbox/; it is delivered to the first wait_for_event of its type."""
    folder = InstanceDir(data_dir, check_name(workflow), check_instance_id(instance_id), durability)
    check_event_type(event_type)
    payload = check_json(payload, "event payload")
    check_event_allowed(folder.read_status()["status"], instance_id)
    folder.inbox_put({"kind": "event", "type": event_type, "payload": payload, "timestamp": iso(time.time())})
    PendingIndex(data_dir, workflow).put(instance_id, SIGNAL_DUE)


def workflow_names(data_dir: Path) -> list[str]:
    """Workflows that have a folder in the data directory."""
    root = workflows_root(data_dir)
    return sorted(n for n in os.listdir(root) if (root / n).is_dir()) if root.is_dir() else []


def list_instances(data_dir: Path, workflow: str, status: str | None = None) -> list[dict[str, Any]]:
    """status.json of every instance of `workflow`, newest first (reads one file per instance)."""
    root = instances_root(data_dir, check_name(workflow))
    found: list[dict[str, Any]] = []
    for name in os.listdir(root) if root.is_dir() else []:
        try:
            doc = json.loads((root / name / "status.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if status is None or doc.get("status") == status:
            found.append(doc)
    found.sort(key=lambda d: (d.get("created_on_epoch") or 0, d.get("id")), reverse=True)
    return found


def require_workflow(data_dir: Path, workflow: str, known: set[str] | None = None) -> None:
    """WorkflowNotFound unless the workflow is defined (or, offline, has a folder)."""
    check_name(workflow)
    if known is not None:
        if workflow not in known:
            raise WorkflowNotFound(f"workflow {workflow!r} not found")
    elif not (workflows_root(data_dir) / workflow).is_dir():
        raise WorkflowNotFound(f"workflow {workflow!r} not found in {data_dir}")
