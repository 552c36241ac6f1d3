"""The dashboard at /__waypost/ (SPEC 8): server-rendered pages, the forms that act on instances, the
metrics; a Starlette application mounted like the admin API (host.admin.mount.PrefixMount)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio.to_thread
import jinja2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from host.admin.auth import TokenAuth
from host.admin.envelope import from_exception
from host.admin.middleware import DASHBOARD, RequestLog
from host.admin.mount import PrefixMount
from host.config import DASHBOARD_PREFIX, Config
from host.dashboard import actions, pages
from host.dashboard.session import COOKIE, SESSION_HOURS, Denied, Sessions, read_form
from host.metrics import CONTENT_TYPE, Metrics
from host.workflows.ids import check_instance_id, check_name
from host.workflows.service import WorkflowService

PREFIX = DASHBOARD_PREFIX
HERE = Path(__file__).parent
STATIC = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}
Handler = Callable[[Request], Awaitable[Response]]
POLL_HEADER = b"x-waypost-poll"  # dashboard.js's live-update polls: not in the request log


class Dashboard:
    """The pages and forms; `config_source()` and `load_errors()` as for the admin API."""

    def __init__(
        self,
        service: WorkflowService,
        config_source: Callable[[], Config],
        load_errors: Callable[[], dict[str, str]],
        metrics: Metrics,
        auth: TokenAuth,
    ) -> None:
        self.service, self.config_source, self.load_errors = service, config_source, load_errors
        self.metrics = metrics
        self.sessions = Sessions(auth)
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )

    # -- the gate every request passes -------------------------------------------------------------

    def guard(self, handler: Handler, *, public: bool = False, form: bool = False) -> Handler:
        async def guarded(request: Request) -> Response:
            sid = self.sessions.session_id(request)
            fresh = sid is None
            request.state.sid = sid = sid or self.sessions.new_id()
            try:
                if not public:
                    self.sessions.admit(request, None if fresh else sid)
                if form:
                    request.state.form = await read_form(request, self.config_source().host.max_body)
                    self.sessions.check_csrf(sid, request.state.form.get("csrf", ""))
                response = await handler(request)
            except Denied as exc:
                response = self.denied(request, exc)
            except Exception as exc:  # noqa: BLE001 - every failure is a page, never a traceback
                error = from_exception(exc)
                if error.status >= 500 and not isinstance(exc, OSError):
                    raise
                response = self.error(request, error.status, error.message)
            if fresh and COOKIE not in response.headers.get("set-cookie", ""):
                self.set_cookie(response, sid)
            response.headers.update(HEADERS)
            return response

        return guarded

    def denied(self, request: Request, exc: Denied) -> Response:
        wants_page = (
            request.method == "GET" and not _fetch(request) and not request.url.path.endswith("/metrics")
        )
        if exc.status == 401 and wants_page:
            return RedirectResponse(f"{PREFIX}/login?next={request.url.path}", status_code=303)
        return self.error(request, exc.status, exc.message)

    @staticmethod
    def set_cookie(response: Response, sid: str) -> None:
        response.set_cookie(
            COOKIE, sid, max_age=SESSION_HOURS * 3600, path=PREFIX, httponly=True, samesite="strict"
        )

    # -- answers ----------------------------------------------------------------------------------

    def render(self, request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
        sid = request.state.sid
        base = {
            "prefix": PREFIX,
            "csrf": self.sessions.csrf(sid),
            "needs_login": self.sessions.needs_login,
            "signed_in": self.sessions.signed_in(sid),
            "path": request.url.path,
            "query": str(request.url.query),
        }
        html = self.templates.get_template(name).render(**base, **context)
        return HTMLResponse(html, status_code=status)

    def error(self, request: Request, status: int, message: str) -> Response:
        if _fetch(request) or request.url.path.endswith("/metrics"):
            return PlainTextResponse(message + "\n", status_code=status)
        return self.render(request, "error.html", {"status": status, "message": message}, status=status)

    def done(self, request: Request, message: str, then: str) -> Response:
        """A form's success: its message for a script, else back to `then`."""
        if _fetch(request):
            return PlainTextResponse(message + "\n")
        return RedirectResponse(then, status_code=303)

    # -- pages ------------------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        config = self.config_source()
        context = await anyio.to_thread.run_sync(lambda: pages.workflows_page(self.service, config))
        return self.render(request, "workflows.html", context)

    async def instances(self, request: Request) -> Response:
        workflow = check_name(request.path_params["workflow"])
        query = request.query_params
        status = query.get("status") or None
        if status is not None and status not in pages.STATUSES:
            raise ValueError(f"unknown status {status[:40]!r} (use one of {', '.join(pages.STATUSES)})")
        search = query.get("q", "")[:64]
        page = _page_number(query.get("page", "1"))
        context = await anyio.to_thread.run_sync(
            lambda: pages.instances_page(self.service, workflow, status, search, page)
        )
        name = "_instances_live.html" if query.get("fragment") else "instances.html"
        return self.render(request, name, context)

    async def instance(self, request: Request) -> Response:
        workflow = check_name(request.path_params["workflow"])
        instance_id = check_instance_id(request.path_params["instance_id"])
        self.service.require(workflow)
        context = await anyio.to_thread.run_sync(
            lambda: pages.instance_page(self.service, workflow, instance_id)
        )
        name = "_instance_live.html" if request.query_params.get("fragment") else "instance.html"
        return self.render(request, name, context)

    async def workers(self, request: Request) -> Response:
        return self.render(
            request, "workers.html", pages.workers_page(self.config_source(), self.load_errors())
        )

    async def metrics_text(self, request: Request) -> Response:
        body = await anyio.to_thread.run_sync(self.metrics.render)
        return Response(body, media_type=CONTENT_TYPE)

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC:
            return self.error(request, 404, f"no dashboard file {name[:80]!r}")
        body = (HERE / "static" / name).read_bytes()
        return Response(body, media_type=STATIC[name], headers={"cache-control": "max-age=300"})

    # -- sign in ----------------------------------------------------------------------------------

    async def login_page(self, request: Request) -> Response:
        return self.render(
            request, "login.html", {"next": _next(request.query_params.get("next")), "failed": False}
        )

    async def login(self, request: Request) -> Response:
        form = request.state.form
        target = _next(form.get("next"))
        if not self.sessions.needs_login:
            return RedirectResponse(target, status_code=303)
        sid = self.sessions.sign_in(form.get("token", ""))
        if sid is None:
            return self.render(request, "login.html", {"next": target, "failed": True}, status=401)
        response = RedirectResponse(target, status_code=303)
        self.set_cookie(response, sid)
        return response

    async def logout(self, request: Request) -> Response:
        self.sessions.sign_out(request.state.sid)
        response = RedirectResponse(f"{PREFIX}/login", status_code=303)
        self.set_cookie(response, self.sessions.new_id())
        return response

    # -- forms ------------------------------------------------------------------------------------

    def _target(self, request: Request) -> tuple[str, str]:
        workflow = check_name(request.path_params["workflow"])
        self.service.require(workflow)
        return workflow, check_instance_id(request.path_params["instance_id"])

    async def control(self, request: Request) -> Response:
        workflow, instance_id = self._target(request)
        message = await actions.control(self.service, workflow, instance_id, request.state.form)
        return self.done(request, message, f"{PREFIX}/workflows/{workflow}/instances/{instance_id}")

    async def event(self, request: Request) -> Response:
        workflow, instance_id = self._target(request)
        message = await actions.send_event(self.service, workflow, instance_id, request.state.form)
        return self.done(request, message, f"{PREFIX}/workflows/{workflow}/instances/{instance_id}")

    async def delete(self, request: Request) -> Response:
        workflow, instance_id = self._target(request)
        message = await actions.delete(self.service, workflow, instance_id)
        return self.done(request, message, f"{PREFIX}/workflows/{workflow}")

    async def trigger(self, request: Request) -> Response:
        workflow = check_name(request.path_params["workflow"])
        instance_id = await actions.trigger(self.service, workflow, request.state.form)
        target = f"{PREFIX}/workflows/{workflow}/instances/{instance_id}"
        if _fetch(request):
            return PlainTextResponse(f"created {instance_id}\n", headers={"x-waypost-location": target})
        return RedirectResponse(target, status_code=303)


