"""Uploads: the template (CSV and XLSX), reading filled files back into records, and problems located
to the row and the column a person sees in their spreadsheet."""

import codecs
import csv
import io
import re
import zipfile
from datetime import date, datetime

import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from python_calamine import CalamineWorkbook

from marsad.audit.services import SystemActor
from marsad.exchange import uploads
from marsad.exchange.uploads import (
    COLUMNS,
    MAX_ROWS,
    read_upload,
    record_cells,
    template_csv,
    template_xlsx,
)
from marsad.registry.services import records_apply
from marsad.registry.tests.records import ADMIN_SCOPE, TODAY, record

ACTOR = SystemActor("test")
FRENCH = [column.fr for column in COLUMNS]
ARABIC = [column.ar for column in COLUMNS]
CODES = [column.code for column in COLUMNS]


def apply(parse, *, dry_run=True):
    return records_apply(
        actor=ACTOR,
        records=parse.records,
        base_versions=parse.base_versions,
        source_kind="upload",
        source_id="UPL-test",
        scope=ADMIN_SCOPE,
        today=TODAY,
        dry_run=dry_run,
    )


def cells(base=None, **overrides) -> dict:
    """The base record's cells (field code → text), with some replaced."""
    values = record_cells(base or record())
    values.update(overrides)
    return values


def csv_bytes(rows, *, delimiter=";", encoding="utf-8-sig") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def table(headers, *records: dict, order=CODES) -> list[list[str]]:
    """A header row then one row per record's cells, columns in ``order``."""
    return [list(headers), *([values[code] for code in order] for values in records)]


def xlsx_bytes(rows, *, first_row=0, first_column=0) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    day = workbook.add_format({"num_format": "dd/mm/yyyy"})
    sheet = workbook.add_worksheet("Feuille")
    for r, values in enumerate(rows, start=first_row):
        for c, value in enumerate(values, start=first_column):
            if value is None or value == "":
                continue
            if isinstance(value, bool):
                sheet.write_boolean(r, c, value)
            elif isinstance(value, int | float):
                sheet.write_number(r, c, value)
            elif isinstance(value, date):
                sheet.write_datetime(r, c, value, day)
            else:
                sheet.write_string(r, c, value)
    workbook.close()
    return buffer.getvalue()


def problem(code, row, column, cell, message_fr):
    return {"code": code, "row": row, "column": column, "cell": cell, "message_fr": message_fr}


def short(problems) -> list[dict]:
    """Problems without their Arabic message (the catalogue translates the French source)."""
    assert all(p["message_ar"] for p in problems)
    return [{key: p[key] for key in ("code", "row", "column", "cell", "message_fr")} for p in problems]


# --- The template ---------------------------------------------------------------------------------------


def test_every_column_has_distinct_headers_and_is_documented():
    keys = [{uploads._label_key(label) for label in (c.code, c.fr, c.ar)} for c in COLUMNS]
    assert sum(len(k) for k in keys) == len(set().union(*keys)) == 89  # "programme" is code and header
    assert len(COLUMNS) == 30
    for column in COLUMNS:
        assert re.search(rf"\b{column.code}\b", uploads.__doc__), column.code


def test_template_csv_is_utf8_with_bom_semicolons_and_two_header_rows():
    data = template_csv()
    assert data.startswith(codecs.BOM_UTF8)
    lines = data[3:].decode("utf-8").split("\r\n")
    assert lines == [";".join(FRENCH), ";".join(ARABIC), ""]
    assert lines[0].startswith("Opérateur;Référence de l'opérateur;Intitulé (français);Intitulé (arabe);")
    assert lines[1].startswith("الفاعل;مرجع الفاعل;التسمية (بالفرنسية);")


