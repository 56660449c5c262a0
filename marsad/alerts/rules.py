"""The alert rules (DESIGN §7), as pure functions of a project's current state and a date.

``findings(state, today)`` returns, by rule code, the alerts that should be open on the project with
their severity and the figures behind them (``evidence``: JSON values only; dates as YYYY-MM-DD,
amounts and rates as decimal strings). No database here: ``alerts.services`` builds the states and
turns findings into open, updated and closed alerts.

A *report* is a version of the project (withdrawals aside), dated by its ``as_of``, or by the day
it arrived (in Africa/Casablanca) when it has none, as the indicator engine dates them. A withdrawn
or cancelled project raises no alert. *Running* means neither completed (ACHV, LIVR), nor cancelled,
nor withdrawn.

Rules, thresholds and severities:

- ``late``: running and ``today`` is past the planned end. Medium up to 180 days late; high beyond
  180 days (half a year behind is a project that needs a decision, not a reminder).
- ``stalled``: in works (ENCO, DIFF) with a physical progress below 100 % that has not changed for
  90 days or more: the progress of the reports dated up to ``today`` has kept its last value since
  the first report that gave it. Medium; high from 180 days (the escalation doubles the threshold).
- ``financial_anomaly``: paid > committed, or committed > budget, from the project's current
  figures and from the warnings the registry's rules stored on its latest version
  (``paid_exceeds_committed``, ``committed_exceeds_budget``). High when more was paid than
  committed (a payment without commitment breaks the order of public spending); medium when only
  the commitments exceed the budget (an overrun to regularise by an amendment). The completed
  projects keep this rule: the anomaly stays in their accounts.
- ``stale_data``: running and no report for 60 days or more (``today`` − the latest report date).
  Low: it is a data-quality matter for the operator; medium from 180 days (half a year without
  news hides the project from every indicator).
- ``schedule_performance``: running and the indicator engine's schedule performance (actual
  progress / planned progress on the S-curve, both on the date of the last report) is below 0.8.
  Medium; high below 0.5 (less than half of what was planned).
- ``progress_regression``: the progress of the latest version is lower than that of the version
  before it (the registry's ``progress_regression`` warning). Low when it fell by less than 10
  points (usually a correction); medium from 10 points. It closes when a later version no longer
  goes backwards.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from marsad.indicators import measures

from .choices import RuleCode, Severity

LATE_HIGH_DAYS = 180
STALLED_DAYS = 90
STALLED_HIGH_DAYS = 180
STALE_DAYS = 60
STALE_MEDIUM_DAYS = 180
SCHEDULE_PERFORMANCE_MIN = Decimal("0.80")
SCHEDULE_PERFORMANCE_HIGH = Decimal("0.50")
REGRESSION_MEDIUM_POINTS = Decimal(10)
WORKS_STATUSES = ("ENCO", "DIFF")
FULL = Decimal(100)
PAID_EXCEEDS_COMMITTED = "paid_exceeds_committed"
COMMITTED_EXCEEDS_BUDGET = "committed_exceeds_budget"
# Figures of the evidence that grow with the date alone (day counts). An open alert whose evidence
# differs only in these is refreshed without an event; anything else, or the severity, is news.
GROWING = frozenset({"days_late", "days_unchanged", "days_since_report"})


def substance(evidence: dict) -> dict:
    """The evidence without the figures that grow with the date alone."""
    return {key: value for key, value in evidence.items() if key not in GROWING}


@dataclass(frozen=True)
class Report:
    """A version of the project: its number, the date its figures describe and its progress."""

    number: int
    on: date
    progress: Decimal | None


@dataclass(frozen=True)
class ProjectState:
    """What the rules read of a project: its compiled current state and its reports."""

    status: str
    completed: bool = False
    cancelled: bool = False
    withdrawn: bool = False
    planned_start: date | None = None
    planned_end: date | None = None
    budget: Decimal = Decimal(0)
    as_of: date | None = None
    progress: Decimal | None = None
    committed: Decimal | None = None
    paid: Decimal | None = None
    warning_codes: tuple[str, ...] = ()  # the registry's warnings on the latest version
    reports: tuple[Report, ...] = field(default=())  # every non-withdrawal version, any order

    @property
    def running(self) -> bool:
        return not (self.completed or self.cancelled or self.withdrawn)


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    evidence: dict


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


def late(state: ProjectState, today: date) -> Finding | None:
    if not state.running or state.planned_end is None or today <= state.planned_end:
        return None
    days = measures.delay_days(state.planned_end, today=today)
    severity = Severity.HIGH if days > LATE_HIGH_DAYS else Severity.MEDIUM
    evidence = {"planned_end": state.planned_end.isoformat(), "days_late": days, "status": state.status}
    return Finding(RuleCode.LATE, severity, evidence)


def _by_date(reports: Sequence[Report]) -> list[Report]:
    return sorted(reports, key=lambda r: (r.on, r.number))


def stalled(state: ProjectState, today: date) -> Finding | None:
    if not state.running or state.status not in WORKS_STATUSES:
        return None
    series = [r for r in _by_date(state.reports) if r.on <= today and r.progress is not None]
    if not series or series[-1].progress >= FULL:
        return None
    current = series[-1].progress
    since = series[-1].on
    for report in reversed(series):
        if report.progress != current:
            break
        since = report.on
    days = (today - since).days
    if days < STALLED_DAYS:
        return None
    severity = Severity.HIGH if days >= STALLED_HIGH_DAYS else Severity.MEDIUM
    evidence = {
        "progress": _amount(current),
        "unchanged_since": since.isoformat(),
        "days_unchanged": days,
        "status": state.status,
    }
    return Finding(RuleCode.STALLED, severity, evidence)


def financial_anomaly(state: ProjectState, today: date) -> Finding | None:
    if state.withdrawn or state.cancelled:
        return None
    found = {
        code for code in state.warning_codes if code in (PAID_EXCEEDS_COMMITTED, COMMITTED_EXCEEDS_BUDGET)
    }
    if state.paid is not None and state.committed is not None and state.paid > state.committed:
        found.add(PAID_EXCEEDS_COMMITTED)
    if state.committed is not None and state.committed > state.budget:
        found.add(COMMITTED_EXCEEDS_BUDGET)
    if not found:
        return None
    severity = Severity.HIGH if PAID_EXCEEDS_COMMITTED in found else Severity.MEDIUM
    evidence = {
        "findings": sorted(found),
        "budget": _amount(state.budget),
        "committed": _amount(state.committed),
        "paid": _amount(state.paid),
    }
    return Finding(RuleCode.FINANCIAL_ANOMALY, severity, evidence)


def stale_data(state: ProjectState, today: date) -> Finding | None:
    if not state.running or not state.reports:
        return None
    last = max(r.on for r in state.reports)
    days = (today - last).days
    if days < STALE_DAYS:
        return None
    severity = Severity.MEDIUM if days >= STALE_MEDIUM_DAYS else Severity.LOW
    return Finding(
        RuleCode.STALE_DATA, severity, {"last_report": last.isoformat(), "days_since_report": days}
    )


def schedule_performance(state: ProjectState, today: date) -> Finding | None:
    """The indicator engine's figure (``indicators.selectors.project_schedule``): the progress of the
    latest state against the planned S-curve on the date of that state's report."""
    if not state.running:
        return None
    on = state.as_of or today
    planned = measures.planned_progress(state.planned_start, state.planned_end, on)
    performance = measures.schedule_performance(state.progress, planned)
    if performance is None or performance >= SCHEDULE_PERFORMANCE_MIN:
        return None
    severity = Severity.HIGH if performance < SCHEDULE_PERFORMANCE_HIGH else Severity.MEDIUM
    evidence = {
        "on": on.isoformat(),
        "actual_progress": _amount(state.progress),
        "planned_progress": _amount(planned),
        "schedule_performance": _amount(performance),
    }
    return Finding(RuleCode.SCHEDULE_PERFORMANCE, severity, evidence)


