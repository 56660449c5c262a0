"""Writing indicator targets: the services of ``marsad.indicators.targets`` and their API
(POST /api/v1/indicators/targets, PATCH and DELETE /api/v1/indicators/targets/{id})."""

import json
from decimal import Decimal

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marsad.accounts.choices import Role
from marsad.accounts.models import Organisation
from marsad.accounts.services import membership_grant, user_create
from marsad.audit.models import AuditEvent
from marsad.indicators.models import Target
from marsad.indicators.targets import (
    NotPermitted,
    TargetConflict,
    TargetInvalid,
    may_write_target,
    target_create,
    target_delete,
    target_update,
)
from marsad.indicators.tests.support import SYSTEM, three_projects
from marsad.registry.tests.test_api import assert_problem
from marsad.territories.models import Territory

URL = "/api/v1/indicators/targets"
JSON = "application/json"
pytestmark = pytest.mark.django_db


@pytest.fixture
def users(db):
    found = {}
    for name, role, territory, organisation in (
        ("admin", Role.ADMINISTRATOR, None, None),
        ("analyst", Role.NATIONAL_ANALYST, None, None),
        ("wali", Role.TERRITORIAL_OFFICER, "06", None),  # region Casablanca-Settat
        ("gouverneur", Role.TERRITORIAL_OFFICER, "12.391", None),  # province Oued Ed-Dahab
        ("steward", Role.OPERATOR_STEWARD, None, "MA-ALOMRANE-CS"),
        ("partner", Role.PARTNER_VIEWER, None, "MA-CR-06"),
    ):
        found[name] = user_create(actor=SYSTEM, username=name, password=None)
        membership_grant(
            actor=SYSTEM,
            user=found[name],
            role=role,
            territory=Territory.objects.get(code=territory) if territory else None,
            organisation=Organisation.objects.get(code=organisation) if organisation else None,
        )
    return found


def as_user(user, language: str = "fr") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        client.force_login(user)
    return client


def post(client: Client, body, **headers):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(URL, data, content_type=JSON, headers=headers)


def patch(client: Client, target_id, body, **headers):
    return client.patch(f"{URL}/{target_id}", json.dumps(body), content_type=JSON, headers=headers)


def delete(client: Client, target_id):
    return client.delete(f"{URL}/{target_id}")


BODY = {"indicator": "MEN_TRT", "territory": "12", "programme": "VSB", "year": 2026, "value": "1500"}


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


# --- Create, change, delete ---------------------------------------------------------------------------------


def test_create_stores_the_exact_target_and_audits_it(users):
    response = post(as_user(users["analyst"]), BODY, **{"X-Request-Id": "req-42"})
    assert response.status_code == 201, response.content
    target = Target.objects.get()
    assert response.json() == {
        "id": target.pk, "indicator": "MEN_TRT", "territory": "12", "programme": "VSB", "year": 2026,
        "value": "1500.00",
    }  # fmt: skip
    assert response["X-Request-Id"] == "req-42"
    assert (target.indicator_id, target.territory.code, target.programme_id, target.year, target.value) == (
        "MEN_TRT", "12", "VSB", 2026, Decimal("1500.00"),
    )  # fmt: skip
    (event,) = events("target.create")
    assert (event.actor_kind, event.actor_id, event.actor_label) == (
        "user",
        str(users["analyst"].pk),
        "analyst",
    )
    assert (event.object_type, event.object_id, event.object_label) == (
        "indicators.target", str(target.pk), "MEN_TRT 12 VSB 2026",
    )  # fmt: skip
    assert event.changes == {
        "after": {
            "indicator": "MEN_TRT",
            "territory": "12",
            "programme": "VSB",
            "year": 2026,
            "value": "1500.00",
        }
    }
    assert event.request_id == "req-42"


def test_a_national_target_for_every_programme(users):
    client = as_user(users["admin"])
    body = {"indicator": "TX_PHYS", "year": 2027, "value": 87.5}
    response = post(client, body)
    assert response.status_code == 201, response.content
    assert response.json()["territory"] is None
    assert response.json()["programme"] is None
    assert response.json()["value"] == "87.50"
    target = Target.objects.get()
    assert (target.territory_id, target.programme_id, target.value) == (None, None, Decimal("87.50"))
    assert events("target.create")[0].object_label == "TX_PHYS MA * 2027"
    # The country's code names the same national target: a second one is a conflict.
    conflict = assert_problem(post(client, {**body, "territory": "MA"}), 409)
    assert conflict["target_id"] == target.pk


