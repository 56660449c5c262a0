"""The authorisation matrix: every route × every role, against a committed table of outcomes.

- ``authorization_matrix.tsv`` says, for each route, method and target object, what each role gets:
  200, 302 (a redirect that is not to a login page), ``login`` (sent to log in), 403, 404 or 405.
- ``authorization_lists.tsv`` says, for list routes and searches, exactly which objects each role
  sees, and how many.
- ``ROUTES`` below knows how to call each route. A route of the URL configuration that it does not
  know fails the test: every new route must be added here and to the tables.

The world is small and hand-built: six projects of four operators in four regions (published,
private, financed by the Casablanca-Settat region council, under an agreement that council signed,
withdrawn), two agreements and one user per role.
"""

import csv
import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLResolver, get_resolver
from django.utils import translation

from marsad.accounts.choices import Role
from marsad.accounts.models import Organisation
from marsad.accounts.services import membership_grant, user_create
from marsad.alerts.services import alerts_evaluate
from marsad.audit.services import SystemActor
from marsad.exchange.services import client_create, submission_process
from marsad.registry.models import Project
from marsad.registry.services import PartyInput, agreement_create, projects_publish, records_apply
from marsad.registry.tests.records import ADMIN_SCOPE, TODAY, record
from marsad.territories.models import Territory

pytestmark = pytest.mark.django_db
HERE = Path(__file__).resolve().parent
ROLES = (
    "anonymous",
    "administrator",
    "national_analyst",
    "territorial_officer",
    "operator_steward",
    "holding_steward",
    "partner_viewer",
)
ACTOR = SystemActor("authorization-matrix")


# --- The world --------------------------------------------------------------------------------------------

PROJECTS = {
    "CASA-PUB": (
        "MA-ALOMRANE-CS",
        "06.141.01.0",
        "Restructuration du quartier Al Amal",
        "إعادة هيكلة حي الأمل",
    ),
    "SETTAT-PRIV": ("MA-ALOMRANE-CS", "06.461.01.15", "Lotissement Al Farah à Settat", "تجزئة الفرح بسطات"),
    "TANGER-PRIV": (
        "MA-ALOMRANE-TTA",
        "01.511.01.0",
        "Mise à niveau de la médina de Tanger",
        "تأهيل المدينة العتيقة لطنجة",
    ),
    "DAKHLA-PUB": ("MA-ALOMRANE-DOE", "12.391.01.01", "Pôle urbain de Dakhla", "القطب الحضري للداخلة"),
    "DAKHLA-WD": ("MA-ALOMRANE-DOE", "12.391.01.01", "Doublon du pôle urbain", "نسخة مكررة"),
    "SALE-PRIV": (
        "MA-ALOMRANE-RSK",
        "04.441.01.0",
        "Réhabilitation de la médina de Salé",
        "تأهيل المدينة العتيقة لسلا",
    ),
}


@dataclass
class World:
    users: dict
    ids: dict  # operator_ref -> public id
    refs: dict  # public id -> operator_ref
    submission: str = ""  # a submission of the Casablanca-Settat subsidiary's client


