"""What every admin handler reads: the service, the host's current config, the workers that failed to
load; with the lookups each handler starts with (the workflow a path names, the instance id)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread
from starlette.requests import Request

from host.admin import shapes
from host.config import Config
from host.workflows.ids import check_instance_id, check_name
from host.workflows.service import WorkflowService

LOAD_ERROR_CODE = 10050  # envelope message: a worker's code failed to load on reload


class AdminContext:
    """`service` creates, controls and reads the instances; `config_source()` is the host's current
    Config (the host swaps it on reload); `load_errors()` maps each worker whose last reload failed
    to the error."""

    def __init__(
        self,
        service: WorkflowService,
        config_source: Callable[[], Config],
        load_errors: Callable[[], dict[str, str]],
    ) -> None:
        self.service = service
        self.config_source = config_source
        self.load_errors = load_errors

    @property
    def max_body(self) -> int:
        return self.config_source().host.max_body

    @property
    def account_id(self) -> str:
        return self.config_source().host.account_id

    def workflow(self, request: Request) -> shapes.WorkflowInfo:
        """The workflow the path names; WorkflowNotFound unless the host defines it (or has its data)."""
        name = check_name(request.path_params["workflow_name"])
        self.service.require(name)
        return self.infos().get(name) or shapes.WorkflowInfo(name)

    def infos(self) -> dict[str, shapes.WorkflowInfo]:
        return shapes.workflow_infos(self.config_source())

    @staticmethod
    def instance_id(request: Request) -> str:
        return check_instance_id(request.path_params["instance_id"])

    def load_messages(self) -> list[dict[str, Any]]:
        """Workers whose last reload failed (they serve their last good version), as envelope messages."""
        return [
            {"code": LOAD_ERROR_CODE, "message": f"worker {name!r} failed to load: {message}"}
            for name, message in sorted(self.load_errors().items())
        ]

    @staticmethod
    async def io(fn: Callable[[], Any]) -> Any:
        """`fn()` (file reads) in a worker thread, so the event loop goes on serving."""
        return await anyio.to_thread.run_sync(fn)


def page_info(page: int, per_page: int, count: int, total: int) -> dict[str, Any]:
    """Cloudflare's `result_info` of a page-numbered list."""
    return {
        "page": page,
        "per_page": per_page,
        "count": count,
        "total_count": total,
        "total_pages": max(1, -(-total // per_page)),
    }
