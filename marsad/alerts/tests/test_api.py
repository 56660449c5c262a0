"""/api/v1/alerts: the list and one alert, scoped; the acknowledgement; every bad request a 4xx
problem in French and Arabic."""

import json
from urllib.parse import quote

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marsad.alerts import services
from marsad.alerts.models import Alert
from marsad.audit.models import AuditEvent
from marsad.registry.tests.test_api import assert_problem

from .support import OVERPAID, TODAY, inbox_world, write

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]

URL = "/api/v1/alerts"


@pytest.fixture
def world(db) -> dict:
    return inbox_world()


def instant(value) -> str:
    """A date and time as the API writes it (Django's JSON encoder: milliseconds, Z)."""
    return DjangoJSONEncoder().default(value)


def as_user(client, world, who: str):
    client.force_login(world["users"][who])
    return client


def both(message: str, **params) -> dict[str, str]:
    """A message in French and in Arabic, filled with ``params`` (``%(name)s`` or ``{name}``)."""
    texts = {}
    for language in ("fr", "ar"):
        with translation.override(language):
            text = translation.gettext(message)
        texts[language] = (text % params if "%(" in text else text.format(**params)) if params else text
    return texts


# --- reading ------------------------------------------------------------------------------------------------


def test_the_list_for_a_national_analyst(client, world):
    alert = world["alerts"]["D1"]
    project = alert.project
    response = as_user(client, world, "analyst").get(URL, HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["count"], body["page"], body["page_size"], body["pages"]) == (2, 1, 50, 1)
    first, second = body["items"]
    assert first == {
        "id": alert.pk,
        "rule": "financial_anomaly",
        "rule_name": "Anomalie financière",
        "severity": "high",
        "state": "open",
        "project": {"id": project.public_id, "title": "Pôle urbain de Dakhla", "status": "ENCO"},
        "programme": "PU",
        "region": "12",
        "province": "12.391",
        "operator": "MA-ALOMRANE-DOE",
        "opened_at": instant(alert.opened_at),
        "updated_at": instant(alert.updated_at),
        "closed_at": None,
        "evidence": {
            "findings": ["committed_exceeds_budget", "paid_exceeds_committed"],
            "budget": "1500000000.00",
            "committed": "1600000000.00",
            "paid": "1700000000.00",
        },
        "summary": "Montants incohérents : engagé 1,6\u00a0MMDH > budget 1,5\u00a0MMDH ; "
        "payé 1,7\u00a0MMDH > engagé 1,6\u00a0MMDH.",
        "acknowledged_at": None,
        "acknowledged_by": None,
        "acknowledgement": "",
    }
    assert (second["id"], second["severity"], second["region"], second["programme"]) == (
        world["alerts"]["C1"].pk, "medium", "06", "VSB",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("who", "query", "expected"),
    [
        ("analyst", {"state": "all"}, ["D1", "C1", "D3"]),
        ("analyst", {"state": "closed"}, ["D3"]),
        ("analyst", {"severity": "medium"}, ["C1"]),
        ("analyst", {"region": "12", "state": "all"}, ["D1", "D3"]),
        ("analyst", {"province": "06.141"}, ["C1"]),
        ("analyst", {"programme": "VSB"}, ["C1"]),
        ("analyst", {"operator": "MA-ALOMRANE"}, ["D1", "C1"]),
        ("analyst", {"rule": "late"}, []),
        ("wali12", {"state": "all"}, ["D1", "D3"]),
        ("wali06", {}, ["C1"]),
        ("cs", {"region": "12"}, []),
        ("gie", {}, ["D1"]),
    ],
)
def test_the_list_is_scoped_and_filtered(client, world, who, query, expected):
    response = as_user(client, world, who).get(URL, query)
    assert response.status_code == 200, response.content
    by_pk = {alert.pk: ref for ref, alert in world["alerts"].items()}
    assert [by_pk[item["id"]] for item in response.json()["items"]] == expected
    assert response.json()["count"] == len(expected)


