"""The workflow binding on env (create, create_batch, get) and the instance handle it returns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio.to_thread

from host.errors import InstanceExists
from host.workflows import instances
from host.workflows.files import InstanceDir
from host.workflows.ids import check_instance_id

if TYPE_CHECKING:
    from host.workflows.engine import Engine


class InstanceHandle:
    """One instance, as returned by create() and get()."""

    def __init__(self, engine: Engine, workflow: str, instance_id: str) -> None:
        self._engine = engine
        self.workflow = workflow
        self.id = instance_id

    def __repr__(self) -> str:
        return f"<InstanceHandle {self.workflow}/{self.id}>"

    async def status(self) -> dict[str, Any]:
        """{"status", "output", "error"} as Cloudflare returns them."""
        doc = self._engine.status(self.workflow, self.id, brief=True)
        return {"status": doc["status"], "output": doc.get("output"), "error": doc.get("error")}

    async def pause(self) -> None:
        await self._engine.control(self.workflow, self.id, "pause", source="binding")

    async def resume(self) -> None:
        await self._engine.control(self.workflow, self.id, "resume", source="binding")

    async def terminate(self) -> None:
        await self._engine.control(self.workflow, self.id, "terminate", source="binding")

    async def restart(self) -> None:
        await self._engine.control(self.workflow, self.id, "restart", source="binding")

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
        await self._engine.send_event(self.workflow, self.id, type, payload)


class WorkflowBinding:
    """`env.MY_WORKFLOW`: create and look up instances of one workflow."""

    def __init__(self, engine: Engine, workflow: str) -> None:
        self._engine = engine
        self.workflow = workflow

    def __repr__(self) -> str:
        return f"<WorkflowBinding {self.workflow}>"

    async def create(
        self,
        options: dict[str, Any] | None = None,
        *,
        id: str | None = None,  # noqa: A002
        params: Any = None,
    ) -> InstanceHandle:
        """Create an instance: `create(id="order-42", params={...})`; both optional."""
        if options is not None:
            if not isinstance(options, dict):
                raise ValueError("create() takes id= and params= (or one dict with 'id' and 'params')")
            id, params = options.get("id", id), options.get("params", params)
        instance_id, params = instances.prepare_create(id, params)
        await self._engine.create(self.workflow, instance_id, params, trigger="binding")
        return InstanceHandle(self._engine, self.workflow, instance_id)

    async def create_batch(self, items: list[dict[str, Any]]) -> list[InstanceHandle]:
        """Create up to 100 instances; all are validated before any is written."""
        self._engine.require(self.workflow)
        prepared = instances.prepare_batch(items)
        for instance_id, _ in prepared:
            if await anyio.to_thread.run_sync(self._exists, instance_id):
                raise InstanceExists(f"instance {instance_id!r} already exists in workflow {self.workflow!r}")
        handles = []
        for instance_id, params in prepared:
            await self._engine.create(self.workflow, instance_id, params, trigger="binding")
            handles.append(InstanceHandle(self._engine, self.workflow, instance_id))
        return handles

    async def get(self, id: str) -> InstanceHandle:  # noqa: A002
        """The handle of an existing instance; InstanceNotFound if there is none."""
        self._engine.require(self.workflow)
        check_instance_id(id)
        if not await anyio.to_thread.run_sync(self._exists, id):
            raise InstanceDir(self._engine.data_dir, self.workflow, id).not_found()
        return InstanceHandle(self._engine, self.workflow, id)

    def _exists(self, instance_id: str) -> bool:
        return InstanceDir(self._engine.data_dir, self.workflow, instance_id).exists()
