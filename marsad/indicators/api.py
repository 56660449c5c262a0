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
from marsad.registry.schemas import CODE, MONTH, ORGANISATION_CODE, TERRITORY_CODE, ProjectQuery

from . import history, quality, selectors
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
MAX_MONTHS = 120


class FigureQuery(Schema):
    as_of: date | None = Field(
        None,
        description="As known on this date (YYYY-MM-DD): the figures the versions received up to the end of "
        "that day give, whatever arrived since",
    )
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


class FigureValues(Schema):
    projects: int
    reported: int = Field(description="Projects whose report is dated in the month")
    completed: int
    budget: Decimal = Field(description="INV, in MAD")
    committed: Decimal
    paid: Decimal
    tx_phys: Decimal | None = Field(description="TX_PHYS, % (budget-weighted physical progress)")
    tx_eng: Decimal | None = Field(description="TX_ENG, % (committed / budget)")
    tx_pai: Decimal | None = Field(description="TX_PAI, % (paid / budget)")


class FigureOut(FigureValues):
    key: str = Field(description="The group: a territory's HCP code, a programme code, an operator, YYYY-MM")
    revision: FigureValues | None = Field(
        None, description="For a closed month: the live figures, when a later correction changed them"
    )
    withdrawn: bool = Field(
        False, description="For a closed month: the group had published figures and has none now"
    )


class CloseOut(Schema):
    month: str
    closed_at: datetime.datetime
    closed_by: str
    note: str
    revised: int = Field(description="Groups of this response whose live figures differ from the published")


class FiguresOut(Schema):
    by: str
    month: str | None
    start: str | None
    end: str | None
    as_of: date | None = Field(None, description="The date the figures are as known on, if one was asked")
    close: CloseOut | None = Field(
        None,
        description="When the month is closed (national readers): the figures are the published ones, "
        "each with its revision if any",
    )
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
    return figures_answer(request, query)


def figures_answer(request, query: FigureQuery) -> dict:
    """The figures a query asks for, as the API answers them (the exports write the same)."""
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
    today = local_today()
    current = today.replace(day=1)
    if query.as_of is not None and query.as_of > today:
        raise _invalid("as_of", "date_in_future", _("La date ne peut pas être dans le futur."))

    def compute(**where):
        if query.as_of is not None:
            return history.figures_as_known(scope, on=query.as_of, filters=filters, **where)
        return selectors.figures(scope, filters=filters, **where)

    if query.by == "month":
        end = _month(query.end) if query.end else current
        start = _month(query.start) if query.start else end.replace(year=end.year - 5)
        if start > end:
            raise _invalid("start", "period_reversed", _("Le premier mois doit précéder le dernier."))
        if (end.year - start.year) * 12 + end.month - start.month > MAX_MONTHS:
            raise _invalid("start", "period_too_long", _("Une tendance couvre au plus 120 mois."))
        rows = compute(by="month", period=(start, end))
        return {"by": "month", "month": None, "start": start.isoformat()[:7], "end": end.isoformat()[:7],
                "as_of": query.as_of, "figures": rows}  # fmt: skip
    month = _month(query.month) if query.month else current
    answer = {"by": query.by, "month": month.isoformat()[:7], "start": None, "end": None}
    answer["as_of"] = query.as_of
    unfiltered = filters == selectors.FigureFilters()
    if query.as_of is None and unfiltered and scope.is_national and query.by in history.PUBLISHED_DIMENSIONS:
        found = history.published(month, by=query.by)
        if found is not None:
            return {**answer, "close": _close_out(found), "figures": _published_rows(found)}
    return {**answer, "figures": compute(by=query.by, month=month)}


def _close_out(found: history.Published) -> dict:
    close = found.close
    return {
        "month": close.month.isoformat()[:7],
        "closed_at": close.closed_at,
        "closed_by": close.closed_by,
        "note": close.note,
        "revised": found.revised,
    }


def _published_rows(found: history.Published) -> list[dict]:
    rows = []
    for row in found.rows:
        shown = row.published or row.revision
        values = {name: getattr(shown, name) for name in history.FIGURE_FIELDS}
        revision = None
        if row.revision is not None and row.published is not None:
            revision = {name: getattr(row.revision, name) for name in history.FIGURE_FIELDS}
        elif row.published is None:
            values = {name: None if name.startswith("tx_") else 0 for name in history.FIGURE_FIELDS}
            revision = {name: getattr(row.revision, name) for name in history.FIGURE_FIELDS}
        rows.append({"key": shown.key, **values, "revision": revision, "withdrawn": row.withdrawn})
    return rows


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


@router.get(
    "/indicators/closes",
    response=list[CloseOut],
    tags=["indicators"],
    summary="Closed months, with how many national groups were revised since",
)
def indicator_closes(request):
    found = [history.published(close.month, close=close) for close in history.closes()]
    return [_close_out(f) for f in found if f is not None]


class QualityQuery(Schema):
    month: str | None = Field(None, pattern=MONTH, description="YYYY-MM; the current month by default")
    operator: str | None = Field(None, pattern=ORGANISATION_CODE, description="Only this operator")


class QualityOut(Schema):
    operator: str
    month: str
    projects: int = Field(description="The operator's projects with facts in the month, in scope")
    reported: int = Field(description="Those whose report is dated within the month")
    records: int = Field(description="Records received in the month, every channel, rejected ones included")
    records_clean: int = Field(description="Those with neither an error nor a warning")
    completeness: Decimal | None = Field(description="Mean share of the record's fields filled, 0–100")
    timeliness: Decimal | None = Field(description="reported / projects, 0–100")
    validity: Decimal | None = Field(description="records_clean / records, 0–100")
    score: Decimal | None = Field(description="The mean of the known parts, 0–100")


@router.get(
    "/indicators/quality",
    response=list[QualityOut],
    tags=["indicators"],
    summary="Data quality per operator and month: completeness, timeliness, validity and their score",
)
def indicator_quality(request, query: Query[QualityQuery]):
    if query.operator:
        project_filters(request, ProjectQuery(operator=query.operator))  # an unknown code is a 422
    month = _month(query.month) if query.month else local_today().replace(day=1)
    found = quality.quality(
        principal_scope(request.user), month=month, operators=[query.operator] if query.operator else ()
    )
    return [{**q.__dict__, "month": q.month.isoformat()[:7]} for q in found]
