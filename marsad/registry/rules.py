"""Validation rules: one list, one engine, used by the forms, the exchange API and uploads.

Every rule has a code, a severity and a message in French and Arabic. An *error* rejects the record;
a *warning* lets it through and is stored on the version it produced (the indicator engine raises
alerts from them). Problems point into the record with a JSON pointer (``/financing/MA-CR-06``).

The engine runs in two steps: ``parse`` checks the shape of a raw record (fields, codes, amounts,
dates) against the reference catalogue and returns a normalised ``Record``; ``check`` applies the
business rules to a parsed record, given the project's previous state when there is one.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

ERROR = "error"
WARNING = "warning"
Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Rule:
    code: str
    severity: Severity
    message: Promise


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {rule.code: rule for rule in rules}


RULES: dict[str, Rule] = _rules(
    # Errors: the record is rejected.
    Rule("required", ERROR, _("Champ obligatoire manquant : %(field)s.")),
    Rule("unknown_field", ERROR, _("Champ inconnu : %(field)s.")),
    Rule("malformed_record", ERROR, _("L'enregistrement doit être un objet JSON.")),
    Rule("malformed_text", ERROR, _("Texte invalide ou trop long (%(max)s caractères au plus).")),
    Rule(
        "malformed_amount",
        ERROR,
        _("Montant invalide : %(value)s (un nombre positif en dirhams, 2 décimales au plus)."),
    ),
    Rule("malformed_number", ERROR, _("Nombre invalide : %(value)s.")),
    Rule("malformed_date", ERROR, _("Date invalide : %(value)s (format AAAA-MM-JJ).")),
    Rule("malformed_code", ERROR, _("Code mal formé : %(value)s.")),
    Rule("unknown_code", ERROR, _("Code inconnu du référentiel : %(value)s.")),
    Rule(
        "unknown_commune",
        ERROR,
        _("Commune inconnue : %(value)s (code HCP d'une commune ou d'un arrondissement)."),
    ),
    Rule("communes_primary", ERROR, _("Le projet doit avoir exactement une commune principale.")),
    Rule(
        "commune_shares",
        ERROR,
        _("Les parts des communes doivent être toutes renseignées et totaliser 100 %."),
    ),
    Rule(
        "indicator_not_reported",
        ERROR,
        _("L'indicateur %(value)s est calculé par la plateforme, il ne se déclare pas."),
    ),
    Rule(
        "location_outside_morocco", ERROR, _("La localisation (%(value)s) est hors du territoire national.")
    ),
    Rule(
        "progress_out_of_range",
        ERROR,
        _("L'avancement physique (%(value)s) doit être compris entre 0 et 100."),
    ),
    Rule("end_before_start", ERROR, _("La date de fin (%(end)s) précède la date de début (%(start)s).")),
    Rule("as_of_in_future", ERROR, _("La date de situation (%(value)s) est dans le futur.")),
    Rule("operator_not_permitted", ERROR, _("Vous n'êtes pas autorisé à écrire pour l'opérateur %(value)s.")),
    Rule("unknown_project", ERROR, _("Aucun projet de cet opérateur ne porte la référence %(value)s.")),
    Rule("withdrawn_project", ERROR, _("Le projet %(value)s a été retiré ; il ne peut plus être modifié.")),
    Rule(
        "version_conflict",
        ERROR,
        _(
            "Conflit de version : l'enregistrement part de la version %(base)s, "
            "la version actuelle est %(current)s."
        ),
    ),
    # Warnings: the record is kept, the warning is stored on its version.
    Rule(
        "paid_exceeds_committed",
        WARNING,
        _("Le montant payé (%(paid)s) dépasse le montant engagé (%(committed)s)."),
    ),
    Rule(
        "committed_exceeds_budget",
        WARNING,
        _("Le montant engagé (%(committed)s) dépasse le budget (%(budget)s)."),
    ),
    Rule(
        "financing_mismatch",
        WARNING,
        _("Le plan de financement (%(total)s) s'écarte du budget (%(budget)s) de plus de 1 %%."),
    ),
    Rule("status_incoherent", WARNING, _("Statut %(status)s incohérent : %(reason)s")),
    Rule("progress_regression", WARNING, _("L'avancement recule de %(before)s %% à %(after)s %%.")),
)

INCOHERENCE_REASONS = {
    "completed_below_100": _("un projet achevé doit être avancé à 100 %."),
    "completed_without_end": _("un projet achevé doit avoir une date de fin effective."),
    "not_started_with_progress": _("un projet qui n'a pas commencé ne peut pas avoir d'avancement."),
    "ended_but_open": _("une date de fin effective est renseignée mais le projet n'est ni achevé ni annulé."),
}


def escape_pointer(token: str) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


@functools.lru_cache(maxsize=4096)
def pointer(*tokens: Any) -> str:
    """The JSON pointer of a place in a record (the same few thousand are built for every record of a
    batch: kept)."""
    return "".join("/" + escape_pointer(str(token)) for token in tokens)


@dataclass(frozen=True)
class Issue:
    code: str
    pointer: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def rule(self) -> Rule:
        return RULES[self.code]

    @property
    def severity(self) -> Severity:
        return self.rule.severity

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def message(self, language: str) -> str:
        with translation.override(language):
            values = {name: str(value) for name, value in self.params}
            return str(self.rule.message) % values

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "severity": self.severity,
            "pointer": self.pointer,
            "message_fr": self.message("fr"),
            "message_ar": self.message("ar"),
        }


def issue(code: str, at: str, **params: Any) -> Issue:
    return Issue(code, at, tuple(sorted(params.items())))


# --- The reference catalogue a batch is checked against --------------------------------------------------


@dataclass(frozen=True)
class CommuneRef:
    id: int
    code: str
    path: str
    region_code: str
    province_code: str


@dataclass
class Catalogue:
    """Codes known to the platform, loaded once per batch."""

    today: date
    programmes: set[str]
    statuses: dict[str, dict[str, bool]]
    milestone_types: set[str]
    reported_indicators: set[str]
    computed_indicators: set[str]
    organisations: dict[str, int]
    agreements: dict[str, int]
    communes: dict[str, CommuneRef]

    @classmethod
    def load(cls, *, today: date) -> Catalogue:
        from marsad.accounts.models import Organisation
        from marsad.territories.choices import Level
        from marsad.territories.models import Territory

        from .models import Agreement, Indicator, MilestoneType, Programme, Status

        indicators = list(Indicator.objects.values_list("code", "reported"))
        return cls(
            today=today,
            programmes=set(Programme.objects.values_list("code", flat=True)),
            statuses={
                code: {"completed": completed, "cancelled": cancelled, "started": started}
                for code, completed, cancelled, started in Status.objects.values_list(
                    "code", "is_completed", "is_cancelled", "is_started"
                )
            },
            milestone_types=set(MilestoneType.objects.values_list("code", flat=True)),
            reported_indicators={code for code, reported in indicators if reported},
            computed_indicators={code for code, reported in indicators if not reported},
            organisations=dict(Organisation.objects.values_list("code", "id")),
            agreements=dict(Agreement.objects.values_list("reference", "id")),
            communes={
                code: CommuneRef(pk, code, path, region, province)
                for pk, code, path, region, province in Territory.objects.filter(
                    level__in=[Level.COMMUNE, Level.ARRONDISSEMENT]
                ).values_list("id", "code", "path", "region_code", "province_code")
            },
        )


# --- Parsing: the shape of a record ------------------------------------------------------------------------

RECORD_FIELDS = {
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
}
WITHDRAWAL_FIELDS = {"operator", "operator_ref", "withdrawn", "reason"}
REQUIRED_FIELDS = ("operator", "operator_ref", "title", "programme", "status", "communes", "budget")
DATE_FIELDS = ("planned_start", "planned_end", "actual_start", "actual_end", "as_of")
MONEY_FIELDS = ("budget", "committed", "paid")
CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{0,15}$")
ORGANISATION_PATTERN = re.compile(r"^MA-[A-Z0-9][A-Z0-9.\-]{0,36}$")
COMMUNE_PATTERN = re.compile(r"^\d{2}\.\d{3}\.\d{2}\.\d{1,2}$")
REFERENCE_PATTERN = re.compile(r"^[^\s/][^/]{0,63}$")
DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")
TWO_PLACES = Decimal("0.01")
MAX_AMOUNT = Decimal("99999999999999.99")
MAX_QUANTITY = Decimal("999999999999.99")
LATITUDE = (Decimal(20), Decimal("36.5"))
LONGITUDE = (Decimal("-17.5"), Decimal("-0.5"))


@dataclass
class Record:
    """A parsed, normalised project record (or a withdrawal). Money and measures are Decimal."""

    operator: str
    operator_ref: str
    withdrawn: bool = False
    reason: str = ""
    title: dict[str, str] = field(default_factory=dict)
    description: dict[str, str] = field(default_factory=dict)
    programme: str = ""
    status: str = ""
    agreement: str | None = None
    communes: dict[str, Decimal | None] = field(default_factory=dict)
    primary_commune: str = ""
    location: tuple[Decimal, Decimal] | None = None
    area_ha: Decimal | None = None
    planned_start: date | None = None
    planned_end: date | None = None
    actual_start: date | None = None
    actual_end: date | None = None
    budget: Decimal = Decimal(0)
    financing: dict[str, Decimal] = field(default_factory=dict)
    outputs: dict[str, dict[str, Decimal | None]] = field(default_factory=dict)
    milestones: dict[str, dict[str, date | None]] = field(default_factory=dict)
    as_of: date | None = None
    progress: Decimal | None = None
    committed: Decimal | None = None
    paid: Decimal | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.operator, self.operator_ref


class _Parser:
    def __init__(self, catalogue: Catalogue):
        self.catalogue = catalogue
        self.issues: list[Issue] = []

    def add(self, code: str, at: str, **params) -> None:
        self.issues.append(issue(code, at, **params))

    def text(self, value: Any, at: str, max_length: int, *, required: bool = False) -> str:
        if value is None or value == "":
            if required:
                self.add("required", at, field=at.lstrip("/"))
            return ""
        if not isinstance(value, str) or len(value) > max_length or "\x00" in value:
            self.add("malformed_text", at, max=max_length)
            return ""
        return value.strip()

    def decimal(
        self, value: Any, at: str, *, money: bool = False, maximum: Decimal = MAX_QUANTITY
    ) -> Decimal | None:
        if value is None or value == "":
            return None
        code = "malformed_amount" if money else "malformed_number"
        if type(value) is not str and (
            isinstance(value, bool)
            or (not isinstance(value, str | int | Decimal) and not _is_exact_float(value))
        ):
            self.add(code, at, value=_shown(value))
            return None
        try:
            number = Decimal(str(value).strip().replace(",", ".").replace("\u202f", "").replace(" ", ""))
        except InvalidOperation:
            self.add(code, at, value=_shown(value))
            return None
        if not number.is_finite() or number < 0 or number > maximum:
            self.add(code, at, value=_shown(value))
            return None
        if money and number != number.quantize(TWO_PLACES):
            self.add(code, at, value=_shown(value))
            return None
        return number

    def date(self, value: Any, at: str) -> date | None:
        if value is None or value == "":
            return None
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            text = value.strip()
            if DATE_PATTERN.fullmatch(text):
                try:
                    return date.fromisoformat(text)
                except ValueError:
                    pass
        self.add("malformed_date", at, value=_shown(value))
        return None

    def code(self, value: Any, at: str, known: set[str] | Mapping, pattern: re.Pattern = CODE_PATTERN) -> str:
        if not isinstance(value, str) or not pattern.fullmatch(value.strip()):
            self.add("malformed_code", at, value=_shown(value))
            return ""
        value = value.strip()
        if value not in known:
            self.add("unknown_code", at, value=value)
            return ""
        return value

    def mapping(self, value: Any, at: str) -> Mapping:
        if type(value) is dict:
            return value
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.add("malformed_record", at)
            return {}
        return value


def _is_exact_float(value: Any) -> bool:
    """Floats are tolerated from spreadsheets and JSON when they carry no binary noise (12.5, 3)."""
    return (
        isinstance(value, float) and value == value and abs(value) != float("inf") and len(repr(value)) <= 17
    )


def _shown(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def parse(raw: Any, catalogue: Catalogue) -> tuple[Record | None, list[Issue]]:
    """Check the shape of a raw record and normalise it. Returns (None, issues) when it is unusable."""
    parser = _Parser(catalogue)
    if type(raw) is not dict and not isinstance(raw, Mapping):
        return None, [issue("malformed_record", "")]
    withdrawal = raw.get("withdrawn") is True
    allowed = WITHDRAWAL_FIELDS if withdrawal else RECORD_FIELDS
    for name in sorted(set(raw) - allowed):
        parser.add("unknown_field", pointer(name), field=_shown(name))
    if raw.get("operator") in (None, ""):
        operator = parser.text(None, "/operator", 40, required=True)
    else:
        operator = parser.code(raw["operator"], "/operator", catalogue.organisations, ORGANISATION_PATTERN)
    reference = parser.text(raw.get("operator_ref"), "/operator_ref", 64, required=True)
    if reference and not REFERENCE_PATTERN.fullmatch(reference):
        parser.add("malformed_code", "/operator_ref", value=_shown(reference))
    record = Record(operator=operator, operator_ref=reference)
    if withdrawal:
        record.withdrawn = True
        record.reason = parser.text(raw.get("reason"), "/reason", 300)
        return (None if any(i.is_error for i in parser.issues) else record), parser.issues

    for name in REQUIRED_FIELDS[2:]:
        if raw.get(name) in (None, "", {}, []):
            parser.add("required", pointer(name), field=name)
    title = parser.mapping(raw.get("title"), "/title")
    for language in sorted(set(title) - {"fr", "ar"}):
        parser.add("unknown_field", pointer("title", language), field=f"title/{_shown(language)}")
    record.title = {lang: parser.text(title.get(lang), pointer("title", lang), 300) for lang in ("ar", "fr")}
    if title and not any(record.title.values()):
        parser.add("required", "/title", field="title")
    description = parser.mapping(raw.get("description"), "/description")
    for language in sorted(set(description) - {"fr", "ar"}):
        parser.add("unknown_field", pointer("description", language), field=f"description/{_shown(language)}")
    record.description = {
        lang: parser.text(description.get(lang), pointer("description", lang), 5000) for lang in ("ar", "fr")
    }
    if raw.get("programme") not in (None, ""):
        record.programme = parser.code(raw["programme"], "/programme", catalogue.programmes)
    if raw.get("status") not in (None, ""):
        record.status = parser.code(raw["status"], "/status", catalogue.statuses)
    if raw.get("agreement") not in (None, ""):
        agreement = parser.text(raw["agreement"], "/agreement", 64)
        if agreement and agreement not in catalogue.agreements:
            parser.add("unknown_code", "/agreement", value=_shown(agreement))
        record.agreement = agreement or None

    _parse_communes(parser, record, raw.get("communes"))
    location = raw.get("location")
    if location not in (None, {}):
        location = parser.mapping(location, "/location")
        for name in sorted(set(location) - {"lat", "lon"}):
            parser.add("unknown_field", pointer("location", name), field=f"location/{_shown(name)}")
        lat = _signed(parser, location.get("lat"), "/location/lat")
        lon = _signed(parser, location.get("lon"), "/location/lon")
        if "lat" not in location or "lon" not in location:
            parser.add("required", "/location", field="location/lat, location/lon")
        elif lat is not None and lon is not None:
            lat, lon = lat.quantize(Decimal("0.00001")), lon.quantize(Decimal("0.00001"))
            if not (LATITUDE[0] <= lat <= LATITUDE[1] and LONGITUDE[0] <= lon <= LONGITUDE[1]):
                parser.add("location_outside_morocco", "/location", value=f"{lat}, {lon}")
            else:
                record.location = (lat, lon)
    record.area_ha = parser.decimal(raw.get("area_ha"), "/area_ha")
    for name in DATE_FIELDS:
        setattr(record, name, parser.date(raw.get(name), pointer(name)))
    for name in MONEY_FIELDS:
        setattr(record, name, parser.decimal(raw.get(name), pointer(name), money=True, maximum=MAX_AMOUNT))
    progress = raw.get("progress")
    if progress not in (None, ""):
        value = _signed(parser, progress, "/progress")
        if value is not None and not (0 <= value <= 100):
            parser.add("progress_out_of_range", "/progress", value=_shown(progress))
        elif value is not None:
            record.progress = value.quantize(TWO_PLACES)
    for partner, amount in parser.mapping(raw.get("financing"), "/financing").items():
        at = pointer("financing", partner)
        code = parser.code(partner, at, catalogue.organisations, ORGANISATION_PATTERN)
        value = parser.decimal(amount, at, money=True, maximum=MAX_AMOUNT)
        if value is None and amount in (None, ""):
            parser.add("required", at, field=at.lstrip("/"))
        if code and value is not None:
            record.financing[code] = value
    _parse_outputs(parser, record, raw.get("outputs"))
    _parse_milestones(parser, record, raw.get("milestones"))
    if record.budget is None:
        record.budget = Decimal(0)
    errors = any(i.is_error for i in parser.issues)
    return (None if errors else record), parser.issues


def _signed(parser: _Parser, value: Any, at: str) -> Decimal | None:
    """A number that may be negative (longitude, or a progress the range rule reports on)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not (isinstance(value, str | int | Decimal) or _is_exact_float(value)):
        parser.add("malformed_number", at, value=_shown(value))
        return None
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        parser.add("malformed_number", at, value=_shown(value))
        return None
    if not number.is_finite() or abs(number) > 1000:
        parser.add("malformed_number", at, value=_shown(value))
        return None
    return number


