"""The registry's pages: project list and page, entry and edit forms, publication and withdrawal,
agreements and organisations, for each kind of reader, with exact content and pinned query counts."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from marsad.accounts.choices import Role
from marsad.accounts.models import Organisation
from marsad.accounts.services import membership_grant, user_create
from marsad.audit.services import SystemActor
from marsad.registry import services
from marsad.registry.choices import PartyRole, SourceKind
from marsad.registry.models import Project, ProjectVersion
from marsad.registry.rules import issue
from marsad.registry.tests.records import ADMIN_SCOPE, record
from marsad.territories.models import Territory

pytestmark = pytest.mark.django_db
NBSP = "\u00a0"
ACTOR = SystemActor("tests")


# --- The world ----------------------------------------------------------------------------------------------


def organisation(code: str) -> Organisation:
    return Organisation.objects.get(code=code)


def make_user(username: str, role: str | None = None, *, organisation_code=None, territory_code=None):
    user = user_create(actor=None, username=username, password="a long passphrase 2026", first_name=username)
    if role:
        membership_grant(
            actor=None,
            user=user,
            role=role,
            organisation=organisation(organisation_code) if organisation_code else None,
            territory=Territory.objects.get(code=territory_code) if territory_code else None,
        )
    return user


@pytest.fixture
def users(db):
    return {
        "steward": make_user("steward", Role.OPERATOR_STEWARD, organisation_code="MA-ALOMRANE-DOE"),
        "other_steward": make_user("casa", Role.OPERATOR_STEWARD, organisation_code="MA-ALOMRANE-CS"),
        "analyst": make_user("analyst", Role.NATIONAL_ANALYST),
        "admin": make_user("admin", Role.ADMINISTRATOR),
        "officer": make_user("officer", Role.TERRITORIAL_OFFICER, territory_code="12"),
        "partner": make_user("partner", Role.PARTNER_VIEWER, organisation_code="MA-GIE-DAKHLA-SC"),
        "nobody": make_user("nobody"),
    }


def save(*records, actor=ACTOR):
    batch = services.records_apply(
        actor=actor,
        records=list(records),
        source_kind=SourceKind.COMMAND,
        source_id="tests",
        scope=ADMIN_SCOPE,
    )
    assert [r.outcome for r in batch.results] != ["rejected"] * len(records), batch.results[0].issues
    return [Project.objects.get(public_id=r.public_id) for r in batch.results]


def publish(project):
    Project.objects.filter(pk=project.pk).update(published=True, published_at=timezone.now())
    project.refresh_from_db()
    return project


@pytest.fixture
def dakhla(db):
    """The Dakhla urban pole of the base record, published."""
    return publish(save(record())[0])


@pytest.fixture
def private(db):
    """A project of the same operator, not published."""
    return save(
        record(
            operator_ref="DOE-VSB-002",
            title={"fr": "Recasement des ménages d'Al Wahda", "ar": "إعادة إيواء أسر الوحدة"},
            programme="VSB",
            financing={},
            outputs={},
            milestones={},
            budget="80000000.00",
            committed=None,
            paid=None,
            progress="40",
        )
    )[0]


def text_of(response) -> str:
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- Project list -------------------------------------------------------------------------------------------


def test_the_public_sees_published_projects_only(client, dakhla, private):
    response = client.get("/fr/projets/")
    assert response.status_code == 200
    text = text_of(response)
    assert "1 projet" in text
    assert f'href="/fr/projets/{dakhla.public_id}/">Pôle urbain de Dakhla</a>' in text
    assert private.public_id not in text
    row = re.search(rf'<tr data-project="{dakhla.public_id}">(.*?)</tr>', text, re.S).group(1)
    cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    assert cells == [
        dakhla.public_id,
        "Pôle urbain de Dakhla",
        "Pôles urbains",
        "Dakhla",
        "Al Omrane Dakhla-Oued Ed-Dahab",
        "En cours de réalisation",
        f"1,5{NBSP}MMDH",
        f"12,5{NBSP}%",
        "30 septembre 2026",
    ]


def test_arabic_list_names_everything_in_arabic(client, dakhla):
    text = text_of(client.get("/ar/projets/"))
    assert ">القطب الحضري للداخلة</a>" in text
    assert "الأقطاب الحضرية" in text  # the programme
    assert f"1,5{NBSP}مليار{NBSP}درهم" in text
    assert "30 شتنبر 2026" in text


def test_the_operator_sees_its_private_and_withdrawn_projects(client, users, dakhla, private):
    services.project_withdraw(actor=users["steward"], project=private, reason="Doublon")
    client.force_login(users["steward"])
    text = text_of(client.get("/fr/projets/"))
    assert "2 projets" in text
    row = re.search(
        rf'<tr class="withdrawn" data-project="{private.public_id}">(.*?)</tr>', text, re.S
    ).group(1)
    assert '<span class="badge badge-withdrawn">Retiré</span>' in row
    assert "Nouveau projet" in text


def test_another_operator_does_not_see_private_projects(client, users, dakhla, private):
    client.force_login(users["other_steward"])
    text = text_of(client.get("/fr/projets/"))
    assert "1 projet" in text
    assert private.public_id not in text
    assert "Nouveau projet" in text


@pytest.mark.dbsensitive
@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("", 2),
        ("programme=PU", 1),
        ("programme=VSB", 1),
        ("status=ENCO", 2),
        ("status=ACHV", 0),
        ("region=12", 2),
        ("region=06", 0),
        ("province=12.391", 2),
        ("commune=12.391.01.01", 2),
        ("commune=06.141.01.0", 0),
        ("operator=MA-ALOMRANE", 2),  # the holding's subsidiaries
        ("operator=MA-ALOMRANE-CS", 0),
        ("q=wahda", 1),
        ("q=dakhla&programme=PU", 1),
    ],
)
def test_filters(client, users, dakhla, private, query, found):
    client.force_login(users["analyst"])
    response = client.get(f"/fr/projets/?{query}")
    assert response.status_code == 200
    assert response.context["page"].paginator.count == found


@pytest.mark.parametrize("query", ["programme=NOPE", "status=X", "region=99", "operator=MA-NOBODY"])
def test_an_unknown_filter_value_is_a_400_with_the_form_error(client, dakhla, query):
    response = client.get(f"/fr/projets/?{query}")
    assert response.status_code == 400
    assert "Sélectionnez un choix valide" in text_of(response)
    assert response.context["page"].paginator.count == 0


def test_htmx_request_renders_only_the_results(client, dakhla, private):
    response = client.get("/fr/projets/?programme=PU", headers={"HX-Request": "true"})
    assert response.status_code == 200
    text = text_of(response).strip()
    assert text.startswith('<section id="results"')
    assert text.endswith("</section>")
    assert "<html" not in text
    assert "<form" not in text
    assert "Pôle urbain de Dakhla" in text
    assert "HX-Request" in response["Vary"]


def test_full_page_loads_htmx_from_the_platform(client):
    text = text_of(client.get("/fr/projets/"))
    assert '<script src="/static/django_htmx/htmx-2.min.js" defer></script>' in text
    assert 'hx-get="/fr/projets/"' in text
    assert "<script>" not in text  # no inline script


@pytest.mark.dbsensitive
def test_list_is_paginated_by_fifty(client, users):
    save(*[record(operator_ref=f"DOE-{n:03}", title={"fr": f"Projet {n:03}", "ar": ""}) for n in range(55)])
    client.force_login(users["analyst"])
    first = client.get("/fr/projets/")
    assert len(first.context["projects"]) == 50
    assert "55 projets · page 1 sur 2" in text_of(first)
    assert 'href="?page=2"' in text_of(first)
    second = client.get("/fr/projets/?page=2")
    labels = [p.label for p in first.context["projects"] + second.context["projects"]]
    assert labels == sorted(labels, key=lambda label: Project.objects.get(title_fr=label).public_id)
    assert len(second.context["projects"]) == 5
    assert 'href="?page=1"' in text_of(second)
    assert client.get("/fr/projets/?page=abc").context["page"].number == 1


@pytest.mark.dbsensitive
def test_list_query_count_is_pinned(client, users, django_assert_num_queries):
    for project in save(*[record(operator_ref=f"DOE-{n:03}") for n in range(30)]):
        publish(project)
    # Regions, provinces, programmes, statuses, operators for the filters; count and page.
    with django_assert_num_queries(7):
        client.get("/fr/projets/")
    client.force_login(users["steward"])
    # And the session, the user, their memberships and the operator's subsidiaries.
    with django_assert_num_queries(11):
        client.get("/fr/projets/")


# --- Project page -------------------------------------------------------------------------------------------


def test_project_page_shows_identity_money_and_history(client, dakhla):
    response = client.get(f"/fr/projets/{dakhla.public_id}/")
    assert response.status_code == 200
    text = text_of(response)
    assert "<h1>Pôle urbain de Dakhla</h1>" in text
    assert '<span lang="ar" class="other-name">القطب الحضري للداخلة</span>' in text
    assert '<span class="tile-value" data-testid="budget">1,5\u00a0MMDH</span>' in text
    assert '<span class="tile-value" data-testid="progress">12,5\u00a0%</span>' in text
    assert f"20,0{NBSP}%" in text  # committed: 300 MDH of 1.5 billion
    assert '<a href="/fr/organisations/MA-ALOMRANE-DOE/">Al Omrane Dakhla-Oued Ed-Dahab</a>' in text
    assert '<a href="/fr/territoires/12.391.01.01/">Dakhla</a>' in text
    assert '<dd><span class="code" dir="ltr">23.7, -15.93</span></dd>' in text
    assert "275 ha" in text
    # Financing plan: partners, amounts, share of the budget, sum.
    assert f'<td class="num">900,0{NBSP}MDH</td><td class="num">60,0{NBSP}%</td>' in text
    assert f'<td class="num">600,0{NBSP}MDH</td><td class="num">40,0{NBSP}%</td>' in text
    assert f'data-testid="financing-total">1,5{NBSP}MMDH</td>' in text
    assert "Écart" not in text
    # Outputs and milestones.
    assert (
        '<tr><td>Superficie aménagée</td><td class="num">275</td><td class="num">40</td>'
        f'<td class="num">14,5{NBSP}%</td><td>ha</td></tr>'
    ) in text
    assert "<td>Signature convention</td><td>—</td><td>—</td><td>10 novembre 2023</td>" in text
    assert "1 janvier 2024" in text
    assert "31 décembre 2030" in text
    assert "1 mars 2024" in text
    # Versions with provenance and the diff of the first one.
    version = ProjectVersion.objects.get(project=dakhla, number=1)
    assert "Version 1</strong>" in text
    assert "Commande" in text
    assert 'class="actor"' not in text  # the public does not see who wrote a version
    assert f'title="{version.sha256}">{version.sha256[:12]}</span>' in text
    assert (
        '<td class="code" dir="ltr">/budget</td><td dir="auto">—</td><td dir="auto">1500000000.00</td>'
        in text
    )
    # The public sees no publication state and no buttons.
    assert "Publié" not in text
    assert "Modifier" not in text


def test_signed_in_readers_see_who_wrote_each_version(client, users, dakhla):
    client.force_login(users["analyst"])
    text = text_of(client.get(f"/fr/projets/{dakhla.public_id}/"))
    assert '<span class="code" dir="ltr">tests</span> · <span class="actor">tests</span>' in text


@pytest.mark.dbsensitive
def test_project_page_query_count_is_pinned(client, users, dakhla, django_assert_num_queries):
    # The project with its programme, status, operator, agreement and primary commune, then its
    # communes, financing, outputs, milestones and versions; the indicator engine's panel reads the
    # reports' progress and the monthly facts.
    with django_assert_num_queries(8):
        client.get(f"/fr/projets/{dakhla.public_id}/")
    client.force_login(users["steward"])
    with django_assert_num_queries(12):
        client.get(f"/fr/projets/{dakhla.public_id}/")


def test_buttons_follow_the_roles(client, users, dakhla):
    url = f"/fr/projets/{dakhla.public_id}/"
    client.force_login(users["steward"])
    text = text_of(client.get(url))
    assert f'href="/fr/projets/{dakhla.public_id}/modifier/"' in text
    assert f'action="/fr/projets/{dakhla.public_id}/publication/"' in text
    assert 'name="published" value="0"' in text  # already published: the button unpublishes
    assert f'href="/fr/projets/{dakhla.public_id}/retrait/"' in text
    assert '<span class="badge badge-public">Publié</span>' in text
    client.force_login(users["analyst"])
    text = text_of(client.get(url))
    assert "/modifier/" not in text
    assert "/retrait/" not in text
    assert "/publication/" in text
    client.force_login(users["partner"])
    text = text_of(client.get(url))
    assert "/modifier/" not in text
    assert "/publication/" not in text
    assert "/retrait/" not in text


def test_warnings_show_in_the_page_language(client, users):
    project = publish(save(record(paid="400000000.00"))[0])
    text = text_of(client.get(f"/fr/projets/{project.public_id}/"))
    expected = issue(
        "paid_exceeds_committed", "/paid", paid="400000000.00", committed="300000000.00"
    ).message("fr")
    assert expected == "Le montant payé (400000000.00) dépasse le montant engagé (300000000.00)."
    assert f"<li>{expected}</li>" in text
    # The stored warning carries both languages; each page shows its own.
    ProjectVersion.objects.filter(project=project).update(
        warnings=[{"code": "paid_exceeds_committed", "message_fr": "En français", "message_ar": "بالعربية"}]
    )
    assert "<li>بالعربية</li>" in text_of(client.get(f"/ar/projets/{project.public_id}/"))
    assert "<li>En français</li>" in text_of(client.get(f"/fr/projets/{project.public_id}/"))


def test_unknown_or_out_of_scope_project_is_a_404(client, users, private):
    assert client.get("/fr/projets/MRS-0000000000/").status_code == 404
    assert client.get(f"/fr/projets/{private.public_id}/").status_code == 404
    client.force_login(users["other_steward"])
    response = client.get(f"/fr/projets/{private.public_id}/")
    assert response.status_code == 404
    assert "Page introuvable" in text_of(response)
    for name in ("steward", "analyst", "officer"):
        client.force_login(users[name])
        assert client.get(f"/fr/projets/{private.public_id}/").status_code == 200, name


# --- Entering and editing -----------------------------------------------------------------------------------

ROW_FIELDS = {
    "financing": ("partner", "amount"),
    "outputs": ("indicator", "target", "achieved"),
    "milestones": ("type", "planned", "forecast", "actual"),
}


def form_data(values: dict, *, base_version=None) -> dict:
    """What a browser sends for a record, one row per financing line, output and milestone."""
    communes = values["communes"]
    primary = next(code for code, entry in communes.items() if entry["primary"])
    location = values.get("location") or {}
    data = {
        "operator": values["operator"],
        "operator_ref": values["operator_ref"],
        "title_fr": values["title"]["fr"],
        "title_ar": values["title"]["ar"],
        "description_fr": values["description"]["fr"],
        "description_ar": values["description"]["ar"],
        "programme": values["programme"],
        "status": values["status"],
        "agreement": values.get("agreement") or "",
        "commune": primary,
        "commune_share": "",
        "other_communes": " ".join(code for code in communes if code != primary),
        "latitude": location.get("lat", ""),
        "longitude": location.get("lon", ""),
        "base_version": "" if base_version is None else str(base_version),
    }
    for name in ("area_ha", "planned_start", "planned_end", "actual_start", "actual_end", "budget"):
        data[name] = values.get(name) or ""
    for name in ("as_of", "progress", "committed", "paid"):
        data[name] = values.get(name) or ""
    rows = {
        "financing": [(p, a) for p, a in values["financing"].items()],
        "outputs": [(code, v["target"] or "", v["achieved"] or "") for code, v in values["outputs"].items()],
        "milestones": [
            (code, d["planned"] or "", d["forecast"] or "", d["actual"] or "")
            for code, d in values["milestones"].items()
        ],
    }
    for prefix, items in rows.items():
        items = [*items, *[("",) * len(ROW_FIELDS[prefix])] * 2]
        data[f"{prefix}-TOTAL_FORMS"] = str(len(items))
        data[f"{prefix}-INITIAL_FORMS"] = "0"
        for index, item in enumerate(items):
            for name, value in zip(ROW_FIELDS[prefix], item, strict=True):
                data[f"{prefix}-{index}-{name}"] = value
    return data


def test_create_form_offers_the_operators_the_user_writes_for(client, users):
    client.force_login(users["steward"])
    response = client.get("/fr/projets/nouveau/")
    assert response.status_code == 200
    operator = response.context["entry"].form.fields["operator"]
    assert [code for code, _label in operator.choices] == ["", "MA-ALOMRANE-DOE"]
    assert response.context["entry"].form["operator"].value() == "MA-ALOMRANE-DOE"
    client.force_login(users["admin"])
    operator = client.get("/fr/projets/nouveau/").context["entry"].form.fields["operator"]
    assert len(operator.choices) == 1 + Organisation.objects.filter(kind="operator").count()


def test_create_writes_version_one(client, users):
    client.force_login(users["steward"])
    response = client.post("/fr/projets/nouveau/", form_data(record()), follow=True)
    project = Project.objects.get(operator_ref="DOE-PU-001")
    assert response.redirect_chain == [(f"/fr/projets/{project.public_id}/", 302)]
    assert messages_of(response) == ["Version 1 enregistrée."]
    assert project.version == 1
    assert not project.published
    version = ProjectVersion.objects.get(project=project)
    assert (version.source_kind, version.source_id, version.actor_label) == (
        "ui",
        f"user:{users['steward'].pk}",
        "steward",
    )
    assert services.project_record(project) == {**record(), "location": {"lat": "23.7", "lon": "-15.93"}}


def test_a_second_project_with_the_same_reference_is_refused(client, users, dakhla):
    client.force_login(users["steward"])
    response = client.post("/fr/projets/nouveau/", form_data(record()))
    assert response.status_code == 400
    assert response.context["entry"].form.errors["operator_ref"] == [
        "Un projet de cet opérateur porte déjà cette référence."
    ]
    assert ProjectVersion.objects.filter(project=dakhla).count() == 1


def test_edit_form_starts_from_the_current_version(client, users, dakhla):
    client.force_login(users["steward"])
    response = client.get(f"/fr/projets/{dakhla.public_id}/modifier/")
    assert response.status_code == 200
    form = response.context["entry"].form
    assert form["budget"].value() == "1500000000.00"
    assert form["commune"].value() == "12.391.01.01"
    assert form["base_version"].value() == 1
    assert form.fields["operator_ref"].disabled
    financing = response.context["entry"].financing
    assert [f["partner"].value() for f in financing] == [
        "MA-ALOMRANE-DOE",
        "MA-GIE-DAKHLA-SC",
        None,
        None,
        None,
    ]


def test_edit_changing_the_budget_writes_version_two_with_its_diff(client, users, dakhla):
    client.force_login(users["steward"])
    data = form_data(record(budget="1600000000.00"), base_version=1)
    response = client.post(f"/fr/projets/{dakhla.public_id}/modifier/", data, follow=True)
    assert response.redirect_chain == [(f"/fr/projets/{dakhla.public_id}/", 302)]
    assert messages_of(response)[0] == "Version 2 enregistrée."
    # The financing plan no longer matches the budget: the warning is kept and shown.
    assert messages_of(response)[1].startswith("Le plan de financement (1500000000.00) s'écarte du budget")
    dakhla.refresh_from_db()
    assert dakhla.version == 2
    text = text_of(response)
    assert '<li class="version" data-version="2">' in text
    diff = re.search(r'data-version="2">(.*?)</details>', text, re.S).group(1)
    rows = re.findall(
        r'<tr><td class="code" dir="ltr">(.*?)</td><td dir="auto">(.*?)</td><td dir="auto">(.*?)</td></tr>',
        diff,
    )
    assert rows == [("/budget", "1500000000.00", "1600000000.00")]
    assert f"-100,0{NBSP}MDH" in text  # the financing gap


def test_an_identical_edit_writes_nothing(client, users, dakhla):
    client.force_login(users["steward"])
    data = form_data(record(), base_version=1)
    response = client.post(f"/fr/projets/{dakhla.public_id}/modifier/", data, follow=True)
    assert messages_of(response) == ["Aucun changement : la version 1 est identique."]
    assert ProjectVersion.objects.filter(project=dakhla).count() == 1


def test_browser_line_ends_are_not_a_change(client, users):
    project = save(record(description={"fr": "Ligne 1\nLigne 2", "ar": ""}))[0]
    client.force_login(users["steward"])
    data = form_data(record(description={"fr": "Ligne 1\r\nLigne 2", "ar": ""}), base_version=1)
    response = client.post(f"/fr/projets/{project.public_id}/modifier/", data, follow=True)
    assert messages_of(response) == ["Aucun changement : la version 1 est identique."]


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_a_progress_above_100_is_refused_next_to_its_field(client, users, dakhla, language):
    client.force_login(users["steward"])
    data = form_data(record(progress="150"), base_version=1)
    response = client.post(f"/{language}/projets/{dakhla.public_id}/modifier/", data)
    assert response.status_code == 400
    expected = issue("progress_out_of_range", "/progress", value="150").message(language)
    if language == "fr":
        assert expected == "L'avancement physique (150) doit être compris entre 0 et 100."
    assert response.context["entry"].form.errors["progress"] == [expected]
    text = text_of(response)
    field = re.search(r'<p class="field has-error">\s*<label for="id_progress">.*?</p>', text, re.S).group(0)
    assert 'value="150"' in field  # the user's input is kept
    assert "L&#x27;avancement physique (150)" in field or "(150)" in field
    assert ProjectVersion.objects.filter(project=dakhla).count() == 1


def test_an_end_before_the_start_is_refused_and_every_issue_shown(client, users, dakhla):
    client.force_login(users["steward"])
    data = form_data(record(planned_end="2020-01-01", area_ha="abc"), base_version=1)
    data["financing-0-amount"] = "12,345"
    response = client.post(f"/fr/projets/{dakhla.public_id}/modifier/", data)
    assert response.status_code == 400
    entry = response.context["entry"]
    assert entry.form.errors["area_ha"] == ["Nombre invalide : abc."]
    assert entry.financing.forms[0].errors["amount"] == [
        "Montant invalide : 12,345 (un nombre positif en dirhams, 2 décimales au plus)."
    ]
    # The parser stops at malformed values; once they are fixed the business rules speak.
    data = form_data(record(planned_end="2020-01-01"), base_version=1)
    response = client.post(f"/fr/projets/{dakhla.public_id}/modifier/", data)
    assert response.status_code == 400
    assert response.context["entry"].form.errors["planned_end"] == [
        "La date de fin (2020-01-01) précède la date de début (2024-01-01)."
    ]
    assert ProjectVersion.objects.filter(project=dakhla).count() == 1


def test_a_stale_form_is_a_version_conflict(client, users, dakhla):
    client.force_login(users["steward"])
    services.project_update(actor=users["steward"], project=dakhla, record=record(progress="20"))
    dakhla.refresh_from_db()
    response = client.post(f"/fr/projets/{dakhla.public_id}/modifier/", form_data(record(), base_version=1))
    assert response.status_code == 400
    assert response.context["entry"].form.non_field_errors() == [
        "Conflit de version : l'enregistrement part de la version 1, la version actuelle est 2."
    ]


def test_duplicate_rows_and_amounts_without_partner_are_refused(client, users, dakhla):
    client.force_login(users["steward"])
    data = form_data(record(), base_version=1)
    data["financing-1-partner"] = "MA-ALOMRANE-DOE"
    data["financing-2-amount"] = "5.00"
    response = client.post(f"/fr/projets/{dakhla.public_id}/modifier/", data)
    assert response.status_code == 400
    rows = response.context["entry"].financing.forms
    assert rows[1].errors["partner"] == ["Cette ligne répète une ligne précédente."]
    assert rows[2].errors["partner"] == ["Choisissez le partenaire de ce montant."]


def test_anonymous_writers_are_sent_to_log_in(client, dakhla):
    for url in (
        "/fr/projets/nouveau/",
        f"/fr/projets/{dakhla.public_id}/modifier/",
        f"/fr/projets/{dakhla.public_id}/retrait/",
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/fr/connexion/?next={url}"
    response = client.post(f"/fr/projets/{dakhla.public_id}/publication/", {"published": "0"})
    assert response["Location"].startswith("/fr/connexion/?next=")
    dakhla.refresh_from_db()
    assert dakhla.published


@pytest.mark.parametrize("who", ["other_steward", "analyst", "officer", "partner", "nobody"])
def test_writes_without_permission_are_forbidden(client, users, dakhla, who):
    client.force_login(users[who])
    for url in (f"/fr/projets/{dakhla.public_id}/modifier/", f"/fr/projets/{dakhla.public_id}/retrait/"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "<h1>Accès refusé</h1>" in text_of(response)
        assert client.post(url, {"reason": "x"}).status_code == 403
    # Another operator may create its own projects; a national analyst may publish.
    assert client.get("/fr/projets/nouveau/").status_code == (200 if who == "other_steward" else 403)
    publish_status = client.post(
        f"/fr/projets/{dakhla.public_id}/publication/", {"published": "0"}
    ).status_code
    assert publish_status == (302 if who == "analyst" else 403)
    assert ProjectVersion.objects.filter(project=dakhla).count() == 1


def test_publish_and_unpublish(client, users, private):
    url = f"/fr/projets/{private.public_id}/"
    assert client.get(url).status_code == 404
    client.force_login(users["steward"])
    assert client.get(f"{url}publication/").status_code == 405
    assert client.post(f"{url}publication/", {"published": "yes"}).status_code == 400
    response = client.post(f"{url}publication/", {"published": "1"}, follow=True)
    assert messages_of(response) == ["Projet publié : il est visible du public."]
    client.logout()
    assert client.get(url).status_code == 200
    client.force_login(users["analyst"])
    response = client.post(f"{url}publication/", {"published": "0"}, follow=True)
    assert messages_of(response) == ["Publication retirée : le projet n'est plus visible du public."]
    client.logout()
    assert client.get(url).status_code == 404
    assert ProjectVersion.objects.filter(project=private).count() == 1  # publication is not a version


def test_withdraw_asks_for_a_reason_then_writes_a_tombstone(client, users, dakhla):
    client.force_login(users["steward"])
    url = f"/fr/projets/{dakhla.public_id}/retrait/"
    response = client.get(url)
    assert response.status_code == 200
    assert "Confirmer le retrait" in text_of(response)
    response = client.post(url, {"reason": ""})
    assert response.status_code == 400
    assert response.context["form"].errors["reason"] == ["Ce champ est obligatoire."]
    response = client.post(url, {"reason": "Saisi en double"}, follow=True)
    assert messages_of(response) == ["Projet retiré : version 2 enregistrée."]
    dakhla.refresh_from_db()
    assert dakhla.withdrawn
    assert dakhla.withdrawal_reason == "Saisi en double"
    text = text_of(response)
    assert "Projet retiré le" in text
    assert ": Saisi en double" in text
    assert '<span class="badge badge-withdrawn">Retrait</span>' in text
    assert "/modifier/" not in text
    assert "/retrait/" not in text
    # The public no longer sees it; its operator cannot edit it any more.
    response = client.get(f"/fr/projets/{dakhla.public_id}/modifier/", follow=True)
    assert messages_of(response) == ["Ce projet a été retiré ; il ne peut plus être modifié."]
    client.logout()
    assert client.get(f"/fr/projets/{dakhla.public_id}/").status_code == 404


# --- Agreements and organisations ---------------------------------------------------------------------------


@pytest.fixture
def agreement(db):
    return services.agreement_create(
        actor=None,
        reference="CONV-DOE-2023-01",
        title_fr="Convention du pôle urbain de Dakhla",
        title_ar="اتفاقية القطب الحضري للداخلة",
        signed_on=date(2023, 11, 10),
        parties=[
            services.PartyInput("MA-ALOMRANE-DOE", PartyRole.CONTRACTING_AUTHORITY, None, "Foncier"),
            services.PartyInput("MA-GIE-DAKHLA-SC", PartyRole.FINANCIER, Decimal("600000000")),
        ],
    )


def test_agreement_page_lists_parties_and_visible_projects(client, users, agreement):
    public = publish(save(record(agreement=agreement.reference))[0])
    hidden = save(record(operator_ref="DOE-2", agreement=agreement.reference))[0]
    response = client.get("/fr/conventions/CONV-DOE-2023-01/")
    assert response.status_code == 200
    text = text_of(response)
    assert "<h1>Convention du pôle urbain de Dakhla</h1>" in text
    assert "Signée le 10 novembre 2023" in text
    assert (
        '<tr><td><a href="/fr/organisations/MA-GIE-DAKHLA-SC/">GIE Dakhla Ville Intelligente</a></td>'
        f'<td>Financeur</td><td class="num">600,0{NBSP}MDH</td><td>—</td></tr>'
    ) in text
    assert '<td>Maître d&#x27;ouvrage</td><td class="num">—</td><td>Foncier</td>' in text
    assert public.public_id in text
    assert hidden.public_id not in text
    assert "Projets de la convention (1)" in text
    client.force_login(users["steward"])
    assert "Projets de la convention (2)" in text_of(client.get("/fr/conventions/CONV-DOE-2023-01/"))
    assert client.get("/fr/conventions/NOPE/").status_code == 404


def test_an_agreement_without_public_projects_is_not_public(client, users, agreement):
    save(record(agreement=agreement.reference))
    assert client.get("/fr/conventions/CONV-DOE-2023-01/").status_code == 404
    assert "CONV-DOE-2023-01" not in text_of(client.get("/fr/conventions/"))
    client.force_login(users["partner"])  # a party to it
    assert client.get("/fr/conventions/CONV-DOE-2023-01/").status_code == 200
    text = text_of(client.get("/fr/conventions/"))
    assert '<a href="/fr/conventions/CONV-DOE-2023-01/">Convention du pôle urbain de Dakhla</a>' in text
    assert "1 convention" in text


def test_organisation_page_counts_projects_as_operator_and_financier(client, dakhla, private):
    text = text_of(client.get("/fr/organisations/MA-GIE-DAKHLA-SC/"))
    assert "<h1>GIE Dakhla Ville Intelligente</h1>" in text
    assert 'data-testid="operated-count">0<' in text
    assert 'data-testid="financed-count">1<' in text
    assert f'data-testid="financed-amount">600,0{NBSP}MDH<' in text
    assert '<a href="/fr/territoires/12.391/">Oued Ed-Dahab</a>' in text
    holding = text_of(client.get("/fr/organisations/MA-ALOMRANE/"))
    assert 'data-testid="operated-count">1<' in holding  # the public sees the published one
    assert "Projets opérés (avec les filiales)" in holding
    assert '<a href="/fr/organisations/MA-ALOMRANE-DOE/">Al Omrane Dakhla-Oued Ed-Dahab</a>' in holding
    subsidiary = text_of(client.get("/fr/organisations/MA-ALOMRANE-DOE/"))
    assert '<a href="/fr/organisations/MA-ALOMRANE/">Holding d&#x27;Aménagement Al Omrane</a>' in subsidiary
    assert client.get("/fr/organisations/MA-NOBODY/").status_code == 404


def test_organisation_page_leaves_out_withdrawn_projects(client, users, dakhla, private):
    client.force_login(users["steward"])
    assert 'data-testid="operated-count">2<' in text_of(client.get("/fr/organisations/MA-ALOMRANE-DOE/"))
    services.project_withdraw(actor=users["steward"], project=private, reason="Doublon")
    text = text_of(client.get("/fr/organisations/MA-ALOMRANE-DOE/"))
    assert 'data-testid="operated-count">1<' in text
    assert private.public_id not in text


def test_organisation_list(client, dakhla):
    text = text_of(client.get("/fr/organisations/?kind=operator"))
    assert "13 organisations" in text
    row = re.search(r'<tr><td><a href="/fr/organisations/MA-ALOMRANE-DOE/">.*?</tr>', text, re.S).group(0)
    assert '<td class="num">1</td>' in row
    # The holding counts its subsidiaries' projects.
    row = re.search(r'<tr><td><a href="/fr/organisations/MA-ALOMRANE/">.*?</tr>', text, re.S).group(0)
    assert '<td class="num">1</td>' in row
    row = re.search(r'<tr><td><a href="/fr/organisations/MA-ALOMRANE-CS/">.*?</tr>', text, re.S).group(0)
    assert '<td class="num">0</td>' in row
    assert client.get("/fr/organisations/?kind=alien").status_code == 400
    assert "1 organisation" in text_of(client.get("/fr/organisations/?q=dakhla intelligente"))


def test_navigation_links(client, users):
    text = text_of(client.get("/fr/projets/"))
    assert '<a href="/fr/projets/">Projets</a>' in text
    assert '<a href="/fr/carte/">Carte</a>' in text
    assert '<a href="/fr/territoires/">Territoires</a>' in text
    assert '<a href="/fr/connexion/?next=/fr/projets/">Se connecter</a>' in text
    client.force_login(users["steward"])
    text = text_of(client.get("/fr/projets/"))
    assert '<span class="account-name" data-testid="account-name">steward</span>' in text
    assert 'action="/fr/deconnexion/"' in text
    assert "Se déconnecter" in text


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"operator": "MA-ALOMRANE-DOE", "financing-TOTAL_FORMS": "abc"},
        {"financing-TOTAL_FORMS": "100000", "financing-INITIAL_FORMS": "0"},
        {"operator": "MA-ALOMRANE-CS", "operator_ref": "X", "budget": "1"},
    ],
)
def test_a_malformed_post_is_a_400(client, users, data):
    client.force_login(users["steward"])
    response = client.post("/fr/projets/nouveau/", data)
    assert response.status_code == 400
    assert "L'enregistrement a été refusé : corrigez les champs signalés." in text_of(response)
    assert not Project.objects.exists()
