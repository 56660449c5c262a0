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


COMMUNE_ENTRY_FIELDS = frozenset({"primary", "share"})
OUTPUT_FIELDS = frozenset({"target", "achieved"})
MILESTONE_FIELDS = frozenset({"planned", "forecast", "actual"})
LANGUAGES = frozenset({"fr", "ar"})
LOCATION_FIELDS = frozenset({"lat", "lon"})
FIVE_PLACES = Decimal("0.00001")
ZERO = Decimal(0)
HUNDRED = Decimal(100)
BLANK = (None, "", {}, [])


class _Parser:
    """The checks of one record's leaves. A place in the record is given as the tuple of its pointer's
    tokens (``("outputs", code, "target")``), joined into a pointer only when a problem is reported
    there: most values of most records are valid."""

    def __init__(self, catalogue: Catalogue):
        self.catalogue = catalogue
        self.issues: list[Issue] = []

    def add(self, code: str, at: str, **params) -> None:
        self.issues.append(issue(code, at, **params))

    def text(self, value: Any, max_length: int, where: tuple, *, required: bool = False) -> str:
        if type(value) is str and value and len(value) <= max_length and "\x00" not in value:
            return value.strip()
        if value is None or value == "":
            if required:
                at = pointer(*where)
                self.add("required", at, field=at.lstrip("/"))
            return ""
        if not isinstance(value, str) or len(value) > max_length or "\x00" in value:
            self.add("malformed_text", pointer(*where), max=max_length)
            return ""
        return value.strip()

    def amount(self, value: Any, where: tuple) -> Decimal | None:
        """An amount of money: positive, in dirhams, two decimals at most."""
        return self.decimal(value, where, maximum=MAX_AMOUNT, money=True)

    def decimal(
        self, value: Any, where: tuple, maximum: Decimal = MAX_QUANTITY, *, money: bool = False
    ) -> Decimal | None:
        if value is None or value == "":
            return None
        code = "malformed_amount" if money else "malformed_number"
        if type(value) is str and "," not in value and " " not in value and "\u202f" not in value:
            text = value.strip()  # nothing for the normalisation below to replace
        elif isinstance(value, bool) or (
            not isinstance(value, str | int | Decimal) and not _is_exact_float(value)
        ):
            self.add(code, pointer(*where), value=_shown(value))
            return None
        else:
            text = str(value).strip().replace(",", ".").replace("\u202f", "").replace(" ", "")
        try:
            number = Decimal(text)
        except InvalidOperation:
            self.add(code, pointer(*where), value=_shown(value))
            return None
        if not number.is_finite() or number < ZERO or number > maximum:
            self.add(code, pointer(*where), value=_shown(value))
            return None
        if money and number != number.quantize(TWO_PLACES):
            self.add(code, pointer(*where), value=_shown(value))
            return None
        return number

    def date(self, value: Any, where: tuple) -> date | None:
        if value is None or value == "":
            return None
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            # (a subclass of str is read afresh: it might compare or hash unlike its text)
            parsed = _iso_date(value) if type(value) is str else _iso_date.__wrapped__(value)
            if parsed is not None:
                return parsed
        self.add("malformed_date", pointer(*where), value=_shown(value))
        return None

    def code(
        self, value: Any, known: set[str] | Mapping, where: tuple, pattern: re.Pattern = CODE_PATTERN
    ) -> str:
        text = value.strip() if isinstance(value, str) else None
        if text is None or not pattern.fullmatch(text):
            self.add("malformed_code", pointer(*where), value=_shown(value))
            return ""
        if text not in known:
            self.add("unknown_code", pointer(*where), value=text)
            return ""
        return text

    def mapping(self, value: Any, where: tuple) -> Mapping:
        if type(value) is dict:
            return value
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.add("malformed_record", pointer(*where))
            return {}
        return value

    def unknown_fields(
        self, entry: Mapping, allowed: frozenset[str], where: tuple = (), prefix: str = ""
    ) -> None:
        """An issue for each field of ``entry`` not in ``allowed``, in the order of their names. Callers
        skip the call in the usual case, a dict with allowed fields only: ``_only(entry, allowed)``."""
        for name in sorted(set(entry) - allowed):
            self.add("unknown_field", pointer(*where, name), field=prefix + _shown(name))


def _only(entry: Mapping, allowed: frozenset[str]) -> bool:
    """True when ``entry`` is a dict whose fields are all allowed (False tells nothing)."""
    return type(entry) is dict and entry.keys() <= allowed


def _blank(value: Any) -> bool:
    """``value in (None, "", {}, [])``, quicker for the usual texts and objects."""
    kind = type(value)
    if kind is str or kind is dict:
        return not value
    return value in BLANK