def test_change_the_value(users):
    client = as_user(users["analyst"])
    target_id = post(client, BODY).json()["id"]
    response = patch(client, target_id, {"value": "1750"}, **{"X-Request-Id": "req-43"})
    assert response.status_code == 200, response.content
    assert response.json() == {
        "id": target_id, "indicator": "MEN_TRT", "territory": "12", "programme": "VSB", "year": 2026,
        "value": "1750.00",
    }  # fmt: skip
    assert Target.objects.get().value == Decimal("1750.00")
    (event,) = events("target.update")
    assert (event.object_id, event.object_label, event.changes, event.request_id) == (
        str(target_id), "MEN_TRT 12 VSB 2026", {"value": ["1500.00", "1750.00"]}, "req-43",
    )  # fmt: skip
    # The same value again changes nothing and writes no event.
    assert patch(client, target_id, {"value": 1750}).status_code == 200
    assert len(events("target.update")) == 1


def test_delete(users):
    client = as_user(users["analyst"])
    target_id = post(client, BODY).json()["id"]
    response = delete(client, target_id)
    assert response.status_code == 204
    assert response.content == b""
    assert not Target.objects.exists()
    (event,) = events("target.delete")
    assert (event.object_id, event.object_label, event.actor_label) == (
        str(target_id), "MEN_TRT 12 VSB 2026", "analyst",
    )  # fmt: skip
    assert event.changes == {
        "before": {
            "indicator": "MEN_TRT",
            "territory": "12",
            "programme": "VSB",
            "year": 2026,
            "value": "1500.00",
        }
    }
    assert_problem(delete(client, target_id), 404)
    assert_problem(patch(client, target_id, {"value": "1"}), 404)


@pytest.mark.dbsensitive
def test_the_achievements_read_shows_a_created_target(users):
    from marsad.indicators.services import facts_roll_forward, local_today

    three_projects()  # each project reports 40 ha of SUP; two in Dakhla (region 12), one of them VSB
    facts_roll_forward(today=local_today())
    client = as_user(users["analyst"])
    for body in (
        {"indicator": "SUP", "territory": "12", "year": 2026, "value": "200"},
        {"indicator": "SUP", "territory": "12", "programme": "VSB", "year": 2026, "value": "50"},
    ):
        assert post(client, body).status_code == 201
    found = client.get(URL, {"year": 2026}).json()
    assert [
        (t["indicator"], t["territory"], t["programme"], t["value"], t["achieved"], t["rate"]) for t in found
    ] == [
        ("SUP", "12", None, "200.00", "80.00", "40.00"),
        ("SUP", "12", "VSB", "50.00", "40.00", "80.00"),
    ]


