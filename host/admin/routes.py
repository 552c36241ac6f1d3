"""The admin REST API: Cloudflare's Workflows paths under /client/v4/accounts/{account_id}/workflows,
as a Starlette application mounted at /client/v4."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import anyio.to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from host.admin import requests as rq
from host.admin import shapes
from host.admin.auth import TokenAuth
from host.admin.body import NO_BODY, read_json
from host.admin.envelope import ApiError, ok
from host.admin.failures import InternalErrors, exception_handlers
from host.admin.gate import Gate, Handler
from host.admin.mount import PrefixMount
from host.admin.steps import build_steps, find_step, step_result
from host.config import RESERVED_PREFIX, Config
from host.workflows.ids import check_event_type, check_instance_id, check_name
from host.workflows.service import WorkflowService, prepare_create
from host.workflows.status import iso

# the status an instance moves to when a control request is accepted (the host applies it right after)
_AFTER = {"resume": "queued", "terminate": "terminated", "restart": "queued"}


LOAD_ERROR_CODE = 10050  # envelope message: a worker's code failed to load on reload


class AdminApi:
    """Handlers for every admin path, one method per operation.

    `service` creates, controls and reads the instances; `config_source()` is the host's current
    Config (the host swaps it on reload); `load_errors()` maps each worker whose last reload failed
    to the error.
    """

    def __init__(
        self,
        service: WorkflowService,
        config_source: Callable[[], Config],
        load_errors: Callable[[], dict[str, str]],
    ) -> None:
        self.service = service
        self.config_source = config_source
        self.load_errors = load_errors

    # -- helpers -------------------------------------------------------------------------------------

    @property
    def max_body(self) -> int:
        return self.config_source().host.max_body

    def workflow(self, request: Request) -> shapes.WorkflowInfo:
        name = check_name(request.path_params["workflow_name"])
        self.service.require(name)
        return self.infos().get(name) or shapes.WorkflowInfo(name)

    def infos(self) -> dict[str, shapes.WorkflowInfo]:
        return shapes.workflow_infos(self.config_source())

    def instance_id(self, request: Request) -> str:
        return check_instance_id(request.path_params["instance_id"])

    def load_messages(self) -> list[dict[str, Any]]:
        """Workers whose last reload failed (they serve their last good version), as envelope messages."""
        return [
            {"code": LOAD_ERROR_CODE, "message": f"worker {name!r} failed to load: {message}"}
            for name, message in sorted(self.load_errors().items())
        ]

    @staticmethod
    async def io(fn: Callable[[], Any]) -> Any:
        return await anyio.to_thread.run_sync(fn)

    # -- workflows -----------------------------------------------------------------------------------

    async def list_workflows(self, request: Request) -> Response:
        paging = rq.parse_page(request.query_params)
        search = request.query_params.get("search") or ""
        infos = self.infos()
        names = sorted(n for n in self.infos() if search.lower() in n.lower())
        total = len(names)
        start = (paging.page - 1) * paging.per_page
        chosen = [infos.get(n) or shapes.WorkflowInfo(n) for n in names[start : start + paging.per_page]]
        docs = await self.io(lambda: [shapes.workflow_doc(self.service, info) for info in chosen])
        info = _page_info(paging.page, paging.per_page, len(docs), total)
        return ok(docs, info, messages=self.load_messages())

    async def get_workflow(self, request: Request) -> Response:
        info = self.workflow(request)
        doc = await self.io(lambda: shapes.workflow_doc(self.service, info))
        return ok(doc, messages=self.load_messages())

    async def read_only(self, request: Request) -> Response:
        self.workflow(request)
        raise ApiError(
            "method.not_allowed",
            "workflows are defined in config.yaml; edit it to add, change "
            "or remove one (the host reloads it)",
        )

    async def list_versions(self, request: Request) -> Response:
        info = self.workflow(request)
        paging = rq.parse_page(request.query_params)
        doc = await self.io(lambda: shapes.workflow_doc(self.service, info))
        versions = [shapes.version_doc(info, doc["created_on"])] if paging.page == 1 else []
        return ok(versions, _page_info(paging.page, paging.per_page, len(versions), 1))

    async def get_version(self, request: Request) -> Response:
        return ok(await self._version(request))

    async def version_graph(self, request: Request) -> Response:
        version = await self._version(request)
        return ok(
            {k: version[k] for k in ("id", "workflow_id", "class_name", "created_on", "modified_on")}
            | {"graph": None}
        )

    async def _version(self, request: Request) -> dict[str, Any]:
        info = self.workflow(request)
        wanted = request.path_params["version_id"]
        if wanted != shapes.version_id(info.name, info.class_name):
            raise ApiError(
                "version.not_found", f"version {wanted[:80]!r} of workflow {info.name!r} not found"
            )
        doc = await self.io(lambda: shapes.workflow_doc(self.service, info))
        return shapes.version_doc(info, doc["created_on"])

    # -- instances -----------------------------------------------------------------------------------

    async def create_instance(self, request: Request) -> Response:
        info = self.workflow(request)
        raw_id, raw_params = rq.parse_create(await read_json(request, self.max_body))
        instance_id, params = prepare_create(raw_id, raw_params)
        status = await self.service.create(info.name, instance_id, params, trigger="api")
        return ok(shapes.created_item(status, {"trigger_source": "api"}, info), status=201)

    async def create_batch(self, request: Request) -> Response:
        info = self.workflow(request)
        items = rq.parse_batch(await read_json(request, self.max_body))
        docs = await self.service.create_batch(info.name, items, trigger="api")
        created = [shapes.created_item(status, {"trigger_source": "api"}, info) for status in docs]
        return ok(created, status=201)

    async def list_instances(self, request: Request) -> Response:
        info = self.workflow(request)
        query = rq.parse_instance_query(request.query_params)
        docs = await self.io(lambda: self.service.list_instances(info.name, query.status))
        docs = [d for d in docs if _within(d, query.date_start, query.date_end)]
        if query.direction == "asc":
            docs.reverse()
        total = len(docs)
        if query.page is not None:
            start = (query.page - 1) * query.per_page
            chosen = docs[start : start + query.per_page]
            result_info = _page_info(query.page, query.per_page, len(chosen), total)
        else:  # cursor paging: the first page has no cursor; each answer carries the next one
            if query.cursor is not None:
                docs = [d for d in docs if _after(d, query.cursor, query.direction)]
            chosen = docs[: query.per_page]
            result_info = _page_info(1, query.per_page, len(chosen), total)
            last = chosen[-1] if chosen else None
            more = last is not None and len(docs) > len(chosen)
            result_info["cursor"] = rq.encode_cursor(_created(last), last["id"]) if more and last else None
        service = self.service
        items = await self.io(
            lambda: [
                shapes.instance_item(d, shapes.read_meta(service, info.name, d["id"]), info) for d in chosen
            ]
        )
        return ok(items, result_info)

    async def get_instance(self, request: Request) -> Response:
        info = self.workflow(request)
        instance_id = self.instance_id(request)
        view = rq.parse_instance_view(request.query_params)
        detail = await self.io(
            lambda: shapes.instance_detail(
                self.service, info, instance_id, simple=view.simple, order=view.order
            )
        )
        detail.pop("id", None)  # Cloudflare's answer has no id; the CLI's --json keeps it
        return ok(detail)

    async def get_step(self, request: Request) -> Response:
        info = self.workflow(request)
        instance_id = self.instance_id(request)
        query = rq.parse_step_query(request.query_params)

        def load() -> tuple[str, list[dict[str, Any]]]:
            status = self.service.status(info.name, instance_id)
            entries, _ = self.service.journal(info.name, instance_id)
            return str(status.get("status")), build_steps(entries, time.time())

        status, steps = await self.io(load)
        step = find_step(steps, query.name, query.type)
        if step is None:
            raise ApiError(
                "step.not_found", f"instance {instance_id!r} has no {query.type} named {query.name!r}"
            )
        result = step_result(step, query.attempt, status)
        if result is None:
            raise ApiError("step.not_found", f"step {query.name!r} has no attempt {query.attempt}")
        return ok(result)

    async def change_status(self, request: Request) -> Response:
        info = self.workflow(request)
        instance_id = self.instance_id(request)
        action = rq.parse_status_change(await read_json(request, self.max_body))
        before = await self.service.control(info.name, instance_id, action)
        after = _AFTER.get(action) or ("waitingForPause" if before == "running" else "paused")
        return ok({"status": after, "timestamp": iso(time.time())})

    async def send_event(self, request: Request) -> Response:
        info = self.workflow(request)
        instance_id = self.instance_id(request)
        event_type = check_event_type(request.path_params["event_type"])
        body = await read_json(request, self.max_body)
        payload = None if body is NO_BODY else body
        await self.service.send_event(info.name, instance_id, event_type, payload)
        return ok({"instanceId": instance_id, "timestamp": iso(time.time())})


def _page_info(page: int, per_page: int, count: int, total: int) -> dict[str, Any]:
    return {
        "page": page,
        "per_page": per_page,
        "count": count,
        "total_count": total,
        "total_pages": max(1, -(-total // per_page)),
    }


def _created(doc: dict[str, Any]) -> float:
    return float(doc.get("created_on_epoch") or 0)


def _within(doc: dict[str, Any], start: float | None, end: float | None) -> bool:
    created = _created(doc)
    return (start is None or created >= start) and (end is None or created <= end)


def _after(doc: dict[str, Any], cursor: tuple[float, str], direction: str) -> bool:
    key = (_created(doc), str(doc.get("id")))
    return key > cursor if direction == "asc" else key < cursor


def admin_app(
    service: WorkflowService,
    config_source: Callable[[], Config],
    load_errors: Callable[[], dict[str, str]],
    auth: TokenAuth,
) -> Starlette:
    """The admin API as an application whose paths are below /client/v4 (admin_mount mounts it there).

    Every answer, errors included, is Cloudflare's envelope: a path no route has is a 404, a method
    the path does not take a 405 with `Allow`, each after `auth` admits the caller.
    """
    api = AdminApi(service, config_source, load_errors)
    gate = Gate(auth, lambda: config_source().host.account_id)
    workflows = "/accounts/{account_id}/workflows"
    workflow = workflows + "/{workflow_name}"
    version = workflow + "/versions/{version_id}"
    listing = workflow + "/instances"
    instance = listing + "/{instance_id}"
    table: list[tuple[str, Handler, Sequence[str]]] = [
        (workflows, api.list_workflows, ["GET"]),
        (workflow, api.get_workflow, ["GET"]),
        (workflow, api.read_only, ["PUT", "DELETE"]),
        (workflow + "/versions", api.list_versions, ["GET"]),
        (version, api.get_version, ["GET"]),
        (version + "/graph", api.version_graph, ["GET"]),
        (listing, api.list_instances, ["GET"]),
        (listing, api.create_instance, ["POST"]),
        (listing + "/batch", api.create_batch, ["POST"]),
        (instance, api.get_instance, ["GET"]),
        (instance + "/step", api.get_step, ["GET"]),
        (instance + "/status", api.change_status, ["PATCH"]),
        (instance + "/events/{event_type}", api.send_event, ["POST"]),
    ]
    routes: list[BaseRoute] = [
        Route(path, gate.guard(handler), methods=list(methods)) for path, handler, methods in table
    ]
    app = Starlette(
        routes=routes,
        exception_handlers=exception_handlers(gate, routes),
        middleware=[Middleware(InternalErrors)],
    )
    app.router.redirect_slashes = False  # a path with a trailing slash is not found, not redirected
    return app


def admin_mount(
    service: WorkflowService,
    config_source: Callable[[], Config],
    load_errors: Callable[[], dict[str, str]],
    auth: TokenAuth | None = None,
) -> BaseRoute:
    """The admin API at /client/v4, claiming every path below it; list it before the worker routes.

    `auth` defaults to TokenAuth.from_environ(), which raises ConfigError for a WAYPOST_API_TOKEN
    that holds no token.
    """
    app = admin_app(service, config_source, load_errors, auth or TokenAuth.from_environ())
    return PrefixMount(RESERVED_PREFIX, app)