def _parse_communes(parser: _Parser, record: Record, raw: Any) -> None:
    if raw in (None, {}, []):
        return
    communes = parser.mapping(raw, "/communes")
    primaries = []
    shares: dict[str, Decimal | None] = {}
    for code, entry in communes.items():
        at = pointer("communes", code)
        if not isinstance(code, str) or not COMMUNE_PATTERN.fullmatch(code):
            parser.add("malformed_code", at, value=_shown(code))
            continue
        if code not in parser.catalogue.communes:
            parser.add("unknown_commune", at, value=code)
            continue
        entry = parser.mapping(entry, at)
        for name in sorted(set(entry) - {"primary", "share"}):
            parser.add("unknown_field", pointer("communes", code, name), field=_shown(name))
        primary = entry.get("primary", False)
        if not isinstance(primary, bool):
            parser.add("malformed_record", pointer("communes", code, "primary"))
        elif primary:
            primaries.append(code)
        share = parser.decimal(entry.get("share"), pointer("communes", code, "share"), maximum=Decimal(100))
        shares[code] = share.quantize(TWO_PLACES) if share is not None else None
    if any(i.is_error for i in parser.issues if i.pointer.startswith("/communes")):
        return
    if len(primaries) != 1:
        parser.add("communes_primary", "/communes")
        return
    given = [share for share in shares.values() if share is not None]
    if given and (len(given) != len(shares) or sum(given) != 100 or min(given) <= 0):
        parser.add("commune_shares", "/communes")
        return
    record.communes = shares
    record.primary_commune = primaries[0]


