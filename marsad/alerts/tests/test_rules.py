"""The alert rules on hand-built project states: every threshold, severity and evidence value."""

from datetime import date
from decimal import Decimal

import pytest

from marsad.alerts import rules
from marsad.alerts.rules import ProjectState, Report
from marsad.indicators import measures

D = Decimal


def state(**fields) -> ProjectState:
    return ProjectState(**{"status": "ENCO", **fields})


# --- late ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 6, 30), None),  # on the planned end: not late yet
        (date(2026, 7, 1), ("medium", 1)),
        (date(2026, 12, 27), ("medium", 180)),
        (date(2026, 12, 28), ("high", 181)),
    ],
)
def test_late_past_the_planned_end(today, expected):
    found = rules.late(state(planned_end=date(2026, 6, 30)), today)
    if expected is None:
        assert found is None
        return
    assert (found.rule, found.severity) == ("late", expected[0])
    assert found.evidence == {"planned_end": "2026-06-30", "days_late": expected[1], "status": "ENCO"}


@pytest.mark.parametrize("flags", [{"completed": True}, {"cancelled": True}, {"withdrawn": True}])
def test_late_only_for_running_projects(flags):
    assert rules.late(state(planned_end=date(2026, 6, 30), **flags), date(2027, 1, 1)) is None
    assert rules.late(state(planned_end=None), date(2027, 1, 1)) is None


# --- stalled ------------------------------------------------------------------------------------------------

HISTORY = (
    Report(1, date(2026, 3, 31), D("40.00")),
    Report(2, date(2026, 4, 30), D("55.00")),
    Report(4, date(2026, 6, 30), D("55.00")),
    Report(3, date(2026, 5, 31), D("55.00")),  # any order
)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 7, 28), None),  # 89 days since 2026-04-30
        (date(2026, 7, 29), ("medium", 90)),
        (date(2026, 10, 26), ("medium", 179)),
        (date(2026, 10, 27), ("high", 180)),
    ],
)
def test_stalled_counts_from_the_first_report_of_the_unchanged_progress(today, expected):
    found = rules.stalled(state(reports=HISTORY), today)
    if expected is None:
        assert found is None
        return
    assert (found.rule, found.severity) == ("stalled", expected[0])
    assert found.evidence == {
        "progress": "55.00",
        "unchanged_since": "2026-04-30",
        "days_unchanged": expected[1],
        "status": "ENCO",
    }


def test_stalled_only_in_works_below_100_percent_and_with_known_reports():
    late_day = date(2027, 1, 1)
    assert rules.stalled(state(status="DIFF", reports=HISTORY), late_day).evidence["status"] == "DIFF"
    for status in ("AO", "SUSP", "PROG"):
        assert rules.stalled(state(status=status, reports=HISTORY), late_day) is None
    done = (Report(1, date(2026, 1, 31), D("100.00")),)
    assert rules.stalled(state(reports=done), late_day) is None
    assert rules.stalled(state(reports=(Report(1, date(2026, 1, 31), None),)), late_day) is None
    # A report dated after "today" is not known yet: on 2026-07-29 the June change does not count.
    moved = (*HISTORY[:2], Report(5, date(2026, 8, 31), D("60.00")))
    assert rules.stalled(state(reports=moved), date(2026, 7, 29)).evidence["days_unchanged"] == 90


# --- financial anomaly --------------------------------------------------------------------------------------


def test_paid_above_committed_is_high_and_committed_above_budget_medium():
    both = rules.financial_anomaly(
        state(budget=D("1000.00"), committed=D("1200.00"), paid=D("1300.00")), None
    )
    assert (both.rule, both.severity) == ("financial_anomaly", "high")
    assert both.evidence == {
        "findings": ["committed_exceeds_budget", "paid_exceeds_committed"],
        "budget": "1000.00",
        "committed": "1200.00",
        "paid": "1300.00",
    }
    over = rules.financial_anomaly(state(budget=D("1000.00"), committed=D("1000.01"), paid=D("10.00")), None)
    assert (over.severity, over.evidence["findings"]) == ("medium", ["committed_exceeds_budget"])
    fine = state(budget=D("1000.00"), committed=D("1000.00"), paid=D("1000.00"))
    assert rules.financial_anomaly(fine, None) is None
    assert rules.financial_anomaly(state(budget=D("1000.00"), committed=None, paid=D("5.00")), None) is None


def test_financial_anomaly_reads_the_warnings_of_the_latest_version():
    flagged = state(budget=D("10.00"), warning_codes=("financing_mismatch", "paid_exceeds_committed"))
    found = rules.financial_anomaly(flagged, None)
    assert (found.severity, found.evidence["findings"]) == ("high", ["paid_exceeds_committed"])
    assert found.evidence["committed"] is None
    assert rules.financial_anomaly(state(warning_codes=("financing_mismatch",)), None) is None


def test_financial_anomaly_stays_on_completed_projects_but_not_cancelled_ones():
    figures = {"budget": D("10.00"), "committed": D("5.00"), "paid": D("6.00")}
    assert rules.financial_anomaly(state(completed=True, **figures), None).severity == "high"
    assert rules.financial_anomaly(state(cancelled=True, **figures), None) is None


# --- stale data ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 10, 29), None),  # 59 days
        (date(2026, 10, 30), ("low", 60)),
        (date(2027, 2, 26), ("low", 179)),
        (date(2027, 2, 27), ("medium", 180)),
    ],
)
def test_stale_data_from_the_latest_report_date(today, expected):
    reports = (Report(1, date(2026, 7, 31), D("10")), Report(2, date(2026, 8, 31), D("12")))
    found = rules.stale_data(state(reports=reports), today)
    if expected is None:
        assert found is None
        return
    assert (found.rule, found.severity) == ("stale_data", expected[0])
    assert found.evidence == {"last_report": "2026-08-31", "days_since_report": expected[1]}


