"""Admin handlers for workflows and their versions: list, get, versions, graph (and the refusal to
change a workflow, which config.yaml defines)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from host.admin import queries as qs
from host.admin import shapes
from host.admin.context import AdminContext, page_info
from host.admin.envelope import ApiError, ok


class WorkflowHandlers:
    def __init__(self, ctx: AdminContext) -> None:
        self.ctx = ctx

    async def list_workflows(self, request: Request) -> Response:
        ctx = self.ctx
        paging = qs.parse_page(request.query_params)
        search = request.query_params.get("search") or ""
        infos = ctx.infos()
        names = sorted(n for n in infos if search.lower() in n.lower())
        total = len(names)
        start = (paging.page - 1) * paging.per_page
        chosen = [infos.get(n) or shapes.WorkflowInfo(n) for n in names[start : start + paging.per_page]]
        docs = await ctx.io(lambda: [shapes.workflow_doc(ctx.service, info) for info in chosen])
        info = page_info(paging.page, paging.per_page, len(docs), total)
        return ok(docs, info, messages=ctx.load_messages())

    async def get_workflow(self, request: Request) -> Response:
        info = self.ctx.workflow(request)
        doc = await self.ctx.io(lambda: shapes.workflow_doc(self.ctx.service, info))
        return ok(doc, messages=self.ctx.load_messages())

    async def read_only(self, request: Request) -> Response:
        self.ctx.workflow(request)
        raise ApiError(
            "method.not_allowed",
            "workflows are defined in config.yaml; edit it to add, change "
            "or remove one (the host reloads it)",
        )

    async def list_versions(self, request: Request) -> Response:
        info = self.ctx.workflow(request)
        paging = qs.parse_page(request.query_params)
        doc = await self.ctx.io(lambda: shapes.workflow_doc(self.ctx.service, info))
        versions = [shapes.version_doc(info, doc["created_on"])] if paging.page == 1 else []
        return ok(versions, page_info(paging.page, paging.per_page, len(versions), 1))

    async def get_version(self, request: Request) -> Response:
        return ok(await self._version(request))

    async def version_graph(self, request: Request) -> Response:
        version = await self._version(request)
        return ok(
            {k: version[k] for k in ("id", "workflow_id", "class_name", "created_on", "modified_on")}
            | {"graph": None}
        )

    async def _version(self, request: Request) -> dict[str, Any]:
        info = self.ctx.workflow(request)
        wanted = request.path_params["version_id"]
        if wanted != shapes.version_id(info.name, info.class_name):
            raise ApiError(
                "version.not_found", f"version {wanted[:80]!r} of workflow {info.name!r} not found"
            )
        doc = await self.ctx.io(lambda: shapes.workflow_doc(self.ctx.service, info))
        return shapes.version_doc(info, doc["created_on"])
