"""The dashboard's pages and forms over plain HTTP (no browser), against a real served host signed in
as a browser is (the login form, its cookie, each form's CSRF token): the workflows page's counts
by status and its schedules; the instance list's status filter, id search, 25-a-page paging and
newest-first order; restart from the start and terminate without rollback from the forms; the
durations on the timeline and in the step table, checked against the admin API's step log."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from host.text import duration, when
from tests.browser.dashboard_deployment import api_client
from tests.helpers import ServerProcess, make_deployment, wait_for

TOKEN = "pages-token"
API = "/client/v4/accounts/local/workflows"
DASH = "/__waypost"
FETCH = {"x-waypost-fetch": "1"}
FINAL = ("complete", "errored", "terminated")

WORKER = '''
import asyncio
import time

from workers import Response, WorkflowEntrypoint


async def on_fetch(request, env):
    return Response("pages")


class Mixed(WorkflowEntrypoint):
    """Ends as its params say: complete, errored, or waiting for an event (to be terminated)."""

    async def run(self, event, step):
        outcome = (event.payload or {}).get("outcome", "complete")
        await step.do("begin", lambda: outcome)
        if outcome == "errored":
            def boom():
                raise ValueError("boom on purpose")

            await step.do("boom", {"retries": {"limit": 0}}, boom)
        if outcome == "waiting":
            await step.wait_for_event("hold", "go", timeout="1 hour")
        return outcome


class Timed(WorkflowEntrypoint):
    """A quick step, a step that fails once and waits 1 s before its retry, a 1.5 s sleep."""

    async def run(self, event, step):
        began = await step.do("first", lambda: time.time())

        async def flaky(ctx):
            if ctx.attempt == 1:
                raise ValueError("first attempt fails")
            return ctx.attempt

        config = {"retries": {"limit": 1, "delay": "1 second", "backoff": "constant"}}
        tries = await step.do("flaky", config, flaky)
        await step.sleep("nap", "1500 milliseconds")
        return {"began": began, "tries": tries}


class Saga(WorkflowEntrypoint):
    """"reserve" has an undo; then it waits for an event, so it can be terminated."""

    async def run(self, event, step):
        @step.with_rollback("reserve")
        async def reserve():
            return {"booking": 7}

        @reserve.undo
        async def cancel(error, value):
            return "cancelled"

        await reserve()
        await step.wait_for_event("hold", "go", timeout="1 hour")
        return "done"


class Ticker(WorkflowEntrypoint):
    """Short steps, one after another, long enough to be paused and resumed."""

    async def run(self, event, step):
        for i in range((event.payload or {}).get("ticks", 40)):
            async def tick(i=i):
                await asyncio.sleep(0.05)
                return i

            await step.do(f"tick-{i}", tick)
        return "ticked"


class Nightly(WorkflowEntrypoint):
    async def run(self, event, step):
        return await step.do("only", lambda: "ran")
'''

# "0 0 1 1 *" is midnight on January 1st: it does not fire while the test runs
CONFIG = """
host:
  data_dir: data
workers:
  - name: pages
    main: functions/pages.py
    routes: ["/pages"]
    workflows:
      - {name: mixed, binding: MIXED, class_name: Mixed}
      - {name: timed, binding: TIMED, class_name: Timed}
      - {name: saga, binding: SAGA, class_name: Saga}
      - {name: ticker, binding: TICKER, class_name: Ticker}
      - {name: nightly, binding: NIGHTLY, class_name: Nightly, schedules: ["0 0 1 1 *"]}
