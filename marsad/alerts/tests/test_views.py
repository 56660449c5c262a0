"""The alerts inbox at /fr/alertes/ and /ar/alertes/: scoped rows, filters, the acknowledgement form."""

import re

import pytest
from django.utils import timezone

from marsad.alerts import services
from marsad.audit.models import AuditEvent
from marsad.core.formatting import format_date

from .support import OVERPAID, TODAY, inbox_world, write

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]


@pytest.fixture
def world(db) -> dict:
    return inbox_world()


def rows(world, response) -> list[str]:
    by_pk = {str(alert.pk): ref for ref, alert in world["alerts"].items()}
    return [by_pk[pk] for pk in re.findall(r'<tr data-alert="(\d+)"', response.content.decode())]


def forms(world, response) -> list[str]:
    by_pk = {str(alert.pk): ref for ref, alert in world["alerts"].items()}
    found = re.findall(r'action="/(?:fr|ar)/alertes/(\d+)/prise-en-compte/"', response.content.decode())
    return [by_pk[pk] for pk in found]


def row(response, alert) -> str:
    """The HTML of one alert's row."""
    html = response.content.decode()
    start = html.index(f'<tr data-alert="{alert.pk}"')
    return html[start : html.index("</tr>", start)]


def count(response) -> int:
    return int(re.search(r'data-count="(\d+)"', response.content.decode()).group(1))


# --- the inbox ----------------------------------------------------------------------------------------------


def test_a_visitor_is_sent_to_log_in(client, world):
    response = client.get("/fr/alertes/")
    assert (response.status_code, response["Location"]) == (302, "/fr/connexion/?next=/fr/alertes/")


