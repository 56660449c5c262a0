"""marsad alerts_evaluate: every project, its counts printed; a bad --today refused in both languages."""

from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from marsad.alerts.models import Alert

from .support import OVERPAID, OVERRUN, person, write

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("alerts_evaluate", *args, stdout=out)
    return out.getvalue()


def test_the_command_evaluates_every_project_and_prints_its_counts(django_capture_on_commit_callbacks):
    person("analyst", "national_analyst")
    write("DOE-1", **OVERRUN)
    write("DOE-2", planned_end="2026-06-30", progress="90.00")
    write("DOE-3")
    with django_capture_on_commit_callbacks(execute=True):
        first = run("--today", "2026-10-31")
    assert (
        first == "3 projets évalués : 2 alertes ouvertes, 0 mises à jour, 0 closes ; 0 courriels envoyés.\n"
    )
    assert sorted(Alert.objects.values_list("rule", "severity")) == [
        ("financial_anomaly", "medium"),
        ("late", "medium"),
    ]
    assert mail.outbox == []  # nothing high
    # On 2027-01-10: late is high (194 days: an update and an e-mail); stale data and stalled open on
    # all three (no report, and the same progress, for 102 days since 2026-09-30).
    with django_capture_on_commit_callbacks(execute=True):
        later = run("--today", "2027-01-10")
    assert (
        later == "3 projets évalués : 6 alertes ouvertes, 1 mises à jour, 0 closes ; 0 courriels envoyés.\n"
    )
    assert [message.to for message in mail.outbox] == [["analyst@example.ma"]]
    assert run("--today", "2027-01-10") == (
        "3 projets évalués : 0 alertes ouvertes, 0 mises à jour, 0 closes ; 0 courriels envoyés.\n"
    )


def test_a_high_alert_is_mailed_by_the_command(django_capture_on_commit_callbacks):
    person("analyst", "national_analyst")
    write(**OVERPAID)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run("--today", "2026-10-31")
    assert len(callbacks) == 1
    assert [message.to for message in mail.outbox] == [["analyst@example.ma"]]


@pytest.mark.parametrize("value", ["31/10/2026", "2026-02-30", "demain", ""])
def test_a_bad_date_is_refused_in_french_and_arabic(value):
    write(**OVERRUN)
    with pytest.raises(CommandError) as refused:
        run(f"--today={value}")
    assert str(refused.value) == (
        f"Date invalide « {value} » : attendu AAAA-MM-JJ. / تاريخ غير صالح: الصيغة المنتظرة AAAA-MM-JJ."
    )
    assert not Alert.objects.exists()