"""

# 27 instances of "mixed", made in this order: 13 complete, 7 errored, 7 waiting then terminated
OUTCOMES = ["complete", "errored", "complete", "waiting"] * 6 + ["complete", "errored", "waiting"]
EXPECTED = {"complete": 13, "errored": 7, "terminated": 7}


# ---- the HTML, read with the standard library ------------------------------------------------------


class Node:
    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        self.tag, self.attrs = tag, attrs
        self.children: list[Node | str] = []

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    def all(self, tag: str, cls: str | None = None) -> list[Node]:
        found: list[Node] = []
        for child in self.children:
            if isinstance(child, Node):
                if child.tag == tag and (cls is None or cls in child.attrs.get("class", "").split()):
                    found.append(child)
                found += child.all(tag, cls)
        return found

    def by_id(self, wanted: str) -> Node:
        for child in self.children:
            if isinstance(child, Node):
                if child.attrs.get("id") == wanted:
                    return child
                try:
                    return child.by_id(wanted)
                except LookupError:
                    pass
        raise LookupError(wanted)


class Tree(HTMLParser):
    VOID = {"input", "br", "meta", "link", "img", "hr", "line", "path"}

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack = [self.root]
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    return Tree(html).root


def cells(row: Node) -> list[str]:
    return [td.text.strip() for td in row.all("td")]


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


# ---- the served host, an API client and a signed-in dashboard client ------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp: Path = tmp_path_factory.mktemp("dashboard-pages")
    root = make_deployment(tmp, {"functions/pages.py": WORKER}, CONFIG)
    with ServerProcess(root, ("--no-reload",), env={"WAYPOST_API_TOKEN": TOKEN}) as proc:
        yield proc


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    yield from api_client(server, API, TOKEN)


@pytest.fixture(scope="module")
def dash(server: ServerProcess) -> Iterator[httpx.Client]:
    """Signed in through the login form, as a browser is: the cookie is all it carries after."""
    with httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.get(f"{DASH}/").status_code == 303  # not signed in yet: to the login page
        login = client.get(f"{DASH}/login")
        assert login.status_code == 200 and "waypost_session" in client.cookies
        form = {"csrf": csrf_of(login.text), "next": f"{DASH}/", "token": TOKEN}
        signed = client.post(f"{DASH}/login", data=form)
        assert signed.status_code == 303 and signed.headers["location"] == f"{DASH}/", signed.text
        home = client.get(f"{DASH}/")
        assert home.status_code == 200 and 'id="workflows"' in home.text
        yield client


def status_of(api: httpx.Client, workflow: str, instance_id: str) -> dict[str, Any]:
    answer = api.get(f"/{workflow}/instances/{instance_id}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["result"])


def wait_doc(
    api: httpx.Client, workflow: str, instance_id: str, ok: Callable[[dict[str, Any]], object], what: str
) -> dict[str, Any]:
    """The admin API's view of the instance, once `ok` holds for it (20 s at most)."""

    def check() -> dict[str, Any] | None:
        doc = status_of(api, workflow, instance_id)
        return doc if ok(doc) else None

    found = wait_for(check, 20, what=f"{workflow}/{instance_id}: {what}")
    assert found is not None
    return found


def wait_status(api: httpx.Client, workflow: str, instance_id: str, *wanted: str) -> dict[str, Any]:
    return wait_doc(api, workflow, instance_id, lambda doc: doc["status"] in wanted, f"status in {wanted}")


def create(api: httpx.Client, workflow: str, instance_id: str, params: Any = None) -> None:
    answer = api.post(f"/{workflow}/instances", json={"instance_id": instance_id, "params": params or {}})
    assert answer.status_code == 201, answer.text


def api_ids(api: httpx.Client, workflow: str, status: str | None = None) -> list[str]:
    query: dict[str, Any] = {"per_page": 100, "page": 1}
    if status:
        query["status"] = status
    answer = api.get(f"/{workflow}/instances", params=query)
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["result"]]


def control(dash: httpx.Client, workflow: str, instance_id: str, **fields: str) -> str:
    """Send the instance page's control form as dashboard.js does; returns its message."""
    path = f"{DASH}/workflows/{workflow}/instances/{instance_id}"
    page = dash.get(path)
    assert page.status_code == 200, page.text
    answer = dash.post(path + "/control", data={"csrf": csrf_of(page.text), **fields}, headers=FETCH)
    assert answer.status_code == 200, answer.text
    return answer.text.strip()


@pytest.fixture(scope="module")
def mixed(api: httpx.Client) -> list[str]:
    """27 "mixed" instances in their final states; their ids in the order they were made."""
    ids = [f"mix-{n:02d}" for n in range(len(OUTCOMES))]
    for instance_id, outcome in zip(ids, OUTCOMES, strict=True):
        create(api, "mixed", instance_id, {"outcome": outcome})
    for instance_id, outcome in zip(ids, OUTCOMES, strict=True):
        if outcome == "waiting":
            wait_status(api, "mixed", instance_id, "waiting")
            answer = api.patch(f"/mixed/instances/{instance_id}/status", json={"status": "terminate"})
            assert answer.status_code == 200, answer.text
    for instance_id in ids:
        wait_status(api, "mixed", instance_id, *FINAL)
    return ids