@pytest.mark.django_db
def test_template_xlsx_sheets_headers_and_reference_codes():
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(template_xlsx()))
    assert workbook.sheet_names == [
        "Projets - المشاريع",
        "Colonnes - الأعمدة",
        "Codes - الرموز",
        "Organisations - الهيئات",
        "Communes - الجماعات",
    ]
    projects = workbook.get_sheet_by_name("Projets - المشاريع").to_python()
    assert projects == [FRENCH, ARABIC]
    explained = workbook.get_sheet_by_name("Colonnes - الأعمدة").to_python()
    assert len(explained) == 1 + len(COLUMNS)
    assert explained[10][:3] == [
        "commune",
        "Commune principale (code HCP)",
        "الجماعة الرئيسية (رمز المندوبية السامية للتخطيط)",
    ]
    codes = workbook.get_sheet_by_name("Codes - الرموز").to_python()
    assert codes[0][0] == "Programmes - البرامج"
    assert codes[1][:3] == ["Code", "Nom (français)", "الاسم (بالعربية)"]
    assert codes[2][:3] == ["VSB", "Villes sans bidonvilles", "مدن بدون صفيح"]
    rows = {row[0]: row for row in codes}
    assert rows["ENCO"][:2] == ["ENCO", "En cours de réalisation"]
    assert rows["SIGN_CONV"][:3] == ["SIGN_CONV", "Signature convention", "توقيع الاتفاقية"]
    assert rows["MEN_CIB"][:4] == ["MEN_CIB", "Ménages concernés", "الأسر المعنية", "ménages"]
    assert "TX_TRT" not in rows  # computed by the platform, never declared
    organisations = {row[0] for row in workbook.get_sheet_by_name("Organisations - الهيئات").to_python()}
    assert {"MA-ALOMRANE-DOE", "MA-CR-06"} <= organisations
    communes = {row[0]: row for row in workbook.get_sheet_by_name("Communes - الجماعات").to_python()}
    assert communes["12.391.01.01"][0] == "12.391.01.01"
    assert communes["01.511.01.01"][1] == "Assilah"


@pytest.mark.django_db
def test_template_xlsx_formats_code_columns_as_text_and_date_columns_as_dates():
    with zipfile.ZipFile(io.BytesIO(template_xlsx())) as archive:
        sheet = etree.fromstring(archive.read("xl/worksheets/sheet1.xml"))
        styles = etree.fromstring(archive.read("xl/styles.xml"))
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    formats = {int(f.get("numFmtId")): f.get("formatCode") for f in styles.findall(".//m:numFmt", ns)}
    formats[49] = "@"  # built in
    xfs = styles.findall("m:cellXfs/m:xf", ns)
    by_column = {}
    for col in sheet.findall(".//m:cols/m:col", ns):
        xf = xfs[int(col.get("style", "0"))]
        for position in range(int(col.get("min")), int(col.get("max")) + 1):
            by_column[CODES[position - 1]] = formats.get(int(xf.get("numFmtId", "0")))
    assert {code for code, fmt in by_column.items() if fmt == "@"} == {
        "operator", "operator_ref", "title_fr", "title_ar", "description_fr", "description_ar", "programme",
        "status", "agreement", "commune", "other_communes", "financing", "outputs", "milestones", "withdrawn",
        "reason",
    }  # fmt: skip
    assert {code for code, fmt in by_column.items() if fmt == "yyyy-mm-dd"} == {
        "planned_start", "planned_end", "actual_start", "actual_end", "as_of",
    }  # fmt: skip


@pytest.mark.django_db
def test_template_xlsx_filled_with_the_base_record_reads_back_exactly_and_is_accepted():
    parse = read_upload("projets.xlsx", template_xlsx([record()]))
    assert parse.problems == []
    assert (parse.format, parse.rows, parse.base_versions) == ("xlsx", [3], [None])
    assert parse.records == [record()]
    result = apply(parse).results[0]
    assert (result.outcome, result.issues) == ("created", [])


@pytest.mark.django_db
def test_template_csv_filled_with_the_base_record_reads_back_exactly_and_is_accepted():
    parse = read_upload("projets.csv", template_csv([record()], base_versions=[0]))
    assert parse.problems == []
    assert (parse.format, parse.encoding, parse.delimiter) == ("csv", "utf-8-sig", ";")
    assert (parse.rows, parse.base_versions, parse.records) == ([3], [0], [record()])
    result = apply(parse).results[0]
    assert (result.outcome, result.issues) == ("created", [])


