"""OC4IDS 0.9.5: exported packages validate against the official schema and codelists (read from the
shared folder beside the repository), the mapping is exact, our own package imports back unchanged,
another publisher's package becomes records, and the commands and endpoints.

This module also holds what the other interchange tests share: the projects they export and the way
they reach the export endpoints (``exports_urlconf``)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import NoReverseMatch, reverse
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT4

from marsad.accounts.choices import Role
from marsad.accounts.services import membership_grant, user_create
from marsad.audit.services import SystemActor
from marsad.exchange.interchange import oc4ids, public_projects, with_relations
from marsad.exchange.management.commands import oc4ids_export, oc4ids_import
from marsad.registry.canonical import diff, record_document
from marsad.registry.demo import DEMO_TODAY, demo_generate
from marsad.registry.models import Indicator, Project, ProjectVersion, Status
from marsad.registry.rules import Catalogue, parse
from marsad.registry.services import (
    PartyInput,
    agreement_create,
    project_document,
    project_record,
    projects_publish,
    records_apply,
)
from marsad.registry.tests.records import record

pytestmark = pytest.mark.django_db

# The shared folder beside the repository; MARSAD_SHARED_DIR points elsewhere when the checkout is not there.
SHARED_DIR = os.environ.get("MARSAD_SHARED_DIR") or Path(settings.BASE_DIR).parent / "shared"
SHARED_SCHEMAS = Path(SHARED_DIR) / "schemas"
OC4IDS_DIR = SHARED_SCHEMAS / "oc4ids-0.9.5"
SYSTEM = SystemActor("test")
TODAY = date(2026, 10, 31)
RECEIVED = datetime(2026, 10, 31, 9, 0, tzinfo=UTC)
PUBLISHED = datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
URI = "https://marsad.test/api/v1/exports/oc4ids.json"
PROBLEM = "application/problem+json"


# --- Shared by the interchange tests ----------------------------------------------------------------------


def require_shared_schemas(folder: Path) -> Path:
    """The official schema folder; where it is absent the test skips, except under CI=true, where it
    fails: the schemas are never copied into the repository nor downloaded."""
    if folder.is_dir():
        return folder
    reason = (
        f"Official schemas not found in {folder} (the shared folder beside the repository, "
        "../shared/schemas/): validation test skipped"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


DAKHLA = record(
    description={"fr": "Ville intelligente sur 275 ha", "ar": "مدينة ذكية على 275 هكتارا"},
    agreement="CONV-DAKHLA-2019",
    milestones={
        "SIGN_CONV": {"planned": None, "forecast": None, "actual": "2019-05-10"},
        "OS": {"planned": "2024-02-01", "forecast": None, "actual": "2024-03-01"},
        "RP": {"planned": "2030-06-30", "forecast": "2031-03-31", "actual": None},
    },
)
SIDI_MOUMEN = record(
    operator="MA-ALOMRANE-CS",
    operator_ref="CS-VSB-007",
    title={"fr": "Relogement des ménages de Sidi Moumen", "ar": "إعادة إسكان أسر سيدي مومن"},
    programme="VSB",
    status="ACHV",
    communes={
        "06.141.01.53": {"primary": True, "share": None},
        "06.461.01.15": {"primary": False, "share": None},
    },
    location=None,
    area_ha="12.5",
    planned_start="2020-09-01",
    planned_end="2024-12-31",
    actual_start="2021-01-04",
    actual_end="2025-06-30",
    budget="80000000.00",
    financing={"MA-ALOMRANE-CS": "50000000.00", "MA-CR-06": "30000000.00"},
    outputs={"MEN_TRT": {"target": "1200", "achieved": "1200"}, "LOTS": {"target": "600", "achieved": None}},
    milestones={"RELOG": {"planned": "2024-06-30", "forecast": None, "actual": "2025-03-15"}},
    as_of="2025-07-31",
    progress="100",
    committed="80000000.00",
    paid="78500000.50",
)
ARABIC_ONLY = {
    "operator": "MA-ALOMRANE-CS",
    "operator_ref": "CS-LS-010",
    "title": {"fr": "", "ar": "سكن اجتماعي بالدار البيضاء"},
    "programme": "LS250",
    "status": "PROG",
    "communes": {"06.141.01.0": {"primary": True, "share": None}},
    "budget": "20000000.00",
}
DRAFT = record(operator_ref="DOE-HMR-002", programme="HMR", title={"fr": "Brouillon", "ar": "مسودة"})
WITHDRAWN = record(operator_ref="DOE-PU-099", title={"fr": "Doublon", "ar": "مكرر"})
PUBLIC = ("DOE-PU-001", "CS-VSB-007", "CS-LS-010")


def create_projects() -> dict[str, Project]:
    """Three published projects, one unpublished, one published then withdrawn (by operator reference)."""
    agreement_create(
        actor=SYSTEM,
        reference="CONV-DAKHLA-2019",
        title_fr="Convention du pôle urbain de Dakhla",
        title_ar="اتفاقية القطب الحضري للداخلة",
        signed_on=date(2019, 5, 10),
        parties=[
            PartyInput("MA-GIE-DAKHLA-SC", "financier", Decimal("600000000.00")),
            PartyInput("MA-CP-12.391", "contracting_authority"),
            PartyInput("MA-ALOMRANE-DOE", "delegated_contracting_authority"),
            PartyInput("MA-MI", "signatory"),
        ],
    )
    batch = records_apply(
        actor=SYSTEM,
        records=[DAKHLA, SIDI_MOUMEN, ARABIC_ONLY, DRAFT, WITHDRAWN],
        source_kind="command",
        source_id="test",
        today=TODAY,
        received_at=RECEIVED,
    )
    assert [r.outcome for r in batch.results] == ["created"] * 5, [r.as_dict() for r in batch.results]
    projects_publish(actor=SYSTEM, projects=Project.objects.exclude(operator_ref="DOE-HMR-002"))
    withdrawal = {
        "operator": "MA-ALOMRANE-DOE",
        "operator_ref": "DOE-PU-099",
        "withdrawn": True,
        "reason": "x",
    }
    records_apply(actor=SYSTEM, records=[withdrawal], source_kind="command", source_id="test", today=TODAY)
    return {p.operator_ref: p for p in Project.objects.all()}


def exports_mounted() -> bool:
    try:
        reverse("api-v1:exports-projects-csv")
    except NoReverseMatch:
        return False
    return True


_LOCAL: list = []


def __getattr__(name: str):
    """``urlpatterns`` when this module serves as the URL configuration (exports_urlconf): the exports
    router under /api/v1/ in a NinjaAPI of its own, and the project pages the exports link to."""
    if name != "urlpatterns":
        raise AttributeError(name)
    if not _LOCAL:
        from django.conf.urls.i18n import i18n_patterns
        from django.urls import include, path
        from ninja import NinjaAPI

        from marsad.core.api_errors import install_problem_handlers
        from marsad.exchange import exports_api

        local = NinjaAPI(urls_namespace="exports-local")
        install_problem_handlers(local)
        local.add_router("/", exports_api.router)
        _LOCAL.append(path("api/v1/", local.urls))
        _LOCAL.extend(i18n_patterns(path("", include("marsad.registry.urls")), prefix_default_language=True))
    return _LOCAL


def exports_urlconf(settings) -> None:
    """Reach the export endpoints at /api/v1/ through Django's test client: where config/api.py mounts
    the router, through the platform's URLs; until then through a local NinjaAPI."""
    if not exports_mounted():
        settings.ROOT_URLCONF = __name__


