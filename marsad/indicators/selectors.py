"""Reads of the indicator engine: the figures every page, export and API response shows (DESIGN §7).

One function, ``figures``, groups the monthly facts by a dimension (country, region, province,
commune, programme, operator or month) for a month or a period, within the principal's scope. For a
national reader the sums come from the rollups (a few hundred rows a month); for anyone else from the
facts of the projects they may read, so that a territorial officer's totals hold only their
territory and the public's only published projects. Both give the same numbers (tested).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, DecimalField, F, IntegerField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from marsad.accounts.scoping import Scope
from marsad.registry.canonical import stored_document
from marsad.registry.models import Project, ProjectVersion, Status
from marsad.registry.selectors import project_scope_q
from marsad.territories.choices import Level

from . import measures
from .measures import Forecast, rate
from .models import OutputMonth, ProjectMonth, Rollup, Target

DIMENSIONS = {
    "country": None,
    "region": "region_code",
    "province": "province_code",
    "commune": "commune_code",
    "programme": "programme_code",
    "operator": "operator__code",
    "month": "month",
}
COUNTRY = "MA"
HUNDREDTH = Decimal("0.01")


@dataclass(frozen=True)
class FigureFilters:
    region: str = ""
    province: str = ""
    commune: str = ""
    programme: str = ""
    operator: str = ""


@dataclass(frozen=True)
class Figures:
    """The indicators of one group: INV (budget), TX_PHYS, TX_ENG, TX_PAI and the counts behind them."""

    key: str
    projects: int
    reported: int
    completed: int
    budget: Decimal
    committed: Decimal
    paid: Decimal
    tx_phys: Decimal | None
    tx_eng: Decimal | None
    tx_pai: Decimal | None


def _filtered(queryset: QuerySet, filters: FigureFilters) -> QuerySet:
    if filters.region:
        queryset = queryset.filter(region_code=filters.region)
    if filters.province:
        queryset = queryset.filter(province_code=filters.province)
    if filters.commune:
        queryset = queryset.filter(commune_code=filters.commune)
    if filters.programme:
        queryset = queryset.filter(programme_code=filters.programme)
    if filters.operator:
        queryset = queryset.filter(operator__code=filters.operator)
    return queryset


def uses_rollups(scope: Scope, by: str, filters: FigureFilters) -> bool:
    """Rollups serve national readers at province grain and above."""
    return scope.is_national and by != "commune" and not filters.commune


def figures(
    scope: Scope,
    *,
    by: str = "country",
    month: date | None = None,
    period: tuple[date, date] | None = None,
    filters: FigureFilters | None = None,
    source: str = "auto",
) -> list[Figures]:
    """The figures of every group of ``by`` for ``month`` (its first day), or for each month of
    ``period`` (first and last month, inclusive) when ``by`` is "month". Groups are sorted by key.
    ``source`` forces "facts" or "rollups" (for checks and benchmarks; "auto" chooses)."""
    if by not in DIMENSIONS:
        raise ValueError(f"unknown dimension: {by}")
    filters = filters or FigureFilters()
    zero = Value(Decimal(0), output_field=DecimalField(max_digits=20, decimal_places=4))
    from_rollups = uses_rollups(scope, by, filters) if source == "auto" else source == "rollups"
    if from_rollups:
        source = _filtered(Rollup.objects.all(), filters)
        sums = {
            "n": Coalesce(Sum("projects"), Value(0), output_field=IntegerField()),
            "n_reported": Coalesce(Sum("reported"), Value(0), output_field=IntegerField()),
            "n_completed": Coalesce(Sum("completed"), Value(0), output_field=IntegerField()),
            "s_budget": Coalesce(Sum("budget"), zero),
            "s_weighted": Coalesce(Sum("progress_weighted"), zero),
            "s_progress_budget": Coalesce(Sum("progress_budget"), zero),
            "s_committed": Coalesce(Sum("committed"), zero),
            "s_paid": Coalesce(Sum("paid"), zero),
        }
    else:
        source = _filtered(ProjectMonth.objects.all(), filters)
        condition = project_scope_q(scope)
        if condition is not None:
            source = source.filter(project__in=Project.objects.filter(condition).values("pk"))
        completed = list(Status.objects.filter(is_completed=True).values_list("code", flat=True))
        with_progress = Q(progress__isnull=False)
        sums = {
            "n": Count("id"),
            "n_reported": Count("id", filter=Q(reported=True)),
            "n_completed": Count("id", filter=Q(status_code__in=completed)),
            "s_budget": Coalesce(Sum("budget"), zero),
            "s_weighted": Coalesce(Sum(F("budget") * F("progress"), filter=with_progress), zero),
            "s_progress_budget": Coalesce(Sum("budget", filter=with_progress), zero),
            "s_committed": Coalesce(Sum("committed"), zero),
            "s_paid": Coalesce(Sum("paid"), zero),
        }
    if by == "month":
        if period is None:
            raise ValueError("a period is needed to group by month")
        source = source.filter(month__gte=period[0], month__lte=period[1])
    else:
        if month is None:
            raise ValueError("a month is needed")
        source = source.filter(month=month)
    column = DIMENSIONS[by]
    if column is None:
        grouped = [source.aggregate(**sums)]
        keys = [COUNTRY]
    else:
        grouped = list(source.values(column).annotate(**sums).order_by(column))
        keys = [str(row[column]) if by != "month" else row[column].isoformat()[:7] for row in grouped]
    return [figures_from_sums(key, row) for key, row in zip(keys, grouped, strict=True) if row["n"]]


def _money(value) -> Decimal:
    return Decimal(value).quantize(HUNDREDTH, rounding=ROUND_HALF_UP)


def figures_from_sums(key: str, row: dict) -> Figures:
    """A group's indicators from its sums (n, n_reported, n_completed, s_budget, s_weighted =
    Σ budget × progress and s_progress_budget = Σ budget over projects with a progress, s_committed,
    s_paid): the one conversion every figure goes through, live, as known on a date or rebuilt."""
    budget = _money(row["s_budget"])
    weighted_budget = Decimal(row["s_progress_budget"])
    tx_phys = (
        (Decimal(row["s_weighted"]) / weighted_budget).quantize(HUNDREDTH, rounding=ROUND_HALF_UP)
        if weighted_budget
        else None
    )
    committed, paid = _money(row["s_committed"]), _money(row["s_paid"])
    return Figures(
        key=key,
        projects=row["n"],
        reported=row["n_reported"],
        completed=row["n_completed"],
        budget=budget,
        committed=committed,
        paid=paid,
        tx_phys=tx_phys,
        tx_eng=rate(committed, budget),
        tx_pai=rate(paid, budget),
    )


@dataclass(frozen=True)
class Schedule:
    """Where a project stands against its plan (DESIGN §7, schedule): its progress as of its last
    report against the planned curve on that date; delay, forecast and GLISS as of ``today``."""

    on: date  # the date of the last report (today when there is none)
    actual_progress: Decimal | None
    planned_progress: Decimal | None
    planned_curve: str
    schedule_performance: Decimal | None
    delay_days: int | None
    forecast: Forecast
    forecast_method: str
    gliss_days: int | None
    initial_planned_end: date | None
    planned_end: date | None


def project_schedule(project: Project, *, today: date) -> Schedule:
    """The schedule figures of a project from its current state and the progress of its reports."""
    reports = []
    for canonical in ProjectVersion.objects.filter(project=project, is_tombstone=False).values_list(
        "canonical", flat=True
    ):
        document = stored_document(canonical)
        if document.get("as_of") and document.get("progress") is not None:
            reports.append((date.fromisoformat(document["as_of"]), Decimal(document["progress"])))
    forecast = measures.forecast_completion(reports, today=today)
    on = project.as_of or today
    planned = measures.planned_progress(project.planned_start, project.planned_end, on)
    completed = project.actual_end if project.status.is_completed else None
    return Schedule(
        on=on,
        actual_progress=project.progress,
        planned_progress=planned,
        planned_curve=str(measures.PLANNED_CURVE),
        schedule_performance=measures.schedule_performance(project.progress, planned),
        delay_days=measures.delay_days(
            project.planned_end, today=today, actual_end=completed, forecast_end=forecast.date
        ),
        forecast=forecast,
        forecast_method=str(measures.FORECAST_METHODS[forecast.method]),
        gliss_days=measures.gliss_days(
            project.initial_planned_end, actual_end=completed, forecast_end=forecast.date
        ),
        initial_planned_end=project.initial_planned_end,
        planned_end=project.planned_end,
    )


@dataclass(frozen=True)
class Achievement:
    """A target and what the outputs reached against it (TX_REAL for an output indicator)."""

    target: Target
    month: date  # the month whose figures count: December of the year, or the current month
    achieved: Decimal | None
    rate: Decimal | None


TERRITORY_COLUMN = {Level.REGION: "region_code", Level.PROVINCE: "province_code"}


def achievements(scope: Scope, *, year: int, today: date, programme: str = "") -> list[Achievement]:
    """Each target of ``year`` with the achieved value of its indicator in its territory and programme,
    summed over the projects the scope may read, at the end of the year (or this month, for the
    current year). Targets of communes are listed without a value (outputs are grouped by province)."""
    month = min(date(year, 12, 1), today.replace(day=1))
    targets = Target.objects.filter(year=year).select_related("indicator", "territory", "programme")
    if programme:
        targets = targets.filter(programme_id=programme)
    outputs = OutputMonth.objects.filter(month=month)
    condition = project_scope_q(scope)
    if condition is not None:
        outputs = outputs.filter(project__in=Project.objects.filter(condition).values("pk"))
    ordered = sorted(
        targets, key=lambda t: (t.indicator_id, t.territory.code if t.territory else "", t.programme_id or "")
    )  # the national target first, on every engine (PostgreSQL sorts NULL last)
    # One grouped read of the month's outputs; each target adds up the groups inside its territory
    # and programme.
    groups = list(
        outputs.filter(indicator_id__in={t.indicator_id for t in ordered})
        .values("indicator_id", "region_code", "province_code", "programme_code")
        .annotate(total=Sum("achieved"))
        .order_by()
    )
    found = []
    for target in ordered:
        achieved = None
        territory = target.territory
        column = TERRITORY_COLUMN.get(territory.level) if territory is not None else None
        if territory is None or column is not None:
            totals = [
                g["total"]
                for g in groups
                if g["indicator_id"] == target.indicator_id
                and (column is None or g[column] == territory.code)
                and (not target.programme_id or g["programme_code"] == target.programme_id)
                and g["total"] is not None
            ]
            achieved = _money(sum(totals, Decimal(0)))
        found.append(Achievement(target, month, achieved, rate(achieved, target.value)))
    return found