@pytest.mark.django_db
def test_a_full_record_with_shares_and_several_lists_round_trips_through_both_templates():
    full = record(
        communes={
            "12.391.01.01": {"primary": True, "share": "60"},
            "12.391.01.05": {"primary": False, "share": "40"},
        },
        description={"fr": "Deux lignes\nde description", "ar": "وصف"},
        outputs={"SUP": {"target": "275", "achieved": None}, "LOTS": {"target": None, "achieved": "12"}},
        milestones={
            "SIGN_CONV": {"planned": "2023-10-01", "forecast": None, "actual": "2023-11-10"},
            "OS": {"planned": None, "forecast": "2027-01-15", "actual": None},
        },
        agreement="CONV-2023-17",
    )
    withdrawal = {
        "operator": "MA-ALOMRANE-DOE",
        "operator_ref": "DOE-PU-009",
        "withdrawn": True,
        "reason": "Doublon",
    }
    for data in (
        template_csv([full, withdrawal], base_versions=[2, None]),
        template_xlsx([full, withdrawal]),
    ):
        parse = read_upload("projets", data)
        assert parse.problems == []
        assert parse.records == [full, withdrawal]
        assert parse.rows == [3, 4]


# --- Encodings, delimiters, numbers ---------------------------------------------------------------------


def test_csv_in_utf8_utf8_with_bom_and_windows_1256_reads_identically():
    text = template_csv([record()]).decode("utf-8-sig")
    found = {}
    for encoding in ("utf-8", "utf-8-sig", "cp1256"):
        parse = read_upload("projets.csv", text.encode(encoding))
        found[encoding] = (parse.encoding, parse.problems, parse.records)
    assert found == {
        "utf-8": ("utf-8", [], [record()]),
        "utf-8-sig": ("utf-8-sig", [], [record()]),
        "cp1256": ("windows-1256", [], [record()]),
    }
    assert found["cp1256"][2][0]["title"] == {"fr": "Pôle urbain de Dakhla", "ar": "القطب الحضري للداخلة"}


def test_utf16_tab_separated_text_from_excel_reads_identically():
    rows = table(FRENCH, cells())
    data = codecs.BOM_UTF16_LE + csv_bytes(rows, delimiter="\t", encoding="utf-16-le")
    parse = read_upload("projets.txt", data)
    assert (parse.encoding, parse.delimiter, parse.problems, parse.records) == (
        "utf-16",
        "\t",
        [],
        [record()],
    )


def test_semicolon_csv_with_decimal_commas_french_dates_and_spaces_in_numbers():
    typed = cells(
        operator="ma-alomrane-doe",
        status="enco",
        lat="23,7",
        lon="-15,93",
        area_ha="275",
        planned_start="01/01/2024",
        planned_end="31/12/2030",
        actual_start="1/3/2024",
        budget="1 500 000 000,00",
        financing="ma-alomrane-doe=900 000 000,00 ; MA-GIE-DAKHLA-SC : 600000000",
        outputs="SUP=275/40,5",
        milestones="SIGN_CONV=//10/11/2023; OS=2024-5-2",
        as_of="30/09/2026",
        progress="12,5 %",
        committed="300\u00a0000\u00a0000",
        paid="١٥٠٠٠٠٠٠٠",
    )
    parse = read_upload("projets.csv", csv_bytes(table(FRENCH, typed), encoding="utf-8"))
    assert (parse.delimiter, parse.problems) == (";", [])
    assert parse.records == [
        record(
            location={"lat": "23.7", "lon": "-15.93"},
            actual_start="2024-03-01",
            budget="1500000000.00",
            financing={"MA-ALOMRANE-DOE": "900000000.00", "MA-GIE-DAKHLA-SC": "600000000"},
            outputs={"SUP": {"target": "275", "achieved": "40.5"}},
            milestones={
                "SIGN_CONV": {"planned": None, "forecast": None, "actual": "2023-11-10"},
                "OS": {"planned": "2024-05-02", "forecast": None, "actual": None},
            },
            progress="12.5",
            committed="300000000",
            paid="150000000",
        )
    ]
    assert parse.rows == [2]


