"""OC4IDS 0.9.5 (Open Contracting for Infrastructure Data Standard) project packages: the export of
Marsad projects and the import of packages, ours or another publisher's, as Marsad records.

Mapping of a project (Marsad → OC4IDS). The package declares ``language: "fr"``; Arabic goes in
language variants (``title_ar``, ``description_ar``, ``name_ar``), the OCDS convention of a field
name followed by ``_`` and a language code: OC4IDS 0.9.5 declares no pattern for them and accepts
them as additional fields, so French-only readers lose nothing.

==========================  =====================================================================
Marsad                      OC4IDS
==========================  =====================================================================
public id (MRS-…)           ``id`` = "oc4ids-marsad-" + public id; ``identifiers``: the public id
                            (scheme "MA-MARSAD") and the operator's reference (scheme = the
                            operator's exchange identifier, e.g. "MA-ALOMRANE-DOE")
operator                    ``publicAuthority`` and a party with role ``publicAuthority`` whose
                            ``identifier`` is {scheme "MA-MARSAD", id "MA-…"}
title, description          ``title``/``title_ar``, ``description``/``description_ar``
programme                   ``additionalClassifications`` {scheme "marsadProgramme"}; ``purpose``
                            (the programme's description or name); ``sector`` and ``type`` from
                            the programme (PROGRAMME_SECTORS, PROGRAMME_TYPES)
status                      ``status`` (STATUSES) and ``additionalClassifications`` {scheme
                            "marsadStatus"}, which keeps the exact Marsad code
agreement                   ``documents`` [{id = reference, documentType "financialAgreement"}];
                            its parties as ``parties`` with roles (AGREEMENT_ROLES)
communes                    ``locations`` in order, the primary commune first: ``gazetteer``
                            {scheme "HCP", identifiers [HCP code]} and ``address`` (commune,
                            region, country)
location (lat, lon)         ``geometry`` Point [lon, lat] on the first location
planned start, end          ``period`` startDate, endDate
actual start, end           ``implementationPeriod`` startDate, endDate; ``completion.endDate``
budget                      ``budget.amount`` (MAD)
financing                   ``budget.budgetBreakdowns`` [{id "financingPlan", budgetBreakdown per
                            partner with ``sourceParty``}]; partners as parties with role funder
area (ha)                   ``metrics`` {id "area"}
progress, as of             ``metrics`` {id "physicalProgress"}, one observation, period.endDate
committed, paid             ``metrics`` {id "financialProgress"}, observations "committed", "paid"
outputs                     target in ``forecasts``, achieved in ``metrics``, id = indicator code
milestones                  ``milestones``: id = milestone type, dueDate = planned, dateMet =
                            actual; a forecast date is a second milestone "<type>.forecast"
==========================  =====================================================================

Codes outside the OC4IDS codelists are only used where a codelist is open, and are listed in
EXTENSION_CODES (plus the indicator codes as metric ids). Amounts are JSON numbers (integers when
whole): exact up to 15 significant digits, i.e. below 10^13 dirhams with centimes.

What does not round-trip (export, then import): the communes' shares (OC4IDS has no place for a
share of a location: imported communes have none); the as-of date of a project that reports no
progress, no committed or paid amount and no achieved output (it rides on those observations).
Everything else comes back identical, so importing our own package leaves the projects unchanged
(same SHA-256).

Import of another publisher's package: the operator is the party named by ``publicAuthority``, or
else the first party with the role publicAuthority, identified by an exchange identifier "MA-…"
(``identifier``, ``additionalIdentifiers`` or ``id``); the operator's reference is the identifier
whose scheme is the operator, else the project ``id``; the Marsad status comes from the OC4IDS
status when no "marsadStatus" classification is given (STATUS_FROM_OC4IDS); amounts in another
currency than MAD are refused by the rules (malformed amount); milestones, outputs and agreements
that name nothing known to Marsad are left out. Everything else is checked by the registry's rules.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import QuerySet

from marsad.registry.choices import PartyRole
from marsad.registry.models import Agreement, Indicator, MilestoneType, Project
from marsad.registry.rules import ORGANISATION_PATTERN

from . import CHUNK_SIZE, as_date_time, chunked, region_names

VERSION = "0.9"
ID_PREFIX = "oc4ids-marsad-"
MARSAD_SCHEME = "MA-MARSAD"
PROGRAMME_SCHEME = "marsadProgramme"
STATUS_SCHEME = "marsadStatus"
GAZETTEER = "HCP"
FINANCING_BREAKDOWN = "financingPlan"
AGREEMENT_DOCUMENT = "financialAgreement"
FORECAST_SUFFIX = ".forecast"
CURRENCY = "MAD"
COUNTRY_NAME = "Maroc"
PUBLISHER = {"name": "Marsad (مرصد)", "scheme": MARSAD_SCHEME, "uid": "MARSAD"}

# Data labels: the package's language is French ("fr"), whatever the reader's interface language.
LABELS = {
    "financing": "Plan de financement par partenaire",
    "physicalProgress": "Avancement physique",
    "financialProgress": "Avancement financier",
    "area": "Superficie",
    "committed": "Montant engagé (cumul)",
    "paid": "Montant payé (cumul)",
}
FORECAST = ("date prévisionnelle", "التاريخ المتوقع")

# Marsad status → OC4IDS projectStatus (closed codelist).
STATUSES = {
    "PROG": "identification",
    "CONV": "preparation",
    "ETUD": "preparation",
    "AO": "implementation",  # OC4IDS implementation covers procurement
    "ENCO": "implementation",
    "DIFF": "implementation",
    "SUSP": "implementation",
    "ACHV": "completion",
    "LIVR": "completion",
    "ANNU": "cancelled",
}
# OC4IDS projectStatus → Marsad status, for packages that do not carry the Marsad code.
STATUS_FROM_OC4IDS = {
    "identification": "PROG",
    "preparation": "ETUD",
    "implementation": "ENCO",
    "completion": "ACHV",
    "maintenance": "LIVR",
    "cancelled": "ANNU",
}
# Programme → OC4IDS projectSector. The codelist has "socialHousing" but no urban-development code:
# the programmes that are not housing nor economic zones carry no sector.
PROGRAMME_SECTORS = {
    "VSB": ["socialHousing"],
    "HMR": ["socialHousing"],
    "RQSE": ["socialHousing"],
    "LS250": ["socialHousing"],
    "LFVIT140": ["socialHousing"],
    "ADL": ["socialHousing"],
    "ZAE": ["economy"],
}
# Programme → OC4IDS projectType (closed codelist); mixed programmes carry none.
PROGRAMME_TYPES = {
    "VSB": "construction",
    "LS250": "construction",
    "LFVIT140": "construction",
    "VN": "construction",
    "PU": "construction",
    "ZAE": "construction",
    "HMR": "rehabilitation",
    "RQSE": "rehabilitation",
    "MANU": "rehabilitation",
    "CE": "rehabilitation",
}
# Agreement party role → OC4IDS partyRole (open codelist; "signatory" is ours).
AGREEMENT_ROLES = {
    PartyRole.FINANCIER: "funder",
    PartyRole.CONTRACTING_AUTHORITY: "publicAuthority",
    PartyRole.DELEGATED_CONTRACTING_AUTHORITY: "procuringEntity",
    PartyRole.SIGNATORY: "signatory",
}
# Milestone type → OC4IDS milestoneType and, where one fits, milestoneCode (both open codelists).
MILESTONE_TYPES = {
    "SIGN_CONV": "approval",
    "MOB_FONC": "preProcurement",
    "AUTOR": "approval",
    "LANC_AO": "procurement",
    "ATTR": "procurement",
    "OS": "delivery",
    "RP": "delivery",
    "RD": "delivery",
    "DEMOL": "delivery",
    "RELOG": "delivery",
    "CV": "delivery",
    "TF": "delivery",
    "DECL_VSB": "reporting",
    "INAUG": "engagement",
}
MILESTONE_CODES = {"SIGN_CONV": "projectApproval", "OS": "commencement", "RP": "completion"}
# UN/CEFACT Recommendation 20 codes of the units that have one.
UNITS = {"percent": "P1", "ha": "HAR"}
# Codes of ours in open codelists (besides the indicator codes used as metric ids).
EXTENSION_CODES = {
    "partyRole.csv": {"signatory"},
    "locationGazetteers.csv": {GAZETTEER},
    "classificationScheme.csv": {PROGRAMME_SCHEME, STATUS_SCHEME},
    "metricID.csv": {"area"},
}


# --- Export -------------------------------------------------------------------------------------------------


def _amount(value: Decimal) -> int | float:
    """A JSON number for an amount or a measure: an integer when whole."""
    return int(value) if value == value.to_integral_value() else float(value)


def _value(amount: Decimal) -> dict:
    return {"amount": _amount(amount), "currency": CURRENCY}


def _with_variant(target: dict, name: str, french: str, arabic: str) -> None:
    """``name`` in French and ``name_ar`` in Arabic, each only when not empty (minLength 1)."""
    if french:
        target[name] = french
    if arabic:
        target[f"{name}_ar"] = arabic


def _unit(code: str) -> dict:
    unit = {"name": code}
    if code in UNITS:
        unit.update({"scheme": "UNCEFACT", "id": UNITS[code]})
    return unit


def _party(organisation, roles: list[str]) -> dict:
    party = {"id": organisation.code}
    _with_variant(party, "name", organisation.name_fr, organisation.name_ar)
    party["identifier"] = {"scheme": MARSAD_SCHEME, "id": organisation.code}
    if organisation.name_fr:
        party["identifier"]["legalName"] = organisation.name_fr
    party["roles"] = roles
    return party


def _parties(project: Project) -> list[dict]:
    """The operator first, then the financing partners, then the agreement's parties; one entry per
    organisation with all its roles."""
    found: dict[str, tuple[Any, list[str]]] = {}

    def add(organisation, role: str) -> None:
        _, roles = found.setdefault(organisation.code, (organisation, []))
        if role not in roles:
            roles.append(role)

    add(project.operator, "publicAuthority")
    for line in project.financing.all():
        add(line.partner, "funder")
    if project.agreement is not None:
        for party in project.agreement.parties.all():
            add(party.organisation, AGREEMENT_ROLES[party.role])
    return [_party(organisation, roles) for organisation, roles in found.values()]


def _locations(project: Project, regions: Mapping[str, tuple[str, str]]) -> list[dict]:
    locations = []
    for index, link in enumerate(project.communes.all(), start=1):
        commune = link.territory
        location: dict[str, Any] = {"id": str(index)}
        _with_variant(location, "description", commune.name_fr, commune.name_ar)
        if index == 1 and project.latitude is not None and project.longitude is not None:
            location["geometry"] = {
                "type": "Point",
                "coordinates": [_amount(project.longitude), _amount(project.latitude)],
            }
        location["gazetteer"] = {"scheme": GAZETTEER, "identifiers": [commune.code]}
        address = {"locality": commune.name_fr, "countryName": COUNTRY_NAME}
        region = regions.get(commune.region_code)
        if region and region[0]:
            address["region"] = region[0]
        location["address"] = address
        locations.append(location)
    return locations


def _metrics(project: Project) -> tuple[list[dict], list[dict]]:
    """(metrics, forecasts): progress, amounts, area and outputs."""
    period = {"endDate": as_date_time(project.as_of)} if project.as_of else None

    def observation(identifier: str, **fields) -> dict:
        found = {"id": identifier, **fields}
        if period:
            found["period"] = dict(period)
        return found

    metrics: list[dict] = []
    forecasts: list[dict] = []
    if project.progress is not None:
        metrics.append(
            {
                "id": "physicalProgress",
                "title": LABELS["physicalProgress"],
                "observations": [
                    observation("progress", measure=_amount(project.progress), unit=_unit("percent"))
                ],
            }
        )
    amounts = [
        observation(name, value=_value(getattr(project, name)), notes=LABELS[name])
        for name in ("committed", "paid")
        if getattr(project, name) is not None
    ]
    if amounts:
        metrics.append(
            {"id": "financialProgress", "title": LABELS["financialProgress"], "observations": amounts}
        )
    if project.area_ha is not None:
        metrics.append(
            {
                "id": "area",
                "title": LABELS["area"],
                "observations": [{"id": "area", "measure": _amount(project.area_ha), "unit": _unit("ha")}],
            }
        )
    for output in project.outputs.all():
        indicator = output.indicator
        head = {"id": indicator.code}
        _with_variant(head, "title", indicator.name_fr, indicator.name_ar)
        if output.achieved is not None:
            metrics.append(
                {
                    **head,
                    "observations": [
                        observation("achieved", measure=_amount(output.achieved), unit=_unit(indicator.unit))
                    ],
                }
            )
        if output.target is not None:
            forecasts.append(
                {
                    **head,
                    "observations": [
                        {"id": "target", "measure": _amount(output.target), "unit": _unit(indicator.unit)}
                    ],
                }
            )
    return metrics, forecasts


def _milestones(project: Project) -> list[dict]:
    milestones = []
    for milestone in project.milestones.all():
        kind = milestone.type
        head: dict[str, Any] = {}
        _with_variant(head, "title", kind.name_fr, kind.name_ar)
        if kind.code in MILESTONE_TYPES:
            head["type"] = MILESTONE_TYPES[kind.code]
        if kind.code in MILESTONE_CODES:
            head["code"] = MILESTONE_CODES[kind.code]
        if milestone.planned or milestone.actual:
            entry = {"id": kind.code, **head}
            if milestone.planned:
                entry["dueDate"] = as_date_time(milestone.planned)
            if milestone.actual:
                entry["dateMet"] = as_date_time(milestone.actual)
            entry["status"] = "met" if milestone.actual else "scheduled"
            milestones.append(entry)
        if milestone.forecast:
            entry = {"id": kind.code + FORECAST_SUFFIX, **head}
            for name, label in (("title", FORECAST[0]), ("title_ar", FORECAST[1])):
                if name in entry:
                    entry[name] = f"{entry[name]} ({label})"
            entry["dueDate"] = as_date_time(milestone.forecast)
            entry["status"] = "scheduled"
            milestones.append(entry)
    return milestones


def project(project: Project, *, regions: Mapping[str, tuple[str, str]] | None = None) -> dict:
    """One Marsad project as an OC4IDS project. ``regions`` (region_names()) saves a query per
    project in a long export; the project's relations should be prefetched (with_relations)."""
    if regions is None:
        regions = region_names()
    programme = project.programme
    found: dict[str, Any] = {
        "id": ID_PREFIX + project.public_id,
        "updated": as_date_time(project.updated_at),
        "language": "fr",
        "identifiers": [
            {"id": project.public_id, "scheme": MARSAD_SCHEME},
            {"id": project.operator_ref, "scheme": project.operator.code},
        ],
        "publicAuthority": {"id": project.operator.code, "name": project.operator.name_fr},
    }
    _with_variant(found, "title", project.title_fr, project.title_ar)
    _with_variant(found, "description", project.description_fr, project.description_ar)
    found["status"] = STATUSES.get(project.status_id, "implementation")
    if programme.code in PROGRAMME_TYPES:
        found["type"] = PROGRAMME_TYPES[programme.code]
    if programme.code in PROGRAMME_SECTORS:
        found["sector"] = list(PROGRAMME_SECTORS[programme.code])
    purpose = programme.description_fr or programme.name_fr
    if purpose:
        found["purpose"] = purpose
    found["additionalClassifications"] = [
        {"scheme": PROGRAMME_SCHEME, "id": programme.code, "description": programme.name_fr},
        {"scheme": STATUS_SCHEME, "id": project.status.code, "description": project.status.name_fr},
    ]
    found["parties"] = _parties(project)
    budget: dict[str, Any] = {"amount": _value(project.budget)}
    financing = list(project.financing.all())
    if financing:
        budget["budgetBreakdowns"] = [
            {
                "id": FINANCING_BREAKDOWN,
                "description": LABELS["financing"],
                "budgetBreakdown": [
                    {
                        "id": line.partner.code,
                        "amount": _value(line.amount),
                        "sourceParty": {"id": line.partner.code, "name": line.partner.name_fr},
                    }
                    for line in financing
                ],
            }
        ]
    found["budget"] = budget
    period = {
        name: as_date_time(value)
        for name, value in (("startDate", project.planned_start), ("endDate", project.planned_end))
        if value
    }
    if period:
        found["period"] = period
    implementation = {
        name: as_date_time(value)
        for name, value in (("startDate", project.actual_start), ("endDate", project.actual_end))
        if value
    }
    if implementation:
        found["implementationPeriod"] = implementation
    if project.actual_end:
        found["completion"] = {"endDate": as_date_time(project.actual_end)}
    locations = _locations(project, regions)
    if locations:
        found["locations"] = locations
    metrics, forecasts = _metrics(project)
    if forecasts:
        found["forecasts"] = forecasts
    if metrics:
        found["metrics"] = metrics
    milestones = _milestones(project)
    if milestones:
        found["milestones"] = milestones
    if project.agreement is not None:
        agreement = project.agreement
        document = {"id": agreement.reference, "documentType": AGREEMENT_DOCUMENT}
        _with_variant(document, "title", agreement.title_fr, agreement.title_ar)
        found["documents"] = [document]
    return found


