"""``parse`` on the inputs that sit at the edges of its normalisation: numbers with commas, blanks or
narrow no-break spaces, exponents, floats, booleans, dates that only look right, unknown fields at every
level and entries of the wrong shape. Each case pins the normalised value (its type and its exact text,
so that ``1E+3`` and ``1000`` differ) or the issues in their order, with their pointers and parameters.

The catalogue is built by hand: these checks need no database."""

from datetime import date
from decimal import Decimal

import pytest

from marsad.registry.rules import Catalogue, CommuneRef, Record, parse

from .records import TODAY, record, with_nested

STATUS = {"completed": False, "cancelled": False, "started": True}
CATALOGUE = Catalogue(
    today=TODAY,
    programmes={"PU", "VSB"},
    statuses={"ENCO": STATUS},
    milestone_types={"SIGN_CONV", "OS", "RP"},
    reported_indicators={"SUP", "MEN_CIB"},
    computed_indicators={"TX_TRT"},
    organisations={"MA-ALOMRANE-DOE": 1, "MA-GIE-DAKHLA-SC": 2, "MA-FSHIU": 3},
    agreements={"CONV-2024-01": 1},
    communes={
        code: CommuneRef(pk, code, f"/12/{code}/", "12", "12.391")
        for pk, code in enumerate(["12.391.01.01", "12.391.09.01"], start=1)
    },
)
WITHDRAWAL = {
    "operator": "MA-ALOMRANE-DOE",
    "operator_ref": "DOE-PU-001",
    "withdrawn": True,
    "reason": "doublon",
}


def problems(raw) -> list[tuple[str, str, dict]]:
    _parsed, found = parse(raw, CATALOGUE)
    return [(i.code, i.pointer, dict(i.params)) for i in found]


def shown(value) -> tuple[str, str]:
    """A value with its type, told apart from equal values of another form (Decimal 1E+3 and 1000)."""
    return type(value).__name__, str(value)


def test_the_base_record_is_normalised_field_by_field():
    parsed, found = parse(record(), CATALOGUE)
    assert found == []
    assert parsed == Record(
        operator="MA-ALOMRANE-DOE",
        operator_ref="DOE-PU-001",
        title={"ar": "القطب الحضري للداخلة", "fr": "Pôle urbain de Dakhla"},
        description={"ar": "", "fr": ""},
        programme="PU",
        status="ENCO",
        agreement=None,
        communes={"12.391.01.01": None},
        primary_commune="12.391.01.01",
        location=(Decimal("23.70000"), Decimal("-15.93000")),
        area_ha=Decimal("275"),
        planned_start=date(2024, 1, 1),
        planned_end=date(2030, 12, 31),
        actual_start=date(2024, 3, 1),
        actual_end=None,
        budget=Decimal("1500000000.00"),
        financing={"MA-ALOMRANE-DOE": Decimal("900000000.00"), "MA-GIE-DAKHLA-SC": Decimal("600000000.00")},
        outputs={"SUP": {"target": Decimal("275"), "achieved": Decimal("40")}},
        milestones={"SIGN_CONV": {"planned": None, "forecast": None, "actual": date(2023, 11, 10)}},
        as_of=date(2026, 9, 30),
        progress=Decimal("12.50"),
        committed=Decimal("300000000.00"),
        paid=Decimal("150000000.00"),
    )
    assert [shown(value) for value in parsed.location] == [("Decimal", "23.70000"), ("Decimal", "-15.93000")]
    assert list(parsed.title) == ["ar", "fr"]
    assert list(parsed.outputs["SUP"]) == ["target", "achieved"]
    assert list(parsed.milestones["SIGN_CONV"]) == ["planned", "forecast", "actual"]


