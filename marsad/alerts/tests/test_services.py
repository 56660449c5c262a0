"""Evaluation of the rules on projects written through the registry: alerts open, update and close
themselves; acknowledgement; e-mails about new high-severity alerts (the background work is in
test_tasks)."""

import re
from datetime import date

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from marsad.alerts import services
from marsad.alerts.models import Alert, AlertEvent
from marsad.audit.models import AuditEvent
from marsad.registry.models import Project

from .support import CASABLANCA, OVERPAID, OVERRUN, TODAY, apply, people, person, write

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]

FINE = {"budget": "1500000000.00", "committed": "300000000.00", "paid": "150000000.00"}


def evaluate(*ids: int, today: date = TODAY, **options) -> services.EvaluationSummary:
    return services.alerts_evaluate(list(ids), today=today, **options)


def counts(summary: services.EvaluationSummary) -> tuple[int, int, int, int, int]:
    return (summary.projects, summary.opened, summary.updated, summary.closed, summary.refreshed)


def history(alert: Alert) -> list[tuple]:
    return [
        (e.kind, e.severity, e.evidence, e.actor_label, e.comment)
        for e in AlertEvent.objects.filter(alert=alert).order_by("at", "id")
    ]


# --- open → updated → closed --------------------------------------------------------------------------------


def test_a_financial_anomaly_opens_is_updated_and_closes_with_the_data():
    pk = write()
    assert counts(evaluate(pk)) == (1, 0, 0, 0, 0)
    assert Alert.objects.count() == 0

    write(**OVERRUN)
    assert counts(evaluate(pk)) == (1, 1, 0, 0, 0)
    alert = Alert.objects.get()
    overrun = {**FINE, "findings": ["committed_exceeds_budget"], "committed": "1600000000.00"}
    project = Project.objects.get(pk=pk)
    assert (alert.rule, alert.severity, alert.state, alert.evidence, alert.closed_at) == (
        "financial_anomaly", "medium", "open", overrun, None,
    )  # fmt: skip
    assert (alert.region_code, alert.province_code, alert.operator.code) == (
        "12",
        "12.391",
        "MA-ALOMRANE-DOE",
    )
    assert alert.opened_at == alert.updated_at
    assert project.warning_codes == ["committed_exceeds_budget"]

    write(**OVERPAID)
    assert counts(evaluate(pk)) == (1, 0, 1, 0, 0)
    alert.refresh_from_db()
    overpaid = {
        "findings": ["committed_exceeds_budget", "paid_exceeds_committed"],
        "budget": "1500000000.00",
        "committed": "1600000000.00",
        "paid": "1700000000.00",
    }
    assert (alert.severity, alert.state, alert.evidence) == ("high", "open", overpaid)
    assert alert.updated_at > alert.opened_at

    write(**FINE)
    assert counts(evaluate(pk)) == (1, 0, 0, 1, 0)
    alert.refresh_from_db()
    assert (alert.state, alert.severity, alert.evidence) == ("closed", "high", overpaid)
    assert alert.closed_at == alert.updated_at
    assert history(alert) == [
        ("opened", "medium", overrun, "alerts", ""),
        ("updated", "high", overpaid, "alerts", ""),
        ("closed", "high", overpaid, "alerts", ""),
    ]
    # One audit event per evaluation that wrote something, by the rules' own account.
    audits = list(AuditEvent.objects.filter(action="alerts.evaluate").order_by("id"))
    assert [(a.actor_kind, a.actor_label, a.object_type, a.object_label) for a in audits] == [
        ("system", "alerts", "alerts.alert", "1 opened, 0 updated, 0 closed, 0 refreshed"),
        ("system", "alerts", "alerts.alert", "0 opened, 1 updated, 0 closed, 0 refreshed"),
        ("system", "alerts", "alerts.alert", "0 opened, 0 updated, 1 closed, 0 refreshed"),
    ]
    row = [alert.pk, "financial_anomaly", pk]
    assert [a.changes for a in audits] == [
        {"today": "2026-10-31", "projects": 1, "opened": [row], "updated": [], "closed": [], "refreshed": 0},
        {"today": "2026-10-31", "projects": 1, "opened": [], "updated": [row], "closed": [], "refreshed": 0},
        {"today": "2026-10-31", "projects": 1, "opened": [], "updated": [], "closed": [row], "refreshed": 0},
    ]


