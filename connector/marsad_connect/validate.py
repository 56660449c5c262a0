"""Local validation of a record before it is sent.

The platform checks every record again (it is the authority); checking here first spares a round trip
for records that cannot pass, keeps them in the state with their problems and reports them to the
operator in terms of its own data. The checks mirror the shape rules of the platform's record: codes,
decimal strings, ISO dates, HCP commune codes, progress within 0–100, a location inside Morocco, and
the codes the mapping knows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

RECORD_FIELDS = (
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
)
WITHDRAWAL_FIELDS = ("operator", "operator_ref", "withdrawn", "reason")
DATE_FIELDS = ("planned_start", "planned_end", "actual_start", "actual_end", "as_of")
MONEY_FIELDS = ("budget", "committed", "paid")

CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,15}$")
ORGANISATION = re.compile(r"^MA-[A-Z0-9][A-Z0-9.\-]{0,36}$")
# Communes and arrondissements: region.province.cercle.commune, e.g. 12.391.01.01 or 01.511.01.0.
COMMUNE = re.compile(r"^\d{2}\.\d{3}\.\d{2}\.\d{1,2}$")
REFERENCE = re.compile(r"^[^\s/][^/]{0,63}$")
MONEY = re.compile(r"^\d{1,14}(\.\d{1,2})?$")
QUANTITY = re.compile(r"^\d{1,12}(\.\d+)?$")
SIGNED = re.compile(r"^-?\d{1,3}(\.\d+)?$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
LATITUDE = (Decimal(20), Decimal("36.5"))
LONGITUDE = (Decimal("-17.5"), Decimal("-0.5"))


@dataclass(frozen=True)
class Problem:
    """One local problem: a code, a JSON pointer into the record and a message in French."""

    code: str
    pointer: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "pointer": self.pointer, "message": self.message}


@dataclass
class Known:
    """Codes the mapping can produce; a record naming another one is a mapping gap, caught here."""

    operators: set[str] = field(default_factory=set)
    statuses: set[str] = field(default_factory=set)
    communes: set[str] = field(default_factory=set)
    programmes: set[str] = field(default_factory=set)


def escape(token: Any) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer(*tokens: Any) -> str:
    return "".join("/" + escape(token) for token in tokens)


class _Checker:
    def __init__(self, known: Known | None, today: date | None):
        self.known = known or Known()
        self.today = today
        self.problems: list[Problem] = []

    def add(self, code: str, at: str, message: str) -> None:
        self.problems.append(Problem(code, at, message))

    def text(self, value: Any, at: str, max_length: int, *, required: bool = False) -> str:
        if value in (None, ""):
            if required:
                self.add("required", at, f"Champ obligatoire manquant : {at.lstrip('/')}.")
            return ""
        if not isinstance(value, str) or len(value) > max_length or "\x00" in value:
            self.add("malformed_text", at, f"Texte invalide ou trop long ({max_length} caractères au plus).")
            return ""
        return value

    def code(self, value: Any, at: str, pattern: re.Pattern, known: set[str], label: str) -> None:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            self.add("malformed_code", at, f"Code mal formé : {value!r}.")
        elif known and value not in known:
            self.add("unknown_code", at, f"{label} {value} : absent des tables de correspondance.")

    def money(self, value: Any, at: str) -> Decimal | None:
        if value is None:
            return None
        if not isinstance(value, str) or not MONEY.fullmatch(value):
            self.add(
                "malformed_amount",
                at,
                f"Montant invalide : {value!r} (chaîne décimale positive, 2 décimales au plus).",
            )
            return None
        return Decimal(value)

    def quantity(self, value: Any, at: str) -> Decimal | None:
        if value is None:
            return None
        if not isinstance(value, str) or not QUANTITY.fullmatch(value):
            self.add("malformed_number", at, f"Nombre invalide : {value!r} (chaîne décimale positive).")
            return None
        return Decimal(value)

    def signed(self, value: Any, at: str) -> Decimal | None:
        if value is None:
            return None
        if not isinstance(value, str) or not SIGNED.fullmatch(value):
            self.add("malformed_number", at, f"Nombre invalide : {value!r} (chaîne décimale).")
            return None
        try:
            return Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
            return None

    def date(self, value: Any, at: str) -> date | None:
        if value is None:
            return None
        if isinstance(value, str) and ISO_DATE.fullmatch(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        self.add("malformed_date", at, f"Date invalide : {value!r} (format AAAA-MM-JJ).")
        return None

    def mapping(self, value: Any, at: str) -> Mapping:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.add("malformed_record", at, "Un objet JSON est attendu ici.")
            return {}
        return value

    def unknown_fields(self, value: Mapping, allowed: Iterable[str], *prefix: Any) -> None:
        for name in sorted(set(value) - set(allowed), key=str):
            self.add("unknown_field", pointer(*prefix, name), f"Champ inconnu : {name}.")


def validate(record: Any, known: Known | None = None, today: date | None = None) -> list[Problem]:
    """Problems that would make the platform reject the record; an empty list means it may be sent.

    ``known`` restricts codes to those the mapping produces; ``today`` enables the rule that dates of
    facts (as-of, actual start and end) are not in the future.
    """
    check = _Checker(known, today)
    if not isinstance(record, Mapping):
        check.add("malformed_record", "", "L'enregistrement doit être un objet JSON.")
        return check.problems
    withdrawal = record.get("withdrawn") is True
    check.unknown_fields(record, WITHDRAWAL_FIELDS if withdrawal else RECORD_FIELDS)
    if record.get("operator") in (None, ""):
        check.text(None, "/operator", 40, required=True)
    else:
        check.code(record["operator"], "/operator", ORGANISATION, check.known.operators, "Opérateur")
    reference = check.text(record.get("operator_ref"), "/operator_ref", 64, required=True)
    if reference and not REFERENCE.fullmatch(reference):
        check.add("malformed_code", "/operator_ref", f"Référence mal formée : {reference!r}.")
    if withdrawal:
        check.text(record.get("reason"), "/reason", 300)
        return check.problems

    for name in ("programme", "status", "communes", "budget"):
        if record.get(name) in (None, "", {}, []):
            check.add("required", pointer(name), f"Champ obligatoire manquant : {name}.")
    title = check.mapping(record.get("title"), "/title")
    check.unknown_fields(title, ("fr", "ar"), "title")
    texts = [check.text(title.get(lang), pointer("title", lang), 300) for lang in ("fr", "ar")]
    if not any(texts):
        check.add("required", "/title", "Champ obligatoire manquant : title (fr ou ar).")
    description = check.mapping(record.get("description"), "/description")
    check.unknown_fields(description, ("fr", "ar"), "description")
    for lang in ("fr", "ar"):
        check.text(description.get(lang), pointer("description", lang), 5000)
    if record.get("programme") not in (None, ""):
        check.code(record["programme"], "/programme", CODE, check.known.programmes, "Programme")
    if record.get("status") not in (None, ""):
        check.code(record["status"], "/status", CODE, check.known.statuses, "Statut")
    if record.get("agreement") is not None:
        check.text(record["agreement"], "/agreement", 64)

    _communes(check, record.get("communes"))
    _location(check, record.get("location"))
    check.quantity(record.get("area_ha"), "/area_ha")
    dates = {name: check.date(record.get(name), pointer(name)) for name in DATE_FIELDS}
    for name in MONEY_FIELDS:
        check.money(record.get(name), pointer(name))
    progress = check.signed(record.get("progress"), "/progress")
    if progress is not None and not (0 <= progress <= 100):
        check.add(
            "progress_out_of_range",
            "/progress",
            f"L'avancement physique ({record['progress']}) doit être compris entre 0 et 100.",
        )
    for partner, amount in check.mapping(record.get("financing"), "/financing").items():
        at = pointer("financing", partner)
        check.code(partner, at, ORGANISATION, set(), "Organisation")
        if amount is None:
            check.add("required", at, f"Montant manquant : {at.lstrip('/')}.")
        check.money(amount, at)
    for code, entry in check.mapping(record.get("outputs"), "/outputs").items():
        check.code(code, pointer("outputs", code), CODE, set(), "Indicateur")
        entry = check.mapping(entry, pointer("outputs", code))
        check.unknown_fields(entry, ("target", "achieved"), "outputs", code)
        for name in ("target", "achieved"):
            check.quantity(entry.get(name), pointer("outputs", code, name))
    milestone_dates: list[tuple[str, date | None]] = []
    for code, entry in check.mapping(record.get("milestones"), "/milestones").items():
        check.code(code, pointer("milestones", code), CODE, set(), "Jalon")
        entry = check.mapping(entry, pointer("milestones", code))
        check.unknown_fields(entry, ("planned", "forecast", "actual"), "milestones", code)
        for name in ("planned", "forecast", "actual"):
            value = check.date(entry.get(name), pointer("milestones", code, name))
            if name == "actual":
                milestone_dates.append((pointer("milestones", code, "actual"), value))

    for start, end in (("planned_start", "planned_end"), ("actual_start", "actual_end")):
        if dates[start] and dates[end] and dates[end] < dates[start]:
            check.add(
                "end_before_start",
                pointer(end),
                f"La date de fin ({dates[end]}) précède la date de début ({dates[start]}).",
            )
    if today is not None:
        facts = [(pointer(name), dates[name]) for name in ("as_of", "actual_start", "actual_end")]
        for at, value in facts + milestone_dates:
            if value is not None and value > today:
                check.add("as_of_in_future", at, f"La date {value} est dans le futur.")
    return check.problems


def _communes(check: _Checker, raw: Any) -> None:
    if raw in (None, {}):
        return
    communes = check.mapping(raw, "/communes")
    primaries = 0
    for code, entry in communes.items():
        at = pointer("communes", code)
        if not isinstance(code, str) or not COMMUNE.fullmatch(code):
            check.add("malformed_code", at, f"Code de commune HCP mal formé : {code!r}.")
        elif check.known.communes and code not in check.known.communes:
            check.add("unknown_commune", at, f"Commune {code} : absente de la table des communes.")
        entry = check.mapping(entry, at)
        check.unknown_fields(entry, ("primary", "share"), "communes", code)
        primary = entry.get("primary", False)
        if not isinstance(primary, bool):
            check.add("malformed_record", pointer("communes", code, "primary"), "Booléen attendu.")
        elif primary:
            primaries += 1
        share = check.quantity(entry.get("share"), pointer("communes", code, "share"))
        if share is not None and share > 100:
            check.add("commune_shares", pointer("communes", code, "share"), "Une part dépasse 100 %.")
    if communes and primaries != 1:
        check.add("communes_primary", "/communes", "Le projet doit avoir exactement une commune principale.")


def _location(check: _Checker, raw: Any) -> None:
    if raw in (None, {}):
        return
    location = check.mapping(raw, "/location")
    check.unknown_fields(location, ("lat", "lon"), "location")
    if location.get("lat") is None or location.get("lon") is None:
        check.add("required", "/location", "La localisation demande une latitude et une longitude.")
        return
    lat = check.signed(location["lat"], "/location/lat")
    lon = check.signed(location["lon"], "/location/lon")
    if lat is None or lon is None:
        return
    if not (LATITUDE[0] <= lat <= LATITUDE[1] and LONGITUDE[0] <= lon <= LONGITUDE[1]):
        check.add(
            "location_outside_morocco",
            "/location",
            f"La localisation ({lat}, {lon}) est hors du territoire national.",
        )
