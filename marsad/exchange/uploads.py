"""Project records from a spreadsheet: the published template (CSV or XLSX) and its reader.

An operator without an information system of its own fills a spreadsheet, one row per project;
this module turns the file into the same records the exchange API receives, so that uploads go
through the same rules and produce the same receipt. Problems are precise to the row and the
column as the person sees them in their spreadsheet program.

Template layout
---------------
One sheet (the first of the workbook), one row per project, one column per field. Row 1 holds the
French headers and row 2 the Arabic headers; rows 3 and below hold the projects. The reader accepts
a file whose header row uses the French headers, the Arabic headers or the machine codes below (in
any mix and any column order, accents, case and spacing aside); a second row repeating the headers
in another language is recognised and skipped. The headers are fixed here in both languages rather
than translated, so that a filled template keeps matching whatever the interface language.

=================  ==================================  =============================================
code               French header                       content
=================  ==================================  =============================================
operator           Opérateur                           organisation code (MA-ALOMRANE-DOE)
operator_ref       Référence de l'opérateur            the project's reference at the operator
title_fr           Intitulé (français)                 text (one of the two titles is required)
title_ar           Intitulé (arabe)                    text
description_fr     Description (français)              text
description_ar     Description (arabe)                 text
programme          Programme                           programme code (PU)
status             Statut                              status code (ENCO)
agreement          Convention (référence)              agreement reference, or empty
commune            Commune principale (code HCP)       HCP code of the primary commune (12.391.01.01)
commune_share      Part de la commune principale (%)   its share, only when every commune has one
other_communes     Autres communes (codes HCP)         ``code; code`` or ``code=share; code=share``
lat, lon           Latitude, Longitude                 decimal degrees
area_ha            Superficie (ha)                     number
planned_start      Début prévu                         date ``YYYY-MM-DD`` (or ``DD/MM/YYYY``, or a
                                                       real date cell in XLSX), as every date
planned_end        Fin prévue                          date
actual_start       Début effectif                      date
actual_end         Fin effective                       date
budget             Budget (MAD)                        amount
financing          Plan de financement                 ``MA-CODE=amount; MA-CODE=amount``
outputs            Réalisations                        ``IND=target/achieved; …`` (a part may be empty)
milestones         Jalons                              ``TYPE=planned/forecast/actual; …`` (parts may
                                                       be empty: ``SIGN_CONV=//2023-11-10``)
as_of              Situation au                        date
progress           Avancement physique (%)             number from 0 to 100
committed, paid    Engagé (MAD), Payé (MAD)            amounts
base_version       Version de base                     optional: the version the row was edited from
withdrawn          Retrait                             ``oui``/``yes``/``1``/``نعم`` withdraws the project
reason             Motif du retrait                    text, read on withdrawal rows only
=================  ==================================  =============================================

A row is the whole record of a project (as in the API, not a patch), so every record column must be
present in a file that holds project rows; ``base_version``, ``withdrawn`` and ``reason`` are
optional. A withdrawal row only needs ``operator``, ``operator_ref``, ``withdrawn`` (and ``reason``):
its other cells are not read, so an operator can mark an existing row. Lists inside a cell are
separated by semicolons (the Arabic semicolon and line breaks work too); ``:`` may replace ``=``.

Reading
-------
The file's content decides its format, not its name. CSV: UTF-8 with or without BOM, UTF-16 with
BOM (Excel's "Unicode text"), else Windows-1256 (Arabic Windows); comma, semicolon or tab delimiter,
chosen by which one splits the header row into known columns (a leading ``sep=;`` line is honoured);
empty rows are skipped. Numbers may carry spaces as thousands separators and Arabic-Indic digits; a
decimal comma (``12,5``) is accepted in XLSX text cells and in semicolon or tab CSV files, and refused
as ambiguous in comma-separated files (where ``1,500`` could be either). XLSX (python-calamine, first
sheet): numbers that come back as floats are written back without binary noise (15 significant
digits, as the spreadsheet shows them) and whole ones without ``.0``; date cells become ISO dates.
Reference codes are upper-cased. A file is limited to :data:`MAX_ROWS` project rows (the API's batch)
and :data:`MAX_BYTES` bytes.

``read_upload`` never raises on bad input: unreadable files, header mistakes and cells that cannot be
turned into a record come back as problems ``{row, column, cell, code, message_fr, message_ar}``;
the business rules are the registry's, applied later by ``records_apply``, whose JSON pointers
``UploadParse.locate`` maps back to a row and a column.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from marsad.core.errors import in_both_languages

MAX_ROWS = 1000
MAX_BYTES = 10 * 1024 * 1024
MAX_UNZIPPED_BYTES = 100 * 1024 * 1024
CSV_DELIMITER = ";"
DATA_SHEET = "Projets - المشاريع"
ARABIC_SEMICOLON = "\u061b"


@dataclass(frozen=True)
class Column:
    """A column of the template: its code, its fixed headers and what a person should type in it."""

    code: str
    fr: str
    ar: str
    kind: str
    hint_fr: str
    hint_ar: str
    example: str = ""
    width: int = 16


DATE_HINT = ("Date AAAA-MM-JJ (ou JJ/MM/AAAA).", "تاريخ بصيغة YYYY-MM-DD (أو DD/MM/YYYY).")
AMOUNT_HINT = ("Montant en dirhams, 2 décimales au plus.", "مبلغ بالدرهم، برقمين عشريين على الأكثر.")
TITLE_HINT = (
    "Texte, 300 caractères au plus ; un des deux intitulés est obligatoire.",
    "نص من 300 حرف على الأكثر؛ إحدى التسميتين إلزامية.",
)
DESCRIPTION_HINT = ("Texte libre, 5 000 caractères au plus.", "نص حر من 5000 حرف على الأكثر.")
COORDINATE_HINT = ("Degrés décimaux (WGS 84).", "درجات عشرية (WGS 84).")

COLUMNS: tuple[Column, ...] = (
    Column(
        "operator",
        "Opérateur",
        "الفاعل",
        "code",
        "Code de l'organisation qui porte le projet (feuille Organisations).",
        "رمز الهيئة الحاملة للمشروع (ورقة الهيئات).",
        "MA-ALOMRANE-DOE",
        20,
    ),
    Column(
        "operator_ref",
        "Référence de l'opérateur",
        "مرجع الفاعل",
        "reference",
        "Référence du projet dans le système de l'opérateur ; elle ne change plus ensuite.",
        "مرجع المشروع في نظام الفاعل؛ لا يتغير بعد ذلك.",
        "DOE-PU-001",
        18,
    ),
    Column("title_fr", "Intitulé (français)", "التسمية (بالفرنسية)", "text", *TITLE_HINT, "Pôle urbain", 36),
    Column("title_ar", "Intitulé (arabe)", "التسمية (بالعربية)", "text", *TITLE_HINT, "القطب الحضري", 36),
    Column(
        "description_fr", "Description (français)", "الوصف (بالفرنسية)", "text", *DESCRIPTION_HINT, "", 36
    ),
    Column("description_ar", "Description (arabe)", "الوصف (بالعربية)", "text", *DESCRIPTION_HINT, "", 36),
    Column(
        "programme",
        "Programme",
        "البرنامج",
        "code",
        "Code du programme (feuille Codes).",
        "رمز البرنامج (ورقة الرموز).",
        "PU",
        12,
    ),
    Column(
        "status",
        "Statut",
        "الوضعية",
        "code",
        "Code du statut (feuille Codes).",
        "رمز الوضعية (ورقة الرموز).",
        "ENCO",
        10,
    ),
    Column(
        "agreement",
        "Convention (référence)",
        "الاتفاقية (المرجع)",
        "reference",
        "Référence de la convention enregistrée dans la plateforme, ou vide.",
        "مرجع الاتفاقية المسجلة في المنصة، أو فارغ.",
        "",
        18,
    ),
    Column(
        "commune",
        "Commune principale (code HCP)",
        "الجماعة الرئيسية (رمز المندوبية السامية للتخطيط)",
        "commune",
        "Code HCP de la commune ou de l'arrondissement principal, en texte (feuille Communes).",
        "رمز المندوبية السامية للتخطيط للجماعة أو المقاطعة الرئيسية، كنص (ورقة الجماعات).",
        "12.391.01.01",
        16,
    ),
    Column(
        "commune_share",
        "Part de la commune principale (%)",
        "حصة الجماعة الرئيسية (%)",
        "percent",
        "Seulement si une part est donnée pour chaque commune (total 100).",
        "فقط إذا حُددت حصة لكل جماعة (المجموع 100).",
        "",
        12,
    ),
    Column(
        "other_communes",
        "Autres communes (codes HCP)",
        "الجماعات الأخرى (رموز المندوبية السامية للتخطيط)",
        "communes",
        "Codes séparés par des points-virgules, chacun suivi de sa part si les parts sont données.",
        "رموز مفصولة بفواصل منقوطة، يتبع كلَّ رمز حصتُه إذا حُددت الحصص.",
        "12.391.01.05=40; 12.391.01.07=20",
        24,
    ),
    Column("lat", "Latitude", "خط العرض", "number", *COORDINATE_HINT, "23.70000", 12),
    Column("lon", "Longitude", "خط الطول", "number", *COORDINATE_HINT, "-15.93000", 12),
    Column("area_ha", "Superficie (ha)", "المساحة (هكتار)", "number", "Nombre.", "عدد.", "275", 12),
    Column("planned_start", "Début prévu", "تاريخ الانطلاق المبرمج", "date", *DATE_HINT, "2024-01-01", 12),
    Column("planned_end", "Fin prévue", "تاريخ الانتهاء المبرمج", "date", *DATE_HINT, "2030-12-31", 12),
    Column("actual_start", "Début effectif", "تاريخ الانطلاق الفعلي", "date", *DATE_HINT, "2024-03-01", 12),
    Column("actual_end", "Fin effective", "تاريخ الانتهاء الفعلي", "date", *DATE_HINT, "", 12),
    Column("budget", "Budget (MAD)", "الميزانية (درهم)", "number", *AMOUNT_HINT, "1500000000.00", 16),
    Column(
        "financing",
        "Plan de financement",
        "مخطط التمويل",
        "financing",
        "Partenaire=montant, séparés par des points-virgules (feuille Organisations).",
        "الشريك=المبلغ، مفصولة بفواصل منقوطة (ورقة الهيئات).",
        "MA-ALOMRANE-DOE=900000000.00; MA-GIE-DAKHLA-SC=600000000.00",
        36,
    ),
    Column(
        "outputs",
        "Réalisations",
        "الإنجازات",
        "outputs",
        "Indicateur=cible/réalisé, séparés par des points-virgules ; une valeur peut manquer (SUP=275/).",
        "المؤشر=الهدف/المنجز، مفصولة بفواصل منقوطة؛ يمكن ترك قيمة فارغة (SUP=275/).",
        "SUP=275/40",
        24,
    ),
    Column(
        "milestones",
        "Jalons",
        "المحطات",
        "milestones",
        "Type=date prévue/date prévisionnelle/date effective, séparés par des points-virgules ; "
        "une date peut manquer.",
        "النوع=التاريخ المبرمج/التاريخ التقديري/التاريخ الفعلي، مفصولة بفواصل منقوطة؛ يمكن ترك تاريخ فارغ.",
        "SIGN_CONV=//2023-11-10",
        30,
    ),
    Column(
        "as_of",
        "Situation au",
        "الوضعية إلى غاية",
        "date",
        "Date à laquelle l'avancement et les montants sont arrêtés.",
        "التاريخ الذي حُصرت فيه نسبة الإنجاز والمبالغ.",
        "2026-09-30",
        12,
    ),
    Column(
        "progress",
        "Avancement physique (%)",
        "نسبة الإنجاز المادي (%)",
        "percent",
        "De 0 à 100.",
        "من 0 إلى 100.",
        "12.50",
        12,
    ),
    Column("committed", "Engagé (MAD)", "الملتزم به (درهم)", "number", *AMOUNT_HINT, "300000000.00", 16),
    Column("paid", "Payé (MAD)", "المؤدى (درهم)", "number", *AMOUNT_HINT, "150000000.00", 16),
    Column(
        "base_version",
        "Version de base",
        "النسخة الأساس",
        "integer",
        "Facultatif : la version du projet que la ligne modifie ; refusée si le projet a changé depuis.",
        "اختياري: نسخة المشروع التي يعدلها السطر؛ يُرفض إذا تغير المشروع منذ ذلك الحين.",
        "",
        10,
    ),
    Column(
        "withdrawn",
        "Retrait",
        "السحب",
        "boolean",
        "oui pour retirer le projet ; seules les colonnes opérateur, référence et motif sont alors lues.",
        "نعم لسحب المشروع؛ لا تُقرأ حينها إلا أعمدة الفاعل والمرجع والسبب.",
        "",
        8,
    ),
    Column("reason", "Motif du retrait", "سبب السحب", "text", "Texte.", "نص.", "", 24),
)
BY_CODE: dict[str, Column] = {column.code: column for column in COLUMNS}
OPTIONAL_COLUMNS = frozenset({"base_version", "withdrawn", "reason"})
TEXT_KINDS = frozenset(
    {"code", "reference", "text", "commune", "communes", "financing", "outputs", "milestones", "boolean"}
)

YES = frozenset({"oui", "o", "yes", "y", "1", "x", "vrai", "true", "نعم"})
NO = frozenset({"non", "n", "no", "0", "faux", "false", "لا"})

# --- Problems of the file and its cells ------------------------------------------------------------------

MESSAGES: dict[str, Promise] = {
    "file_too_large": _("Le fichier dépasse %(max)s Mo."),
    "workbook_too_large": _("Le classeur décompressé dépasse %(max)s Mo."),
    "empty_file": _("Le fichier est vide."),
    "unsupported_type": _("Type de fichier non pris en charge (%(name)s) : déposez un fichier CSV ou XLSX."),
    "unreadable": _("Fichier illisible : ce n'est ni un fichier CSV ni un classeur XLSX."),
    "not_xlsx": _("Cette archive ZIP n'est pas un classeur XLSX."),
    "xls_format": _("Ancien format Excel (.xls) : enregistrez le fichier au format XLSX ou CSV."),
    "encrypted": _("Le classeur est protégé par un mot de passe : enregistrez-le sans protection."),
    "malformed_csv": _("Fichier CSV mal formé à la ligne %(line)s."),
    "malformed_encoding": _("Le fichier annonce l'encodage UTF-8 mais contient des octets invalides."),
    "no_header": _(
        "Aucune colonne du modèle n'est reconnue sur la première ligne : elle doit porter les en-têtes "
        "du modèle (français, arabe ou codes)."
    ),
    "unknown_column": _("Colonne inconnue : %(header)s."),
    "duplicate_column": _("Colonne en double : %(header)s désigne le même champ que la colonne %(other)s."),
    "missing_column": _("Colonne obligatoire absente : %(header)s."),
    "unnamed_column": _("La colonne %(letter)s contient des données mais n'a pas d'en-tête."),
    "no_rows": _("Le fichier ne contient aucune ligne de projet."),
    "too_many_rows": _("Trop de lignes : plus de %(max)s lignes de projet ; %(max)s au plus par fichier."),
    "malformed_list": _("Élément mal formé : « %(value)s » ; attendu : %(expected)s."),
    "duplicate_entry": _("« %(value)s » figure deux fois dans la cellule."),
    "ambiguous_decimal": _(
        "Nombre ambigu : %(value)s. Dans un CSV séparé par des virgules, écrivez la décimale avec un "
        "point (12.5) et les milliers sans séparateur."
    ),
    "malformed_boolean": _("Valeur invalide : %(value)s (oui, ou une cellule vide)."),
    "malformed_integer": _("Nombre entier attendu : %(value)s."),
    "duplicate_row": _("Ce projet figure déjà à la ligne %(line)s du fichier."),
}

EXPECTED: dict[str, Promise] = {
    "communes": _("code HCP ou code HCP=part, séparés par des points-virgules (12.391.01.05=40)"),
    "financing": _("code de l'organisation=montant, séparés par des points-virgules (MA-CR-06=1000000.00)"),
    "outputs": _("indicateur=cible/réalisé, séparés par des points-virgules (SUP=275/40)"),
    "milestones": _(
        "type=date prévue/date prévisionnelle/date effective, séparés par des points-virgules "
        "(SIGN_CONV=//2023-11-10)"
    ),
}


def _problem(
    code: str, row: int | None = None, column: str | None = None, cell: str | None = None, /, **params: Any
) -> dict:
    """A problem with its message in both languages (parameters that are translatable are too)."""
    rendered = {
        name: in_both_languages(value) if isinstance(value, Promise) else None
        for name, value in params.items()
    }
    messages = {}
    for language, template in in_both_languages(MESSAGES[code]).items():
        values = {
            name: rendered[name][language] if rendered[name] is not None else str(value)
            for name, value in params.items()
        }
        messages[language] = template % values
    return {
        "row": row,
        "column": column,
        "cell": cell,
        "code": code,
        "message_fr": messages["fr"],
        "message_ar": messages["ar"],
    }


class _CellError(Exception):
    """A cell that cannot be turned into its part of the record."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params