def _head(*, published_date: datetime | str, uri: str) -> dict:
    published = published_date if isinstance(published_date, str) else as_date_time(published_date)
    return {"uri": uri, "publishedDate": published, "version": VERSION, "publisher": dict(PUBLISHER)}


def package(projects: Iterable[Project], *, published_date: datetime | str, uri: str) -> dict:
    """A project package of the given projects (a package with no project is not valid OC4IDS:
    the schema asks for at least one)."""
    regions = region_names()
    return {
        **_head(published_date=published_date, uri=uri),
        "projects": [project(p, regions=regions) for p in projects],
    }


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def package_chunks(
    projects: QuerySet[Project], *, published_date: datetime | str, uri: str, chunk_size: int = CHUNK_SIZE
) -> Iterator[bytes]:
    """The package as UTF-8 JSON, a chunk of projects at a time: the same document as package(),
    written while the queryset (with_relations) is read chunk by chunk."""
    regions = region_names()
    yield (dumps(_head(published_date=published_date, uri=uri))[:-1] + ',"projects":[').encode()
    buffer: list[str] = []
    first = True
    for item in chunked(projects, chunk_size):
        buffer.append(dumps(project(item, regions=regions)))
        if len(buffer) >= chunk_size:
            yield (("" if first else ",") + ",".join(buffer)).encode()
            buffer, first = [], False
    if buffer:
        yield (("" if first else ",") + ",".join(buffer)).encode()
    yield b"]}"


