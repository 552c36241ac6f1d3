"""The admin REST API: Cloudflare's Workflows paths under /client/v4/accounts/{account_id}/workflows."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from host.admin import requests as rq
from host.admin import shapes
from host.admin.auth import TokenAuth
from host.admin.envelope import ApiError, failure, from_exception, ok
from host.admin.steps import build_steps, find_step, read_journal, step_result
from host.workflows import instances
from host.workflows.files import InstanceDir
from host.workflows.ids import check_event_type, check_instance_id, check_name
from host.workflows.runner import iso

log = logging.getLogger("waypost.admin")

Handler = Callable[[Request], Awaitable[Response]]
PREFIX = "/client/v4/accounts/{account_id}/workflows"
# the status an instance moves to when a control request is accepted (the host applies it right after)
_AFTER = {"resume": "queued", "terminate": "terminated", "restart": "queued"}


LOAD_ERROR_CODE = 10050  # envelope message: a worker's code failed to load on reload


class AdminApi:
    """Handlers for every admin path; `engine` runs the instances, `config` is the host's Config."""

    def __init__(self, engine: Any, config: Any, auth: TokenAuth) -> None:
        self.engine = engine
        self.config = config
        self.auth = auth
        self.account_id: str = config.host.account_id
        self.max_body: int = config.host.max_body

    async def handle(self, request: Request, handlers: dict[str, Handler]) -> Response:
        try:
            self.auth.check(request)
            account = request.path_params.get("account_id")
            if account is not None and account != self.account_id:
                raise ApiError(
                    "account.not_found",
                    f"account {account!r} not found (this host serves "
                    f"account {self.account_id!r}, set by host.account_id)",
                )
            handler = handlers.get(request.method)
            if handler is None:
                raise ApiError(
                    "method.not_allowed",
                    f"{request.method} is not allowed on {request.url.path} "
                    f"(allowed: {', '.join(sorted(handlers))})",
                )
            return await handler(request)
        except Exception as exc:
            error = from_exception(exc)
            if error.type == "internal":
                log.exception("admin API: %s %s failed", request.method, request.url.path)
            return failure(error)

    # -- helpers -------------------------------------------------------------------------------------

    def workflow(self, request: Request) -> shapes.WorkflowInfo:
        name = check_name(request.path_params["workflow_name"])
        self.engine.require(name)
        return self.infos(request).get(name) or shapes.WorkflowInfo(name)

    def infos(self, request: Request) -> dict[str, shapes.WorkflowInfo]:
        # the host swaps its Config on reload (new workflows, classes); read the current one
        host = getattr(request.app.state, "host", None) if "app" in request.scope else None
        return shapes.workflow_infos(getattr(host, "config", None) or self.config)

    def instance_id(self, request: Request) -> str:
        return check_instance_id(request.path_params["instance_id"])

    @staticmethod
    async def io(fn: Callable[[], Any]) -> Any:
        return await anyio.to_thread.run_sync(fn)

    # -- workflows -----------------------------------------------------------------------------------

    async def list_workflows(self, request: Request) -> Response:
        paging = rq.parse_page(request.query_params)
        search = request.query_params.get("search") or ""
        infos = self.infos(request)
        names = sorted(n for n in self.engine.definitions if search.lower() in n.lower())
        total = len(names)
        start = (paging.page - 1) * paging.per_page
        chosen = [infos.get(n) or shapes.WorkflowInfo(n) for n in names[start : start + paging.per_page]]
        docs = await self.io(lambda: [shapes.workflow_doc(self.engine.data_dir, info) for info in chosen])
        info = _page_info(paging.page, paging.per_page, len(docs), total)
        return ok(docs, info, messages=self.load_errors(request))

    async def get_workflow(self, request: Request) -> Response:
        info = self.workflow(request)
        doc = await self.io(lambda: shapes.workflow_doc(self.engine.data_dir, info))
        return ok(doc, messages=self.load_errors(request))

    def load_errors(self, request: Request) -> list[dict[str, Any]]:
        """Workers whose last reload failed (they serve their last good version), as envelope messages."""
        host = getattr(request.app.state, "host", None) if "app" in request.scope else None
        errors: dict[str, str] = getattr(getattr(host, "registry", None), "errors", None) or {}
        return [
            {"code": LOAD_ERROR_CODE, "message": f"worker {name!r} failed to load: {message}"}
            for name, message in sorted(errors.items())
        ]

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
        doc = await self.io(lambda: shapes.workflow_doc(self.engine.data_dir, info))
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
        doc = await self.io(lambda: shapes.workflow_doc(self.engine.data_dir, info))
        return shapes.version_doc(info, doc["created_on"])

    # -- instances -----------------------------------------------------------------------------------

    async def create_instance(self, request: Request) -> Response:
        info = self.workflow(request)
        raw_id, raw_params = rq.parse_create(await rq.read_json(request, self.max_body))
        instance_id, params = instances.prepare_create(raw_id, raw_params)
        status = await self.engine.create(info.name, instance_id, params, trigger="api")
        return ok(shapes.created_item(status, {"trigger_source": "api"}, info), status=201)

    async def create_batch(self, request: Request) -> Response:
        info = self.workflow(request)
        prepared = instances.prepare_batch(rq.parse_batch(await rq.read_json(request, self.max_body)))
        data_dir = self.engine.data_dir

        def taken() -> list[str]:
            return [iid for iid, _ in prepared if InstanceDir(data_dir, info.name, iid).path.exists()]

        clashes = await self.io(taken)
        if clashes:
            raise ApiError(
                "instance.already_exists",
                f"instance {clashes[0]!r} already exists in workflow "
                f"{info.name!r}; nothing in the batch was created",
            )
        created = []
        for instance_id, params in prepared:
            status = await self.engine.create(info.name, instance_id, params, trigger="api")
            created.append(shapes.created_item(status, {"trigger_source": "api"}, info))
        return ok(created, status=201)

    async def list_instances(self, request: Request) -> Response:
        info = self.workflow(request)
        query = rq.parse_instance_query(request.query_params)
        docs = await self.io(lambda: instances.list_instances(self.engine.data_dir, info.name, query.status))
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
        data_dir = self.engine.data_dir
        items = await self.io(
            lambda: [
                shapes.instance_item(d, shapes.read_meta(data_dir, info.name, d["id"]), info) for d in chosen
            ]
        )
        return ok(items, result_info)

    async def get_instance(self, request: Request) -> Response:
        info = self.workflow(request)
        instance_id = self.instance_id(request)
        view = rq.parse_instance_view(request.query_params)
        detail = await self.io(
            lambda: shapes.instance_detail(
                self.engine.data_dir, info, instance_id, simple=view.simple, order=view.order
            )
        )
        detail.pop("id", None)  # Cloudflare's answer has no id; the CLI's --json keeps it
        return ok(detail)

    async def get_step(self, request: Request) -> Response:
        info = self.workflow(request)
        instance_id = self.instance_id(request)
        query = rq.parse_step_query(request.query_params)
        data_dir = self.engine.data_dir

        def load() -> tuple[str, list[dict[str, Any]]]:
            status = instances.read_status(data_dir, info.name, instance_id)
            entries, _ = read_journal(InstanceDir(data_dir, info.name, instance_id).journal_path)
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
        action = rq.parse_status_change(await rq.read_json(request, self.max_body))
        before = await self.io(lambda: self.engine.status(info.name, instance_id))
        await self.engine.control(info.name, instance_id, action)
        after = _AFTER.get(action) or ("waitingForPause" if before.get("status") == "running" else "paused")
        return ok({"status": after, "timestamp": iso(time.time())})

    async def send_event(self, request: Request) -> Response:
        info = self.workflow(request)
        instance_id = self.instance_id(request)
        event_type = check_event_type(request.path_params["event_type"])
        body = await rq.read_json(request, self.max_body)
        payload = None if body is rq.NO_BODY else body
        await self.engine.send_event(info.name, instance_id, event_type, payload)
        return ok({"instanceId": instance_id, "timestamp": iso(time.time())})

    async def not_found(self, request: Request) -> Response:
        raise ApiError("route.not_found", f"no admin API route {request.method} {request.url.path}")


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