def test_the_project_filter(client, world):
    d1 = world["alerts"]["D1"]
    body = as_user(client, world, "analyst").get(URL, {"project": d1.project.public_id}).json()
    assert [item["id"] for item in body["items"]] == [d1.pk]
    # A project the user cannot see names nothing: 422, as an unknown one.
    response = as_user(client, world, "wali06").get(URL, {"project": d1.project.public_id})
    error = assert_problem(response, 422, "/project")["errors"][0]
    expected = both("Aucun projet accessible ne porte l'identifiant %(value)s.", value=d1.project.public_id)
    assert (error["code"], error["message_fr"], error["message_ar"]) == (
        "unknown_project", expected["fr"], expected["ar"],
    )  # fmt: skip


@pytest.mark.parametrize("who", ["analyst", "wali12"])
def test_the_list_runs_a_fixed_number_of_queries(client, world, who, django_assert_num_queries):
    as_user(client, world, who)
    # session, user, the user's memberships, the count and the page of alerts
    with django_assert_num_queries(5):
        assert client.get(URL, {"state": "all"}).status_code == 200
    for n in range(3):
        services.alerts_evaluate([write(f"DOE-X{n}", **OVERPAID)], today=TODAY, notify=False)
    with django_assert_num_queries(5):
        response = client.get(URL, {"state": "all"})
    assert response.json()["count"] == {"analyst": 6, "wali12": 5}[who]
    # With filters: each code is checked once (the region, the programme).
    with django_assert_num_queries(7):
        assert client.get(URL, {"region": "12", "programme": "PU"}).json()["count"] == 4