def build_world() -> World:
    agreement_create(
        actor=ACTOR,
        reference="CONV-CR06",
        title_fr="Convention de la région avec Al Omrane Tanger",
        title_ar="اتفاقية الجهة مع العمران طنجة",
        signed_on=date(2023, 3, 1),
        parties=[PartyInput("MA-CR-06", "signatory"), PartyInput("MA-ALOMRANE-TTA", "contracting_authority")],
    )
    agreement_create(
        actor=ACTOR,
        reference="CONV-DOE",
        title_fr="Partenariat public-privé du pôle urbain de Dakhla",
        title_ar="شراكة القطب الحضري للداخلة",
        signed_on=date(2019, 5, 10),
        parties=[PartyInput("MA-ALOMRANE-DOE", "signatory"), PartyInput("MA-GIE-DAKHLA-SC", "financier")],
    )
    rows = []
    for ref, (operator, commune, title_fr, title_ar) in PROJECTS.items():
        financing = {operator: "1500000000.00"}
        if ref == "SETTAT-PRIV":
            financing = {operator: "1000000000.00", "MA-CR-06": "500000000.00"}
        rows.append(
            record(
                operator=operator,
                operator_ref=ref,
                title={"fr": title_fr, "ar": title_ar},
                communes={commune: {"primary": True, "share": None}},
                financing=financing,
                agreement={"TANGER-PRIV": "CONV-CR06", "DAKHLA-PUB": "CONV-DOE"}.get(ref),
            )
        )
    apply = {
        "actor": ACTOR,
        "source_kind": "command",
        "source_id": "matrix",
        "scope": ADMIN_SCOPE,
        "today": TODAY,
    }
    batch = records_apply(records=rows, **apply)
    assert batch.counts["created"] == 6, [r.as_dict() for r in batch.results if r.issues]
    records_apply(records=[record(**{**rows[1], "progress": "30"})], **apply)  # SETTAT-PRIV has two versions
    projects_publish(
        actor=ACTOR, projects=Project.objects.filter(operator_ref__in=["CASA-PUB", "DAKHLA-PUB", "DAKHLA-WD"])
    )
    withdrawal = {
        "operator": "MA-ALOMRANE-DOE",
        "operator_ref": "DAKHLA-WD",
        "withdrawn": True,
        "reason": "doublon",
    }
    records_apply(records=[withdrawal], **apply)

    def person(name, role, territory=None, organisation=None, staff=False):
        user = user_create(actor=ACTOR, username=name, password=None, is_staff=staff)
        if staff:
            user.is_superuser = True
            user.save()
        membership_grant(
            actor=ACTOR,
            user=user,
            role=role,
            territory=Territory.objects.get(code=territory) if territory else None,
            organisation=Organisation.objects.get(code=organisation) if organisation else None,
        )
        return user

    users = {
        "anonymous": None,
        "administrator": person("admin", Role.ADMINISTRATOR, staff=True),
        "national_analyst": person("analyst", Role.NATIONAL_ANALYST),
        "territorial_officer": person("wali", Role.TERRITORIAL_OFFICER, territory="06"),
        "operator_steward": person("steward", Role.OPERATOR_STEWARD, organisation="MA-ALOMRANE-CS"),
        "holding_steward": person("holding", Role.OPERATOR_STEWARD, organisation="MA-ALOMRANE"),
        "partner_viewer": person("partner", Role.PARTNER_VIEWER, organisation="MA-CR-06"),
    }
    ids = dict(Project.objects.values_list("operator_ref", "public_id"))
    cs_client, _ = client_create(
        actor=ACTOR, client_id="si-cs", name="SI Casablanca-Settat",
        organisation=Organisation.objects.get(code="MA-ALOMRANE-CS"),
    )  # fmt: skip
    casa = record(**{**rows[0], "progress": "45"})
    processed = submission_process(
        client=cs_client, records=[casa], base_versions=[None], idempotency_key="matrix", digest="0" * 64,
        today=TODAY,
    )  # fmt: skip
    assert processed.receipt["counts"]["updated"] == 1
    return World(users, ids, {v: k for k, v in ids.items()}, processed.receipt["submission_id"])


# --- The routes ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """How to call a route: its URL for a target, and how to read the objects a list returns."""

    url: str  # with {project}, {agreement}, {code}... placeholders filled from the target
    items: str = ""  # "api-projects", "api-agreements", "html-projects", "html-agreements"


