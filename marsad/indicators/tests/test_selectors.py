from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from marsad.accounts.choices import Role
from marsad.accounts.scoping import PUBLIC, Scope
from marsad.audit.services import SystemActor
from marsad.indicators.selectors import FigureFilters, Figures, achievements, figures, project_schedule
from marsad.indicators.tests.support import SEPTEMBER, TODAY, three_projects
from marsad.registry.models import Project
from marsad.registry.services import records_apply
from marsad.registry.tests.records import ADMIN_SCOPE, record

TODAY_AT = datetime(2026, 10, 31, 12, 0, tzinfo=UTC)
pytestmark = pytest.mark.dbsensitive  # sums and products of decimals differ between engines
DAKHLA_OFFICER = Scope(roles=frozenset({Role.TERRITORIAL_OFFICER}), territory_paths=("/12/",), label="wali")


@pytest.fixture
def projects(db):
    return three_projects()


def test_national_figures_by_region(projects, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows = figures(ADMIN_SCOPE, by="region", month=SEPTEMBER)
    assert rows == [
        # Casablanca: 80 % of 2,000; committed 2,000 / 2,000; paid 1,000 / 2,000.
        Figures("06", 1, 1, 0, Decimal("2000.00"), Decimal("2000.00"), Decimal("1000.00"),
                Decimal("80.00"), Decimal("100.00"), Decimal("50.00")),
        # Dakhla: (1,000 × 10 + 3,000 × 50) / 4,000 = 40 %; 2,000 / 4,000 = 50 %; 550 / 4,000 = 13.75 %.
        Figures("12", 2, 2, 0, Decimal("4000.00"), Decimal("2000.00"), Decimal("550.00"),
                Decimal("40.00"), Decimal("50.00"), Decimal("13.75")),
    ]  # fmt: skip
    (country,) = figures(ADMIN_SCOPE, month=SEPTEMBER)
    # (1,000 × 10 + 3,000 × 50 + 2,000 × 80) / 6,000 = 320,000 / 6,000 = 53.33 %.
    assert (country.key, country.projects, country.budget, country.tx_phys) == (
        "MA",
        3,
        Decimal("6000.00"),
        Decimal("53.33"),
    )


@pytest.mark.parametrize("by", ["country", "region", "province", "programme", "operator"])
def test_rollups_and_facts_give_the_same_figures(projects, by):
    from_rollups = figures(ADMIN_SCOPE, by=by, month=SEPTEMBER, source="rollups")
    assert from_rollups == figures(ADMIN_SCOPE, by=by, month=SEPTEMBER, source="facts")
    assert from_rollups


def test_a_territorial_officer_totals_only_their_territory(projects):
    (mine,) = figures(DAKHLA_OFFICER, month=SEPTEMBER)
    assert (mine.projects, mine.budget, mine.tx_phys) == (2, Decimal("4000.00"), Decimal("40.00"))
    assert [f.key for f in figures(DAKHLA_OFFICER, by="region", month=SEPTEMBER)] == ["12"]


def test_the_public_totals_only_published_projects(projects):
    assert figures(PUBLIC, month=SEPTEMBER) == []
    Project.objects.filter(operator_ref="C1").update(published=True, published_at=TODAY_AT)
    (public,) = figures(PUBLIC, month=SEPTEMBER)
    assert (public.projects, public.budget) == (1, Decimal("2000.00"))


def test_filters_communes_and_the_monthly_trend(projects):
    dakhla = FigureFilters(region="12")
    assert [
        (f.key, f.projects) for f in figures(ADMIN_SCOPE, by="programme", month=SEPTEMBER, filters=dakhla)
    ] == [
        ("PU", 1),
        ("VSB", 1),
    ]
    assert [f.key for f in figures(ADMIN_SCOPE, by="commune", month=SEPTEMBER)] == [
        "06.141.01.53",
        "12.391.01.01",
    ]
    trend = figures(ADMIN_SCOPE, by="month", period=(date(2026, 8, 1), date(2026, 10, 1)))
    assert [(f.key, f.projects, f.reported) for f in trend] == [("2026-09", 3, 3), ("2026-10", 3, 0)]
    with pytest.raises(ValueError, match="unknown dimension"):
        figures(ADMIN_SCOPE, by="status", month=SEPTEMBER)


def test_the_schedule_of_a_project_reporting_every_quarter(db):
    reports = [("2026-03-31", "4.00"), ("2026-06-30", "7.00"), ("2026-09-30", "10.00")]
    for as_of, progress in reports:
        records_apply(
            actor=SystemActor("t"), records=[record(operator_ref="S1", as_of=as_of, progress=progress)],
            source_kind="command", source_id="t", scope=ADMIN_SCOPE, today=TODAY,
        )  # fmt: skip
    schedule = project_schedule(Project.objects.get(operator_ref="S1"), today=TODAY)
    # Planned 2024-01-01 → 2030-12-31 (2,556 days); on 2026-09-30, t = 1,003 / 2,556 and the S-curve
    # gives 100 × (3t² − 2t³) = 34.1106 → 34.11 %; SPI = 10.00 / 34.11 = 0.2932 → 0.29.
    assert (schedule.on, schedule.actual_progress) == (date(2026, 9, 30), Decimal("10.00"))
    assert schedule.planned_progress == Decimal("34.11")
    assert schedule.schedule_performance == Decimal("0.29")
    # Least squares over (0, 4), (91, 7), (183, 10): slope 549 / 16,744.67 = 0.032787 points a day,
    # intercept 4.0055; 100 % at day 2,927.86 → 2,928 days after 2026-03-31 = 2034-04-06.
    assert (schedule.forecast.method, schedule.forecast.points) == ("linear_trend", 3)
    assert schedule.forecast.slope_per_day == Decimal("0.0328")
    assert schedule.forecast.date == date(2034, 4, 6)
    # GLISS and delay: 2034-04-06 − 2030-12-31 = 1,192 days.
    assert (schedule.gliss_days, schedule.delay_days) == (1192, 1192)
    assert schedule.initial_planned_end == date(2030, 12, 31)


def test_targets_and_what_the_outputs_reached(projects, django_assert_num_queries):
    from marsad.indicators.models import Target
    from marsad.territories.models import Territory

    national = Target.objects.create(indicator_id="SUP", year=2026, value=Decimal("1000"))
    dakhla = Target.objects.create(
        indicator_id="SUP", year=2026, value=Decimal("500"), territory=Territory.objects.get(code="12.391")
    )
    Target.objects.create(indicator_id="SUP", year=2026, value=Decimal("10"), programme_id="VSB")
    Target.objects.create(indicator_id="SUP", year=2025, value=Decimal("1"))
    with django_assert_num_queries(2):  # the targets, then the month's outputs grouped once
        found = achievements(ADMIN_SCOPE, year=2026, today=TODAY)
    # Every project reports SUP achieved 40 ha: 3 × 40 = 120 nationally (12 % of 1,000), 2 × 40 = 80 in
    # Oued Ed-Dahab (16 % of 500), 40 for VSB (D2 only: 400 % of 10), in October 2026.
    names = {national.pk: "national", dakhla.pk: "Oued Ed-Dahab"}
    assert [(names.get(a.target.pk, "VSB"), a.achieved, a.rate) for a in found] == [
        ("national", Decimal("120.00"), Decimal("12.00")),
        ("VSB", Decimal("40.00"), Decimal("400.00")),
        ("Oued Ed-Dahab", Decimal("80.00"), Decimal("16.00")),
    ]
    assert {a.month for a in found} == {date(2026, 10, 1)}
    # Dakhla's officer: the national target against Dakhla's projects only.
    mine = achievements(DAKHLA_OFFICER, year=2026, today=TODAY)
    first = mine[0]
    assert (first.target.pk, first.achieved, first.rate) == (national.pk, Decimal("80.00"), Decimal("8.00"))
