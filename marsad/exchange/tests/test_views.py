"""The upload page and its report, the templates, the submission page and the sync-health block."""

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django.utils.html import escape

from marsad.accounts.models import Organisation
from marsad.accounts.services import membership_grant, user_create
from marsad.exchange import selectors, uploads
from marsad.exchange.models import Submission
from marsad.registry.models import Project, ProjectVersion
from marsad.registry.tests.records import record

from .support import ADMIN, sender

pytestmark = pytest.mark.django_db
UPLOAD = "/fr/echange/televersement/"


@pytest.fixture
def steward(client):
    user = user_create(actor=ADMIN, username="omrane.doe", password="x" * 12)
    membership_grant(
        actor=ADMIN,
        user=user,
        role="operator_steward",
        organisation=Organisation.objects.get(code="MA-ALOMRANE-DOE"),
    )
    client.force_login(user)
    return user


def csv_file(records, name="projets.csv"):
    return SimpleUploadedFile(name, uploads.template_csv(records), content_type="text/csv")


def test_a_valid_file_is_written_and_reported_on_its_submission_page(client, steward):
    response = client.post(UPLOAD, {"file": csv_file([record(operator_ref="U1"), record(operator_ref="U2")])})
    submission = Submission.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/fr/echange/soumissions/{submission.public_id}/"
    assert (submission.channel, submission.uploaded_by, submission.file_name) == (
        "upload",
        steward,
        "projets.csv",
    )
    assert submission.receipt["counts"]["created"] == 2
    assert set(ProjectVersion.objects.values_list("source_kind", "source_id")) == {
        ("upload", submission.public_id)
    }
    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert re.search(r'data-testid="count-created">2<', html)
    assert [row["row"] for row in submission.upload_report["rows"]] == [3, 4]
    assert html.count('data-outcome="created"') == 2


def test_problems_are_located_to_row_and_cell_in_the_pages_language(client, steward):
    records = [record(operator_ref="OK"), record(operator_ref="BAD", progress="140")]
    response = client.post(UPLOAD, {"file": csv_file(records)}, follow=True)
    html = response.content.decode()
    assert 'data-row="4" data-outcome="rejected"' in html
    row = next(r for r in Submission.objects.get().upload_report["rows"] if r["row"] == 4)
    assert [(p["code"], p["cell"]) for p in row["problems"]] == [("progress_out_of_range", "Y4")]
    assert escape(row["problems"][0]["message_fr"]) in html
    arabic = client.get(response.redirect_chain[-1][0].replace("/fr/", "/ar/")).content.decode()
    assert escape(row["problems"][0]["message_ar"]) in arabic
    assert escape(row["problems"][0]["message_fr"]) not in arabic


def test_a_dry_run_shows_the_report_and_writes_nothing(client, steward):
    response = client.post(UPLOAD, {"file": csv_file([record()]), "dry_run": "on"})
    assert response.status_code == 200
    assert 'data-outcome="created"' in response.content.decode()
    assert (Project.objects.count(), Submission.objects.count()) == (0, 0)


def test_an_unreadable_file_is_refused_with_a_reason(client, steward):
    response = client.post(UPLOAD, {"file": SimpleUploadedFile("x.xlsx", b"PK\x03\x04garbage")})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Fichier refusé" in html
    assert Submission.objects.count() == 0


def test_a_foreign_operators_row_is_rejected_not_the_file(client, steward):
    records = [record(operator_ref="OWN"), record(operator="MA-ALOMRANE-CS", operator_ref="CS")]
    client.post(UPLOAD, {"file": csv_file(records)})
    rows = Submission.objects.get().upload_report["rows"]
    assert [(r["outcome"], [p["code"] for p in r["problems"]]) for r in rows] == [
        ("created", []), ("rejected", ["operator_not_permitted"])
    ]  # fmt: skip


def test_the_templates_download(client):
    xlsx = client.get("/fr/echange/modele.xlsx")
    assert xlsx["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert xlsx.content[:2] == b"PK"
    csv = client.get("/ar/echange/modele.csv")
    assert csv.content.startswith(b"\xef\xbb\xbf")
    assert 'filename="marsad-modele-projets.csv"' in csv["Content-Disposition"]


def test_the_operator_page_shows_its_clients_sync_health_to_its_steward(client, steward):
    doe = sender()
    doe.submit(client, [record()])
    html = client.get("/fr/echange/organisations/MA-ALOMRANE/sante/").content.decode()
    assert 'data-client="si-ma-alomrane-doe" data-status="ok"' in html
    client.logout()
    assert "sync-health" not in client.get("/fr/echange/organisations/MA-ALOMRANE/sante/").content.decode()


# --- Sync health ---------------------------------------------------------------------------------------


def _submission(client_, when, received=10, rejected=0, as_of=None):
    return Submission.objects.create(
        public_id=f"SUB-{when:%Y%m%d}-{Submission.objects.count():010X}", client=client_, channel="api",
        idempotency_key=f"k{Submission.objects.count()}", digest="0" * 64, state="done", lease_until=when,
        received_at=when, processed_at=when, counts={"received": received, "rejected": rejected},
        oldest_as_of=as_of, receipt={},
    )  # fmt: skip


def health_of(client_, now):
    return selectors.sync_health(ADMIN, operators=frozenset({client_.organisation_id}), now=now)[0]


def test_a_daily_sender_quiet_for_three_days_is_silent():
    doe = sender().client
    now = timezone.now()
    for days in range(4, 11):
        _submission(doe, now - timedelta(days=days), as_of=(now - timedelta(days=days + 2)).date())
    health = health_of(doe, now)
    assert (health["status"], health["submissions_30d"], health["records_30d"]) == ("silent", 7, 70)
    assert health["median_lag_days"] == 2
    assert health_of(doe, now - timedelta(days=2))["status"] == "ok"


def test_a_sender_whose_records_are_mostly_rejected_is_failing():
    doe = sender().client
    now = timezone.now()
    _submission(doe, now - timedelta(days=1), received=10, rejected=6)
    health = health_of(doe, now)
    assert (health["status"], health["rejection_rate"]) == ("failing", 60.0)


def test_a_new_client_has_never_sent_and_a_revoked_one_says_so():
    from marsad.exchange.services import client_revoke

    doe = sender().client
    assert health_of(doe, timezone.now())["status"] == "never"
    client_revoke(actor=ADMIN, client=doe)
    assert health_of(doe, timezone.now())["status"] == "revoked"


def test_the_health_api_is_scoped(client):
    doe = sender()
    cs = sender("MA-ALOMRANE-CS")
    _submission(doe.client, timezone.now(), as_of=timezone.localdate())
    response = client.get("/api/v1/exchange/health", HTTP_AUTHORIZATION=f"Bearer {doe.token}")
    assert [c["client_id"] for c in response.json()["clients"]] == ["si-ma-alomrane-doe"]
    assert client.get("/api/v1/exchange/health").json()["clients"] == []
    response = client.get("/api/v1/exchange/health?operator=MA-XX", HTTP_AUTHORIZATION=f"Bearer {cs.token}")
    assert response.status_code == 404
