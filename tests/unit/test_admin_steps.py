"""Journal entries folded into Cloudflare's step log, from the golden journals."""

from __future__ import annotations

from pathlib import Path

from host.admin.steps import api_steps, build_steps, find_step, step_result
from host.workflows.journal import read_lenient


def read_journal(path: Path) -> tuple[list[dict[str, object]], list[str]]:
    return read_lenient(path.read_bytes(), path.name)

JOURNALS = Path(__file__).parent.parent / "journals"


def test_complete_journal_gives_steps_with_attempts_sleep_and_event() -> None:
    entries, problems = read_journal(JOURNALS / "complete.jsonl")
    assert problems == []
    steps = build_steps(entries, now=10.0)
    assert [(s["type"], s["name"]) for s in steps] == [
        ("step", "charge"),
        ("waitForEvent", "shipped"),
        ("sleep", "cool down"),
    ]
    charge = steps[0]
    assert charge["success"] is True and charge["output"] == {"charged": 10}
    assert [(a["start"], a["end"], a["success"]) for a in charge["attempts"]] == [
        (1.1, 1.2, False),
        (2.0, 2.1, True),
    ]
    assert charge["attempts"][0]["error"] == {"name": "ValueError", "message": "card declined"}
    assert steps[1]["finished"] and steps[1]["output"] == {"carrier": "dhl"} and steps[1]["end"] == 3.0
    assert steps[2]["finished"] and (steps[2]["start"], steps[2]["end"]) == (3.1, 4.0)

    shaped = api_steps(steps)
    assert shaped[0]["attempts"][1] == {
        "start": "1970-01-01T00:00:02Z",
        "end": "1970-01-01T00:00:02.100000Z",
        "success": True,
        "error": None,
    }
    assert [s["name"] for s in api_steps(steps, "desc")] == ["cool down", "shipped", "charge"]


def test_sleep_not_over_yet_is_unfinished() -> None:
    entries, _ = read_journal(JOURNALS / "complete.jsonl")
    assert build_steps(entries, now=3.5)[2]["finished"] is False


def test_reading_skips_a_torn_tail_without_writing(tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    journal.write_bytes(b'{"type":"step_start","name":"a","count":1,"attempt":1,"t":1}\n{"type":"step_do')
    before = journal.read_bytes()
    entries, problems = read_journal(journal)
    assert len(entries) == 1 and problems == []
    assert journal.read_bytes() == before  # the host may be appending: never truncate from here


def test_damaged_line_is_reported_and_skipped(tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    journal.write_text(
        '{"type":"sleep","name":"s","count":1,"until":5,"t":1}\nnot json\n'
        '{"type":"control","action":"terminate","t":2}\n'
    )
    entries, problems = read_journal(journal)
    assert len(entries) == 2 and problems[0].startswith("journal.jsonl line 2:")
    assert [s["type"] for s in build_steps(entries, now=3)] == ["sleep", "termination"]


def test_interrupted_attempt_and_repeated_names() -> None:
    entries = [
        {"type": "step_start", "name": "a", "count": 1, "attempt": 1, "t": 1},
        {"type": "step_start", "name": "a", "count": 1, "attempt": 1, "t": 5},  # the host died in between
        {"type": "step_done", "name": "a", "count": 1, "result": 1, "t": 6},
        {"type": "step_start", "name": "a", "count": 2, "attempt": 1, "t": 7},
    ]
    steps = build_steps(entries, now=8)
    first, second = steps
    assert [a["success"] for a in first["attempts"]] == [False, True]
    assert first["attempts"][0]["error"]["name"] == "Interrupted"
    assert find_step(steps, "a", "step") is first and find_step(steps, "a-2", "step") is second
    assert find_step(steps, "a", "waitForEvent") is None
    assert step_result(second, None, "running") == {"status": "running", "error": None, "output": None}
    assert step_result(first, 1, "running")["status"] == "errored"  # type: ignore[index]
    assert step_result(first, 3, "running") is None