# --- Bad input ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "pointer", "code"),
    [
        ({"indicator": "NOPE"}, "/indicator", "unknown_indicator"),
        ({"indicator": "INV"}, "/indicator", "indicator_without_target"),  # an amount
        ({"indicator": "GLISS"}, "/indicator", "indicator_without_target"),  # a delay
        ({"indicator": "men_trt"}, "/indicator", "string_pattern_mismatch"),
        ({"territory": "99"}, "/territory", "unknown_territory"),
        ({"territory": "06.141.01.53"}, "/territory", "territory_level"),  # an arrondissement
        ({"territory": "06.141.01.00"}, "/territory", "territory_level"),  # a prefecture of arrondissements
        ({"territory": "06\x00"}, "/territory", "string_pattern_mismatch"),
        ({"programme": "NOPE"}, "/programme", "unknown_programme"),
        ({"year": 1999}, "/year", "year_out_of_range"),
        ({"year": 2101}, "/year", "year_out_of_range"),
        ({"year": "deux mille"}, "/year", "int_parsing"),
        ({"year": 2026.5}, "/year", "int_from_float"),
        ({"value": "0"}, "/value", "value_not_positive"),
        ({"value": -5}, "/value", "value_not_positive"),
        ({"value": "beaucoup"}, "/value", "decimal_parsing"),
        ({"value": "NaN"}, "/value", "finite_number"),
        ({"value": None}, "/value", "decimal_type"),
        ({"value": "12.345"}, "/value", "value_precision"),
        ({"value": "1500.5"}, "/value", "value_not_whole"),  # households are counted whole
        ({"value": "1e17"}, "/value", "value_too_large"),
        ({"indicator": "TX_PHYS", "value": "100.01"}, "/value", "rate_above_100"),
        ({"valeur": "10"}, "/valeur", "extra_forbidden"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(users, change, pointer, code):
    body = assert_problem(post(as_user(users["analyst"]), {**BODY, **change}), 422, pointer)
    assert [e["code"] for e in body["errors"]] == [code]
    assert not Target.objects.exists()
    assert not events("target.create")


def test_every_field_at_fault_is_named_at_once(users):
    body = {"indicator": "NOPE", "territory": "99", "programme": "NOPE", "year": 1900, "value": "0"}
    problem = assert_problem(post(as_user(users["analyst"]), body), 422)
    assert [(e["pointer"], e["code"]) for e in problem["errors"]] == [
        ("/indicator", "unknown_indicator"),
        ("/territory", "unknown_territory"),
        ("/programme", "unknown_programme"),
        ("/year", "year_out_of_range"),
        ("/value", "value_not_positive"),
    ]
    assert problem["errors"][0]["message_fr"] == "Indicateur inconnu : NOPE"
    assert problem["errors"][3]["message_fr"] == "L'année doit être un entier de 2000 à 2100."
    assert (problem["title"], problem["i18n"]["ar"]["title"]) == ("Requête invalide", "طلب غير صالح")
    assert [e["message_ar"] for e in problem["errors"][:3]] == [
        "مؤشر غير معروف: NOPE",
        "وحدة ترابية غير معروفة: 99",
        "برنامج غير معروف: NOPE",
    ]


def test_problems_in_arabic(users):
    client = as_user(users["analyst"], "ar")
    problem = assert_problem(post(client, {**BODY, "indicator": "NOPE"}), 422, "/indicator")
    assert (problem["title"], problem["errors"][0]["message_ar"]) == ("طلب غير صالح", "مؤشر غير معروف: NOPE")
    assert assert_problem(post(as_user(users["steward"], "ar"), BODY), 403)["title"] == "الولوج مرفوض"


@pytest.mark.parametrize(
    ("body", "pointer", "code"),
    [
        ("{not json", "", "json_invalid"),
        (b"\xff\xfe{}", "", "json_invalid"),  # not UTF-8
        ("", "/indicator", "missing"),  # no body: every required field is missing (the first named)
        ("[]", "", "model_attributes_type"),
        ("null", "", "model_attributes_type"),
        (json.dumps({k: v for k, v in BODY.items() if k != "value"}), "/value", "missing"),
    ],
)
def test_malformed_bodies_are_422(users, body, pointer, code):
    problem = assert_problem(as_user(users["analyst"]).post(URL, body, content_type=JSON), 422)
    assert (problem["errors"][0]["pointer"], problem["errors"][0]["code"]) == (pointer, code)
    assert problem["errors"][0]["message_ar"] != problem["errors"][0]["message_fr"]
    assert not Target.objects.exists()


def test_a_bad_new_value_is_a_422(users):
    client = as_user(users["analyst"])
    target_id = post(client, BODY).json()["id"]
    for value, code in (("0", "value_not_positive"), ("abc", "decimal_parsing"), ("1.5", "value_not_whole")):
        problem = assert_problem(patch(client, target_id, {"value": value}), 422, "/value")
        assert problem["errors"][0]["code"] == code
    problem = assert_problem(client.patch(f"{URL}/{target_id}", "{", content_type=JSON), 422)
    assert problem["errors"][0]["code"] == "json_invalid"
    problem = assert_problem(patch(client, target_id, {"value": "10", "year": 2027}), 422, "/year")
    assert problem["errors"][0]["code"] == "extra_forbidden"  # what a target points at never changes
    assert Target.objects.get().value == Decimal("1500.00")


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=24),
    st.sampled_from(
        ["MEN_TRT", "TX_PHYS", "INV", "12", "12.391", "MA", "06.141.01.53", "VSB", "2026", "1e3"]
    ),
)
FIELDS = st.sampled_from(["indicator", "territory", "programme", "year", "value", "extra"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    changes=st.dictionaries(FIELDS, st.one_of(SCALARS, st.lists(SCALARS, max_size=2)), max_size=4),
    dropped=st.sets(FIELDS, max_size=2),
)
def test_any_body_is_answered_without_a_server_error(users, changes, dropped):
    body = {k: v for k, v in {**BODY, **changes}.items() if k not in dropped}
    response = post(as_user(users["wali"]), body)
    assert response.status_code in (201, 403, 409, 422), (body, response.content)
    if response.status_code != 201:
        assert_problem(response, response.status_code)


def test_a_duplicate_is_a_409_naming_the_existing_target(users):
    client = as_user(users["analyst"])
    first = post(client, BODY).json()["id"]
    problem = assert_problem(post(client, {**BODY, "value": "9"}), 409)
    assert (problem["type"], problem["title"], problem["target_id"]) == (
        "https://marsad.ma/problems/target-exists", "Cible déjà fixée", first,
    )  # fmt: skip
    assert problem["detail"].startswith("Une cible existe déjà pour cet indicateur")
    assert Target.objects.get().value == Decimal("1500.00")
    # Another programme, territory or year is another target.
    for change in ({"programme": None}, {"programme": "PU"}, {"territory": "12.391"}, {"year": 2027}):
        assert post(client, {**BODY, **change}).status_code == 201, change
    assert Target.objects.count() == 5


def test_unknown_ids_are_404(users):
    client = as_user(users["admin"])
    for target_id in (1, 2**70):
        assert_problem(patch(client, target_id, {"value": "1"}), 404)
        assert_problem(delete(client, target_id), 404)
    assert_problem(client.delete(f"{URL}/abc"), 404)
    problem = assert_problem(patch(client, 1, {"value": "1"}), 404)
    assert problem["title"] == "Cible introuvable"


# --- Who may write ------------------------------------------------------------------------------------------


def test_an_officer_writes_within_their_territory_only(users):
    wali = as_user(users["wali"])  # region 06
    inside = {**BODY, "territory": "06.461.01.15"}  # a commune of the province of Settat
    created = post(wali, inside)
    assert created.status_code == 201, created.content
    for territory in ("12", "12.391", "MA", None):
        assert_problem(post(wali, {**BODY, "territory": territory}), 403)
    gouverneur = as_user(users["gouverneur"])  # province 12.391
    assert post(gouverneur, {**BODY, "territory": "12.391.01.01"}).status_code == 201
    assert_problem(post(gouverneur, BODY), 403)  # the region above the province
    # Changing and deleting follow the target's territory, checked before the body.
    dakhla = Target.objects.get(territory__code="12.391.01.01").pk
    national = post(as_user(users["admin"]), {**BODY, "territory": None}).json()["id"]
    for target_id in (national, dakhla):
        assert_problem(patch(wali, target_id, {"value": "1"}), 403)
        assert_problem(patch(wali, target_id, {"value": "-1", "year": 1}), 403)
        assert_problem(delete(wali, target_id), 403)
    assert_problem(patch(gouverneur, national, {"value": "1"}), 403)
    assert_problem(patch(gouverneur, created.json()["id"], {"value": "1"}), 403)
    assert patch(gouverneur, dakhla, {"value": "3"}).status_code == 200
    assert patch(wali, created.json()["id"], {"value": "2"}).status_code == 200
    assert delete(wali, created.json()["id"]).status_code == 204
    assert dict(Target.objects.values_list("territory__code", "value")) == {
        "12.391.01.01": Decimal("3.00"),
        None: Decimal("1500.00"),
    }


def test_stewards_and_partners_may_not_write(users):
    target_id = post(as_user(users["admin"]), BODY).json()["id"]
    for name in ("steward", "partner"):
        client = as_user(users[name])
        problem = assert_problem(post(client, {**BODY, "territory": "06"}), 403)
        assert problem["detail"].startswith("Les cibles sont fixées par les administrateurs")
        # Refused before the input is judged, or an id is said to exist or not.
        assert_problem(post(client, {**BODY, "indicator": "NOPE"}), 403)
        assert_problem(post(client, "{not json"), 403)
        assert_problem(patch(client, target_id, {"value": "1"}), 403)
        assert_problem(patch(client, target_id, {"value": "zero"}), 403)
        assert_problem(patch(client, target_id + 1, {"value": "1"}), 403)
        assert_problem(delete(client, target_id), 403)
        assert_problem(delete(client, target_id + 1), 403)
    assert Target.objects.get().value == Decimal("1500.00")
    assert not events("target.update")
    assert not events("target.delete")


def test_anonymous_is_asked_to_authenticate(users):
    target_id = post(as_user(users["admin"]), BODY).json()["id"]
    anonymous = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="fr")
    for response in (
        post(anonymous, BODY),
        patch(anonymous, target_id, {"value": "1"}),
        delete(anonymous, target_id),
    ):
        problem = assert_problem(response, 401)
        assert problem["title"] == "Authentification requise"
    assert assert_problem(post(as_user(None, "ar"), BODY), 401)["title"] == "المصادقة مطلوبة"