# --- Import -------------------------------------------------------------------------------------------------


class PackageError(ValueError):
    """The document is not an OC4IDS project package at all (its projects are checked one by one)."""


class _Known:
    """Codes of the platform that an imported package may name (read once per package)."""

    def __init__(self, agreement_references: set[str]):
        self.milestone_types = set(MilestoneType.objects.values_list("code", flat=True))
        self.indicators = set(Indicator.objects.filter(reported=True).values_list("code", flat=True))
        self.agreements = set(
            Agreement.objects.filter(reference__in=sorted(agreement_references)).values_list(
                "reference", flat=True
            )
        )


def _dicts(value: Any) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _text_number(value: Any) -> Any:
    """A JSON number as the decimal string the rules read; anything else as found (the rules say
    what is wrong with it)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return str(value)
    return value


def _money(value: Any) -> Any:
    """The amount of an OC4IDS Value; an amount in another currency is kept with its currency, which
    the rules refuse as a malformed amount (Marsad counts in dirhams)."""
    value = _dict(value)
    amount = _text_number(value.get("amount"))
    currency = value.get("currency")
    if amount is None or currency in (None, CURRENCY):
        return amount
    return f"{amount} {currency}"


def _day(value: Any) -> Any:
    """The date of an OC4IDS date-time (its own calendar day, whatever its offset)."""
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-" and value[7:8] == "-":
        return value[:10]
    return value


def _organisation_code(party: Mapping | None, fallback: Any = None) -> str | None:
    """The exchange identifier (MA-…) of a party: its identifier, additional identifiers or id."""
    party = _dict(party)
    candidates = [
        _dict(party.get("identifier")).get("id"),
        *(item.get("id") for item in _dicts(party.get("additionalIdentifiers"))),
        party.get("id"),
        fallback,
    ]
    for candidate in candidates:
        if isinstance(candidate, str) and ORGANISATION_PATTERN.fullmatch(candidate):
            return candidate
    return None


def _texts(project: Mapping, name: str) -> dict[str, str]:
    """French and Arabic texts of a field: the main one in the project's language (French unless it
    says Arabic), the ``_fr``/``_ar`` variants over it."""
    main = "ar" if str(project.get("language") or "").lower().startswith("ar") else "fr"
    texts = {"fr": "", "ar": ""}
    if isinstance(project.get(name), str):
        texts[main] = project[name]
    for language in ("fr", "ar"):
        if isinstance(project.get(f"{name}_{language}"), str):
            texts[language] = project[f"{name}_{language}"]
    return texts


def _classification(project: Mapping, scheme: str) -> str | None:
    for item in _dicts(project.get("additionalClassifications")):
        if item.get("scheme") == scheme and isinstance(item.get("id"), str):
            return item["id"]
    return None


def _latest(observations: list[dict]) -> dict:
    """The most recent observation (by the end of its period), or the last one given."""
    if not observations:
        return {}
    return max(
        enumerate(observations),
        key=lambda pair: (str(_dict(pair[1].get("period")).get("endDate") or ""), pair[0]),
    )[1]


def _metric(metrics: list[dict], identifier: str) -> list[dict]:
    for metric in metrics:
        if metric.get("id") == identifier:
            return _dicts(metric.get("observations"))
    return []


def _financing(project: Mapping, parties: Mapping[str, dict]) -> dict[str, Any]:
    groups = _dicts(_dict(project.get("budget")).get("budgetBreakdowns"))
    chosen = next((g for g in groups if g.get("id") == FINANCING_BREAKDOWN), None)
    if chosen is None:
        chosen = next(
            (
                g
                for g in groups
                if _dicts(g.get("budgetBreakdown"))
                and all(_dict(line.get("sourceParty")).get("id") for line in _dicts(g.get("budgetBreakdown")))
            ),
            {},
        )
    financing: dict[str, Any] = {}
    for line in _dicts(chosen.get("budgetBreakdown")):
        source = _dict(line.get("sourceParty"))
        code = _organisation_code(parties.get(source.get("id")), source.get("id"))
        if code is None:
            continue
        amount = _money(line.get("amount"))
        if code in financing:  # one partner over several lines (periods, stages): the sum
            with contextlib.suppress(InvalidOperation):
                amount = str(Decimal(str(financing[code])) + Decimal(str(amount)))
        financing[code] = amount
    return financing


def record_from_project(project: Mapping, known: _Known) -> dict:
    """A Marsad record from one OC4IDS project (see the module's notes for what is read where)."""
    parties = {party.get("id"): party for party in _dicts(project.get("parties"))}
    authority = _dict(project.get("publicAuthority")).get("id")
    operator = _organisation_code(parties.get(authority), authority) if authority else None
    if operator is None:
        for party in parties.values():
            roles = party.get("roles") if isinstance(party.get("roles"), list) else []
            if "publicAuthority" in roles and (operator := _organisation_code(party)):
                break
    identifiers = _dicts(project.get("identifiers"))
    reference = next((i.get("id") for i in identifiers if operator and i.get("scheme") == operator), None)
    if reference is None:
        reference = project.get("id")

    status = _classification(project, STATUS_SCHEME)
    if status is None:
        status = STATUS_FROM_OC4IDS.get(project.get("status"))

    documents = _dicts(project.get("documents"))
    agreement = next(
        (
            d["id"]
            for d in documents
            if d.get("documentType") == AGREEMENT_DOCUMENT and d.get("id") in known.agreements
        ),
        None,
    )

    communes: dict[str, dict] = {}
    location = None
    for item in _dicts(project.get("locations")):
        gazetteer = _dict(item.get("gazetteer"))
        codes = gazetteer.get("identifiers") if gazetteer.get("scheme") == GAZETTEER else None
        for code in codes if isinstance(codes, list) else []:
            if isinstance(code, str) and code not in communes:
                communes[code] = {"primary": not communes, "share": None}
        geometry = _dict(item.get("geometry"))
        coordinates = geometry.get("coordinates")
        if (
            location is None
            and geometry.get("type") == "Point"
            and isinstance(coordinates, list)
            and len(coordinates) >= 2
        ):
            location = {"lat": _text_number(coordinates[1]), "lon": _text_number(coordinates[0])}

    metrics = _dicts(project.get("metrics"))
    forecasts = _dicts(project.get("forecasts"))
    progress = _latest(_metric(metrics, "physicalProgress"))
    amounts = _metric(metrics, "financialProgress")
    committed = _latest([o for o in amounts if o.get("id") == "committed"])
    paid = _latest([o for o in amounts if o.get("id") == "paid"])
    area = _latest(_metric(metrics, "area"))

    outputs: dict[str, dict] = {}
    achievements: list[dict] = []
    for code in sorted(known.indicators):
        target = _latest(_metric(forecasts, code))
        achieved = _latest(_metric(metrics, code))
        if target or achieved:
            outputs[code] = {
                "target": _text_number(target.get("measure")),
                "achieved": _text_number(achieved.get("measure")),
            }
            achievements.append(achieved)
    as_of = next(
        (
            _day(_dict(o.get("period")).get("endDate"))
            for o in (progress, committed, paid, *achievements)
            if _dict(o.get("period")).get("endDate")
        ),
        None,
    )

    milestones: dict[str, dict] = {}
    for item in _dicts(project.get("milestones")):
        identifier = item.get("id")
        if not isinstance(identifier, str):
            continue
        forecast = identifier.endswith(FORECAST_SUFFIX)
        code = identifier[: -len(FORECAST_SUFFIX)] if forecast else identifier
        if code not in known.milestone_types:
            continue
        dates = milestones.setdefault(code, {"planned": None, "forecast": None, "actual": None})
        if forecast:
            dates["forecast"] = _day(item.get("dueDate"))
        else:
            dates["planned"] = _day(item.get("dueDate"))
            dates["actual"] = _day(item.get("dateMet"))

    period = _dict(project.get("period"))
    implementation = _dict(project.get("implementationPeriod"))
    completion = _dict(project.get("completion"))
    return {
        "operator": operator or "",
        "operator_ref": reference if isinstance(reference, str) else "",
        "title": _texts(project, "title"),
        "description": _texts(project, "description"),
        "programme": _classification(project, PROGRAMME_SCHEME) or "",
        "status": status or "",
        "agreement": agreement,
        "communes": communes,
        "location": location,
        "area_ha": _text_number(area.get("measure")),
        "planned_start": _day(period.get("startDate")),
        "planned_end": _day(period.get("endDate")),
        "actual_start": _day(implementation.get("startDate")),
        "actual_end": _day(completion.get("endDate") or implementation.get("endDate")),
        "budget": _money(_dict(project.get("budget")).get("amount")),
        "financing": _financing(project, parties),
        "outputs": outputs,
        "milestones": milestones,
        "as_of": as_of,
        "progress": _text_number(progress.get("measure")),
        "committed": _money(committed.get("value")),
        "paid": _money(paid.get("value")),
    }


def records_from_package(package: Any) -> list[tuple[Any, str]]:
    """Marsad records from an OC4IDS project package, each with the JSON pointer of its project in
    the package. A project that is not an object is passed on as it is (the rules reject it)."""
    if not isinstance(package, dict) or not isinstance(package.get("projects"), list):
        raise PackageError("not an OC4IDS project package")
    projects = package["projects"]
    references = {
        d["id"]
        for p in _dicts(projects)
        for d in _dicts(p.get("documents"))
        if d.get("documentType") == AGREEMENT_DOCUMENT and isinstance(d.get("id"), str)
    }
    known = _Known(references)
    return [
        (record_from_project(item, known) if isinstance(item, dict) else item, f"/projects/{index}")
        for index, item in enumerate(projects)
    ]