def progress_regression(state: ProjectState, today: date) -> Finding | None:
    if state.withdrawn or state.cancelled or len(state.reports) < 2:
        return None
    previous, latest = sorted(state.reports, key=lambda r: r.number)[-2:]
    if previous.progress is None or latest.progress is None or latest.progress >= previous.progress:
        return None
    drop = previous.progress - latest.progress
    severity = Severity.MEDIUM if drop >= REGRESSION_MEDIUM_POINTS else Severity.LOW
    evidence = {
        "previous_version": previous.number,
        "previous_progress": _amount(previous.progress),
        "version": latest.number,
        "progress": _amount(latest.progress),
    }
    return Finding(RuleCode.PROGRESS_REGRESSION, severity, evidence)


RULES: dict[str, Callable[[ProjectState, date], Finding | None]] = {
    RuleCode.LATE: late,
    RuleCode.STALLED: stalled,
    RuleCode.FINANCIAL_ANOMALY: financial_anomaly,
    RuleCode.STALE_DATA: stale_data,
    RuleCode.SCHEDULE_PERFORMANCE: schedule_performance,
    RuleCode.PROGRESS_REGRESSION: progress_regression,
}


def findings(state: ProjectState, today: date) -> dict[str, Finding]:
    """The alerts that should be open on the project on ``today``, by rule code."""
    found = {}
    for code, rule in RULES.items():
        finding = rule(state, today)
        if finding is not None:
            found[code] = finding
    return found