class _Endpoint:
    """An ASGI app for one path that picks the handler by method (unknown methods get the envelope)."""

    def __init__(self, api: AdminApi, handlers: dict[str, Handler]) -> None:
        self.api = api
        self.handlers = handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self.api.handle(request, self.handlers)
        await response(scope, receive, send)


def admin_routes(engine: Any, config: Any, auth: TokenAuth | None = None) -> list[BaseRoute]:
    """The admin API's routes, to be tried before worker dispatch (the last one claims /client/v4/*)."""
    api = AdminApi(engine, config, auth or TokenAuth.from_environ())
    inst = PREFIX + "/{workflow_name}/instances"
    table: list[tuple[str, dict[str, Handler]]] = [
        (PREFIX, {"GET": api.list_workflows}),
        (
            PREFIX + "/{workflow_name}",
            {"GET": api.get_workflow, "PUT": api.read_only, "DELETE": api.read_only},
        ),
        (PREFIX + "/{workflow_name}/versions", {"GET": api.list_versions}),
        (PREFIX + "/{workflow_name}/versions/{version_id}", {"GET": api.get_version}),
        (PREFIX + "/{workflow_name}/versions/{version_id}/graph", {"GET": api.version_graph}),
        (inst, {"GET": api.list_instances, "POST": api.create_instance}),
        (inst + "/batch", {"POST": api.create_batch}),
        (inst + "/{instance_id}", {"GET": api.get_instance}),
        (inst + "/{instance_id}/step", {"GET": api.get_step}),
        (inst + "/{instance_id}/status", {"PATCH": api.change_status}),
        (inst + "/{instance_id}/events/{event_type}", {"POST": api.send_event}),
        ("/client/v4", {}),
        ("/client/v4/{rest:path}", {}),
    ]
    routes: list[BaseRoute] = []
    for path, handlers in table:
        if not handlers:
            handlers = {
                m: api.not_found for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
            }
        routes.append(Route(path, endpoint=_Endpoint(api, handlers)))
    return routes