@pytest.mark.django_db
def test_comma_csv_refuses_a_decimal_comma_as_ambiguous_and_reads_the_other_rows():
    second = cells(operator_ref="DOE-PU-002", budget="1,500,000,000.00")
    parse = read_upload("projets.csv", csv_bytes(table(CODES, cells(), second), delimiter=","))
    assert parse.delimiter == ","
    assert short(parse.problems) == [
        problem(
            "ambiguous_decimal",
            3,
            "budget",
            "T3",
            "Nombre ambigu : 1,500,000,000.00. Dans un CSV séparé par des virgules, écrivez la décimale "
            "avec un point (12.5) et les milliers sans séparateur.",
        )
    ]
    assert (parse.records, parse.rows) == ([record()], [2])


def test_an_excel_sep_line_sets_the_delimiter_and_is_not_counted_as_a_row():
    data = (
        "sep=,\r\n" + "\r\n".join(",".join(row) for row in table(CODES, cells(outputs="SUP=275/40")))
    ).encode()
    parse = read_upload("projets.csv", data)
    assert (parse.delimiter, parse.problems, parse.rows, parse.records) == (",", [], [2], [record()])


@pytest.mark.django_db
def test_xlsx_number_and_date_cells_are_normalised_and_a_commune_typed_as_a_number_is_located():
    values = cells()
    typed = {
        **values,
        "operator_ref": 2024001.0,
        "commune": 12.391,
        "lat": 23.7,
        "lon": -15.93,
        "area_ha": 0.1 + 0.2,  # 0.30000000000000004 in binary, 0.3 on screen
        "planned_start": date(2024, 1, 1),
        "planned_end": datetime(2030, 12, 31, 15, 45),  # noqa: DTZ001 - a cell has no time zone
        "actual_start": "01/03/2024",
        "budget": 1500000000,
        "as_of": date(2026, 9, 30),
        "progress": 12.5,
        "committed": 300000000.0,
        "paid": 150000000.25,
        "base_version": 0.0,
    }
    parse = read_upload("projets.xlsx", xlsx_bytes(table(FRENCH, typed)))
    assert parse.problems == []
    assert parse.base_versions == [0]
    assert parse.records == [
        record(
            operator_ref="2024001",
            communes={"12.391": {"primary": True, "share": None}},
            location={"lat": "23.7", "lon": "-15.93"},
            area_ha="0.3",
            budget="1500000000",
            progress="12.5",
            committed="300000000",
            paid="150000000.25",
        )
    ]
    result = apply(parse).results[0]
    assert [i.as_dict()["pointer"] for i in result.issues] == ["/communes/12.391"]
    assert result.issues[0].code == "malformed_code"
    located = parse.located(0, result.issues[0].as_dict())
    assert (located["row"], located["column"], located["cell"]) == (2, "Commune principale (code HCP)", "J2")


def test_a_table_that_does_not_start_at_a1_is_located_by_its_real_cells():
    parse = read_upload(
        "projets.xlsx", xlsx_bytes(table(CODES, cells(budget="x")), first_row=3, first_column=2)
    )
    assert parse.rows == [5]
    assert parse.letters["operator"] == "C"
    assert parse.locate(0, "/budget") == (5, "budget")
    assert parse.cell(0, "/budget") == "V5"


# --- Headers ---------------------------------------------------------------------------------------------


def test_arabic_headers_alone_read_the_same_record():
    parse = read_upload("projets.csv", csv_bytes(table(ARABIC, cells())))
    assert (parse.problems, parse.records, parse.rows) == ([], [record()], [2])
    assert parse.headers["budget"] == "الميزانية (درهم)"


def test_headers_match_whatever_their_case_accents_and_spacing():
    loose = ["  OPERATEUR ", "reference de l’operateur", *FRENCH[2:19], "budget  (mad)", *FRENCH[20:]]
    loose[7] = "الـوضعية"  # with a tatweel
    parse = read_upload("projets.csv", csv_bytes(table(loose, cells())))
    assert (parse.problems, parse.records) == ([], [record()])
    assert parse.headers["operator"] == "OPERATEUR"
    assert parse.locate(0, "/budget") == (2, "budget (mad)")


@pytest.mark.django_db
def test_shuffled_columns_read_the_same_record_and_locate_their_own_cells():
    order = list(reversed(CODES))
    headers = [dict(zip(CODES, FRENCH, strict=True))[code] for code in order]
    parse = read_upload("projets.csv", csv_bytes(table(headers, cells(paid="abc"), order=order)))
    assert parse.problems == []
    assert parse.records == [record(paid="abc")]
    result = apply(parse).results[0]
    assert [parse.located(0, i.as_dict()) for i in result.issues] == [
        {
            **result.issues[0].as_dict(),
            "row": 2,
            "column": "Payé (MAD)",
            "cell": "D2",
        }
    ]
    assert result.issues[0].code == "malformed_amount"