@functools.lru_cache(maxsize=8192)
def _iso_date(value: str) -> date | None:
    """The date a text gives in the form ``YYYY-MM-DD`` (blanks around it allowed), or None (the same
    few hundred dates recur across a batch: kept)."""
    text = value.strip()
    if DATE_PATTERN.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    return None


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
    if type(raw) is not dict and not isinstance(raw, Mapping):
        return None, [issue("malformed_record", "")]
    parser = _Parser(catalogue)
    withdrawal = raw.get("withdrawn") is True
    allowed = WITHDRAWAL_FIELDS if withdrawal else RECORD_FIELDS
    if not _only(raw, allowed):
        parser.unknown_fields(raw, allowed)
    if raw.get("operator") in (None, ""):
        operator = parser.text(None, 40, ("operator",), required=True)
    else:
        operator = parser.code(raw["operator"], catalogue.organisations, ("operator",), ORGANISATION_PATTERN)
    reference = parser.text(raw.get("operator_ref"), 64, ("operator_ref",), required=True)
    if reference and not REFERENCE_PATTERN.fullmatch(reference):
        parser.add("malformed_code", "/operator_ref", value=_shown(reference))
    record = Record(operator=operator, operator_ref=reference)
    if withdrawal:
        record.withdrawn = True
        record.reason = parser.text(raw.get("reason"), 300, ("reason",))
        return (None if any(i.is_error for i in parser.issues) else record), parser.issues

    for name in REQUIRED_FIELDS[2:]:
        if _blank(raw.get(name)):
            parser.add("required", pointer(name), field=name)
    title = parser.mapping(raw.get("title"), ("title",))
    if not _only(title, LANGUAGES):
        parser.unknown_fields(title, LANGUAGES, ("title",), "title/")
    record.title = {
        "ar": parser.text(title.get("ar"), 300, ("title", "ar")),
        "fr": parser.text(title.get("fr"), 300, ("title", "fr")),
    }
    if title and not any(record.title.values()):
        parser.add("required", "/title", field="title")
    description = parser.mapping(raw.get("description"), ("description",))
    if not _only(description, LANGUAGES):
        parser.unknown_fields(description, LANGUAGES, ("description",), "description/")
    record.description = {
        "ar": parser.text(description.get("ar"), 5000, ("description", "ar")),
        "fr": parser.text(description.get("fr"), 5000, ("description", "fr")),
    }
    if raw.get("programme") not in (None, ""):
        record.programme = parser.code(raw["programme"], catalogue.programmes, ("programme",))
    if raw.get("status") not in (None, ""):
        record.status = parser.code(raw["status"], catalogue.statuses, ("status",))
    if raw.get("agreement") not in (None, ""):
        agreement = parser.text(raw["agreement"], 64, ("agreement",))
        if agreement and agreement not in catalogue.agreements:
            parser.add("unknown_code", "/agreement", value=_shown(agreement))
        record.agreement = agreement or None

    _parse_communes(parser, record, raw.get("communes"))
    location = raw.get("location")
    if location not in (None, {}):
        location = parser.mapping(location, ("location",))
        if not _only(location, LOCATION_FIELDS):
            parser.unknown_fields(location, LOCATION_FIELDS, ("location",), "location/")
        lat = _signed(parser, location.get("lat"), ("location", "lat"))
        lon = _signed(parser, location.get("lon"), ("location", "lon"))
        if "lat" not in location or "lon" not in location:
            parser.add("required", "/location", field="location/lat, location/lon")
        elif lat is not None and lon is not None:
            lat, lon = lat.quantize(FIVE_PLACES), lon.quantize(FIVE_PLACES)
            if not (LATITUDE[0] <= lat <= LATITUDE[1] and LONGITUDE[0] <= lon <= LONGITUDE[1]):
                parser.add("location_outside_morocco", "/location", value=f"{lat}, {lon}")
            else:
                record.location = (lat, lon)
    record.area_ha = parser.decimal(raw.get("area_ha"), ("area_ha",))
    for name in DATE_FIELDS:
        setattr(record, name, parser.date(raw.get(name), (name,)))
    for name in MONEY_FIELDS:
        setattr(record, name, parser.amount(raw.get(name), (name,)))
    progress = raw.get("progress")
    if progress not in (None, ""):
        value = _signed(parser, progress, ("progress",))
        if value is not None and not (ZERO <= value <= HUNDRED):
            parser.add("progress_out_of_range", "/progress", value=_shown(progress))
        elif value is not None:
            record.progress = value.quantize(TWO_PLACES)
    organisations = catalogue.organisations
    for partner, amount in parser.mapping(raw.get("financing"), ("financing",)).items():
        code = parser.code(partner, organisations, ("financing", partner), ORGANISATION_PATTERN)
        value = parser.amount(amount, ("financing", partner))
        if value is None and amount in (None, ""):
            at = pointer("financing", partner)
            parser.add("required", at, field=at.lstrip("/"))
        if code and value is not None:
            record.financing[code] = value
    _parse_outputs(parser, record, raw.get("outputs"))
    _parse_milestones(parser, record, raw.get("milestones"))
    if record.budget is None:
        record.budget = Decimal(0)
    errors = parser.issues and any(i.is_error for i in parser.issues)
    return (None if errors else record), parser.issues