def test_missing_schemas_skip_here_and_fail_under_ci(monkeypatch, tmp_path):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"Official schemas not found in .*absent"):
        require_shared_schemas(tmp_path / "absent")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"\(CI=true: this is a failure, not a skip\)$"):
        require_shared_schemas(tmp_path / "absent")
    assert require_shared_schemas(tmp_path) == tmp_path


# --- The official schema and codelists ---------------------------------------------------------------------

DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
FORMATS = FormatChecker()


@FORMATS.checks("date-time")
def _is_date_time(value) -> bool:
    if not isinstance(value, str):
        return True
    if not DATE_TIME.match(value):
        return False
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


@FORMATS.checks("uri")
def _is_uri(value) -> bool:
    return not isinstance(value, str) or bool(urlsplit(value).scheme)


@dataclass
class Oc4ids:
    validator: Draft4Validator
    project_schema: dict
    codelists: dict[str, set[str]]

    def errors(self, document: dict) -> list[str]:
        return [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in self.validator.iter_errors(document)
        ]

    def coded_values(self, node: dict, instance, at: str = ""):
        """(pointer, codelist, open, value) for every codelist-backed value of a project."""
        if "$ref" in node:
            node = self.project_schema["definitions"][node["$ref"].rsplit("/", 1)[-1]]
        if "codelist" in node:
            for value in instance if isinstance(instance, list) else [instance]:
                yield at, node["codelist"], bool(node.get("openCodelist")), value
        if isinstance(instance, dict):
            for key, child in node.get("properties", {}).items():
                if key in instance:
                    yield from self.coded_values(child, instance[key], f"{at}/{key}")
        elif isinstance(instance, list) and isinstance(node.get("items"), dict):
            for index, item in enumerate(instance):
                yield from self.coded_values(node["items"], item, f"{at}/{index}")

    def codelist_problems(self, package: dict) -> list[tuple]:
        """Values outside their codelist: any for a closed codelist; for an open one, any that is
        neither in the codelist nor among our documented extension codes."""
        extensions = {name: set(codes) for name, codes in oc4ids.EXTENSION_CODES.items()}
        extensions["metricID.csv"] |= set(
            Indicator.objects.filter(reported=True).values_list("code", flat=True)
        )
        problems = []
        for index, project in enumerate(package["projects"]):
            for at, codelist, is_open, value in self.coded_values(
                self.project_schema, project, f"/projects/{index}"
            ):
                known = self.codelists[codelist]
                if value not in known and not (is_open and value in extensions.get(codelist, set())):
                    problems.append((at, codelist, value))
        return problems


