"""Writes of the indicator engine: monthly facts and rollups, refreshed per project after each commit
of versions and rebuilt whole by ``marsad indicators_rebuild`` (the same code path, so the same rows).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, F, Max, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from marsad.accounts.models import Organisation
from marsad.audit.services import actor_identity, audit_record
from marsad.core import rows
from marsad.registry.models import Project, ProjectVersion, Status
from marsad.territories.models import Territory

from .facts import Month, VersionInput, project_months_since
from .models import MonthClose, OutputMonth, ProjectMonth, PublishedFigure, Rollup

MONTH_COLUMNS = (
    "project", "month", "region_code", "province_code", "commune_code", "programme_code", "operator",
    "status_code", "version", "reported", "budget", "progress", "committed", "paid", "completeness",
)  # fmt: skip
OUTPUT_COLUMNS = (
    "project", "month", "indicator", "region_code", "province_code", "programme_code", "operator", "target",
    "achieved",
)  # fmt: skip
ROLLUP_COLUMNS = (
    "month", "region_code", "province_code", "programme_code", "operator", "projects", "reported",
    "completed", "budget", "progress_weighted", "progress_budget", "committed", "paid", "completeness",
)  # fmt: skip
VERSION = 1 + MONTH_COLUMNS.index("version")  # its place in a fact row read with its id
CHUNK = 500
ID_BATCH = 5000  # primary keys per DELETE
MONTH_BATCH = 12  # months of rollup cells recomputed per query
RollupKey = tuple[str, str, int]  # province code, programme code, operator id
RollupCell = tuple[date, str, str, int]  # month, province code, programme code, operator id


def local_today() -> date:
    """Today in Africa/Casablanca (the platform's time zone)."""
    return timezone.localdate()


@dataclass
class RefreshSummary:
    projects: int = 0
    months: int = 0
    outputs: int = 0
    rollups: int = 0


def _places(codes: Iterable[str]) -> dict[str, tuple[str, str]]:
    """(region code, province code) of each commune code."""
    return {
        code: (region, province)
        for code, region, province in Territory.objects.filter(code__in=set(codes)).values_list(
            "code", "region_code", "province_code"
        )
    }


def facts_refresh(
    project_ids: Iterable[int], *, today: date | None = None, rollups: bool = True
) -> RefreshSummary:
    """Recompute the monthly facts of these projects from their versions, and (unless ``rollups`` is
    false) the rollup cells those facts left or entered. One transaction; a fixed number of queries
    per chunk of projects (a few more when a chunk deletes over ``ID_BATCH`` rows).

    Only the rows that differ are written: the project's fact rows as they stand are compared, all
    columns, with the ones built now; a row that differs is deleted and written again, one that is
    no longer built is deleted, a new one inserted. The output rows of a month are compared and
    rewritten only where the month's fact row changed: they come from the same version (immutable)
    with the same territory, programme and operator as the fact row, so an unchanged fact row has
    unchanged outputs. ``summary.months`` and ``summary.outputs`` count the rows written.

    A project with facts is built from the first month its new versions reach (``facts.
    project_months_since``): its facts before that month are kept as they are, not compared, and
    only the documents of the versions in force from the month before are parsed."""
    today = today or local_today()
    ids = sorted(set(project_ids))
    summary = RefreshSummary(projects=len(ids))
    operators = dict(Organisation.objects.values_list("code", "id"))
    with transaction.atomic():
        cells: set[RollupCell] = set()
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            versions: dict[int, list[VersionInput]] = {}
            for project_id, number, received_at, tombstone, canonical in (
                ProjectVersion.objects.filter(project_id__in=chunk)
                .order_by("project_id", "number")
                .values_list("project_id", "number", "received_at", "is_tombstone", "canonical")
            ):
                versions.setdefault(project_id, []).append(
                    VersionInput(number, received_at, tombstone, canonical)
                )
            existing = {
                (row[1], row[2]): row
                for row in ProjectMonth.objects.filter(project_id__in=chunk).values_list("id", *MONTH_COLUMNS)
            }
            stored: dict[int, dict[date, int]] = {}
            for (project_id, month), row in existing.items():
                stored.setdefault(project_id, {})[month] = row[VERSION]
            starts: dict[int, date] = {}  # per project, the first month built; the ones before are kept
            built: dict[int, list[Month]] = {}
            for project_id, items in versions.items():
                starts[project_id], built[project_id] = project_months_since(
                    items, stored.get(project_id, {}), today=today
                )
            places = _places(m.commune_code for months in built.values() for m in months)
            month_rows: dict[tuple[int, date], tuple] = {}
            output_rows: dict[tuple[int, date], list[tuple]] = {}
            for project_id, months in built.items():
                for m in months:
                    region, province = places[m.commune_code]
                    operator = operators[m.operator_code]
                    month_rows[project_id, m.month] = (
                        project_id, m.month, region, province, m.commune_code, m.programme_code, operator,
                        m.status_code, m.version, m.reported, m.budget, m.progress, m.committed, m.paid,
                        m.completeness,
                    )  # fmt: skip
                    output_rows[project_id, m.month] = [
                        (project_id, m.month, code, region, province, m.programme_code, operator, target,
                         achieved)
                        for code, target, achieved in m.outputs
                    ]  # fmt: skip
            existing = {key: row for key, row in existing.items() if key[1] >= starts.get(key[0], date.min)}
            stale_months: list[int] = []
            changed: set[tuple[int, date]] = set()
            for key, row in existing.items():
                new = month_rows.get(key)
                if new is None or new != row[1:]:
                    stale_months.append(row[0])
                    changed.add(key)
                    cells.add((row[2], row[4], row[6], row[7]))  # month, province, programme, operator
            for key, new in month_rows.items():
                old = existing.get(key)
                if old is None or key in changed:
                    changed.add(key)
                    cells.add((new[1], new[3], new[5], new[6]))
            stale_outputs: list[int] = []
            new_outputs: list[tuple] = []
            if changed:
                projects = sorted({project_id for project_id, _month in changed})
                months = sorted({month for _project, month in changed})
                old_outputs: dict[tuple[int, date, str], tuple] = {}
                for row in OutputMonth.objects.filter(project_id__in=projects, month__in=months).values_list(
                    "id", *OUTPUT_COLUMNS
                ):
                    if (row[1], row[2]) in changed:
                        old_outputs[row[1], row[2], row[3]] = row
                fresh = {row[:3]: row for key in changed for row in output_rows.get(key, ())}
                for key, row in old_outputs.items():
                    if fresh.get(key) != row[1:]:
                        stale_outputs.append(row[0])
                for key, row in fresh.items():
                    old = old_outputs.get(key)
                    if old is None or old[1:] != row:
                        new_outputs.append(row)
            _delete_ids(ProjectMonth, stale_months)
            _delete_ids(OutputMonth, stale_outputs)
            summary.months += rows.insert_rows(
                ProjectMonth, MONTH_COLUMNS, (month_rows[key] for key in sorted(changed) if key in month_rows)
            )
            summary.outputs += rows.insert_rows(OutputMonth, OUTPUT_COLUMNS, sorted(new_outputs))
        if rollups:
            summary.rollups = rollups_refresh_cells(cells)
    return summary


def _delete_ids(model, ids: list[int]) -> None:
    """Delete rows by primary key, ``ID_BATCH`` at a time (no query when there are none)."""
    ids = sorted(ids)
    for start in range(0, len(ids), ID_BATCH):
        model.objects.filter(pk__in=ids[start : start + ID_BATCH]).delete()


def _completed() -> list[str]:
    return list(Status.objects.filter(is_completed=True).values_list("code", flat=True))


def _grouped(facts, completed: list[str]):
    """The rollup rows (as ROLLUP_COLUMNS) of a queryset of facts, in key order; ``completed``: the
    codes of the statuses that count a project as completed."""
    zero = Decimal(0)
    grouped = (
        facts.values("month", "region_code", "province_code", "programme_code", "operator_id")
        .annotate(
            n=Count("id"),
            n_reported=Count("id", filter=Q(reported=True)),
            n_completed=Count("id", filter=Q(status_code__in=completed)),
            s_budget=Coalesce(Sum("budget"), zero),
            s_weighted=Coalesce(Sum(F("budget") * F("progress"), filter=Q(progress__isnull=False)), zero),
            s_progress_budget=Coalesce(Sum("budget", filter=Q(progress__isnull=False)), zero),
            s_committed=Coalesce(Sum("committed"), zero),
            s_paid=Coalesce(Sum("paid"), zero),
            s_completeness=Coalesce(Sum("completeness"), zero),
        )
        .order_by("month", "province_code", "programme_code", "operator_id")
    )
    for g in grouped:
        yield (
            g["month"],
            g["region_code"],
            g["province_code"],
            g["programme_code"],
            g["operator_id"],
            g["n"],
            g["n_reported"],
            g["n_completed"],
            g["s_budget"],
            Decimal(g["s_weighted"]),
            g["s_progress_budget"],
            g["s_committed"],
            g["s_paid"],
            g["s_completeness"],
        )


def rollups_refresh(keys: Iterable[RollupKey] | None = None) -> int:
    """Recompute the rollup rows of the given groups (province, programme, operator), every month;
    all groups when ``keys`` is None (the rebuild). Returns the number of rollup rows written."""
    if keys is None:
        Rollup.objects.all().delete()
        return rows.insert_rows(Rollup, ROLLUP_COLUMNS, _grouped(ProjectMonth.objects.all(), _completed()))
    groups = set(keys)
    scope = {
        "province_code__in": sorted({key[0] for key in groups}),
        "programme_code__in": sorted({key[1] for key in groups}),
        "operator_id__in": sorted({key[2] for key in groups}),
    }
    cells = {
        cell
        for model in (ProjectMonth, Rollup)
        for cell in model.objects.filter(**scope)
        .values_list("month", "province_code", "programme_code", "operator_id")
        .distinct()
        if cell[1:] in groups
    }
    return rollups_refresh_cells(cells)


def rollups_refresh_cells(cells: Iterable[RollupCell]) -> int:
    """Recompute the rollup rows of the given cells (month, province, programme, operator) from the
    facts, writing only those whose sums changed (a cell left without facts loses its row). Two
    reads per batch of months: the facts of those months in the cells' provinces, programmes and
    operators grouped (through the ``(month, province_code)`` index; groups of that cross product
    that are not among the cells are left as they are), and the rollup rows of the same. Returns
    the number of rollup rows written."""
    by_month: dict[date, set[RollupKey]] = {}
    for month, province, programme, operator in cells:
        by_month.setdefault(month, set()).add((province, programme, operator))
    written = 0
    months = sorted(by_month)
    completed = _completed() if months else []
    for start in range(0, len(months), MONTH_BATCH):
        batch = months[start : start + MONTH_BATCH]
        wanted = {(month, *key) for month in batch for key in by_month[month]}
        keys = set().union(*(by_month[month] for month in batch))
        scope = {
            "month__in": batch,
            "province_code__in": sorted({key[0] for key in keys}),
            "programme_code__in": sorted({key[1] for key in keys}),
            "operator_id__in": sorted({key[2] for key in keys}),
        }
        old = {
            row[1:2] + row[3:6]: row
            for row in Rollup.objects.filter(**scope).values_list("id", *ROLLUP_COLUMNS)
            if row[1:2] + row[3:6] in wanted
        }
        new = {
            row[0:1] + row[2:5]: row
            for row in _grouped(ProjectMonth.objects.filter(**scope), completed)
            if row[0:1] + row[2:5] in wanted
        }
        _delete_ids(Rollup, [row[0] for cell, row in old.items() if new.get(cell) != row[1:]])
        written += rows.insert_rows(
            Rollup,
            ROLLUP_COLUMNS,
            [row for cell, row in sorted(new.items()) if cell not in old or old[cell][1:] != row],
        )
    return written


def facts_roll_forward(*, today: date | None = None) -> RefreshSummary:
    """Carry the facts of running projects into a new month: the projects whose last month of facts
    is before ``today``'s month and that have not ended (run by the scheduler)."""
    today = today or local_today()
    current = today.replace(day=1)
    behind = (
        ProjectMonth.objects.values("project_id")
        .annotate(last=Max("month"))
        .filter(last__lt=current, project__withdrawn=False, project__actual_end__isnull=True)
        .values_list("project_id", flat=True)
    )
    return facts_refresh(list(behind), today=today)


def indicators_rebuild(
    *, today: date | None = None, progress: Callable[[int, int], None] | None = None
) -> RefreshSummary:
    """Recompute every fact and rollup from the versions. The same code as the incremental refresh,
    so both give identical rows."""
    today = today or local_today()
    ids = list(Project.objects.order_by("pk").values_list("pk", flat=True))
    total = RefreshSummary(projects=len(ids))
    with transaction.atomic():
        ProjectMonth.objects.all().delete()
        OutputMonth.objects.all().delete()
        Rollup.objects.all().delete()
        for start in range(0, len(ids), CHUNK * 4):
            part = facts_refresh(ids[start : start + CHUNK * 4], today=today, rollups=False)
            total.months += part.months
            total.outputs += part.outputs
            if progress is not None:
                progress(min(start + CHUNK * 4, len(ids)), len(ids))
        total.rollups = rollups_refresh(None)
    return total


class MonthCloseError(Exception):
    """A month that cannot be closed: ``code`` is "month_not_over" or "month_already_closed"."""

    def __init__(self, code: str, month: date):
        super().__init__(f"{code}: {month:%Y-%m}")
        self.code = code
        self.month = month


def month_close(
    *, actor, month: date, note: str = "", today: date | None = None, request_id: str = ""
) -> MonthClose:
    """Close a finished month: freeze its national figures by country, region, province, programme
    and operator as they stand now (DESIGN §7). A month is closed once; it must be over."""
    from .history import NATIONAL, PUBLISHED_DIMENSIONS
    from .selectors import figures

    today = today or local_today()
    month = month.replace(day=1)
    if month >= today.replace(day=1):
        raise MonthCloseError("month_not_over", month)
    with transaction.atomic():
        if MonthClose.objects.select_for_update().filter(month=month).exists():
            raise MonthCloseError("month_already_closed", month)
        close = MonthClose.objects.create(
            month=month, closed_at=timezone.now(), closed_by=actor_identity(actor)[2][:150], note=note
        )
        published = [
            PublishedFigure(
                close=close,
                dimension=by,
                key=f.key,
                projects=f.projects,
                reported=f.reported,
                completed=f.completed,
                budget=f.budget,
                committed=f.committed,
                paid=f.paid,
                tx_phys=f.tx_phys,
                tx_eng=f.tx_eng,
                tx_pai=f.tx_pai,
            )
            for by in PUBLISHED_DIMENSIONS
            for f in figures(NATIONAL, by=by, month=month)
        ]
        PublishedFigure.objects.bulk_create(published)
        national = next((f for f in published if f.dimension == "country"), None)
        audit_record(
            actor=actor,
            action="indicators.month_close",
            object_type="indicators.monthclose",
            object_id=month.isoformat()[:7],
            object_label=month.isoformat()[:7],
            changes={
                "after": {
                    "note": note,
                    "figures": len(published),
                    "projects": national.projects if national else 0,
                    "budget": str(national.budget) if national else "0.00",
                }
            },
            request_id=request_id,
        )
    return close