def test_one_alert_with_its_history(client, world):
    closed = world["alerts"]["D3"]
    response = as_user(client, world, "doe").get(f"{URL}/{closed.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["state"], body["closed_at"] is not None) == ("closed", True)
    evidence = {
        "findings": ["committed_exceeds_budget"],
        "budget": "1500000000.00",
        "committed": "1600000000.00",
        "paid": "150000000.00",
    }
    assert [(e["kind"], e["severity"], e["evidence"], e["actor"], e["comment"]) for e in body["events"]] == [
        ("opened", "medium", evidence, "alerts", ""),
        ("closed", "medium", evidence, "alerts", ""),
    ]


@pytest.mark.parametrize("who", ["wali06", "cs"])
def test_an_alert_out_of_scope_is_not_found(client, world, who):
    pk = world["alerts"]["D1"].pk
    body = assert_problem(as_user(client, world, who).get(f"{URL}/{pk}"), 404)
    assert body["i18n"]["fr"] == {
        "title": "Alerte introuvable",
        "detail": "Aucune alerte accessible ne porte ce numéro.",
    }
    assert_problem(
        client.post(f"{URL}/{pk}/acknowledge", {"comment": "vu"}, content_type="application/json"), 404
    )


@pytest.mark.parametrize("alert_id", ["0", "abc", "-1", "1.5", "9" * 19, "99999999999999999999999", "%20"])
def test_a_malformed_alert_number_is_not_found(client, world, alert_id):
    as_user(client, world, "analyst")
    assert_problem(client.get(f"{URL}/{alert_id}"), 404)
    post = client.post(f"{URL}/{alert_id}/acknowledge", {"comment": "vu"}, content_type="application/json")
    assert_problem(post, 404)


def test_an_anonymous_request_is_401(client, world):
    pk = world["alerts"]["D1"].pk
    for response in (
        client.get(URL),
        client.get(f"{URL}/{pk}"),
        client.post(f"{URL}/{pk}/acknowledge", {"comment": "vu"}, content_type="application/json"),
        client.post(f"{URL}/{pk}/acknowledge", "not json", content_type="application/json"),
    ):
        body = assert_problem(response, 401)
        assert body["type"] == "https://marsad.ma/problems/unauthenticated"
    assert Alert.objects.get(pk=pk).acknowledged_at is None


ADMITTED = "Valeur non reconnue ; valeurs admises : "


@pytest.mark.parametrize(
    ("query", "pointer", "code", "message_fr"),
    [
        ({"state": "ouvert"}, "/state", "literal_error", ADMITTED + "'open', 'closed', 'all'."),
        ({"severity": "urgent"}, "/severity", "literal_error", ADMITTED + "'high', 'medium', 'low'."),
        ({"rule": "late_project"}, "/rule", "literal_error", None),
        ({"region": "99"}, "/region", "unknown_territory", "Région inconnue : 99"),
        ({"region": "06.141"}, "/region", "string_pattern_mismatch", "Format invalide."),
        ({"region": "'; drop"}, "/region", "string_pattern_mismatch", "Format invalide."),
        ({"province": "12.999"}, "/province", "unknown_territory",
         "Province ou préfecture inconnue : 12.999"),
        ({"programme": "XYZ"}, "/programme", "unknown_programme", "Programme inconnu : XYZ"),
        ({"operator": "MA-NOBODY"}, "/operator", "unknown_organisation", "Organisation inconnue : MA-NOBODY"),
        ({"project": "MRS-0000000000"}, "/project", "unknown_project", None),
        ({"project": "nope"}, "/project", "string_pattern_mismatch", "Format invalide."),
        ({"page": "0"}, "/page", "greater_than_equal", "La valeur doit être supérieure ou égale à 1."),
        ({"page": "un"}, "/page", "int_parsing", "Un nombre entier est attendu."),
        ({"page_size": "501"}, "/page_size", "less_than_equal",
         "La valeur doit être inférieure ou égale à 500."),
    ],
)  # fmt: skip
def test_a_bad_filter_is_a_422_problem_in_both_languages(client, world, query, pointer, code, message_fr):
    response = as_user(client, world, "analyst").get(URL, query, HTTP_ACCEPT_LANGUAGE="fr")
    body = assert_problem(response, 422, pointer)  # with a French and an Arabic message
    assert body["type"] == "https://marsad.ma/problems/validation"
    error = body["errors"][0]
    assert error["code"] == code
    if message_fr is not None:
        assert error["message_fr"] == message_fr


# --- acknowledgement ----------------------------------------------------------------------------------------


def acknowledge(client, pk, body, **headers):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(f"{URL}/{pk}/acknowledge", data, content_type="application/json", **headers)


def test_an_acknowledgement_through_the_api_is_audited_with_its_request_id(client, world):
    alert = world["alerts"]["C1"]
    wali = world["users"]["wali06"]
    response = acknowledge(
        as_user(client, world, "wali06"), alert.pk, {"comment": "Réunion avec l'opérateur le 5."},
        HTTP_X_REQUEST_ID="req-42",
    )  # fmt: skip
    assert response.status_code == 200, response.content
    assert response["X-Request-Id"] == "req-42"
    body = response.json()
    assert (body["acknowledged_by"], body["acknowledgement"]) == ("wali06", "Réunion avec l'opérateur le 5.")
    assert [(e["kind"], e["actor"], e["comment"]) for e in body["events"]] == [
        ("opened", "alerts", ""),
        ("acknowledged", "wali06", "Réunion avec l'opérateur le 5."),
    ]
    alert.refresh_from_db()
    audit = AuditEvent.objects.get(action="alert.acknowledge")
    assert (
        audit.actor_kind, audit.actor_id, audit.actor_label, audit.object_type, audit.object_id,
        audit.object_label, audit.request_id, audit.changes,
    ) == (
        "user", str(wali.pk), "wali06", "alerts.alert", str(alert.pk),
        f"financial_anomaly {alert.project.public_id}", "req-42",
        {
            "acknowledged_at": [None, alert.acknowledged_at.isoformat()],
            "acknowledgement": ["", "Réunion avec l'opérateur le 5."],
        },
    )  # fmt: skip
    assert body["acknowledged_at"] == instant(alert.acknowledged_at)


def test_a_request_id_that_is_not_a_plain_token_is_replaced(client, world):
    response = acknowledge(
        as_user(client, world, "analyst"), world["alerts"]["C1"].pk, {"comment": "vu"},
        HTTP_X_REQUEST_ID="<script>",
    )  # fmt: skip
    assert response.status_code == 200
    generated = response["X-Request-Id"]
    assert len(generated) == 32
    assert generated != "<script>"
    assert AuditEvent.objects.get(action="alert.acknowledge").request_id == generated


def test_a_partner_reads_but_may_not_acknowledge(client, world):
    pk = world["alerts"]["D1"].pk
    as_user(client, world, "gie")
    assert client.get(f"{URL}/{pk}").status_code == 200
    body = assert_problem(acknowledge(client, pk, {"comment": "vu"}), 403)
    assert body["i18n"]["fr"]["detail"] == "Vous ne pouvez pas prendre en compte cette alerte."
    assert not AuditEvent.objects.filter(action="alert.acknowledge").exists()


def test_a_closed_alert_is_a_conflict(client, world):
    body = assert_problem(
        acknowledge(as_user(client, world, "analyst"), world["alerts"]["D3"].pk, {"comment": "vu"}), 409
    )
    assert body["type"] == "https://marsad.ma/problems/alert-closed"
    assert body["i18n"]["fr"]["detail"] == "Cette alerte est close : elle ne se prend plus en compte."


REQUIRED = "Le commentaire est obligatoire : dites ce qui est fait au sujet de l'alerte."
TOO_LONG = "Le texte est trop long (au plus {max_length} caractères)."
NUL = "Le commentaire contient un caractère nul, qui n'est pas admis."


@pytest.mark.parametrize(
    ("payload", "pointer", "code", "message"),
    [
        ({"comment": ""}, "/comment", "comment_required", REQUIRED),
        ({"comment": "  \n\t "}, "/comment", "comment_required", REQUIRED),
        ({"comment": "x" * 2001}, "/comment", "string_too_long", TOO_LONG),
        ({"comment": 12}, "/comment", "string_type", "Valeur invalide."),
        ({}, "/comment", "missing", "Ce champ est obligatoire."),
        ({"comment": "a\x00b"}, "/comment", "comment_character", NUL),
        ({"comment": "vu", "severity": "low"}, "/severity", "extra_forbidden", "Valeur invalide."),
        ("not json", "", "json_invalid", "Le corps de la requête n'est pas du JSON valide."),
        ("[]", "", "model_attributes_type", "Valeur invalide."),
        ("", "/comment", "missing", "Ce champ est obligatoire."),
    ],
)  # fmt: skip
def test_a_bad_acknowledgement_is_a_422_problem_in_both_languages(
    client, world, payload, pointer, code, message
):
    response = acknowledge(as_user(client, world, "analyst"), world["alerts"]["D1"].pk, payload)
    body = assert_problem(response, 422, pointer)
    error = body["errors"][0]
    expected = both(message, max_length=2000) if message == TOO_LONG else both(message)
    assert (error["code"], error["message_fr"], error["message_ar"]) == (code, expected["fr"], expected["ar"])
    assert Alert.objects.get(pk=world["alerts"]["D1"].pk).acknowledged_at is None
    assert not AuditEvent.objects.filter(action="alert.acknowledge").exists()


def test_permission_comes_before_the_body(client, world):
    pk = world["alerts"]["D1"].pk
    assert_problem(acknowledge(as_user(client, world, "gie"), pk, {"comment": ""}), 403)
    assert_problem(acknowledge(as_user(client, world, "wali06"), pk, "not json"), 404)


def test_the_acknowledgement_accepts_exactly_2000_characters(client, world):
    response = acknowledge(
        as_user(client, world, "analyst"), world["alerts"]["D1"].pk, {"comment": "é" * 2000}
    )
    assert response.status_code == 200, response.content
    assert len(response.json()["acknowledgement"]) == 2000


def test_the_list_is_read_only(client, world):
    as_user(client, world, "analyst")
    assert client.post(URL, {}, content_type="application/json").status_code == 405
    assert client.delete(f"{URL}/{world['alerts']['D1'].pk}").status_code == 405


# --- whatever is sent ---------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(
    name=st.sampled_from(
        ["state", "severity", "rule", "region", "province", "programme", "operator", "project"]
    ),
    value=st.text(max_size=30),
    alert_id=st.text(max_size=25),
    comment=st.one_of(st.text(max_size=40), st.integers(), st.none(), st.lists(st.text(max_size=3))),
)
def test_no_request_is_answered_with_a_server_error(client, world, name, value, alert_id, comment):
    as_user(client, world, "analyst")
    listed = client.get(URL, {name: value})
    assert listed.status_code in (200, 422), listed.content
    path = quote(alert_id, safe="")
    for response in (
        client.get(f"{URL}/{path}"),
        acknowledge(client, path, {"comment": comment}),
        acknowledge(client, world["alerts"]["C1"].pk, {"comment": comment}),
    ):
        assert response.status_code in (200, 404, 405, 422), response.content
        if response.status_code != 200:
            assert_problem(response, response.status_code)
