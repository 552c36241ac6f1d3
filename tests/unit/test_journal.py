from __future__ import annotations

from pathlib import Path

import pytest

from host.workflows.entries import replay_state
from host.workflows.journal import JournalDamaged, encode, parse
from host.workflows.status import InstanceStatus

GOLDEN = Path(__file__).parent.parent / "journals"


def test_complete_journal_replays_to_its_result() -> None:
    entries, good = parse((GOLDEN / "complete.jsonl").read_bytes())
    state = replay_state(entries)
    assert state.status is InstanceStatus.COMPLETE
    assert state.steps[("charge", 1)].result == {"charged": 10}
    assert state.steps[("charge", 1)].failures == 1
    assert state.steps[("shipped", 1)].event["payload"] == {"carrier": "dhl"}
    assert state.output == {"ok": True}
    assert state.step_count == 3


def test_torn_tail_is_dropped() -> None:
    data = (GOLDEN / "torn-tail.jsonl").read_bytes()
    entries, good = parse(data)
    assert good < len(data) and data[:good].endswith(b"\n")
    assert [e["type"] for e in entries] == ["status", "step_start", "step_done"]


def test_damage_in_the_middle_names_file_and_line() -> None:
    with pytest.raises(JournalDamaged, match=r"damaged\.jsonl line 2"):
        parse((GOLDEN / "damaged.jsonl").read_bytes(), "damaged.jsonl")


def test_empty_journal() -> None:
    assert parse(b"") == ([], 0)


def test_pre_encoded_fields_are_spliced_into_the_line() -> None:
    entry = {"type": "step_done", "name": "a", "count": 1, "result": {"x": [1, 2]}, "t": 1.5}
    line = encode(entry, raw={"result": '{"x":[1,2]}'})
    assert line.endswith(b"}\n")
    assert parse(line)[0] == [entry]


def test_two_values_on_one_line_are_damage_not_two_entries() -> None:
    start = b'{"type":"status","status":"running","t":1}'
    data = start + b"\n" + start + b"," + start + b"\n" + start + b"\n"
    with pytest.raises(JournalDamaged, match="line 2"):
        parse(data)


def test_blank_lines_are_skipped_and_counted_in_the_good_prefix() -> None:
    line = b'{"type":"status","status":"running","t":1}\n'
    data = line + b"\n" + line
    entries, good = parse(data)
    assert len(entries) == 2 and good == len(data)
    assert parse(b"\n") == ([], 1)


def test_every_entry_kind_shows_in_the_step_log_and_the_timeline() -> None:
    from host.admin.steplog import STEP_LOG, TIMELINE
    from host.workflows.entries import KINDS

    assert set(STEP_LOG) == set(KINDS) == set(TIMELINE)


def test_a_changed_value_that_is_still_json_is_damage_naming_the_line() -> None:
    lines = [
        encode({"type": "status", "status": "running", "t": 1.0}),
        encode({"type": "step_done", "name": "a", "count": 1, "result": 12345, "t": 1.1}),
        encode({"type": "status", "status": "complete", "t": 1.2}),
    ]
    lines[1] = lines[1].replace(b"12345", b"12346")
    with pytest.raises(JournalDamaged, match="line 2: checksum"):
        parse(b"".join(lines), "journal.jsonl")


def test_lines_written_before_checksums_still_load() -> None:
    old = b'{"type":"step_done","name":"a","count":1,"result":7,"t":1.0}\n'
    entries, good = parse(old)
    assert entries[0]["result"] == 7 and good == len(old)
