"""Edges of the engine's contract (SPEC 3.2, 3.3, 3.8) through a served host: retries past the
point where 2**n overflows a float, durations too long to wait, a KeyError's text, and values that
JSON cannot hold as they are."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import ServerProcess, make_deployment, wait_for

CONFIG = """
host:
  data_dir: data
  durability: relaxed
  hibernate_after: 0     # every wait unloads the instance: results are read back by a replay
workers:
  - name: edges
    main: functions/edges.py
    routes: ["/edges/*"]
    workflows:
      - {name: edges, binding: EDGES, class_name: Edges}
"""

WORKER = """
import os
import pathlib

from workers import Response, WorkflowEntrypoint

MARKS = pathlib.Path(os.environ["TEST_MARKS"])


class Edges(WorkflowEntrypoint):
    async def run(self, event, step):
        case = event.payload["case"]
        if case == "many retries":  # fails until attempt 1027: retries 1025 and 1026 must not overflow
            config = {"retries": {"limit": 1030, "delay": 0, "backoff": "exponential"}}

            def body(ctx):
                if ctx.attempt < 1027:
                    raise ValueError(f"attempt {ctx.attempt}")
                return ctx.attempt

            return await step.do("flaky", config, body)
        if case == "last retry fails":  # the error reaches run() after the 1025th retry
            config = {"retries": {"limit": 1025, "delay": 0, "backoff": "exponential"}}

            def body(ctx):
                raise ValueError(f"attempt {ctx.attempt}")

            try:
                await step.do("doomed", config, body)
            except ValueError as exc:
                return f"caught {exc}"
        if case == "bad config":  # each config is refused where it is given, naming what is wrong
            caught = []
            for config in event.payload["configs"]:
                config = json.loads(config, parse_constant=float)
                try:
                    await step.do(f"step {len(caught)}", config, lambda: 1)
                    caught.append("accepted")
                except ValueError as exc:
                    caught.append(str(exc))
            return caught
        if case == "key error":
            def body():
                raise KeyError("k")

            try:
                await step.do("lookup", {"retries": {"limit": 0}}, body)
            except KeyError as exc:
                return {"type": type(exc).__name__, "str": str(exc), "args": list(exc.args)}
        if case == "shapes":  # what run() gets, first time and on replay, written down each run
            got = [await step.do("tuples", lambda: {"a": (2, 3), "b": [(4,)]})]
            try:
                await step.do("int keys", lambda: {"ok": [{1: (2, 3)}]})
                got.append("accepted")
            except Exception as exc:
                got.append(f"{type(exc).__name__}: {exc}")
            with open(MARKS / "shapes", "a") as fh:
                fh.write(repr(got) + "\\n")
            await step.sleep("replay", 0.05)
            return got
        return None


async def fetch(request, env):
    body = await request.json()
    try:
        if body.get("bad_params"):
            await env.EDGES.create(params={"case": "none", 1: 2})
        elif body.get("bad_event"):
            instance = await env.EDGES.get(body["bad_event"])
            await instance.send_event(type="go", payload={"n": {2.5: 1}})
        else:
            instance = await env.EDGES.create(params=body)
            return {"id": instance.id}
        return {"ok": True}
    except Exception as exc:
        return Response.json({"error": type(exc).__name__, "message": str(exc)}, status=400)
