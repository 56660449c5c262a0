"""Open-data tables of published projects: CSV, XLSX and GeoJSON, streamed with bounded memory.

One row (or feature) per published, non-withdrawn project, in Marsad id order, with the columns of
COLUMNS; the header row holds the column codes. Amounts are in dirhams with two decimals, measures
without trailing zeros, dates ISO 8601 (AAAA-MM-JJ), ``updated_at`` an ISO date-time in UTC.

- CSV: UTF-8 with a byte-order mark (so that Excel shows Arabic correctly), comma-separated,
  values as text exactly as the API writes them, empty when unknown.
- XLSX: codes and texts as text cells (an HCP code such as 12.391 never becomes a number), amounts
  and measures as numbers, dates as date cells. Written with XlsxWriter's constant-memory mode to a
  temporary file, then sent in blocks.
- GeoJSON: a FeatureCollection of the projects that have a location, one Point per project
  ([lon, lat], WGS 84), the same columns as properties (strings as in the CSV, null when unknown).
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import xlsxwriter
from django.db.models import QuerySet

from marsad.registry.canonical import money, number
from marsad.registry.models import Project

from . import CHUNK_SIZE, ProjectUrls, as_date_time, chunked

Projects = QuerySet[Project] | Iterable[Project]
BOM = "\ufeff"
BLOCK_SIZE = 64 * 1024


@dataclass(frozen=True)
class Column:
    code: str
    kind: str  # code, text, measure, money, date, datetime, integer, url
    description: str


COLUMNS = (
    Column("public_id", "code", "Identifiant Marsad du projet (MRS-…)"),
    Column("operator", "code", "Identifiant d'échange de l'opérateur (MA-…)"),
    Column("operator_ref", "code", "Référence du projet chez l'opérateur"),
    Column("title_fr", "text", "Intitulé en français"),
    Column("title_ar", "text", "Intitulé en arabe"),
    Column("programme", "code", "Code du programme (VSB, PU, …)"),
    Column("status", "code", "Code du statut (ENCO, ACHV, …)"),
    Column("region", "code", "Code HCP de la région de la commune principale"),
    Column("province", "code", "Code HCP de la province ou préfecture de la commune principale"),
    Column("commune", "code", "Code HCP de la commune principale"),
    Column("commune_fr", "text", "Nom de la commune principale en français"),
    Column("commune_ar", "text", "Nom de la commune principale en arabe"),
    Column("lat", "measure", "Latitude (WGS 84)"),
    Column("lon", "measure", "Longitude (WGS 84)"),
    Column("area_ha", "measure", "Superficie en hectares"),
    Column("planned_start", "date", "Début prévu"),
    Column("planned_end", "date", "Fin prévue"),
    Column("actual_start", "date", "Début effectif"),
    Column("actual_end", "date", "Fin effective"),
    Column("budget", "money", "Budget en dirhams"),
    Column("committed", "money", "Montant engagé en dirhams (cumul à la date de situation)"),
    Column("paid", "money", "Montant payé en dirhams (cumul à la date de situation)"),
    Column("progress", "money", "Avancement physique en pourcentage"),
    Column("as_of", "date", "Date de situation des montants et de l'avancement"),
    Column("version", "integer", "Numéro de la version courante du projet"),
    Column("updated_at", "datetime", "Date et heure de la dernière version (UTC)"),
    Column("url", "url", "Adresse de la page du projet"),
)
HEADER = [column.code for column in COLUMNS]


def values(project: Project, urls: ProjectUrls) -> list[Any]:
    """The typed values of a project's row, in COLUMNS order."""
    commune = project.primary_commune
    return [
        project.public_id,
        project.operator.code,
        project.operator_ref,
        project.title_fr,
        project.title_ar,
        project.programme_id,
        project.status_id,
        project.region_code,
        project.province_code,
        commune.code,
        commune.name_fr,
        commune.name_ar,
        project.latitude,
        project.longitude,
        project.area_ha,
        project.planned_start,
        project.planned_end,
        project.actual_start,
        project.actual_end,
        project.budget,
        project.committed,
        project.paid,
        project.progress,
        project.as_of,
        project.version,
        project.updated_at,
        urls(project.public_id),
    ]


