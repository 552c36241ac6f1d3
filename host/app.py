"""create_app(config): the Starlette application that serves a deployment."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from host.admin.routes import admin_mount
from host.config import Config, load_config
from host.dashboard.app import dashboard_mount
from host.errors import ConfigError, WaypostError
from host.metrics import Metrics
from host.runtime.context import BackgroundWork
from host.runtime.dispatch import Dispatcher, HostApp
from host.runtime.env import Env, build_envs
from host.runtime.outbound import OutboundClient, outbound_client
from host.runtime.registry import Registry
from host.runtime.reload import ChangeFilter, Reloader
from host.runtime.routing import RouteTable
from host.schedules.fire import Firing
from host.schedules.listing import from_config as schedules_from_config
from host.schedules.records import TickRecords
from host.schedules.runner import ScheduleRunner
from host.schedules.runner import running as running_schedules
from host.storage.kvsweep import KVSweeper
from host.store.filestore import FileStore
from host.workflows.activation import WorkflowDef
from host.workflows.binding import WorkflowBinding
from host.workflows.engine import Engine
from host.workflows.service import WorkflowService

logger = logging.getLogger("waypost")


class Host:
    """Everything a running deployment holds; replaced piecewise, read whole, on reload."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.registry = Registry()
        self.background = BackgroundWork()
        hc = config.host
        self.metrics = Metrics()  # SPEC 8: fed by the engine's observer and the dispatcher
        self.engine = Engine(
            FileStore(hc.data_dir, hc.durability),
            observer=self.metrics,
            hibernate_after=hc.hibernate_after,
            sweep_interval=hc.sweep_interval,
        )
        self.service = WorkflowService(self.engine, retention_default=self._retention_default)
        self.routes = RouteTable(())
        self.envs: Mapping[str, Env] = {}
        self.outbound = OutboundClient()  # the workers' fetch pool, closed with the host
        self.dispatcher = Dispatcher(
            self.registry,
            self.background,
            lambda: (self.routes, self.envs),
            self.metrics.request,
            outbound=self.outbound,
        )
        self.metrics.attach(self._instance_counts, lambda: self.engine.loaded)
        records = TickRecords(hc.data_dir, sync=hc.durability == "fsync")
        firing = Firing(self.registry, lambda: self.envs, self.background, self.service, records)
        # crons and workflow schedules (SPEC 2.1, 3.10)
        self.schedules = ScheduleRunner(firing, on_tick=self.metrics.schedule_tick)

    def _instance_counts(self) -> dict[str, dict[str, int]]:
        """Workflow -> status -> how many instances (the metrics' gauge; the store keeps a cache)."""
        counts: dict[str, dict[str, int]] = {}
        for name in self.engine.definitions:
            try:
                counts[name] = self.service.status_counts(name)
            except (OSError, LookupError, ValueError, WaypostError):
                continue
        return counts

    def kv_folders(self) -> list[Path]:
        """The KV namespace folders of the configuration served now (the background sweep's)."""
        data = self.config.host.data_dir
        return [kv.folder(data) for worker in self.config.workers for kv in worker.kv_namespaces]

    def _retention_default(self, workflow: str) -> dict[str, float] | None:
        """The workflow's `retention` in the configuration served now (SPEC 3.11)."""
        for worker in self.config.workers:
            for wf in worker.workflows:
                if wf.name == workflow and wf.script_name is None:
                    return wf.retention
        return None

    def load(self, *, strict: bool = False) -> None:
        """Import every worker. A config error (ConfigError) stops start-up; a module that fails to
        import is logged and its routes answer 503, unless `strict` (then WorkerLoadError, naming all)."""
        self.registry.load(self.config, start=True, strict=strict)

    def activate(self, config: Config) -> None:
        """Build envs and routes for `config` and swap them in; tell the engine the workflow classes."""
        envs = build_envs(config, self.dispatcher.invoke, lambda name: WorkflowBinding(self.service, name))
        routes = RouteTable.build((w.name, w.routes) for w in config.workers)
        self.config, self.envs, self.routes = config, envs, routes
        self.engine.set_workflows(self._workflow_defs(config, envs))
        self.schedules.set_schedules(schedules_from_config(config))

    def _workflow_defs(self, config: Config, envs: Mapping[str, Env]) -> dict[str, WorkflowDef]:
        defs: dict[str, WorkflowDef] = {}
        for worker in config.workers:
            for wf in worker.workflows:
                if wf.script_name is not None:
                    continue

                def load_class(worker: str = worker.name, cls: str = wf.class_name) -> type:
                    return getattr(self.registry.module(worker), cls)  # type: ignore[no-any-return]

                defs[wf.name] = WorkflowDef(
                    name=wf.name,
                    load_class=load_class,
                    env=envs[worker.name],
                    steps_limit=wf.steps_limit,
                    concurrency_limit=wf.concurrency_limit,
                    # its module failed to load: known (the API lists it), its instances wait
                    runnable=self.registry.get(worker.name) is not None,
                )
        return defs

    async def reload(self) -> None:
        """Re-read config.yaml and functions/; a bad config keeps everything as it was."""
        try:
            config = load_config(
                self.config.path, root=self.config.root, overrides=self.config.overrides, previous=self.config
            )
        except (ConfigError, WaypostError) as exc:
            logger.error(
                "%s (reload skipped; still serving the previous configuration)",
                exc,
                extra={"event": "reload"},
            )
            return
        if config.host != self.config.host:
            logger.warning("host settings changed in %s; restart to apply them", config.file)
            config = replace(config, host=self.config.host)
        self.registry.load(config)
        self.activate(config)
        logger.info(
            "reloaded: %d worker(s)%s",
            len(self.registry.workers),
            f", {len(self.registry.errors)} with errors" if self.registry.errors else "",
            extra={"event": "reload"},
        )


