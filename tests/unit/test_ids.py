from __future__ import annotations

import pytest

from host.errors import LimitExceeded
from host.workflows.ids import (
    check_event_type,
    check_instance_id,
    check_json,
    check_name,
    check_step_name,
    new_instance_id,
)


@pytest.mark.parametrize("good", ["a", "order-42", "_x", "A_b-9", "x" * 64])
def test_good_ids(good: str) -> None:
    assert check_instance_id(good) == good


@pytest.mark.parametrize("bad", ["", "-x", "../etc", "a/b", "a.b", "x" * 65, "sp ace", "é", 5, None])
def test_bad_ids_name_the_rule(bad: object) -> None:
    with pytest.raises(ValueError, match="instance id"):
        check_instance_id(bad)


def test_generated_ids_are_valid_and_unique() -> None:
    ids = {new_instance_id() for _ in range(100)}
    assert len(ids) == 100 and all(check_instance_id(i) for i in ids)


def test_event_types_allow_100_chars() -> None:
    assert check_event_type("e" * 100)
    with pytest.raises(ValueError, match="event type"):
        check_event_type("e" * 101)


def test_step_names() -> None:
    assert check_step_name("charge card #1 / ok")
    with pytest.raises(ValueError, match="control"):
        check_step_name("a\nb")
    with pytest.raises(ValueError, match="256"):
        check_step_name("s" * 257)


# C0, DEL, C1 (NEL U+0085 among them) and the Unicode line and paragraph separators (SPEC 7)
CONTROLS = ["\x00", "\x1f", "\x7f", "\x80", "\x85", "\x9b", "\x9f", "\u2028", "\u2029"]


@pytest.mark.parametrize("char", CONTROLS)
def test_step_names_refuse_every_control_character(char: str) -> None:
    with pytest.raises(ValueError, match="control characters"):
        check_step_name(f"a{char}b")


@pytest.mark.parametrize("char", CONTROLS)
def test_ids_names_and_event_types_refuse_every_control_character(char: str) -> None:
    with pytest.raises(ValueError, match="instance id"):
        check_instance_id(f"a{char}b")
    with pytest.raises(ValueError, match="workflow name"):
        check_name(f"a{char}b")
    with pytest.raises(ValueError, match="event type"):
        check_event_type(f"a{char}b")


@pytest.mark.parametrize("good", ["caf\u00e9 \u00a0 \u2014 \u00ff", "\U0001f600 \u200d", "tab-free \u00a1"])
def test_step_names_keep_printable_unicode_beyond_latin_1_controls(good: str) -> None:
    assert check_step_name(good) == good


def test_json_values_and_the_one_mib_limit() -> None:
    assert check_json((1, 2), "params") == [1, 2]
    with pytest.raises(ValueError, match="JSON-serialisable"):
        check_json({"when": object()}, "params")
    with pytest.raises(ValueError, match="JSON-serialisable"):
        check_json(float("nan"), "params")
    with pytest.raises(LimitExceeded, match=r"params is \d+ bytes .*\(1 MiB\)"):
        check_json("x" * (1024 * 1024), "params")