def _signed(parser: _Parser, value: Any, where: tuple) -> Decimal | None:
    """A number that may be negative (longitude, or a progress the range rule reports on)."""
    if value is None or value == "":
        return None
    if type(value) is str and "," not in value:
        text = value.strip()  # nothing for the normalisation below to replace
    elif isinstance(value, bool) or not (isinstance(value, str | int | Decimal) or _is_exact_float(value)):
        parser.add("malformed_number", pointer(*where), value=_shown(value))
        return None
    else:
        text = str(value).strip().replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation:
        parser.add("malformed_number", pointer(*where), value=_shown(value))
        return None
    if not number.is_finite() or abs(number) > 1000:
        parser.add("malformed_number", pointer(*where), value=_shown(value))
        return None
    return number


def _parse_communes(parser: _Parser, record: Record, raw: Any) -> None:
    if raw in (None, {}, []):
        return
    communes = parser.mapping(raw, ("communes",))
    known = parser.catalogue.communes
    primaries = []
    shares: dict[str, Decimal | None] = {}
    for code, entry in communes.items():
        if not isinstance(code, str) or not COMMUNE_PATTERN.fullmatch(code):
            parser.add("malformed_code", pointer("communes", code), value=_shown(code))
            continue
        if code not in known:
            parser.add("unknown_commune", pointer("communes", code), value=code)
            continue
        entry = parser.mapping(entry, ("communes", code))
        if not _only(entry, COMMUNE_ENTRY_FIELDS):
            parser.unknown_fields(entry, COMMUNE_ENTRY_FIELDS, ("communes", code))
        primary = entry.get("primary", False)
        if not isinstance(primary, bool):
            parser.add("malformed_record", pointer("communes", code, "primary"))
        elif primary:
            primaries.append(code)
        share = parser.decimal(entry.get("share"), ("communes", code, "share"), HUNDRED)
        shares[code] = share.quantize(TWO_PLACES) if share is not None else None
    if parser.issues and any(i.is_error for i in parser.issues if i.pointer.startswith("/communes")):
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
    computed, reported = parser.catalogue.computed_indicators, parser.catalogue.reported_indicators
    for key, entry in parser.mapping(raw, ("outputs",)).items():
        if isinstance(key, str) and key in computed:
            parser.add("indicator_not_reported", pointer("outputs", key), value=key)
            continue
        code = parser.code(key, reported, ("outputs", key))
        entry = parser.mapping(entry, ("outputs", key))
        if not _only(entry, OUTPUT_FIELDS):
            parser.unknown_fields(entry, OUTPUT_FIELDS, ("outputs", code))
        values = {
            "target": parser.decimal(entry.get("target"), ("outputs", code, "target")),
            "achieved": parser.decimal(entry.get("achieved"), ("outputs", code, "achieved")),
        }
        if code and (values["target"] is not None or values["achieved"] is not None):
            record.outputs[code] = values


def _parse_milestones(parser: _Parser, record: Record, raw: Any) -> None:
    known = parser.catalogue.milestone_types
    for key, entry in parser.mapping(raw, ("milestones",)).items():
        code = parser.code(key, known, ("milestones", key))
        entry = parser.mapping(entry, ("milestones", key))
        if not _only(entry, MILESTONE_FIELDS):
            parser.unknown_fields(entry, MILESTONE_FIELDS, ("milestones", code))
        dates = {
            "planned": parser.date(entry.get("planned"), ("milestones", code, "planned")),
            "forecast": parser.date(entry.get("forecast"), ("milestones", code, "forecast")),
            "actual": parser.date(entry.get("actual"), ("milestones", code, "actual")),
        }
        if code and (dates["planned"] or dates["forecast"] or dates["actual"]):
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
    return check_record(record, catalogue) + check_against(record, previous)


def check_record(record: Record, catalogue: Catalogue) -> list[Issue]:
    """The rules on the record alone, without the project's current version (a submission runs them
    before it takes the write lock)."""
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
    return found


def check_against(record: Record, previous: Previous | None) -> list[Issue]:
    """The rules comparing a record with the project's current version (after ``check_record``'s)."""
    if (
        previous is not None
        and previous.progress is not None
        and record.progress is not None
        and record.progress < previous.progress
    ):
        return [issue("progress_regression", "/progress", before=previous.progress, after=record.progress)]
    return []


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