def create_app(
    config: Config, *, reload: bool = True, extra_routes: Sequence[BaseRoute] = (), strict: bool = False
) -> Starlette:
    """Build the application for `config`.

    Parameters:
        config: the validated deployment (see host.config.load_config).
        reload: watch functions/ and config.yaml and apply changes while serving.
        extra_routes: routes tried before worker dispatch (the admin API mounts here).
        strict: a worker module that fails to import stops start-up (WorkerLoadError).

    Workers are imported here, so a config error (a missing workflow class) raises before the
    server starts; the engine, reloader and wait_until work live in the lifespan.
    """
    host = Host(config)
    host.load(strict=strict)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            host.config.host.data_dir.mkdir(parents=True, exist_ok=True)
            # steps, schedules and wait_until work started from here fetch through the host's pool
            outbound_client.set(host.outbound)
            stack.push_async_callback(host.outbound.aclose)  # closed after everything below
            await stack.enter_async_context(host.engine)
            # the engine outlives wait_until work: that work may still create instances
            await stack.enter_async_context(host.background)
            host.activate(host.config)
            if reload:
                reloader = Reloader(ChangeFilter(config.functions_dir, config.path), host.reload)
                stack.enter_context(_run_in_background(host.background, reloader.run))
            # expired KV keys, as often as expired instances (host.sweep_interval)
            kv_sweeper = KVSweeper(host.kv_folders, every=host.config.host.sweep_interval)
            stack.enter_context(_run_in_background(host.background, kv_sweeper.run))
            stack.enter_context(running_schedules(host.background, host.schedules))
            stack.enter_context(_warming_listings(host))
            app.state.host = host
            yield
            logger.info("shutting down")

    routes: list[BaseRoute] = list(extra_routes)
    # ---- admin API (host/admin) is mounted here, before worker dispatch ----
    routes.append(admin_mount(host.service, lambda: host.config, lambda: host.registry.errors))
    # ---- the dashboard and /__waypost/metrics (host/dashboard), same auth as the admin API ----
    errors = lambda: host.registry.errors  # noqa: E731
    routes.append(dashboard_mount(host.service, lambda: host.config, errors, host.metrics))
    app = HostApp(routes, host.dispatcher, lifespan)  # worker dispatch comes after `routes`
    app.state.host = host
    return app


@contextlib.contextmanager
def _warming_listings(host: Host) -> Any:
    """Build the store's instance listings and counts in a thread after start, once (one stat and
    one status read per instance), so the dashboard's first page and the first metrics scrape do
    not pay for it; cancelled (the thread left to finish) when the lifespan ends."""
    import anyio.to_thread

    scope = anyio.CancelScope()

    async def run() -> None:
        with scope:
            await anyio.to_thread.run_sync(host._instance_counts, abandon_on_cancel=True)

    host.background.start_service(run)
    try:
        yield
    finally:
        scope.cancel()


@contextlib.contextmanager
def _run_in_background(background: BackgroundWork, service: Callable[[], Awaitable[None]]) -> Any:
    """Run `service` (the reloader, the KV sweeper) in the host's task group and cancel it when
    the lifespan ends."""
    import anyio

    scope = anyio.CancelScope()

    async def run() -> None:
        with scope:
            await service()

    background.start_service(run)
    try:
        yield
    finally:
        scope.cancel()