@pytest.fixture(scope="module")
def schema() -> Oc4ids:
    folder = require_shared_schemas(OC4IDS_DIR)
    project_schema = json.loads((folder / "project-schema.json").read_text(encoding="utf-8"))
    package_schema = json.loads((folder / "project-package-schema.json").read_text(encoding="utf-8"))
    registry = Registry().with_resource(project_schema["id"], DRAFT4.create_resource(project_schema))
    codelists = {}
    for path in sorted((folder / "codelists").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            codelists[path.name] = {row["Code"] for row in csv.DictReader(handle)}
    validator = Draft4Validator(package_schema, registry=registry, format_checker=FORMATS)
    return Oc4ids(validator, project_schema, codelists)


@pytest.fixture
def projects() -> dict[str, Project]:
    return create_projects()


def _package() -> dict:
    return oc4ids.package(with_relations(public_projects()), published_date=PUBLISHED, uri=URI)


def _stream(projects_qs, chunk_size: int = 2) -> bytes:
    return b"".join(
        oc4ids.package_chunks(
            with_relations(projects_qs), published_date=PUBLISHED, uri=URI, chunk_size=chunk_size
        )
    )


# --- Validity ---------------------------------------------------------------------------------------------


def test_the_package_validates_against_the_official_schema_and_codelists(schema, projects):
    package = _package()
    assert [p["identifiers"][1]["id"] for p in package["projects"]] == sorted(
        PUBLIC, key=lambda ref: projects[ref].public_id
    )
    assert schema.errors(package) == []
    assert schema.codelist_problems(package) == []
    used = {
        (codelist, value)
        for p in package["projects"]
        for _, codelist, _, value in schema.coded_values(schema.project_schema, p)
    }
    assert {
        ("projectStatus.csv", "implementation"),
        ("projectStatus.csv", "completion"),
        ("projectStatus.csv", "identification"),
        ("projectSector.csv", "socialHousing"),
        ("currency.csv", "MAD"),
        ("geometryType.csv", "Point"),
        ("milestoneStatus.csv", "met"),
        ("milestoneStatus.csv", "scheduled"),
        ("partyRole.csv", "signatory"),
    } <= used


def test_the_streamed_package_is_the_same_document(schema, projects):
    streamed = json.loads(_stream(public_projects(), chunk_size=2))
    assert streamed == _package()
    assert schema.errors(streamed) == []


def test_every_status_maps_into_the_closed_project_status_codelist(schema):
    assert set(oc4ids.STATUSES) == set(Status.objects.values_list("code", flat=True))
    assert set(oc4ids.STATUSES.values()) <= schema.codelists["projectStatus.csv"]
    assert set(oc4ids.STATUS_FROM_OC4IDS) <= schema.codelists["projectStatus.csv"]
    for codes in oc4ids.PROGRAMME_SECTORS.values():
        assert set(codes) <= schema.codelists["projectSector.csv"]
    assert set(oc4ids.PROGRAMME_TYPES.values()) <= schema.codelists["projectType.csv"]
    assert set(oc4ids.MILESTONE_TYPES.values()) <= schema.codelists["milestoneType.csv"]
    assert set(oc4ids.MILESTONE_CODES.values()) <= schema.codelists["milestoneCode.csv"]


def test_the_checks_catch_a_broken_package(schema, projects):
    package = _package()
    package["version"] = "0.9.5"
    package["projects"][0]["status"] = "ongoing"
    package["projects"][0]["budget"]["amount"]["currency"] = "DH"
    package["projects"][1]["parties"][0]["roles"] = ["owner"]
    package["projects"][1]["updated"] = "2026-10-31"
    errors = schema.errors(package)
    assert "version: '0.9.5' does not match '^(\\\\d+\\\\.)(\\\\d+)$'" in errors
    assert any(e.startswith("projects/0/status: 'ongoing' is not one of") for e in errors)
    assert "projects/1/updated: '2026-10-31' is not a 'date-time'" in errors
    assert schema.codelist_problems(package) == [
        ("/projects/0/budget/amount/currency", "currency.csv", "DH"),
        ("/projects/0/status", "projectStatus.csv", "ongoing"),
        ("/projects/1/parties/0/roles", "partyRole.csv", "owner"),
    ]


# --- Mapping ----------------------------------------------------------------------------------------------


def test_a_project_maps_field_by_field(projects):
    dakhla = projects["DOE-PU-001"]
    exported = oc4ids.project(with_relations(Project.objects.filter(pk=dakhla.pk)).get())
    operator = {
        "id": "MA-ALOMRANE-DOE",
        "name": "Al Omrane Dakhla-Oued Ed-Dahab",
        "name_ar": "العمران الداخلة-وادي الذهب",
        "identifier": {
            "scheme": "MA-MARSAD",
            "id": "MA-ALOMRANE-DOE",
            "legalName": "Al Omrane Dakhla-Oued Ed-Dahab",
        },
        "roles": ["publicAuthority", "funder", "procuringEntity"],
    }
    parties = {party["id"]: party["roles"] for party in exported.pop("parties")}
    assert parties == {
        "MA-ALOMRANE-DOE": operator["roles"],
        "MA-GIE-DAKHLA-SC": ["funder"],
        "MA-CP-12.391": ["publicAuthority"],
        "MA-MI": ["signatory"],
    }
    at_as_of = {"endDate": "2026-09-30T00:00:00Z"}
    hectares = {"name": "ha", "scheme": "UNCEFACT", "id": "HAR"}
    assert exported == {
        "id": f"oc4ids-marsad-{dakhla.public_id}",
        "updated": "2026-10-31T09:00:00Z",
        "language": "fr",
        "identifiers": [
            {"id": dakhla.public_id, "scheme": "MA-MARSAD"},
            {"id": "DOE-PU-001", "scheme": "MA-ALOMRANE-DOE"},
        ],
        "publicAuthority": {"id": "MA-ALOMRANE-DOE", "name": "Al Omrane Dakhla-Oued Ed-Dahab"},
        "title": "Pôle urbain de Dakhla",
        "title_ar": "القطب الحضري للداخلة",
        "description": "Ville intelligente sur 275 ha",
        "description_ar": "مدينة ذكية على 275 هكتارا",
        "status": "implementation",
        "type": "construction",
        "purpose": "Pôles urbains",
        "additionalClassifications": [
            {"scheme": "marsadProgramme", "id": "PU", "description": "Pôles urbains"},
            {"scheme": "marsadStatus", "id": "ENCO", "description": "En cours de réalisation"},
        ],
        "budget": {
            "amount": {"amount": 1500000000, "currency": "MAD"},
            "budgetBreakdowns": [
                {
                    "id": "financingPlan",
                    "description": "Plan de financement par partenaire",
                    "budgetBreakdown": [
                        {
                            "id": "MA-ALOMRANE-DOE",
                            "amount": {"amount": 900000000, "currency": "MAD"},
                            "sourceParty": {
                                "id": "MA-ALOMRANE-DOE",
                                "name": "Al Omrane Dakhla-Oued Ed-Dahab",
                            },
                        },
                        {
                            "id": "MA-GIE-DAKHLA-SC",
                            "amount": {"amount": 600000000, "currency": "MAD"},
                            "sourceParty": {
                                "id": "MA-GIE-DAKHLA-SC",
                                "name": "GIE Dakhla Ville Intelligente",
                            },
                        },
                    ],
                }
            ],
        },
        "period": {"startDate": "2024-01-01T00:00:00Z", "endDate": "2030-12-31T00:00:00Z"},
        "implementationPeriod": {"startDate": "2024-03-01T00:00:00Z"},
        "locations": [
            {
                "id": "1",
                "description": "Dakhla",
                "description_ar": "الداخلة",
                "geometry": {"type": "Point", "coordinates": [-15.93, 23.7]},
                "gazetteer": {"scheme": "HCP", "identifiers": ["12.391.01.01"]},
                "address": {"locality": "Dakhla", "countryName": "Maroc", "region": "Dakhla-Oued Ed-Dahab"},
            }
        ],
        "forecasts": [
            {
                "id": "SUP",
                "title": "Superficie aménagée",
                "title_ar": "المساحة المهيأة",
                "observations": [{"id": "target", "measure": 275, "unit": hectares}],
            }
        ],
        "metrics": [
            {
                "id": "physicalProgress",
                "title": "Avancement physique",
                "observations": [
                    {
                        "id": "progress",
                        "measure": 12.5,
                        "unit": {"name": "percent", "scheme": "UNCEFACT", "id": "P1"},
                        "period": at_as_of,
                    }
                ],
            },
            {
                "id": "financialProgress",
                "title": "Avancement financier",
                "observations": [
                    {
                        "id": "committed",
                        "value": {"amount": 300000000, "currency": "MAD"},
                        "notes": "Montant engagé (cumul)",
                        "period": at_as_of,
                    },
                    {
                        "id": "paid",
                        "value": {"amount": 150000000, "currency": "MAD"},
                        "notes": "Montant payé (cumul)",
                        "period": at_as_of,
                    },
                ],
            },
            {
                "id": "area",
                "title": "Superficie",
                "observations": [{"id": "area", "measure": 275, "unit": hectares}],
            },
            {
                "id": "SUP",
                "title": "Superficie aménagée",
                "title_ar": "المساحة المهيأة",
                "observations": [{"id": "achieved", "measure": 40, "unit": hectares, "period": at_as_of}],
            },
        ],
        "milestones": [
            {
                "id": "SIGN_CONV",
                "title": "Signature convention",
                "title_ar": "توقيع الاتفاقية",
                "type": "approval",
                "code": "projectApproval",
                "dateMet": "2019-05-10T00:00:00Z",
                "status": "met",
            },
            {
                "id": "OS",
                "title": "Ordre de service",
                "title_ar": "الأمر بالشروع في الأشغال",
                "type": "delivery",
                "code": "commencement",
                "dueDate": "2024-02-01T00:00:00Z",
                "dateMet": "2024-03-01T00:00:00Z",
                "status": "met",
            },
            {
                "id": "RP",
                "title": "Réception provisoire",
                "title_ar": "التسلم المؤقت",
                "type": "delivery",
                "code": "completion",
                "dueDate": "2030-06-30T00:00:00Z",
                "status": "scheduled",
            },
            {
                "id": "RP.forecast",
                "title": "Réception provisoire (date prévisionnelle)",
                "title_ar": "التسلم المؤقت (التاريخ المتوقع)",
                "type": "delivery",
                "code": "completion",
                "dueDate": "2031-03-31T00:00:00Z",
                "status": "scheduled",
            },
        ],
        "documents": [
            {
                "id": "CONV-DAKHLA-2019",
                "documentType": "financialAgreement",
                "title": "Convention du pôle urbain de Dakhla",
                "title_ar": "اتفاقية القطب الحضري للداخلة",
            }
        ],
    }


def test_several_communes_completion_and_an_arabic_only_title(projects):
    sidi = oc4ids.project(with_relations(Project.objects.filter(operator_ref="CS-VSB-007")).get())
    assert (sidi["status"], sidi["sector"], sidi["type"]) == ("completion", ["socialHousing"], "construction")
    assert sidi["locations"] == [
        {
            "id": "1",
            "description": "Sidi Moumen",
            "description_ar": "سيدي مومن",
            "gazetteer": {"scheme": "HCP", "identifiers": ["06.141.01.53"]},
            "address": {"locality": "Sidi Moumen", "countryName": "Maroc", "region": "Casablanca-Settat"},
        },
        {
            "id": "2",
            "description": "Settat",
            "description_ar": "سطات",
            "gazetteer": {"scheme": "HCP", "identifiers": ["06.461.01.15"]},
            "address": {"locality": "Settat", "countryName": "Maroc", "region": "Casablanca-Settat"},
        },
    ]
    assert sidi["completion"] == {"endDate": "2025-06-30T00:00:00Z"}
    assert sidi["implementationPeriod"] == {
        "startDate": "2021-01-04T00:00:00Z",
        "endDate": "2025-06-30T00:00:00Z",
    }
    assert sidi["metrics"][1]["observations"][1]["value"] == {"amount": 78500000.5, "currency": "MAD"}
    assert [m["id"] for m in sidi["metrics"]] == ["physicalProgress", "financialProgress", "area", "MEN_TRT"]
    assert [f["id"] for f in sidi["forecasts"]] == ["MEN_TRT", "LOTS"]

    arabic = oc4ids.project(with_relations(Project.objects.filter(operator_ref="CS-LS-010")).get())
    assert "title" not in arabic
    assert arabic["title_ar"] == "سكن اجتماعي بالدار البيضاء"
    assert "description" not in arabic
    assert "description_ar" not in arabic
    assert arabic["status"] == "identification"
    assert arabic["budget"] == {"amount": {"amount": 20000000, "currency": "MAD"}}
    assert [
        key for key in ("period", "metrics", "forecasts", "milestones", "documents") if key in arabic
    ] == []


# --- Import -----------------------------------------------------------------------------------------------


def _apply(pairs, **options):
    return records_apply(
        actor=SYSTEM,
        records=[record for record, _ in pairs],
        source_kind="command",
        source_id="test",
        today=TODAY,
        **options,
    )


def test_our_own_package_imports_back_unchanged(projects):
    package = json.loads(_stream(public_projects()), parse_float=Decimal)
    pairs = oc4ids.records_from_package(package)
    assert [pointer for _, pointer in pairs] == ["/projects/0", "/projects/1", "/projects/2"]
    batch = _apply(pairs)
    assert [(r.outcome, r.sha256) for r in batch.results] == [
        ("unchanged", projects[ref].sha256) for ref in sorted(PUBLIC, key=lambda ref: projects[ref].public_id)
    ]
    assert ProjectVersion.objects.count() == 6  # five creations and the withdrawal, nothing more


def test_imported_into_an_empty_registry_the_records_are_the_same(projects):
    """As if imported by another platform: each project under a new operator reference is created
    with a record equal to the original, field for field."""
    package = _package()
    for project in package["projects"]:
        project["identifiers"][1]["id"] = "COPY-" + project["identifiers"][1]["id"]
    batch = _apply(oc4ids.records_from_package(package))
    assert [r.outcome for r in batch.results] == ["created"] * 3
    for result in batch.results:
        original = projects[result.operator_ref.removeprefix("COPY-")]
        copy = Project.objects.get(public_id=result.public_id)
        assert project_record(copy) == {**project_record(original), "operator_ref": result.operator_ref}


def _package_of(project: Project) -> dict:
    return oc4ids.package(
        with_relations(Project.objects.filter(pk=project.pk)), published_date=PUBLISHED, uri=URI
    )


def _document(raw: dict, public_id: str) -> dict:
    parsed, issues = parse(raw, Catalogue.load(today=TODAY))
    assert parsed is not None, issues
    return record_document(parsed, public_id)


def test_commune_shares_are_what_does_not_round_trip(projects):
    shared = record(
        operator_ref="DOE-PU-050",
        communes={
            "12.391.01.01": {"primary": True, "share": "60"},
            "12.391.09.01": {"primary": False, "share": "40"},
        },
    )
    created = records_apply(actor=SYSTEM, records=[shared], source_kind="command", source_id="t", today=TODAY)
    project = Project.objects.get(pk=created.results[0].project.pk)
    [(imported, _)] = oc4ids.records_from_package(_package_of(project))
    changes = diff(project_document(project), _document(imported, project.public_id))
    assert changes == [
        {"pointer": "/communes/12.391.01.01/share", "before": "60.00", "after": None},
        {"pointer": "/communes/12.391.09.01/share", "before": "40.00", "after": None},
    ]
    assert _apply([(imported, "")], dry_run=True).results[0].outcome == "updated"


def test_the_import_reads_the_record_field_by_field(projects):
    [(imported, pointer)] = oc4ids.records_from_package(_package_of(projects["CS-VSB-007"]))
    assert pointer == "/projects/0"
    assert imported == {
        "operator": "MA-ALOMRANE-CS",
        "operator_ref": "CS-VSB-007",
        "title": {"fr": "Relogement des ménages de Sidi Moumen", "ar": "إعادة إسكان أسر سيدي مومن"},
        "description": {"fr": "", "ar": ""},
        "programme": "VSB",
        "status": "ACHV",
        "agreement": None,
        "communes": {
            "06.141.01.53": {"primary": True, "share": None},
            "06.461.01.15": {"primary": False, "share": None},
        },
        "location": None,
        "area_ha": "12.5",
        "planned_start": "2020-09-01",
        "planned_end": "2024-12-31",
        "actual_start": "2021-01-04",
        "actual_end": "2025-06-30",
        "budget": "80000000",
        "financing": {"MA-ALOMRANE-CS": "50000000", "MA-CR-06": "30000000"},
        "outputs": {
            "LOTS": {"target": "600", "achieved": None},
            "MEN_TRT": {"target": "1200", "achieved": "1200"},
        },
        "milestones": {"RELOG": {"planned": "2024-06-30", "forecast": None, "actual": "2025-03-15"}},
        "as_of": "2025-07-31",
        "progress": "100",
        "committed": "80000000",
        "paid": "78500000.5",
    }


FOREIGN = {
    "uri": "https://data.example.org/oc4ids/2026-10.json",
    "publishedDate": "2026-10-15T10:00:00+01:00",
    "version": "0.9",
    "publisher": {"name": "Autre éditeur"},
    "projects": [
        {
            "id": "oc4ids-xy12ab-001",
            "language": "ar",
            "title": "تهيئة حي الانبعاث",
            "title_fr": "Aménagement du quartier Al Inbiaat",
            "publicAuthority": {"id": "ao-cs"},
            "parties": [
                {
                    "id": "ao-cs",
                    "name": "Al Omrane Casablanca-Settat",
                    "identifier": {"scheme": "MA-ICE", "id": "001234567000089"},
                    "additionalIdentifiers": [{"scheme": "MA-MARSAD", "id": "MA-ALOMRANE-CS"}],
                    "roles": ["publicAuthority"],
                },
                {"id": "region", "name": "Région", "identifier": {"id": "MA-CR-06"}, "roles": ["funder"]},
                {"id": "bank", "name": "Banque étrangère", "roles": ["funder"]},
            ],
            "status": "implementation",
            "additionalClassifications": [{"scheme": "marsadProgramme", "id": "MANU"}],
            "budget": {
                "amount": {"amount": 45000000, "currency": "MAD"},
                "budgetBreakdowns": [
                    {
                        "id": "by-year",
                        "budgetBreakdown": [
                            {
                                "id": "1",
                                "amount": {"amount": 20000000, "currency": "MAD"},
                                "sourceParty": {"id": "region"},
                            },
                            {
                                "id": "2",
                                "amount": {"amount": 15000000.5, "currency": "MAD"},
                                "sourceParty": {"id": "region"},
                            },
                            {
                                "id": "3",
                                "amount": {"amount": 10000000, "currency": "MAD"},
                                "sourceParty": {"id": "bank"},
                            },
                        ],
                    }
                ],
            },
            "period": {"startDate": "2025-01-01T00:00:00+01:00", "endDate": "2027-06-30T00:00:00Z"},
            "locations": [
                {"id": "a", "geometry": {"type": "Point", "coordinates": [-7.55, 33.59]}},
                {"id": "b", "gazetteer": {"scheme": "HCP", "identifiers": ["06.141.01.53"]}},
            ],
            "metrics": [
                {
                    "id": "physicalProgress",
                    "observations": [
                        {"id": "q1", "measure": 10, "period": {"endDate": "2026-03-31T00:00:00Z"}},
                        {"id": "q2", "measure": 25.5, "period": {"endDate": "2026-06-30T00:00:00Z"}},
                    ],
                }
            ],
            "milestones": [
                {"id": "OS", "dueDate": "2025-02-01T00:00:00Z", "dateMet": "2025-02-15T00:00:00Z"},
                {"id": "kickoff", "dueDate": "2025-01-10T00:00:00Z"},
            ],
            "documents": [{"id": "LOAN-77", "documentType": "financialAgreement"}],
        },
        {
            "id": "oc4ids-xy12ab-002",
            "title": "Sans programme",
            "parties": [{"id": "MA-ALOMRANE-CS", "roles": ["publicAuthority"]}],
            "status": "decommissioned",
            "budget": {"amount": {"amount": 1000, "currency": "EUR"}},
            "locations": [{"id": "a", "gazetteer": {"scheme": "HCP", "identifiers": ["99.999.99.9"]}}],
        },
        "not a project",
    ],
}


def test_another_publishers_package_becomes_records():
    pairs = oc4ids.records_from_package(FOREIGN)
    assert pairs[0] == (
        {
            "operator": "MA-ALOMRANE-CS",
            "operator_ref": "oc4ids-xy12ab-001",
            "title": {"fr": "Aménagement du quartier Al Inbiaat", "ar": "تهيئة حي الانبعاث"},
            "description": {"fr": "", "ar": ""},
            "programme": "MANU",
            "status": "ENCO",
            "agreement": None,
            "communes": {"06.141.01.53": {"primary": True, "share": None}},
            "location": {"lat": "33.59", "lon": "-7.55"},
            "area_ha": None,
            "planned_start": "2025-01-01",
            "planned_end": "2027-06-30",
            "actual_start": None,
            "actual_end": None,
            "budget": "45000000",
            "financing": {"MA-CR-06": "35000000.5"},
            "outputs": {},
            "milestones": {"OS": {"planned": "2025-02-01", "forecast": None, "actual": "2025-02-15"}},
            "as_of": "2026-06-30",
            "progress": "25.5",
            "committed": None,
            "paid": None,
        },
        "/projects/0",
    )
    assert pairs[1][0]["budget"] == "1000 EUR"
    assert (pairs[1][0]["status"], pairs[1][0]["programme"], pairs[1][0]["operator"]) == (
        "",
        "",
        "MA-ALOMRANE-CS",
    )
    assert pairs[2] == ("not a project", "/projects/2")

    batch = _apply(pairs)
    assert [r.outcome for r in batch.results] == ["created", "rejected", "rejected"]
    assert [(i.code, i.pointer) for i in batch.results[0].issues] == [("financing_mismatch", "/financing")]
    assert sorted((i.code, i.pointer) for i in batch.results[1].errors) == [
        ("malformed_amount", "/budget"),
        ("required", "/programme"),
        ("required", "/status"),
        ("unknown_commune", "/communes/99.999.99.9"),
    ]
    assert [(i.code, i.pointer) for i in batch.results[2].errors] == [("malformed_record", "")]


def test_the_demo_data_validates_and_round_trips(schema):
    """The demo generator's projects (every programme and status, agreements, milestones with
    forecasts, communes with shares): valid, and unchanged on import but for the communes' shares."""
    demo_generate(projects=60, users=False)
    exported = Project.objects.filter(withdrawn=False)
    package = json.loads(_stream(exported, chunk_size=25))
    assert len(package["projects"]) == exported.count() > 50
    assert schema.errors(package) == []
    assert schema.codelist_problems(package) == []
    pairs = oc4ids.records_from_package(package)
    batch = records_apply(
        actor=SYSTEM,
        records=[record for record, _ in pairs],
        source_kind="command",
        source_id="test",
        today=DEMO_TODAY,
        dry_run=True,
    )
    catalogue = Catalogue.load(today=DEMO_TODAY)
    for (imported, _), result in zip(pairs, batch.results, strict=True):
        if result.outcome == "unchanged":
            continue
        assert result.outcome == "updated"
        project = Project.objects.get(public_id=result.public_id)
        parsed, _ = parse(imported, catalogue)
        changes = diff(project_document(project), record_document(parsed, project.public_id))
        assert {change["pointer"].rsplit("/", 1)[-1] for change in changes} == {"share"}
        assert {change["after"] for change in changes} == {None}
    assert sum(r.outcome == "unchanged" for r in batch.results) >= len(pairs) - 5


@pytest.mark.parametrize("document", [[], {"projects": {}}, {"uri": "x"}, "text"])
def test_a_document_that_is_not_a_package_is_refused(document):
    with pytest.raises(oc4ids.PackageError):
        oc4ids.records_from_package(document)


# --- Commands ---------------------------------------------------------------------------------------------


def _run(command, *args) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def test_the_import_command_reports_counts_and_rejections(projects, tmp_path):
    ours = _package()
    ours["projects"].append(FOREIGN["projects"][1])
    path = tmp_path / "paquet.json"
    path.write_text(json.dumps(ours, ensure_ascii=False), encoding="utf-8")

    dry = _run(oc4ids_import.Command(), str(path), "--dry-run")
    assert "4 projets vérifiés (rien n'a été écrit) : 0 créés, 0 mis à jour, 3 inchangés, 1 rejetés." in dry
    assert "Rejeté : /projects/3 (oc4ids-xy12ab-002)" in dry
    assert "  /programme [required] Champ obligatoire manquant : programme." in dry
    assert (
        "  /budget [malformed_amount] Montant invalide : 1000 EUR "
        "(un nombre positif en dirhams, 2 décimales au plus)." in dry
    )

    other = tmp_path / "autre.json"
    other.write_text(json.dumps({**FOREIGN, "projects": FOREIGN["projects"][:1]}), encoding="utf-8")
    done = _run(oc4ids_import.Command(), str(other))
    assert "1 projets importés : 1 créés, 0 mis à jour, 0 inchangés, 0 rejetés." in done
    version = ProjectVersion.objects.get(project__operator_ref="oc4ids-xy12ab-001")
    assert (version.source_kind, version.source_id, version.actor_label) == (
        "command",
        "autre.json",
        "oc4ids_import",
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "n'est pas un fichier JSON valide."),
        (
            b'{"projects": 3}',
            "n'est pas un paquet de projets OC4IDS (il faut un objet avec une liste « projects »).",
        ),
        (b"\xff\xfe", "n'est pas un fichier JSON valide."),
    ],
)
def test_the_import_command_refuses_what_is_not_a_package(tmp_path, content, message):
    path = tmp_path / "mauvais.json"
    path.write_bytes(content)
    with pytest.raises(CommandError) as raised:
        _run(oc4ids_import.Command(), str(path))
    assert str(raised.value) == f"{path} {message}"


