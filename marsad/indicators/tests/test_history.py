"""Figures as known on a date, and a month's close with its revisions (DESIGN §7)."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from marsad.accounts.choices import Role
from marsad.accounts.services import membership_grant, user_create
from marsad.audit.models import AuditEvent
from marsad.indicators.facts import CASABLANCA
from marsad.indicators.history import end_of_day, figures_as_known, published
from marsad.indicators.models import MonthClose, PublishedFigure
from marsad.indicators.selectors import FigureFilters, Figures, figures
from marsad.indicators.services import MonthCloseError, facts_refresh, month_close
from marsad.registry.services import records_apply
from marsad.registry.tests.records import ADMIN_SCOPE, record

from .support import SEPTEMBER, SYSTEM, TODAY

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]


def at(day: int, month: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=CASABLANCA)


def send(received_at: datetime, **fields) -> int:
    batch = records_apply(
        actor=SYSTEM, records=[record(financing={}, **fields)], source_kind="command", source_id="t",
        scope=ADMIN_SCOPE, received_at=received_at, today=TODAY,
    )  # fmt: skip
    assert batch.results[0].errors == []
    return batch.versions[0].project_id


@pytest.fixture
def history() -> list[int]:
    """D1 reports August on 5 September, then September just after midnight on 3 October; D2 reports
    its September late, on 20 October."""
    d1 = send(at(5, 9), operator_ref="D1", budget="1000.00", progress="10.00", committed="500.00",
              paid="250.00", as_of="2026-08-31")  # fmt: skip
    send(at(3, 10, 0, 30), operator_ref="D1", budget="1000.00", progress="40.00", committed="800.00",
         paid="400.00", as_of="2026-09-30")  # fmt: skip
    d2 = send(at(20, 10), operator_ref="D2", budget="3000.00", progress="50.00", committed="1500.00",
              paid="300.00", as_of="2026-09-15")  # fmt: skip
    facts_refresh([d1, d2], today=TODAY)
    return [d1, d2]


def national(on: date, **where) -> list[Figures]:
    return figures_as_known(ADMIN_SCOPE, on=on, **where)


def test_the_day_ends_at_midnight_in_casablanca():
    assert end_of_day(date(2026, 10, 2)) == datetime(2026, 10, 3, tzinfo=CASABLANCA)
    assert end_of_day(date(2026, 10, 2)).isoformat() == "2026-10-03T00:00:00+01:00"


def test_september_as_known_at_the_end_of_september_is_the_august_report_carried(history):
    assert national(date(2026, 9, 30), month=SEPTEMBER) == [
        Figures(key="MA", projects=1, reported=0, completed=0, budget=Decimal("1000.00"),
                committed=Decimal("500.00"), paid=Decimal("250.00"), tx_phys=Decimal("10.00"),
                tx_eng=Decimal("50.00"), tx_pai=Decimal("25.00")),
    ]  # fmt: skip


def test_a_version_received_after_midnight_local_time_is_not_known_the_day_before(history):
    # Received at 00:30 on 3 October in Casablanca, which is still 2 October in UTC.
    assert national(date(2026, 10, 2), month=SEPTEMBER)[0].tx_phys == Decimal("10.00")
    assert national(date(2026, 10, 3), month=SEPTEMBER) == [
        Figures(key="MA", projects=1, reported=1, completed=0, budget=Decimal("1000.00"),
                committed=Decimal("800.00"), paid=Decimal("400.00"), tx_phys=Decimal("40.00"),
                tx_eng=Decimal("80.00"), tx_pai=Decimal("40.00")),
    ]  # fmt: skip


def test_once_everything_arrived_the_known_figures_are_the_live_ones(history):
    known = national(date(2026, 10, 31), month=SEPTEMBER)
    assert known == [
        Figures(key="MA", projects=2, reported=2, completed=0, budget=Decimal("4000.00"),
                committed=Decimal("2300.00"), paid=Decimal("700.00"), tx_phys=Decimal("47.50"),
                tx_eng=Decimal("57.50"), tx_pai=Decimal("17.50")),
    ]  # fmt: skip
    assert known == figures(ADMIN_SCOPE, month=SEPTEMBER)
    for by in ("region", "province", "commune", "programme", "operator"):
        assert national(date(2026, 10, 31), by=by, month=SEPTEMBER) == figures(
            ADMIN_SCOPE, by=by, month=SEPTEMBER, source="facts"
        )


def test_a_trend_as_known_has_no_month_after_the_date(history):
    trend = national(date(2026, 9, 30), by="month", period=(date(2026, 8, 1), date(2026, 10, 1)))
    assert [(f.key, f.projects, f.reported, f.tx_phys) for f in trend] == [
        ("2026-08", 1, 1, Decimal("10.00")),
        ("2026-09", 1, 0, Decimal("10.00")),
    ]


def test_filters_and_scope_apply_to_known_figures(history):
    assert national(date(2026, 10, 31), month=SEPTEMBER, filters=FigureFilters(region="06")) == []
    assert [f.projects for f in national(date(2026, 10, 31), month=SEPTEMBER, filters=FigureFilters(
        province="12.391"))] == [2]  # fmt: skip
    from marsad.accounts.scoping import PUBLIC

    assert figures_as_known(PUBLIC, on=date(2026, 10, 31), month=SEPTEMBER) == []  # nothing published


def test_known_figures_cost_a_fixed_number_of_queries(history, django_assert_num_queries):
    # Projects, completed statuses, territories, then one read of versions per chunk of projects.
    with django_assert_num_queries(4):
        national(date(2026, 10, 31), month=SEPTEMBER)


def test_a_close_freezes_the_month_and_a_later_correction_shows_as_a_revision(history):
    close = month_close(actor=SYSTEM, month=date(2026, 9, 14), note="Chiffres de septembre", today=TODAY)
    assert (close.month, close.closed_by, close.note) == (SEPTEMBER, "tests", "Chiffres de septembre")
    assert sorted(close.figures.values_list("dimension", "key")) == [
        ("country", "MA"), ("operator", "MA-ALOMRANE-DOE"), ("programme", "PU"), ("province", "12.391"),
        ("region", "12"),
    ]  # fmt: skip
    event = AuditEvent.objects.get(action="indicators.month_close")
    assert (event.object_id, event.changes) == (
        "2026-09",
        {"after": {"note": "Chiffres de septembre", "figures": 5, "projects": 2, "budget": "4000.00"}},
    )
    untouched = published(SEPTEMBER)
    assert untouched.revised == 0
    assert [(r.published.tx_phys, r.revision) for r in untouched.rows] == [(Decimal("47.50"), None)]

    # D2 corrects its September progress on 25 October: the published figure stays, the revision shows.
    d2 = send(at(25, 10), operator_ref="D2", budget="3000.00", progress="60.00", committed="1500.00",
              paid="300.00", as_of="2026-09-15")  # fmt: skip
    facts_refresh([d2], today=TODAY)
    revised = published(SEPTEMBER)
    assert revised.revised == 1
    (row,) = revised.rows
    assert (row.published.tx_phys, row.revision.tx_phys, row.withdrawn) == (
        Decimal("47.50"),
        Decimal("55.00"),
        False,
    )
    assert PublishedFigure.objects.get(close=close, dimension="country").tx_phys == Decimal("47.50")


def test_a_withdrawn_project_shows_its_group_as_withdrawn(history):
    month_close(actor=SYSTEM, month=SEPTEMBER, today=TODAY)
    batch = records_apply(
        actor=SYSTEM, records=[{"operator": "MA-ALOMRANE-DOE", "operator_ref": "D1", "withdrawn": True,
                                "reason": "doublon"}],
        source_kind="command", source_id="t", scope=ADMIN_SCOPE, received_at=at(26, 10), today=TODAY,
    )  # fmt: skip
    assert batch.results[0].errors == []
    facts_refresh([v.project_id for v in batch.versions], today=TODAY)
    rows = published(SEPTEMBER, by="country").rows
    assert [(r.published.projects, r.revision.projects) for r in rows] == [(2, 1)]


def test_a_month_closes_once_and_only_when_it_is_over(history):
    with pytest.raises(MonthCloseError) as not_over:
        month_close(actor=SYSTEM, month=date(2026, 10, 1), today=TODAY)
    assert not_over.value.code == "month_not_over"
    month_close(actor=SYSTEM, month=SEPTEMBER, today=TODAY)
    with pytest.raises(MonthCloseError) as twice:
        month_close(actor=SYSTEM, month=SEPTEMBER, today=TODAY)
    assert twice.value.code == "month_already_closed"
    assert MonthClose.objects.count() == 1


def test_the_close_command_reports_and_refuses_in_both_languages(history, capsys):
    call_command("month_close", "2026-09", "--today", "2026-10-31", "--note", "officiel")
    assert capsys.readouterr().out == "Mois 2026-09 clôturé : 5 chiffres publiés.\n"
    with pytest.raises(CommandError) as twice:
        call_command("month_close", "2026-09", "--today", "2026-10-31")
    assert str(twice.value) == (
        "Le mois 2026-09 est déjà clôturé ; ses chiffres publiés ne changent pas. "
        "/ الشهر 2026-09 مقفل من قبل؛ أرقامه المنشورة لا تتغير."
    )
    with pytest.raises(CommandError) as bad:
        call_command("month_close", "2026-13")
    assert str(bad.value) == (
        "Date invalide « 2026-13 » : attendu AAAA-MM. / تاريخ غير صالح: الصيغة المنتظرة AAAA-MM."
    )


URL = "/api/v1/indicators/figures"


@pytest.fixture
def analyst(history):
    user = user_create(actor=SYSTEM, username="analyst", password=None)
    membership_grant(actor=SYSTEM, user=user, role=Role.NATIONAL_ANALYST)
    return user


def test_the_api_gives_known_figures_and_published_ones_with_revisions(client, analyst, settings):
    client.force_login(analyst)
    known = client.get(URL, {"month": "2026-09", "as_of": "2026-09-30"}).json()
    assert (known["as_of"], known["close"], [f["tx_phys"] for f in known["figures"]]) == (
        "2026-09-30",
        None,
        ["10.00"],
    )
    month_close(actor=SYSTEM, month=SEPTEMBER, today=TODAY)
    d2 = send(at(25, 10), operator_ref="D2", budget="3000.00", progress="60.00", committed="1500.00",
              paid="300.00", as_of="2026-09-15")  # fmt: skip
    facts_refresh([d2], today=TODAY)
    body = client.get(URL, {"month": "2026-09"}).json()
    assert (body["close"]["month"], body["close"]["revised"]) == ("2026-09", 1)
    (figure,) = body["figures"]
    assert (figure["tx_phys"], figure["revision"]["tx_phys"], figure["withdrawn"]) == (
        "47.50",
        "55.00",
        False,
    )
    closes = client.get("/api/v1/indicators/closes").json()
    assert [(c["month"], c["revised"]) for c in closes] == [("2026-09", 1)]


def test_the_api_refuses_a_date_in_the_future_or_malformed(client, analyst):
    client.force_login(analyst)
    future = client.get(URL, {"as_of": "2999-01-01"})
    assert future.status_code == 422
    assert future.json()["errors"][0]["code"] == "date_in_future"
    assert client.get(URL, {"as_of": "2026-02-30"}).status_code == 422
