from datetime import date, datetime
from decimal import Decimal

import pytest
from marsad_connect.mapping import Mapping, MappingError, normalize_key, parse_decimal

# The field order of the platform's record (BASE_RECORD in the platform's tests).
RECORD_KEYS = [
    "operator",
    "operator_ref",
    "title",
    "description",
    "programme",
    "status",
    "agreement",
    "communes",
    "location",
    "area_ha",
    "planned_start",
    "planned_end",
    "actual_start",
    "actual_end",
    "budget",
    "financing",
    "outputs",
    "milestones",
    "as_of",
    "progress",
    "committed",
    "paid",
]

MAPPING = {
    "operator": {"column": "filiale", "codes": {"DAKHLA": "MA-ALOMRANE-DOE", "CASA": "MA-ALOMRANE-CS"}},
    "status": {"column": "etat", "codes": {"EC": "ENCO", "AC": "ACHV", "AN": "ANNU"}},
    "communes": {
        "column": "commune",
        "codes": {"Dakhla": "12.391.01.01", "Casablanca - Sidi Moumen": "06.141.01.53"},
        "separator": ";",
    },
    "watermark": "date_maj",
    "withdrawal": {"when": {"column": "supprime", "values": [1, "oui"]}, "reason": "Supprimé ({ref})"},
    "fields": {
        "operator_ref": "ref",
        "title.fr": "intitule",
        "title.ar": "intitule_ar",
        "description.fr": {"template": "Opération {ref} ({programme})"},
        "programme": {"column": "programme", "lookup": {"pole urbain": "PU", "bidonville": "VSB"}},
        "location.lat": "lat",
        "location.lon": "lon",
        "area_ha": "surface",
        "planned_start": {"column": "debut", "format": "%d/%m/%Y"},
        "planned_end": {"column": "fin", "format": ["%d/%m/%Y", "%Y-%m-%d"]},
        "budget": "cout",
        "financing.{operator}": "part_operateur",
        "financing.MA-GIE-DAKHLA-SC": "part_gie",
        "outputs.SUP.target": "surface",
        "outputs.SUP.achieved": "surface_faite",
        "milestones.SIGN_CONV.actual": {"column": "convention", "format": "%d/%m/%Y"},
        "as_of": {"column": "situation", "format": "%d/%m/%Y"},
        "progress": "avancement",
        "committed": "engage",
        "paid": {"column": "paye", "default": "0"},
    },
}

ROW = {
    "ref": "DOE-PU-001",
    "filiale": "DAKHLA",
    "etat": "EC",
    "commune": "Dakhla",
    "intitule": "Pôle urbain de Dakhla",
    "intitule_ar": "القطب الحضري للداخلة",
    "programme": "Pôle urbain",
    "lat": 23.7,
    "lon": "-15,93",
    "surface": 275.0,
    "surface_faite": "40",
    "debut": "01/01/2024",
    "fin": "2030-12-31",
    "cout": "1 500 000 000,00",
    "part_operateur": 900000000,
    "part_gie": Decimal("600000000"),
    "convention": "10/11/2023",
    "situation": "30/09/2026",
    "avancement": 12.5,
    "engage": "300000000",
    "paye": None,
    "supprime": 0,
    "date_maj": "2026-10-01 08:00:00",
}


@pytest.fixture
def mapping() -> Mapping:
    return Mapping.from_dict(MAPPING)


def test_a_row_becomes_a_record_of_the_platform_shape(mapping):
    mapped = mapping.map_row(ROW, "ligne 1")

    assert mapped.problems == []
    assert list(mapped.record) == RECORD_KEYS
    assert mapped.record == {
        "operator": "MA-ALOMRANE-DOE",
        "operator_ref": "DOE-PU-001",
        "title": {"fr": "Pôle urbain de Dakhla", "ar": "القطب الحضري للداخلة"},
        "description": {"fr": "Opération DOE-PU-001 (Pôle urbain)", "ar": ""},
        "programme": "PU",
        "status": "ENCO",
        "agreement": None,
        "communes": {"12.391.01.01": {"primary": True, "share": None}},
        "location": {"lat": "23.70000", "lon": "-15.93000"},
        "area_ha": "275",
        "planned_start": "2024-01-01",
        "planned_end": "2030-12-31",
        "actual_start": None,
        "actual_end": None,
        "budget": "1500000000.00",
        "financing": {"MA-ALOMRANE-DOE": "900000000.00", "MA-GIE-DAKHLA-SC": "600000000.00"},
        "outputs": {"SUP": {"target": "275", "achieved": "40"}},
        "milestones": {"SIGN_CONV": {"planned": None, "forecast": None, "actual": "2023-11-10"}},
        "as_of": "2026-09-30",
        "progress": "12.50",
        "committed": "300000000.00",
        "paid": "0.00",
    }
    assert mapped.key == ("MA-ALOMRANE-DOE", "DOE-PU-001")
    assert mapped.watermark == "2026-10-01 08:00:00"
    assert mapped.origin == "ligne 1"


