"""The class users subclass to define a workflow, and the event its run() receives."""

from __future__ import annotations

import datetime as dt
from typing import Any


class WorkflowEntrypoint:
    """Subclass and define `async def run(self, event, step)`; `self.env` is the worker's env."""

    def __init__(self, ctx: Any = None, env: Any = None) -> None:
        self.ctx = ctx
        self.env = env

    async def run(self, event: WorkflowEvent, step: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define async def run(self, event, step)")


_ALIASES = {"instance_id": "instanceId", "workflow_name": "workflowName"}


class WorkflowEvent(dict[str, Any]):
    """`payload`, `timestamp`, `instanceId`, `workflowName`, as keys and as attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[_ALIASES.get(name, name)]
        except KeyError:
            raise AttributeError(name) from None

    @classmethod
    def build(cls, payload: Any, created: float, instance_id: str, workflow: str) -> WorkflowEvent:
        return cls(
            payload=payload,
            timestamp=dt.datetime.fromtimestamp(created, tz=dt.UTC),
            instanceId=instance_id,
            workflowName=workflow,
        )