ROUTES = {
    # API
    "api/v1/openapi.json": Route("/api/v1/openapi.json"),
    "api/v1/docs": Route("/api/v1/docs"),
    "api/v1/": Route("/api/v1/"),
    "^api/": Route("/api/unknown"),
    "api/v1/territories": Route("/api/v1/territories?level=region"),
    "api/v1/territories/indicators": Route("/api/v1/territories/indicators"),
    "api/v1/territories/geojson": Route("/api/v1/territories/geojson"),
    "api/v1/territories/<code>": Route("/api/v1/territories/06"),
    "api/v1/territories/<code>/intelligence": Route("/api/v1/territories/06/intelligence"),
    "api/v1/projects": Route("/api/v1/projects{query}", items="api-projects"),
    "api/v1/projects/<public_id>": Route("/api/v1/projects/{project}"),
    "api/v1/projects/<public_id>/versions": Route("/api/v1/projects/{project}/versions"),
    "api/v1/projects/<public_id>/versions/<number>": Route("/api/v1/projects/{project}/versions/1"),
    "api/v1/programmes": Route("/api/v1/programmes"),
    "api/v1/programmes/<code>": Route("/api/v1/programmes/VSB"),
    "api/v1/organisations": Route("/api/v1/organisations"),
    "api/v1/organisations/<code>": Route("/api/v1/organisations/MA-ALOMRANE-CS"),
    "api/v1/agreements": Route("/api/v1/agreements{query}", items="api-agreements"),
    "api/v1/agreements/<reference>": Route("/api/v1/agreements/{agreement}"),
    "api/v1/reference/statuses": Route("/api/v1/reference/statuses"),
    "api/v1/reference/milestone-types": Route("/api/v1/reference/milestone-types"),
    "api/v1/reference/indicators": Route("/api/v1/reference/indicators"),
    "api/v1/indicators/figures": Route("/api/v1/indicators/figures"),
    "api/v1/indicators/map": Route("/api/v1/indicators/map?indicator=TX_PHYS&level=province&parent=06"),
    "api/v1/indicators/targets": Route("/api/v1/indicators/targets?year=2026"),
    "api/v1/indicators/targets/<int:target_id>": Route("/api/v1/indicators/targets/1"),
    "api/v1/indicators/closes": Route("/api/v1/indicators/closes"),
    "api/v1/indicators/quality": Route("/api/v1/indicators/quality"),
    "api/v1/indicators/projects/<public_id>/schedule": Route(
        "/api/v1/indicators/projects/{project}/schedule"
    ),
    "api/v1/exchange/submissions": Route("/api/v1/exchange/submissions"),
    "api/v1/exchange/submissions/<submission_id>": Route("/api/v1/exchange/submissions/{submission}"),
    "api/v1/exchange/keys": Route("/api/v1/exchange/keys"),
    "api/v1/exchange/schema/<version>": Route("/api/v1/exchange/schema/1"),
    "api/v1/exchange/changes": Route("/api/v1/exchange/changes?limit=1000", items="api-changes"),
    "api/v1/exchange/webhooks": Route("/api/v1/exchange/webhooks"),
    "api/v1/exchange/webhooks/<webhook_id>/deliveries": Route(
        "/api/v1/exchange/webhooks/WH-000000000000/deliveries"
    ),
    "api/v1/exchange/health": Route("/api/v1/exchange/health"),
    "api/v1/exports/projects.csv": Route("/api/v1/exports/projects.csv"),
    "api/v1/exports/projects.xlsx": Route("/api/v1/exports/projects.xlsx"),
    "api/v1/exports/figures.csv": Route("/api/v1/exports/figures.csv"),
    "api/v1/exports/figures.xlsx": Route("/api/v1/exports/figures.xlsx"),
    "api/v1/exports/projects.geojson": Route("/api/v1/exports/projects.geojson"),
    "api/v1/exports/oc4ids.json": Route("/api/v1/exports/oc4ids.json"),
    "api/v1/exports/iati.xml": Route("/api/v1/exports/iati.xml"),
    "api/v1/projects/<public_id>/oc4ids.json": Route("/api/v1/projects/{project}/oc4ids.json"),
    "api/v1/alerts": Route("/api/v1/alerts?state=all"),
    "api/v1/alerts/<alert_id>": Route("/api/v1/alerts/{alert}"),
    "api/v1/alerts/<alert_id>/acknowledge": Route("/api/v1/alerts/{alert}/acknowledge"),
    # Pages outside the language prefix
    "i18n/setlang/": Route("/i18n/setlang/"),
    "healthz": Route("/healthz"),
    "favicon.ico": Route("/favicon.ico"),
    # Pages (under /fr/ here; /ar/ is the same view)
    "": Route("/fr/"),
    "territoires/": Route("/fr/territoires/"),
    "territoires/<str:code>/": Route("/fr/territoires/06/"),
    "carte/": Route("/fr/carte/"),
    "projets/": Route("/fr/projets/{query}", items="html-projects"),
    "projets/nouveau/": Route("/fr/projets/nouveau/"),
    "projets/<str:public_id>/": Route("/fr/projets/{project}/"),
    "projets/<str:public_id>/modifier/": Route("/fr/projets/{project}/modifier/"),
    "projets/<str:public_id>/publication/": Route("/fr/projets/{project}/publication/"),
    "projets/<str:public_id>/retrait/": Route("/fr/projets/{project}/retrait/"),
    "conventions/": Route("/fr/conventions/{query}", items="html-agreements"),
    "conventions/<str:reference>/": Route("/fr/conventions/{agreement}/"),
    "organisations/": Route("/fr/organisations/"),
    "organisations/<str:code>/": Route("/fr/organisations/MA-ALOMRANE-CS/"),
    "echange/televersement/": Route("/fr/echange/televersement/"),
    "echange/modele.xlsx": Route("/fr/echange/modele.xlsx"),
    "echange/modele.csv": Route("/fr/echange/modele.csv"),
    "echange/soumissions/<str:public_id>/": Route("/fr/echange/soumissions/{submission}/"),
    "echange/organisations/<str:code>/sante/": Route("/fr/echange/organisations/MA-ALOMRANE-CS/sante/"),
    "alertes/": Route("/fr/alertes/?state=all"),
    "alertes/<int:alert_id>/prise-en-compte/": Route("/fr/alertes/{alert}/prise-en-compte/"),
    "connexion/": Route("/fr/connexion/"),
    "deconnexion/": Route("/fr/deconnexion/"),
    # Django's admin checks its own permissions (staff only); tested by its index and changelists.
    "admin/": Route("/admin/"),
}
ADMIN_PREFIX = "admin/"
# Routes whose POST takes a JSON body (sent with its content type), the others a form.
POST_JSON = {
    "api/v1/alerts/<alert_id>/acknowledge": {"comment": "Vu en comité"},
    "api/v1/indicators/targets": {"indicator": "MEN_TRT", "territory": "06", "year": 2026, "value": "100"},
}
POST_DATA = {
    "projets/<str:public_id>/publication/": {"published": "1"},
    "projets/<str:public_id>/retrait/": {"reason": "Saisie en double"},
    "i18n/setlang/": {"language": "fr", "next": "/fr/"},
    "alertes/<int:alert_id>/prise-en-compte/": {"comment": "Vu en comité"},
}