def test_status_and_operator_tables(mapping):
    record = mapping.map_row({**ROW, "etat": "AC", "filiale": "casa"}).record

    assert record["status"] == "ACHV"
    assert record["operator"] == "MA-ALOMRANE-CS"
    assert record["financing"]["MA-ALOMRANE-CS"] == "900000000.00"


def test_an_unknown_status_is_a_problem_of_the_record_not_a_crash(mapping):
    mapped = mapping.map_row({**ROW, "etat": "XX"})

    assert mapped.record["status"] is None
    assert [(p.code, p.pointer) for p in mapped.problems] == [("unmapped_status", "/status")]
    assert "« XX »" in mapped.problems[0].message


def test_an_unknown_operator_is_a_problem(mapping):
    mapped = mapping.map_row({**ROW, "filiale": "TANGER"})

    assert mapped.record["operator"] is None
    assert [(p.code, p.pointer) for p in mapped.problems] == [("unmapped_operator", "/operator")]
    assert mapped.key is None
    assert mapped.record["financing"] == {"MA-GIE-DAKHLA-SC": "600000000.00"}


def test_commune_labels_match_without_case_accents_or_spacing(mapping):
    record = mapping.map_row({**ROW, "commune": "  CASABLANCA-sidi   moumen "}).record

    assert record["communes"] == {"06.141.01.53": {"primary": True, "share": None}}


def test_several_communes_in_one_cell_the_first_is_primary(mapping):
    record = mapping.map_row({**ROW, "commune": "Casablanca - Sidi Moumen; Dakhla"}).record

    assert record["communes"] == {
        "06.141.01.53": {"primary": True, "share": None},
        "12.391.01.01": {"primary": False, "share": None},
    }


def test_an_unknown_commune_is_a_problem(mapping):
    mapped = mapping.map_row({**ROW, "commune": "Dakhla Ouest"})

    assert mapped.record["communes"] == {}
    assert [(p.code, p.pointer) for p in mapped.problems] == [("unmapped_commune", "/communes")]
    assert "Dakhla Ouest" in mapped.problems[0].message


def test_hcp_codes_pass_through_only_when_allowed():
    allowed = Mapping.from_dict({**MAPPING, "communes": {"column": "commune", "accept_codes": True}})
    strict = Mapping.from_dict(MAPPING)

    assert allowed.map_row({**ROW, "commune": "06.141.01.53"}).record["communes"] == {
        "06.141.01.53": {"primary": True, "share": None}
    }
    assert [p.code for p in strict.map_row({**ROW, "commune": "06.141.01.53"}).problems] == [
        "unmapped_commune"
    ]
    assert allowed.known().communes == set()
    assert strict.known().communes == {"12.391.01.01", "06.141.01.53"}


def test_a_lookup_miss_is_a_problem(mapping):
    mapped = mapping.map_row({**ROW, "programme": "zone industrielle"})

    assert mapped.record["programme"] is None
    assert [(p.code, p.pointer) for p in mapped.problems] == [("unmapped_value", "/programme")]


def test_bad_numbers_and_dates_are_problems_at_their_pointer(mapping):
    mapped = mapping.map_row({**ROW, "cout": "1,5 million", "debut": "2024-13-01", "lat": "nord"})

    assert [(p.code, p.pointer) for p in mapped.problems] == [
        ("malformed_number", "/location/lat"),
        ("malformed_date", "/planned_start"),
        ("malformed_amount", "/budget"),
        ("required", "/location"),
    ]
    assert mapped.record["budget"] is None
    assert mapped.record["location"] == {"lat": None, "lon": "-15.93000"}


def test_dates_from_objects_and_iso_text(mapping):
    started = datetime(2024, 1, 1, 9, 30)  # noqa: DTZ001 - naive, as a database driver returns it
    record = mapping.map_row({**ROW, "debut": started, "fin": date(2031, 6, 30)}).record

    assert (record["planned_start"], record["planned_end"]) == ("2024-01-01", "2031-06-30")


def test_a_template_naming_a_missing_column_is_a_problem():
    mapping = Mapping.from_dict(
        {**MAPPING, "fields": {**MAPPING["fields"], "description.fr": {"template": "Projet {reference}"}}}
    )

    mapped = mapping.map_row(ROW)

    assert [(p.code, p.pointer) for p in mapped.problems] == [("missing_column", "/description/fr")]