def test_a_session_needs_its_csrf_token(users):
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="fr")
    client.force_login(users["analyst"])
    problem = assert_problem(post(client, BODY), 403)
    assert (problem["type"], problem["title"]) == (
        "https://marsad.ma/problems/csrf-failed", "Vérification CSRF échouée",
    )  # fmt: skip
    secret = "Marsad0CsrfSecret0ForTheTest0032"  # what a page's CSRF cookie holds (32 characters)
    client.cookies["csrftoken"] = secret
    assert_problem(post(client, BODY, **{"X-CSRFToken": "wrong" * 6 + "00"}), 403)
    assert post(client, BODY, **{"X-CSRFToken": secret}).status_code == 201


def test_who_may_write_which_target():
    from marsad.accounts.scoping import Scope

    region = Territory.objects.get(code="06")
    commune = Territory.objects.get(code="06.461.01.15")
    dakhla = Territory.objects.get(code="12.391")
    officer = Scope(roles=frozenset({Role.TERRITORIAL_OFFICER}), territory_paths=("/06/",))
    assert [may_write_target(officer, t) for t in (region, commune, dakhla, None)] == [
        True,
        True,
        False,
        False,
    ]
    analyst = Scope(roles=frozenset({Role.NATIONAL_ANALYST}))
    assert [may_write_target(analyst, t) for t in (region, dakhla, None)] == [True, True, True]
    # A path under another role's membership grants nothing: only officers write by territory.
    steward = Scope(roles=frozenset({Role.OPERATOR_STEWARD}), territory_paths=("/06/",))
    assert may_write_target(steward, region) is False