def test_re_evaluation_opens_no_duplicate_and_writes_nothing():
    pk = write(**OVERRUN)
    assert counts(evaluate(pk)) == (1, 1, 0, 0, 0)
    for _ in range(2):
        assert counts(evaluate(pk, pk)) == (1, 0, 0, 0, 0)
    assert list(Alert.objects.values_list("rule", "state")) == [("financial_anomaly", "open")]
    assert AlertEvent.objects.count() == 1
    assert AuditEvent.objects.filter(action="alerts.evaluate").count() == 1


def test_the_condition_coming_back_opens_a_new_alert_and_the_closed_one_stays():
    pk = write(**OVERRUN)
    evaluate(pk)
    write(**FINE)
    evaluate(pk)
    write(**OVERRUN)
    assert counts(evaluate(pk)) == (1, 1, 0, 0, 0)
    assert list(Alert.objects.order_by("id").values_list("rule", "state")) == [
        ("financial_anomaly", "closed"),
        ("financial_anomaly", "open"),
    ]


def test_an_open_alert_follows_its_project_to_another_place_without_an_event():
    pk = write(**OVERRUN)
    evaluate(pk)
    write(**OVERRUN, communes={"06.141.01.0": {"primary": True, "share": None}})
    assert counts(evaluate(pk)) == (1, 0, 0, 0, 1)
    alert = Alert.objects.get()
    assert (alert.region_code, alert.province_code, alert.state) == ("06", "06.141", "open")
    assert [kind for kind, *_ in history(alert)] == ["opened"]


def test_the_database_refuses_a_second_open_alert_of_a_rule_on_a_project():
    pk = write(**OVERRUN)
    evaluate(pk)
    first = Alert.objects.get()
    copy = {f.attname: getattr(first, f.attname) for f in Alert._meta.concrete_fields if f.attname != "id"}
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(**copy)
    Alert.objects.create(**{**copy, "state": "closed", "closed_at": timezone.now()})  # history is fine
    assert Alert.objects.count() == 2


def test_time_based_rules_follow_the_date_and_close_on_completion(django_capture_on_commit_callbacks):
    pk = write("DOE-LATE", planned_end="2026-06-30", progress="90.00")
    analyst = person("analyst", "national_analyst")
    assert counts(evaluate(pk)) == (1, 1, 0, 0, 0)
    late = Alert.objects.get()
    evidence = {"planned_end": "2026-06-30", "days_late": 123, "status": "ENCO"}
    assert (late.rule, late.severity, late.evidence) == ("late", "medium", evidence)
    opened_at = late.updated_at

    # The next day only the day count moves: the alert is refreshed, with no event.
    assert counts(evaluate(pk, today=date(2026, 11, 1))) == (1, 0, 0, 0, 1)
    late.refresh_from_db()
    assert (late.severity, late.evidence["days_late"], late.updated_at) == ("medium", 124, opened_at)
    assert [kind for kind, *_ in history(late)] == ["opened"]

    # Past 180 days it becomes high (an event and an e-mail); 89 days without a report: stale data.
    with django_capture_on_commit_callbacks(execute=True):
        summary = evaluate(pk, today=date(2026, 12, 28))
    assert counts(summary) == (1, 1, 1, 0, 0)
    assert summary.notified == 1
    late.refresh_from_db()
    assert (late.severity, late.evidence) == ("high", {**evidence, "days_late": 181})
    stale = Alert.objects.get(rule="stale_data")
    assert (stale.severity, stale.evidence) == ("low", {"last_report": "2026-09-30", "days_since_report": 89})
    assert [(m.to, m.subject.split(" / ")[-1]) for m in mail.outbox] == [
        (["analyst@example.ma"], "Marsad : une nouvelle alerte de gravité élevée")
    ]
    assert analyst.email == "analyst@example.ma"

    # Completed: every alert of the dates closes.
    write(
        "DOE-LATE", today=date(2026, 12, 28), planned_end="2026-06-30", status="ACHV", progress="100.00",
        as_of="2026-12-20", actual_end="2026-12-20",
    )  # fmt: skip
    assert counts(evaluate(pk, today=date(2026, 12, 28))) == (1, 0, 0, 2, 0)
    assert sorted(Alert.objects.values_list("rule", "state")) == [
        ("late", "closed"),
        ("stale_data", "closed"),
    ]
    assert [kind for kind, *_ in history(late)] == ["opened", "updated", "closed"]