def list_rows(dash: httpx.Client, query: str = "", workflow: str = "mixed") -> tuple[list[list[str]], Node]:
    page = dash.get(f"{DASH}/workflows/{workflow}{query}")
    assert page.status_code == 200, page.text
    tree = parse(page.text)
    rows = [cells(tr) for tr in tree.by_id("instances").all("tr") if "data-id" in tr.attrs]
    return rows, tree


def polled_ids(dash: httpx.Client, tree: Node) -> list[str]:
    """The ids in the live region a list page polls (dashboard.js swaps it in every 500 ms)."""
    (live,) = [d.attrs["data-live"] for d in tree.all("div") if "fragment=1" in d.attrs.get("data-live", "")]
    answer = dash.get(live)
    assert answer.status_code == 200, answer.text
    return [cells(tr)[0] for tr in parse(answer.text).all("tr") if "data-id" in tr.attrs]


# ---- the workflows page ------------------------------------------------------------------------------


def test_workflows_page_counts_by_status_equal_the_admin_api(
    dash: httpx.Client, api: httpx.Client, mixed: list[str]
) -> None:
    tree = parse(dash.get(f"{DASH}/").text)
    table = tree.by_id("workflows")
    header = [th.text.strip() for th in table.all("th")]
    rows = {cells(tr)[0]: cells(tr) for tr in table.all("tr") if tr.all("td")}
    shown = dict(zip(header, rows["mixed"], strict=True))
    every = api.get("/mixed/instances", params={"per_page": 100, "page": 1}).json()["result"]
    from_api = Counter(item["status"] for item in every)
    assert from_api == EXPECTED
    assert shown["Instances"] == "27"
    for status in ("queued", "running", "paused", "waiting", "complete", "errored", "terminated"):
        assert shown[status] == str(from_api.get(status, 0)), (status, shown)
    # each count links to the list filtered by its status
    (row,) = [tr for tr in table.all("tr") if tr.all("td") and cells(tr)[0] == "mixed"]
    links = {a.attrs["href"]: a.text for a in row.all("a")[1:]}  # after the workflow's own link
    assert links == {f"{DASH}/workflows/mixed?status={s}": str(n) for s, n in EXPECTED.items()}


def test_workflows_page_shows_a_schedule_with_its_cron(dash: httpx.Client) -> None:
    tree = parse(dash.get(f"{DASH}/").text)
    table = tree.by_id("workflows")
    header = [th.text.strip() for th in table.all("th")]
    rows = {cells(tr)[0]: dict(zip(header, cells(tr), strict=True)) for tr in table.all("tr") if tr.all("td")}
    assert rows["nightly"]["Schedules"] == "0 0 1 1 *"
    assert rows["nightly"]["Instances"] == "0"  # it never fired
    assert rows["mixed"]["Schedules"] == "none"
    assert [c.text for c in table.all("code")] == ["0 0 1 1 *"]


# ---- the instance list ---------------------------------------------------------------------------------


def test_instance_list_pages_25_newest_first(dash: httpx.Client, api: httpx.Client, mixed: list[str]) -> None:
    newest_first = list(reversed(mixed))
    assert api_ids(api, "mixed") == newest_first  # the admin API's order, as the page must show it
    first, tree = list_rows(dash)
    assert [row[0] for row in first] == newest_first[:25]
    assert tree.by_id("older").attrs["href"] == "?status=&q=&page=2"
    by_id = {item: status_of(api, "mixed", item)["status"] for item in mixed}
    assert all(row[1] == by_id[row[0]] for row in first)
    second, tree = list_rows(dash, "?page=2")
    assert [row[0] for row in second] == newest_first[25:] == ["mix-01", "mix-00"]
    with pytest.raises(LookupError):
        tree.by_id("older")
    assert "newer" in tree.all("p", "pager")[0].text
    assert polled_ids(dash, tree) == ["mix-01", "mix-00"]  # the live region of page 2 stays on it
    third, _ = list_rows(dash, "?page=3")
    assert third == []