def _parse_outputs(parser: _Parser, record: Record, raw: Any) -> None:
    for code, entry in parser.mapping(raw, "/outputs").items():
        at = pointer("outputs", code)
        if isinstance(code, str) and code in parser.catalogue.computed_indicators:
            parser.add("indicator_not_reported", at, value=code)
            continue
        code = parser.code(code, at, parser.catalogue.reported_indicators)
        entry = parser.mapping(entry, at)
        for name in sorted(set(entry) - {"target", "achieved"}):
            parser.add("unknown_field", pointer("outputs", code, name), field=_shown(name))
        values = {
            name: parser.decimal(entry.get(name), pointer("outputs", code, name))
            for name in ("target", "achieved")
        }
        if code and any(value is not None for value in values.values()):
            record.outputs[code] = values


def _parse_milestones(parser: _Parser, record: Record, raw: Any) -> None:
    for code, entry in parser.mapping(raw, "/milestones").items():
        at = pointer("milestones", code)
        code = parser.code(code, at, parser.catalogue.milestone_types)
        entry = parser.mapping(entry, at)
        for name in sorted(set(entry) - {"planned", "forecast", "actual"}):
            parser.add("unknown_field", pointer("milestones", code, name), field=_shown(name))
        dates = {
            name: parser.date(entry.get(name), pointer("milestones", code, name))
            for name in ("planned", "forecast", "actual")
        }
        if code and any(dates.values()):
            record.milestones[code] = dates


