"""The workflow binding on env (create, create_batch, get) and the instance handle it returns."""

from __future__ import annotations

from typing import Any

from host.errors import InstanceNotFound
from host.workflows.ids import check_instance_id
from host.workflows.service import WorkflowService, prepare_create


class InstanceHandle:
    """One instance, as returned by create() and get()."""

    def __init__(self, service: WorkflowService, workflow: str, instance_id: str) -> None:
        self._service = service
        self.workflow = workflow
        self.id = instance_id

    def __repr__(self) -> str:
        return f"<InstanceHandle {self.workflow}/{self.id}>"

    async def status(self) -> dict[str, Any]:
        """{"status", "output", "error"} as Cloudflare returns them."""
        doc = self._service.status(self.workflow, self.id)
        return {"status": doc["status"], "output": doc.get("output"), "error": doc.get("error")}

    async def pause(self) -> None:
        await self._service.control(self.workflow, self.id, "pause", source="binding")

    async def resume(self) -> None:
        await self._service.control(self.workflow, self.id, "resume", source="binding")

    async def terminate(self, rollback: bool = False) -> None:
        """End the instance; `rollback=True` runs its undo handlers first (SPEC 3.9)."""
        await self._service.control(self.workflow, self.id, "terminate", source="binding", rollback=rollback)

    async def restart(self, from_step: dict[str, Any] | str | None = None) -> None:
        """Run it again from the start, or from a step: {"name", "count": 1, "type": "do"} or a name."""
        await self._service.control(self.workflow, self.id, "restart", source="binding", from_step=from_step)

    async def send_event(
        self,
        options: dict[str, Any] | None = None,
        *,
        type: str | None = None,  # noqa: A002
        payload: Any = None,
    ) -> None:
        """Send an event: `send_event(type="paid", payload={...})`, or one dict with type and payload."""
        if options is not None:
            type, payload = options.get("type"), options.get("payload", payload)
        if type is None:
            raise ValueError("send_event needs an event type: send_event(type='...', payload=...)")
        await self._service.send_event(self.workflow, self.id, type, payload)

    async def delete(self) -> None:
        """Remove the instance now; it must have ended (complete, errored or terminated): a
        running one is an InvalidTransition saying to terminate it first."""
        await self._service.delete(self.workflow, self.id)


class WorkflowBinding:
    """`env.MY_WORKFLOW`: create and look up instances of one workflow."""

    def __init__(self, service: WorkflowService, workflow: str) -> None:
        self._service = service
        self.workflow = workflow

    def __repr__(self) -> str:
        return f"<WorkflowBinding {self.workflow}>"

    async def create(
        self,
        options: dict[str, Any] | None = None,
        *,
        id: str | None = None,  # noqa: A002
        params: Any = None,
        retention: Any = None,
    ) -> InstanceHandle:
        """Create an instance: `create(id="order-42", params={...})`; all optional. `retention`:
        {"success_retention": "7 days", "error_retention": "30 days"} (a number is milliseconds)."""
        if options is not None:
            if not isinstance(options, dict):
                raise ValueError("create() takes id=, params= and retention= (or one dict with those keys)")
            id, params = options.get("id", id), options.get("params", params)
            retention = options.get("retention", retention)
        instance_id, params = prepare_create(id, params)
        await self._service.create(self.workflow, instance_id, params, trigger="binding", retention=retention)
        return InstanceHandle(self._service, self.workflow, instance_id)

    async def create_batch(self, items: list[dict[str, Any]]) -> list[InstanceHandle]:
        """Create up to 100 instances; all are validated before any is written."""
        docs = await self._service.create_batch(self.workflow, items, trigger="binding")
        return [InstanceHandle(self._service, self.workflow, str(doc["id"])) for doc in docs]

    async def get(self, id: str) -> InstanceHandle:  # noqa: A002
        """The handle of an existing instance; InstanceNotFound if there is none."""
        if not self._service.exists(self.workflow, check_instance_id(id)):
            raise InstanceNotFound(f"instance {id!r} not found in workflow {self.workflow!r}")
        return InstanceHandle(self._service, self.workflow, id)