def test_a_withdrawal_closes_every_alert_of_the_project():
    pk = write(**OVERRUN, planned_end="2026-06-30", progress="90.00")
    assert counts(evaluate(pk)) == (1, 2, 0, 0, 0)
    apply(
        [
            {
                "operator": "MA-ALOMRANE-DOE",
                "operator_ref": "DOE-PU-001",
                "withdrawn": True,
                "reason": "doublon",
            }
        ]
    )
    assert counts(evaluate(pk)) == (1, 0, 0, 2, 0)
    assert sorted(Alert.objects.values_list("rule", "state")) == [
        ("financial_anomaly", "closed"),
        ("late", "closed"),
    ]


def test_evaluate_all_and_running_choose_their_projects():
    running = write("DOE-RUN", **OVERRUN)
    done = write("DOE-DONE", status="ACHV", progress="100.00", actual_end="2026-09-30", **OVERRUN)
    assert services.evaluable_projects(running_only=False) == [running, done]
    assert services.evaluable_projects(running_only=True) == [running]
    assert counts(services.alerts_evaluate_all(today=TODAY)) == (2, 2, 0, 0, 0)
    # A completed project keeps its financial anomaly, and its open alert keeps it in the daily run.
    assert services.evaluable_projects(running_only=True) == [running, done]
    assert counts(services.alerts_evaluate_running(today=TODAY)) == (2, 0, 0, 0, 0)


# --- query counts -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [2, 5])
def test_an_evaluation_runs_a_fixed_number_of_queries_per_chunk(django_assert_num_queries, size):
    ids = [write(f"DOE-Q{n}", **OVERRUN, planned_end="2026-06-30", progress="90.00") for n in range(size)]
    # two reads of the registry, the open alerts, savepoint, insert of alerts, insert of events,
    # audit event, release
    with django_assert_num_queries(8):
        assert counts(evaluate(*ids)) == (size, 2 * size, 0, 0, 0)
    # nothing to do: the reads alone (and the transaction's savepoint)
    with django_assert_num_queries(5):
        assert counts(evaluate(*ids)) == (size, 0, 0, 0, 0)
    # each project moves: late becomes high; stale data (93 days) and stalled (93 days at 90 %) open
    with django_assert_num_queries(9):
        assert counts(evaluate(*ids, today=date(2027, 1, 1))) == (size, 2 * size, size, 0, 0)
    for n in range(size):
        write(
            f"DOE-Q{n}", **FINE, today=date(2027, 1, 1), as_of="2026-12-31", progress="95.00",
            planned_end="2026-06-30",
        )  # fmt: skip
    # all but late close: one update of the alerts, one insert of events
    with django_assert_num_queries(8):
        assert counts(evaluate(*ids, today=date(2027, 1, 1))) == (size, 0, 0, 3 * size, 0)
    assert Alert.objects.filter(state="open").count() == size  # late stays open (the end is past)


# --- acknowledgement ----------------------------------------------------------------------------------------


@pytest.fixture
def open_alert(db):
    pk = write(**OVERRUN)
    evaluate(pk)
    return Alert.objects.get()


