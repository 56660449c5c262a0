import enum
import json
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation, localcontext
from types import SimpleNamespace

import orjson
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from marsad.registry import canonical
from marsad.registry.canonical import canonical_json, diff, flatten
from marsad.registry.rules import Record

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
    assert diff(after, after) == naive_diff(after, after)  # [] unless both are empty: a first version


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


# --- record_document: the inline formatting writes what the plain formulation writes ---------------


def plain_money(value):
    return None if value is None else f"{value.quantize(Decimal('0.01')):f}"


def plain_number(value):
    if value is None:
        return None
    text = f"{value.normalize():f}"
    return text if text != "-0" else "0"


def plain_day(value):
    return None if value is None else value.isoformat()


def plain_record_document(record: Record, public_id: str) -> dict:
    """``record_document`` as first written, one helper call per value: the reference."""
    if record.withdrawn:
        return {
            "schema": canonical.SCHEMA,
            "id": public_id,
            "operator": record.operator,
            "operator_ref": record.operator_ref,
            "withdrawn": True,
            "reason": record.reason,
        }
    return {
        "schema": canonical.SCHEMA,
        "id": public_id,
        "operator": record.operator,
        "operator_ref": record.operator_ref,
        "title": {"ar": record.title.get("ar", ""), "fr": record.title.get("fr", "")},
        "description": {"ar": record.description.get("ar", ""), "fr": record.description.get("fr", "")},
        "programme": record.programme,
        "status": record.status,
        "agreement": record.agreement,
        "communes": {
            code: {"primary": code == record.primary_commune, "share": plain_money(share)}
            for code, share in record.communes.items()
        },
        "location": None
        if record.location is None
        else {"lat": plain_number(record.location[0]), "lon": plain_number(record.location[1])},
        "area_ha": plain_number(record.area_ha),
        "planned_start": plain_day(record.planned_start),
        "planned_end": plain_day(record.planned_end),
        "actual_start": plain_day(record.actual_start),
        "actual_end": plain_day(record.actual_end),
        "budget": plain_money(record.budget),
        "financing": {partner: plain_money(amount) for partner, amount in record.financing.items()},
        "outputs": {
            code: {"target": plain_number(values["target"]), "achieved": plain_number(values["achieved"])}
            for code, values in record.outputs.items()
        },
        "milestones": {
            code: {name: plain_day(dates[name]) for name in ("planned", "forecast", "actual")}
            for code, dates in record.milestones.items()
        },
        "as_of": plain_day(record.as_of),
        "progress": plain_money(record.progress),
        "committed": plain_money(record.committed),
        "paid": plain_money(record.paid),
    }


# Where Decimal formatting turns: exponents either side of the plain notation's limits, both zeros,
# more places than two (rounded half to even), more digits than the context's 28 (quantize refuses).
EDGE_DECIMALS = [
    "0", "-0", "0.00", "-0.00", "0E-7", "-0E-7", "0E+3", "-0E+5", "1E+3", "-1E+3", "1E+30", "1E-6",
    "1E-7", "-1E-7", "1.5E-9", "12.5", "0.005", "0.015", "-0.005", "0.0049999", "2.675", "1200",
    "1200.000", "1.20E+3", "123456789012.99", "999999999999.99", "1234567890123456789012345678",
    "12345678901234567890123456.789", "1" * 40, "0." + "0" * 30 + "1", "23.70000", "-15.93000",
]  # fmt: skip
exponents = st.builds(
    lambda sign, digits, exponent: Decimal((sign, tuple(int(d) for d in str(digits)), exponent)),
    st.integers(0, 1),
    st.integers(0, 10**35),
    st.integers(-40, 40),
)
decimals = (
    st.sampled_from([Decimal(text) for text in EDGE_DECIMALS])
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.decimals(allow_nan=False, allow_infinity=False, places=2)
    | exponents
)
days = st.none() | st.dates() | st.datetimes()
codes = st.text(min_size=1, max_size=12)


@st.composite
def records(draw):
    maybe = st.none() | decimals
    communes = draw(st.dictionaries(codes, maybe, max_size=3))
    return Record(
        operator=draw(codes),
        operator_ref=draw(codes),
        withdrawn=draw(st.booleans()) and draw(st.booleans()),
        reason=draw(st.text(max_size=5)),
        title=draw(st.dictionaries(st.sampled_from(["ar", "fr", "en"]), st.text(max_size=5))),
        description=draw(st.dictionaries(st.sampled_from(["ar", "fr"]), st.text(max_size=5))),
        programme=draw(codes),
        status=draw(codes),
        agreement=draw(st.none() | codes),
        communes=communes,
        primary_commune=draw(st.sampled_from([*communes, ""])),
        location=draw(st.none() | st.tuples(decimals, decimals)),
        area_ha=draw(maybe),
        planned_start=draw(days),
        planned_end=draw(days),
        actual_start=draw(days),
        actual_end=draw(days),
        budget=draw(maybe),
        financing=draw(st.dictionaries(codes, decimals, max_size=3)),
        outputs=draw(
            st.dictionaries(codes, st.fixed_dictionaries({"target": maybe, "achieved": maybe}), max_size=3)
        ),
        milestones=draw(
            st.dictionaries(
                codes, st.fixed_dictionaries({"planned": days, "forecast": days, "actual": days}), max_size=3
            )
        ),
        as_of=draw(days),
        progress=draw(maybe),
        committed=draw(maybe),
        paid=draw(maybe),
    )