def test_the_inbox_in_french(client, world):
    client.force_login(world["users"]["analyst"])
    response = client.get("/fr/alertes/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="fr" dir="ltr">' in html
    assert (rows(world, response), count(response)) == (["D1", "C1"], 2)
    assert forms(world, response) == ["D1", "C1"]
    tiles = re.findall(r'data-testid="count-(\w+)">.*?<span class="tile-value">([^<]*)</span>', html, re.S)
    assert tiles == [("high", "1"), ("medium", "1"), ("low", "0")]
    d1 = world["alerts"]["D1"]
    assert "Anomalie financière" in html
    assert (
        "Montants incohérents : engagé 1,6\u00a0MMDH &gt; budget 1,5\u00a0MMDH ; "
        "payé 1,7\u00a0MMDH &gt; engagé 1,6\u00a0MMDH." in html
    )
    cells = re.findall(r"<td>(.*?)</td>", row(response, d1), re.S)
    assert [re.sub(r"\s+", " ", cell).strip() for cell in cells[:5]] == [
        '<span class="badge badge-withdrawn">Élevée</span>',
        "Anomalie financière",
        f'<a class="code" dir="ltr" href="/fr/projets/{d1.project.public_id}/">{d1.project.public_id}</a>'
        "<br>Pôle urbain de Dakhla",
        'Oued Ed-Dahab<br><small class="note">Dakhla-Oued Ed-Dahab</small>',
        format_date(timezone.localdate(d1.opened_at), "fr"),
    ]


def test_the_inbox_in_arabic(client, world):
    client.force_login(world["users"]["wali06"])
    response = client.get("/ar/alertes/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="ar" dir="rtl">' in html
    assert (rows(world, response), count(response)) == (["C1"], 1)
    assert forms(world, response) == ["C1"]
    assert 'الدار البيضاء<br><small class="note">الدار البيضاء-سطات</small>' in row(
        response, world["alerts"]["C1"]
    )  # the names of the prefecture and the region, in Arabic
    assert 'action="/ar/alertes/' in html


@pytest.mark.parametrize(
    ("who", "query", "expected", "acknowledges"),
    [
        ("wali12", "", ["D1"], ["D1"]),
        ("wali12", "?state=all", ["D1", "D3"], ["D1"]),  # no form on a closed alert
        ("wali12", "?state=closed", ["D3"], []),
        ("cs", "", ["C1"], ["C1"]),
        ("holding", "?operator=MA-ALOMRANE-CS", ["C1"], ["C1"]),
        ("gie", "", ["D1"], []),  # the partner reads, without the form
        ("analyst", "?severity=medium&state=all", ["C1", "D3"], ["C1"]),
        ("analyst", "?region=12&state=all", ["D1", "D3"], ["D1"]),
        ("analyst", "?province=06.141", ["C1"], ["C1"]),
        ("analyst", "?programme=PU", ["D1"], ["D1"]),
        ("analyst", "?rule=late", [], []),
    ],
)
def test_the_inbox_is_scoped_and_filtered(client, world, who, query, expected, acknowledges):
    client.force_login(world["users"][who])
    response = client.get(f"/fr/alertes/{query}")
    assert response.status_code == 200
    assert (rows(world, response), count(response), forms(world, response)) == (
        expected, len(expected), acknowledges,
    )  # fmt: skip


@pytest.mark.parametrize("query", ["?region=99", "?severity=urgent", "?state=ouvert", "?operator=MA-NOBODY"])
def test_a_bad_filter_is_a_400_page_that_says_so(client, world, query):
    client.force_login(world["users"]["analyst"])
    response = client.get(f"/fr/alertes/{query}")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Filtres invalides : corrigez-les pour voir les alertes." in html
    assert rows(world, response) == []
    arabic = client.get(f"/ar/alertes/{query}")
    assert arabic.status_code == 400
    assert '<html lang="ar" dir="rtl">' in arabic.content.decode()


def test_htmx_gets_the_results_alone(client, world):
    client.force_login(world["users"]["analyst"])
    response = client.get("/fr/alertes/?state=all", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="results"')
    assert "<html" not in html
    assert rows(world, response) == ["D1", "C1", "D3"]
    assert "HX-Request" in response["Vary"]


def test_the_inbox_runs_a_fixed_number_of_queries(client, world, django_assert_num_queries):
    client.force_login(world["users"]["wali12"])
    # session, user, memberships, the form's regions, provinces, programmes and operators, the count,
    # the page, the territory names, the acknowledgeable alerts, the counts by severity
    with django_assert_num_queries(12):
        assert client.get("/fr/alertes/?state=all").status_code == 200
    for n in range(3):
        services.alerts_evaluate([write(f"DOE-X{n}", **OVERPAID)], today=TODAY, notify=False)
    with django_assert_num_queries(12):
        response = client.get("/fr/alertes/?state=all")
    assert count(response) == 5


# --- acknowledgement ----------------------------------------------------------------------------------------


def post(client, alert, comment, *, language="fr", next_url="/fr/alertes/?severity=high"):
    return client.post(
        f"/{language}/alertes/{alert.pk}/prise-en-compte/", {"comment": comment, "next": next_url}
    )


def test_the_form_acknowledges_and_returns_to_the_list(client, world):
    d1 = world["alerts"]["D1"]
    client.force_login(world["users"]["doe"])
    response = post(client, d1, "  Avenant soumis au conseil.  ")
    assert (response.status_code, response["Location"]) == (302, "/fr/alertes/?severity=high")
    d1.refresh_from_db()
    assert (d1.acknowledged_by.username, d1.acknowledgement) == ("doe", "Avenant soumis au conseil.")
    audit = AuditEvent.objects.get(action="alert.acknowledge")
    assert (audit.actor_label, audit.object_id, audit.changes["acknowledgement"]) == (
        "doe", str(d1.pk), ["", "Avenant soumis au conseil."],
    )  # fmt: skip
    page = client.get("/fr/alertes/?severity=high").content.decode()
    assert "Alerte prise en compte." in page
    assert "Prise en compte par doe le " in page
    assert "Avenant soumis au conseil." in page


def test_an_unsafe_next_address_is_replaced_by_the_inbox(client, world):
    client.force_login(world["users"]["analyst"])
    response = post(client, world["alerts"]["C1"], "vu", next_url="https://example.org/")
    assert (response.status_code, response["Location"]) == (302, "/fr/alertes/")


REQUIRED = "Le commentaire est obligatoire : dites ce qui est fait au sujet de l&#x27;alerte."


@pytest.mark.parametrize(
    ("comment", "expected"),
    [
        ("", REQUIRED),
        ("   ", REQUIRED),
        ("x" * 2001, "Assurez-vous que cette valeur comporte au plus 2000 caractères (actuellement 2001)."),
        ("a\x00b", "Le caractère nul n’est pas autorisé."),
    ],
)
def test_a_bad_comment_shows_the_form_again_with_its_error(client, world, comment, expected):
    client.force_login(world["users"]["analyst"])
    response = post(client, world["alerts"]["D1"], comment)
    assert response.status_code == 400
    html = response.content.decode()
    assert expected in html
    assert 'action="/fr/alertes/' in html
    assert not AuditEvent.objects.filter(action="alert.acknowledge").exists()
    arabic = post(client, world["alerts"]["D1"], comment, language="ar")
    assert arabic.status_code == 400
    assert '<html lang="ar" dir="rtl">' in arabic.content.decode()


def test_who_may_not_acknowledge(client, world):
    d1, d3 = world["alerts"]["D1"], world["alerts"]["D3"]
    client.force_login(world["users"]["gie"])
    assert post(client, d1, "vu").status_code == 403  # reads, does not acknowledge
    client.force_login(world["users"]["wali06"])
    assert post(client, d1, "vu").status_code == 404  # out of scope
    client.force_login(world["users"]["analyst"])
    assert post(client, d3, "vu").status_code == 409  # closed
    assert (
        "Cette alerte est close : elle ne se prend plus en compte." in post(client, d3, "vu").content.decode()
    )
    huge = client.post("/fr/alertes/99999999999999999999/prise-en-compte/", {"comment": "vu"})
    assert huge.status_code == 404
    assert client.get(f"/fr/alertes/{d1.pk}/prise-en-compte/").status_code == 405
    client.logout()
    anonymous = post(client, d1, "vu")
    assert (anonymous.status_code, anonymous["Location"]) == (302, "/fr/connexion/?next=/fr/alertes/")
    assert not AuditEvent.objects.filter(action="alert.acknowledge").exists()