def _fetch(request: Request) -> bool:
    """A form sent by the dashboard's script (it wants a message, not a page)."""
    return request.headers.get("x-waypost-fetch") == "1"


def _page_number(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 1_000_000:
        raise ValueError(f"page must be a number from 1 to 1000000, got {text[:20]!r}")
    return int(text)


def _next(value: str | None) -> str:
    """Where to go after signing in: a dashboard path, never another site."""
    if value and value.startswith(PREFIX + "/") and "//" not in value and "\\" not in value:
        return value
    return PREFIX + "/"


def dashboard_app(dashboard: Dashboard) -> Starlette:
    d = dashboard
    instance = "/workflows/{workflow}/instances/{instance_id}"
    routes: list[BaseRoute] = [
        Route("/", d.guard(d.home), methods=["GET"]),
        Route("/login", d.guard(d.login_page, public=True), methods=["GET"]),
        Route("/login", d.guard(d.login, public=True, form=True), methods=["POST"]),
        Route("/logout", d.guard(d.logout, form=True), methods=["POST"]),
        Route("/workers", d.guard(d.workers), methods=["GET"]),
        Route("/metrics", d.guard(d.metrics_text), methods=["GET"]),
        Route("/static/{name}", d.guard(d.static, public=True), methods=["GET"]),
        Route("/workflows/{workflow}", d.guard(d.instances), methods=["GET"]),
        Route("/workflows/{workflow}/trigger", d.guard(d.trigger, form=True), methods=["POST"]),
        Route(instance, d.guard(d.instance), methods=["GET"]),
        Route(instance + "/control", d.guard(d.control, form=True), methods=["POST"]),
        Route(instance + "/event", d.guard(d.event, form=True), methods=["POST"]),
        Route(instance + "/delete", d.guard(d.delete, form=True), methods=["POST"]),
        Route("/{rest:path}", d.guard(_not_found(d)), methods=["GET", "POST"]),
    ]
    return Starlette(routes=routes, middleware=[Middleware(RequestLog, label=DASHBOARD, quiet=POLL_HEADER)])


def _not_found(dashboard: Dashboard) -> Handler:
    async def not_found(request: Request) -> Response:
        if request.url.path == PREFIX:
            return RedirectResponse(PREFIX + "/", status_code=308)
        return dashboard.error(request, 404, f"no dashboard page {request.url.path[:200]}")

    return not_found


def dashboard_mount(
    service: WorkflowService,
    config_source: Callable[[], Config],
    load_errors: Callable[[], dict[str, str]],
    metrics: Metrics,
    auth: TokenAuth | None = None,
) -> BaseRoute:
    """The dashboard at /__waypost, claiming every path below it; list it before the worker routes."""
    dashboard = Dashboard(service, config_source, load_errors, metrics, auth or TokenAuth.from_environ())
    return PrefixMount(PREFIX, dashboard_app(dashboard))