def test_an_acknowledgement_is_recorded_with_its_event_and_audit_event(open_alert):
    users = people()
    services.alert_acknowledge(
        alert=open_alert, actor=users["wali12"], comment="  Avenant en préparation.  ", request_id="req-1"
    )
    open_alert.refresh_from_db()
    assert (open_alert.acknowledged_by, open_alert.acknowledgement) == (
        users["wali12"],
        "Avenant en préparation.",
    )
    event = AlertEvent.objects.get(kind="acknowledged")
    assert (event.actor, event.actor_label, event.comment, event.severity, event.evidence, event.at) == (
        users["wali12"], "wali12", "Avenant en préparation.", "medium", open_alert.evidence,
        open_alert.acknowledged_at,
    )  # fmt: skip
    audit = AuditEvent.objects.get(action="alert.acknowledge")
    project = open_alert.project
    assert {
        "actor_kind": audit.actor_kind,
        "actor_id": audit.actor_id,
        "actor_label": audit.actor_label,
        "object_type": audit.object_type,
        "object_id": audit.object_id,
        "object_label": audit.object_label,
        "changes": audit.changes,
        "request_id": audit.request_id,
        "occurred_at": audit.occurred_at,
    } == {
        "actor_kind": "user",
        "actor_id": str(users["wali12"].pk),
        "actor_label": "wali12",
        "object_type": "alerts.alert",
        "object_id": str(open_alert.pk),
        "object_label": f"financial_anomaly {project.public_id}",
        "changes": {
            "acknowledged_at": [None, open_alert.acknowledged_at.isoformat()],
            "acknowledgement": ["", "Avenant en préparation."],
        },
        "request_id": "req-1",
        "occurred_at": open_alert.acknowledged_at,
    }
    # Acknowledging again replaces the comment, and says what it replaced.
    first = open_alert.acknowledged_at
    services.alert_acknowledge(alert=open_alert, actor=users["analyst"], comment="Vu au niveau national.")
    again = AuditEvent.objects.filter(action="alert.acknowledge").order_by("-id").first()
    assert again.changes["acknowledgement"] == ["Avenant en préparation.", "Vu au niveau national."]
    assert again.changes["acknowledged_at"][0] == first.isoformat()
    assert AlertEvent.objects.filter(kind="acknowledged").count() == 2


@pytest.mark.parametrize(
    ("comment", "code"),
    [("", "comment_required"), ("   \n ", "comment_required"), ("x" * 2001, "comment_too_long")],
)
def test_an_acknowledgement_needs_a_comment_of_at_most_2000_characters(open_alert, comment, code):
    analyst = person("analyst", "national_analyst")
    with pytest.raises(services.CommentInvalid) as raised:
        services.alert_acknowledge(alert=open_alert, actor=analyst, comment=comment)
    assert raised.value.code == code
    services.alert_acknowledge(alert=open_alert, actor=analyst, comment="x" * 2000)  # the limit itself
    assert AuditEvent.objects.filter(action="alert.acknowledge").count() == 1


def test_who_may_acknowledge(open_alert):
    users = people()
    for name in ("analyst", "wali12", "doe", "holding"):
        services.alert_acknowledge(alert=open_alert, actor=users[name], comment=f"vu par {name}")
    # The partner reads the alert but does not acknowledge it; the others do not even read it.
    for name in ("gie", "wali06", "cs"):
        with pytest.raises(services.NotPermitted):
            services.alert_acknowledge(alert=open_alert, actor=users[name], comment="vu")
    assert list(
        AlertEvent.objects.filter(kind="acknowledged").order_by("id").values_list("actor_label", flat=True)
    ) == ["analyst", "wali12", "doe", "holding"]


def test_a_closed_alert_is_not_acknowledged(open_alert):
    write(**FINE)
    evaluate(open_alert.project_id)
    with pytest.raises(services.AlertClosed):
        services.alert_acknowledge(
            alert=open_alert, actor=person("analyst", "national_analyst"), comment="trop tard"
        )
    assert not AuditEvent.objects.filter(action="alert.acknowledge").exists()


# --- e-mail -------------------------------------------------------------------------------------------------


