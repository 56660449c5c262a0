import copy
from datetime import date

import pytest
from marsad_connect.validate import Known, validate

RECORD = {
    "operator": "MA-ALOMRANE-DOE",
    "operator_ref": "DOE-PU-001",
    "title": {"fr": "Pôle urbain de Dakhla", "ar": "القطب الحضري للداخلة"},
    "description": {"fr": "", "ar": ""},
    "programme": "PU",
    "status": "ENCO",
    "agreement": None,
    "communes": {"12.391.01.01": {"primary": True, "share": None}},
    "location": {"lat": "23.70000", "lon": "-15.93000"},
    "area_ha": "275",
    "planned_start": "2024-01-01",
    "planned_end": "2030-12-31",
    "actual_start": "2024-03-01",
    "actual_end": None,
    "budget": "1500000000.00",
    "financing": {"MA-ALOMRANE-DOE": "900000000.00", "MA-GIE-DAKHLA-SC": "600000000.00"},
    "outputs": {"SUP": {"target": "275", "achieved": "40"}},
    "milestones": {"SIGN_CONV": {"planned": None, "forecast": None, "actual": "2023-11-10"}},
    "as_of": "2026-09-30",
    "progress": "12.50",
    "committed": "300000000.00",
    "paid": "150000000.00",
}
TODAY = date(2026, 10, 31)


def record(**changes):
    result = copy.deepcopy(RECORD)
    result.update(changes)
    return result


def found(problems):
    return [(problem.code, problem.pointer) for problem in problems]


def test_a_valid_record_has_no_problem():
    assert validate(RECORD, Known(statuses={"ENCO"}, communes={"12.391.01.01"}), TODAY) == []


def test_required_fields():
    problems = validate(
        record(
            operator=None, operator_ref="", title={"fr": "", "ar": ""}, status=None, communes={}, budget=None
        )
    )

    assert found(problems) == [
        ("required", "/operator"),
        ("required", "/operator_ref"),
        ("required", "/status"),
        ("required", "/communes"),
        ("required", "/budget"),
        ("required", "/title"),
    ]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"budget": "1500000000.005"}, [("malformed_amount", "/budget")]),
        ({"paid": 150000000}, [("malformed_amount", "/paid")]),
        ({"committed": "-1.00"}, [("malformed_amount", "/committed")]),
        ({"area_ha": "2,5"}, [("malformed_number", "/area_ha")]),
        ({"planned_end": "31/12/2030"}, [("malformed_date", "/planned_end")]),
        ({"as_of": "2026-02-30"}, [("malformed_date", "/as_of")]),
        ({"progress": "100.01"}, [("progress_out_of_range", "/progress")]),
        ({"progress": "-1"}, [("progress_out_of_range", "/progress")]),
        ({"programme": "pu"}, [("malformed_code", "/programme")]),
        ({"operator": "ALOMRANE"}, [("malformed_code", "/operator")]),
        ({"operator_ref": "DOE/PU/001"}, [("malformed_code", "/operator_ref")]),
        ({"communes": {"12.391.1": {"primary": True}}}, [("malformed_code", "/communes/12.391.1")]),
        (
            {"communes": {"12.391.01.01": {"primary": True}, "06.141.01.53": {"primary": True}}},
            [("communes_primary", "/communes")],
        ),
        (
            {"communes": {"12.391.01.01": {"primary": "oui"}}},
            [("malformed_record", "/communes/12.391.01.01/primary"), ("communes_primary", "/communes")],
        ),
        ({"location": {"lat": "48.85", "lon": "2.35"}}, [("location_outside_morocco", "/location")]),
        ({"location": {"lat": "23.7"}}, [("required", "/location")]),
        ({"planned_end": "2023-12-31"}, [("end_before_start", "/planned_end")]),
        ({"financing": {"MA-GIE-DAKHLA-SC": None}}, [("required", "/financing/MA-GIE-DAKHLA-SC")]),
        ({"outputs": {"SUP": {"target": "275", "done": "1"}}}, [("unknown_field", "/outputs/SUP/done")]),
        ({"milestones": {"OS": {"actual": "2024-3-1"}}}, [("malformed_date", "/milestones/OS/actual")]),
        ({"title": {"fr": "x" * 301, "ar": ""}}, [("malformed_text", "/title/fr"), ("required", "/title")]),
        ({"colour": "blue"}, [("unknown_field", "/colour")]),
    ],
)
def test_format_problems(changes, expected):
    assert found(validate(record(**changes), today=TODAY)) == expected


def test_facts_dated_in_the_future():
    problems = validate(record(as_of="2026-11-01", milestones={"OS": {"actual": "2027-01-01"}}), today=TODAY)

    assert found(problems) == [("as_of_in_future", "/as_of"), ("as_of_in_future", "/milestones/OS/actual")]
    assert validate(record(as_of="2026-11-01")) == []  # without a date of reference the rule is off


def test_codes_unknown_to_the_mapping():
    known = Known(
        operators={"MA-ALOMRANE-CS"}, statuses={"ACHV"}, communes={"06.141.01.53"}, programmes={"VSB"}
    )

    assert found(validate(RECORD, known)) == [
        ("unknown_code", "/operator"),
        ("unknown_code", "/programme"),
        ("unknown_code", "/status"),
        ("unknown_commune", "/communes/12.391.01.01"),
    ]


def test_withdrawals():
    assert (
        validate(
            {"operator": "MA-ALOMRANE-DOE", "operator_ref": "DOE-PU-001", "withdrawn": True, "reason": ""}
        )
        == []
    )
    problems = validate(
        {"operator": "MA-ALOMRANE-DOE", "withdrawn": True, "reason": "x" * 301, "status": "ANNU"}
    )
    assert found(problems) == [
        ("unknown_field", "/status"),
        ("required", "/operator_ref"),
        ("malformed_text", "/reason"),
    ]


def test_not_an_object():
    assert found(validate(["MA-ALOMRANE-DOE"])) == [("malformed_record", "")]