def test_instance_list_filters_by_status(dash: httpx.Client, api: httpx.Client, mixed: list[str]) -> None:
    for status, count in EXPECTED.items():
        rows, tree = list_rows(dash, f"?status={status}")
        assert [row[0] for row in rows] == api_ids(api, "mixed", status), status
        assert len(rows) == count and {row[1] for row in rows} == {status}
        chosen = [o.text for o in tree.all("option") if "selected" in o.attrs]
        assert chosen == [status]  # the form shows the filter in use
        # the live region the page polls keeps the filter (else it would show every instance)
        assert polled_ids(dash, tree) == [row[0] for row in rows]
    empty, _ = list_rows(dash, "?status=running")
    assert empty == []
    bad = dash.get(f"{DASH}/workflows/mixed?status=sleeping")
    assert bad.status_code == 400 and "unknown status" in bad.text


def test_instance_list_searches_by_id(dash: httpx.Client, mixed: list[str]) -> None:
    rows, _ = list_rows(dash, "?q=mix-13")
    assert [row[0] for row in rows] == ["mix-13"]
    rows, _ = list_rows(dash, "?q=MIX-2")  # any case; mix-20 .. mix-26, newest first
    assert [row[0] for row in rows] == [f"mix-{n}" for n in range(26, 19, -1)]
    rows, tree = list_rows(dash, "?q=mix-1&status=errored")  # both at once
    assert [row[0] for row in rows] == [f"mix-{n}" for n in (17, 13)]
    assert polled_ids(dash, tree) == ["mix-17", "mix-13"]
    rows, tree = list_rows(dash, "?q=nobody")
    assert rows == [] and "No instances match." in tree.by_id("instances").text


# ---- the forms --------------------------------------------------------------------------------------------


def step_named(doc: dict[str, Any], name: str) -> dict[str, Any]:
    (step,) = [s for s in doc["steps"] if s.get("name") == name]
    return dict(step)


def test_restart_without_a_step_restarts_from_the_start(
    dash: httpx.Client, api: httpx.Client, server: ServerProcess
) -> None:
    create(api, "timed", "again")
    before = wait_status(api, "timed", "again", "complete")
    page = parse(dash.get(f"{DASH}/workflows/timed/instances/again").text)
    options = [(o.attrs["value"], o.text) for o in page.by_id("from-step").all("option")]
    assert options[0] == ("", "the start")  # what the form sends when no step is chosen
    assert [v for v, _ in options[1:]] == ["do|1|first", "do|1|flaky", "sleep|1|nap"]
    message = control(dash, "timed", "again", action="restart", from_step="")
    assert message == "restart requested for again"

    def rerun(doc: dict[str, Any]) -> bool:
        first = [s for s in doc["steps"] if s.get("name") == "first"]
        return bool(
            doc["status"] == "complete"
            and first
            and first[0]["start"] != step_named(before, "first")["start"]
        )

    after = wait_doc(api, "timed", "again", rerun, "complete again, with a new first step")
    for name in ("first", "flaky", "nap"):  # every step ran again, not only those after some step
        assert step_named(after, name)["start"] > step_named(before, name)["start"], name
    assert after["output"]["began"] > before["output"]["began"]
    folder = server.root / "data" / "workflows" / "timed" / "instances" / "again"
    assert len(list(folder.glob("journal.*.restarted.jsonl"))) == 1


def test_terminate_without_rollback_runs_no_undo(dash: httpx.Client, api: httpx.Client) -> None:
    for instance_id in ("plain", "undone"):
        create(api, "saga", instance_id)
        wait_status(api, "saga", instance_id, "waiting")
    assert control(dash, "saga", "plain", action="terminate") == "terminate requested for plain"
    plain = wait_status(api, "saga", "plain", *FINAL)
    assert plain["status"] == "terminated"
    assert plain["rollback"] is None
    assert [s["type"] for s in plain["steps"]] == ["step", "waitForEvent", "termination"]
    # the same form with the box ticked does run the undo: the check above can tell them apart
    said = control(dash, "saga", "undone", action="terminate", rollback="1")
    assert said == "terminate with rollback requested for undone"
    undone = wait_doc(
        api,
        "saga",
        "undone",
        lambda doc: doc["status"] == "terminated" and doc.get("rollback"),
        "rolled back",
    )
    assert undone["rollback"]["outcome"] == "complete"
    assert "rollback" in [s["type"] for s in undone["steps"]]
    page = dash.get(f"{DASH}/workflows/saga/instances/plain").text
    assert parse(page).by_id("instance-status").text == "terminated"
    assert 'class="attempt undo"' not in page
    assert 'class="attempt undo"' in dash.get(f"{DASH}/workflows/saga/instances/undone").text
    # the workflows page counts what just changed (no stale count of the two "waiting")
    table = parse(dash.get(f"{DASH}/").text).by_id("workflows")
    header = [th.text.strip() for th in table.all("th")]
    (row,) = [
        dict(zip(header, cells(tr), strict=True))
        for tr in table.all("tr")
        if tr.all("td") and cells(tr)[0] == "saga"
    ]
    from_api = Counter(status_of(api, "saga", i)["status"] for i in api_ids(api, "saga"))
    assert row["terminated"] == str(from_api["terminated"]) and row["waiting"] == "0"


