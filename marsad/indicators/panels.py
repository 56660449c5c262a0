"""The indicator engine's panels on the registry's pages (see ``marsad.registry.panels``), registered
in ``apps.py``:

- on a project's page, its schedule (``selectors.project_schedule``: planned S-curve against actual
  progress, schedule performance, delay, forecast completion with its method, GLISS) and its monthly
  facts (TX_PHYS, committed and paid over budget, month by month);
- on an operator's page, its figures for a month (``selectors.figures``: INV, TX_PHYS, TX_ENG, TX_PAI,
  projects and reports) and their trend over twelve months; a holding's figures by subsidiary;
- on an operator's page, its data quality (``quality.quality``: completeness, timeliness, validity and
  the score) over six months; a holding's by operator of its family.

The figures are written in the page's HTML (tables and tiles); the charts draw the same numbers with
the platform's own Plotly (``vendor/plotly.min.js``) and ``indicators/charts.js``, nothing from a CDN.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.utils.translation import gettext as _

from marsad.accounts.choices import OrganisationKind
from marsad.accounts.models import Organisation
from marsad.accounts.scoping import organisation_family_ids, principal_scope
from marsad.core.formatting import format_month, page_language
from marsad.registry import panels
from marsad.registry.models import Project

from . import history, measures, selectors
from .groups import combined
from .history import PublishedRow
from .measures import rate
from .models import MonthClose, ProjectMonth
from .quality import Quality, quality
from .services import local_today

SCRIPTS = ("vendor/plotly.min.js", "indicators/charts.js")
TREND_MONTHS = 12
QUALITY_MONTHS = 6  # the months of an operator's data-quality table
FACT_ROWS = 12  # the project's last months in the table (the chart shows them all)
CURVE_POINTS = 48
COLOURS = {
    "planned": "#7f7f7f",
    "actual": "#1f6fb2",
    "forecast": "#d9822b",
    "eng": "#2e8540",
    "pai": "#8e44ad",
}


def register_panels() -> None:
    panels.register(panels.PROJECT, project_panel)
    panels.register(panels.ORGANISATION, operator_panel)
    panels.register(panels.ORGANISATION, quality_panel)


# --- months ---------------------------------------------------------------------------------------


def month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def months_before(month: date, count: int) -> date:
    """The first day of the month ``count`` months before ``month``."""
    index = month.year * 12 + month.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


def chosen_month(text: str | None, *, current: date) -> tuple[date, str | None]:
    """The month a reader asked for (``YYYY-MM``), or the current one with a message saying why when
    the text is malformed or names a month to come; the current month when nothing is asked."""
    if not text:
        return current, None
    try:
        year, number = text.split("-")
        if len(year) != 4 or len(number) != 2:
            raise ValueError(text)
        month = date(int(year), int(number), 1)
    except ValueError:
        message = _("Mois invalide « %(text)s » (attendu : AAAA-MM) ; le mois en cours est affiché.")
        return current, message % {"text": text[:20]}
    if month > current:
        message = _("%(month)s est à venir ; le mois en cours est affiché.")
        return current, message % {"month": format_month(month, page_language())}
    return month, None


# --- a project ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FactRow:
    """A project's month as its facts hold it, with the rates of its amounts over its budget."""

    month: date
    label: str
    reported: bool
    version: int
    budget: Decimal
    progress: Decimal | None  # TX_PHYS of a single project
    committed: Decimal | None
    paid: Decimal | None
    tx_eng: Decimal | None
    tx_pai: Decimal | None


def project_facts(project: Project, language: str) -> list[FactRow]:
    """Every monthly fact of a project, oldest first (one query)."""
    rows = ProjectMonth.objects.filter(project=project).order_by("month")
    return [
        FactRow(
            month=row.month,
            label=format_month(row.month, language),
            reported=row.reported,
            version=row.version,
            budget=row.budget,
            progress=row.progress,
            committed=row.committed,
            paid=row.paid,
            tx_eng=rate(row.committed, row.budget),
            tx_pai=rate(row.paid, row.budget),
        )
        for row in rows.only("month", "reported", "version", "budget", "progress", "committed", "paid")
    ]


def _iso(day: date) -> str:
    return day.isoformat()


def _number(value: Decimal | int | None) -> float | None:
    """A figure as a chart coordinate (the page's text shows the exact value)."""
    return None if value is None else float(value)


def _layout(today: date | None = None, *, percent: bool = True) -> dict:
    layout = {
        "height": 340,
        "margin": {"l": 56, "r": 16, "t": 16, "b": 40},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "separators": ", ",
        "hovermode": "closest",
        "legend": {"orientation": "h", "y": -0.18},
        "xaxis": {"type": "date", "tickformat": "%m/%Y", "hoverformat": "%d/%m/%Y", "gridcolor": "#eeeeee"},
        "yaxis": {"gridcolor": "#eeeeee", "rangemode": "tozero"},
    }
    if percent:
        layout["yaxis"].update({"range": [0, 105], "ticksuffix": " %", "hoverformat": ".2f"})
    if today is not None:
        layout["shapes"] = [
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": _iso(today),
                "x1": _iso(today),
                "y0": 0,
                "y1": 1,
                "line": {"color": "#999999", "width": 1, "dash": "dot"},
            }
        ]
        layout["annotations"] = [
            {
                "x": _iso(today),
                "y": 1,
                "xref": "x",
                "yref": "paper",
                "text": _("Aujourd'hui"),
                "showarrow": False,
                "yanchor": "bottom",
                "font": {"size": 11, "color": "#666666"},
            }
        ]
    return layout