def alert_of(world: World, ref: str) -> str:
    """The id of an open alert on a project of the world: its rules evaluated on a day past every
    planned end, so that each project still running is late."""
    project = Project.objects.get(public_id=world.ids[ref])
    alerts_evaluate([project.pk], today=date(2031, 6, 30), notify=False)
    return str(project.alerts.filter(state="open").order_by("pk").values_list("pk", flat=True).first())


def url_patterns() -> set[str]:
    """Every route of the URL configuration, without the language prefix."""

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern)

    with translation.override("ar"):
        found = set(walk(get_resolver().url_patterns))
    return {re.sub(r"^ar/", "", route) for route in found}


def load_table(name: str) -> list[list[str]]:
    with (HERE / name).open(encoding="utf-8") as handle:
        return [row for row in csv.reader(handle, delimiter="\t") if row and not row[0].startswith("#")]


MATRIX = load_table("authorization_matrix.tsv")
LISTS = load_table("authorization_lists.tsv")


def test_every_route_is_known_to_the_matrix():
    unknown = sorted(r for r in url_patterns() if r not in ROUTES and not r.startswith(ADMIN_PREFIX))
    assert unknown == [], f"Routes missing from ROUTES and the matrix tables: {unknown}"
    stale = sorted(r for r in ROUTES if r not in url_patterns())
    assert stale == [], f"ROUTES names routes that no longer exist: {stale}"
    assert sorted({row[0] for row in MATRIX}) == sorted(ROUTES), (
        "every route has rows in authorization_matrix.tsv"
    )
    assert {row[0] for row in LISTS} == {r for r, route in ROUTES.items() if route.items}


def test_matrix_rows_are_well_formed():
    keys = [(route, method, target) for route, method, target, *_ in MATRIX]
    assert len(keys) == len(set(keys)), "one row per route, method and target"
    for row in MATRIX:
        assert len(row) == 3 + len(ROLES), row
        assert row[1] in {"GET", "POST"}, row
        assert set(row[3:]) <= {"200", "201", "301", "302", "400", "401", "login", "403", "404", "405"}, row


