"""A test deployment: the real config, functions/ and engine, in this process, on a data dir of its own.

`Deployment(config_path, data_dir)` imports the workers at once (an import error or a config
error raises here, naming the file). Its engine starts in the running event loop the first time
something needs it (a create, a get, `start()`, `async with`), as a task of that loop, and stops
at `aclose()`, at the end of `async with`, when that loop shuts down, or at the end of the test
(the `waypost` fixture). Once stopped, using it again starts a new host on the same data dir:
what a restarted server would do (instances go on from their journals).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

from host.app import Host
from host.config import Config, find_config, load_config
from host.errors import ConfigError
from host.runtime.env import Env, build_envs
from host.runtime.routing import RouteTable
from host.testing.handles import KitBinding
from host.testing.modify import WorkflowTester
from host.workflows.activation import WorkflowDef
from host.workflows.modifiers import Modifiers


class _KitHost(Host):
    """Host with the kit's bindings and the workflows' modifiers; envs are built at once, so
    `env()` works before the engine starts."""

    def __init__(self, config: Config, deployment: Deployment) -> None:
        super().__init__(config)
        self._deployment = deployment
        self.envs = build_envs(config, self.dispatcher.invoke, self._binding)
        self.routes = RouteTable.build((w.name, w.routes) for w in config.workers)

    def _binding(self, name: str) -> KitBinding:
        return KitBinding(self.service, name, self._deployment.start, self._deployment.mocked_events)

    def activate(self, config: Config) -> None:
        self.engine.set_workflows(self._workflow_defs(config, self.envs))

    def _workflow_defs(self, config: Config, envs: Mapping[str, Env]) -> dict[str, WorkflowDef]:
        defs = super()._workflow_defs(config, envs)
        return {name: replace(d, modifiers=self._deployment.modifiers(name)) for name, d in defs.items()}


class Deployment:
    """One deployment under test (see the module docstring); made by `waypost.deployment()`."""

    def __init__(self, config_path: str | Path, data_dir: str | Path, durability: str = "relaxed") -> None:
        path = Path(config_path)
        if path.is_dir():
            found = find_config(path)
            if found is None:
                raise ConfigError(str(path), "", "no config.yaml or wrangler file in this folder")
            path = found
        # the engine loads instances exactly when due (hibernate_after 0); each workflow keeps the
        # config's hibernate_after through its Modifiers, unless a test asks for hibernate_every_wait
        config = load_config(path, overrides={"data_dir": str(Path(data_dir).resolve())})
        self.hibernate_after = config.host.hibernate_after
        self.config = replace(config, host=replace(config.host, hibernate_after=0.0, durability=durability))
        self.data_dir = self.config.host.data_dir
        self._modifiers: dict[str, Modifiers] = {}
        self._events: dict[str, list[tuple[str, Any]]] = {}
        self._workflows = {
            wf.name for w in self.config.workers for wf in w.workflows if wf.script_name is None
        }
        self._host = self._new_host()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None

    def _new_host(self) -> _KitHost:
        host = _KitHost(self.config, self)
        host.load(strict=True)  # an import error fails the test here, naming the file and line
        return host

    # -- what a test uses ------------------------------------------------------------------------------

    def env(self, worker: str) -> Env:
        """The env of worker `worker`: its vars and bindings, as its handlers and workflows get it."""
        envs = self._host.envs
        if worker not in envs:
            raise LookupError(f"no worker {worker!r} in {self.config.file} (workers: {', '.join(envs)})")
        return envs[worker]

    def workflow(self, name: str) -> WorkflowTester:
        """One workflow of the deployment, by its name in config.yaml (for modify())."""
        if name not in self._workflows:
            known = ", ".join(sorted(self._workflows)) or "none"
            raise LookupError(f"no workflow {name!r} in {self.config.file} (workflows: {known})")
        return WorkflowTester(name, self.modifiers(name), self._events.setdefault(name, []))

    def modifiers(self, workflow: str) -> Modifiers:
        mods = self._modifiers.get(workflow)
        if mods is None:
            mods = self._modifiers[workflow] = Modifiers(hibernate_after=self.hibernate_after)
        return mods

    def mocked_events(self, workflow: str) -> list[tuple[str, Any]]:
        return list(self._events.get(workflow, ()))

    # -- running -----------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start the engine in the running event loop (nothing if it runs already)."""
        loop = asyncio.get_running_loop()
        if self.running:
            if loop is not self._loop:
                raise RuntimeError("this deployment runs in another event loop; use it from that one")
            return
        if self._task is not None:  # stopped: a new host on the same data dir, as a restarted server
            self._host = self._new_host()
        started: asyncio.Future[None] = loop.create_future()
        self._loop, self._stop = loop, asyncio.Event()
        self._task = loop.create_task(self._serve(started, self._stop), name=f"waypost {self.config.file}")
        await started

    async def _serve(self, started: asyncio.Future[None], stop: asyncio.Event) -> None:
        host = self._host
        try:
            async with contextlib.AsyncExitStack() as stack:
                self.data_dir.mkdir(parents=True, exist_ok=True)
                await stack.enter_async_context(host.engine)
                await stack.enter_async_context(host.background)
                host.activate(host.config)
                started.set_result(None)
                await stop.wait()  # cancelled instead when the loop shuts down: the stack unwinds
        except BaseException as exc:
            if not started.done():
                started.set_exception(exc)
            raise

    async def aclose(self) -> None:
        """Stop the engine: running instances are left as a stopped host leaves them."""
        if self._task is None or self._task.done() or self._stop is None:
            return
        self._stop.set()
        await self._task

    def close_sync(self) -> str | None:
        """Stop it from outside its loop (the fixture's teardown); a message if it cannot."""
        task, loop = self._task, self._loop
        if task is None or task.done() or loop is None:
            return None
        if loop.is_closed():
            return "its event loop was closed while the engine ran"
        if loop.is_running():
            return "its event loop is still running"
        loop.run_until_complete(self.aclose())
        return None

    async def __aenter__(self) -> Deployment:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