def test_the_import_command_names_a_missing_file(tmp_path):
    with pytest.raises(
        CommandError, match=r"^Fichier illisible : .*absent\.json \(No such file or directory\)\.$"
    ):
        _run(oc4ids_import.Command(), str(tmp_path / "absent.json"))


def test_the_export_command_writes_the_published_projects(schema, projects, tmp_path):
    path = tmp_path / "oc4ids.json"
    out = _run(oc4ids_export.Command(), "--output", str(path), "--base-url", "https://marsad.test/")
    assert out == f"3 projets écrits dans {path}.\n"
    written = json.loads(path.read_text(encoding="utf-8"))
    assert (written["uri"], written["publishedDate"]) == (URI, "2026-10-31T09:00:00Z")
    assert schema.errors(written) == []
    assert sorted(p["identifiers"][1]["id"] for p in written["projects"]) == sorted(PUBLIC)

    printed = json.loads(_run(oc4ids_export.Command()))
    assert printed["uri"] == "urn:marsad:oc4ids:2026-10-31T09:00:00Z"
    assert printed["projects"] == written["projects"]


# --- Endpoints --------------------------------------------------------------------------------------------


@pytest.fixture
def exports(settings):
    exports_urlconf(settings)


def test_the_package_endpoint_streams_a_valid_package(client, exports, schema, projects):
    response = client.get("/api/v1/exports/oc4ids.json")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="marsad-oc4ids.json"'
    package = json.loads(b"".join(response.streaming_content))
    assert (package["uri"], package["publishedDate"]) == (
        "http://testserver/api/v1/exports/oc4ids.json",
        "2026-10-31T09:00:00Z",
    )
    assert schema.errors(package) == []
    assert len(package["projects"]) == 3