def test_unknown_column_is_a_problem_and_no_record_is_read():
    headers = [*FRENCH, "Observations"]
    parse = read_upload("projets.csv", csv_bytes([headers, [*cells().values(), "RAS"]]))
    assert short(parse.problems) == [
        problem("unknown_column", 1, "Observations", "AE1", "Colonne inconnue : Observations.")
    ]
    assert (parse.records, parse.ok) == ([], False)


def test_duplicated_column_in_two_languages_is_a_problem():
    headers = [*FRENCH[:19], "الميزانية (درهم)", *FRENCH[19:]]
    rows = [headers, [*list(cells().values())[:19], "1", *list(cells().values())[19:]]]
    parse = read_upload("projets.csv", csv_bytes(rows))
    assert short(parse.problems) == [
        problem(
            "duplicate_column",
            1,
            "Budget (MAD)",
            "U1",
            "Colonne en double : Budget (MAD) désigne le même champ que la colonne الميزانية (درهم).",
        )
    ]
    assert parse.records == []


def test_missing_required_columns_are_named_with_their_french_header():
    keep = [code for code in CODES if code not in ("budget", "outputs")]
    parse = read_upload("projets.csv", csv_bytes(table(keep, cells(), order=keep)))
    assert short(parse.problems) == [
        problem("missing_column", 1, "Budget (MAD)", None, "Colonne obligatoire absente : Budget (MAD)."),
        problem("missing_column", 1, "Réalisations", None, "Colonne obligatoire absente : Réalisations."),
    ]
    assert parse.records == []


def test_a_file_without_any_known_header_says_so_once():
    parse = read_upload("projets.csv", b"nom;montant\r\nA;12\r\n")
    assert short(parse.problems) == [
        problem(
            "no_header",
            1,
            None,
            None,
            "Aucune colonne du modèle n'est reconnue sur la première ligne : elle doit porter les en-têtes "
            "du modèle (français, arabe ou codes).",
        )
    ]


def test_data_under_an_empty_header_is_a_problem():
    rows = [[*FRENCH, ""], [*cells().values(), "perdu"]]
    parse = read_upload("projets.csv", csv_bytes(rows))
    assert short(parse.problems) == [
        problem(
            "unnamed_column", 1, None, "AE1", "La colonne AE contient des données mais n'a pas d'en-tête."
        )
    ]


def test_the_header_row_may_be_preceded_by_empty_rows_and_followed_by_a_header_echo():
    rows = [[], [""] * 3, FRENCH, ARABIC, CODES, [], list(cells().values())]
    parse = read_upload("projets.csv", csv_bytes(rows))
    assert (parse.problems, parse.rows, parse.records) == ([], [7], [record()])


# --- Locating the rules' problems -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_bad_amount_in_row_4_is_located_to_row_4_and_the_budget_header_as_typed():
    headers = [*FRENCH]
    headers[CODES.index("budget")] = "BUDGET (MAD)"
    rows = [
        headers,
        ARABIC,
        list(cells(operator_ref="DOE-PU-101").values()),
        list(cells(operator_ref="DOE-PU-102", budget="12x").values()),
    ]
    parse = read_upload("projets.csv", csv_bytes(rows))
    assert (parse.problems, parse.rows) == ([], [3, 4])
    batch = apply(parse)
    assert [r.outcome for r in batch.results] == ["created", "rejected"]
    issue = batch.results[1].issues[0].as_dict()
    assert (issue["code"], issue["pointer"]) == ("malformed_amount", "/budget")
    assert parse.locate(1, "/budget") == (4, "BUDGET (MAD)")
    assert parse.cell(1, "/budget") == "T4"