def client_for(world: World, role: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    if world.users[role] is not None:
        client.force_login(world.users[role])
    return client


def call(world: World, route: str, method: str, target: str, client: Client):
    values = {"project": "", "agreement": "", "query": "", "submission": ""}
    if target == "SUB":
        values["submission"] = world.submission
    elif target.startswith("SUB-"):
        values["submission"] = target
    elif target.startswith("?"):
        values["query"] = target
    elif target.startswith("CONV-"):
        values["agreement"] = target
    elif target.startswith("alert:"):
        values["alert"] = alert_of(world, target.removeprefix("alert:"))
    elif target != "-":
        values["project"] = world.ids.get(target, target)
    url = ROUTES[route].url.format(**values)
    if method == "POST":
        if route in POST_JSON:
            return client.post(url, json.dumps(POST_JSON[route]), content_type="application/json")
        return client.post(url, POST_DATA.get(route, {}))
    return client.get(url)


def outcome(response) -> str:
    if response.status_code in (301, 302):
        location = response["Location"]
        if "/connexion/" in location or "/admin/login/" in location:
            return "login"
    return str(response.status_code)


@pytest.mark.parametrize("route", sorted({row[0] for row in MATRIX}))
def test_route_outcomes_by_role(route):
    world = build_world()
    mismatches = []
    for _, method, target, *expected in (row for row in MATRIX if row[0] == route):
        for role, expect in zip(ROLES, expected, strict=True):
            with transaction.atomic():
                response = call(world, route, method, target, client_for(world, role))
                transaction.set_rollback(True)
            got = outcome(response)
            if got != expect:
                mismatches.append(f"{method} {route} [{target}] as {role}: expected {expect}, got {got}")
    assert mismatches == []


def listed(world: World, kind: str, response) -> list[str]:
    if kind == "api-projects":
        return sorted(world.refs[item["id"]] for item in response.json()["items"])
    if kind == "api-agreements":
        return sorted(item["reference"] for item in response.json()["items"])
    if kind == "api-changes":
        return sorted({world.refs[event["project_id"]] for event in response.json()["events"]})
    html = response.content.decode()
    if kind == "html-projects":
        return sorted(
            {world.refs[found] for found in re.findall(r'href="/fr/projets/(MRS-[0-9A-Z]{10})/"', html)}
        )
    return sorted(set(re.findall(r'href="/fr/conventions/([^/"]+)/"', html)))


def list_count(kind: str, response) -> int:
    if kind == "api-changes":  # the number of version events
        return len(response.json()["events"])
    if kind.startswith("api-"):
        return response.json()["count"]
    match = re.search(r'data-count="(\d+)"', response.content.decode())
    assert match, "list pages carry their total as data-count on the results"
    return int(match.group(1))


@pytest.mark.parametrize("route", sorted({row[0] for row in LISTS}))
def test_lists_show_exactly_the_scope(route):
    world = build_world()
    kind = ROUTES[route].items
    mismatches = []
    for _, query, role, count, items in (row for row in LISTS if row[0] == route):
        response = call(world, route, "GET", query, client_for(world, role))
        assert response.status_code == 200, (route, query, role, response.status_code)
        expected = sorted(items.split()) if items != "-" else []
        got = listed(world, kind, response)
        if got != expected or list_count(kind, response) != int(count):
            mismatches.append(
                f"{route}{query} as {role}: expected {count} {expected}, "
                f"got {list_count(kind, response)} {got}"
            )
    assert mismatches == []


def test_admin_is_for_staff_only():
    world = build_world()
    from django.contrib import admin

    changelists = [
        f"/admin/{model._meta.app_label}/{model._meta.model_name}/" for model in admin.site._registry
    ]
    assert len(changelists) >= 10
    for role in ROLES:
        client = client_for(world, role)
        for url in ["/admin/", *changelists]:
            got = outcome(client.get(url))
            assert got == ("200" if role == "administrator" else "login"), (url, role, got)


def test_api_problem_bodies_for_denied_objects():
    world = build_world()
    response = client_for(world, "operator_steward").get(f"/api/v1/projects/{world.ids['SALE-PRIV']}")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["status"] == 404
    assert set(body["i18n"]) == {"ar", "fr"}
