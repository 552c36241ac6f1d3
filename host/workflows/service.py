"""The operations on instances, implemented once: the binding, the admin API and the CLI call these.

Each validates its input, then goes to the engine (when this process runs one) and its store.
Create is durable when it returns; control requests and events go into the instance's inbox,
where the host that runs the instance takes them. Without an engine (the CLI), the store alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from host.errors import InstanceExists, LimitExceeded, WorkflowNotFound
from host.workflows.entries import ReplayState, first_line_of
from host.workflows.ids import (
    MAX_BATCH,
    check_event_type,
    check_instance_id,
    check_json,
    check_name,
    new_instance_id,
)
from host.workflows.retention import Retention, parse_retention
from host.workflows.status import (
    check_control,
    check_event_allowed,
    check_from_step,
    from_step_key,
    iso,
    status_document,
)
from host.workflows.store import InstanceStore

if TYPE_CHECKING:
    from host.workflows.engine import Engine


def prepare_create(instance_id: object, params: object) -> tuple[str, Any]:
    """Validate one create request; returns (id, params) or raises ValueError naming the rule."""
    iid = new_instance_id() if instance_id is None else check_instance_id(instance_id)
    return iid, check_json({} if params is None else params, "params")


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
        unknown = set(item) - {"id", "params", "instance_id", "retention"}
        if unknown:
            raise ValueError(f"create_batch item {index}: unknown key {sorted(unknown)[0]!r}")
        try:
            prepared.append(prepare_create(item.get("id", item.get("instance_id")), item.get("params")))
        except ValueError as exc:
            raise type(exc)(f"create_batch item {index}: {exc}") from None
    seen: set[str] = set()
    for iid, _ in prepared:
        if iid in seen:
            raise ValueError(f"create_batch: instance id {iid!r} appears twice in the batch")
        seen.add(iid)
    return prepared


class WorkflowService:
    """Instances of the workflows `known()` names (or, without it, of those with stored data)."""

    def __init__(
        self,
        engine: Engine | None = None,
        store: InstanceStore | None = None,
        known: Callable[[], set[str]] | None = None,
        retention_default: Callable[[str], Retention | None] | None = None,
    ) -> None:
        self.engine = engine
        self._retention_default = retention_default  # workflow -> its config.yaml retention
        chosen = engine.store if engine is not None else store
        if chosen is None:
            raise ValueError("WorkflowService needs an engine or a store")
        self.store: InstanceStore = chosen
        self._known = known

    def require(self, workflow: str) -> str:
        """The workflow's name; WorkflowNotFound unless it is defined here (or has stored data)."""
        check_name(workflow)
        if self.engine is not None:
            self.engine.require(workflow)
        elif workflow not in (self._known() if self._known is not None else set(self.store.workflows())):
            raise WorkflowNotFound(f"workflow {workflow!r} not found")
        return workflow

    def _poke(self, workflow: str, instance_id: str) -> None:
        if self.engine is not None:
            self.engine.poke(workflow, instance_id)

    # -- create ------------------------------------------------------------------------------------

    async def create(
        self,
        workflow: str,
        instance_id: str,
        params: Any,
        trigger: str = "api",
        *,
        retention: Any = None,
        schedule: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Store a new queued instance (id and params validated by prepare_create) and start it.

        `retention` (SPEC 3.11): {"success_retention", "error_retention"}, each a duration or a
        number of milliseconds (ValueError naming the key); None takes the workflow's default."""
        self.require(workflow)
        kept = parse_retention(retention)
        if kept is None and retention is None and self._retention_default is not None:
            kept = self._retention_default(workflow)
        now = time.time()
        meta = {
            "id": instance_id,
            "workflow": workflow,
            "params": params,
            "created_on": iso(now),
            "created_on_epoch": now,
            "trigger_source": trigger,
        }
        if kept is not None:
            meta["retention"] = kept
        if schedule is not None:  # made by a schedule (SPEC 3.10): {"cron", "scheduledTime"}
            meta["schedule"] = schedule
        status = status_document(meta, ReplayState(), now)
        await self.store.create(meta, status)
        self._poke(workflow, instance_id)
        return status

    async def create_batch(self, workflow: str, items: object, trigger: str = "api") -> list[dict[str, Any]]:
        """Create up to 100 instances; all are validated, and none may exist, before any is written."""
        self.require(workflow)
        prepared = prepare_batch(items)
        retentions = [  # each item's own retention (None: the workflow's default), checked before any write
            item.get("retention") if isinstance(item, dict) else None
            for item in (items if isinstance(items, list | tuple) else ())  # prepare_batch checked it
        ]
        for index, retention in enumerate(retentions):
            parse_retention(retention, what=f"create_batch item {index}: retention")
        for instance_id, _ in prepared:
            if self.store.exists(workflow, instance_id):
                raise InstanceExists(
                    f"instance {instance_id!r} already exists in workflow {workflow!r}; "
                    "nothing in the batch was created"
                )
        return [
            await self.create(workflow, iid, params, trigger, retention=retention)
            for (iid, params), retention in zip(prepared, retentions, strict=True)
        ]

    # -- control and events ----------------------------------------------------------------------------

    async def control(
        self,
        workflow: str,
        instance_id: str,
        action: str,
        source: str = "api",
        *,
        rollback: bool = False,
        from_step: object = None,
    ) -> str:
        """Leave a control request for the instance; returns its status when the request was made.
        `rollback=True` (terminate only) runs the undo handlers first (SPEC 3.9); `from_step`
        (restart only) restarts from that step (SPEC 3.8): a step not in the journal is a
        ValueError naming it, and nothing is written."""
        self.require(workflow)
        check_instance_id(instance_id)
        if not isinstance(rollback, bool):
            raise ValueError(f"rollback must be true or false, got {rollback!r}")
        if rollback and action != "terminate":
            raise ValueError(f"rollback goes with terminate only, not with {action!r}")
        if from_step is not None and action != "restart":
            raise ValueError(f"from_step goes with restart only, not with {action!r}")
        status = str(self.store.read_status(workflow, instance_id)["status"])
        check_control(action, status, instance_id)
        body: dict[str, Any] = {"action": action, "source": source, "t": time.time()}
        if rollback:
            body["rollback"] = True
        if from_step is not None:
            body["from_step"] = self._journal_step(workflow, instance_id, check_from_step(from_step))
        await anyio.to_thread.run_sync(self.store.put_inbox, workflow, instance_id, "control", body)
        self._poke(workflow, instance_id)
        return status

    def _journal_step(self, workflow: str, instance_id: str, step: dict[str, Any]) -> dict[str, Any]:
        """`step` if the instance's journal has it, else ValueError naming it."""
        entries, _ = self.store.read_journal(workflow, instance_id)
        if first_line_of(entries, *from_step_key(step)) is None:
            raise ValueError(
                f"cannot restart instance {instance_id!r} from step {step['name']!r} #{step['count']} "
                f"(type {step['type']}): its journal has no such step"
            )
        return step

    async def send_event(self, workflow: str, instance_id: str, event_type: str, payload: Any) -> None:
        """Leave an event for the instance's first wait_for_event of its type."""
        self.require(workflow)
        check_instance_id(instance_id)
        check_event_type(event_type)
        payload = check_json(payload, "event payload")
        status = self.store.read_status(workflow, instance_id)["status"]
        check_event_allowed(status, instance_id, self.store.pending_actions(workflow, instance_id))
        body = {"type": event_type, "payload": payload, "timestamp": iso(time.time())}
        await anyio.to_thread.run_sync(self.store.put_inbox, workflow, instance_id, "event", body)
        self._poke(workflow, instance_id)

    # -- delete ----------------------------------------------------------------------------------------

    async def delete(self, workflow: str, instance_id: str) -> None:
        """Remove a final instance now, all of its folder at once (SPEC 3.11). InvalidTransition
        (409) if it has not ended ("terminate it first"), InstanceNotFound if there is none."""
        self.require(workflow)
        check_instance_id(instance_id)
        await anyio.to_thread.run_sync(self.store.delete, workflow, instance_id)

    # -- reading ---------------------------------------------------------------------------------------

    def status(self, workflow: str, instance_id: str) -> dict[str, Any]:
        """The instance's status document (the newest: what status.json says or is about to)."""
        self.require(workflow)
        return self.store.read_status(workflow, check_instance_id(instance_id))

    def exists(self, workflow: str, instance_id: str) -> bool:
        return self.store.exists(self.require(workflow), check_instance_id(instance_id))

    def list_instances(self, workflow: str, status: str | None = None) -> list[dict[str, Any]]:
        """Status documents of the workflow's instances, newest first."""
        docs = [
            d
            for d in self.store.statuses(self.require(workflow))
            if status is None or d.get("status") == status
        ]
        docs.sort(key=lambda d: (d.get("created_on_epoch") or 0, str(d.get("id"))), reverse=True)
        return docs

    def page(
        self, workflow: str, status: str | None = None, search: str = "", offset: int = 0, limit: int = 25
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page of status documents, newest first (the dashboard's list), and whether more follow;
        reads only what the page needs, not every instance."""
        return self.store.listing(self.require(workflow), status, search, offset, limit)

    def status_counts(self, workflow: str) -> dict[str, int]:
        """How many instances of the workflow are in each status."""
        return self.store.status_counts(self.require(workflow))

    def journal(self, workflow: str, instance_id: str) -> tuple[list[dict[str, Any]], list[str]]:
        """The instance's journal entries and one message per unreadable line."""
        return self.store.read_journal(self.require(workflow), check_instance_id(instance_id))