# --- The services, directly ---------------------------------------------------------------------------------


def test_services_check_and_audit_for_any_caller(users):
    target = target_create(
        actor=SYSTEM, indicator="LOTS", territory="06.141", programme=None, year=2030, value=Decimal("120")
    )
    assert (target.territory.code, target.value) == ("06.141", Decimal("120.00"))
    (event,) = events("target.create")
    assert (event.actor_kind, event.actor_label, event.object_label) == (
        "system",
        "tests",
        "LOTS 06.141 * 2030",
    )
    with pytest.raises(TargetConflict) as conflict:
        target_create(actor=SYSTEM, indicator="LOTS", territory="06.141", programme="", year=2030, value=1)
    assert conflict.value.existing == target.pk
    with pytest.raises(TargetInvalid) as invalid:
        target_create(actor=SYSTEM, indicator="LOTS", territory=None, programme=None, year="2030", value=0.5)
    assert [(i.field, i.code) for i in invalid.value.issues] == [
        ("year", "year_out_of_range"),
        ("value", "value_not_a_number"),  # a float is refused: targets are decimal
    ]
    with pytest.raises(NotPermitted):
        target_update(actor=users["steward"], target=target, value=Decimal("5"))
    target_update(actor=users["wali"], target=target, value="130")
    assert Target.objects.get().value == Decimal("130.00")
    stale = Target.objects.get()
    target_delete(actor=users["wali"], target=target)
    with pytest.raises(Target.DoesNotExist):
        target_update(actor=SYSTEM, target=stale, value=Decimal("1"))
    with pytest.raises(Target.DoesNotExist):
        target_delete(actor=SYSTEM, target=stale)
    assert [e.action for e in AuditEvent.objects.filter(object_type="indicators.target").order_by("id")] == [
        "target.create", "target.update", "target.delete",
    ]  # fmt: skip


# --- Queries ------------------------------------------------------------------------------------------------


def test_queries_of_a_creation(users, django_assert_num_queries):
    client = as_user(users["wali"])
    post(client, {**BODY, "territory": "06", "year": 2025})  # warms what a first request loads once
    with django_assert_num_queries(12):
        response = post(client, {**BODY, "territory": "06"})
    assert response.status_code == 201