@pytest.mark.django_db
def test_a_financing_problem_is_located_to_the_financing_column():
    typed = cells(financing="MA-ALOMRANE-DOE=900000000.00; MA-CR-06=six cents millions")
    parse = read_upload("projets.csv", csv_bytes(table(FRENCH, typed)))
    result = apply(parse).results[0]
    assert [(i.code, i.pointer) for i in result.issues] == [("malformed_amount", "/financing/MA-CR-06")]
    assert parse.locate(0, "/financing/MA-CR-06") == (2, "Plan de financement")
    assert parse.cell(0, "/financing/MA-CR-06") == "U2"


def test_pointers_into_communes_location_titles_and_the_record_itself():
    typed = cells(commune_share="60", other_communes="12.391.01.05=40", lat="", lon="-15.9")
    parse = read_upload("projets.csv", csv_bytes(table(FRENCH, typed)))
    assert parse.records[0]["location"] == {"lon": "-15.9"}
    assert {
        pointer: parse.locate(0, pointer, code=code)
        for pointer, code in [
            ("/communes/12.391.01.01", ""),
            ("/communes/12.391.01.01/share", ""),
            ("/communes/12.391.01.05", ""),
            ("/communes/12.391.01.05/share", ""),
            ("/communes", "communes_primary"),
            ("/location", "required"),
            ("/location/lon", ""),
            ("/title", "required"),
            ("/title/ar", ""),
            ("/description/fr", ""),
            ("/progress", ""),
            ("/base_version", "version_conflict"),
            ("/operator_ref", "unknown_project"),
            ("", "malformed_record"),
        ]
    } == {
        "/communes/12.391.01.01": (2, "Commune principale (code HCP)"),
        "/communes/12.391.01.01/share": (2, "Part de la commune principale (%)"),
        "/communes/12.391.01.05": (2, "Autres communes (codes HCP)"),
        "/communes/12.391.01.05/share": (2, "Autres communes (codes HCP)"),
        "/communes": (2, "Commune principale (code HCP)"),
        "/location": (2, "Latitude"),
        "/location/lon": (2, "Longitude"),
        "/title": (2, "Intitulé (français)"),
        "/title/ar": (2, "Intitulé (arabe)"),
        "/description/fr": (2, "Description (français)"),
        "/progress": (2, "Avancement physique (%)"),
        "/base_version": (2, "Version de base"),
        "/operator_ref": (2, "Référence de l'opérateur"),
        "": (2, None),
    }
    assert parse.locate(0, "/communes", code="commune_shares") == (2, "Part de la commune principale (%)")
    assert parse.cell(0, "") is None


def test_a_pointer_to_a_column_the_file_lacks_names_its_french_header_without_a_cell():
    rows = [["operator", "operator_ref", "withdrawn"], ["MA-ALOMRANE-DOE", "DOE-PU-001", "oui"]]
    parse = read_upload("retraits.csv", csv_bytes(rows))
    assert parse.locate(0, "/reason") == (2, "Motif du retrait")
    assert parse.cell(0, "/reason") is None


# --- Withdrawals ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_withdrawal_rows_ignore_the_project_cells_and_withdraw():
    apply(read_upload("projets.csv", template_csv([record()])), dry_run=False)
    rows = [
        FRENCH,
        list(cells(withdrawn="oui", reason="Saisie en double", budget="illisible").values()),
        list(cells(operator_ref="DOE-PU-404", withdrawn="نعم").values()),
        list(cells(operator_ref="DOE-PU-405", withdrawn="peut-être").values()),
    ]
    parse = read_upload("projets.csv", csv_bytes(rows))
    assert parse.records == [
        {
            "operator": "MA-ALOMRANE-DOE",
            "operator_ref": "DOE-PU-001",
            "withdrawn": True,
            "reason": "Saisie en double",
        },
        {"operator": "MA-ALOMRANE-DOE", "operator_ref": "DOE-PU-404", "withdrawn": True, "reason": ""},
    ]
    assert short(parse.problems) == [
        problem(
            "malformed_boolean",
            4,
            "Retrait",
            "AC4",
            "Valeur invalide : peut-être (oui, ou une cellule vide).",
        )
    ]
    batch = apply(parse)
    assert [(r.outcome, [i.code for i in r.issues]) for r in batch.results] == [
        ("withdrawn", []),
        ("rejected", ["unknown_project"]),
    ]
    assert parse.locate(1, batch.results[1].issues[0].pointer) == (3, "Référence de l'opérateur")


