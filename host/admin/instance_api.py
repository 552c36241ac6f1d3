"""Admin handlers that create and read instances: create, batch create, list, get, one step's result."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from host.admin import queries as qs
from host.admin import requests as rq
from host.admin import shapes
from host.admin.body import read_json
from host.admin.context import AdminContext, page_info
from host.admin.envelope import ApiError, ok
from host.admin.steps import build_steps, find_step, step_result
from host.workflows.service import prepare_create


class InstanceHandlers:
    def __init__(self, ctx: AdminContext) -> None:
        self.ctx = ctx

    async def create_instance(self, request: Request) -> Response:
        info = self.ctx.workflow(request)
        create = rq.parse_create(await read_json(request, self.ctx.max_body))
        instance_id, params = prepare_create(create.instance_id, create.params)
        extra: dict[str, Any] = {} if create.retention is None else {"retention": create.retention}
        status = await self.ctx.service.create(info.name, instance_id, params, "api", **extra)
        return ok(shapes.created_item(status, {"trigger_source": "api"}, info), status=201)

    async def create_batch(self, request: Request) -> Response:
        info = self.ctx.workflow(request)
        items = rq.parse_batch(await read_json(request, self.ctx.max_body))
        docs = await self.ctx.service.create_batch(info.name, items, trigger="api")
        created = [shapes.created_item(status, {"trigger_source": "api"}, info) for status in docs]
        return ok(created, status=201)

    async def list_instances(self, request: Request) -> Response:
        ctx = self.ctx
        info = ctx.workflow(request)
        query = qs.parse_instance_query(request.query_params)
        docs = await ctx.io(lambda: ctx.service.list_instances(info.name, query.status))
        docs = [d for d in docs if qs.created_within(d, query.date_start, query.date_end)]
        if query.direction == "asc":
            docs.reverse()
        total = len(docs)
        if query.page is not None:
            start = (query.page - 1) * query.per_page
            chosen = docs[start : start + query.per_page]
            result_info = page_info(query.page, query.per_page, len(chosen), total)
        else:  # cursor paging: the first page has no cursor; each answer carries the next one
            if query.cursor is not None:
                docs = [d for d in docs if _after(d, query.cursor, query.direction)]
            chosen = docs[: query.per_page]
            result_info = page_info(1, query.per_page, len(chosen), total)
            last = chosen[-1] if chosen else None
            more = last is not None and len(docs) > len(chosen)
            result_info["cursor"] = qs.encode_cursor(_created(last), last["id"]) if more and last else None
        service = ctx.service
        items = await ctx.io(
            lambda: [
                shapes.instance_item(d, shapes.read_meta(service, info.name, d["id"]), info) for d in chosen
            ]
        )
        return ok(items, result_info)

    async def get_instance(self, request: Request) -> Response:
        info = self.ctx.workflow(request)
        instance_id = self.ctx.instance_id(request)
        view = qs.parse_instance_view(request.query_params)
        detail = await self.ctx.io(
            lambda: shapes.instance_detail(
                self.ctx.service, info, instance_id, simple=view.simple, order=view.order
            )
        )
        detail.pop("id", None)  # Cloudflare's answer has no id; the CLI's --json keeps it
        return ok(detail)

    async def get_step(self, request: Request) -> Response:
        service = self.ctx.service
        info = self.ctx.workflow(request)
        instance_id = self.ctx.instance_id(request)
        query = qs.parse_step_query(request.query_params)

        def load() -> tuple[str, list[dict[str, Any]]]:
            status = service.status(info.name, instance_id)
            entries, _ = service.journal(info.name, instance_id)
            return str(status.get("status")), build_steps(entries, time.time())

        status, steps = await self.ctx.io(load)
        step = find_step(steps, query.name, query.type)
        if step is None:
            raise ApiError(
                "step.not_found", f"instance {instance_id!r} has no {query.type} named {query.name!r}"
            )
        result = step_result(step, query.attempt, status)
        if result is None:
            raise ApiError("step.not_found", f"step {query.name!r} has no attempt {query.attempt}")
        return ok(result)


def _created(doc: dict[str, Any]) -> float:
    return float(doc.get("created_on_epoch") or 0)


def _after(doc: dict[str, Any], cursor: tuple[float, str], direction: str) -> bool:
    key = (_created(doc), str(doc.get("id")))
    return key > cursor if direction == "asc" else key < cursor
