from __future__ import annotations

from host.store.fileindex import entry_name, parse_entry


def test_entry_names_never_make_an_instance_due_early() -> None:
    due = 1795606814.1014  # between two milliseconds
    parsed = parse_entry(entry_name(due, "order-1"))
    assert parsed is not None and parsed[1] == "order-1"
    assert due <= parsed[0] < due + 0.001


def test_names_sort_by_due_time() -> None:
    names = [entry_name(t, "x") for t in (5.0, 1795606814.0, 0.0)]
    assert sorted(names) == [names[2], names[0], names[1]]


def test_foreign_names_are_ignored() -> None:
    assert parse_entry("notes.txt") is None and parse_entry("123") is None
