"""The admin REST API: Cloudflare's Workflows paths under /client/v4/accounts/{account_id}/workflows
(and /accounts, /memberships), as a Starlette application mounted at /client/v4."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route

from host.admin.accounts import AccountHandlers
from host.admin.auth import TokenAuth
from host.admin.context import AdminContext
from host.admin.control_api import ControlHandlers
from host.admin.failures import InternalErrors, exception_handlers
from host.admin.gate import Gate, Handler
from host.admin.instance_api import InstanceHandlers
from host.admin.middleware import RequestLog, TrailingSlash
from host.admin.mount import PrefixMount
from host.admin.workflow_api import WorkflowHandlers
from host.config import RESERVED_PREFIX, Config
from host.workflows.service import WorkflowService


def admin_app(
    service: WorkflowService,
    config_source: Callable[[], Config],
    load_errors: Callable[[], dict[str, str]],
    auth: TokenAuth,
) -> Starlette:
    """The admin API as an application whose paths are below /client/v4 (admin_mount mounts it there).

    Every answer, errors included, is Cloudflare's envelope: a path no route has is a 404, a method
    the path does not take a 405 with `Allow`, each after `auth` admits the caller. A trailing slash
    names the same path; every request gets a line in the request log.
    """
    ctx = AdminContext(service, config_source, load_errors)
    accounts, wf = AccountHandlers(ctx), WorkflowHandlers(ctx)
    inst, control = InstanceHandlers(ctx), ControlHandlers(ctx)
    gate = Gate(auth, lambda: ctx.account_id)
    workflows = "/accounts/{account_id}/workflows"
    workflow = workflows + "/{workflow_name}"
    version = workflow + "/versions/{version_id}"
    listing = workflow + "/instances"
    instance = listing + "/{instance_id}"
    table: list[tuple[str, Handler, Sequence[str]]] = [
        ("/accounts", accounts.list_accounts, ["GET"]),
        ("/accounts/{account_id}", accounts.get_account, ["GET"]),
        ("/memberships", accounts.list_memberships, ["GET"]),
        (workflows, wf.list_workflows, ["GET"]),
        (workflow, wf.get_workflow, ["GET"]),
        (workflow, wf.read_only, ["PUT", "DELETE"]),
        (workflow + "/versions", wf.list_versions, ["GET"]),
        (version, wf.get_version, ["GET"]),
        (version + "/graph", wf.version_graph, ["GET"]),
        (listing, inst.list_instances, ["GET"]),
        (listing, inst.create_instance, ["POST"]),
        (listing + "/batch", inst.create_batch, ["POST"]),
        # before {instance_id}: "terminate" and "batch" are not instance ids here
        (listing + "/batch/delete", control.delete_batch, ["POST"]),
        (listing + "/terminate", control.terminate_all, ["PUT"]),
        (instance, inst.get_instance, ["GET"]),
        (instance, control.delete_instance, ["DELETE"]),
        (instance + "/step", inst.get_step, ["GET"]),
        (instance + "/status", control.change_status, ["PATCH"]),
        (instance + "/events/{event_type}", control.send_event, ["POST"]),
    ]
    routes: list[BaseRoute] = [
        Route(path, gate.guard(handler), methods=list(methods)) for path, handler, methods in table
    ]
    app = Starlette(
        routes=routes,
        exception_handlers=exception_handlers(gate, routes),
        middleware=[Middleware(RequestLog), Middleware(TrailingSlash), Middleware(InternalErrors)],
    )
    app.router.redirect_slashes = False  # TrailingSlash routes `/x/` as `/x`; nothing is redirected
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
