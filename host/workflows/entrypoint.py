"""The class users subclass to define a workflow, and the event its run() receives."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any


class WorkflowEntrypoint:
    """Subclass and define `async def run(self, event, step)`; `self.env` is the worker's env."""

    def __init__(self, ctx: Any = None, env: Any = None) -> None:
        self.ctx = ctx
        self.env = env

    async def run(self, event: WorkflowEvent, step: Any) -> Any:
        on_run = getattr(self, "on_run", None)  # Cloudflare's older name
        if on_run is None:
            raise NotImplementedError(f"{type(self).__name__} must define async def run(self, event, step)")
        return await on_run(event, step)


def start(workflow_cls: type, env: Any) -> Callable[[WorkflowEvent, Any], Awaitable[Any]]:
    """Make the user's workflow object (`cls(ctx, env)`, as Cloudflare's Python SDK does) and
    return its run(event, step), or on_run, Cloudflare's older name. TypeError if it has neither."""
    if not isinstance(workflow_cls, type) or not (
        hasattr(workflow_cls, "run") or hasattr(workflow_cls, "on_run")
    ):
        raise TypeError(f"{workflow_cls!r} is not a WorkflowEntrypoint class (it has no run method)")
    factory: Any = workflow_cls
    workflow = factory(None, env)
    run = getattr(workflow, "run", None)
    return run if run is not None else workflow.on_run  # type: ignore[no-any-return]


_ALIASES = {"instance_id": "instanceId", "workflow_name": "workflowName"}


class WorkflowEvent(dict[str, Any]):
    """`payload`, `timestamp`, `instanceId`, `workflowName`, as keys and as attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[_ALIASES.get(name, name)]
        except KeyError:
            raise AttributeError(name) from None

    @classmethod
    def build(
        cls, payload: Any, created: float, instance_id: str, workflow: str, schedule: Any = None
    ) -> WorkflowEvent:
        event = cls(
            payload=payload,
            timestamp=dt.datetime.fromtimestamp(created, tz=dt.UTC),
            instanceId=instance_id,
            workflowName=workflow,
        )
        if schedule is not None:  # an instance a schedule made: {"cron", "scheduledTime"}
            event["schedule"] = schedule
        return event