@pytest.mark.parametrize(
    ("raw", "name", "expected"),
    [
        (record(budget="1500000000,00"), "budget", ("Decimal", "1500000000.00")),
        (record(budget="1\u202f500\u202f000\u202f000,00"), "budget", ("Decimal", "1500000000.00")),
        (record(budget=" 1 500 000 000 "), "budget", ("Decimal", "1500000000")),
        (record(budget="1500000000.000"), "budget", ("Decimal", "1500000000.000")),
        (record(budget=1500000000), "budget", ("Decimal", "1500000000")),
        (record(budget=1500000000.0), "budget", ("Decimal", "1500000000.0")),
        (record(area_ha="1e3"), "area_ha", ("Decimal", "1E+3")),
        (record(area_ha="-0"), "area_ha", ("Decimal", "-0")),
        (record(area_ha=12.5), "area_ha", ("Decimal", "12.5")),
        (record(area_ha="٢٧٥"), "area_ha", ("Decimal", "275")),
        (record(area_ha=" 275 "), "area_ha", ("Decimal", "275")),
        (record(area_ha=""), "area_ha", ("NoneType", "None")),
        (record(progress="12,5"), "progress", ("Decimal", "12.50")),
        (record(progress=" 12.5 "), "progress", ("Decimal", "12.50")),
        (record(progress="-0"), "progress", ("Decimal", "-0.00")),
        (record(progress=12), "progress", ("Decimal", "12.00")),
        (
            record(location={"lat": "23,7", "lon": " -15.93"}),
            "location",
            ("tuple", "(Decimal('23.70000'), Decimal('-15.93000'))"),
        ),
        (record(planned_end=" 2030-12-31 "), "planned_end", ("date", "2030-12-31")),
        (record(planned_end=date(2030, 12, 31)), "planned_end", ("date", "2030-12-31")),
        (record(programme=" PU "), "programme", ("str", "PU")),
        (record(title={"fr": "  Pôle  ", "ar": None}), "title", ("dict", "{'ar': '', 'fr': 'Pôle'}")),
        (
            record(
                communes={
                    "12.391.01.01": {"primary": True, "share": "60,5"},
                    "12.391.09.01": {"share": "39.5"},
                }
            ),
            "communes",
            ("dict", "{'12.391.01.01': Decimal('60.50'), '12.391.09.01': Decimal('39.50')}"),
        ),
        (
            record(outputs={" SUP ": {"target": "1\u202f000", "achieved": None}}),
            "outputs",
            ("dict", "{'SUP': {'target': Decimal('1000'), 'achieved': None}}"),
        ),
        (
            record(financing={"MA-FSHIU": "1 500 000 000,00"}),
            "financing",
            ("dict", "{'MA-FSHIU': Decimal('1500000000.00')}"),
        ),
        (
            with_nested(
                ["milestones", "SIGN_CONV"], {"planned": " 2023-10-01", "forecast": "", "actual": None}
            ),
            "milestones",
            (
                "dict",
                "{'SIGN_CONV': {'planned': datetime.date(2023, 10, 1), 'forecast': None, 'actual': None}}",
            ),
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_accepted_values_are_normalised(raw, name, expected):
    parsed, found = parse(raw, CATALOGUE)
    assert found == []
    value = getattr(parsed, name)
    assert (
        type(value).__name__,
        str(value) if not isinstance(value, tuple | dict) else repr(value),
    ) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (record(budget="12.345"), [("malformed_amount", "/budget", {"value": "12.345"})]),
        (record(budget=True), [("malformed_amount", "/budget", {"value": "True"})]),
        (record(area_ha=0.1 + 0.2), [("malformed_number", "/area_ha", {"value": "0.30000000000000004"})]),
        (record(area_ha="NaN"), [("malformed_number", "/area_ha", {"value": "NaN"})]),
        (record(area_ha="-1"), [("malformed_number", "/area_ha", {"value": "-1"})]),
        (record(area_ha=[1]), [("malformed_number", "/area_ha", {"value": "[1]"})]),
        (record(area_ha="\t"), [("malformed_number", "/area_ha", {"value": "\t"})]),
        (record(progress="1\u202f2"), [("malformed_number", "/progress", {"value": "1\u202f2"})]),
        (record(progress=False), [("malformed_number", "/progress", {"value": "False"})]),
        (record(planned_end="2026-02-30"), [("malformed_date", "/planned_end", {"value": "2026-02-30"})]),
        (record(planned_end="٢٠٢٦-١٠-٣١"), [("malformed_date", "/planned_end", {"value": "٢٠٢٦-١٠-٣١"})]),
        (record(planned_end="20261031"), [("malformed_date", "/planned_end", {"value": "20261031"})]),
        (record(planned_end=20261031), [("malformed_date", "/planned_end", {"value": "20261031"})]),
        (
            with_nested(["milestones", "SIGN_CONV", "actual"], "2023-13-10"),
            [("malformed_date", "/milestones/SIGN_CONV/actual", {"value": "2023-13-10"})],
        ),
        (
            record(zeta=1, alpha=2),
            [("unknown_field", "/alpha", {"field": "alpha"}), ("unknown_field", "/zeta", {"field": "zeta"})],
        ),
        (record(title={"fr": "x", "en": "y"}), [("unknown_field", "/title/en", {"field": "title/en"})]),
        (
            record(description={"fr": "", "es": "z"}),
            [("unknown_field", "/description/es", {"field": "description/es"})],
        ),
        (
            record(location={"lat": "23.7", "lon": "-15.93", "alt": "3"}),
            [("unknown_field", "/location/alt", {"field": "location/alt"})],
        ),
        (
            with_nested(["communes", "12.391.01.01", "weight"], "1"),
            [("unknown_field", "/communes/12.391.01.01/weight", {"field": "weight"})],
        ),
        (
            with_nested(["outputs", "SUP", "unit"], "ha"),
            [("unknown_field", "/outputs/SUP/unit", {"field": "unit"})],
        ),
        (
            with_nested(["milestones", "SIGN_CONV", "late"], True),
            [("unknown_field", "/milestones/SIGN_CONV/late", {"field": "late"})],
        ),
        ({**WITHDRAWAL, "budget": "1"}, [("unknown_field", "/budget", {"field": "budget"})]),
        (record(title="Pôle"), [("malformed_record", "/title", {})]),
        (record(financing=["MA-FSHIU"]), [("malformed_record", "/financing", {})]),
        (record(communes={"12.391.01.01": [True]}), [("malformed_record", "/communes/12.391.01.01", {})]),
        (record(outputs={"SUP": "275"}), [("malformed_record", "/outputs/SUP", {})]),
        (record(milestones={"SIGN_CONV": 3}), [("malformed_record", "/milestones/SIGN_CONV", {})]),
        (
            record(financing={"MA-ALOMRANE-DOE": "", "MA-NOPE": "1.00"}),
            [
                ("required", "/financing/MA-ALOMRANE-DOE", {"field": "financing/MA-ALOMRANE-DOE"}),
                ("unknown_code", "/financing/MA-NOPE", {"value": "MA-NOPE"}),
            ],
        ),
    ],
    ids=lambda value: "" if isinstance(value, list) else None,
)
def test_rejected_values_name_their_place(raw, expected):
    parsed, _found = parse(raw, CATALOGUE)
    assert parsed is None
    assert problems(raw) == expected


def test_many_problems_come_in_the_order_of_the_record():
    raw = record(
        zeta=1,
        title={"fr": "", "ar": "", "en": 1},
        programme="pu",
        status=" FINI ",
        location={"lat": "23.7"},
        planned_start="2024-1-1",
        budget="1\u202f000,001",
        financing={"MA-FSHIU": "10", 7: "1"},
        communes={"12.391.01.01": {"primary": "yes", "share": "100"}, "bad": {}},
        outputs={"TX_TRT": {"target": "1"}, "men": {"target": "x", "extra": 1}},
        milestones={"OS": {"planned": "2024-02-30", "actual": 20240101}, "RP": None},
    )
    assert problems(raw) == [
        ("unknown_field", "/zeta", {"field": "zeta"}),
        ("unknown_field", "/title/en", {"field": "title/en"}),
        ("required", "/title", {"field": "title"}),
        ("malformed_code", "/programme", {"value": "pu"}),
        ("unknown_code", "/status", {"value": "FINI"}),
        ("malformed_record", "/communes/12.391.01.01/primary", {}),
        ("malformed_code", "/communes/bad", {"value": "bad"}),
        ("required", "/location", {"field": "location/lat, location/lon"}),
        ("malformed_date", "/planned_start", {"value": "2024-1-1"}),
        ("malformed_amount", "/budget", {"value": "1\u202f000,001"}),
        ("malformed_code", "/financing/7", {"value": "7"}),
        ("indicator_not_reported", "/outputs/TX_TRT", {"value": "TX_TRT"}),
        ("malformed_code", "/outputs/men", {"value": "men"}),
        # an unreadable code leaves an empty token in the pointers below it
        ("unknown_field", "/outputs//extra", {"field": "extra"}),
        ("malformed_number", "/outputs//target", {"value": "x"}),
        ("malformed_date", "/milestones/OS/planned", {"value": "2024-02-30"}),
        ("malformed_date", "/milestones/OS/actual", {"value": "20240101"}),
    ]


def test_a_withdrawal_keeps_its_reason():
    parsed, found = parse({**WITHDRAWAL, "reason": "  doublon  "}, CATALOGUE)
    assert found == []
    assert (parsed.key, parsed.withdrawn, parsed.reason) == (
        ("MA-ALOMRANE-DOE", "DOE-PU-001"),
        True,
        "doublon",
    )


def test_a_date_seen_before_is_read_the_same_and_a_bad_one_stays_bad():
    """Dates are read once per distinct text: a text read twice gives the same answer both times."""
    for _ in range(2):
        parsed, found = parse(record(as_of="2026-09-30", planned_end=" 2030-12-31"), CATALOGUE)
        assert found == []
        assert (parsed.as_of, parsed.planned_end) == (date(2026, 9, 30), date(2030, 12, 31))
        assert problems(record(as_of="2026-09-31")) == [("malformed_date", "/as_of", {"value": "2026-09-31"})]