def test_new_high_alerts_are_mailed_to_the_users_in_scope_only(django_capture_on_commit_callbacks):
    people()
    person("quiet", "national_analyst", email=False)  # in scope, without an address
    gone = person("gone", "national_analyst")
    gone.is_active = False
    gone.save()
    dakhla = write(**OVERPAID)
    casablanca = write("CS-MED-001", **CASABLANCA, **OVERRUN)  # medium: not mailed
    with django_capture_on_commit_callbacks(execute=True):
        summary = evaluate(dakhla, casablanca)
    assert (summary.opened, summary.notified) == (2, 5)
    expected = ["analyst", "wali12", "doe", "holding", "gie"]
    assert [m.to for m in mail.outbox] == [[f"{name}@example.ma"] for name in expected]
    assert {m.from_email for m in mail.outbox} == {"Marsad <alertes@marsad.ma>"}
    assert {m.subject for m in mail.outbox} == {
        "Marsad: تنبيه جديد واحد (1) بدرجة خطورة مرتفعة / Marsad : une nouvelle alerte de gravité élevée"
    }
    public_id = Project.objects.get(pk=dakhla).public_id
    body = mail.outbox[0].body
    french = body.split("\n\n-- \n\n")[1]
    assert french == (
        "Bonjour analyst,\n"
        "\n"
        "Ces alertes de gravité élevée concernent des projets de votre périmètre :\n"
        "\n"
        f"- Anomalie financière — {public_id} Pôle urbain de Dakhla\n"
        "  Montants incohérents : engagé 1,6\u00a0MMDH > budget 1,5\u00a0MMDH ; "
        "payé 1,7\u00a0MMDH > engagé 1,6\u00a0MMDH.\n"
        f"  http://127.0.0.1:8000/fr/projets/{public_id}/\n"
        "\n"
        "Toutes vos alertes : http://127.0.0.1:8000/fr/alertes/\n"
    )
    assert f"http://127.0.0.1:8000/ar/projets/{public_id}/" in body.split("\n\n-- \n\n")[0]
    # Each message lists the Dakhla alert once per language, and never the medium one of Casablanca.
    other = Project.objects.get(pk=casablanca).public_id
    assert [(m.body.count(f"— {public_id} "), m.body.count(other)) for m in mail.outbox] == [(2, 0)] * 5

    # Evaluating again, or an alert that stays high, sends nothing more.
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        again = evaluate(dakhla, casablanca)
    assert (again.opened, again.notified) == (0, 0)
    assert mail.outbox == []


def test_medium_alerts_are_not_mailed_and_a_run_can_skip_the_mail(django_capture_on_commit_callbacks):
    person("analyst", "national_analyst")
    medium = write(**OVERRUN)
    high = write("DOE-HIGH", **OVERPAID)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first, second = evaluate(medium), evaluate(high, notify=False)
    assert (first.opened, first.notified, second.opened, second.notified) == (1, 0, 1, 0)
    assert callbacks == []  # nothing to send, so nothing waits for the commit
    assert mail.outbox == []
    assert Alert.objects.filter(severity="high").count() == 1


def test_several_high_alerts_make_one_message_per_user(django_capture_on_commit_callbacks):
    person("wali06", "territorial_officer", territory="06")
    ids = [write(f"CS-{n}", **CASABLANCA, **OVERPAID) for n in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        summary = evaluate(*ids)
    assert (summary.opened, summary.notified) == (3, 1)
    (message,) = mail.outbox
    assert message.subject.endswith(" / Marsad : 3 nouvelles alertes de gravité élevée")
    assert message.body.count("- Anomalie financière — MRS-") == 3
    assert message.body.count("- اختلال مالي — MRS-") == 3
    assert "autres alertes" not in message.body


def test_a_message_lists_twenty_alerts_and_counts_the_others(django_capture_on_commit_callbacks):
    person("wali06", "territorial_officer", territory="06")
    ids = [write(f"CS-{n:02}", **CASABLANCA, **OVERPAID) for n in range(22)]
    with django_capture_on_commit_callbacks(execute=True):
        evaluate(*ids)
    (message,) = mail.outbox
    assert message.subject.endswith(" / Marsad : 22 nouvelles alertes de gravité élevée")
    french = message.body.split("\n\n-- \n\n")[1]
    assert french.count("- Anomalie financière — MRS-") == 20
    listed = re.findall(r"— (MRS-[0-9A-Z]{10}) ", french)
    first = sorted(Project.objects.filter(pk__in=ids).values_list("public_id", flat=True))[:20]
    assert listed == first  # by project id
    assert french.endswith(
        "… et 2 autres alertes de gravité élevée : http://127.0.0.1:8000/fr/alertes/?severity=high\n"
        "\n"
        "Toutes vos alertes : http://127.0.0.1:8000/fr/alertes/\n"
    )
