"""GET /api/v1/exchange/changes: every version event in commit order, by opaque cursor, scoped."""

from datetime import timedelta

import pytest
from django.utils import timezone

from marsad.accounts.services import membership_grant, user_create
from marsad.registry.models import LedgerEntry, Project
from marsad.registry.services import records_apply
from marsad.registry.tests.records import ADMIN_SCOPE, TODAY, record

from .support import ADMIN, sender

pytestmark = pytest.mark.django_db

PATH = "/api/v1/exchange/changes"


@pytest.fixture(autouse=True)
def keys_dir(settings, tmp_path):
    settings.MARSAD_KEYS_DIR = tmp_path / "keys"


def write(records):
    return records_apply(
        actor=ADMIN, records=records, source_kind="command", source_id="t", scope=ADMIN_SCOPE, today=TODAY
    )


@pytest.fixture
def history():
    """DOE: created, updated, withdrawn; CS: created; one DOE project published."""
    write([record(operator_ref="D1"), record(operator="MA-ALOMRANE-CS", operator_ref="C1")])
    write([record(operator_ref="D1", progress="30")])
    write([record(operator_ref="D2")])
    write([{"operator": "MA-ALOMRANE-DOE", "operator_ref": "D2", "withdrawn": True, "reason": "doublon"}])
    Project.objects.filter(operator_ref="D1").update(published=True, published_at=timezone.now())


def bearer(sender_):
    return {"HTTP_AUTHORIZATION": f"Bearer {sender_.token}"}


def events(response):
    assert response.status_code == 200, response.content
    return [(e["operator_ref"], e["version"], e["event"]) for e in response.json()["events"]]


def test_a_client_reads_its_operators_events_in_commit_order(client, history):
    doe = sender()
    response = client.get(PATH, **bearer(doe))
    assert events(response) == [
        ("D1", 1, "created"),
        ("D1", 2, "updated"),
        ("D2", 1, "created"),
        ("D2", 2, "withdrawn"),
    ]
    page = response.json()
    assert page["has_more"] is False
    entries = list(LedgerEntry.objects.order_by("seq"))
    assert [e["sha256"] for e in page["events"]] == [entries[i].digest for i in (0, 2, 3, 4)]
    assert page["events"][0]["project_id"] == Project.objects.get(operator_ref="D1").public_id


def test_pages_follow_the_cursor_without_gaps(client, history):
    doe = sender()
    first = client.get(PATH, {"limit": 2}, **bearer(doe)).json()
    assert (len(first["events"]), first["has_more"]) == (2, True)
    second = client.get(PATH, {"limit": 2, "after": first["next"]}, **bearer(doe)).json()
    assert [(e["operator_ref"], e["version"]) for e in second["events"]] == [("D2", 1), ("D2", 2)]
    assert second["has_more"] is False
    # nothing new: the same cursor comes back empty; a new version then appears after it
    third = client.get(PATH, {"after": second["next"]}, **bearer(doe)).json()
    assert (third["events"], third["has_more"], third["next"]) == ([], False, second["next"])
    write([record(operator_ref="D1", progress="35")])
    fourth = client.get(PATH, {"after": third["next"]}, **bearer(doe))
    assert events(fourth) == [("D1", 3, "updated")]


def test_the_cursor_moves_past_events_the_reader_may_not_see(client, history):
    cs = sender("MA-ALOMRANE-CS")
    page = client.get(PATH, **bearer(cs)).json()
    assert [(e["operator_ref"], e["version"]) for e in page["events"]] == [("D1", 1), ("C1", 1), ("D1", 2)]
    assert page["next"] == client.get(PATH, {"limit": 1000}, **bearer(sender())).json()["next"]


def test_the_public_reads_published_projects_only(client, history):
    assert events(client.get(PATH)) == [("D1", 1, "created"), ("D1", 2, "updated")]


def test_a_signed_in_analyst_reads_everything(client, history):
    user = user_create(actor=ADMIN, username="analyste", password="x" * 12)
    membership_grant(actor=ADMIN, user=user, role="national_analyst")
    client.force_login(user)
    assert len(events(client.get(PATH))) == 5


def test_an_invalid_cursor_is_400_and_an_expired_one_410(client, history, settings):
    for bad in ("nope", "YzEuOTk5OTk", "%%%"):
        response = client.get(PATH, {"after": bad})
        assert response.status_code == 400, bad
        assert response.json()["type"].endswith("/cursor-invalid")
    page = client.get(PATH, {"limit": 1}).json()
    LedgerEntry.objects.update(recorded_at=timezone.now() - timedelta(days=400))
    settings.MARSAD_FEED_RETENTION_DAYS = 365
    response = client.get(PATH, {"after": page["next"]})
    assert response.status_code == 410
    assert response.json()["type"].endswith("/cursor-expired")


def test_a_client_without_the_feed_scope_is_403_and_a_bad_token_401(client, history):
    writer = sender(client_id="writer", can_read_feed=False)
    response = client.get(PATH, **bearer(writer))
    assert (response.status_code, response.json()["type"].rsplit("/", 1)[1]) == (403, "scope-missing")
    response = client.get(PATH, HTTP_AUTHORIZATION="Bearer mrsd_unknown")
    assert (response.status_code, response.json()["type"].rsplit("/", 1)[1]) == (401, "invalid-token")


@pytest.mark.parametrize("limit", ["0", "1001", "x"])
def test_a_bad_limit_is_422(client, limit):
    assert client.get(PATH, {"limit": limit}).status_code == 422


def test_a_page_costs_a_fixed_number_of_queries(client, history, django_assert_num_queries):
    doe = sender()
    headers = bearer(doe)
    client.get(PATH, **headers)  # warm the session and cache tables
    with django_assert_num_queries(17):  # 7 of them count the request against the rate limit (cache)
        client.get(PATH, {"limit": 2}, **headers)
    write([record(operator_ref=f"N{n}") for n in range(20)])
    with django_assert_num_queries(17):  # 7 of them count the request against the rate limit (cache)
        client.get(PATH, {"limit": 100}, **headers)