# --- The result ---------------------------------------------------------------------------------------------


@dataclass
class UploadParse:
    """What a file holds: records for the rows that could be read, and the problems of the others.

    ``records[i]`` came from spreadsheet row ``rows[i]`` and carries the optional ``base_versions[i]``;
    ``records_apply`` results keep the same index, so ``locate(result.index, problem["pointer"])``
    names the row and the column of each rule's problem."""

    records: list[dict] = field(default_factory=list)
    base_versions: list[int | None] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)
    format: str = ""
    encoding: str = ""
    delimiter: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # field code → header as typed in the file
    letters: dict[str, str] = field(default_factory=dict)  # field code → column letter
    commune_fields: list[dict[str, str]] = field(default_factory=list)  # per record: commune → column

    @property
    def ok(self) -> bool:
        return not self.problems

    def locate(self, index: int, pointer: str, *, code: str = "") -> tuple[int, str | None]:
        """The row and the column header (as typed in the file) a record problem's JSON pointer names.
        The column is None for a problem about the whole record; a column the file lacks is named by
        its French header. ``code`` (the rule's) refines the few pointers shared by several columns."""
        column = self._field(index, pointer, code)
        if column is None:
            return self.rows[index], None
        return self.rows[index], self.headers.get(column, BY_CODE[column].fr)

    def cell(self, index: int, pointer: str, *, code: str = "") -> str | None:
        """The spreadsheet reference (``F4``) of the cell a pointer names, when the file has that column."""
        column = self._field(index, pointer, code)
        if column is None or column not in self.letters:
            return None
        return f"{self.letters[column]}{self.rows[index]}"

    def located(self, index: int, problem: Mapping) -> dict:
        """A record problem (``Issue.as_dict()``, a receipt problem) with its row, column and cell."""
        pointer, code = problem.get("pointer", ""), problem.get("code", "")
        row, column = self.locate(index, pointer, code=code)
        return {**problem, "row": row, "column": column, "cell": self.cell(index, pointer, code=code)}

    def _field(self, index: int, pointer: str, code: str) -> str | None:
        tokens = [token.replace("~1", "/").replace("~0", "~") for token in pointer.split("/")[1:]]
        if not tokens:
            return None
        head, rest = tokens[0], tokens[1:]
        if head in ("title", "description"):
            return f"{head}_{rest[0] if rest and rest[0] in ('fr', 'ar') else 'fr'}"
        if head == "communes":
            if not rest:
                return "commune_share" if code == "commune_shares" else "commune"
            where = self.commune_fields[index].get(rest[0], "commune")
            if rest[1:] == ["share"] and where == "commune":
                return "commune_share"
            return where
        if head == "location":
            if rest and rest[0] in ("lat", "lon"):
                return rest[0]
            location = self.records[index].get("location") or {}
            return "lon" if "lat" in location and "lon" not in location else "lat"
        return head if head in BY_CODE else None


