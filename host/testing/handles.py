"""The test kit's binding and instance handle: the real ones, plus waits a test needs.

`KitBinding` is the workflow binding on the envs of a test deployment: create, create_batch and
get behave as on a served host (they go through the same WorkflowService), start the
deployment's engine first if it is not running yet, deliver the workflow's mocked events (real
events, in the instance's inbox) and return `KitInstance` handles. What a handle reads comes from
the instance's files: status.json (or the document about to be written) and journal.jsonl.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import anyio

from host.testing.selectors import Step, pick
from host.workflows.binding import InstanceHandle, WorkflowBinding
from host.workflows.jsonenc import untag
from host.workflows.service import WorkflowService
from host.workflows.statuses import FINAL_VALUES, InstanceStatus

POLL = 0.005  # seconds between two looks at an instance's files while a test waits on it
DEFAULT_TIMEOUT = 10.0  # seconds a wait gives up after, unless the test says otherwise
_STATUSES = frozenset(s.value for s in InstanceStatus)


class WaitFailed(AssertionError):
    """What a test waited for cannot happen or did not happen in time; the message says why."""


class KitInstance(InstanceHandle):
    """An instance handle with `wait_for_status`, `wait_for_step_result`, `output`, `error` and
    the instance's real files (`path`, `journal()`)."""

    @property
    def path(self) -> Path:
        """The instance's folder in the deployment's data directory."""
        folder = getattr(self._service.store, "folder", None)
        if folder is None:
            raise RuntimeError("this deployment's store keeps no instance folders")
        return Path(folder(self.workflow, self.id))

    def journal(self) -> list[dict[str, Any]]:
        """The journal's entries as they are on disk now (one dict per line)."""
        entries, _ = self._service.store.read_journal(self.workflow, self.id)
        return entries

    def _where(self, doc: dict[str, Any]) -> str:
        status = doc.get("status")
        error = doc.get("error")
        if status == "errored" and isinstance(error, dict):
            return f"errored ({error.get('name')}: {error.get('message')})"
        if status == "waiting" and doc.get("waiting_for"):
            return f"waiting (for {doc['waiting_for']})"
        return str(status)

    async def wait_for_status(
        self, status: str | Iterable[str], timeout: float = DEFAULT_TIMEOUT
    ) -> dict[str, Any]:
        """Return the status (as status()) once the instance is in `status` (or one of several);
        WaitFailed at once if it ends in another final status, or after `timeout` seconds."""
        wanted = {status} if isinstance(status, str) else set(status)
        unknown = sorted(wanted - _STATUSES)
        if unknown or not wanted:
            raise ValueError(f"unknown status {unknown[0] if unknown else ''!r} (one of {sorted(_STATUSES)})")
        deadline = time.monotonic() + timeout
        while True:
            doc = self._service.status(self.workflow, self.id)
            if doc["status"] in wanted:
                return {"status": doc["status"], "output": doc.get("output"), "error": doc.get("error")}
            if doc["status"] in FINAL_VALUES:
                raise WaitFailed(
                    f"instance {self.id} of {self.workflow} ended {self._where(doc)}, "
                    f"not {' or '.join(sorted(wanted))}"
                )
            if time.monotonic() > deadline:
                raise WaitFailed(
                    f"instance {self.id} of {self.workflow} is still {self._where(doc)} after "
                    f"{timeout:g} s, not {' or '.join(sorted(wanted))}"
                )
            await anyio.sleep(POLL)

    async def wait_for_step_result(self, step: Step, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """The recorded result of a step.do ({"name": ..., "index": n}, index from 1, default 1; or
        a name) once the journal has it; WaitFailed if the step fails for good, if the instance
        ends without it, or after `timeout` seconds."""
        name, index = pick(step)
        count = index or 1
        deadline = time.monotonic() + timeout
        while True:
            ended = self._service.status(self.workflow, self.id)  # before the journal: no race
            for entry in self.journal():
                if entry.get("name") != name or entry.get("count") != count:
                    continue
                if entry["type"] == "step_done":
                    return untag(entry.get("result"))
                if entry["type"] == "step_error":
                    error = entry["error"]
                    raise WaitFailed(
                        f"step {name!r} #{count} of instance {self.id} failed: "
                        f"{error.get('name')}: {error.get('message')}"
                    )
            if ended["status"] in FINAL_VALUES:
                raise WaitFailed(
                    f"instance {self.id} of {self.workflow} ended {self._where(ended)} "
                    f"without a result for step {name!r} #{count}"
                )
            if time.monotonic() > deadline:
                raise WaitFailed(
                    f"no result for step {name!r} #{count} of instance {self.id} after {timeout:g} s "
                    f"(the instance is {self._where(ended)})"
                )
            await anyio.sleep(POLL)

    async def output(self, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """The output of run(), once the instance is complete (WaitFailed if it ends otherwise)."""
        return (await self.wait_for_status("complete", timeout))["output"]

    async def error(self, timeout: float = DEFAULT_TIMEOUT) -> dict[str, str]:
        """The {"name", "message"} error of the instance, once it is errored (WaitFailed if it ends
        otherwise)."""
        error = (await self.wait_for_status("errored", timeout))["error"]
        return dict(error or {})


Started = Callable[[], Awaitable[None]]
Events = Callable[[str], list[tuple[str, Any]]]


class KitBinding(WorkflowBinding):
    """`env.MY_WORKFLOW` in a test deployment (see the module docstring)."""

    def __init__(self, service: WorkflowService, workflow: str, started: Started, events: Events) -> None:
        super().__init__(service, workflow)
        self._started, self._events = started, events

    def _handle(self, handle: InstanceHandle) -> KitInstance:
        return KitInstance(self._service, self.workflow, handle.id)

    async def _deliver(self, instance_id: str) -> None:
        for event_type, payload in self._events(self.workflow):
            await self._service.send_event(self.workflow, instance_id, event_type, payload)

    async def create(self, *args: Any, **kwargs: Any) -> KitInstance:
        await self._started()
        handle = self._handle(await super().create(*args, **kwargs))
        await self._deliver(handle.id)
        return handle

    async def create_batch(self, *args: Any, **kwargs: Any) -> list[KitInstance]:  # type: ignore[override]
        await self._started()
        handles = [self._handle(h) for h in await super().create_batch(*args, **kwargs)]
        for handle in handles:
            await self._deliver(handle.id)
        return handles

    async def get(self, *args: Any, **kwargs: Any) -> KitInstance:
        await self._started()
        return self._handle(await super().get(*args, **kwargs))