# ---- the timeline's durations -----------------------------------------------------------------------------


def seconds(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def test_timeline_and_step_table_show_each_steps_duration(
    dash: httpx.Client, api: httpx.Client, server: ServerProcess
) -> None:
    create(api, "timed", "clocked")
    doc = wait_status(api, "timed", "clocked", "complete")
    page = dash.get(f"{DASH}/workflows/timed/instances/clocked")
    assert page.status_code == 200
    tree = parse(page.text)
    svg = tree.by_id("timeline").all("svg")[0]
    assert svg.attrs["aria-label"] == "timeline of 3 steps"
    drawn = {}
    for row in svg.all("g", "row"):
        label = row.all("text", "label")[0].text
        drawn[label] = row.all("text", "took")[0].text
    table = {cells(tr)[1]: cells(tr) for tr in tree.by_id("steps").all("tr") if tr.all("td")}
    for name in ("first", "flaky", "nap"):
        step = step_named(doc, name)
        expected = duration(seconds(step["end"]) - seconds(step["start"]))
        assert drawn[name] == expected, (name, drawn)
        assert table[name][4] == expected, (name, table[name])
    assert drawn["nap"] == "1.5 s"  # a sleep lasts what it asked for
    flaky = step_named(doc, "flaky")
    assert seconds(flaky["end"]) - seconds(flaky["start"]) >= 1.0  # its 1 s retry wait is inside it
    titles = [t.text for t in svg.all("title")]
    # the retry wait is the one the journal planned: from the failed attempt's end to its retry_at
    journal = server.root / "data" / "workflows" / "timed" / "instances" / "clocked" / "journal.jsonl"
    lines = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    (fail,) = [e for e in lines if e["type"] == "step_fail"]
    planned = fail["retry_at"] - fail["t"]
    assert abs(planned - 1.0) < 0.5  # the step's 1 s delay
    assert f"retry wait {duration(planned)}" in titles
    failed = seconds(flaky["attempts"][0]["end"]) - seconds(flaky["attempts"][0]["start"])
    assert f"flaky attempt 1 failed after {duration(failed)}: ValueError: first attempt fails" in titles
    nap_end = step_named(doc, "nap")["end"]
    assert f"sleep nap: 1.5 s, until {when(nap_end)}" in titles  # a readable time, as in the table
    # the axis spans the whole run: its last tick is the time from the first step to the nap's end
    ticks = [t.text for t in svg.all("text", "tick")]
    span = seconds(step_named(doc, "nap")["end"]) - seconds(step_named(doc, "first")["start"])
    assert ticks[0] == "+0 ms" and ticks[-1] == f"+{duration(span)}"


def counts_row(dash: httpx.Client, workflow: str) -> dict[str, str]:
    table = parse(dash.get(f"{DASH}/").text).by_id("workflows")
    header = [th.text.strip() for th in table.all("th")]
    rows = [dict(zip(header, cells(tr), strict=True)) for tr in table.all("tr") if tr.all("td")]
    (row,) = [r for r in rows if r["Workflow"] == workflow]
    return row


def test_counts_follow_a_pause_and_resume(dash: httpx.Client, api: httpx.Client) -> None:
    create(api, "ticker", "paused-once", {"ticks": 120})  # about 6 s of steps, time to pause it
    wait_status(api, "ticker", "paused-once", "running")
    assert control(dash, "ticker", "paused-once", action="pause") == "pause requested for paused-once"
    wait_status(api, "ticker", "paused-once", "paused")
    assert counts_row(dash, "ticker")["paused"] == "1"
    assert control(dash, "ticker", "paused-once", action="resume") == "resume requested for paused-once"
    wait_status(api, "ticker", "paused-once", "complete")
    row = counts_row(dash, "ticker")
    assert (row["paused"], row["complete"]) == ("0", "1"), row
    rows, _ = list_rows(dash, "?status=complete", "ticker")
    assert [r[0] for r in rows] == ["paused-once"]
