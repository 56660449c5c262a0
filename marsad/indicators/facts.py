"""Monthly facts of a project from its versions (DESIGN §7). Pure: no database.

A version is a report dated by its ``as_of`` (the date its figures describe; the day it was received
when it has none). The state of a project at the end of a month is the last report dated in or
before that month (the highest version number among reports of the same date). States are carried
forward month by month from the month of the first report to the month of the actual end, or the
current month while the project runs. A withdrawn project has no facts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from marsad.registry.canonical import stored_document

from . import measures

CASABLANCA = ZoneInfo("Africa/Casablanca")


@dataclass(frozen=True)
class VersionInput:
    number: int
    received_at: datetime
    is_tombstone: bool
    canonical: str


@dataclass(frozen=True)
class Month:
    """One row of ``ProjectMonth`` (the project and its operator are added by the caller)."""

    month: date
    commune_code: str  # the primary commune of the version in force
    programme_code: str
    operator_code: str
    status_code: str
    version: int
    reported: bool
    budget: Decimal
    progress: Decimal | None
    committed: Decimal | None
    paid: Decimal | None
    completeness: Decimal  # the share of the record's fields filled (measures.completeness)
    outputs: tuple[tuple[str, Decimal | None, Decimal | None], ...]  # (indicator, target, achieved)


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return (
        month.replace(year=month.year + 1, month=1)
        if month.month == 12
        else month.replace(month=month.month + 1)
    )


def _decimal(value) -> Decimal | None:
    return None if value is None else Decimal(value)


def _report_date(version: VersionInput, document: Mapping) -> date:
    if document.get("as_of"):
        return date.fromisoformat(document["as_of"])
    return version.received_at.astimezone(CASABLANCA).date()


def project_months(versions: Iterable[VersionInput], *, today: date) -> list[Month]:
    """The monthly facts of one project from all its versions (any order), up to ``today``'s month."""
    return project_months_since(versions, {}, today=today)[1]


def project_months_since(
    versions: Iterable[VersionInput], stored: Mapping[date, int], *, today: date
) -> tuple[date, list[Month]]:
    """The monthly facts of one project from ``start`` on, as ``(start, months)``, given the facts it
    has (``stored``: month → number of the version in force): the stored facts before ``start`` are
    what a full build gives. ``start`` is ``date.min`` when every month is built (no stored facts, a
    withdrawal, or a change reaching back to the first month).

    Stored facts were built from every version up to some number; a version in force at none of
    their months is "unknown" (a new version, or an old one superseded within its month or dated
    after the end). The facts of a month depend only on the reports dated before the next month, so
    the months before the first unknown report's month — and before the last stored month, which a
    new ``today`` or end may change — keep their facts, and the build resumes from the state in force
    the month before, recorded in its stored fact. Parsed: the unknown versions, the latest (its
    actual end), and the versions in force from the month before ``start`` on; every report dated
    from ``start`` on is among them (a version is in force only from its report's month)."""
    ordered = sorted(versions, key=lambda v: v.number)
    if not stored or not ordered or ordered[-1].is_tombstone:
        return date.min, _build(ordered, today=today)
    documents: dict[int, tuple[date, dict]] = {}

    def report(version: VersionInput) -> tuple[date, dict]:
        if version.number not in documents:
            document = stored_document(version.canonical)
            documents[version.number] = (_report_date(version, document), document)
        return documents[version.number]

    months = sorted(stored)
    last_in_force: dict[int, date] = {}
    for month in months:
        last_in_force[stored[month]] = month
    start = months[-1]
    for version in ordered:
        if not version.is_tombstone and version.number not in last_in_force:
            start = min(start, month_of(report(version)[0]))
    first, latest = months[0], report(ordered[-1])[1]
    end = _end(latest, today)
    contiguous = len(months) == _months_between(first, months[-1])
    if start <= first or not contiguous or end < _previous_month(start):
        return date.min, _build(ordered, today=today)
    before = stored[_previous_month(start)]
    reports = sorted(
        (
            (report(v)[0], v.number, report(v)[1])
            for v in ordered
            if not v.is_tombstone
            and (v.number not in last_in_force or last_in_force[v.number] >= _previous_month(start))
        ),
        key=lambda item: (item[0], item[1]),
    )
    index = next((i for i, (_day, number, _document) in enumerate(reports) if number == before), None)
    if index is None:  # facts of a version that is no more: not from these versions
        return date.min, _build(ordered, today=today)
    return start, _walk(reports, index, start, end)


def _build(ordered: list[VersionInput], *, today: date) -> list[Month]:
    """Every month's facts from all the versions (ordered by number)."""
    if not ordered or ordered[-1].is_tombstone:
        return []
    reports = []
    for version in ordered:
        if version.is_tombstone:
            continue
        document = stored_document(version.canonical)
        reports.append((_report_date(version, document), version.number, document))
    reports.sort(key=lambda report: (report[0], report[1]))
    latest = next(document for _, number, document in reports if number == ordered[-1].number)
    last = _end(latest, today)
    first = month_of(reports[0][0])
    if first > last:
        # Reports dated after the end (or in the future): the project shows from its first report.
        last = first if first <= month_of(today) else None
    if last is None:
        return []
    return _walk(reports, -1, first, last)


def _end(latest: Mapping, today: date) -> date:
    """The last month of facts: ``today``'s, or the latest version's actual end if earlier."""
    last = month_of(today)
    if latest.get("actual_end"):
        last = min(last, month_of(date.fromisoformat(latest["actual_end"])))
    return last


def _previous_month(month: date) -> date:
    return (
        month.replace(year=month.year - 1, month=12)
        if month.month == 1
        else month.replace(month=month.month - 1)
    )


def _months_between(first: date, last: date) -> int:
    """The number of months from ``first`` to ``last``, both included."""
    return (last.year - first.year) * 12 + last.month - first.month + 1


def _walk(reports: list[tuple[date, int, Mapping]], index: int, first: date, last: date) -> list[Month]:
    """The facts from month ``first`` to ``last`` from the reports sorted by (date, number), the
    report in force before ``first`` being ``reports[index]`` (none: -1); every report dated from
    ``first`` on comes after it."""
    months: list[Month] = []
    states: dict[int, dict] = {}  # the fields of the report in force, built once per report
    month = first
    while month <= last:
        boundary = next_month(month)
        reported = False
        while index + 1 < len(reports) and reports[index + 1][0] < boundary:
            index += 1
            reported = reported or reports[index][0] >= month
        state = states.get(index)
        if state is None:
            _, number, document = reports[index]
            state = states[index] = _state(number, document)
        months.append(Month(month=month, reported=reported, **state))
        month = boundary
    return months


def _state(number: int, document: Mapping) -> dict:
    """The fields of a month's facts that come from the report in force (all but the month and
    whether a report arrived in it)."""
    primary = next(code for code, link in document["communes"].items() if link["primary"])
    outputs = tuple(
        sorted(
            (code, _decimal(values.get("target")), _decimal(values.get("achieved")))
            for code, values in (document.get("outputs") or {}).items()
        )
    )
    return {
        "commune_code": primary,
        "programme_code": document["programme"],
        "operator_code": document["operator"],
        "status_code": document["status"],
        "version": number,
        "budget": Decimal(document.get("budget") or "0"),
        "progress": _decimal(document.get("progress")),
        "committed": _decimal(document.get("committed")),
        "paid": _decimal(document.get("paid")),
        "completeness": measures.completeness(document),
        "outputs": outputs,
    }