def test_a_withdrawal_only_file_needs_no_project_columns():
    rows = [
        ["Opérateur", "مرجع الفاعل", "Retrait", "Motif du retrait"],
        ["MA-ALOMRANE-DOE", "DOE-PU-001", "Oui", "Erreur"],
        ["MA-ALOMRANE-DOE", "DOE-PU-002", "1", ""],
    ]
    parse = read_upload("retraits.csv", csv_bytes(rows))
    assert parse.problems == []
    assert [(r["operator_ref"], r["withdrawn"], r["reason"]) for r in parse.records] == [
        ("DOE-PU-001", True, "Erreur"),
        ("DOE-PU-002", True, ""),
    ]


def test_a_project_row_in_a_file_without_project_columns_names_the_missing_ones():
    rows = [["operator", "operator_ref", "withdrawn"], ["MA-ALOMRANE-DOE", "DOE-PU-001", "non"]]
    parse = read_upload("retraits.csv", csv_bytes(rows))
    optional = {"operator", "operator_ref", "base_version", "withdrawn", "reason"}
    assert [(p["code"], p["column"]) for p in parse.problems] == [
        ("missing_column", column.fr) for column in COLUMNS if column.code not in optional
    ]
    assert len(parse.problems) == 25


# --- Cells that cannot be read ------------------------------------------------------------------------------


def test_cells_that_cannot_be_read_reject_their_row_only():
    rows = [
        FRENCH,
        list(cells(operator_ref="R-1", financing="MA-ALOMRANE-DOE 900000000").values()),
        list(cells(operator_ref="R-2", financing="MA-CR-06=1; ma-cr-06=2").values()),
        list(cells(operator_ref="R-3", outputs="SUP=1/2/3").values()),
        list(cells(operator_ref="R-4", milestones="OS=bientôt").values()),
        list(cells(operator_ref="R-5", base_version="v2").values()),
        list(cells(operator_ref="R-6", other_communes="12.391.01.01").values()),
        list(cells(operator_ref="R-7").values()),
        list(cells(operator_ref="R-7", title_fr="Encore").values()),
    ]
    parse = read_upload("projets.csv", csv_bytes(rows))
    assert short(parse.problems) == [
        problem(
            "malformed_list",
            2,
            "Plan de financement",
            "U2",
            "Élément mal formé : « MA-ALOMRANE-DOE 900000000 » ; attendu : code de l'organisation=montant, "
            "séparés par des points-virgules (MA-CR-06=1000000.00).",
        ),
        problem(
            "duplicate_entry",
            3,
            "Plan de financement",
            "U3",
            "« MA-CR-06 » figure deux fois dans la cellule.",
        ),
        problem(
            "malformed_list",
            4,
            "Réalisations",
            "V4",
            "Élément mal formé : « SUP=1/2/3 » ; attendu : indicateur=cible/réalisé, séparés par des "
            "points-virgules (SUP=275/40).",
        ),
        problem(
            "malformed_list",
            5,
            "Jalons",
            "W5",
            "Élément mal formé : « OS=bientôt » ; attendu : type=date prévue/date prévisionnelle/date "
            "effective, séparés par des points-virgules (SIGN_CONV=//2023-11-10).",
        ),
        problem("malformed_integer", 6, "Version de base", "AB6", "Nombre entier attendu : v2."),
        problem(
            "duplicate_entry",
            7,
            "Autres communes (codes HCP)",
            "L7",
            "« 12.391.01.01 » figure deux fois dans la cellule.",
        ),
        problem(
            "duplicate_row",
            9,
            "Référence de l'opérateur",
            "B9",
            "Ce projet figure déjà à la ligne 8 du fichier.",
        ),
    ]
    assert [r["operator_ref"] for r in parse.records] == ["R-7"]
    assert parse.rows == [8]


