"""Open-data exports (CSV, XLSX, GeoJSON) of published projects: exact content, codes kept as text,
published and non-withdrawn only, the project list's filters, pinned query counts, and memory that
does not grow with the number of projects."""

from __future__ import annotations

import csv
import gc
import io
import json
import tracemalloc
from datetime import date

import pytest
from python_calamine import CalamineWorkbook

from marsad.audit.services import SystemActor
from marsad.exchange.interchange import iati, oc4ids, opendata, public_projects, with_relations
from marsad.exchange.tests.test_oc4ids import PUBLISHED, TODAY, URI, create_projects, exports_urlconf
from marsad.registry.models import Project
from marsad.registry.services import projects_publish, records_apply
from marsad.registry.tests.records import record

pytestmark = pytest.mark.django_db

SYSTEM = SystemActor("test")
HEADER = [
    "public_id",
    "operator",
    "operator_ref",
    "title_fr",
    "title_ar",
    "programme",
    "status",
    "region",
    "province",
    "commune",
    "commune_fr",
    "commune_ar",
    "lat",
    "lon",
    "area_ha",
    "planned_start",
    "planned_end",
    "actual_start",
    "actual_end",
    "budget",
    "committed",
    "paid",
    "progress",
    "as_of",
    "version",
    "updated_at",
    "url",
]


@pytest.fixture
def projects() -> dict[str, Project]:
    return create_projects()


@pytest.fixture
def exports(settings):
    exports_urlconf(settings)


def _order(projects) -> list[str]:
    return sorted(("DOE-PU-001", "CS-VSB-007", "CS-LS-010"), key=lambda ref: projects[ref].public_id)


def _dakhla_row(public_id: str, base: str) -> list[str]:
    return [
        public_id,
        "MA-ALOMRANE-DOE",
        "DOE-PU-001",
        "Pôle urbain de Dakhla",
        "القطب الحضري للداخلة",
        "PU",
        "ENCO",
        "12",
        "12.391",
        "12.391.01.01",
        "Dakhla",
        "الداخلة",
        "23.7",
        "-15.93",
        "275",
        "2024-01-01",
        "2030-12-31",
        "2024-03-01",
        "",
        "1500000000.00",
        "300000000.00",
        "150000000.00",
        "12.50",
        "2026-09-30",
        "1",
        "2026-10-31T09:00:00Z",
        f"{base}/fr/projets/{public_id}/" if base else "",
    ]


# --- CSV --------------------------------------------------------------------------------------------------


def test_the_csv_has_a_bom_the_codes_as_header_and_one_row_per_published_project(client, exports, projects):
    response = client.get("/api/v1/exports/projects.csv")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="marsad-projets.csv"'
    data = b"".join(response.streaming_content)
    assert data.startswith(b"\xef\xbb\xbfpublic_id,operator,")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == HEADER == opendata.HEADER
    assert [row[2] for row in rows[1:]] == _order(projects)
    by_reference = {row[2]: row for row in rows[1:]}
    dakhla = projects["DOE-PU-001"].public_id
    assert by_reference["DOE-PU-001"] == _dakhla_row(dakhla, "http://testserver")
    arabic = projects["CS-LS-010"]
    assert by_reference["CS-LS-010"] == [
        arabic.public_id,
        "MA-ALOMRANE-CS",
        "CS-LS-010",
        "",
        "سكن اجتماعي بالدار البيضاء",
        "LS250",
        "PROG",
        "06",
        "06.141",
        "06.141.01.0",
        "Casablanca",
        "الدار البيضاء",
        *[""] * 7,
        "20000000.00",
        *[""] * 4,
        "1",
        "2026-10-31T09:00:00Z",
        f"http://testserver/fr/projets/{arabic.public_id}/",
    ]
    assert by_reference["CS-VSB-007"][HEADER.index("paid")] == "78500000.50"
    assert by_reference["CS-VSB-007"][HEADER.index("area_ha")] == "12.5"


