import enum
import json
from types import SimpleNamespace

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from marsad.registry import canonical
from marsad.registry.canonical import canonical_json, diff, flatten

# Documents shaped like records: maps keyed by codes (some with "/" or "~", which pointers escape),
# leaves that are strings, booleans or null, and empty maps.
leaves = st.none() | st.booleans() | st.sampled_from(["", "0", "12.50", "2026-01-31", "مشروع"])
keys = st.sampled_from(["schema", "a", "b", "c/d", "e~f", "MEN_TRT", "01.01.01"])
documents = st.recursive(leaves, lambda inner: st.dictionaries(keys, inner, max_size=4), max_leaves=12)


def leaf_by_leaf(before, after):
    """Every leaf of both documents compared: what ``diff`` must say, however it gets there."""
    old = flatten(before) if before else {}
    new = flatten(after)
    return [
        {"pointer": key, "before": old.get(key), "after": new.get(key)}
        for key in sorted(set(old) | set(new))
        if key != "/schema" and (old.get(key) != new.get(key) or (key in old) != (key in new))
    ]


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, documents, max_size=5), st.dictionaries(keys, documents, max_size=5))
def test_diff_skipping_equal_branches_says_what_a_leaf_by_leaf_comparison_says(before, after):
    assert diff(before, after) == leaf_by_leaf(before, after)


def test_a_changed_leaf_deep_in_a_map_and_an_escaped_code():
    before = {"schema": "1", "outputs": {"MEN_TRT": {"target": "10", "achieved": "2"}}, "c/d": {"x": "1"}}
    after = {"schema": "2", "outputs": {"MEN_TRT": {"target": "10", "achieved": "5"}}, "c/d": {}}
    assert diff(before, after) == [
        {"pointer": "/c~1d", "before": None, "after": {}},
        {"pointer": "/c~1d/x", "before": "1", "after": None},
        {"pointer": "/outputs/MEN_TRT/achieved", "before": "2", "after": "5"},
    ]
    assert diff(None, {"schema": "1", "a": "x"}) == [{"pointer": "/a", "before": None, "after": "x"}]
    assert diff(after, after) == []


# --- canonical_json: orjson where it writes what json.dumps writes, json.dumps otherwise -------------


def reference(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


# Characters where writers differ if they differ at all: escapes, U+007F, line separators, lone
# surrogates, both sides of the surrogate block and the end of the Basic Multilingual Plane.
TRICKY = ["\x00", "\x08", "\t", "\n", "\x0b", "\x0c", "\r", "\x1f", '"', "\\", "/", "\x7f", "\x80",
          "\u2028", "\u2029", "é", "ع", "\ud7ff", "\ud800", "\udbff", "\udc00", "\udfff", "\ue000",
          "\ufb50", "\ufeff", "\uffff", "\U00010000", "\U0001f600", "\U0010ffff"]  # fmt: skip
characters = st.sampled_from(TRICKY) | st.characters(exclude_categories=())  # surrogates included
texts = st.text(characters, max_size=6)
BOUNDS = [
    2**53 - 1,
    2**53,
    -(2**53) + 1,
    -(2**53),
    2**63 - 1,
    2**63,
    2**64 - 1,
    2**64,
    -(2**63),
    -(2**63) - 1,
]
integers = st.integers() | st.sampled_from([*BOUNDS, 10**40])
scalars = (
    st.none() | st.booleans() | integers | st.floats() | texts | st.sampled_from([Colour.RED, Level.HIGH])
)


def json_like(keys):
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.lists(inner, max_size=3).map(tuple)
            | st.dictionaries(keys, inner, max_size=5)
        ),
        max_leaves=25,
    )


def plain_like(keys):
    """Only the types orjson is trusted with: the fast path is taken unless orjson refuses."""
    return st.recursive(
        st.none() | st.booleans() | integers | texts,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
        max_leaves=25,
    )


def same_as_reference(value) -> None:
    try:
        expected = reference(value)
    except Exception as error:  # what json.dumps refuses, canonical_json refuses the same way
        with pytest.raises(type(error)):
            canonical_json(value)
    else:
        assert canonical_json(value) == expected


@settings(max_examples=1500, deadline=None)
@given(json_like(texts))
@example({"b": 1, "a": [True, None, "x"], "é": {"\U0001f600": "\ud800", "\uffff": 1.5}})
@example({"n": float("nan"), "i": float("inf"), "small": 1e-05, "big": 1e16, "z": -0.0})
def test_canonical_json_is_json_dumps_for_text_keys(value):
    same_as_reference(value)


@settings(max_examples=500, deadline=None)
@given(json_like(texts | integers | st.booleans() | st.none() | st.floats()))
def test_canonical_json_is_json_dumps_for_any_keys(value):
    same_as_reference(value)


@settings(max_examples=1500, deadline=None)
@given(plain_like(texts))
def test_orjson_writes_plain_values_as_json_dumps_does(value):
    try:
        fast = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError:
        fast = None  # refused: canonical_json falls back to json.dumps
    if fast is not None:
        assert fast == reference(value)
    same_as_reference(value)


def test_a_record_document_is_written_by_orjson_as_json_writes_it(monkeypatch):
    document = {
        "schema": "marsad.project/1",
        "title": {"ar": "القطب الحضري للداخلة", "fr": "Pôle urbain de Dakhla"},
        "communes": {"12.391.01.01": {"primary": True, "share": None}},
        "ب": 1,
        "é": "tab\there\u2028\x7f",
        "version": 2**63,
    }
    expected = (
        '{"communes":{"12.391.01.01":{"primary":true,"share":null}},"schema":"marsad.project/1",'
        '"title":{"ar":"القطب الحضري للداخلة","fr":"Pôle urbain de Dakhla"},"version":9223372036854775808,'
        '"é":"tab\\there\u2028\x7f","ب":1}'
    )
    assert reference(document) == expected
    monkeypatch.setattr(canonical, "json", SimpleNamespace(dumps=None))  # json.dumps is not called
    assert canonical_json(document) == expected


def test_what_orjson_would_write_otherwise_is_left_to_json():
    assert canonical_json({"a": 1e-05, "b": float("nan"), "c": 1e16}) == '{"a":1e-05,"b":NaN,"c":1e+16}'
    assert (
        canonical_json({"big": 2**64, "neg": -(2**63) - 1})
        == '{"big":18446744073709551616,"neg":-9223372036854775809}'
    )
    assert canonical_json({2: "b", 10: "a"}) == '{"2":"b","10":"a"}'
    assert (
        canonical_json({"s": "\ud800", "e": Colour.RED, "l": Level.HIGH}) == '{"e":"red","l":3,"s":"\ud800"}'
    )
    assert canonical_json({"t": (1, "x")}) == '{"t":[1,"x"]}'
    deep: list = []
    for _ in range(300):
        deep = [deep]
    assert canonical_json(deep) == "[" * 301 + "]" * 301
    circular: dict = {}
    circular["self"] = circular
    with pytest.raises(ValueError, match="Circular reference"):
        canonical_json(circular)
    with pytest.raises(TypeError):
        canonical_json({"when": object()})
