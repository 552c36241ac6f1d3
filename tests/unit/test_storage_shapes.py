"""Pure parts of the storage bindings: Record, option merging, R2 listing, SQL splitting."""

from __future__ import annotations

from typing import Any

import pytest

from host.storage.d1sql import split_statements
from host.storage.r2list import list_documents
from host.storage.shapes import Record, StorageInputError, options


def test_record_reads_as_dict_and_attribute_and_fields_win_over_methods() -> None:
    page = Record(keys=[{"name": "a"}], list_complete=True)
    assert page.keys == page["keys"] == [{"name": "a"}]
    assert dict.keys(page) == {"keys", "list_complete"}
    row = Record(values=3, id=1)
    assert row.values == 3 and row.id == 1
    with pytest.raises(AttributeError, match="no field 'missing'"):
        _ = row.missing


def test_options_merge_a_dict_and_keywords_in_either_spelling() -> None:
    got = options("KV put", {"expirationTtl": 60}, {"metadata": {"a": 1}}, ("expiration_ttl", "metadata"))
    assert got == {"expiration_ttl": 60, "metadata": {"a": 1}}
    with pytest.raises(StorageInputError, match="unknown option 'ttl'"):
        options("KV put", None, {"ttl": 1}, ("expiration_ttl",))
    with pytest.raises(StorageInputError, match="options must be a dict"):
        options("KV put", 60, {}, ("expiration_ttl",))


def docs(*keys: str) -> list[dict[str, Any]]:
    return [{"key": k} for k in keys]


def page_of(found: dict[str, Any]) -> tuple[list[str], list[str], bool]:
    return [d["key"] for d in found["objects"]], found["delimited_prefixes"], found["truncated"]


def test_r2_list_rolls_keys_under_a_delimiter_into_prefixes_and_pages_by_cursor() -> None:
    all_docs = docs("b", "a/1", "a/2", "a/b/3", "c/1", "d")
    assert page_of(list_documents(all_docs, "", "/", None, 10)) == (["b", "d"], ["a/", "c/"], False)
    assert page_of(list_documents(all_docs, "a/", "/", None, 10)) == (["a/1", "a/2"], ["a/b/"], False)
    first = list_documents(all_docs, "", "/", None, 2)
    assert page_of(first) == (["b"], ["a/"], True) and first["cursor"] == "b"
    assert page_of(list_documents(all_docs, "", "/", "a/", 2)) == (["b"], ["c/"], True)
    assert page_of(list_documents(all_docs, "", "", "c/1", 5)) == (["d"], [], False)


def test_sql_is_split_on_semicolons_outside_strings_and_comments() -> None:
    sql = "CREATE TABLE t (v TEXT);\n-- note; here\nINSERT INTO t VALUES ('a;b');\n\n;"
    sql += "INSERT INTO t VALUES ('c')"
    assert split_statements(sql) == [
        "CREATE TABLE t (v TEXT);",
        "-- note; here\nINSERT INTO t VALUES ('a;b');",
        "INSERT INTO t VALUES ('c')",
    ]
    assert split_statements("  -- only a comment\n") == []