def test_a_missing_source_column_is_a_problem(mapping):
    row = {name: value for name, value in ROW.items() if name != "etat"}

    mapped = mapping.map_row(row)

    assert [(p.code, p.pointer) for p in mapped.problems] == [("missing_column", "/status")]


def test_constants_and_defaults():
    mapping = Mapping.from_dict(
        {
            **MAPPING,
            "operator": "MA-ALOMRANE-DOE",
            "fields": {
                **MAPPING["fields"],
                "agreement": {"constant": "CONV-2023-12"},
                "area_ha": {"column": "x", "default": "3,5"},
            },
        }
    )

    record = mapping.map_row({**ROW, "x": "  "}).record

    assert record["operator"] == "MA-ALOMRANE-DOE"
    assert record["agreement"] == "CONV-2023-12"
    assert record["area_ha"] == "3.5"


def test_spreadsheet_whole_numbers_lose_their_decimal_point_in_text_fields(mapping):
    assert mapping.map_row({**ROW, "ref": 1042.0}).record["operator_ref"] == "1042"


def test_a_deleted_row_becomes_a_withdrawal(mapping):
    mapped = mapping.map_row({**ROW, "supprime": "OUI", "etat": "inconnu"})

    assert mapped.withdrawal
    assert mapped.problems == []
    assert mapped.record == {
        "operator": "MA-ALOMRANE-DOE",
        "operator_ref": "DOE-PU-001",
        "withdrawn": True,
        "reason": "Supprimé (DOE-PU-001)",
    }


def test_empty_outputs_milestones_and_location_are_left_out(mapping):
    record = mapping.map_row(
        {**ROW, "surface": None, "surface_faite": "", "convention": None, "lat": None, "lon": ""}
    ).record

    assert (record["outputs"], record["milestones"], record["location"], record["area_ha"]) == (
        {},
        {},
        None,
        None,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 500 000,50", "1500000.50"),
        ("1.500.000,50", "1500000.50"),
        ("1,500,000.50", "1500000.50"),
        ("12,5 %", "12.5"),
        ("\u202f300\u00a0000", "300000"),
        ("-15.93", "-15.93"),
    ],
)
def test_french_and_english_number_formats(text, expected):
    assert str(parse_decimal(text)) == expected


@pytest.mark.parametrize("text", ["", "abc", "1.2.3,4,5", "NaN", "Infinity"])
def test_unreadable_numbers(text):
    with pytest.raises(ArithmeticError):
        parse_decimal(text)


def test_parse_decimal_refuses_booleans_and_floats_keep_their_shortest_form():
    with pytest.raises(ArithmeticError):
        parse_decimal(True)
    assert str(parse_decimal(0.1)) == "0.1"


def test_key_normalisation():
    assert normalize_key(" Laâyoune ") == "laayoune"
    assert normalize_key("Fès – Saiss") == normalize_key("fes-saiss") == "fes-saiss"
    assert normalize_key(1.0) == normalize_key(1) == normalize_key(True) == "1"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "blue"}, "clé(s) inconnue(s) colour"),
        ({"fields": {"title.fr": "x"}}, "operator_ref"),
        ({"fields": {"operator_ref": "ref", "status": "etat"}}, "section « status »"),
        ({"fields": {"operator_ref": "ref", "budjet": "cout"}}, "champ d'enregistrement inconnu"),
        ({"fields": {"operator_ref": {"column": "ref", "constant": "x"}}}, "une seule source"),
        ({"fields": {"operator_ref": "ref", "budget": {"column": "c", "type": "money"}}}, "type « money »"),
        ({"fields": {"operator_ref": "ref", "outputs.sup.target": "s"}}, "champ d'enregistrement inconnu"),
        ({"status": {"column": "etat", "codes": {"EC": "en cours"}}}, "code mal formé"),
        ({"communes": {"column": "commune", "codes": {"Dakhla": "12.391"}}}, "code mal formé"),
        ({"status": {"column": "etat", "codes": {"EC": "ENCO", "ec": "ACHV"}}}, "se confondent"),
        ({"operator": "Al Omrane"}, "code d'organisation mal formé"),
        ({"withdrawal": {"when": []}}, "withdrawal.when"),
        ({"fields": {"operator_ref": {"template": "{ref"}}}, "Modèle invalide"),
    ],
)
def test_mapping_errors_are_reported_when_loading(change, message):
    with pytest.raises(MappingError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Mapping.from_dict({**MAPPING, **change})


def test_known_codes_come_from_the_tables(mapping):
    known = mapping.known()

    assert known.operators == {"MA-ALOMRANE-DOE", "MA-ALOMRANE-CS"}
    assert known.statuses == {"ENCO", "ACHV", "ANNU"}
    assert known.programmes == {"PU", "VSB"}