def same_result(fast, plain, *args) -> None:
    """The same value, or the same exception."""
    try:
        expected = plain(*args)
    except Exception as error:
        with pytest.raises(type(error)):
            fast(*args)
    else:
        result = fast(*args)
        assert result == expected
        assert repr(result) == repr(expected)  # the same keys in the same order, the same types


@settings(max_examples=2000, deadline=None)
@given(decimals | st.none())
@example(Decimal("NaN"))
@example(Decimal("-NaN12"))
@example(Decimal("sNaN"))
@example(Decimal("Infinity"))
@example(Decimal("-Infinity"))
def test_money_and_number_write_what_the_f_format_writes(value):
    same_result(canonical.money, plain_money, value)
    same_result(canonical.number, plain_number, value)


@settings(max_examples=300, deadline=None)
@given(decimals)
def test_number_leaves_no_exponent_whatever_the_context(value):
    with localcontext() as context:
        context.capitals = 0  # str() would write 1e+3
        same_result(canonical.number, plain_number, value)
    with localcontext() as context:
        context.prec = 6  # normalize and quantize round or refuse: both formulations alike
        same_result(canonical.number, plain_number, value)
        same_result(canonical.money, plain_money, value)


def test_money_and_number_on_the_edges():
    assert [canonical.money(Decimal(t)) for t in ["-0", "0E-7", "1E+3", "0.005", "0.015", "2.675"]] == [
        "-0.00",
        "0.00",
        "1000.00",
        "0.00",
        "0.02",
        "2.68",
    ]
    assert [canonical.number(Decimal(t)) for t in ["-0", "0E-7", "1E+3", "1.20E+3", "1E-7", "23.70000"]] == [
        "0",
        "0",
        "1000",
        "1200",
        "0.0000001",
        "23.7",
    ]


def test_day_writes_a_date_from_its_cache_and_a_datetime_in_full():
    assert canonical.day(date(2024, 1, 1)) == "2024-01-01"
    assert canonical.day(date(2024, 1, 1)) == "2024-01-01"
    assert canonical.day(datetime(2024, 1, 1)) == "2024-01-01T00:00:00"  # noqa: DTZ001 (equal hash, not equal)
    assert canonical.day(datetime(2024, 1, 1, 9, tzinfo=UTC)) == "2024-01-01T09:00:00+00:00"
    assert canonical.day(None) is None


@settings(max_examples=400, deadline=None)
@given(records(), st.text(max_size=8))
def test_record_document_writes_what_the_plain_formulation_writes(record, public_id):
    same_result(canonical.record_document, plain_record_document, record, public_id)


@settings(max_examples=400, deadline=None)
@given(records(), st.text(max_size=8))
def test_document_json_writes_what_canonical_json_writes(record, public_id):
    try:
        document = canonical.record_document(record, public_id)
    except InvalidOperation:  # an amount too large for two places: the rules never let one through
        assume(False)
    assert canonical.document_json(document) == canonical_json(document)


def test_document_json_leaves_what_orjson_refuses_to_canonical_json():
    class Code(str):
        pass

    for document in (
        {"communes": {Code("12.391.01.01"): {"primary": True}}},  # a name of a str subclass
        {"status": Code("ENCO")},
        {"title": {"ar": "\ud800"}},  # a lone surrogate
        {"as_of": date(2026, 1, 1)},  # json refuses it: so must document_json
    ):
        same_result(canonical.document_json, canonical_json, document)


