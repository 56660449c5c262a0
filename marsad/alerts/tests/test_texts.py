"""The evidence of each rule in a sentence, in French and in Arabic (pages, API, e-mails)."""

import pytest
from django.utils import translation

from marsad.alerts.texts import summary

EVIDENCE = {
    "late": {"planned_end": "2026-06-30", "days_late": 1234, "status": "ENCO"},
    "stalled": {"progress": "55.00", "unchanged_since": "2026-04-30", "days_unchanged": 90, "status": "ENCO"},
    "financial_anomaly": {
        "findings": ["committed_exceeds_budget", "paid_exceeds_committed"],
        "budget": "1500000.00",
        "committed": "1600000.00",
        "paid": "1700000.50",
    },
    "stale_data": {"last_report": "2026-08-31", "days_since_report": 61},
    "schedule_performance": {
        "on": "2026-07-02",
        "actual_progress": "39.74",
        "planned_progress": "50.00",
        "schedule_performance": "0.79",
    },
    "progress_regression": {
        "previous_version": 1,
        "previous_progress": "50.00",
        "version": 2,
        "progress": "45.50",
    },
}


def test_each_rule_in_french():
    with translation.override("fr"):
        found = {rule: summary(rule, evidence) for rule, evidence in EVIDENCE.items()}
    assert found == {
        "late": "Fin prévue le 30 juin 2026 : 1\u00a0234 jours de retard.",
        "stalled": "Avancement de 55,00\u00a0% inchangé depuis le 30 avril 2026 (90 jours).",
        "financial_anomaly": "Montants incohérents : engagé 1,6\u00a0MDH > budget 1,5\u00a0MDH ; "
        "payé 1,7\u00a0MDH > engagé 1,6\u00a0MDH.",
        "stale_data": "Dernier rapport le 31 août 2026, il y a 61 jours.",
        "schedule_performance": "Au 2 juillet 2026 : avancement 39,74\u00a0% pour 50,00\u00a0% prévus "
        "(performance 0,79).",
        "progress_regression": "L'avancement recule de 50,00\u00a0% (version 1) à 45,50\u00a0% (version 2).",
    }


def test_the_figures_are_written_the_arabic_way_on_arabic_pages():
    with translation.override("ar"):
        found = {rule: summary(rule, evidence) for rule, evidence in EVIDENCE.items()}
    # Dates with the Maghreb month names, amounts in millions of dirhams, Latin digits.
    assert "30 يونيو 2026" in found["late"]
    assert "1\u00a0234" in found["late"]
    assert "30 أبريل 2026" in found["stalled"]
    assert found["financial_anomaly"].count("\u00a0مليون\u00a0درهم") == 4
    assert "1,7\u00a0مليون\u00a0درهم" in found["financial_anomaly"]
    assert "31 غشت 2026" in found["stale_data"]
    assert "2 يوليوز 2026" in found["schedule_performance"]


@pytest.mark.parametrize(
    ("rule", "evidence"),
    [
        ("late", {}),
        ("late", {"planned_end": "30/06/2026", "days_late": 1}),
        ("stalled", {"progress": "beaucoup", "unchanged_since": "2026-04-30", "days_unchanged": 90}),
        ("financial_anomaly", {"findings": None}),
        ("unknown_rule", {"days_late": 3}),
    ],
)
def test_evidence_it_cannot_read_gives_no_sentence_rather_than_an_error(rule, evidence):
    assert summary(rule, evidence) == ""


def test_findings_it_does_not_know_are_left_out():
    evidence = {**EVIDENCE["financial_anomaly"], "findings": ["paid_exceeds_committed", "later_rule"]}
    with translation.override("fr"):
        assert (
            summary("financial_anomaly", evidence)
            == "Montants incohérents : payé 1,7\u00a0MDH > engagé 1,6\u00a0MDH."
        )
