"""IATI 2.03 activity XML: one ``iati-activity`` per project, for donor-facing needs.

==========================  =====================================================================
Marsad                      IATI 2.03
==========================  =====================================================================
operator                    ``reporting-org`` (ref = exchange identifier, type ORGANISATION_TYPES)
                            and ``participating-org`` role 4 (implementing)
public id                   ``iati-identifier`` = operator identifier + "-" + public id
operator's reference        ``other-identifier`` type A1 (reporting organisation's own id)
title, description          ``narrative`` in French and (xml:lang="ar") Arabic; a project with no
                            description is described by its programme and commune
financing partners          ``participating-org`` role 1 (funding); the agreement's contracting
                            authority role 2 (accountable), delegated one role 3 (extending)
status                      ``activity-status`` (ACTIVITY_STATUSES)
planned/actual start, end   ``activity-date`` types 1, 2, 3, 4
commune, lat/lon            ``recipient-country`` MA; ``location`` with the commune's name and a
                            ``point`` (EPSG:4326, "lat lon") when the project has one
programme                   ``sector``: vocabulary 1 (OECD DAC 5-digit, PROGRAMME_SECTORS) and
                            vocabulary 99 (the programme code), 100 % each
budget                      ``budget`` (original, indicative) over the planned period, MAD
committed, paid             ``transaction`` types 2 (outgoing commitment) and 3 (disbursement),
                            the cumulative amounts at the as-of date
==========================  =====================================================================

IATI requires at least one activity date: a project with no planned nor actual date is left out.
A document with no activity at all is not valid against the schema (it asks for one at least).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone
from lxml import etree

from marsad.registry.canonical import money
from marsad.registry.choices import PartyRole
from marsad.registry.models import Project

from . import CHUNK_SIZE, as_date_time, chunked

VERSION = "2.03"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
SRS_NAME = "http://www.opengis.net/def/crs/EPSG/0/4326"
COUNTRY = "MA"
CURRENCY = "MAD"

# Marsad status → IATI ActivityStatus: 1 pipeline/identification, 2 implementation, 3 finalisation,
# 4 closed, 5 cancelled, 6 suspended.
ACTIVITY_STATUSES = {
    "PROG": "1",
    "CONV": "1",
    "ETUD": "1",
    "AO": "1",
    "ENCO": "2",
    "DIFF": "2",
    "SUSP": "6",
    "ACHV": "3",
    "LIVR": "3",
    "ANNU": "5",
}
# Organisation kind → IATI OrganisationType: 10 government, 11 local government, 15 other public
# sector (Al Omrane, public agencies and funds, the GIE of public bodies), 70 private sector.
ORGANISATION_TYPES = {
    "operator": "15",
    "ministry": "10",
    "administration": "10",
    "region_council": "11",
    "province_council": "11",
    "commune_council": "11",
    "agency": "15",
    "gie": "15",
    "bank": "70",
    "private": "70",
}
# Programme → OECD DAC 5-digit purpose code (IATI Sector vocabulary 1):
# 16040 low-cost housing (including slum clearance), 16030 housing policy and administrative
# management, 43032 urban development, 43031 urban land policy and management, 43042 rural
# development, 43010 multisector aid.
PROGRAMME_SECTORS = {
    "VSB": "16040",
    "HMR": "16040",
    "LS250": "16040",
    "LFVIT140": "16040",
    "ADL": "16030",
    "RQSE": "43032",
    "MANU": "43032",
    "CE": "43032",
    "VN": "43032",
    "PU": "43032",
    "ZAE": "43031",
    "PRDTS": "43042",
    "PDTI": "43042",
    "PDR": "43010",
    "PDP": "43010",
    "PAC": "43010",
}
DEFAULT_SECTOR = "43032"
AGREEMENT_ROLES = {
    PartyRole.CONTRACTING_AUTHORITY: "2",
    PartyRole.DELEGATED_CONTRACTING_AUTHORITY: "3",
}
# Data labels: the activities' language is French (xml:lang="fr"), Arabic narratives are marked.
LABELS = {
    "committed": (
        "Montant cumulé engagé à la date de situation",
        "المبلغ الملتزم به المتراكم في تاريخ الوضعية",
    ),
    "paid": ("Montant cumulé payé à la date de situation", "المبلغ المؤدى المتراكم في تاريخ الوضعية"),
}


def _narratives(parent: etree._Element, french: str, arabic: str) -> etree._Element:
    if french:
        etree.SubElement(parent, "narrative").text = french
    if arabic:
        etree.SubElement(parent, "narrative", {XML_LANG: "ar"}).text = arabic
    return parent


def _organisation(parent: etree._Element, tag: str, organisation, **attributes: str) -> None:
    element = etree.SubElement(
        parent,
        tag,
        {"ref": organisation.code, "type": ORGANISATION_TYPES.get(organisation.kind, "90"), **attributes},
    )
    _narratives(element, organisation.name_fr, organisation.name_ar)


def _dates(project: Project) -> list[tuple[str, object]]:
    return [
        (code, value)
        for code, value in (
            ("1", project.planned_start),
            ("2", project.actual_start),
            ("3", project.planned_end),
            ("4", project.actual_end),
        )
        if value is not None
    ]


def activity(project: Project) -> etree._Element | None:
    """One project as an ``iati-activity`` element, or None when it has no date at all."""
    dates = _dates(project)
    if not dates:
        return None
    operator = project.operator
    commune = project.primary_commune
    programme = project.programme
    root = etree.Element(
        "iati-activity",
        {
            "last-updated-datetime": as_date_time(project.updated_at),
            XML_LANG: "fr",
            "default-currency": CURRENCY,
        },
    )
    etree.SubElement(root, "iati-identifier").text = f"{operator.code}-{project.public_id}"
    _organisation(root, "reporting-org", operator)
    _narratives(etree.SubElement(root, "title"), project.title_fr, project.title_ar)
    description = etree.SubElement(root, "description", {"type": "1"})
    french, arabic = project.description_fr, project.description_ar
    if not french and not arabic:
        french = f"{programme.name_fr} — {commune.name_fr}"
        arabic = f"{programme.name_ar} — {commune.name_ar}"
    _narratives(description, french, arabic)

    participants: list[tuple[object, str]] = [(line.partner, "1") for line in project.financing.all()]
    if project.agreement is not None:
        participants += [
            (party.organisation, AGREEMENT_ROLES[party.role])
            for party in project.agreement.parties.all()
            if party.role in AGREEMENT_ROLES
        ]
    participants.append((operator, "4"))
    seen: set[tuple[str, str]] = set()
    for organisation, role in participants:
        if (organisation.code, role) not in seen:
            seen.add((organisation.code, role))
            _organisation(root, "participating-org", organisation, role=role)

    etree.SubElement(root, "other-identifier", {"ref": project.operator_ref, "type": "A1"})
    etree.SubElement(root, "activity-status", {"code": ACTIVITY_STATUSES.get(project.status_id, "2")})
    for code, value in dates:
        etree.SubElement(root, "activity-date", {"type": code, "iso-date": value.isoformat()})
    etree.SubElement(root, "recipient-country", {"code": COUNTRY})
    if project.latitude is not None and project.longitude is not None:
        location = etree.SubElement(root, "location", {"ref": f"{project.public_id}-1"})
        _narratives(etree.SubElement(location, "name"), commune.name_fr, commune.name_ar)
        point = etree.SubElement(location, "point", {"srsName": SRS_NAME})
        etree.SubElement(
            point, "pos"
        ).text = f"{project.latitude.normalize():f} {project.longitude.normalize():f}"
    sector = PROGRAMME_SECTORS.get(programme.code, DEFAULT_SECTOR)
    etree.SubElement(root, "sector", {"vocabulary": "1", "code": sector, "percentage": "100"})
    _narratives(
        etree.SubElement(root, "sector", {"vocabulary": "99", "code": programme.code, "percentage": "100"}),
        programme.name_fr,
        programme.name_ar,
    )
    if project.planned_start and project.planned_end:
        budget = etree.SubElement(root, "budget", {"type": "1", "status": "1"})
        etree.SubElement(budget, "period-start", {"iso-date": project.planned_start.isoformat()})
        etree.SubElement(budget, "period-end", {"iso-date": project.planned_end.isoformat()})
        value = etree.SubElement(
            budget, "value", {"currency": CURRENCY, "value-date": project.planned_start.isoformat()}
        )
        value.text = money(project.budget)
    if project.as_of:
        day = project.as_of.isoformat()
        for name, code in (("committed", "2"), ("paid", "3")):
            amount = getattr(project, name)
            if amount is None:
                continue
            transaction = etree.SubElement(root, "transaction")
            etree.SubElement(transaction, "transaction-type", {"code": code})
            etree.SubElement(transaction, "transaction-date", {"iso-date": day})
            etree.SubElement(transaction, "value", {"currency": CURRENCY, "value-date": day}).text = money(
                amount
            )
            _narratives(etree.SubElement(transaction, "description"), *LABELS[name])
    return root


def _head(generated_at: datetime) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<iati-activities version="{VERSION}" generated-datetime="{as_date_time(generated_at)}">\n'
    ).encode()


def chunks(
    projects: QuerySet[Project] | Iterable[Project],
    *,
    generated_at: datetime | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[bytes]:
    """The document as UTF-8 bytes, written while the queryset (with_relations) is read chunk by
    chunk. ``projects`` may also be a plain iterable of projects."""
    yield _head(generated_at or timezone.now())
    source = chunked(projects, chunk_size) if hasattr(projects, "iterator") else iter(projects)
    buffer: list[bytes] = []
    for project in source:
        element = activity(project)
        if element is not None:
            buffer.append(etree.tostring(element, encoding="utf-8", xml_declaration=False) + b"\n")
        if len(buffer) >= chunk_size:
            yield b"".join(buffer)
            buffer = []
    if buffer:
        yield b"".join(buffer)
    yield b"</iati-activities>\n"


def activities(projects: Iterable[Project], *, generated_at: datetime | None = None) -> bytes:
    """The whole ``iati-activities`` document of the given projects."""
    return b"".join(chunks(projects, generated_at=generated_at))