def test_record_document_of_a_parsed_record():
    record = Record(
        operator="MA-ALOMRANE-DOE",
        operator_ref="DOE-PU-001",
        title={"fr": "Pôle urbain de Dakhla", "ar": "القطب الحضري للداخلة"},
        communes={"12.391.01.01": None},
        primary_commune="12.391.01.01",
        location=(Decimal("23.70000"), Decimal("-15.93000")),
        area_ha=Decimal("275"),
        planned_start=date(2024, 1, 1),
        budget=Decimal("1500000000.00"),
        financing={"MA-ALOMRANE-DOE": Decimal("9E+8")},
        outputs={"SUP": {"target": Decimal("2.75E+2"), "achieved": None}},
        milestones={"SIGN_CONV": {"planned": None, "forecast": None, "actual": date(2023, 11, 10)}},
        progress=Decimal("12.50"),
        paid=Decimal("-0"),
    )
    document = canonical.record_document(record, "MRS-1")
    assert canonical_json(document) == (
        '{"actual_end":null,"actual_start":null,"agreement":null,"area_ha":"275","as_of":null,'
        '"budget":"1500000000.00","committed":null,"communes":{"12.391.01.01":{"primary":true,"share":null}},'
        '"description":{"ar":"","fr":""},"financing":{"MA-ALOMRANE-DOE":"900000000.00"},"id":"MRS-1",'
        '"location":{"lat":"23.7","lon":"-15.93"},"milestones":{"SIGN_CONV":{"actual":"2023-11-10",'
        '"forecast":null,"planned":null}},"operator":"MA-ALOMRANE-DOE","operator_ref":"DOE-PU-001",'
        '"outputs":{"SUP":{"achieved":null,"target":"275"}},"paid":"-0.00","planned_end":null,'
        '"planned_start":"2024-01-01","programme":"","progress":"12.50","schema":"marsad.project/1",'
        '"status":"","title":{"ar":"القطب الحضري للداخلة","fr":"Pôle urbain de Dakhla"}}'
    )


# --- diff against a comparison of every leaf, written without the module's helpers ----------------


def naive_leaves(document, prefix=""):
    if isinstance(document, dict) and document:
        leaves = {}
        for key, value in document.items():
            token = str(key).replace("~", "~0").replace("/", "~1")
            leaves.update(naive_leaves(value, f"{prefix}/{token}"))
        return leaves
    return {prefix: document}


def naive_diff(before, after):
    old = naive_leaves(before) if before else {}
    new = naive_leaves(after)
    missing = object()
    changes = []
    for key in sorted(old.keys() | new.keys()):
        a, b = old.get(key, missing), new.get(key, missing)
        if key != "/schema" and (a is missing or b is missing or a != b):
            changes.append(
                {"pointer": key, "before": None if a is missing else a, "after": None if b is missing else b}
            )
    return changes


# Leaves equal across types (1, 1.0 and True; 0 and False), empty maps and lists, and maps that turn
# into leaves or back.
mixed_leaves = leaves | st.sampled_from([0, 1, 1.0, 2, False, True, {}, [], ["a"], "1"])
mixed_keys = st.sampled_from(["schema", "a", "b", "c/d", "e~f", "~1", "MEN_TRT", "01.01.01", "é"])
mixed = st.recursive(
    mixed_leaves, lambda inner: st.dictionaries(mixed_keys, inner, max_size=4), max_leaves=15
)


@settings(max_examples=600, deadline=None)
@given(st.dictionaries(mixed_keys, mixed, max_size=6), st.dictionaries(mixed_keys, mixed, max_size=6))
@example({"a": True, "b": {"x": 1}}, {"a": 1, "b": {"x": True}})
@example({"a": True, "b": {"x": 1, "y": 0}, "c": "1"}, {"a": 1, "b": {"x": True, "y": False}, "c": "2"})
@example({"a": {}, "b": {"x": "1"}}, {"a": {"y": None}, "b": "1"})
@example({}, {"schema": "1", "a": {}})
def test_diff_is_a_naive_leaf_by_leaf_comparison(before, after):
    assert diff(before, after) == naive_diff(before, after)
    assert diff(None, after) == naive_diff(None, after)
    assert diff(after, after) == naive_diff(after, after)  # [] unless both are empty: a first version


def test_diff_of_a_monthly_report():
    before = {
        "schema": "marsad.project/1",
        "progress": "12.50",
        "outputs": {
            "MEN_TRT": {"target": "40", "achieved": "2"},
            "MEN_CIB": {"target": "40", "achieved": None},
        },
        "milestones": {"OS": {"actual": None}},
        "financing": {"a/b": "10.00"},
    }
    after = {
        "schema": "marsad.project/1",
        "progress": "20.00",
        "outputs": {
            "MEN_TRT": {"target": "40", "achieved": "5"},
            "MEN_CIB": {"target": "40", "achieved": None},
        },
        "milestones": {"OS": {"actual": "2026-01-02"}, "RP": {"planned": "2027-01-01"}},
        "financing": {},
    }
    assert diff(before, after) == [
        {"pointer": "/financing", "before": None, "after": {}},
        {"pointer": "/financing/a~1b", "before": "10.00", "after": None},
        {"pointer": "/milestones/OS/actual", "before": None, "after": "2026-01-02"},
        {"pointer": "/milestones/RP/planned", "before": None, "after": "2027-01-01"},
        {"pointer": "/outputs/MEN_TRT/achieved", "before": "2", "after": "5"},
        {"pointer": "/progress", "before": "12.50", "after": "20.00"},
    ]