def test_stale_data_only_for_running_projects():
    reports = (Report(1, date(2025, 1, 31), D("10")),)
    assert rules.stale_data(state(reports=reports, completed=True), date(2026, 10, 31)) is None
    assert rules.stale_data(state(reports=()), date(2026, 10, 31)) is None


# --- schedule performance -----------------------------------------------------------------------------------

# Planned 2026-01-01 → 2026-12-31 (364 days); on 2026-07-02, 182 days have passed: t = 1/2 and the
# S-curve plans 100 × (3/4 − 2/8) = 50.00 %. The rule compares the engine's figure (to 0.01).
PLANNED = {"planned_start": date(2026, 1, 1), "planned_end": date(2026, 12, 31), "as_of": date(2026, 7, 2)}


@pytest.mark.parametrize(
    ("progress", "expected"),
    [
        ("40.00", None),  # 0.80
        ("39.99", None),  # 0.7998: the engine shows 0.80, not below
        ("39.74", ("medium", "0.79")),  # 0.7948
        ("25.00", ("medium", "0.50")),
        ("24.99", ("medium", "0.50")),  # 0.4998
        ("24.74", ("high", "0.49")),  # 0.4948
        ("0.00", ("high", "0.00")),
    ],
)
def test_schedule_performance_below_0_8(progress, expected):
    found = rules.schedule_performance(state(progress=D(progress), **PLANNED), date(2026, 10, 31))
    if expected is None:
        assert found is None
        return
    assert (found.rule, found.severity) == ("schedule_performance", expected[0])
    assert found.evidence == {
        "on": "2026-07-02",
        "actual_progress": progress,
        "planned_progress": "50.00",
        "schedule_performance": expected[1],
    }


def test_schedule_performance_needs_a_plan_and_a_progress_and_a_running_project():
    today = date(2026, 10, 31)
    assert rules.schedule_performance(state(progress=None, **PLANNED), today) is None
    assert (
        rules.schedule_performance(state(progress=D("1"), **{**PLANNED, "planned_end": None}), today) is None
    )
    # Before the planned start nothing is planned yet (0 %): no figure.
    early = {**PLANNED, "as_of": date(2025, 12, 1)}
    assert rules.schedule_performance(state(progress=D("0"), **early), today) is None
    assert rules.schedule_performance(state(progress=D("1"), completed=True, **PLANNED), today) is None
    # Without a report date, the plan is read on "today": 2026-10-31 is 303 days in, t = 303/364.
    undated = rules.schedule_performance(state(progress=D("10"), **{**PLANNED, "as_of": None}), today)
    assert undated.evidence["on"] == "2026-10-31"
    assert undated.evidence["planned_progress"] == str(
        measures.planned_progress(date(2026, 1, 1), date(2026, 12, 31), today)
    )


# --- progress regression ------------------------------------------------------------------------------------


def test_progress_regression_compares_the_last_two_versions():
    fell = (Report(1, date(2026, 1, 31), D("50.00")), Report(2, date(2026, 2, 28), D("45.50")))
    low = rules.progress_regression(state(reports=fell), None)
    assert (low.rule, low.severity) == ("progress_regression", "low")
    assert low.evidence == {
        "previous_version": 1,
        "previous_progress": "50.00",
        "version": 2,
        "progress": "45.50",
    }
    history = (
        Report(1, date(2026, 1, 31), D("50.00")),
        Report(3, date(2026, 3, 31), D("40.00")),  # numbers, not dates, order the versions
        Report(2, date(2026, 4, 30), D("50.00")),
    )
    medium = rules.progress_regression(state(reports=history), None)
    assert (medium.severity, medium.evidence["previous_version"], medium.evidence["version"]) == (
        "medium",
        2,
        3,
    )
    recovered = (*history, Report(4, date(2026, 5, 31), D("40.00")))
    assert rules.progress_regression(state(reports=recovered), None) is None
    assert rules.progress_regression(state(reports=history[:1]), None) is None
    unknown = (Report(1, date(2026, 1, 31), None), Report(2, date(2026, 2, 28), D("10")))
    assert rules.progress_regression(state(reports=unknown), None) is None


# --- all of them --------------------------------------------------------------------------------------------


def test_findings_lists_every_rule_that_holds_and_nothing_for_a_withdrawn_project():
    troubled = state(
        status="DIFF",
        planned_start=date(2024, 1, 1),
        planned_end=date(2026, 1, 31),
        budget=D("100.00"),
        committed=D("120.00"),
        paid=D("10.00"),
        as_of=date(2026, 3, 31),
        progress=D("20.00"),
        reports=(Report(1, date(2026, 1, 31), D("30.00")), Report(2, date(2026, 3, 31), D("20.00"))),
    )
    found = rules.findings(troubled, date(2026, 10, 31))
    assert {code: f.severity for code, f in found.items()} == {
        "late": "high",  # 273 days
        "stalled": "high",  # 214 days at 20 %
        "financial_anomaly": "medium",
        "stale_data": "medium",  # 214 days
        "schedule_performance": "high",  # 20 / 100
        "progress_regression": "medium",  # 30 → 20
    }
    assert found["late"].evidence["days_late"] == 273
    assert found["stalled"].evidence["days_unchanged"] == 214
    assert rules.findings(ProjectState(**{**troubled.__dict__, "withdrawn": True}), date(2026, 10, 31)) == {}
    assert rules.findings(ProjectState(**{**troubled.__dict__, "cancelled": True}), date(2026, 10, 31)) == {}