def test_the_csv_follows_the_project_list_filters(client, exports, projects):
    def references(**query) -> list[str]:
        data = b"".join(client.get("/api/v1/exports/projects.csv", query).streaming_content)
        return [row[2] for row in list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))[1:]]

    assert references(region="12") == ["DOE-PU-001"]
    assert references(status="ACHV") == ["CS-VSB-007"]
    assert references(q="dakhla") == ["DOE-PU-001"]
    assert references(agreement="CONV-DAKHLA-2019") == ["DOE-PU-001"]
    # Asking for the unpublished or the withdrawn ones gives nothing: the export is public data only.
    assert references(published="false") == []
    assert references(withdrawn="true") == []
    assert references(operator="MA-ALOMRANE-DOE", programme="HMR") == []
    unknown = client.get("/api/v1/exports/projects.csv", {"province": "99.999"})
    assert (unknown.status_code, unknown["Content-Type"]) == (422, "application/problem+json")
    assert [(e["pointer"], e["code"]) for e in unknown.json()["errors"]] == [
        ("/province", "unknown_territory")
    ]


def test_a_logged_in_national_analyst_gets_the_same_public_export(client, exports, projects):
    from marsad.accounts.choices import Role
    from marsad.accounts.services import membership_grant, user_create

    analyst = user_create(actor=SYSTEM, username="analyste", password=None)
    membership_grant(actor=SYSTEM, user=analyst, role=Role.NATIONAL_ANALYST)
    client.force_login(analyst)
    data = b"".join(client.get("/api/v1/exports/projects.csv").streaming_content)
    assert len(data.decode("utf-8-sig").splitlines()) == 4


def test_without_a_base_url_the_page_address_is_empty(projects):
    data = b"".join(opendata.csv_chunks(public_projects(), chunk_size=1))
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    dakhla = projects["DOE-PU-001"].public_id
    assert [row for row in rows if row[2] == "DOE-PU-001"] == [_dakhla_row(dakhla, "")]


# --- XLSX -------------------------------------------------------------------------------------------------


def test_the_workbook_keeps_codes_as_text_and_amounts_as_numbers(client, exports, projects):
    response = client.get("/api/v1/exports/projects.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"] == 'attachment; filename="marsad-projets.xlsx"'
    data = b"".join(response.streaming_content)
    assert data.startswith(b"PK")
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    assert workbook.sheet_names == ["projets"]
    rows = workbook.get_sheet_by_name("projets").to_python()
    assert rows[0] == HEADER
    assert [row[2] for row in rows[1:]] == _order(projects)
    dakhla = next(row for row in rows if row[2] == "DOE-PU-001")
    public_id = projects["DOE-PU-001"].public_id
    assert dakhla == [
        public_id,
        "MA-ALOMRANE-DOE",
        "DOE-PU-001",
        "Pôle urbain de Dakhla",
        "القطب الحضري للداخلة",
        "PU",
        "ENCO",
        "12",
        "12.391",
        "12.391.01.01",
        "Dakhla",
        "الداخلة",
        23.7,
        -15.93,
        275.0,
        date(2024, 1, 1),
        date(2030, 12, 31),
        date(2024, 3, 1),
        "",
        1500000000.0,
        300000000.0,
        150000000.0,
        12.5,
        date(2026, 9, 30),
        1.0,
        "2026-10-31T09:00:00Z",
        f"http://testserver/fr/projets/{public_id}/",
    ]


# --- GeoJSON ----------------------------------------------------------------------------------------------


def test_the_geojson_has_one_point_per_located_project(client, exports, projects):
    response = client.get("/api/v1/exports/projects.geojson")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    assert response["Content-Disposition"] == 'attachment; filename="marsad-projets.geojson"'
    collection = json.loads(b"".join(response.streaming_content))
    dakhla = projects["DOE-PU-001"].public_id
    properties = dict(zip(HEADER, _dakhla_row(dakhla, "http://testserver"), strict=True))
    properties["actual_end"] = None
    assert collection == {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": dakhla,
                "geometry": {"type": "Point", "coordinates": [-15.93, 23.7]},
                "properties": properties,
            }
        ],
    }
    empty = json.loads(
        b"".join(client.get("/api/v1/exports/projects.geojson", {"region": "06"}).streaming_content)
    )
    assert empty == {"type": "FeatureCollection", "features": []}