# --- Business rules ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Previous:
    """What the rules need to know of a project's current state."""

    version: int
    progress: Decimal | None
    withdrawn: bool


def check(record: Record, catalogue: Catalogue, previous: Previous | None = None) -> list[Issue]:
    """The business rules of a parsed record: errors that reject it, warnings that are kept."""
    found: list[Issue] = []
    for start, end in (("planned_start", "planned_end"), ("actual_start", "actual_end")):
        first, last = getattr(record, start), getattr(record, end)
        if first and last and last < first:
            found.append(
                issue("end_before_start", pointer(end), start=first.isoformat(), end=last.isoformat())
            )
    for name in ("as_of", "actual_start", "actual_end"):
        value = getattr(record, name)
        if value and value > catalogue.today:
            found.append(issue("as_of_in_future", pointer(name), value=value.isoformat()))
    for code, dates in record.milestones.items():
        if dates["actual"] and dates["actual"] > catalogue.today:
            found.append(
                issue(
                    "as_of_in_future",
                    pointer("milestones", code, "actual"),
                    value=dates["actual"].isoformat(),
                )
            )

    if record.paid is not None and record.committed is not None and record.paid > record.committed:
        found.append(issue("paid_exceeds_committed", "/paid", paid=record.paid, committed=record.committed))
    if record.committed is not None and record.committed > record.budget:
        found.append(
            issue("committed_exceeds_budget", "/committed", committed=record.committed, budget=record.budget)
        )
    if record.financing:
        total = sum(record.financing.values(), Decimal(0))
        if abs(total - record.budget) > record.budget / 100:
            found.append(issue("financing_mismatch", "/financing", total=total, budget=record.budget))
    reason = status_incoherence(record, catalogue)
    if reason:
        found.append(
            issue("status_incoherent", "/status", status=record.status, reason=INCOHERENCE_REASONS[reason])
        )
    if (
        previous is not None
        and previous.progress is not None
        and record.progress is not None
        and record.progress < previous.progress
    ):
        found.append(
            issue("progress_regression", "/progress", before=previous.progress, after=record.progress)
        )
    return found