def _text(column: Column, value: Any) -> str | None:
    """A value as the text the CSV and GeoJSON carry; None when unknown."""
    if value is None:
        return None
    if column.kind == "money":
        return money(value)
    if column.kind == "measure":
        return number(value)
    if column.kind in ("date", "datetime"):
        return as_date_time(value) if column.kind == "datetime" else value.isoformat()
    return str(value)


def texts(project: Project, urls: ProjectUrls) -> list[str | None]:
    return [_text(column, value) for column, value in zip(COLUMNS, values(project, urls), strict=True)]


def _projects(projects: Projects, chunk_size: int) -> Iterator[Project]:
    return chunked(projects, chunk_size) if hasattr(projects, "iterator") else iter(projects)


def csv_chunks(projects: Projects, *, base_url: str = "", chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The CSV file in UTF-8 with a BOM, a chunk of rows at a time."""
    urls = ProjectUrls(base_url)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(HEADER)
    for rows, project in enumerate(_projects(projects, chunk_size), start=1):
        writer.writerow(["" if text is None else text for text in texts(project, urls)])
        if rows % chunk_size == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def geojson_chunks(
    projects: Projects, *, base_url: str = "", chunk_size: int = CHUNK_SIZE
) -> Iterator[bytes]:
    """A GeoJSON FeatureCollection of the projects that have a location, a chunk at a time."""
    urls = ProjectUrls(base_url)
    if hasattr(projects, "filter"):
        projects = projects.filter(latitude__isnull=False, longitude__isnull=False)
    yield b'{"type":"FeatureCollection","features":['
    buffer: list[str] = []
    first = True
    for project in _projects(projects, chunk_size):
        if project.latitude is None or project.longitude is None:
            continue
        feature = {
            "type": "Feature",
            "id": project.public_id,
            "geometry": {"type": "Point", "coordinates": [float(project.longitude), float(project.latitude)]},
            "properties": dict(zip(HEADER, texts(project, urls), strict=True)),
        }
        buffer.append(json.dumps(feature, ensure_ascii=False, separators=(",", ":")))
        if len(buffer) >= chunk_size:
            yield (("" if first else ",") + ",".join(buffer)).encode("utf-8")
            buffer, first = [], False
    if buffer:
        yield (("" if first else ",") + ",".join(buffer)).encode("utf-8")
    yield b"]}"


def _cell(worksheet, row: int, col: int, column: Column, value: Any, formats: dict) -> None:
    if value is None or value == "":
        return
    if column.kind in ("money", "measure"):
        worksheet.write_number(row, col, float(value), formats.get(column.kind))
    elif column.kind == "integer":
        worksheet.write_number(row, col, int(value))
    elif column.kind == "date":
        worksheet.write_datetime(row, col, value, formats["date"])
    elif column.kind == "datetime":
        worksheet.write_string(row, col, as_date_time(value))
    else:  # codes, texts and addresses as text cells (Excel caps hyperlinks per sheet)
        worksheet.write_string(row, col, str(value))


def xlsx_chunks(
    projects: Projects, *, base_url: str = "", chunk_size: int = CHUNK_SIZE, block_size: int = BLOCK_SIZE
) -> Iterator[bytes]:
    """The XLSX workbook, built in constant memory in a temporary file, then read out in blocks."""
    urls = ProjectUrls(base_url)
    with tempfile.TemporaryFile() as handle:
        workbook = xlsxwriter.Workbook(handle, {"constant_memory": True})
        formats = {
            "money": workbook.add_format({"num_format": "#,##0.00"}),
            "measure": workbook.add_format({"num_format": "General"}),
            "date": workbook.add_format({"num_format": "yyyy-mm-dd"}),
            "header": workbook.add_format({"bold": True}),
        }
        worksheet = workbook.add_worksheet("projets")
        for col, code in enumerate(HEADER):
            worksheet.write_string(0, col, code, formats["header"])
        worksheet.freeze_panes(1, 0)
        for row, project in enumerate(_projects(projects, chunk_size), start=1):
            for col, (column, value) in enumerate(zip(COLUMNS, values(project, urls), strict=True)):
                _cell(worksheet, row, col, column, value, formats)
        workbook.close()
        handle.seek(0)
        while block := handle.read(block_size):
            yield block