def test_the_package_endpoint_takes_the_project_list_filters(client, exports, projects):
    response = client.get("/api/v1/exports/oc4ids.json", {"programme": "VSB"})
    package = json.loads(b"".join(response.streaming_content))
    assert [p["identifiers"][1]["id"] for p in package["projects"]] == ["CS-VSB-007"]
    response = client.get("/api/v1/exports/oc4ids.json", {"commune": "06.141.01.0"})
    package = json.loads(b"".join(response.streaming_content))
    assert sorted(p["identifiers"][1]["id"] for p in package["projects"]) == ["CS-LS-010", "CS-VSB-007"]

    unknown = client.get("/api/v1/exports/oc4ids.json", {"programme": "XYZ"})
    assert (unknown.status_code, unknown["Content-Type"]) == (422, PROBLEM)
    assert [(e["pointer"], e["code"]) for e in unknown.json()["errors"]] == [
        ("/programme", "unknown_programme")
    ]
    malformed = client.get("/api/v1/exports/oc4ids.json", {"region": "casablanca"})
    assert (malformed.status_code, malformed.json()["errors"][0]["pointer"]) == (422, "/region")


def test_the_project_endpoint_answers_whoever_may_read_the_project(client, exports, schema, projects):
    public = projects["DOE-PU-001"]
    response = client.get(f"/api/v1/projects/{public.public_id}/oc4ids.json")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{public.public_id}-oc4ids.json"'
    package = json.loads(b"".join(response.streaming_content))
    assert schema.errors(package) == []
    assert [p["id"] for p in package["projects"]] == [f"oc4ids-marsad-{public.public_id}"]
    assert package["projects"][0] == _package_of(public)["projects"][0]

    draft = projects["DOE-HMR-002"]
    for public_id in (draft.public_id, projects["DOE-PU-099"].public_id, "MRS-0000000000", "nothing"):
        missing = client.get(f"/api/v1/projects/{public_id}/oc4ids.json")
        assert (missing.status_code, missing["Content-Type"]) == (404, PROBLEM)

    analyst = user_create(actor=SYSTEM, username="analyste", password=None)
    membership_grant(actor=SYSTEM, user=analyst, role=Role.NATIONAL_ANALYST)
    client.force_login(analyst)
    response = client.get(f"/api/v1/projects/{draft.public_id}/oc4ids.json")
    assert response.status_code == 200
    assert (
        json.loads(b"".join(response.streaming_content))["projects"][0]["identifiers"][1]["id"]
        == "DOE-HMR-002"
    )
    # The open export stays public whoever asks.
    package = json.loads(b"".join(client.get("/api/v1/exports/oc4ids.json").streaming_content))
    assert len(package["projects"]) == 3


# --- Streaming --------------------------------------------------------------------------------------------


@pytest.mark.dbsensitive
def test_the_package_is_read_a_chunk_at_a_time(projects, django_assert_num_queries):
    """Queries grow with the chunks, never with the projects: the project rows, then per chunk one
    query per related table; the first chunk is written before the next is read."""
    chunks = oc4ids.package_chunks(
        with_relations(public_projects()), published_date=PUBLISHED, uri=URI, chunk_size=2
    )
    order = sorted(PUBLIC, key=lambda ref: projects[ref].public_id)
    # The agreement's parties are read for a chunk that holds a project with an agreement (Dakhla).
    parties = [int("DOE-PU-001" in order[:2]), int("DOE-PU-001" in order[2:])]
    # Regions (1), the project rows (1), then for the first chunk of two: communes, financing,
    # outputs, milestones (4) and the agreement parties.
    with django_assert_num_queries(6 + parties[0]):
        head, first = next(chunks), next(chunks)
    assert head.startswith(b'{"uri":')
    assert first.count(b'"id":"oc4ids-marsad-') == 2
    # The second chunk (the third project) only when the stream goes on.
    with django_assert_num_queries(4 + parties[1]):
        rest = list(chunks)
    assert rest[-1] == b"]}"