def status_incoherence(record: Record, catalogue: Catalogue) -> str | None:
    flags = catalogue.statuses.get(record.status)
    if flags is None:
        return None
    if flags["completed"]:
        if record.progress is not None and record.progress < 100:
            return "completed_below_100"
        if record.actual_end is None:
            return "completed_without_end"
        return None
    if not flags["started"] and not flags["cancelled"] and record.progress:
        return "not_started_with_progress"
    if record.actual_end is not None and not flags["cancelled"]:
        return "ended_but_open"
    return None


def rules_markdown() -> str:
    """The rules as a Markdown table for operators (docs/validation-rules.md is kept equal to it)."""
    lines = [
        "# Validation rules",
        "",
        "One list of rules checks every project record, whether it comes from the forms, the exchange API",
        "or an upload. An **error** rejects the record; a **warning** keeps it and is stored on the version",
        "it produced. Each problem names its rule's code and a JSON pointer into the record (for example",
        "`/financing/MA-CR-06`), with its message in French and Arabic. Placeholders such as `%(value)s`",
        "are filled with the values found.",
        "",
        "| Code | Severity | Message (French) | Message (Arabic) |",
        "|---|---|---|---|",
    ]
    for rule in RULES.values():
        with translation.override("fr"):
            french = str(rule.message)
        with translation.override("ar"):
            arabic = str(rule.message)
        french, arabic = french.replace("%%", "%"), arabic.replace("%%", "%")
        lines.append(f"| `{rule.code}` | {rule.severity} | {french} | {arabic} |")
    lines += [
        "",
        "Status coherence (`status_incoherent`) checks that a completed status (ACHV, LIVR) has 100 %",
        "progress and an actual end date, that a project not yet in works (PROG, CONV, ETUD, AO) has no",
        "progress, and that an actual end date goes with a completed or cancelled status. The financing",
        "plan may differ from the budget by up to 1 % of the budget. Amounts are dirhams with at most two",
        "decimals; dates are `YYYY-MM-DD`; commune codes are HCP codes of communes or arrondissements.",
        "",
    ]
    return "\n".join(lines)
