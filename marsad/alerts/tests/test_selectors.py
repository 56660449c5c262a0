"""Scoped reads of alerts: who reads which, filters, order, counts, who acknowledges."""

import pytest
from django.contrib.auth.models import AnonymousUser

from marsad.accounts.scoping import principal_scope
from marsad.alerts import selectors, services
from marsad.alerts.models import Alert
from marsad.alerts.selectors import AlertFilters
from marsad.registry.models import Project
from marsad.registry.services import projects_publish

from .support import CASABLANCA, OVERPAID, OVERRUN, SYSTEM, TODAY, people, write

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]

FINE = {"committed": "300000000.00", "paid": "150000000.00"}


@pytest.fixture
def world(db) -> dict:
    """Four alerts, evaluated one after the other (so each is newer than the one before):
    D1 high financial anomaly and D2 medium late in Dakhla (Al Omrane Dakhla, programme PU, financed
    with the GIE of Dakhla), C1 medium financial anomaly in Casablanca (Al Omrane Casablanca-Settat,
    programme VSB, published), and D3 closed in Dakhla."""
    refs = {
        "D3": write("DOE-3", **OVERRUN),
        "D1": write("DOE-1", **OVERPAID),
        "D2": write("DOE-2", planned_end="2026-06-30", progress="90.00"),
        "C1": write("CS-1", **CASABLANCA, **OVERRUN),
    }
    for ref in ("D3", "D1", "D2", "C1"):
        services.alerts_evaluate([refs[ref]], today=TODAY)
    write("DOE-3", **FINE)
    services.alerts_evaluate([refs["D3"]], today=TODAY)
    projects_publish(actor=SYSTEM, projects=Project.objects.filter(pk=refs["C1"]))
    alerts = {ref: Alert.objects.get(project_id=pk) for ref, pk in refs.items()}
    return {"users": people(), "alerts": alerts, "refs": refs}


def names(world: dict, alerts) -> list[str]:
    by_pk = {alert.pk: ref for ref, alert in world["alerts"].items()}
    return [by_pk[alert.pk] for alert in alerts]


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("analyst", ["D1", "C1", "D2"]),
        ("wali12", ["D1", "D2"]),
        ("wali06", ["C1"]),
        ("doe", ["D1", "D2"]),
        ("cs", ["C1"]),
        ("holding", ["D1", "C1", "D2"]),
        ("gie", ["D1", "D2"]),  # the partner finances the Dakhla projects
        ("public", []),  # not even the alert of the published project
    ],
)
def test_each_role_reads_the_alerts_of_its_own_grants_most_severe_then_newest(world, who, expected):
    user = AnonymousUser() if who == "public" else world["users"][who]
    assert names(world, selectors.alert_list(user)) == expected


def test_filters(world):
    analyst = world["users"]["analyst"]

    def listed(**filters) -> list[str]:
        return names(world, selectors.alert_list(analyst, AlertFilters(**filters)))

    assert listed(state="") == ["D1", "C1", "D2", "D3"]
    assert listed(state="closed") == ["D3"]
    assert listed(severity="high") == ["D1"]
    assert listed(severity="low") == []
    assert listed(rule="late") == ["D2"]
    assert listed(region="06") == ["C1"]
    assert listed(province="12.391", state="") == ["D1", "D2", "D3"]
    assert listed(programme="VSB") == ["C1"]
    assert listed(operator="MA-ALOMRANE") == ["D1", "C1", "D2"]  # the holding's subsidiaries
    assert listed(operator="MA-ALOMRANE-CS") == ["C1"]
    assert listed(operator="MA-NOBODY") == []
    assert listed(project=world["alerts"]["D2"].project.public_id) == ["D2"]
    # Filters narrow the scope, never widen it.
    assert names(world, selectors.alert_list(world["users"]["wali06"], AlertFilters(region="12"))) == []


def test_counts_by_severity(world):
    assert selectors.alert_counts(world["users"]["analyst"]) == {"high": 1, "medium": 2, "low": 0}
    assert selectors.alert_counts(world["users"]["wali06"]) == {"high": 0, "medium": 1, "low": 0}
    assert selectors.alert_counts(world["users"]["analyst"], AlertFilters(state="closed")) == {
        "high": 0,
        "medium": 1,
        "low": 0,
    }
    assert selectors.alert_counts(AnonymousUser()) == {"high": 0, "medium": 0, "low": 0}


def test_one_alert_with_its_history_or_nothing_out_of_scope(world):
    closed = world["alerts"]["D3"]
    found = selectors.alert_get(world["users"]["wali12"], closed.pk)
    assert [event.kind for event in found.events.all()] == ["opened", "closed"]
    for who in ("wali06", "cs"):
        with pytest.raises(Alert.DoesNotExist):
            selectors.alert_get(world["users"][who], closed.pk)
    with pytest.raises(Alert.DoesNotExist):
        selectors.alert_get(world["users"]["analyst"], closed.pk + 1000)


def test_who_may_acknowledge_which(world):
    users, alerts = world["users"], world["alerts"]
    every = list(alerts.values())
    expected = {
        "analyst": {"D1", "D2", "C1"},
        "wali12": {"D1", "D2"},
        "wali06": {"C1"},
        "doe": {"D1", "D2"},
        "holding": {"D1", "D2", "C1"},
        "gie": set(),  # reads, does not acknowledge
    }
    by_pk = {alert.pk: ref for ref, alert in alerts.items()}
    for who, refs in expected.items():
        assert {by_pk[pk] for pk in selectors.acknowledgeable(users[who], every)} == refs, who
    assert selectors.acknowledgeable(AnonymousUser(), every) == set()
    # The permission does not depend on the state: a closed alert is a conflict, not a refusal.
    assert selectors.may_acknowledge(users["wali12"], alerts["D3"])
    assert not selectors.may_acknowledge(users["gie"], alerts["D3"])


def test_the_readers_of_alerts_for_e_mails(world):
    refs, users = world["refs"], world["users"]
    every = set(refs.values())
    assert selectors.alert_readers(principal_scope(users["analyst"]), every) == every
    assert selectors.alert_readers(principal_scope(users["gie"]), every) == {
        refs["D1"],
        refs["D2"],
        refs["D3"],
    }
    assert selectors.alert_readers(principal_scope(users["wali06"]), every) == {refs["C1"]}
    assert selectors.alert_readers(principal_scope(AnonymousUser()), every) == set()
    assert selectors.alert_readers(principal_scope(users["analyst"]), []) == set()


def test_the_list_runs_a_fixed_number_of_queries(world, django_assert_num_queries):
    wali = world["users"]["wali12"]
    with django_assert_num_queries(2):  # the officer's memberships, then the alerts with their rows
        alerts = list(selectors.alert_list(wali, AlertFilters(state="")))
    with django_assert_num_queries(0):
        assert [(a.project.status_id, a.operator.code) for a in alerts] == [("ENCO", "MA-ALOMRANE-DOE")] * 3
