"""The dashboard in a real headless Chromium (Debian's `chromium`, driven by Playwright for Python),
against a real served host with a token: sign in, find an instance, read its timeline, pause and
watch the status change without a reload, send an event, restart from a step, trigger; every
request stays on 127.0.0.1; the CSRF and cookie rules."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.browser.dashboard_deployment import TOKEN, api_client, dashboard_deployment
from tests.helpers import ServerProcess, wait_for

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BASE = "/client/v4/accounts/local/workflows"
# one browser session, signed in by the first test and looked at by the last: the module runs on
# one pytest-xdist worker, in order (addopts has --dist loadfile)

try:
    from playwright.sync_api import Browser, Page, Route, expect, sync_playwright
except ImportError:  # pragma: no cover - the test extras install it
    sync_playwright = None  # type: ignore[assignment]

if sync_playwright is None or not os.path.exists(CHROMIUM):
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI=true but Playwright or /usr/bin/chromium is missing; .ci/run installs both")
    pytest.skip(
        "needs Playwright (pip install -e '.[test]') and Debian's chromium (apt-get install chromium)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = dashboard_deployment(tmp_path_factory.mktemp("dashboard"))
    with ServerProcess(root, ("--no-reload",), env={"WAYPOST_API_TOKEN": TOKEN}) as proc:
        yield proc


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    yield from api_client(server, BASE)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert sync_playwright is not None
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


class Visits:
    """Every request the page made, and those that were not for 127.0.0.1 (aborted)."""

    def __init__(self) -> None:
        self.all: list[str] = []
        self.outside: list[str] = []

    def route(self, route: Route) -> None:
        url = route.request.url
        self.all.append(url)
        host = urlsplit(url).hostname
        if url.startswith(("data:", "about:")) or host == "127.0.0.1":
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()


@pytest.fixture(scope="module")
def visits() -> Visits:
    return Visits()


@pytest.fixture(scope="module")
def page(browser: Browser, server: ServerProcess, visits: Visits) -> Iterator[Page]:
    context = browser.new_context(base_url=server.url)
    context.route("**/*", visits.route)
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    yield opened
    context.close()


def create(api: httpx.Client, workflow: str, instance_id: str, params: Any = None) -> None:
    response = api.post(f"/{workflow}/instances", json={"instance_id": instance_id, "params": params or {}})
    assert response.status_code == 201, response.text


def status(api: httpx.Client, workflow: str, instance_id: str) -> str:
    return str(api.get(f"/{workflow}/instances/{instance_id}").json()["result"]["status"])


def wait_status(api: httpx.Client, workflow: str, instance_id: str, wanted: str, timeout: float = 15) -> None:
    wait_for(lambda: status(api, workflow, instance_id) == wanted, timeout, what=f"{instance_id} {wanted}")


def test_sign_in_sets_an_httponly_strict_cookie(page: Page, server: ServerProcess) -> None:
    page.goto("/__waypost/")
    assert "/__waypost/login" in page.url
    page.fill("input[name=token]", "wrong-token")
    page.click("button[type=submit]")
    expect(page.locator("#login-failed")).to_be_visible()  # retries until the answer is shown
    page.fill("input[name=token]", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url("**/__waypost/")
    assert page.locator("#workflows").is_visible()
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["waypost_session"]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Strict"
    assert session["path"] == "/__waypost"
    # the cookie is not readable from a script
    assert "waypost_session" not in page.evaluate("document.cookie")


def test_find_an_instance_and_read_its_timeline(page: Page, api: httpx.Client) -> None:
    create(api, "steps", "find-me-1", {"n": 7})
    create(api, "steps", "other-2")
    wait_status(api, "steps", "find-me-1", "waiting")
    page.goto("/__waypost/workflows/steps")
    page.fill("input[name=q]", "find-me")
    page.click("form.filter button")
    page.wait_for_url("**q=find-me*")
    rows = page.locator("#instances tbody tr[data-id]")
    expect(rows).to_have_count(1)
    rows.first.locator("a").click()
    page.wait_for_url("**/instances/find-me-1")
    assert json.loads(page.locator("#instance-params").inner_text()) == {"n": 7}
    svg = page.locator("#timeline svg")
    assert svg.get_attribute("aria-label") == "timeline of 2 steps"
    assert page.locator("#timeline rect.attempt.ok").count() == 1  # step "first"
    assert page.locator("#timeline rect.wait").count() == 1  # the event wait, still open

    # send the event from the form: the wait ends, "flaky" fails once, is retried, then sleep and last
    page.fill("#event-type", "approval")
    page.fill("#event-payload", '{"by": "ops"}')
    page.click("#send-event")
    page.locator("#flash.ok").wait_for()
    page.locator("#instance-status", has_text="complete").wait_for(timeout=15_000)
    assert json.loads(page.locator("#instance-output").inner_text())["approved"] == {"by": "ops"}
    assert page.locator("#timeline path.event").count() == 1
    assert page.locator("#timeline rect.attempt.failed").count() == 1
    assert page.locator("#timeline rect.retry").count() == 1
    assert page.locator("#timeline rect.sleep").count() == 1
    assert page.locator("#timeline rect.attempt.ok").count() == 3  # first, flaky's 2nd attempt, last
    titles = page.locator("#timeline rect.attempt.failed title").text_content() or ""
    assert "attempt 1 failed" in titles and "attempt 1 fails on purpose" in titles


def test_the_timeline_shows_the_undo_of_a_rollback(page: Page, api: httpx.Client) -> None:
    create(api, "trip", "trip-1")
    wait_status(api, "trip", "trip-1", "complete")
    page.goto("/__waypost/workflows/trip/instances/trip-1")
    assert page.locator("#timeline rect.attempt.undo").count() == 1
    assert page.locator("#timeline rect.attempt.failed").count() == 1  # pay
    title = page.locator("#timeline rect.attempt.undo title").text_content() or ""
    assert title.startswith("undo of reserve")
    assert "rollback" in page.locator("#steps").inner_text()


def test_pause_shows_without_a_reload(page: Page, api: httpx.Client) -> None:
    create(api, "long", "pause-me")
    wait_status(api, "long", "pause-me", "running")
    page.goto("/__waypost/workflows/long/instances/pause-me")
    page.evaluate("window.__sameDocument = 'yes'")
    page.locator("#instance-status", has_text="running").wait_for()
    page.click("#pause")
    page.locator("#instance-status", has_text="paused").wait_for()
    assert page.evaluate("window.__sameDocument") == "yes"  # no reload happened
    page.click("#resume")
    page.locator("#instance-status", has_text="running").wait_for()
    page.check("form:has(#terminate) input[name=rollback]")
    page.click("#terminate")
    page.locator("#instance-status", has_text="terminated").wait_for()
    assert page.evaluate("window.__sameDocument") == "yes"


def test_delete_asks_then_removes_a_final_instance(page: Page, server: ServerProcess) -> None:
    folder = server.root / "data" / "workflows" / "long" / "instances" / "pause-me"
    assert folder.is_dir()  # terminated by the test before
    page.goto("/__waypost/workflows/long/instances/pause-me")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#delete")
    page.wait_for_url("**/__waypost/workflows/long")
    assert not folder.exists()
    assert page.locator("#instances tr[data-id=pause-me]").count() == 0


def test_restart_from_a_step(page: Page, api: httpx.Client, server: ServerProcess) -> None:
    create(api, "steps", "restart-me")
    wait_status(api, "steps", "restart-me", "waiting")
    assert api.post("/steps/instances/restart-me/events/approval", json={"ok": 1}).status_code == 200
    wait_status(api, "steps", "restart-me", "complete")
    page.goto("/__waypost/workflows/steps/instances/restart-me")
    ended = page.locator("dl.facts dd").nth(3)  # Status, Created, Started, Ended
    first_end = ended.inner_text()
    assert first_end
    page.select_option("#from-step", label="flaky (step)")
    page.click("#restart")
    flash = page.locator("#flash")
    flash.wait_for()
    assert "restart from step 'flaky' requested" in flash.inner_text(), flash.inner_text()
    folder = server.root / "data" / "workflows" / "steps" / "instances" / "restart-me"
    wait_for(lambda: list(folder.glob("journal.*.restarted.jsonl")), 10, what="the restarted journal")
    # only the new run ends at another moment; the page shows it without a reload
    expect(ended).not_to_have_text(first_end, timeout=15_000)
    expect(page.locator("#instance-status")).to_have_text("complete", timeout=15_000)
    assert ended.inner_text()


def test_trigger_with_json_params(page: Page, server: ServerProcess) -> None:
    page.goto("/__waypost/workflows/steps")
    page.fill("form.trigger input[name=id]", "from-the-form")
    page.fill("form.trigger textarea[name=params]", '{"n": 42}')
    page.click("form.trigger button")
    page.wait_for_url("**/instances/from-the-form")
    assert json.loads(page.locator("#instance-params").inner_text()) == {"n": 42}
    page.locator("#instance-status", has_text="waiting").wait_for()


def test_bad_params_get_a_clear_error_and_change_nothing(page: Page, server: ServerProcess) -> None:
    instances = server.root / "data" / "workflows" / "steps" / "instances"
    before = sorted(p.name for p in instances.iterdir())
    page.goto("/__waypost/workflows/steps")
    page.fill("form.trigger input[name=id]", "never-made")
    page.fill("form.trigger textarea[name=params]", "{not json")
    page.click("form.trigger button")
    page.locator("#flash.error").wait_for()
    assert "params is not valid JSON" in page.locator("#flash").inner_text()
    page.fill("form.trigger input[name=id]", "bad id!")
    page.fill("form.trigger textarea[name=params]", "{}")
    page.click("form.trigger button")
    page.locator("#flash.error", has_text="instance id").wait_for()
    assert sorted(p.name for p in instances.iterdir()) == before


def test_posts_need_the_sessions_csrf_token(page: Page, server: ServerProcess, api: httpx.Client) -> None:
    create(api, "steps", "csrf-target")
    wait_status(api, "steps", "csrf-target", "waiting")
    cookie = {c["name"]: c["value"] for c in page.context.cookies()}["waypost_session"]
    url = "/__waypost/workflows/steps/instances/csrf-target/control"
    inbox = server.root / "data" / "workflows" / "steps" / "instances" / "csrf-target" / "inbox"
    with httpx.Client(base_url=server.url, cookies={"waypost_session": cookie}) as browserless:
        for form in ({"action": "terminate"}, {"action": "terminate", "csrf": "0" * 64}):
            answer = browserless.post(url, data=form)
            assert answer.status_code == 403, answer.text
            assert "CSRF" in answer.text
        # a session that is not signed in goes to the login page, whatever it sends
        stranger = httpx.post(server.url + url, data={"action": "terminate"})
        assert stranger.status_code in (401, 403)
    assert not inbox.exists() or not list(inbox.iterdir())
    assert status(api, "steps", "csrf-target") == "waiting"


def test_workers_page_shows_routes_bindings_and_load_errors(page: Page) -> None:
    page.goto("/__waypost/workers")
    jobs = page.locator("#worker-jobs")
    assert "/jobs" in jobs.inner_text() and "STEPS → workflow steps" in jobs.inner_text()
    error = page.locator("#worker-broken .load-error").inner_text()
    assert "functions/broken.py:5" in error


def test_no_request_left_127_0_0_1(visits: Visits) -> None:
    assert visits.all, "the browser made no request at all"
    assert visits.outside == []
    assert all(urlsplit(u).hostname == "127.0.0.1" for u in visits.all)


def test_screenshot_of_the_instance_page(page: Page, api: httpx.Client, tmp_path: Path) -> None:
    """The picture in the README (docs/dashboard.png), when WAYPOST_SCREENSHOT names a file."""
    target = os.environ.get("WAYPOST_SCREENSHOT")
    page.goto("/__waypost/workflows/steps/instances/find-me-1")
    page.set_viewport_size({"width": 1100, "height": 900})
    shot = Path(target) if target else tmp_path / "instance.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