def planned_curve_points(start: date, end: date) -> list[tuple[date, Decimal]]:
    """Points of the planned S-curve from the planned start to the planned end."""
    span = (end - start).days
    steps = min(CURVE_POINTS, span)
    days = sorted({round(span * i / steps) for i in range(steps + 1)})
    points = []
    for offset in days:
        on = start + timedelta(days=offset)
        points.append((on, measures.planned_progress(start, end, on)))
    return points


def schedule_chart(
    project: Project, schedule: selectors.Schedule, facts: list[FactRow], today: date
) -> dict | None:
    """The planned curve, the actual progress at each month's end, the last report and the forecast,
    as a Plotly figure (None when there is nothing to draw)."""
    data = []
    if project.planned_start and project.planned_end and project.planned_end > project.planned_start:
        points = planned_curve_points(project.planned_start, project.planned_end)
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": _("Prévu : courbe en S 100(3t² − 2t³)"),
                "x": [_iso(on) for on, _value in points],
                "y": [_number(value) for _on, value in points],
                "line": {"color": COLOURS["planned"], "dash": "dot", "width": 2},
            }
        )
    actual = [(min(month_end(f.month), today), f.progress) for f in facts if f.progress is not None]
    if actual:
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": _("Réel : avancement physique en fin de mois"),
                "x": [_iso(on) for on, _value in actual],
                "y": [_number(value) for _on, value in actual],
                "line": {"color": COLOURS["actual"], "width": 2, "shape": "hv"},
                "marker": {"size": 5},
            }
        )
    if schedule.actual_progress is not None and project.as_of:
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": _("Dernier rapport"),
                "x": [_iso(schedule.on)],
                "y": [_number(schedule.actual_progress)],
                "marker": {"color": COLOURS["actual"], "size": 10, "symbol": "diamond"},
            }
        )
        forecast = schedule.forecast
        if forecast.method == "linear_trend" and forecast.date is not None:
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": _("Prévision : tendance linéaire jusqu'à 100 %"),
                    "x": [_iso(schedule.on), _iso(forecast.date)],
                    "y": [_number(schedule.actual_progress), 100],
                    "line": {"color": COLOURS["forecast"], "dash": "dash", "width": 2},
                    "marker": {"size": [0, 8]},
                }
            )
    if not data:
        return None
    return {"data": data, "layout": _layout(today)}


def project_panel(request, project: Project) -> tuple[str, dict] | None:
    """The schedule and monthly facts of a project (nothing for a withdrawn one)."""
    if project.withdrawn:
        return None
    language = page_language()
    today = local_today()
    schedule = selectors.project_schedule(project, today=today)
    facts = project_facts(project, language)
    recent = list(reversed(facts[-FACT_ROWS:]))
    context = {
        "project": project,
        "schedule": schedule,
        "forecast": schedule.forecast,
        "today": today,
        "facts": recent,
        "facts_count": len(facts),
        "latest": recent[0] if recent else None,
        "chart": schedule_chart(project, schedule, facts, today),
        "chart_id": f"schedule-chart-{project.public_id}",
        panels.SCRIPTS: SCRIPTS,
    }
    return "indicators/panels/project_schedule.html", context


# --- an operator ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OperatorRow:
    code: str
    name: str
    figures: selectors.Figures
    revision: selectors.Figures | None = None  # a closed month's live figures, when they differ


def trend_chart(trend: list[selectors.Figures]) -> dict | None:
    """TX_PHYS, TX_ENG and TX_PAI month by month, as a Plotly figure."""
    if not trend:
        return None
    months = [f"{figures.key}-01" for figures in trend]
    series = (
        ("tx_phys", _("TX_PHYS : avancement physique pondéré par les budgets"), COLOURS["actual"]),
        ("tx_eng", _("TX_ENG : engagé / budget"), COLOURS["eng"]),
        ("tx_pai", _("TX_PAI : payé / budget"), COLOURS["pai"]),
    )
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": name,
            "x": months,
            "y": [_number(getattr(figures, field)) for figures in trend],
            "line": {"color": colour, "width": 2},
            "marker": {"size": 5},
        }
        for field, name, colour in series
    ]
    layout = _layout()
    layout["xaxis"].update({"tickformat": "%m/%Y", "hoverformat": "%m/%Y", "dtick": "M1"})
    return {"data": data, "layout": layout}