""".replace("import os\n", "import json\nimport os\n", 1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("edges")
    root = make_deployment(tmp, {"functions/edges.py": WORKER}, CONFIG)
    marks = tmp / "marks"
    marks.mkdir()
    with ServerProcess(root, extra_args=("--no-reload",), env={"TEST_MARKS": str(marks)}) as proc:
        proc.marks = marks  # type: ignore[attr-defined]
        yield proc


def _run(server: ServerProcess, params: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
    """Create an instance with `params`, wait for it to end; its admin API document, with "id"."""
    response = server.post("/edges/", json=params)
    assert response.status_code == 200, response.text
    iid = response.json()["id"]
    admin = f"/client/v4/accounts/local/workflows/edges/instances/{iid}"

    def final() -> dict[str, Any] | None:
        result: dict[str, Any] = server.get(admin).json()["result"]
        return {**result, "id": iid} if result["status"] in ("complete", "errored", "terminated") else None

    return wait_for(final, timeout, what=f"instance {iid} to end")


def test_retries_past_1024_do_not_overflow_the_backoff(server: ServerProcess) -> None:
    done = _run(server, {"case": "many retries"})
    assert (done["status"], done["output"], done["error"]) == ("complete", 1027, None)


def test_the_error_of_the_last_of_1025_retries_is_raised_into_run(server: ServerProcess) -> None:
    done = _run(server, {"case": "last retry fails"})
    assert (done["status"], done["output"]) == ("complete", "caught attempt 1026"), done


def test_infinite_and_too_long_durations_are_refused_where_given(server: ServerProcess) -> None:
    configs = [
        '{"timeout": Infinity}',
        '{"retries": {"delay": Infinity}}',
        '{"retries": {"delay": "9000 years"}}',
        '{"timeout": "366 days"}',
        '{"retries": {"delay": 1e300}}',
        '{"retries": {"delay": "365 days"}, "timeout": "365 days"}',  # at the limit: fine
    ]
    done = _run(server, {"case": "bad config", "configs": configs})
    assert done["status"] == "complete", done["error"]
    caught = done["output"]
    assert caught[-1] == "accepted"
    expected = [
        ("timeout", "is not a finite duration"),
        ("retries.delay", "is not a finite duration"),
        ("retries.delay", "is longer than the limit of 365 days"),
        ("timeout", "is longer than the limit of 365 days"),
        ("retries.delay", "is longer than the limit of 365 days"),
    ]
    for text, (what, problem) in zip(caught[:-1], expected, strict=True):
        assert text.startswith(f"{what}: ") and text.endswith(problem), text


def test_a_key_error_reaches_run_with_the_text_it_was_recorded_with(server: ServerProcess) -> None:
    done = _run(server, {"case": "key error"})
    assert done["status"] == "complete", done["error"]
    assert done["output"] == {"type": "KeyError", "str": "'k'", "args": ["k"]}
    step = next(s for s in done["steps"] if s["name"] == "lookup")
    assert step["attempts"][-1]["error"] == {"name": "KeyError", "message": "'k'"}


def test_non_string_keys_are_refused_and_run_sees_the_same_value_on_replay(server: ServerProcess) -> None:
    done = _run(server, {"case": "shapes"})
    assert done["status"] == "complete", done["error"]
    first, refused = done["output"]
    assert first == {"a": [2, 3], "b": [[4]]}  # tuples come back as the lists JSON keeps
    assert refused.startswith("StepError: result of step 'int keys' must be JSON-serialisable")
    assert "['ok'][0] has the key 1 (int)" in refused
    runs = (server.marks / "shapes").read_text().splitlines()  # type: ignore[attr-defined]
    assert len(runs) >= 2 and len(set(runs)) == 1, runs  # the first run and the replay saw the same


def test_params_and_event_payloads_with_non_string_keys_are_refused(server: ServerProcess) -> None:
    listing = "/client/v4/accounts/local/workflows/edges/instances"
    before = server.get(listing, params={"per_page": 100}).json()["result"]
    response = server.post("/edges/", json={"bad_params": True})
    assert response.status_code == 400
    assert response.json() == {
        "error": "ValueError",
        "message": "params must be JSON-serialisable: it has the key 1 (int); JSON object keys are strings",
    }
    assert server.get(listing, params={"per_page": 100}).json()["result"] == before  # nothing made
    done = _run(server, {"case": "none"})
    response = server.post("/edges/", json={"bad_event": done["id"]})
    assert response.status_code == 400
    assert response.json()["message"] == (
        "event payload must be JSON-serialisable: ['n'] has the key 2.5 (float); JSON object keys are strings"
    )
