"""The indicator API: /api/v1/indicators/... (DESIGN §7). Thin: the figures come from the selectors."""

from __future__ import annotations

import datetime
from datetime import date
from decimal import Decimal
from typing import Literal

from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema

from marsad.accounts.scoping import principal_scope
from marsad.core.errors import Problem, query_invalid
from marsad.registry.api import project_filters, project_or_404
from marsad.registry.schemas import CODE, ORGANISATION_CODE, TERRITORY_CODE, ProjectQuery

from . import selectors
from .services import local_today

router = Router()
TAG = {
    "name": "indicators",
    "description": "Indicator figures computed by the one engine every page, export and alert uses: INV "
    "(budget), TX_PHYS (budget-weighted physical progress), TX_ENG and TX_PAI (committed and paid over "
    "budget), per month, grouped by territory level, programme, operator or month. Scoped to the "
    "principal: national roles see everything; a territorial officer's totals hold only their "
    "territory; the public's only published projects.",
}
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
MAX_MONTHS = 120


class FigureQuery(Schema):
    by: Literal["country", "region", "province", "commune", "programme", "operator", "month"] = Field(
        "country", description="The dimension to group by; `month` gives a monthly trend over a period"
    )
    month: str | None = Field(None, pattern=MONTH, description="YYYY-MM; the current month by default")
    start: str | None = Field(None, pattern=MONTH, description="First month of a trend (YYYY-MM)")
    end: str | None = Field(None, pattern=MONTH, description="Last month of a trend (YYYY-MM)")
    region: str | None = Field(None, pattern=TERRITORY_CODE["region"])
    province: str | None = Field(None, pattern=TERRITORY_CODE["province"])
    commune: str | None = Field(None, pattern=TERRITORY_CODE["commune"])
    programme: str | None = Field(None, pattern=CODE)
    operator: str | None = Field(None, pattern=ORGANISATION_CODE)


class FigureOut(Schema):
    key: str = Field(description="The group: a territory's HCP code, a programme code, an operator, YYYY-MM")
    projects: int
    reported: int = Field(description="Projects whose report is dated in the month")
    completed: int
    budget: Decimal = Field(description="INV, in MAD")
    committed: Decimal
    paid: Decimal
    tx_phys: Decimal | None = Field(description="TX_PHYS, % (budget-weighted physical progress)")
    tx_eng: Decimal | None = Field(description="TX_ENG, % (committed / budget)")
    tx_pai: Decimal | None = Field(description="TX_PAI, % (paid / budget)")


class FiguresOut(Schema):
    by: str
    month: str | None
    start: str | None
    end: str | None
    figures: list[FigureOut]


def _month(text: str) -> date:
    return date.fromisoformat(f"{text}-01")


def _invalid(name: str, code: str, message) -> Problem:
    return query_invalid(name, code, message, _("Un ou plusieurs paramètres sont invalides ; voir errors."))


@router.get(
    "/indicators/figures",
    response=FiguresOut,
    tags=["indicators"],
    summary="Indicator figures by territory, programme, operator or month",
)
def indicator_figures(request, query: Query[FigureQuery]):
    checked = project_filters(
        request,
        ProjectQuery(
            region=query.region,
            province=query.province,
            commune=query.commune,
            programme=query.programme,
            operator=query.operator,
        ),
    )
    filters = selectors.FigureFilters(
        region=checked.region,
        province=checked.province,
        commune=checked.commune,
        programme=checked.programme,
        operator=checked.operator,
    )
    scope = principal_scope(request.user)
    current = local_today().replace(day=1)
    if query.by == "month":
        end = _month(query.end) if query.end else current
        start = _month(query.start) if query.start else end.replace(year=end.year - 5)
        if start > end:
            raise _invalid("start", "period_reversed", _("Le premier mois doit précéder le dernier."))
        if (end.year - start.year) * 12 + end.month - start.month > MAX_MONTHS:
            raise _invalid("start", "period_too_long", _("Une tendance couvre au plus 120 mois."))
        rows = selectors.figures(scope, by="month", period=(start, end), filters=filters)
        return {"by": "month", "month": None, "start": start.isoformat()[:7], "end": end.isoformat()[:7],
                "figures": rows}  # fmt: skip
    month = _month(query.month) if query.month else current
    rows = selectors.figures(scope, by=query.by, month=month, filters=filters)
    return {"by": query.by, "month": month.isoformat()[:7], "start": None, "end": None, "figures": rows}


class ForecastOut(Schema):
    date: datetime.date | None = Field(description="Forecast completion date (none without a trend)")
    method: str = Field(description="linear_trend, achieved or no_trend")
    method_text: str = Field(description="The method, in the request's language")
    slope_per_day: Decimal | None = Field(description="Progress points per day of the trend")
    points: int = Field(description="Reports the forecast used")


class ScheduleOut(Schema):
    on: date = Field(description="Date of the last report (the progress compared with the plan)")
    actual_progress: Decimal | None
    planned_progress: Decimal | None = Field(description="Planned progress on that date, on the stated curve")
    planned_curve: str
    schedule_performance: Decimal | None = Field(description="Actual / planned progress")
    delay_days: int | None = Field(description="Days past the planned end (0 when on time)")
    gliss_days: int | None = Field(description="GLISS: forecast (or actual) end − initial planned end, days")
    initial_planned_end: date | None
    planned_end: date | None
    forecast: ForecastOut


@router.get(
    "/indicators/projects/{public_id}/schedule",
    response=ScheduleOut,
    tags=["indicators"],
    summary="A project's schedule: planned curve, schedule performance, delay, forecast, GLISS",
)
def project_schedule(request, public_id: str):
    project = project_or_404(request, public_id)
    schedule = selectors.project_schedule(project, today=local_today())
    forecast = schedule.forecast
    return {
        **{name: getattr(schedule, name) for name in ScheduleOut.model_fields if name != "forecast"},
        "forecast": {
            "date": forecast.date,
            "method": forecast.method,
            "method_text": schedule.forecast_method,
            "slope_per_day": forecast.slope_per_day,
            "points": forecast.points,
        },
    }


class TargetQuery(Schema):
    year: int = Field(..., ge=2000, le=2100, description="The year of the targets")
    programme: str | None = Field(None, pattern=CODE, description="Only the targets of this programme")


class AchievementOut(Schema):
    indicator: str
    territory: str | None = Field(description="HCP code; none for a national target")
    programme: str | None
    year: int
    value: Decimal = Field(description="The target")
    month: str = Field(description="The month whose figures count (YYYY-MM)")
    achieved: Decimal | None = Field(description="Outputs achieved by the projects in scope")
    rate: Decimal | None = Field(description="Achieved / target, %")


@router.get(
    "/indicators/targets",
    response=list[AchievementOut],
    tags=["indicators"],
    summary="Targets of a year and what the outputs reached against them",
)
def indicator_targets(request, query: Query[TargetQuery]):
    if query.programme:
        project_filters(request, ProjectQuery(programme=query.programme))  # an unknown code is a 422
    found = selectors.achievements(
        principal_scope(request.user), year=query.year, today=local_today(), programme=query.programme or ""
    )
    return [
        {
            "indicator": a.target.indicator_id,
            "territory": a.target.territory.code if a.target.territory else None,
            "programme": a.target.programme_id,
            "year": a.target.year,
            "value": a.target.value,
            "month": a.month.isoformat()[:7],
            "achieved": a.achieved,
            "rate": a.rate,
        }
        for a in found
    ]