def published_by_operator(scope, month: date) -> tuple[MonthClose, dict[str, PublishedRow]] | None:
    """For a national reader and a closed month: the close and its published figures by operator (each
    with its revision), as /indicators/figures gives them; None otherwise."""
    if not scope.is_national:
        return None
    found = history.published(month, by="operator")
    if found is None:
        return None
    return found.close, {(row.published or row.revision).key: row for row in found.rows}


def operator_panel(request, organisation: Organisation) -> tuple[str, dict] | None:
    """An operator's figures for the month asked (``?month=YYYY-MM``, the current month by default) and
    their trend over the twelve months up to it; for a holding, its figures by subsidiary. For a closed
    month a national reader reads the published figures, with their revision where a correction
    changed them since (the trend gives the live figures)."""
    if organisation.kind != OrganisationKind.OPERATOR:
        return None
    language = page_language()
    scope = principal_scope(request.user)
    current = local_today().replace(day=1)
    month, month_error = chosen_month(request.GET.get("month"), current=current)
    family = organisation_family_ids([organisation.pk])
    published = published_by_operator(scope, month)
    context = {
        "organisation": organisation,
        "month": month,
        "month_value": month.isoformat()[:7],
        "month_label": format_month(month, language),
        "current_value": current.isoformat()[:7],
        "month_error": month_error,
        "trend_months": TREND_MONTHS,
        "close": published[0] if published else None,
        "revision": None,
        "withdrawn": False,
        panels.SCRIPTS: SCRIPTS,
    }
    if family == {organisation.pk}:
        filters = selectors.FigureFilters(operator=organisation.code)
        if published is None:
            (found,) = selectors.figures(scope, by="country", month=month, filters=filters) or (None,)
        else:
            row = published[1].get(organisation.code)
            found = row.published if row else None
            context.update(
                {"revision": row.revision if row else None, "withdrawn": bool(row and row.withdrawn)}
            )
        start = months_before(month, TREND_MONTHS - 1)
        trend = selectors.figures(scope, by="month", period=(start, month), filters=filters)
        context.update(
            {
                "figures": found,
                "group": None,
                "trend": [
                    (format_month(date.fromisoformat(f"{figures.key}-01"), language), figures)
                    for figures in reversed(trend)
                ],
                "trend_start_label": format_month(start, language),
                "chart": trend_chart(trend),
                "chart_id": f"operator-trend-{organisation.code}",
            }
        )
    else:
        names = {
            code: (name_ar if language == "ar" else name_fr)
            for code, name_fr, name_ar in Organisation.objects.filter(id__in=family).values_list(
                "code", "name_fr", "name_ar"
            )
        }
        if published is None:
            groups = [(figures, None) for figures in selectors.figures(scope, by="operator", month=month)]
        else:
            groups = [(row.published, row) for row in published[1].values() if row.published is not None]
        rows = [
            OperatorRow(figures.key, names[figures.key], figures, row.revision if row else None)
            for figures, row in sorted(groups, key=lambda group: group[0].key)
            if figures.key in names
        ]
        context.update(
            {
                "figures": combined(organisation.code, [row.figures for row in rows]) if rows else None,
                "group": rows,
                "trend": None,
                "chart": None,
            }
        )
    return "indicators/panels/operator_figures.html", context


# --- an operator's data quality -------------------------------------------------------------------


@dataclass(frozen=True)
class QualityRow:
    """A line of the data-quality table: a month of the operator, or an operator of a holding."""

    key: str  # YYYY-MM, or an operator's code
    label: str
    quality: Quality | None  # None: neither facts nor records


def quality_panel(request, organisation: Organisation) -> tuple[str, dict] | None:
    """An operator's data quality (DESIGN §7: completeness, timeliness, validity and their mean, the
    score) for the six months up to the month asked; for a holding, each operator of its family in
    that month. ``quality.quality`` computes every part, within the reader's scope."""
    if organisation.kind != OrganisationKind.OPERATOR:
        return None
    language = page_language()
    scope = principal_scope(request.user)
    current = local_today().replace(day=1)
    month, _error = chosen_month(request.GET.get("month"), current=current)  # the figures panel says why
    family = organisation_family_ids([organisation.pk])
    if family == {organisation.pk}:
        rows = []
        for back in range(QUALITY_MONTHS):
            on = months_before(month, back)
            (found,) = quality(scope, month=on, operators=[organisation.code]) or (None,)
            rows.append(QualityRow(on.isoformat()[:7], format_month(on, language), found))
        group = False
    else:
        members = (
            Organisation.objects.filter(id__in=family)
            .order_by("code")
            .values_list("code", "name_fr", "name_ar")
        )
        names = {code: (name_ar if language == "ar" else name_fr) for code, name_fr, name_ar in members}
        by_code = {q.operator: q for q in quality(scope, month=month, operators=names)}
        rows = [QualityRow(code, name, by_code.get(code)) for code, name in names.items()]
        group = True
    context = {
        "organisation": organisation,
        "group": group,
        "rows": rows,
        "month_value": month.isoformat()[:7],
        "month_label": format_month(month, language),
        "start_label": format_month(months_before(month, QUALITY_MONTHS - 1), language),
    }
    return "indicators/panels/operator_quality.html", context