# --- Reading ------------------------------------------------------------------------------------------------


def read_upload(filename: str, data: bytes, *, max_rows: int = MAX_ROWS) -> UploadParse:
    """Read an uploaded CSV or XLSX file into records; every difficulty is reported, none raised."""
    parse = UploadParse()
    if len(data) > MAX_BYTES:
        parse.problems.append(_problem("file_too_large", max=MAX_BYTES // (1024 * 1024)))
        return parse
    if not data.strip():
        parse.problems.append(_problem("empty_file"))
        return parse
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in ("", "csv", "txt", "tsv", "xlsx", "xlsm", "xls"):
        parse.problems.append(_problem("unsupported_type", name=filename[-60:]))
        return parse
    if data.startswith(b"PK\x03\x04"):
        parse.format = "xlsx"
        rows = _xlsx_rows(data, parse)
    elif data.startswith(b"\xd0\xcf\x11\xe0"):
        # An OLE container: an old .xls workbook, or an XLSX encrypted with a password.
        encrypted = "EncryptionInfo".encode("utf-16-le") in data
        parse.problems.append(_problem("encrypted" if encrypted else "xls_format"))
        return parse
    else:
        parse.format = "csv"
        rows = _csv_rows(data, parse)
    if rows is None:
        return parse
    _read_rows(rows, parse, max_rows=max_rows)
    return parse


@dataclass
class _Row:
    number: int  # 1-based, as the spreadsheet program shows it
    cells: list[Any]


@dataclass
class _Context:
    decimal_comma: bool  # a single comma in a number is a decimal separator
    comma_delimited: bool  # a comma in a number is ambiguous (comma-separated CSV)


# XLSX


def _xlsx_rows(data: bytes, parse: UploadParse) -> Iterator[_Row] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            unzipped = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        parse.problems.append(_problem("unreadable"))
        return None
    if "xl/workbook.xml" not in names:
        parse.problems.append(_problem("not_xlsx"))
        return None
    if unzipped > MAX_UNZIPPED_BYTES:
        parse.problems.append(_problem("workbook_too_large", max=MAX_UNZIPPED_BYTES // (1024 * 1024)))
        return None
    from python_calamine import CalamineWorkbook, PasswordError

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = workbook.get_sheet_by_index(0)
        start = sheet.start
        rows = list(sheet.iter_rows()) if start is not None else []
    except PasswordError:
        parse.problems.append(_problem("encrypted"))
        return None
    except Exception:  # the reader's errors are many and undocumented: all mean "unreadable"
        parse.problems.append(_problem("unreadable"))
        return None
    offset = start[1] if start is not None else 0
    # iter_rows numbers rows from the top of the sheet but starts columns at the first used one.
    return (_Row(number, [""] * offset + list(cells)) for number, cells in enumerate(rows, start=1))


# CSV


def _decode(data: bytes, parse: UploadParse) -> str | None:
    if data.startswith(codecs.BOM_UTF8):
        parse.encoding = "utf-8-sig"
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8")
        except UnicodeDecodeError:
            parse.problems.append(_problem("malformed_encoding"))
            return None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        parse.encoding = "utf-16"
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            parse.problems.append(_problem("unreadable"))
            return None
    if b"\x00" in data:
        parse.problems.append(_problem("unreadable"))
        return None
    try:
        text = data.decode("utf-8")
        parse.encoding = "utf-8"
    except UnicodeDecodeError:
        text = data.decode("cp1256", errors="replace")
        parse.encoding = "windows-1256"
    controls = sum(1 for char in text if unicodedata.category(char) == "Cc" and char not in "\t\r\n")
    if controls > len(text) // 100:
        parse.problems.append(_problem("unreadable"))
        return None
    return text


def _csv_rows(data: bytes, parse: UploadParse) -> Iterator[_Row] | None:
    text = _decode(data, parse)
    if text is None:
        return None
    first_line, _newline, rest = text.partition("\n")
    hint = re.fullmatch(r'"?sep=(.)"?\s*', first_line, flags=re.IGNORECASE)
    if hint:
        # Excel's own hint; it hides the line, so rows are numbered from the next one.
        text, delimiter = rest, hint.group(1)
    else:
        delimiter = _sniff(text)
    parse.delimiter = delimiter
    return _csv_iter(text, delimiter, parse)


def _sniff(text: str) -> str:
    """The delimiter that splits the first non-empty row into the most known headers (then fields)."""
    best, best_score = ",", (-1, -1)
    for delimiter in (",", ";", "\t"):
        try:
            reader = csv.reader(io.StringIO(text[:65536], newline=""), delimiter=delimiter)
            header = next((row for row in reader if any(cell.strip() for cell in row)), [])
        except csv.Error:
            continue
        score = (sum(1 for cell in header if _label_key(cell) in LABELS), len(header))
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _csv_iter(text: str, delimiter: str, parse: UploadParse) -> Iterator[_Row]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):
            yield _Row(number, cells)
    except csv.Error:
        parse.problems.append(_problem("malformed_csv", number + 1, line=number + 1))
        raise _StopReading from None


class _StopReading(Exception):
    """The file broke off while being read; its problem is already recorded."""


# Headers


def _label_key(text: Any) -> str:
    """A header as compared: accents, Arabic diacritics and tatweel, case and spacing aside."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    bare = "".join(char for char in decomposed if not unicodedata.combining(char)).replace("\u0640", "")
    bare = bare.replace("\u2019", "'").replace("\u02bc", "'")
    return " ".join(bare.split()).casefold().strip(" *:")


def _labels() -> dict[str, str]:
    labels: dict[str, str] = {}
    for column in COLUMNS:
        for label in (column.code, column.fr, column.ar):
            key = _label_key(label)
            if labels.get(key, column.code) != column.code:
                raise ValueError(f"header {label!r} names two columns")
            labels[key] = column.code
    return labels


LABELS = _labels()


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _read_rows(rows: Iterable[_Row], parse: UploadParse, *, max_rows: int) -> None:
    try:
        _read_rows_or_stop(iter(rows), parse, max_rows=max_rows)
    except _StopReading:
        _clear(parse)


def _clear(parse: UploadParse) -> None:
    parse.records.clear()
    parse.base_versions.clear()
    parse.rows.clear()
    parse.commune_fields.clear()


def _read_rows_or_stop(rows: Iterator[_Row], parse: UploadParse, *, max_rows: int) -> None:
    header = next((row for row in rows if not all(_blank(cell) for cell in row.cells)), None)
    if header is None:
        parse.problems.append(_problem("empty_file"))
        return
    columns: dict[int, str] = {}  # position → field code
    typed: dict[int, str] = {}
    for position, cell in enumerate(header.cells):
        if _blank(cell):
            continue
        text = " ".join(str(cell).split())
        typed[position] = text
        code = LABELS.get(_label_key(cell))
        if code is not None:
            columns[position] = code
    if not columns:
        parse.problems.append(_problem("no_header", header.number))
        return
    for position, text in typed.items():
        code = columns.get(position)
        letter = f"{_letter(position)}{header.number}"
        if code is None:
            parse.problems.append(_problem("unknown_column", header.number, text, letter, header=text))
        elif code in parse.headers:
            parse.problems.append(
                _problem(
                    "duplicate_column", header.number, text, letter, header=text, other=parse.headers[code]
                )
            )
            del columns[position]
        else:
            parse.headers[code] = text
            parse.letters[code] = _letter(position)

    data: list[_Row] = []
    unnamed: set[int] = set()
    echoes = True
    for row in rows:
        cells = row.cells
        if all(_blank(cell) for cell in cells):
            continue
        if echoes and _is_echo(cells, columns):
            continue  # the same headers again, in another language
        echoes = False
        unnamed.update(
            position for position, cell in enumerate(cells) if position not in typed and not _blank(cell)
        )
        data.append(row)
        if len(data) > max_rows:
            parse.problems.append(_problem("too_many_rows", max=max_rows))
            return
    for position in sorted(unnamed):
        parse.problems.append(
            _problem(
                "unnamed_column",
                header.number,
                None,
                f"{_letter(position)}{header.number}",
                letter=_letter(position),
            )
        )

    withdrawn_at = next((p for p, code in columns.items() if code == "withdrawn"), None)
    projects = any(withdrawn_at is None or not _is_yes(_cell(row.cells, withdrawn_at)) for row in data)
    required = [c.code for c in COLUMNS if c.code not in OPTIONAL_COLUMNS] if projects else []
    for code in ("operator", "operator_ref", *required):
        if code not in parse.headers:
            column = BY_CODE[code]
            parse.problems.append(
                _problem("missing_column", header.number, column.fr, None, header=column.fr)
            )
    if parse.problems:
        return
    if not data:
        parse.problems.append(_problem("no_rows", header.number))
        return
    context = _Context(
        decimal_comma=parse.format == "xlsx" or parse.delimiter in (";", "\t"),
        comma_delimited=parse.format == "csv" and parse.delimiter == ",",
    )
    seen: dict[tuple[str, str], int] = {}
    for row in data:
        values = {code: _cell(row.cells, position) for position, code in columns.items()}
        built = _build(values, row.number, parse, context)
        if built is None:
            continue
        record, base_version, communes = built
        key = (record.get("operator") or "", record.get("operator_ref") or "")
        if all(key) and key in seen:
            parse.problems.append(
                _problem(
                    "duplicate_row",
                    row.number,
                    parse.headers["operator_ref"],
                    f"{parse.letters['operator_ref']}{row.number}",
                    line=seen[key],
                )
            )
            continue
        seen[key] = row.number
        parse.records.append(record)
        parse.base_versions.append(base_version)
        parse.rows.append(row.number)
        parse.commune_fields.append(communes)


def _cell(cells: Sequence[Any], position: int) -> Any:
    return cells[position] if position < len(cells) else None


def _is_echo(cells: Sequence[Any], columns: Mapping[int, str]) -> bool:
    filled = [(position, cell) for position, cell in enumerate(cells) if not _blank(cell)]
    if len(filled) < min(2, len(columns)):
        return False
    return all(LABELS.get(_label_key(cell)) == columns.get(position) for position, cell in filled)


def _is_yes(value: Any) -> bool:
    try:
        return _boolean(value)
    except _CellError:
        return False


# Cells


ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹٫٬", "01234567890123456789.,")
SPACES = re.compile(r"[\s\u00a0\u202f\u2009\u2007']+")
FRENCH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
DATE_PART = r"\s*(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{4})?\s*"
MILESTONE_DATES = re.compile(rf"({DATE_PART})(?:/({DATE_PART}))?(?:/({DATE_PART}))?")
LIST_SEPARATORS = re.compile(rf"[;\n{ARABIC_SEMICOLON}]")


def _float_text(value: float) -> str:
    """A spreadsheet number as the person sees it: 15 significant digits, no exponent, no ``.0``."""
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = format(Decimal(format(value, ".15g")).normalize(), "f")
    return text


def _text(value: Any) -> str | None:
    """A cell as stripped text (None when empty), whatever type the spreadsheet gave it."""
    if value is None:
        return None
    if isinstance(value, bool):
        text = "1" if value else "0"
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = _float_text(value)
    elif isinstance(value, datetime):
        text = value.date().isoformat()
    elif isinstance(value, date):
        text = value.isoformat()
    elif isinstance(value, time | timedelta):
        text = str(value)
    else:
        text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    text = text.strip()
    return text or None


def _number(value: Any, context: _Context, *, percent: bool = False) -> str | None:
    if isinstance(value, float | int) and not isinstance(value, bool):
        return _text(value)
    text = _text(value)
    if text is None:
        return None
    text = SPACES.sub("", text.translate(ARABIC_DIGITS))
    if percent:
        text = text.rstrip("%")
    if "," in text:
        if context.comma_delimited:
            raise _CellError("ambiguous_decimal", value=_shown(value))
        if context.decimal_comma and text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")
    return text or None


def _date(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = _text(value)
    if text is None:
        return None
    return _iso(text.translate(ARABIC_DIGITS))


def _iso(text: str) -> str:
    """``DD/MM/YYYY`` and unpadded ISO dates as ``YYYY-MM-DD``; anything else as typed, for the rules."""
    text = text.strip()
    match = FRENCH_DATE.fullmatch(text)
    if match:
        day, month, year = (int(part) for part in match.groups())
    else:
        match = ISO_DATE.fullmatch(text)
        if not match:
            return text
        year, month, day = (int(part) for part in match.groups())
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return text


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value)
    if text is None:
        return False
    key = _label_key(text)
    if key in YES:
        return True
    if key in NO:
        return False
    raise _CellError("malformed_boolean", value=_shown(value))


def _integer(value: Any) -> int | None:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = _text(value)
    if text is None:
        return None
    text = text.translate(ARABIC_DIGITS)
    if not re.fullmatch(r"\d{1,9}", text):
        raise _CellError("malformed_integer", value=_shown(value))
    return int(text)


def _shown(value: Any) -> str:
    text = _text(value) or ""
    return text if len(text) <= 40 else text[:39] + "…"


def _entries(value: Any, kind: str) -> list[tuple[str, str | None]]:
    """``key=value; key=value`` (``:`` also separates); a key alone is allowed for communes only."""
    text = _text(value)
    if text is None:
        return []
    entries: list[tuple[str, str | None]] = []
    keys: set[str] = set()
    for raw in LIST_SEPARATORS.split(text):
        entry = raw.strip()
        if not entry:
            continue
        match = re.match(r"([^=:]*)[=:](.*)", entry, flags=re.DOTALL)
        if match:
            key, rest = match.group(1).strip(), match.group(2).strip()
        elif kind == "communes":
            key, rest = entry, None
        else:
            raise _CellError("malformed_list", value=_shown(entry), expected=EXPECTED[kind])
        if not key:
            raise _CellError("malformed_list", value=_shown(entry), expected=EXPECTED[kind])
        if kind != "communes":
            key = key.upper()
        if key in keys:
            raise _CellError("duplicate_entry", value=_shown(key))
        keys.add(key)
        entries.append((key, rest))
    return entries


_WHOLE = object()  # read the whole cell, not a part of it


class _RowReader:
    """Reads the cells of one row; a cell that cannot be read becomes a problem naming that cell."""

    def __init__(self, values: Mapping[str, Any], number: int, parse: UploadParse, context: _Context):
        self.values = values
        self.line = number
        self.parse = parse
        self.context = context
        self.problems: list[dict] = []

    def report(self, code: str, problem: str, **params: Any) -> None:
        headers, letters = self.parse.headers, self.parse.letters
        self.problems.append(
            _problem(problem, self.line, headers[code], f"{letters[code]}{self.line}", **params)
        )

    def read(self, code: str, reader, *args: Any, value: Any = _WHOLE, **options: Any) -> Any:
        """``reader`` applied to the cell of column ``code`` (or to ``value``, a part of that cell)."""
        try:
            return reader(self.values.get(code) if value is _WHOLE else value, *args, **options)
        except _CellError as error:
            self.report(code, error.code, **error.params)
            return None

    def text(self, code: str) -> str | None:
        return _text(self.values.get(code))

    def code(self, code: str) -> str | None:
        text = self.text(code)
        return text.upper() if text is not None else None

    def number(self, code: str, *, percent: bool = False, value: Any = _WHOLE) -> str | None:
        return self.read(code, _number, self.context, percent=percent, value=value)


def _build(
    values: Mapping[str, Any], number: int, parse: UploadParse, context: _Context
) -> tuple[dict, int | None, dict[str, str]] | None:
    """One row as a record, its base version and the column each commune was written in; None, with
    the problems recorded, when a cell cannot be read."""
    row = _RowReader(values, number, parse, context)
    withdrawn = row.read("withdrawn", _boolean) if "withdrawn" in values else False
    base_version = row.read("base_version", _integer) if "base_version" in values else None
    if withdrawn:
        record: dict[str, Any] = {
            "operator": row.code("operator"),
            "operator_ref": row.text("operator_ref"),
            "withdrawn": True,
            "reason": row.text("reason") or "",
        }
        where: dict[str, str] = {}
    else:
        record, where = _project(row)
    if row.problems:
        parse.problems.extend(row.problems)
        return None
    return record, base_version, where


def _project(row: _RowReader) -> tuple[dict, dict[str, str]]:
    communes: dict[str, dict] = {}
    where: dict[str, str] = {}
    primary = row.text("commune")
    if primary is not None:
        communes[primary] = {"primary": True, "share": row.number("commune_share", percent=True)}
        where[primary] = "commune"
    for code, share in row.read("other_communes", _entries, "communes") or []:
        if code in communes:
            row.report("other_communes", "duplicate_entry", value=code)
            continue
        communes[code] = {"primary": False, "share": row.number("other_communes", percent=True, value=share)}
        where[code] = "other_communes"
    financing = {
        code: row.number("financing", value=amount)
        for code, amount in row.read("financing", _entries, "financing") or []
    }
    outputs = {}
    for code, pair in row.read("outputs", _entries, "outputs") or []:
        parts = row.read("outputs", _output_parts, code, value=pair)
        if parts is not None:
            target, achieved = (row.number("outputs", value=part) for part in parts)
            outputs[code] = {"target": target, "achieved": achieved}
    milestones = {}
    for code, dates in row.read("milestones", _entries, "milestones") or []:
        parts = row.read("milestones", _milestone_dates, code, value=dates)
        if parts is not None:
            milestones[code] = dict(zip(("planned", "forecast", "actual"), parts, strict=True))
    lat, lon = row.number("lat"), row.number("lon")
    location = None
    if lat is not None or lon is not None:
        location = {name: value for name, value in (("lat", lat), ("lon", lon)) if value is not None}
    record = {
        "operator": row.code("operator"),
        "operator_ref": row.text("operator_ref"),
        "title": {"fr": row.text("title_fr") or "", "ar": row.text("title_ar") or ""},
        "description": {"fr": row.text("description_fr") or "", "ar": row.text("description_ar") or ""},
        "programme": row.code("programme"),
        "status": row.code("status"),
        "agreement": row.text("agreement"),
        "communes": communes,
        "location": location,
        "area_ha": row.number("area_ha"),
        "planned_start": _date(row.values.get("planned_start")),
        "planned_end": _date(row.values.get("planned_end")),
        "actual_start": _date(row.values.get("actual_start")),
        "actual_end": _date(row.values.get("actual_end")),
        "budget": row.number("budget"),
        "financing": financing,
        "outputs": outputs,
        "milestones": milestones,
        "as_of": _date(row.values.get("as_of")),
        "progress": row.number("progress", percent=True),
        "committed": row.number("committed"),
        "paid": row.number("paid"),
    }
    return record, where


def _output_parts(text: str | None, code: str) -> tuple[str, str]:
    """``target/achieved``, either may be empty (``275/``, ``/40``, or ``275`` for a target alone)."""
    text = text or ""
    parts = text.split("/")
    if len(parts) > 2:
        raise _CellError("malformed_list", value=_shown(f"{code}={text}"), expected=EXPECTED["outputs"])
    return parts[0], parts[1] if len(parts) == 2 else ""


def _milestone_dates(text: str | None, code: str) -> tuple[str | None, str | None, str | None]:
    """``planned/forecast/actual``, each a date or empty; a date may be written ``DD/MM/YYYY``."""
    text = text or ""
    match = MILESTONE_DATES.fullmatch(text.translate(ARABIC_DIGITS))
    if match is None:
        raise _CellError("malformed_list", value=_shown(f"{code}={text}"), expected=EXPECTED["milestones"])
    planned, forecast, actual = (_iso(part) if part and part.strip() else None for part in match.groups())
    return planned, forecast, actual


# --- Writing: the template, empty or filled with records ---------------------------------------------------


SCALAR_FIELDS = (
    "programme",
    "status",
    "agreement",
    "area_ha",
    "planned_start",
    "planned_end",
    "actual_start",
    "actual_end",
    "budget",
    "as_of",
    "progress",
    "committed",
    "paid",
)
WORKBOOK_OPTIONS = {
    "in_memory": True,
    "strings_to_numbers": False,
    "strings_to_formulas": False,
    "strings_to_urls": False,
}
HEADER_FR = {"bold": True, "font_color": "#FFFFFF", "bg_color": "#1F4E79", "text_wrap": True, "border": 1}
HEADER_AR = {"bold": True, "bg_color": "#DDEBF7", "text_wrap": True, "border": 1, "reading_order": 2}


def record_cells(record: Mapping, base_version: int | None = None) -> dict[str, str]:
    """A record as the template's cells (field code → text): the inverse of reading a row."""
    cells = dict.fromkeys(BY_CODE, "")
    cells["operator"] = record.get("operator") or ""
    cells["operator_ref"] = record.get("operator_ref") or ""
    cells["base_version"] = "" if base_version is None else str(base_version)
    if record.get("withdrawn"):
        cells["withdrawn"] = "oui"
        cells["reason"] = record.get("reason") or ""
        return cells
    for language in ("fr", "ar"):
        cells[f"title_{language}"] = (record.get("title") or {}).get(language) or ""
        cells[f"description_{language}"] = (record.get("description") or {}).get(language) or ""
    others = []
    for code, entry in (record.get("communes") or {}).items():
        share = entry.get("share")
        if entry.get("primary"):
            cells["commune"], cells["commune_share"] = code, share or ""
        else:
            others.append(code if share is None else f"{code}={share}")
    cells["other_communes"] = "; ".join(others)
    location = record.get("location") or {}
    cells["lat"], cells["lon"] = location.get("lat") or "", location.get("lon") or ""
    cells["financing"] = "; ".join(
        f"{code}={amount or ''}" for code, amount in (record.get("financing") or {}).items()
    )
    cells["outputs"] = "; ".join(
        f"{code}={values.get('target') or ''}/{values.get('achieved') or ''}"
        for code, values in (record.get("outputs") or {}).items()
    )
    cells["milestones"] = "; ".join(
        f"{code}=" + "/".join(dates.get(name) or "" for name in ("planned", "forecast", "actual"))
        for code, dates in (record.get("milestones") or {}).items()
    )
    for name in SCALAR_FIELDS:
        cells[name] = record.get(name) or ""
    return cells


def _filled_rows(records: Iterable[Mapping], base_versions: Sequence[int | None] | None) -> list[dict]:
    records = list(records)
    versions = list(base_versions) if base_versions is not None else [None] * len(records)
    return [record_cells(record, version) for record, version in zip(records, versions, strict=True)]


def template_csv(
    records: Iterable[Mapping] = (), *, base_versions: Sequence[int | None] | None = None
) -> bytes:
    """The template as CSV: UTF-8 with BOM, semicolons and CRLF, as French Excel reads and writes it;
    row 1 French headers, row 2 Arabic headers, then one row per record given."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=CSV_DELIMITER, lineterminator="\r\n")
    writer.writerow([column.fr for column in COLUMNS])
    writer.writerow([column.ar for column in COLUMNS])
    for cells in _filled_rows(records, base_versions):
        writer.writerow([cells[column.code] for column in COLUMNS])
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


def template_xlsx(
    records: Iterable[Mapping] = (), *, base_versions: Sequence[int | None] | None = None
) -> bytes:
    """The template as an XLSX workbook: the projects sheet first (French and Arabic header rows, code
    and list columns formatted as text so that HCP codes and references keep their form, real date
    cells), then the columns explained, and the reference codes, organisations and communes with their
    French and Arabic names. Records given fill the projects sheet (numbers written as text, so they
    keep their exact decimal form)."""
    import xlsxwriter

    rows = _filled_rows(records, base_versions)
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, WORKBOOK_OPTIONS)
    header_fr = workbook.add_format(HEADER_FR)
    header_ar = workbook.add_format(HEADER_AR)
    text = workbook.add_format({"num_format": "@"})
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    bold = workbook.add_format({"bold": True})

    sheet = workbook.add_worksheet(DATA_SHEET)
    for position, column in enumerate(COLUMNS):
        cell_format = day if column.kind == "date" else text if column.kind in TEXT_KINDS else None
        sheet.set_column(position, position, column.width, cell_format)
        sheet.write_string(0, position, column.fr, header_fr)
        sheet.write_string(1, position, column.ar, header_ar)
        sheet.write_comment(
            0, position, f"{column.hint_fr}\n{column.hint_ar}", {"x_scale": 2.5, "y_scale": 1.6}
        )
    sheet.set_row(0, 32)
    sheet.set_row(1, 32)
    sheet.freeze_panes(2, 2)
    for number, cells in enumerate(rows, start=2):
        for position, column in enumerate(COLUMNS):
            value = cells[column.code]
            if not value:
                continue
            parsed = _iso_date(value) if column.kind == "date" else None
            if parsed is not None:
                sheet.write_datetime(number, position, parsed, day)
            else:
                sheet.write_string(number, position, value, text if column.kind in TEXT_KINDS else None)

    _columns_sheet(workbook, bold)
    ranges = _codes_sheet(workbook, bold)
    # Drop-down lists that still let a person type another value (the rules check codes on reading).
    lists = {code: {"source": source, "error_type": "warning"} for code, source in ranges.items()}
    lists["withdrawn"] = {"source": ["oui", "non"], "error_type": "information"}
    positions = {column.code: position for position, column in enumerate(COLUMNS)}
    for code, options in lists.items():
        position = positions[code]
        sheet.data_validation(2, position, MAX_ROWS + 1, position, {"validate": "list", **options})
    _organisations_sheet(workbook, bold)
    _communes_sheet(workbook, bold)
    workbook.close()
    return buffer.getvalue()


def _iso_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if ISO_DATE.fullmatch(value) else None
    except ValueError:
        return None


def _columns_sheet(workbook, bold) -> None:
    sheet = workbook.add_worksheet("Colonnes - الأعمدة")
    titles = ("Code", "En-tête (français)", "العنوان (بالعربية)", "À saisir", "ما يجب إدخاله", "Exemple")
    for position, (title, width) in enumerate(zip(titles, (16, 32, 36, 60, 60, 36), strict=True)):
        sheet.set_column(position, position, width)
        sheet.write_string(0, position, title, bold)
    for number, column in enumerate(COLUMNS, start=1):
        values = (column.code, column.fr, column.ar, column.hint_fr, column.hint_ar, column.example)
        for position, value in enumerate(values):
            sheet.write_string(number, position, value)
    sheet.freeze_panes(1, 1)


def _named(entries: Iterable) -> list[tuple[str, ...]]:
    return [(entry.code, entry.name_fr, entry.name_ar) for entry in entries]


def _codes_sheet(workbook, bold) -> dict[str, str]:
    """Programmes, statuses, milestone types and reported indicators; returns the ranges of the
    programme and status codes, for the lists of the projects sheet."""
    from marsad.registry import selectors
    from marsad.registry.choices import IndicatorUnit

    name = "Codes - الرموز"
    sheet = workbook.add_worksheet(name)
    for position, width in enumerate((14, 48, 48, 14, 14)):
        sheet.set_column(position, position, width)
    indicators = []
    for indicator in selectors.indicators(reported=True):
        unit = in_both_languages(IndicatorUnit(indicator.unit).label)
        indicators.append((indicator.code, indicator.name_fr, indicator.name_ar, unit["fr"], unit["ar"]))
    sections = (
        ("programme", "Programmes - البرامج", _named(selectors.programme_list())),
        ("status", "Statuts - الوضعيات", _named(selectors.statuses())),
        ("", "Types de jalons - أنواع المحطات", _named(selectors.milestone_types())),
        ("", "Indicateurs déclarés - المؤشرات المصرح بها", indicators),
    )
    ranges: dict[str, str] = {}
    number = 0
    for code, title, entries in sections:
        sheet.write_string(number, 0, title, bold)
        headings = ("Code", "Nom (français)", "الاسم (بالعربية)", "Unité", "الوحدة")
        for position, heading in enumerate(headings[: len(entries[0]) if entries else 3]):
            sheet.write_string(number + 1, position, heading, bold)
        first = number + 2
        for offset, entry in enumerate(entries):
            for position, value in enumerate(entry):
                sheet.write_string(first + offset, position, str(value))
        if code and entries:
            ranges[code] = f"='{name}'!$A${first + 1}:$A${first + len(entries)}"
        number = first + len(entries) + 1
    return ranges


def _organisations_sheet(workbook, bold) -> None:
    from marsad.accounts.selectors import organisation_list

    sheet = workbook.add_worksheet("Organisations - الهيئات")
    for position, (title, width) in enumerate(
        zip(("Code", "Nom (français)", "الاسم (بالعربية)"), (24, 60, 60), strict=True)
    ):
        sheet.set_column(position, position, width)
        sheet.write_string(0, position, title, bold)
    for number, organisation in enumerate(organisation_list(), start=1):
        for position, value in enumerate((organisation.code, organisation.name_fr, organisation.name_ar)):
            sheet.write_string(number, position, value)
    sheet.freeze_panes(1, 1)


def _communes_sheet(workbook, bold) -> None:
    from marsad.territories.choices import Level
    from marsad.territories.selectors import territory_list

    provinces = {p.code: p for p in territory_list(level=Level.PROVINCE)}
    sheet = workbook.add_worksheet("Communes - الجماعات")
    titles = ("Code HCP", "Commune", "الجماعة", "Province ou préfecture", "العمالة أو الإقليم")
    for position, (title, width) in enumerate(zip(titles, (16, 36, 36, 36, 36), strict=True)):
        sheet.set_column(
            position, position, width, workbook.add_format({"num_format": "@"}) if not position else None
        )
        sheet.write_string(0, position, title, bold)
    units = list(territory_list(level=Level.COMMUNE)) + list(territory_list(level=Level.ARRONDISSEMENT))
    for number, unit in enumerate(sorted(units, key=lambda u: u.code), start=1):
        province = provinces.get(unit.province_code)
        values = (
            unit.code,
            unit.name_fr,
            unit.name_ar,
            province.name_fr if province else "",
            province.name_ar if province else "",
        )
        for position, value in enumerate(values):
            sheet.write_string(number, position, value)
    sheet.freeze_panes(1, 1)