# --- Files that are not what they should be -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "code", "message_fr"),
    [
        ("vide.csv", b"", "empty_file", "Le fichier est vide."),
        ("blanc.csv", b'""\r\n  \r\n', "empty_file", "Le fichier est vide."),
        (
            "bruit.csv",
            bytes(range(256)) * 4,
            "unreadable",
            "Fichier illisible : ce n'est ni un fichier CSV ni un classeur XLSX.",
        ),
        (
            "bruit.xlsx",
            b"PK\x03\x04" + b"\x00garbage" * 40,
            "unreadable",
            "Fichier illisible : ce n'est ni un fichier CSV ni un classeur XLSX.",
        ),
        ("archive.xlsx", "notes.txt", "not_xlsx", "Cette archive ZIP n'est pas un classeur XLSX."),
        (
            "ancien.xls",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100,
            "xls_format",
            "Ancien format Excel (.xls) : enregistrez le fichier au format XLSX ou CSV.",
        ),
        (
            "protégé.xlsx",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100 + "EncryptionInfo".encode("utf-16-le"),
            "encrypted",
            "Le classeur est protégé par un mot de passe : enregistrez-le sans protection.",
        ),
        (
            "faux.xlsx",
            "workbook",
            "unreadable",
            "Fichier illisible : ce n'est ni un fichier CSV ni un classeur XLSX.",
        ),
        (
            "rapport.pdf",
            b"%PDF-1.4 ...",
            "unsupported_type",
            "Type de fichier non pris en charge (rapport.pdf) : déposez un fichier CSV ou XLSX.",
        ),
        (
            "modele.csv",
            "\r\n".join([";".join(FRENCH), ";".join(ARABIC)]).encode(),
            "no_rows",
            "Le fichier ne contient aucune ligne de projet.",
        ),
        (
            "cassé.csv",
            codecs.BOM_UTF8 + "Opérateur;Référence".encode("cp1256"),
            "malformed_encoding",
            "Le fichier annonce l'encodage UTF-8 mais contient des octets invalides.",
        ),
    ],
)
def test_bad_files_are_file_level_problems(name, data, code, message_fr):
    if isinstance(data, str):  # a ZIP archive holding one file, named so
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("xl/workbook.xml" if data == "workbook" else data, "<pas du XML")
        data = buffer.getvalue()
    parse = read_upload(name, data)
    assert [(p["code"], p["message_fr"]) for p in parse.problems] == [(code, message_fr)]
    assert parse.records == []


def test_a_csv_field_beyond_the_reader_limit_is_a_problem_at_its_line():
    data = (
        ";".join(FRENCH).encode() + b"\r\n" + ";".join(cells().values()).encode() + b"\r\nA;" + b"x" * 200_000
    )
    parse = read_upload("projets.csv", data)
    assert short(parse.problems) == [
        problem("malformed_csv", 3, None, None, "Fichier CSV mal formé à la ligne 3.")
    ]
    assert parse.records == []


def test_an_empty_workbook_is_an_empty_file():
    parse = read_upload("vide.xlsx", xlsx_bytes([]))
    assert [p["code"] for p in parse.problems] == ["empty_file"]


def test_a_file_over_the_size_limit_is_refused_unread():
    parse = read_upload("gros.csv", b"a" * (uploads.MAX_BYTES + 1))
    assert short(parse.problems) == [problem("file_too_large", None, None, None, "Le fichier dépasse 10 Mo.")]


def test_too_many_rows_is_one_file_level_problem_and_the_limit_itself_is_accepted():
    def many(count):
        return [FRENCH, *(list(cells(operator_ref=f"R-{n}").values()) for n in range(count))]

    assert MAX_ROWS == 1000
    parse = read_upload("projets.csv", csv_bytes(many(MAX_ROWS)))
    assert (parse.problems, len(parse.records), parse.rows[-1]) == ([], 1000, 1001)
    parse = read_upload("projets.csv", csv_bytes(many(MAX_ROWS + 1)))
    assert short(parse.problems) == [
        problem(
            "too_many_rows",
            None,
            None,
            None,
            "Trop de lignes : plus de 1000 lignes de projet ; 1000 au plus par fichier.",
        )
    ]
    assert parse.records == []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_arbitrary_bytes_never_raise(data):
    parse = read_upload("x.csv", data)
    assert parse.problems or parse.records


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(
            st.sampled_from([*FRENCH[:6], "", "x", "1,5", "a=b; c", "=", "//", "oui", "é;ب", '"']), max_size=8
        ),
        max_size=6,
    )
)
def test_arbitrary_tables_never_raise(rows):
    parse = read_upload("x.csv", csv_bytes(rows))
    assert parse.problems or parse.records
