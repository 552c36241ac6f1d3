"""The few engine calls the in-process figures make, for the engine's old API and its new one.

Old (up to the workflow engine's rebuild)::

    async with Engine(data_dir, durability=..., hibernate_after=...) as engine:
        engine.set_workflows({name: WorkflowDef(name, load_class, env)})
        binding = engine.binding(name)

New (once `host.workflows.service` exists)::

    async with Engine(FileStore(data_dir, durability), hibernate_after=...) as engine:
        engine.set_workflows(...)
        binding = WorkflowBinding(WorkflowService(engine), name)

The binding (`create(id=, params=)`, `create_batch`, `get`, `InstanceHandle.status()`) is the same
on both. Whether an instance is final is read from its status.json file
(data/workflows/<wf>/instances/<id>/status.json, field "status"), and whether it has reached its
sleep from its handle's `status()`; never from engine internals, so nothing here depends on how
the engine keeps its instances in memory. The worktree of an older revision that `--against` runs
keeps its own bench/child.py, which needs none of this.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

FINAL = frozenset({"complete", "errored", "terminated"})


def new_api() -> bool:
    """True when the engine has the service layer (`host.workflows.service`)."""
    try:
        return importlib.util.find_spec("host.workflows.service") is not None
    except ModuleNotFoundError:
        return False


def workflow_defs(names: Iterable[str]) -> dict[str, Any]:
    """WorkflowDefs for classes of bench/workers/wf.py: "steps" -> Steps, and so on."""
    from bench.workers import wf
    from host.workflows.engine import WorkflowDef

    def loader(cls: type) -> Any:
        return lambda: cls

    return {n: WorkflowDef(n, load_class=loader(getattr(wf, n.capitalize())), env=None) for n in names}


class Session:
    """A running engine with its workflows installed; `binding(name)` whatever the API."""

    def __init__(self, engine: Any, service: Any, data_dir: Path) -> None:
        self.engine = engine
        self.service = service
        self.data_dir = data_dir

    def binding(self, workflow: str) -> Any:
        if self.service is not None:
            from host.workflows.binding import WorkflowBinding

            return WorkflowBinding(self.service, workflow)
        return self.engine.binding(workflow)


@asynccontextmanager
async def session(
    data_dir: Path, workflows: Iterable[str], durability: str = "fsync", hibernate_after: float = 1.0
) -> AsyncIterator[Session]:
    from host.workflows.engine import Engine

    async with AsyncExitStack() as stack:
        try:  # the rebuilt engine is handed its store (host.store.filestore)
            from host.store.filestore import FileStore

            made = Engine(FileStore(Path(data_dir), durability), hibernate_after=hibernate_after)
        except ImportError:
            made = Engine(Path(data_dir), durability=durability, hibernate_after=hibernate_after)
        engine = await stack.enter_async_context(made)
        engine.set_workflows(workflow_defs(workflows))
        service: Any = None
        if new_api():
            from host.workflows.service import WorkflowService

            service = WorkflowService(engine)
            if hasattr(service, "__aenter__"):  # in case the service grows a lifecycle of its own
                service = await stack.enter_async_context(service)
        yield Session(engine, service, Path(data_dir))


def status_path(data_dir: Path, workflow: str, instance_id: str) -> Path:
    return Path(data_dir) / "workflows" / workflow / "instances" / instance_id / "status.json"


def read_status(data_dir: Path, workflow: str, instance_id: str) -> str | None:
    """The "status" field of the instance's status.json; None while it is missing or unreadable
    (not made yet, or read in the instant a rewrite swapped it)."""
    try:
        with open(status_path(data_dir, workflow, instance_id), "rb") as fh:
            return json.loads(fh.read()).get("status")  # type: ignore[no-any-return]
    except (OSError, ValueError, AttributeError):
        return None


async def wait_status(
    data_dir: Path,
    workflow: str,
    ids: Iterable[str],
    accept: Iterable[str],
    timeout: float = 600,
    interval: float = 0.005,
) -> None:
    """Return once every instance's status.json has shown a status in `accept`.

    Reads the files in order and sleeps at the first one not there yet, so a sweep costs one
    read while the engine is busy (the figures time the engine, in the same process) and the
    whole wait reads each file about once. An instance that ends in a final state not accepted
    raises.
    """
    wanted = frozenset(accept)
    pending = list(ids)
    deadline = time.time() + timeout
    i = 0
    while i < len(pending):
        status = read_status(data_dir, workflow, pending[i])
        if status in wanted:
            i += 1
            continue
        if status in FINAL:
            raise RuntimeError(f"instance {workflow}/{pending[i]} ended {status}")
        if time.time() > deadline:
            raise TimeoutError(
                f"{len(pending) - i} instances of {workflow} not {sorted(wanted)} after {timeout} s"
            )
        await asyncio.sleep(interval)


async def wait_handles(
    handles: Iterable[Any], accept: Iterable[str], timeout: float = 600, interval: float = 0.01
) -> None:
    """Return once every handle's `status()` has shown a status in `accept` (the binding's own
    answer: from memory while the instance is loaded, so ahead of a deferred status.json write).
    In order, sleeping at the first one not there yet, as wait_status does."""
    wanted = frozenset(accept)
    pending = list(handles)
    deadline = time.time() + timeout
    i = 0
    while i < len(pending):
        status = (await pending[i].status())["status"]
        if status in wanted:
            i += 1
            continue
        if status in FINAL:
            raise RuntimeError(f"instance {pending[i].id} ended {status}")
        if time.time() > deadline:
            raise TimeoutError(f"{len(pending) - i} instances not {sorted(wanted)} after {timeout} s")
        await asyncio.sleep(interval)


async def wait_complete(data_dir: Path, workflow: str, ids: Iterable[str], timeout: float = 600) -> None:
    """Every instance's status.json says complete (errored or terminated raise)."""
    await wait_status(data_dir, workflow, ids, accept=("complete",), timeout=timeout)
