"""The engine's prebuilt JSON encoders give what json.dumps gives, and the same errors."""

from __future__ import annotations

import json
import math

import pytest

from host.workflows import jsonenc

VALUES = [
    {"a": [1, 2.5, None, True, 'é\n"x"'], "b": {"c": {}}, "1": -0.0},
    [],
    "plain",
    12,
    None,
    {1: "int key"},
]


@pytest.mark.parametrize("value", VALUES)
def test_compact_matches_json_dumps(value: object) -> None:
    assert jsonenc.compact(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def test_document_is_one_field_per_line_and_reads_back() -> None:
    doc = {"id": "x", "output": {"n": [1, 2]}, "error": None}
    text = jsonenc.document(doc)
    assert text.splitlines() == ["{", '  "id": "x",', '  "output": {"n": [1, 2]},', '  "error": null', "}"]
    assert json.loads(text) == doc
    assert jsonenc.document({}) == "{}\n"


@pytest.mark.parametrize("value", VALUES + [True, False, -3, 2.5, math.nan, 10**30, "é\t", {"k": None}])
def test_each_document_field_is_what_json_dumps_writes(value: object) -> None:
    for key in ("status", 'qu"ote', 7):
        line = jsonenc.document({key: value}).splitlines()[1]
        assert line == "  " + json.dumps({key: value}, ensure_ascii=False)[1:-1]


def test_strict_refuses_nan_and_compact_keeps_it() -> None:
    with pytest.raises(ValueError):
        jsonenc.compact_strict({"x": math.nan})
    assert jsonenc.compact([math.inf]) == "[Infinity]"


def test_unserialisable_values_and_cycles_raise_what_json_dumps_raises() -> None:
    with pytest.raises(TypeError, match="set"):
        jsonenc.compact({"x": {1, 2}})
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular"):
        jsonenc.compact(loop)
