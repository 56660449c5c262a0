"""Figures as they were known, and as they were published (DESIGN §7).

*As known on a date*: the figures computed from the versions received up to the end of that day
(Africa/Casablanca), as if the platform were asked that evening. The monthly facts are rebuilt in
memory from those versions with the same function the stored facts come from
(``facts.project_months``, with ``today`` = the date), and grouped with the same sums and the same
conversion into indicators (``selectors.figures_from_sums``) as the live figures.

*Published*: a month's close (``services.month_close``) freezes the national figures of the month by
country, region, province, programme and operator. Read back, a closed month shows its published
figures; where the live figures differ since (a correction received later), each differing group
shows as a revision beside the published value.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from marsad.accounts.choices import Role
from marsad.accounts.scoping import Scope
from marsad.registry.models import Project, ProjectVersion, Status
from marsad.registry.selectors import project_scope_q
from marsad.territories.models import Territory

from .facts import CASABLANCA, VersionInput, project_months
from .models import MonthClose, PublishedFigure
from .selectors import COUNTRY, FigureFilters, Figures, figures, figures_from_sums

NATIONAL = Scope(roles=frozenset({Role.NATIONAL_ANALYST}), label="national")  # what a close publishes
PUBLISHED_DIMENSIONS = ("country", "region", "province", "programme", "operator")
CHUNK = 500


def end_of_day(on: date) -> datetime:
    """The first instant after ``on`` in Casablanca: versions received before it were known on ``on``."""
    return datetime.combine(on + timedelta(days=1), time(0), tzinfo=CASABLANCA)


def _months_wanted(by: str, month: date | None, period: tuple[date, date] | None) -> tuple[date, date]:
    if by == "month":
        if period is None:
            raise ValueError("a period is needed to group by month")
        return period
    if month is None:
        raise ValueError("a month is needed")
    return month, month


def figures_as_known(
    scope: Scope,
    *,
    on: date,
    by: str = "country",
    month: date | None = None,
    period: tuple[date, date] | None = None,
    filters: FigureFilters | None = None,
) -> list[Figures]:
    """``selectors.figures`` as the versions received up to the end of ``on`` gave them. Months after
    ``on``'s month have no figures (nothing was known of them)."""
    filters = filters or FigureFilters()
    first, last = _months_wanted(by, month, period)
    cutoff = end_of_day(on)
    projects = Project.objects.all()
    condition = project_scope_q(scope)
    if condition is not None:
        projects = projects.filter(condition)
    ids = list(projects.order_by("pk").values_list("pk", flat=True))
    completed = set(Status.objects.filter(is_completed=True).values_list("code", flat=True))
    places = {
        code: (region, province)
        for code, region, province in Territory.objects.values_list("code", "region_code", "province_code")
    }
    sums: dict[str, dict] = defaultdict(
        lambda: {
            "n": 0,
            "n_reported": 0,
            "n_completed": 0,
            "s_budget": Decimal(0),
            "s_weighted": Decimal(0),
            "s_progress_budget": Decimal(0),
            "s_committed": Decimal(0),
            "s_paid": Decimal(0),
        }
    )
    for start in range(0, len(ids), CHUNK):
        versions: dict[int, list[VersionInput]] = defaultdict(list)
        for project_id, number, received_at, tombstone, canonical in (
            ProjectVersion.objects.filter(project_id__in=ids[start : start + CHUNK], received_at__lt=cutoff)
            .order_by("project_id", "number")
            .values_list("project_id", "number", "received_at", "is_tombstone", "canonical")
        ):
            versions[project_id].append(VersionInput(number, received_at, tombstone, canonical))
        for items in versions.values():
            for fact in project_months(items, today=on):
                if not first <= fact.month <= last:
                    continue
                region, province = places.get(fact.commune_code, ("", ""))
                group = {
                    "country": COUNTRY,
                    "region": region,
                    "province": province,
                    "commune": fact.commune_code,
                    "programme": fact.programme_code,
                    "operator": fact.operator_code,
                    "month": fact.month.isoformat()[:7],
                }
                if not _passes(filters, group):
                    continue
                row = sums[group[by]]
                row["n"] += 1
                row["n_reported"] += fact.reported
                row["n_completed"] += fact.status_code in completed
                row["s_budget"] += fact.budget
                if fact.progress is not None:
                    row["s_weighted"] += fact.budget * fact.progress
                    row["s_progress_budget"] += fact.budget
                row["s_committed"] += fact.committed or 0
                row["s_paid"] += fact.paid or 0
    return [figures_from_sums(key, sums[key]) for key in sorted(sums)]


def _passes(filters: FigureFilters, group: dict) -> bool:
    return all(
        not getattr(filters, name) or group[name] == getattr(filters, name)
        for name in ("region", "province", "commune", "programme", "operator")
    )


@dataclass(frozen=True)
class PublishedRow:
    """A group of a closed month: its published figures, and the live ones when they differ."""

    published: Figures | None  # None: the group did not exist when the month was closed
    revision: Figures | None  # None: the live figures equal the published ones (or the group is gone)
    withdrawn: bool = False  # the group had figures at the close and has none now


@dataclass(frozen=True)
class Published:
    close: MonthClose
    rows: list[PublishedRow]

    @property
    def revised(self) -> int:
        return sum(1 for row in self.rows if row.revision is not None or row.withdrawn)


FIGURE_FIELDS = tuple(f.name for f in fields(Figures) if f.name != "key")


def _figure_of(stored: PublishedFigure) -> Figures:
    return Figures(key=stored.key, **{name: getattr(stored, name) for name in FIGURE_FIELDS})


def month_closed(month: date) -> MonthClose | None:
    return MonthClose.objects.filter(month=month).first()


def published(month: date, *, by: str = "country", close: MonthClose | None = None) -> Published | None:
    """The figures of a closed month by ``by`` as published, each with its revision if the live
    figures (national scope) now differ; None when the month is not closed."""
    if by not in PUBLISHED_DIMENSIONS:
        raise ValueError(f"no published figures by {by}")
    close = close or month_closed(month)
    if close is None:
        return None
    stored = PublishedFigure.objects.filter(close=close, dimension=by).order_by("key")
    frozen = {f.key: _figure_of(f) for f in stored}
    live = {f.key: f for f in figures(NATIONAL, by=by, month=month)}
    rows = []
    for key in sorted(frozen.keys() | live.keys()):
        before, now = frozen.get(key), live.get(key)
        rows.append(
            PublishedRow(
                published=before,
                revision=now if now is not None and now != before else None,
                withdrawn=before is not None and now is None,
            )
        )
    return Published(close, rows)


def closes() -> list[MonthClose]:
    """Every closed month, the latest first."""
    return list(MonthClose.objects.order_by("-month"))