# --- Queries and memory -----------------------------------------------------------------------------------


def _many(count: int, start: int = 0) -> None:
    records = [
        record(
            operator_ref=f"DOE-PU-{index:04d}",
            title={"fr": f"Lotissement {index} de Dakhla", "ar": f"تجزئة {index} بالداخلة"},
            description={"fr": "Équipement de lots " * 20, "ar": "تجهيز البقع " * 20},
        )
        for index in range(start, start + count)
    ]
    batch = records_apply(actor=SYSTEM, records=records, source_kind="command", source_id="test", today=TODAY)
    assert {r.outcome for r in batch.results} == {"created"}
    projects_publish(actor=SYSTEM, projects=Project.objects.filter(published=False))


def _csv_rows(data: bytes) -> int:
    return len(list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))) - 1


def _features(data: bytes) -> int:
    return len(json.loads(data)["features"])


def _sheet_rows(data: bytes) -> int:
    return len(CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name("projets").to_python()) - 1


@pytest.mark.dbsensitive
@pytest.mark.parametrize(
    ("write", "count"),
    [
        (opendata.csv_chunks, _csv_rows),
        (opendata.geojson_chunks, _features),
        (opendata.xlsx_chunks, _sheet_rows),
    ],
    ids=["csv", "geojson", "xlsx"],
)
def test_a_table_is_one_query_whatever_the_number_of_projects(write, count, django_assert_num_queries):
    _many(35)
    with django_assert_num_queries(1):  # the projects with their operator and commune, in one join
        data = b"".join(write(public_projects(), base_url="http://x", chunk_size=10))
    assert count(data) == 35


@pytest.mark.dbsensitive
def test_the_oc4ids_stream_runs_a_fixed_number_of_queries_per_chunk(django_assert_num_queries):
    _many(35)
    # Regions (1) and the project rows (1), then per chunk of 10 (four chunks): communes, financing,
    # outputs and milestones (no agreement).
    with django_assert_num_queries(2 + 4 * 4):
        package = json.loads(
            b"".join(
                oc4ids.package_chunks(
                    with_relations(public_projects()), published_date=PUBLISHED, uri=URI, chunk_size=10
                )
            )
        )
    assert len(package["projects"]) == 35


def _peak(write, projects) -> int:
    """The highest memory allocated while the whole stream is consumed (and dropped). The garbage
    collector is off: what a chunk allocates must be freed as soon as it is written, not whenever
    a collection happens to run."""
    for _chunk in write(projects):  # warm-up: compiled queries, imported modules, caches
        pass
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        for _chunk in write(projects):
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        gc.enable()


@pytest.mark.dbsensitive
@pytest.mark.parametrize(
    ("write", "bound"),
    [
        (lambda projects: opendata.csv_chunks(projects, chunk_size=25), 1.25),
        (lambda projects: opendata.geojson_chunks(projects, chunk_size=25), 1.25),
        # The workbook's packaging (temporary files zipped at the end) has buffers that grow up to a
        # fixed size (measured: the same peak for 400 and 800 projects), above what 100 projects need.
        (lambda projects: opendata.xlsx_chunks(projects, chunk_size=25), 2),
        (
            lambda projects: oc4ids.package_chunks(
                with_relations(projects), published_date=PUBLISHED, uri=URI, chunk_size=25
            ),
            1.25,
        ),
        (lambda projects: iati.chunks(with_relations(projects), chunk_size=25), 1.25),
    ],
    ids=["csv", "geojson", "xlsx", "oc4ids", "iati"],
)
def test_memory_does_not_grow_with_the_number_of_projects(write, bound):
    _many(400)
    everything = public_projects()
    small = _peak(write, everything.filter(operator_ref__lt="DOE-PU-0100"))
    large = _peak(write, everything)
    # Four times the projects, not four times the memory: the peak holds a chunk, not the file
    # (reading all the projects first would multiply it by more than three).
    assert large < small * bound
