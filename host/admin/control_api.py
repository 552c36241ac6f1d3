"""Admin handlers that change instances: status changes, events, delete (one or a batch), terminate-all."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from host.admin import queries as qs
from host.admin import requests as rq
from host.admin.body import NO_BODY, read_json
from host.admin.context import AdminContext
from host.admin.envelope import ERRORS, from_exception, ok
from host.errors import InstanceNotFound, InvalidTransition, WaypostError
from host.workflows.ids import check_event_type, check_instance_id
from host.workflows.status import iso

# the status an instance moves to when a control request is accepted (the host applies it right after)
_AFTER = {"resume": "queued", "terminate": "terminated", "restart": "queued"}


class ControlHandlers:
    def __init__(self, ctx: AdminContext) -> None:
        self.ctx = ctx

    async def change_status(self, request: Request) -> Response:
        info = self.ctx.workflow(request)
        instance_id = self.ctx.instance_id(request)
        change = rq.parse_status_change(await read_json(request, self.ctx.max_body))
        extra: dict[str, Any] = {}
        if change.rollback:
            extra["rollback"] = True
        if change.from_step is not None:
            extra["from_step"] = change.from_step
        before = await self.ctx.service.control(info.name, instance_id, change.action, **extra)
        after = _AFTER.get(change.action) or ("waitingForPause" if before == "running" else "paused")
        return ok({"status": after, "timestamp": iso(time.time())})

    async def send_event(self, request: Request) -> Response:
        info = self.ctx.workflow(request)
        instance_id = self.ctx.instance_id(request)
        event_type = check_event_type(request.path_params["event_type"])
        body = await read_json(request, self.ctx.max_body)
        payload = None if body is NO_BODY else body
        await self.ctx.service.send_event(info.name, instance_id, event_type, payload)
        return ok({"instanceId": instance_id, "timestamp": iso(time.time())})

    async def delete_instance(self, request: Request) -> Response:
        info = self.ctx.workflow(request)
        instance_id = self.ctx.instance_id(request)
        await self.ctx.service.delete(info.name, instance_id)
        return ok({"id": instance_id})

    async def delete_batch(self, request: Request) -> Response:
        """Delete each instance it can; one that is missing, not final or unreadable is an error entry.

        Answers 200 with {"deleted": [{"id"}], "errors": [{"id", "code", "type", "message"}]}, as wrangler
        reads it (it reports the errors and exits 1)."""
        info = self.ctx.workflow(request)
        ids = rq.parse_delete_batch(await read_json(request, self.ctx.max_body))
        deleted: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for raw in ids:
            try:
                await self.ctx.service.delete(info.name, check_instance_id(raw))
            except (WaypostError, ValueError, OSError) as exc:
                error = from_exception(exc)
                code = ERRORS[error.type][1]
                errors.append({"id": raw, "code": code, "type": error.type, "message": error.message})
            else:
                deleted.append({"id": raw})
        return ok({"deleted": deleted, "errors": errors})

    async def terminate_all(self, request: Request) -> Response:
        """Ask every instance with the status (default: every one not yet ended) to terminate.

        Answers {"status": "ok"} as Cloudflare does once its job started; here the requests are in
        the instances' inboxes when it answers. An instance that ended meanwhile is skipped."""
        ctx = self.ctx
        info = ctx.workflow(request)
        wanted = qs.parse_terminate_all(request.query_params)
        statuses = (wanted,) if wanted else qs.TERMINABLE
        docs = await ctx.io(lambda: ctx.service.list_instances(info.name))
        count = 0
        for doc in docs:
            if doc.get("status") not in statuses:
                continue
            try:
                await ctx.service.control(info.name, str(doc["id"]), "terminate", "api")
            except (InvalidTransition, InstanceNotFound):
                continue  # ended, or deleted, since the list was read
            count += 1
        return ok({"status": "ok", "count": count})
