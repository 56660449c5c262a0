"""/api/v1 open-data exports: CSV, XLSX, GeoJSON, the OC4IDS project package and IATI activities; and
the indicator figures as CSV and XLSX (scoped like the indicator API, whose code computes them).

Public: whoever asks, the exports carry the published, non-withdrawn projects only, with the filters
of the project list (the same parameters, checked the same way: an unknown code is a 422 problem).
Every export streams: the projects are read a chunk at a time and the response is sent as it is
written. ``/projects/{public_id}/oc4ids.json`` is the exception to "published only": it answers
whoever may read the project, and 404 otherwise, exactly like the project itself.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import xlsxwriter
from django.http import StreamingHttpResponse
from django.utils import timezone
from ninja import Query, Router

from marsad.indicators import api as indicators_api
from marsad.registry.api import project_filters, project_or_404
from marsad.registry.schemas import ProjectQuery

from .interchange import iati, oc4ids, opendata, public_projects, with_relations

router = Router(tags=["Exports"])
TAG = {
    "name": "Exports",
    "description": "Open data of the published, non-withdrawn projects, whoever asks: CSV (UTF-8 with BOM), "
    "XLSX, GeoJSON, an OC4IDS 0.9.5 project package and IATI 2.03 activities, all streamed, all with the "
    "project list's filters; and one project as an OC4IDS package for whoever may read it.",
}

CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
GEOJSON = "application/geo+json"
JSON = "application/json"
XML = "application/xml"
PUBLIC = (
    " Public: only published, non-withdrawn projects, whoever asks. Takes the filters of the project list "
    "(HCP codes for territories, programme, status, operator with its subsidiaries, agreement, words); an "
    "unknown code is a 422 problem pointing at the parameter. The file is streamed."
)


def _documented(content_type: str, description: str, schema: dict | None = None) -> dict:
    return {
        "responses": {
            200: {
                "description": description,
                "content": {content_type.split(";")[0]: {"schema": schema or {"type": "string"}}},
            }
        }
    }


def _download(chunks: Iterator[bytes], content_type: str, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _base_url(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def _selected(request, filters: ProjectQuery):
    return public_projects(project_filters(request, filters))


@router.get(
    "/exports/projects.csv",
    url_name="exports-projects-csv",
    summary="Published projects as CSV (UTF-8 with BOM)",
    description="One row per project, the column codes as header (see the open-data notes)." + PUBLIC,
    openapi_extra=_documented(CSV, "CSV file, UTF-8 with a byte-order mark"),
)
def projects_csv(request, filters: Query[ProjectQuery]):
    projects = _selected(request, filters)
    return _download(opendata.csv_chunks(projects, base_url=_base_url(request)), CSV, "marsad-projets.csv")


@router.get(
    "/exports/projects.xlsx",
    url_name="exports-projects-xlsx",
    summary="Published projects as an Excel workbook",
    description="The CSV's columns; codes as text cells, amounts as numbers, dates as date cells." + PUBLIC,
    openapi_extra=_documented(XLSX, "XLSX workbook", {"type": "string", "format": "binary"}),
)
def projects_xlsx(request, filters: Query[ProjectQuery]):
    projects = _selected(request, filters)
    return _download(opendata.xlsx_chunks(projects, base_url=_base_url(request)), XLSX, "marsad-projets.xlsx")


@router.get(
    "/exports/projects.geojson",
    url_name="exports-projects-geojson",
    summary="Published projects with a location as GeoJSON",
    description="A FeatureCollection: one Point per project that has a location, the CSV's columns as "
    "properties." + PUBLIC,
    openapi_extra=_documented(GEOJSON, "GeoJSON FeatureCollection", {"type": "object"}),
)
def projects_geojson(request, filters: Query[ProjectQuery]):
    projects = _selected(request, filters)
    return _download(
        opendata.geojson_chunks(projects, base_url=_base_url(request)), GEOJSON, "marsad-projets.geojson"
    )


@router.get(
    "/exports/oc4ids.json",
    url_name="exports-oc4ids",
    summary="Published projects as an OC4IDS 0.9.5 project package",
    description="Open Contracting for Infrastructure Data Standard, version 0.9.5. The package's "
    "published date is the last update of the projects it holds." + PUBLIC,
    openapi_extra=_documented(JSON, "OC4IDS project package", {"type": "object"}),
)
def projects_oc4ids(request, filters: Query[ProjectQuery]):
    projects = _selected(request, filters)
    latest = projects.order_by("-updated_at").values_list("updated_at", flat=True).first()
    chunks = oc4ids.package_chunks(
        with_relations(projects),
        published_date=latest or timezone.now(),
        uri=request.build_absolute_uri(),
    )
    return _download(chunks, JSON, "marsad-oc4ids.json")


@router.get(
    "/exports/iati.xml",
    url_name="exports-iati",
    summary="Published projects as IATI 2.03 activities",
    description="One iati-activity per project that has at least one planned or actual date." + PUBLIC,
    openapi_extra=_documented(XML, "IATI 2.03 iati-activities document"),
)
def projects_iati(request, filters: Query[ProjectQuery]):
    projects = _selected(request, filters)
    return _download(iati.chunks(with_relations(projects)), XML, "marsad-iati.xml")


@router.get(
    "/projects/{public_id}/oc4ids.json",
    url_name="project-oc4ids",
    summary="One project as an OC4IDS 0.9.5 project package",
    description="A package holding the one project, for whoever may read it (published projects for "
    "everybody; the others within the reader's scope). 404 when it does not exist or is out of scope.",
    openapi_extra=_documented(JSON, "OC4IDS project package", {"type": "object"}),
)
def project_oc4ids(request, public_id: str):
    project = project_or_404(request, public_id)
    document = oc4ids.package([project], published_date=project.updated_at, uri=request.build_absolute_uri())
    chunks = iter([oc4ids.dumps(document).encode()])
    return _download(chunks, JSON, f"{project.public_id}-oc4ids.json")


FIGURE_COLUMNS = ("key", "projects", "reported", "completed", "budget", "committed", "paid", "tx_phys",
                  "tx_eng", "tx_pai")  # fmt: skip
FIGURE_HEADERS = ("group", "projects", "reported", "completed", "INV", "committed", "paid", "TX_PHYS",
                  "TX_ENG", "TX_PAI", "revised_TX_PHYS", "revised_INV")  # fmt: skip
FIGURES = (
    " Scoped like /api/v1/indicators/figures and computed by the same code: the same parameters (as_of, "
    "by, month or start and end, territory, programme, operator filters), the same numbers; a closed "
    "month gives its published figures with the revised TX_PHYS and INV where a correction changed them."
)


def _figure_rows(answer: dict) -> list[list]:
    rows = []
    for figure in answer["figures"]:
        get = figure.get if isinstance(figure, dict) else lambda name, f=figure: getattr(f, name, None)
        revision = get("revision") or {}
        rows.append(
            [get(name) for name in FIGURE_COLUMNS] + [revision.get("tx_phys"), revision.get("budget")]
        )
    return rows


def _figures_name(answer: dict, extension: str) -> str:
    period = answer["month"] or f"{answer['start']}_{answer['end']}"
    known = f"-au-{answer['as_of']}" if answer.get("as_of") else ""
    return f"marsad-indicateurs-{answer['by']}-{period}{known}.{extension}"


@router.get(
    "/exports/figures.csv",
    url_name="exports-figures-csv",
    summary="Indicator figures as CSV (UTF-8 with BOM)",
    description="One row per group: INV, TX_PHYS, TX_ENG, TX_PAI and the counts behind them." + FIGURES,
    openapi_extra=_documented(CSV, "CSV file, UTF-8 with a byte-order mark"),
)
def figures_csv(request, query: Query[indicators_api.FigureQuery]):
    answer = indicators_api.figures_answer(request, query)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(FIGURE_HEADERS)
    writer.writerows(["" if value is None else value for value in row] for row in _figure_rows(answer))
    return _download(iter([("\ufeff" + buffer.getvalue()).encode()]), CSV, _figures_name(answer, "csv"))


@router.get(
    "/exports/figures.xlsx",
    url_name="exports-figures-xlsx",
    summary="Indicator figures as an Excel workbook",
    description="The CSV's columns; amounts and rates as numbers." + FIGURES,
    openapi_extra=_documented(XLSX, "XLSX workbook", {"type": "string", "format": "binary"}),
)
def figures_xlsx(request, query: Query[indicators_api.FigureQuery]):
    answer = indicators_api.figures_answer(request, query)
    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(output, {"in_memory": True})
    sheet = workbook.add_worksheet("indicateurs")
    text = workbook.add_format({"num_format": "@"})
    sheet.write_row(0, 0, FIGURE_HEADERS)
    for number, row in enumerate(_figure_rows(answer), start=1):
        sheet.write_string(number, 0, str(row[0]), text)
        for column, value in enumerate(row[1:], start=1):
            if value is not None:
                sheet.write_number(number, column, float(value))
    workbook.close()
    return _download(iter([output.getvalue()]), XLSX, _figures_name(answer, "xlsx"))
